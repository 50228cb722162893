// The full-duplex contract of the TCP transport and of MirrorSet, checked so
// that a break of it fails: one thread waits for acks (Poll, WaitAcked) while
// another sends (StartAppend, Trim, Stat; MirrorSet::AppendAsync, Trim, Stat).
//
// Where it matters that a request really leaves while the other thread is
// blocked in WaitAcked, the connection goes through a Relay that holds the
// server's replies until the client has sent more bytes: a transport that
// serialises the two threads then leaves the waiter waiting for an ack that
// only the sender's next request releases, and it times out.
//
// Catch assertions are not thread-safe: the threads record what they saw and
// the test thread checks it after joining them. Label concurrent (TSan in CI).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "remote_log/tcp_connection.h"
#include "test_util.h"

using namespace rvmr;
using namespace rvmr::remote_log;
using namespace rvmr::remote_log::test;

namespace {

using Clock = std::chrono::steady_clock;

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Spins (yielding) until pred() or `ms` pass; returns pred().
template <typename Pred>
bool SpinUntil(Pred pred, int ms = 20000) {
  const auto t = Clock::now();
  while (!pred()) {
    if (MsSince(t) > ms) return pred();
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

// Bytes an APPEND / STAT / TRIM request takes on the wire.
constexpr uint64_t AppendBytes(size_t len) {
  return wire::kHeaderSize + wire::kAppendFixedSize + len;
}
constexpr uint64_t kStatBytes = wire::kHeaderSize;
constexpr uint64_t kTrimBytes = wire::kHeaderSize + 8;

// A loopback TCP relay for one client connection to a server. It forwards
// both ways, except that the server's bytes can be held until the client has
// sent enough (HoldRepliesUntil), everything can stop (Silence: a hung
// server), or both sides can be shut down (Cut: a broken link).
class Relay {
 public:
  explicit Relay(uint16_t upstream) : upstream_(upstream) {
    lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(lfd_, 4) == 0 &&
        getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~Relay() {
    stop_ = true;
    thread_.join();
    close(lfd_);
    if (cfd_ >= 0) close(cfd_);
    if (sfd_ >= 0) close(sfd_);
  }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }

  // Bytes received from the client so far.
  uint64_t client_bytes() const {
    std::lock_guard<std::mutex> l(mu_);
    return up_total_;
  }
  // Waits until the client has sent `n` bytes in all; false after 10 s.
  bool WaitClientBytes(uint64_t n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(10), [&] { return up_total_ >= n; });
  }
  // From now on the server's bytes reach the client only once the client has
  // sent `threshold` bytes in all.
  void HoldRepliesUntil(uint64_t threshold) {
    std::lock_guard<std::mutex> l(mu_);
    gate_ = threshold;
  }
  void Silence() {
    std::lock_guard<std::mutex> l(mu_);
    silent_ = true;
  }
  void Cut() {
    std::lock_guard<std::mutex> l(mu_);
    cut_ = true;
  }

 private:
  static constexpr size_t kCap = 1 << 20;

  bool DownOpen() {
    std::lock_guard<std::mutex> l(mu_);
    return !silent_ && up_total_ >= gate_;
  }

  void Run() {
    std::vector<uint8_t> up, down, tmp(64 * 1024);
    bool dead = false;
    while (!stop_) {
      if (cfd_ < 0) {
        pollfd p{lfd_, POLLIN, 0};
        if (poll(&p, 1, 5) <= 0) continue;
        int c = accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) continue;
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(upstream_);
        if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
          close(c);
          close(s);
          continue;
        }
        fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
        cfd_ = c;
        sfd_ = s;
        continue;
      }
      bool silent, cut;
      {
        std::lock_guard<std::mutex> l(mu_);
        silent = silent_;
        cut = cut_;
      }
      if (cut || dead) {
        if (!dead) {
          shutdown(cfd_, SHUT_RDWR);
          shutdown(sfd_, SHUT_RDWR);
          dead = true;
        }
        poll(nullptr, 0, 5);
        continue;
      }
      pollfd p[2] = {{cfd_, 0, 0}, {sfd_, 0, 0}};
      if (!silent) {
        if (up.size() < kCap) p[0].events |= POLLIN;
        if (!up.empty()) p[1].events |= POLLOUT;
        if (down.size() < kCap) p[1].events |= POLLIN;
        if (!down.empty() && DownOpen()) p[0].events |= POLLOUT;
      }
      if (poll(p, 2, 5) <= 0) continue;
      const short bad = POLLHUP | POLLERR;
      if (p[0].revents & (POLLIN | bad)) {
        ssize_t r = recv(cfd_, tmp.data(), tmp.size(), MSG_DONTWAIT);
        if (r > 0) {
          up.insert(up.end(), tmp.begin(), tmp.begin() + r);
          std::lock_guard<std::mutex> l(mu_);
          up_total_ += uint64_t(r);
          cv_.notify_all();
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          dead = true;
        }
      }
      if (p[1].revents & (POLLIN | bad)) {
        ssize_t r = recv(sfd_, tmp.data(), tmp.size(), MSG_DONTWAIT);
        if (r > 0) {
          down.insert(down.end(), tmp.begin(), tmp.begin() + r);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          dead = true;
        }
      }
      if (!up.empty() && (p[1].revents & POLLOUT)) {
        ssize_t w = send(sfd_, up.data(), up.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) up.erase(up.begin(), up.begin() + w);
      }
      // The gate is read again: it may have closed since the poll.
      if (!down.empty() && (p[0].revents & POLLOUT) && DownOpen()) {
        ssize_t w = send(cfd_, down.data(), down.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) down.erase(down.begin(), down.begin() + w);
      }
    }
  }

  const uint16_t upstream_;
  uint16_t port_ = 0;
  int lfd_ = -1, cfd_ = -1, sfd_ = -1;  // Run's after the constructor
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t up_total_ = 0;  // mu_
  uint64_t gate_ = 0;      // mu_
  bool silent_ = false;    // mu_
  bool cut_ = false;       // mu_
  std::thread thread_;
};

// A TCP connection behind a test hook: after each Poll, `g_after_poll` (if
// set) runs in the polling thread. Registered as "hooktcp" (full duplex) and
// "serialtcp" (claims no concurrent waits).
std::mutex g_hook_mu;
std::function<void(const std::string& uri, uint64_t acked)> g_after_poll;

class HookedConnection final : public Connection {
 public:
  HookedConnection(std::unique_ptr<Connection> in, bool duplex)
      : in_(std::move(in)), duplex_(duplex) {}
  const std::string& uri() const override { return in_->uri(); }
  Status Open(std::string_view name, uint64_t epoch, bool create, uint64_t create_offset,
              LogInfo* info) override {
    return in_->Open(name, epoch, create, create_offset, info);
  }
  Status StartAppend(uint64_t offset, const struct iovec* iov, int iovcnt) override {
    return in_->StartAppend(offset, iov, iovcnt);
  }
  Status StartAppendWithCrc(uint64_t offset, const struct iovec* iov, int iovcnt,
                            uint32_t crc) override {
    return in_->StartAppendWithCrc(offset, iov, iovcnt, crc);
  }
  Status Poll(uint64_t* acked_end) override {
    Status s = in_->Poll(acked_end);
    std::function<void(const std::string&, uint64_t)> hook;
    {
      std::lock_guard<std::mutex> l(g_hook_mu);
      hook = g_after_poll;
    }
    if (hook) hook(uri(), *acked_end);
    return s;
  }
  Status WaitAcked(uint64_t end, uint64_t* acked_end) override {
    return in_->WaitAcked(end, acked_end);
  }
  int wait_fd() const override { return in_->wait_fd(); }
  bool SupportsConcurrentWait() const override { return duplex_ && in_->SupportsConcurrentWait(); }
  Status Read(uint64_t offset, size_t len, void* buf, size_t* got) override {
    return in_->Read(offset, len, buf, got);
  }
  Status Trim(uint64_t durable, LogInfo* info) override { return in_->Trim(durable, info); }
  Status Stat(LogInfo* info) override { return in_->Stat(info); }
  Status List(std::vector<LogEntry>* logs) override { return in_->List(logs); }
  Status CloseLog() override { return in_->CloseLog(); }

 private:
  std::unique_ptr<Connection> in_;
  const bool duplex_;
};

void RegisterHookedTransports() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (bool duplex : {true, false}) {
      TransportRegistry::Global().Register(
          duplex ? "hooktcp" : "serialtcp",
          [duplex](const Endpoint& ep, const ConnectOptions& o, std::unique_ptr<Connection>* out) {
            std::unique_ptr<Connection> in;
            Status s = ConnectTcp(ep, o, &in);
            if (s.ok()) *out = std::make_unique<HookedConnection>(std::move(in), duplex);
            return s;
          });
    }
  });
}

void SetPollHook(std::function<void(const std::string&, uint64_t)> f) {
  std::lock_guard<std::mutex> l(g_hook_mu);
  g_after_poll = std::move(f);
}

// Reads [from, to) of one connection's log into a vector.
std::vector<uint8_t> ReadAll(Connection* c, uint64_t from, uint64_t to, Status* st) {
  std::vector<uint8_t> out(to - from);
  size_t done = 0;
  while (done < out.size()) {
    size_t got = 0;
    *st = c->Read(from + done, out.size() - done, out.data() + done, &got);
    if (!st->ok() || got == 0) break;
    done += got;
  }
  out.resize(done);
  return out;
}

// What one thread saw, checked by the test thread after the join.
struct Outcome {
  std::atomic<int> errors{0};
  std::atomic<int> failures{0};  // calls that returned an error status
  Status first;                  // the first failure (written once, before `failed`)
  std::atomic<bool> failed{false};
  void Fail(const Status& s) {
    if (!failed.exchange(true)) first = s;
    failures++;
  }
};

}  // namespace

TEST_CASE("duplex: a send and a Stat and a Trim leave while the waiter is blocked in WaitAcked",
          "[concurrent]") {
  auto srv = StartServer();
  REQUIRE(srv);
  Relay relay(srv->port());
  ConnectOptions o;
  o.io_timeout_ms = 4000;  // a serialising transport: the waiter times out
  auto c = Dial(relay.uri(), o);
  REQUIRE(c->SupportsConcurrentWait());
  LogInfo info;
  REQUIRE(c->Open("gated", 1, true, 0, &info).ok());
  // Every byte the client sent so far reached the relay (Open was answered).
  uint64_t client_bytes = relay.client_bytes();

  constexpr int kRounds = 9;
  std::atomic<int> posted{-1}, entered{-1}, finished{-1};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> target{0};
  std::vector<Status> wait_status(kRounds);
  std::vector<uint64_t> wait_acked(kRounds, 0);
  std::thread waiter([&] {
    for (int i = 0; i < kRounds; ++i) {
      if (!SpinUntil([&] { return posted.load() >= i || stop.load(); }) || stop) return;
      entered = i;
      uint64_t a = 0;
      wait_status[i] = c->WaitAcked(target.load(), &a);
      wait_acked[i] = a;
      finished = i;
    }
  });

  std::vector<std::string> problems;
  uint64_t off = 0, last_trim = 0;
  auto rec = Bytes(300, 7), extra = Bytes(100, 8);
  for (int i = 0; i < kRounds; ++i) {
    // The ack of this append is held until the client sends its next request.
    const size_t len = 50 + size_t(i) * 25;
    relay.HoldRepliesUntil(client_bytes + AppendBytes(len) + 1);
    iovec iov{rec.data(), len};
    if (!c->StartAppend(off, &iov, 1).ok()) problems.push_back("append " + std::to_string(i));
    off += len;
    client_bytes += AppendBytes(len);
    target = off;
    posted = i;
    if (!SpinUntil([&] { return entered.load() >= i; })) problems.push_back("waiter missing");
    // Let the waiter get well into its blocking receive.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    LogInfo s;
    switch (i % 3) {
      case 0: {
        iovec e{extra.data(), extra.size()};
        if (!c->StartAppend(off, &e, 1).ok()) problems.push_back("extra append");
        off += extra.size();
        client_bytes += AppendBytes(extra.size());
        break;
      }
      case 1:
        if (!c->Stat(&s).ok() || s.tail != off) problems.push_back("stat " + std::to_string(i));
        client_bytes += kStatBytes;
        break;
      case 2:
        last_trim = off - len;
        if (!c->Trim(last_trim, &s).ok() || s.start != last_trim || s.tail != off)
          problems.push_back("trim " + std::to_string(i));
        client_bytes += kTrimBytes;
        break;
    }
    if (!SpinUntil([&] { return finished.load() >= i; })) problems.push_back("waiter stuck");
    if (!relay.WaitClientBytes(client_bytes)) problems.push_back("bytes lost");
    if (!problems.empty() || !wait_status[i].ok()) break;  // fail fast
  }
  stop = true;
  waiter.join();
  INFO(::Catch::Detail::stringify(problems));
  CHECK(problems.empty());
  CHECK(finished.load() == kRounds - 1);
  for (int i = 0; i <= finished.load(); ++i) {
    INFO("round " << i << ": " << wait_status[i].ToString());
    CHECK(wait_status[i].ok());
    CHECK(wait_acked[i] >= 50 + uint64_t(i) * 25);
  }
  CHECK(relay.client_bytes() == client_bytes);
  uint64_t acked = 0;
  REQUIRE(c->WaitAcked(off, &acked).ok());
  CHECK(acked == off);
  Status st;
  auto back = ReadAll(c.get(), last_trim, off, &st);
  REQUIRE(st.ok());
  CHECK(back.size() == off - last_trim);
}

TEST_CASE("duplex: 20000 small appends streamed by one thread and acked by another",
          "[concurrent]") {
  auto srv = StartServer(64u << 20);
  REQUIRE(srv);
  auto c = Dial(Uri(*srv));
  LogInfo info;
  REQUIRE(c->Open("stream", 1, true, 0, &info).ok());
  constexpr int kRecords = 20000;
  auto size_of = [](int i) { return size_t(1 + (i * 37) % 200); };
  uint64_t total = 0;
  for (int i = 0; i < kRecords; ++i) total += size_of(i);
  auto data = Bytes(total, 11);

  std::atomic<uint64_t> sent{0}, seen_acked{0};
  std::atomic<bool> done{false};
  std::atomic<int> mid_stream_acks{0};
  std::atomic<uint64_t> max_outstanding{0};
  Outcome w, s;
  std::thread waiter([&] {
    uint64_t acked = 0;
    for (int k = 0;; ++k) {
      const bool fin = done.load();
      const uint64_t t = sent.load();
      if (t <= acked) {
        if (fin) return;
        std::this_thread::yield();
        continue;
      }
      uint64_t a = 0;
      // Alternate blocking waits and non-blocking polls.
      Status st = k % 2 ? c->Poll(&a) : c->WaitAcked(t, &a);
      if (!st.ok()) {
        w.Fail(st);
        return;
      }
      if (a < acked || (k % 2 == 0 && a < t)) w.errors++;  // went back / returned early
      if (a > acked && !done.load()) mid_stream_acks++;
      const uint64_t out = sent.load() - a;
      if (out > max_outstanding.load()) max_outstanding = out;
      acked = a;
      seen_acked = a;
    }
  });
  std::thread sender([&] {
    uint64_t off = 0;
    for (int i = 0; i < kRecords; ++i) {
      iovec iov{data.data() + off, size_of(i)};
      Status st = c->StartAppend(off, &iov, 1);
      if (!st.ok()) {
        s.Fail(st);
        break;
      }
      off += iov.iov_len;
      sent = off;
      // Half way, the waiter must have caught up while this thread still has
      // half to send: acks are read while sending goes on.
      if (i == kRecords / 2 && !SpinUntil([&] { return seen_acked.load() >= off; })) s.errors++;
    }
    done = true;
  });
  sender.join();
  waiter.join();
  INFO("waiter: " << w.first.ToString() << "; sender: " << s.first.ToString());
  CHECK(w.failures == 0);
  CHECK(s.failures == 0);
  CHECK(w.errors == 0);
  CHECK(s.errors == 0);  // the waiter caught up mid-stream
  CHECK(mid_stream_acks > 0);
  INFO("most bytes sent but not yet acked, as the waiter saw: " << max_outstanding.load());
  CHECK(max_outstanding.load() > 0);
  uint64_t acked = 0;
  REQUIRE(c->Poll(&acked).ok());
  CHECK(acked == total);
  REQUIRE(c->Stat(&info).ok());
  CHECK(info.tail == total);
  Status st;
  auto back = ReadAll(c.get(), 0, total, &st);
  REQUIRE(st.ok());
  REQUIRE(back.size() == total);
  CHECK(back == data);
}

TEST_CASE("duplex: 1 MiB appends fill the socket while the waiter waits and dawdles",
          "[concurrent]") {
  auto srv = StartServer(128u << 20);
  REQUIRE(srv);
  auto c = Dial(Uri(*srv));
  LogInfo info;
  REQUIRE(c->Open("big", 1, true, 0, &info).ok());
  constexpr size_t kChunk = 1 << 20;
  constexpr int kChunks = 32;
  std::vector<std::vector<uint8_t>> chunks;
  for (int i = 0; i < kChunks; ++i) chunks.push_back(Bytes(kChunk, 100 + uint64_t(i)));

  std::atomic<uint64_t> sent{0};
  std::atomic<bool> done{false};
  Outcome w, s;
  std::thread waiter([&] {
    uint64_t acked = 0;
    for (int k = 0;;) {
      const bool fin = done.load();
      const uint64_t t = sent.load();
      if (t <= acked) {
        if (fin) return;
        std::this_thread::yield();
        continue;
      }
      uint64_t a = 0;
      Status st = c->WaitAcked(t, &a);
      if (!st.ok()) {
        w.Fail(st);
        return;
      }
      if (a < t) w.errors++;
      acked = a;
      // Now and then the waiter is away: the sender must read acks itself
      // when the socket fills.
      if (++k % 3 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
  });
  std::thread sender([&] {
    uint64_t off = 0;
    for (int i = 0; i < kChunks; ++i) {
      iovec iov[2] = {{chunks[i].data(), kChunk / 2}, {chunks[i].data() + kChunk / 2, kChunk / 2}};
      Status st = c->StartAppend(off, iov, 2);
      if (!st.ok()) {
        s.Fail(st);
        break;
      }
      off += kChunk;
      sent = off;
      if (i % 8 == 7) {
        LogInfo li;
        st = c->Stat(&li);
        if (!st.ok()) {
          s.Fail(st);
          break;
        }
        if (li.tail != off) s.errors++;
      }
    }
    done = true;
  });
  sender.join();
  waiter.join();
  INFO("waiter: " << w.first.ToString() << "; sender: " << s.first.ToString());
  CHECK(w.failures == 0);
  CHECK(s.failures == 0);
  CHECK(w.errors == 0);
  CHECK(s.errors == 0);
  const uint64_t total = uint64_t(kChunks) * kChunk;
  uint64_t acked = 0;
  REQUIRE(c->WaitAcked(total, &acked).ok());
  CHECK(acked == total);
  Status st;
  auto back = ReadAll(c.get(), 0, total, &st);
  REQUIRE(st.ok());
  REQUIRE(back.size() == total);
  int bad = 0;
  for (int i = 0; i < kChunks; ++i)
    bad += std::memcmp(back.data() + uint64_t(i) * kChunk, chunks[i].data(), kChunk) != 0;
  CHECK(bad == 0);
}

TEST_CASE("duplex: a broken or silent link fails the waiter and the sender and neither hangs",
          "[concurrent]") {
  const bool silent = GENERATE(false, true);
  INFO((silent ? "the server goes silent" : "the link is cut"));
  auto srv = StartServer();
  REQUIRE(srv);
  Relay relay(srv->port());
  ConnectOptions o;
  o.io_timeout_ms = 300;
  auto c = Dial(relay.uri(), o);
  LogInfo info;
  REQUIRE(c->Open("link", 1, true, 0, &info).ok());
  auto d = Bytes(512, 4);
  std::atomic<uint64_t> sent{0};
  std::atomic<bool> done{false};
  Outcome w, s;
  const auto t0 = Clock::now();
  std::thread waiter([&] {
    uint64_t acked = 0;
    for (;;) {
      const bool fin = done.load();
      const uint64_t t = sent.load();
      if (t <= acked) {
        if (fin) break;
        std::this_thread::yield();
        continue;
      }
      Status st = c->WaitAcked(t, &acked);
      if (!st.ok()) {
        w.Fail(st);
        return;
      }
    }
    // Caught up with everything sent before the sender failed: the next wait
    // must fail as well.
    uint64_t a = 0;
    Status st = c->Poll(&a);
    if (!st.ok()) w.Fail(st);
  });
  std::thread sender([&] {
    uint64_t off = 0;
    for (int i = 0; i < 1000000; ++i) {
      iovec iov{d.data(), d.size()};
      Status st = c->StartAppend(off, &iov, 1);
      if (!st.ok()) {
        s.Fail(st);
        break;
      }
      off += d.size();
      sent = off;
      if (i == 1000) {
        if (silent)
          relay.Silence();
        else
          relay.Cut();
      }
    }
    done = true;
  });
  sender.join();
  waiter.join();
  const int64_t ms = MsSince(t0);
  INFO("waiter: " << w.first.ToString() << "; sender: " << s.first.ToString() << "; " << ms
                  << " ms");
  CHECK(w.failed);
  CHECK(s.failed);
  if (silent) {
    // Somebody noticed the silence by the clock.
    CHECK((w.first.code() == Status::Code::kTimedOut || s.first.code() == Status::Code::kTimedOut));
  }
  // Bounded by a few io timeouts, not by the ctest timeout (a hang guard).
  CHECK(ms < 60 * o.io_timeout_ms);
  uint64_t a = 0;
  CHECK_FALSE(c->Poll(&a).ok());
  iovec iov{d.data(), d.size()};
  CHECK_FALSE(c->StartAppend(sent.load(), &iov, 1).ok());
  LogInfo li;
  CHECK_FALSE(c->Stat(&li).ok());
}

TEST_CASE("duplex: concurrent_waits() is true for tcp:// sets and false with a serial transport",
          "[concurrent]") {
  RegisterHookedTransports();
  auto s1 = StartServer();
  auto s2 = StartServer();
  REQUIRE(s1);
  REQUIRE(s2);
  CHECK(Dial(Uri(*s1))->SupportsConcurrentWait());
  CHECK(Mirrors({Uri(*s1)})->concurrent_waits());
  CHECK(Mirrors({Uri(*s1), Uri(*s2)}, 1)->concurrent_waits());
  const std::string p1 = std::to_string(s1->port()), p2 = std::to_string(s2->port());
  CHECK(Mirrors({"hooktcp://127.0.0.1:" + p1, "tcp://127.0.0.1:" + p2})->concurrent_waits());
  CHECK_FALSE(
      Mirrors({"tcp://127.0.0.1:" + p1, "serialtcp://127.0.0.1:" + p2})->concurrent_waits());
}

namespace {

// One MirrorSet run: a sender thread AppendAsync's `kAppends` batches (and
// Stat/Trim now and then), a waiter thread WaitAcked's them in order, an
// observer reads QuorumAcked() throughout. `stop_at` >= 0: mirror 1's server
// stops after that many appends.
struct SetRun {
  static constexpr int kAppends = 4000;
  std::atomic<uint64_t> sent{0};
  std::atomic<bool> done{false};
  std::atomic<int> went_back{0};
  std::atomic<uint64_t> last_quorum{0};
  Outcome w, s;
  std::vector<uint8_t> data;
  uint64_t total = 0;

  static size_t SizeOf(int i) { return size_t(1 + (i * 131) % 3000); }

  void Go(MirrorSet* m, Server* to_stop, int stop_at) {
    for (int i = 0; i < kAppends; ++i) total += SizeOf(i);
    data = Bytes(total, 21);
    std::thread observer([&] {
      uint64_t last = 0;
      while (!done.load() || last < sent.load()) {
        const uint64_t q = m->QuorumAcked();
        if (q < last) went_back++;
        last = q;
        if (w.failed || s.failed) break;
        std::this_thread::yield();
      }
      last_quorum = last;
    });
    std::thread waiter([&] {
      uint64_t acked = 0;
      for (;;) {
        const bool fin = done.load();
        const uint64_t t = sent.load();
        if (t <= acked) {
          if (fin) break;
          std::this_thread::yield();
          continue;
        }
        Status st = m->WaitAcked(t);
        if (!st.ok()) {
          w.Fail(st);
          return;
        }
        if (m->QuorumAcked() < t) w.errors++;
        acked = t;
      }
      // After the sender's last append: the next wait reports whatever the
      // sender ran into (the set's state is shared).
      if (s.failed) {
        Status st = m->WaitAcked(sent.load() + 1);
        if (!st.ok()) w.Fail(st);
      }
    });
    std::thread sender([&] {
      uint64_t off = 0;
      for (int i = 0; i < kAppends; ++i) {
        iovec iov{data.data() + off, SizeOf(i)};
        Status st = m->AppendAsync(off, &iov, 1);
        if (!st.ok()) {
          s.Fail(st);
          break;
        }
        off += iov.iov_len;
        sent = off;
        if (i == stop_at) to_stop->Stop();
        if (i % 500 == 250) {
          st = m->Stat();
          if (st.ok()) st = m->Trim(m->QuorumAcked() / 2);
          if (!st.ok()) {
            s.Fail(st);
            break;
          }
        }
      }
      done = true;
    });
    sender.join();
    waiter.join();
    observer.join();
  }
};

}  // namespace

TEST_CASE("duplex: a MirrorSet of two pipelines with quorum 2 or 1 and all mirrors healthy",
          "[concurrent]") {
  const size_t quorum = GENERATE(2u, 1u);
  INFO("quorum " << quorum);
  auto s1 = StartServer(64u << 20);
  auto s2 = StartServer(64u << 20);
  REQUIRE(s1);
  REQUIRE(s2);
  auto m = Mirrors({Uri(*s1), Uri(*s2)}, quorum);
  REQUIRE(m->concurrent_waits());
  REQUIRE(m->Open("pair", 1, true, 0, nullptr).ok());
  SetRun r;
  r.Go(m.get(), nullptr, -1);
  INFO("waiter: " << r.w.first.ToString() << "; sender: " << r.s.first.ToString());
  CHECK(r.w.failures == 0);
  CHECK(r.s.failures == 0);
  CHECK(r.w.errors == 0);
  CHECK(r.went_back == 0);
  CHECK(r.last_quorum == r.total);
  CHECK(m->QuorumAcked() == r.total);
  REQUIRE(m->WaitAcked(r.total).ok());
  const uint64_t from = r.total - 100000;  // well after the last trim
  for (int i = 0; i < 2; ++i) {
    std::vector<uint8_t> out(r.total - from);
    size_t got = 0;
    REQUIRE(m->Read(from, out.size(), out.data(), &got, i).ok());
    CHECK(got == out.size());
    CHECK(std::memcmp(out.data(), r.data.data() + from, got) == 0);
    CHECK(m->Health()[size_t(i)].connected);
  }
}

TEST_CASE("duplex: a MirrorSet with quorum 1 goes on when a mirror dies mid-stream",
          "[concurrent]") {
  auto s1 = StartServer(64u << 20);
  auto s2 = StartServer(64u << 20);
  REQUIRE(s1);
  REQUIRE(s2);
  ConnectOptions o;
  o.io_timeout_ms = 2000;
  auto m = Mirrors({Uri(*s1), Uri(*s2)}, 1, o);
  REQUIRE(m->Open("one", 1, true, 0, nullptr).ok());
  SetRun r;
  r.Go(m.get(), s2.get(), SetRun::kAppends / 2);
  INFO("waiter: " << r.w.first.ToString() << "; sender: " << r.s.first.ToString());
  CHECK(r.w.failures == 0);
  CHECK(r.s.failures == 0);
  CHECK(r.w.errors == 0);
  CHECK(r.last_quorum == r.total);
  REQUIRE(m->WaitAcked(r.total).ok());
  CHECK(m->QuorumAcked() == r.total);
  auto h = m->Health();
  CHECK(h[0].connected);
  CHECK(h[0].acked_end == r.total);
  CHECK_FALSE(h[1].connected);
  CHECK_FALSE(h[1].error.ok());
  const uint64_t from = r.total - 100000;
  std::vector<uint8_t> out(r.total - from);
  size_t got = 0;
  REQUIRE(m->Read(from, out.size(), out.data(), &got).ok());
  CHECK(got == out.size());
  CHECK(std::memcmp(out.data(), r.data.data() + from, got) == 0);
}

TEST_CASE("duplex: a MirrorSet with quorum 2 reports a mirror's death to both threads",
          "[concurrent]") {
  auto s1 = StartServer(64u << 20);
  auto s2 = StartServer(64u << 20);
  REQUIRE(s1);
  REQUIRE(s2);
  ConnectOptions o;
  o.io_timeout_ms = 2000;
  auto m = Mirrors({Uri(*s1), Uri(*s2)}, 2, o);
  REQUIRE(m->Open("two", 1, true, 0, nullptr).ok());
  SetRun r;
  const auto t0 = Clock::now();
  r.Go(m.get(), s2.get(), 300);
  const int64_t ms = MsSince(t0);
  INFO("waiter: " << r.w.first.ToString() << "; sender: " << r.s.first.ToString() << "; " << ms
                  << " ms");
  // Whichever ran into the dead mirror first, both end with an error, and
  // neither waited for long.
  CHECK(r.s.failed);
  CHECK(r.w.failed);
  CHECK(ms < 30 * o.io_timeout_ms);
  CHECK(m->QuorumAcked() == 0);  // fewer than the quorum healthy
  CHECK_FALSE(m->Health()[1].connected);
  auto d = Bytes(10, 1);
  iovec iov{d.data(), d.size()};
  CHECK_FALSE(m->AppendAsync(r.sent.load(), &iov, 1).ok());
  CHECK_FALSE(m->WaitAcked(r.sent.load()).ok());
}

// A sender's call (Stat, Trim) reads the replies in front of its own, the
// acks included. MirrorSet::WaitAcked, when it needs fewer mirrors than are
// pending, Polls each connection and then sleeps in poll(2) on their
// wait_fd()s. If the sender consumes the acks between those Polls and the
// poll(2), the sockets stay quiet: the waiter must not sleep until
// io_timeout_ms although every ack it needs has been read (it did, before
// commit 5004310, which then woke it every 1 ms). The relays hold the acks
// until the Stat, and the Poll hook runs the Stat at exactly that point. With
// io_timeout_ms at 60 s, only a wake-up (the sender signalling the waiter's
// wait_fd) lets the waiter return within the bound; a plain poll(2) with the
// real timeout would sleep the whole minute.
TEST_CASE("duplex: a MirrorSet waiter is not left asleep when the sender's call reads its acks",
          "[concurrent]") {
  RegisterHookedTransports();
  auto s1 = StartServer();
  auto s2 = StartServer();
  REQUIRE(s1);
  REQUIRE(s2);
  Relay r1(s1->port()), r2(s2->port());
  ConnectOptions o;
  o.io_timeout_ms = 60000;
  const std::string u1 = "hooktcp://127.0.0.1:" + std::to_string(r1.port());
  const std::string u2 = "hooktcp://127.0.0.1:" + std::to_string(r2.port());
  auto m = Mirrors({u1, u2}, 1, o);
  REQUIRE(m->concurrent_waits());
  REQUIRE(m->Open("asleep", 1, true, 0, nullptr).ok());
  auto d = Bytes(100, 3);
  r1.HoldRepliesUntil(r1.client_bytes() + AppendBytes(d.size()) + 1);
  r2.HoldRepliesUntil(r2.client_bytes() + AppendBytes(d.size()) + 1);
  iovec iov{d.data(), d.size()};
  REQUIRE(m->AppendAsync(0, &iov, 1).ok());

  std::atomic<int> stat_step{0};  // 1: asked, 2: done
  std::atomic<bool> stat_ok{false}, fired{false};
  std::thread sender([&] {
    if (!SpinUntil([&] { return stat_step.load() >= 1; }, 10000)) return;
    stat_ok = m->Stat().ok();
    stat_step = 2;
  });
  SetPollHook([&](const std::string& uri, uint64_t acked) {
    // The waiter polled the second mirror and found nothing yet: now the
    // sender's Stat reads both acks.
    if (uri != u2 || acked >= d.size() || fired.exchange(true)) return;
    stat_step = 1;
    SpinUntil([&] { return stat_step.load() >= 2; }, 10000);
  });
  const auto t0 = Clock::now();
  Status s = m->WaitAcked(d.size());
  const int64_t ms = MsSince(t0);
  SetPollHook(nullptr);
  stat_step = std::max(stat_step.load(), 1);
  sender.join();
  INFO(s.ToString() << "; WaitAcked took " << ms << " ms, io_timeout_ms " << o.io_timeout_ms);
  CHECK(fired);
  CHECK(stat_ok);
  CHECK(s.ok());
  CHECK(m->QuorumAcked() == d.size());
  // Not a performance bound: with the acks already read, a sleep of
  // io_timeout_ms is the bug itself.
  CHECK(ms < o.io_timeout_ms / 2);
}

// A MirrorSet waiter that needs fewer mirrors than are pending sleeps in
// poll(2) until a connection has something for it, not in short timed naps
// (before this change it woke every 1 ms to look again). While the relays
// hold the acks and nothing else happens, the waiter Polls each connection
// once (the pass before its poll(2)) and then no more; the hook counts the
// Polls. The pause is no ordering device: a waiter that sleeps properly
// makes no Poll in it however long it is, one that naps makes one per nap.
TEST_CASE("duplex: a MirrorSet waiter sleeps in poll(2) without a timer", "[concurrent]") {
  RegisterHookedTransports();
  auto s1 = StartServer();
  auto s2 = StartServer();
  REQUIRE(s1);
  REQUIRE(s2);
  Relay r1(s1->port()), r2(s2->port());
  ConnectOptions o;
  o.io_timeout_ms = 60000;
  const std::string u1 = "hooktcp://127.0.0.1:" + std::to_string(r1.port());
  const std::string u2 = "hooktcp://127.0.0.1:" + std::to_string(r2.port());
  auto m = Mirrors({u1, u2}, 1, o);
  REQUIRE(m->Open("sleeper", 1, true, 0, nullptr).ok());
  auto d = Bytes(100, 5);
  r1.HoldRepliesUntil(r1.client_bytes() + AppendBytes(d.size()) + 1);
  r2.HoldRepliesUntil(r2.client_bytes() + AppendBytes(d.size()) + 1);
  iovec iov{d.data(), d.size()};
  REQUIRE(m->AppendAsync(0, &iov, 1).ok());
  std::atomic<int> polls{0};
  SetPollHook([&](const std::string&, uint64_t) { polls++; });
  Status s;
  std::thread waiter([&] { s = m->WaitAcked(d.size()); });
  const bool polled = SpinUntil([&] { return polls.load() >= 2; }, 10000);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int during = polls.load();
  // Release the acks: a Stat's bytes open the gates (it reads them, and
  // wakes the waiter; or the waiter reads them first).
  const bool stat_ok = m->Stat().ok();
  waiter.join();
  SetPollHook(nullptr);
  INFO("Polls before and during the pause: " << during);
  CHECK(polled);
  CHECK(during == 2);
  CHECK(stat_ok);
  CHECK(s.ok());
}
