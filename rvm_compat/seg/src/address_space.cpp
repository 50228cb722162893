// Address-space helpers for libseg (see address_space.h).
#include "address_space.h"

#include <sys/mman.h>

#include <cerrno>

// librvm internals the original libseg relies on. They are referenced weakly
// so libseg still loads against a librvm that does not export them; then the
// registration step is skipped and rvm_map sees the range unregistered.
extern "C" {
rvm_bool_t rvm_register_page(char* vmaddr, rvm_length_t length) __attribute__((weak));
rvm_bool_t rvm_unregister_page(char* vmaddr, rvm_length_t length) __attribute__((weak));
extern rvm_bool_t rvm_map_private __attribute__((weak));
}

namespace rvmr::seg {

namespace {

// Maps anonymous memory; with fixed == true only at addr and never over an
// existing mapping.
Status MapAnonymous(char** addr, size_t length, bool fixed, int prot) {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (fixed) flags |= MAP_FIXED_NOREPLACE;
  void* p = mmap(*addr, length, prot, flags, -1, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    return Status::IoError("mmap of region address range", e);
  }
  if (fixed && p != *addr) {
    // A kernel older than 4.17 treats MAP_FIXED_NOREPLACE as a hint.
    munmap(p, length);
    return Status::IoError("region address range already in use", EEXIST);
  }
  *addr = static_cast<char*>(p);
  return Status::Ok();
}

}  // namespace

Status ReserveRange(char** addr, size_t length) {
  Status s = MapAnonymous(addr, length, *addr != nullptr, PROT_READ | PROT_WRITE);
  if (!s.ok()) return s;
  if (!RegisterRange(*addr, length)) {
    munmap(*addr, length);
    return Status::Failed("librvm refused to register the region pages");
  }
  return Status::Ok();
}

Status ProbeRangeFree(char* addr, size_t length) {
  char* probe = addr;
  Status s = MapAnonymous(&probe, length, true, PROT_NONE);
  if (s.ok()) munmap(probe, length);
  return s;
}

bool RegisterRange(char* addr, size_t length) {
  if (rvm_register_page == nullptr) return true;
  return rvm_register_page(addr, length) == rvm_true;
}

void ReleaseRange(char* addr, size_t length) {
  if (addr == nullptr || length == 0) return;
  if (rvm_unregister_page != nullptr) rvm_unregister_page(addr, length);
  munmap(addr, length);
}

bool RvmMapsPrivate() {
  return &rvm_map_private != nullptr && rvm_map_private != rvm_false;
}

rvm_return_t ToRvmReturn(const Status& s) {
  if (s.ok()) return RVM_SUCCESS;
  if (s.code() == Status::Code::kIoError) {
    if (s.sys_errno() == EEXIST) return RVM_EVM_OVERLAP;
    if (s.sys_errno() == ENOMEM) return RVM_ENO_MEMORY;
  }
  return RVM_EINTERNAL;
}

}  // namespace rvmr::seg
