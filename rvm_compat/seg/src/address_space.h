// Address-space helpers for libseg: claiming a fixed virtual range for a
// region without ever replacing an existing mapping, and telling librvm that
// the range is ours (the original's allocate_vm/deallocate_vm).
#pragma once

#include <cstddef>

#include <rvm/rvm.h>

#include "common/status.h"

namespace rvmr::seg {

// Maps `length` bytes of anonymous read/write memory exactly at *addr (or
// where the kernel likes when *addr is NULL, storing the address back) and
// registers the pages with librvm. Fails with -EEXIST (IoError) when any
// page of the range is already mapped; nothing is left mapped on failure.
Status ReserveRange(char** addr, size_t length);

// Checks that [addr, addr+length) is entirely unmapped, leaving it so.
Status ProbeRangeFree(char* addr, size_t length);

// Registers a range with librvm without mapping it (map_private mode, where
// rvm_map maps the file itself). False if librvm refused.
bool RegisterRange(char* addr, size_t length);

// Unregisters and unmaps a range obtained from ReserveRange.
void ReleaseRange(char* addr, size_t length);

// True when librvm runs in map_private mode (its rvm_map_private global).
bool RvmMapsPrivate();

// Maps a failed Status from the functions above to an rvm_return_t.
rvm_return_t ToRvmReturn(const Status& s);

}  // namespace rvmr::seg
