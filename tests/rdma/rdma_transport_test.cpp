// Tests of the RDMA transport (remote_log/rdma). They need an RDMA device:
// CTest runs this binary inside the Soft-RoCE VM (tests/rdma/vm/) or, on a
// host with a device, directly (tests/rdma/run-rdma-tests). The address to
// serve on comes from RVM_RDMA_TEST_ADDR.
#include <sys/uio.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "rdma_test_util.h"
#include "remote_log/rdma/rdma_connection.h"
#include "remote_log/rdma/rdma_server.h"
#include "remote_log/transport.h"

using rvmr::Status;
using rvmr::remote_log::Connection;
using rvmr::remote_log::ConnectOptions;
using rvmr::remote_log::Endpoint;
using rvmr::remote_log::LogEntry;
using rvmr::remote_log::LogInfo;
using rvmr::remote_log::rdma::RdmaConnection;
using rvmr::remote_log::rdma::RdmaServer;
using rvmr::remote_log::rdma::RdmaServerOptions;

namespace {

const char* kSecret = "rdma-test-secret";

using rvmr::rdma_test::TestAddr;

struct Fixture {
  explicit Fixture(uint64_t ring_size = 1 << 20, uint64_t capacity = 64 << 20) {
    RdmaServerOptions o;
    o.ring_size = ring_size;
    o.capacity = capacity;
    o.secret = kSecret;
    server = rvmr::rdma_test::StartServer(o);
    ep = rvmr::rdma_test::EndpointOf(*server);
  }

  std::unique_ptr<Connection> Connect(const std::string& secret = kSecret) {
    ConnectOptions opts;
    opts.secret = secret;
    opts.io_timeout_ms = 5000;
    return rvmr::rdma_test::Connect(ep, opts);
  }

  std::unique_ptr<RdmaServer> server;
  Endpoint ep;
};

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = char('a' + (i * 7 + size_t(seed) * 13) % 26);
  return s;
}

// Appends `data` at `offset` and waits for the ack.
Status AppendSync(Connection* c, uint64_t offset, const std::string& data) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  Status s = c->StartAppend(offset, &iov, 1);
  if (!s.ok()) return s;
  uint64_t acked = 0;
  return c->WaitAcked(offset + data.size(), &acked);
}

std::string ReadAll(Connection* c, uint64_t offset, size_t len) {
  std::string out(len, '\0');
  size_t got = 0;
  Status s = c->Read(offset, len, out.data(), &got);
  INFO(s.ToString());
  REQUIRE(s.ok());
  out.resize(got);
  return out;
}

}  // namespace

TEST_CASE("rdma: appended bytes land in server memory and read back") {
  Fixture f;
  auto c = f.Connect();
  LogInfo info;
  REQUIRE(c->Open("log-a", 1, true, 1000, &info).ok());
  CHECK(info.start == 1000);
  CHECK(info.tail == 1000);
  CHECK(info.epoch == 1);

  std::string a = Pattern(64, 1), b = Pattern(3000, 2);
  REQUIRE(AppendSync(c.get(), 1000, a).ok());
  // Two iovecs in one append.
  iovec iov[2] = {{b.data(), 1000}, {b.data() + 1000, 2000}};
  REQUIRE(c->StartAppend(1064, iov, 2).ok());
  uint64_t acked = 0;
  REQUIRE(c->WaitAcked(4064, &acked).ok());
  CHECK(acked == 4064);

  // The server learned the tail from the control word alone.
  LogInfo server_view;
  REQUIRE(f.server->StatLog("log-a", &server_view).ok());
  CHECK(server_view.tail == 4064);
  CHECK(f.server->control_anomalies() == 0);

  CHECK(ReadAll(c.get(), 1000, 64) == a);
  CHECK(ReadAll(c.get(), 1064, 5000) == b);  // short read at the tail
  CHECK(ReadAll(c.get(), 4064, 10).empty());
  std::string buf(10, '\0');
  size_t got = 0;
  CHECK(c->Read(5000, 10, buf.data(), &got).code() == Status::Code::kInvalidArgument);

  REQUIRE(c->Stat(&info).ok());
  CHECK(info.tail == 4064);
  CHECK(info.start == 1000);

  // A new writer (next epoch) sees everything and continues at the tail.
  auto d = f.Connect();
  REQUIRE(d->Open("log-a", 2, false, 0, &info).ok());
  CHECK(info.tail == 4064);
  CHECK(ReadAll(d.get(), 1000, 3064) == a + b);
  REQUIRE(AppendSync(d.get(), 4064, "more").ok());
  CHECK(ReadAll(d.get(), 4060, 8) == b.substr(2996) + "more");
}

TEST_CASE("rdma: duplicate and gap appends are refused, sticky") {
  Fixture f;
  {
    auto c = f.Connect();
    LogInfo info;
    REQUIRE(c->Open("dup", 1, true, 0, &info).ok());
    REQUIRE(AppendSync(c.get(), 0, "hello").ok());
    Status s = AppendSync(c.get(), 2, "xx");  // duplicate
    CHECK(s.code() == Status::Code::kInvalidArgument);
    CHECK(s.message().find("duplicate") != std::string::npos);
    uint64_t acked = 0;
    CHECK(c->Poll(&acked).code() == Status::Code::kInvalidArgument);  // sticky
    CHECK(acked == 5);
  }
  auto c = f.Connect();
  LogInfo info;
  REQUIRE(c->Open("dup", 2, false, 0, &info).ok());
  CHECK(info.tail == 5);
  Status s = AppendSync(c.get(), 9, "gap");
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("gap") != std::string::npos);
  LogInfo server_view;
  REQUIRE(f.server->StatLog("dup", &server_view).ok());
  CHECK(server_view.tail == 5);
}

TEST_CASE("rdma: a higher epoch fences the old writer's RDMA writes") {
  Fixture f;
  auto old_writer = f.Connect();
  LogInfo info;
  REQUIRE(old_writer->Open("fenced", 5, true, 0, &info).ok());
  REQUIRE(AppendSync(old_writer.get(), 0, Pattern(100, 3)).ok());

  auto new_writer = f.Connect();
  REQUIRE(new_writer->Open("fenced", 6, false, 0, &info).ok());
  CHECK(info.tail == 100);
  CHECK(info.epoch == 6);
  CHECK(f.server->fences() == 1);

  // The old writer's rkey is revoked: its next append fails, and nothing of
  // it reaches the server's memory.
  Status s = AppendSync(old_writer.get(), 100, std::string(50, 'X'));
  INFO(s.ToString());
  CHECK(s.code() == Status::Code::kFenced);
  LogInfo server_view;
  REQUIRE(f.server->StatLog("fenced", &server_view).ok());
  CHECK(server_view.tail == 100);
  CHECK(ReadAll(new_writer.get(), 0, 200) == Pattern(100, 3));

  // The new writer goes on; an older epoch cannot open any more.
  REQUIRE(AppendSync(new_writer.get(), 100, "next").ok());
  auto stale = f.Connect();
  CHECK(stale->Open("fenced", 5, false, 0, &info).code() == Status::Code::kFenced);
  CHECK(stale->Open("fenced", 4, true, 0, &info).code() == Status::Code::kFenced);
  REQUIRE(f.server->StatLog("fenced", &server_view).ok());
  CHECK(server_view.tail == 104);
}

TEST_CASE("rdma: a fenced writer's control operations are refused") {
  Fixture f;
  auto a = f.Connect();
  LogInfo info;
  REQUIRE(a->Open("ctl", 1, true, 0, &info).ok());
  REQUIRE(AppendSync(a.get(), 0, "abc").ok());
  auto b = f.Connect();
  REQUIRE(b->Open("ctl", 2, false, 0, &info).ok());
  CHECK(a->Trim(3, &info).code() == Status::Code::kFenced);
  REQUIRE(b->Trim(3, &info).ok());
  CHECK(info.start == 3);
  CHECK(info.durable == 3);
}

TEST_CASE("rdma: ring capacity, trim and wrap-around") {
  Fixture f(4096);
  auto c = f.Connect();
  LogInfo info;
  REQUIRE(c->Open("ring", 1, true, 100, &info).ok());
  uint64_t off = 100;
  std::string all;
  for (int i = 0; i < 4; ++i) {
    std::string rec = Pattern(1000, i);
    REQUIRE(AppendSync(c.get(), off, rec).ok());
    off += rec.size();
    all += rec;
  }
  // 4000 of 4096 bytes held: 200 more do not fit until the disk catches up.
  Status s = AppendSync(c.get(), off, Pattern(200, 9));
  CHECK(s.code() == Status::Code::kNoSpace);

  // The writer reconnects after trimming; the ring wraps around.
  auto d = f.Connect();
  REQUIRE(d->Open("ring", 2, false, 0, &info).ok());
  CHECK(info.tail == off);
  REQUIRE(d->Trim(2100, &info).ok());
  CHECK(info.start == 2100);
  for (int i = 4; i < 12; ++i) {
    std::string rec = Pattern(1000, i);
    REQUIRE(AppendSync(d.get(), off, rec).ok());
    off += rec.size();
    all += rec;
    REQUIRE(d->Trim(off - 2000, &info).ok());
  }
  CHECK(ReadAll(d.get(), off - 2000, 2000) == all.substr(all.size() - 2000));
  std::string buf(10, '\0');
  size_t got = 0;
  CHECK(d->Read(100, 10, buf.data(), &got).code() == Status::Code::kInvalidArgument);
  LogInfo server_view;
  REQUIRE(f.server->StatLog("ring", &server_view).ok());
  CHECK(server_view.tail == off);
  CHECK(server_view.start == off - 2000);
  CHECK(f.server->control_anomalies() == 0);
  CHECK(d->Trim(off + 1, &info).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("rdma: pipelined appends are acknowledged in order") {
  Fixture f(8 << 20);
  auto c = f.Connect();
  LogInfo info;
  REQUIRE(c->Open("pipe", 1, true, 0, &info).ok());
  std::string all;
  uint64_t off = 0;
  for (int i = 0; i < 300; ++i) {
    std::string rec = Pattern(size_t(1 + (i * 37) % 700), i);
    iovec iov{rec.data(), rec.size()};
    REQUIRE(c->StartAppend(off, &iov, 1).ok());
    off += rec.size();
    all += rec;
    uint64_t acked = 0;
    REQUIRE(c->Poll(&acked).ok());
    CHECK(acked <= off);
  }
  uint64_t acked = 0;
  REQUIRE(c->WaitAcked(off, &acked).ok());
  CHECK(acked == off);
  CHECK(ReadAll(c.get(), 0, all.size()) == all);
  // A large append is split into chunks and still acknowledged as a whole.
  std::string big = Pattern(RdmaConnection::kMaxChunk + 12345, 77);
  Status s = AppendSync(c.get(), off, big);
  INFO(s.ToString());
  REQUIRE(s.ok());
  CHECK(ReadAll(c.get(), off, big.size()) == big);
  CHECK(c->wait_fd() >= 0);
}

TEST_CASE("rdma: authentication, open errors, list and close") {
  Fixture f;
  {
    ConnectOptions opts;
    opts.secret = "wrong secret, long enough";
    std::unique_ptr<Connection> c;
    Status s = RdmaConnection::Connect(f.ep, opts, &c);
    CHECK_FALSE(s.ok());
    opts.secret.clear();
    s = RdmaConnection::Connect(f.ep, opts, &c);
    CHECK(s.code() == Status::Code::kIoError);
  }
  {
    RdmaServerOptions o;
    o.listen = TestAddr() + ":0";
    RdmaServer insecure(o);
    CHECK(insecure.Start().code() == Status::Code::kInvalidArgument);
  }
  auto c = f.Connect();
  LogInfo info;
  CHECK(c->Open("missing", 1, false, 0, &info).code() == Status::Code::kNotFound);
  CHECK(c->Open("bad/name", 1, true, 0, &info).code() == Status::Code::kInvalidArgument);
  iovec iov{const_cast<char*>("x"), 1};
  CHECK(c->StartAppend(0, &iov, 1).code() == Status::Code::kInvalidArgument);  // nothing open
  REQUIRE(c->Open("one", 1, true, 0, &info).ok());
  REQUIRE(AppendSync(c.get(), 0, "1").ok());
  REQUIRE(c->Open("two", 1, true, 50, &info).ok());
  std::vector<LogEntry> logs;
  REQUIRE(c->List(&logs).ok());
  REQUIRE(logs.size() == 2);
  CHECK(logs[0].name == "one");
  CHECK(logs[0].info.tail == 1);
  CHECK(logs[1].name == "two");
  CHECK(logs[1].info.tail == 50);
  REQUIRE(c->CloseLog().ok());
  CHECK(c->Stat(&info).code() == Status::Code::kNotFound);
  // The factory the transport registry uses for rdma:// URIs.
  ConnectOptions opts;
  opts.secret = kSecret;
  std::unique_ptr<Connection> viaf;
  REQUIRE(rvmr::remote_log::MakeRdmaTransportFactory()(f.ep, opts, &viaf).ok());
  CHECK(viaf->uri() == f.ep.uri);
  REQUIRE(viaf->Open("one", 2, false, 0, &info).ok());
  CHECK(info.tail == 1);
}

TEST_CASE("rdma: server capacity bounds the number of logs") {
  Fixture f(1 << 20, 2 << 20);
  auto c = f.Connect();
  LogInfo info;
  REQUIRE(c->Open("l1", 1, true, 0, &info).ok());
  REQUIRE(c->Open("l2", 1, true, 0, &info).ok());
  CHECK(c->Open("l3", 1, true, 0, &info).code() == Status::Code::kNoSpace);
  CHECK(f.server->StatusLine().find("logs 2") != std::string::npos);
}

TEST_CASE("rdma: the no-atomics path (control word WRITE + READ back)") {
  // Devices without RDMA atomics advance the control word with a WRITE and
  // READ it back; RVM_RDMA_NO_ATOMICS=1 forces that path on any device.
  setenv("RVM_RDMA_NO_ATOMICS", "1", 1);
  Fixture f(4096);
  auto c = f.Connect();
  unsetenv("RVM_RDMA_NO_ATOMICS");
  LogInfo info;
  REQUIRE(c->Open("plain", 1, true, 0, &info).ok());
  std::string all;
  uint64_t off = 0;
  for (int i = 0; i < 20; ++i) {
    std::string rec = Pattern(size_t(300 + i), i);
    iovec iov{rec.data(), rec.size()};
    REQUIRE(c->StartAppend(off, &iov, 1).ok());
    off += rec.size();
    all += rec;
    uint64_t acked = 0;
    REQUIRE(c->WaitAcked(off, &acked).ok());
    REQUIRE(c->Trim(off > 2000 ? off - 2000 : 0, &info).ok());
  }
  CHECK(ReadAll(c.get(), off - 2000, 2000) == all.substr(all.size() - 2000));
  LogInfo server_view;
  REQUIRE(f.server->StatLog("plain", &server_view).ok());
  CHECK(server_view.tail == off);
  // Fencing holds on this path too.
  auto d = f.Connect();
  REQUIRE(d->Open("plain", 2, false, 0, &info).ok());
  CHECK(AppendSync(c.get(), off, "late").code() == Status::Code::kFenced);
  REQUIRE(f.server->StatLog("plain", &server_view).ok());
  CHECK(server_view.tail == off);
  CHECK(f.server->control_anomalies() == 0);
}
