// The append hot path (MirrorSet::AppendAsync/WaitAcked over TCP) makes no
// heap allocation: counted with a replaced global operator new on the
// writer's thread.
#include <atomic>
// GCC cannot see that the replaced new and delete below pair malloc with free.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <catch2/catch.hpp>
#include <cstdlib>
#include <new>
#include <vector>

#include "remote_log/client.h"
#include "test_util.h"

namespace {
thread_local bool counting = false;
thread_local long allocations = 0;
}  // namespace

void* operator new(size_t n) {
  if (counting) ++allocations;
  void* p = std::malloc(n ? n : 1);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t n) {
  return operator new(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
  std::free(p);
}

using namespace rvmr;
using namespace rvmr::remote_log;

TEST_CASE("appends allocate nothing on the writer's thread") {
  auto s1 = test::StartServer();
  auto s2 = test::StartServer();
  REQUIRE(s1);
  REQUIRE(s2);
  MirrorSetOptions mo;
  mo.uris = {test::Uri(*s1), test::Uri(*s2)};
  std::unique_ptr<MirrorSet> m;
  REQUIRE(MirrorSet::Connect(mo, &m).ok());
  REQUIRE(m->Open("alloc", 1, true, 0, nullptr).ok());
  std::vector<uint8_t> d(3000, 1);
  uint64_t off = 0;
  // Warm up (buffers reach their steady size).
  for (int i = 0; i < 100; ++i, off += d.size()) REQUIRE(m->Append(off, d.data(), d.size()).ok());
  counting = true;
  allocations = 0;
  bool ok = true;
  for (int i = 0; i < 2000; ++i, off += d.size()) {
    iovec iov[2] = {{d.data(), 1000}, {d.data() + 1000, 2000}};
    ok = ok && m->AppendAsync(off, iov, 2).ok();
    if (i % 16 == 15) ok = ok && m->WaitAcked(off + d.size()).ok();
  }
  ok = ok && m->WaitAcked(off).ok();
  for (int i = 0; i < 200; ++i, off += d.size()) ok = ok && m->Append(off, d.data(), d.size()).ok();
  counting = false;
  CHECK(ok);
  CHECK(allocations == 0);
}
