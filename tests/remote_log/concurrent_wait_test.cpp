// The transport's full-duplex contract (Connection::SupportsConcurrentWait,
// MirrorSet::concurrent_waits): one thread waits for acks while another sends
// appends and makes calls, against real servers on loopback: results stay
// exact, nothing deadlocks, failures reach both threads. Run under
// ThreadSanitizer in CI (label concurrent). That a send really goes out while
// the other thread is blocked waiting is shown deterministically one level up,
// with a stopped mirror (tests/shim_remote: "a commit goes out while an
// earlier one's ack is outstanding").
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "remote_log/client.h"
#include "test_util.h"

using namespace rvmr;
using namespace rvmr::remote_log;
using namespace rvmr::remote_log::test;

namespace {

// What the sending thread has handed over so far; the waiting thread waits
// for it. Catch assertions stay on the main thread (they are not
// thread-safe); the threads count what went wrong.
struct Progress {
  std::atomic<uint64_t> sent{0};
  std::atomic<bool> done{false};
  std::atomic<int> errors{0};
};

// Waits for everything sent, over and over, until the sender is done and all
// of it is acknowledged. `wait(end, &acked)` is the transport's wait.
template <typename WaitFn>
void WaitLoop(Progress* p, WaitFn wait) {
  uint64_t acked = 0;
  for (;;) {
    const bool done = p->done.load();
    const uint64_t target = p->sent.load();
    if (target > acked) {
      if (!wait(target, &acked).ok()) {
        p->errors++;
        return;
      }
      if (acked < target) p->errors++;
    } else if (done) {
      return;
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace

TEST_CASE("a waiter and a sender share one TCP connection") {
  auto srv = StartServer(256u << 20);
  REQUIRE(srv);
  auto c = Dial(Uri(*srv));
  CHECK(c->SupportsConcurrentWait());
  LogInfo info;
  REQUIRE(c->Open("duplex", 1, true, 0, &info).ok());
  auto data = Bytes(4 << 20, 3);
  Progress p;
  std::atomic<int> call_errors{0};
  std::thread waiter([&] {
    WaitLoop(&p, [&](uint64_t end, uint64_t* acked) { return c->WaitAcked(end, acked); });
  });
  std::thread sender([&] {
    uint64_t off = 0;
    size_t step = 1;
    for (int i = 0; off < data.size(); ++i) {
      size_t n = std::min(step, data.size() - off);
      iovec iov{data.data() + off, n};
      if (!c->StartAppend(off, &iov, 1).ok()) {
        p.errors++;
        break;
      }
      off += n;
      p.sent = off;
      step = step * 13 % 60000 + 1;  // 1 B to ~60 KiB
      if (i % 64 == 0) {
        // Calls while the other thread may be inside WaitAcked: their replies
        // come back behind the acks and either thread may read them. The
        // server handles requests in order: it holds everything sent so far.
        LogInfo s;
        if (!c->Stat(&s).ok() || s.tail != off) call_errors++;
        if (!c->Trim(off / 2, &s).ok() || s.start != off / 2) call_errors++;
      }
    }
    p.done = true;
  });
  sender.join();
  waiter.join();
  CHECK(p.errors == 0);
  CHECK(call_errors == 0);
  uint64_t acked = 0;
  REQUIRE(c->WaitAcked(data.size(), &acked).ok());
  CHECK(acked == data.size());
  // Everything after the last trim reads back as sent.
  REQUIRE(c->Stat(&info).ok());
  std::vector<uint8_t> out(data.size() - info.start);
  size_t got = 0, done = 0;
  while (done < out.size()) {
    REQUIRE(c->Read(info.start + done, out.size() - done, out.data() + done, &got).ok());
    REQUIRE(got > 0);
    done += got;
  }
  CHECK(std::memcmp(out.data(), data.data() + info.start, out.size()) == 0);
}

TEST_CASE("large appends that fill the socket while another thread waits do not deadlock") {
  auto srv = StartServer(256u << 20);
  REQUIRE(srv);
  auto c = Dial(Uri(*srv));
  LogInfo info;
  REQUIRE(c->Open("big", 1, true, 0, &info).ok());
  auto chunk = Bytes(1 << 20, 9);
  constexpr int kChunks = 48;
  Progress p;
  std::thread waiter([&] {
    WaitLoop(&p, [&](uint64_t end, uint64_t* acked) { return c->WaitAcked(end, acked); });
  });
  for (int i = 0; i < kChunks; ++i) {
    iovec iov{chunk.data(), chunk.size()};
    if (!c->StartAppend(uint64_t(i) * chunk.size(), &iov, 1).ok()) {
      p.errors++;
      break;
    }
    p.sent = uint64_t(i + 1) * chunk.size();
  }
  p.done = true;
  waiter.join();
  CHECK(p.errors == 0);
  uint64_t acked = 0;
  REQUIRE(c->WaitAcked(uint64_t(kChunks) * chunk.size(), &acked).ok());
  std::vector<uint8_t> out(chunk.size());
  size_t got = 0;
  REQUIRE(c->Read(uint64_t(kChunks - 1) * chunk.size(), out.size(), out.data(), &got).ok());
  CHECK(std::memcmp(out.data(), chunk.data(), got) == 0);
}

TEST_CASE("a server that goes away fails both the waiting and the sending thread") {
  auto srv = StartServer();
  REQUIRE(srv);
  ConnectOptions o;
  o.io_timeout_ms = 2000;
  auto c = Dial(Uri(*srv), o);
  LogInfo info;
  REQUIRE(c->Open("gone", 1, true, 0, &info).ok());
  auto d = Bytes(512, 4);
  Progress p;
  std::atomic<bool> send_failed{false};
  std::thread waiter([&] {
    WaitLoop(&p, [&](uint64_t end, uint64_t* acked) { return c->WaitAcked(end, acked); });
  });
  std::thread sender([&] {
    uint64_t off = 0;
    // Appends until the connection fails (bounded: far more than it takes).
    for (int i = 0; i < 2000000 && !send_failed; ++i) {
      iovec iov{d.data(), d.size()};
      if (!c->StartAppend(off, &iov, 1).ok()) send_failed = true;
      off += d.size();
      p.sent = off;
      if (i == 2000) srv->Stop();
    }
    p.done = true;
  });
  sender.join();
  waiter.join();
  CHECK(send_failed);
  CHECK(p.errors == 1);  // the waiter's wait failed (once: it stops there)
  uint64_t acked = 0;
  CHECK_FALSE(c->Poll(&acked).ok());
}

TEST_CASE("a MirrorSet pipelines: one thread appends while another waits for the quorum") {
  auto s1 = StartServer(256u << 20);
  auto s2 = StartServer(256u << 20);
  REQUIRE(s1);
  REQUIRE(s2);
  const size_t quorum = GENERATE(0u, 1u);  // all mirrors, or one of two
  auto m = Mirrors({Uri(*s1), Uri(*s2)}, quorum);
  CHECK(m->concurrent_waits());
  REQUIRE(m->Open("set", 1, true, 0, nullptr).ok());
  auto d = Bytes(3000, 5);
  constexpr int kAppends = 3000;
  Progress p;
  std::atomic<int> went_back{0};
  std::thread waiter([&] {
    uint64_t last_quorum = 0;
    WaitLoop(&p, [&](uint64_t end, uint64_t* acked) {
      Status s = m->WaitAcked(end);
      *acked = m->QuorumAcked();
      if (*acked < last_quorum) went_back++;
      last_quorum = *acked;
      return s;
    });
  });
  uint64_t off = 0;
  for (int i = 0; i < kAppends; ++i) {
    iovec iov{d.data(), d.size() - size_t(i % 1000)};
    if (!m->AppendAsync(off, &iov, 1).ok()) {
      p.errors++;
      break;
    }
    off += iov.iov_len;
    p.sent = off;
    // With one of two needed, the second mirror dies half way: the set goes
    // on with the first.
    if (quorum == 1 && i == kAppends / 2) s2->Stop();
  }
  p.done = true;
  waiter.join();
  CHECK(p.errors == 0);
  CHECK(went_back == 0);
  CHECK(m->QuorumAcked() == off);
  CHECK(m->Health()[0].acked_end == off);
  if (quorum == 1) CHECK_FALSE(m->Health()[1].connected);
}
