// internal.h: declarations shared by the librvm sources (not installed).
#pragma once

#include <cstdint>

#include "rvm/rvm.h"
#include "rvm/rvm_remote_stats.h"
#include "rvm/rvm_statistics.h"

// Exported internals that Coda, libseg and the tools use (facts file 3.1).
extern "C" {
extern long rvm_no_yield;  // sized for a long: Coda stores one into it
extern rvm_bool_t rvm_utlsw;
extern rvm_bool_t rvm_no_update;
extern char* rvm_errmsg;
extern int rvm_map_private;  // 4 bytes, as the original's rvm_bool_t; holds 0 or 8
extern rvm_length_t rvm_optimizations;
rvm_bool_t rvm_register_page(char* vmaddr, rvm_length_t length);
rvm_bool_t rvm_unregister_page(char* vmaddr, rvm_length_t length);
char* page_alloc(rvm_length_t len);
void page_free(char* vmaddr, rvm_length_t length);
void rvm_debug(rvm_length_t val);
rvm_offset_t rvm_rnd_offset_to_sector(rvm_offset_t* x);
}

namespace rvmr::compat {

// 0 until rvm_initialize, as in the original.
extern rvm_length_t g_page_size;
extern rvm_length_t g_page_mask;
void InitPageSize();

// True if [vmaddr, vmaddr+len) lies within pages registered with RVM.
bool PagesRegistered(const char* vmaddr, uint64_t len);

// The log shim's counters now (rvm_remote_statistics without the API call's
// checks and reporting): fills *out and returns true in remote mode; zeros
// and false in classic mode.
bool RemoteStatsNow(rvm_remote_stats_t* out);

}  // namespace rvmr::compat
