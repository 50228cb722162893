// Fault points: named places in the code where a test can make the process
// die (crash-injection suite, tests/crash, docs/crash-suite.md).
//
//   RVMR_FAULT_POINT("shim.before_remote_append");
//   RVMR_FAULT_POINT_TORN("disk.torn_write", fd, buf, len, file_pos);
//
// Off by default: a disarmed point costs one relaxed atomic load. The
// environment variable RVM_FAULT, read once at the first point reached,
// arms points:
//
//   RVM_FAULT=name:action[:n][,name:action[:n]...]
//
// action: `kill` (SIGKILL self), `exit` (_exit(77) without cleanup), or
// `torn` (at a RVMR_FAULT_POINT_TORN: write the first half of the buffer at
// its file position, then SIGKILL; at a plain point the same as kill),
// `enospc` or `eio` (at a RVMR_FAULT_ERRNO point: the I/O there fails with
// ENOSPC or EIO from the n-th hit on, as on a full or failing disk; ignored at
// other points). The action happens at the n-th hit of that point (default
// 1), counted over all threads. Just before acting the process reports
// "fault: <name> hit <n>: <action>" (common/diag.h, level warning).
//
// Mutations: deliberate durability or ordering bugs, to prove the crash suite
// catches them (docs/crash-suite.md, "The mutation catalogue"). Each is a
// switch tested with RVMR_MUTATION("name"), which is the constant false
// unless the code is compiled with RVMR_MUTATIONS=1: only the crash suite's
// mutant copy of the libraries is (tests/crash/CMakeLists.txt); the
// libraries that are built normally and installed hold no switch at all.
// In the mutant copy a switch is on only with the action `on`
// (RVM_FAULT=test_only.name:on), and the process then says so on stderr.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#ifndef RVMR_MUTATIONS
#define RVMR_MUTATIONS 0
#endif

namespace rvmr::fault {

// 0: RVM_FAULT not read yet, 1: nothing armed, 2: some point armed.
extern std::atomic<int> g_state;

// Reads RVM_FAULT (once) and returns whether any point is armed.
bool InitSlow();

// True if some point may be armed. Cheap when nothing is.
inline bool Enabled() {
  int s = g_state.load(std::memory_order_relaxed);
  if (s == 1) return false;
  if (s == 2) return true;
  return InitSlow();
}

// Counts a hit of point `name`; performs its action if armed and due.
void Hit(const char* name);

// As Hit; the `torn` action first writes len/2 bytes of buf at file offset
// `pos` of fd (a torn write), then dies.
void HitTorn(const char* name, int fd, const void* buf, size_t len, uint64_t pos);

// 0, or the negative errno (-ENOSPC, -EIO) that an `enospc` or `eio`
// action armed at `name` makes this hit fail with.
int HitErrno(const char* name);

#if RVMR_MUTATIONS
// True if RVM_FAULT arms `name` with the action `on` (a mutation switch).
bool Active(const char* name);
#endif

// Number of RVMR_FAULT_POINT names that were armed by RVM_FAULT (tests).
size_t ArmedCount();

}  // namespace rvmr::fault

#define RVMR_FAULT_POINT(name)                                \
  do {                                                        \
    if (::rvmr::fault::Enabled()) ::rvmr::fault::Hit((name)); \
  } while (0)

#if RVMR_MUTATIONS
#define RVMR_MUTATION(name) \
  (::rvmr::fault::Enabled() && ::rvmr::fault::Active("test_only." name))
#else
#define RVMR_MUTATION(name) false
#endif

// 0, or a negative errno the I/O at this point must fail with (see above).
#define RVMR_FAULT_ERRNO(name) (::rvmr::fault::Enabled() ? ::rvmr::fault::HitErrno((name)) : 0)

#define RVMR_FAULT_POINT_TORN(name, fd, buf, len, pos)                      \
  do {                                                                      \
    if (::rvmr::fault::Enabled())                                           \
      ::rvmr::fault::HitTorn((name), (fd), (buf), static_cast<size_t>(len), \
                             static_cast<uint64_t>(pos));                   \
  } while (0)
