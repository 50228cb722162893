// Descriptor allocators/copiers, printable names, offset and page helpers:
// the parts of the RVM API that need no library state beyond the page size.
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "internal.h"

namespace {

const char* const kReturnNames[] = {"RVM_EINIT",       "RVM_EINTERNAL",
                                    "RVM_EIO",         "RVM_EPLACEHOLDER",
                                    "RVM_ELOG",        "RVM_ELOG_VERSION_SKEW",
                                    "RVM_EMODE",       "RVM_ENAME_TOO_LONG",
                                    "RVM_ENO_MEMORY",  "RVM_ENOT_MAPPED",
                                    "RVM_EOFFSET",     "RVM_EOPTIONS",
                                    "RVM_EOVERLAP",    "RVM_EPAGER",
                                    "RVM_ERANGE",      "RVM_EREGION",
                                    "RVM_EREGION_DEF", "RVM_ESRC",
                                    "RVM_ESTATISTICS", "RVM_ESTAT_VERSION_SKEW",
                                    "RVM_ETERMINATED", "RVM_ETHREADS",
                                    "RVM_ETID",        "RVM_ETOO_BIG",
                                    "RVM_EUNCOMMIT",   "RVM_EVERSION_SKEW",
                                    "RVM_EVM_OVERLAP"};
static_assert(sizeof(kReturnNames) / sizeof(kReturnNames[0]) == rvm_last_code - rvm_first_code - 1);
const char* const kModeNames[] = {"restore", "no_restore", "flush", "no_flush"};
// The original names the fourth type "rvm_statistics_id"; programs may print it.
const char* const kTypeNames[] = {"rvm_region_t", "rvm_options_t", "rvm_tid_t",
                                  "rvm_statistics_id"};

template <typename T>
T* HeapCopy(const T* src) {
  T* p = static_cast<T*>(std::malloc(sizeof(T)));
  if (p) std::memcpy(static_cast<void*>(p), src, sizeof(T));
  return p;
}

}  // namespace

extern "C" {

char* rvm_return(rvm_return_t code) {
  if (code == RVM_SUCCESS) return const_cast<char*>("RVM_SUCCESS");
  if (code > rvm_first_code && code < rvm_last_code)
    return const_cast<char*>(kReturnNames[code - rvm_first_code - 1]);
  return const_cast<char*>("Invalid RVM return code");
}

char* rvm_mode(rvm_mode_t mode) {
  long m = static_cast<long>(mode);
  if (m > rvm_first_mode && m < rvm_last_mode)
    return const_cast<char*>(kModeNames[m - rvm_first_mode - 1]);
  return const_cast<char*>("Invalid RVM transaction mode");
}

char* rvm_type(rvm_struct_id_t id) {
  long i = static_cast<long>(id);
  if (i > rvm_first_struct_id && i < rvm_last_struct_id)
    return const_cast<char*>(kTypeNames[i - rvm_first_struct_id - 1]);
  return const_cast<char*>("Invalid RVM structure type");
}

// ---- tids
void rvm_init_tid(rvm_tid_t* tid) {
  if (!tid) return;
  std::memset(static_cast<void*>(tid), 0, sizeof(*tid));
  tid->struct_id = rvm_tid_id;
}
rvm_tid_t* rvm_malloc_tid(void) {
  rvm_tid_t* t = static_cast<rvm_tid_t*>(std::malloc(sizeof(rvm_tid_t)));
  if (!t) return nullptr;
  rvm_init_tid(t);
  t->from_heap = rvm_true;
  return t;
}
rvm_tid_t* rvm_copy_tid(rvm_tid_t* tid) {
  if (!tid || tid->struct_id != rvm_tid_id) return nullptr;
  rvm_tid_t* t = HeapCopy(tid);
  if (t) t->from_heap = rvm_true;
  return t;
}
void rvm_free_tid(rvm_tid_t* tid) {
  if (tid && tid->struct_id == rvm_tid_id && tid->from_heap) {
    tid->struct_id = static_cast<rvm_struct_id_t>(0);
    std::free(tid);
  }
}

// ---- options
void rvm_init_options(rvm_options_t* o) {
  if (!o) return;
  std::memset(static_cast<void*>(o), 0, sizeof(*o));
  o->struct_id = rvm_options_id;
  o->truncate = TRUNCATE;
  o->recovery_buf_len = RECOVERY_BUF_LEN;
  o->flush_buf_len = FLUSH_BUF_LEN;
  o->max_read_len = MAX_READ_LEN;
  o->create_log_file = rvm_false;
  o->create_log_mode = 0600;
}
rvm_options_t* rvm_malloc_options(void) {
  rvm_options_t* o = static_cast<rvm_options_t*>(std::malloc(sizeof(rvm_options_t)));
  if (!o) return nullptr;
  rvm_init_options(o);
  o->from_heap = rvm_true;
  return o;
}
rvm_options_t* rvm_copy_options(rvm_options_t* o) {
  if (!o || o->struct_id != rvm_options_id) return nullptr;
  rvm_options_t* c = HeapCopy(o);
  if (c) c->from_heap = rvm_true;
  return c;
}
void rvm_free_options(rvm_options_t* o) {
  if (o && o->struct_id == rvm_options_id && o->from_heap) {
    std::free(o->tid_array);
    o->struct_id = static_cast<rvm_struct_id_t>(0);
    std::free(o);
  }
}

// ---- regions
void rvm_init_region(rvm_region_t* r) {
  if (!r) return;
  std::memset(static_cast<void*>(r), 0, sizeof(*r));
  r->struct_id = rvm_region_id;
}
rvm_region_t* rvm_malloc_region(void) {
  rvm_region_t* r = static_cast<rvm_region_t*>(std::malloc(sizeof(rvm_region_t)));
  if (!r) return nullptr;
  rvm_init_region(r);
  r->from_heap = rvm_true;
  return r;
}
rvm_region_t* rvm_copy_region(rvm_region_t* r) {
  if (!r || r->struct_id != rvm_region_id) return nullptr;
  rvm_region_t* c = HeapCopy(r);
  if (c) c->from_heap = rvm_true;
  return c;
}
void rvm_free_region(rvm_region_t* r) {
  if (r && r->struct_id == rvm_region_id && r->from_heap) {
    r->struct_id = static_cast<rvm_struct_id_t>(0);
    std::free(r);
  }
}

// ---- statistics descriptors
void rvm_init_statistics(rvm_statistics_t* s) {
  if (!s) return;
  std::memset(static_cast<void*>(s), 0, sizeof(*s));
  s->struct_id = rvm_statistics_id;
}
rvm_statistics_t* rvm_malloc_statistics(void) {
  rvm_statistics_t* s = static_cast<rvm_statistics_t*>(std::malloc(sizeof(rvm_statistics_t)));
  if (!s) return nullptr;
  rvm_init_statistics(s);
  s->from_heap = rvm_true;
  return s;
}
rvm_statistics_t* rvm_copy_statistics(rvm_statistics_t* s) {
  if (!s || s->struct_id != rvm_statistics_id) return nullptr;
  rvm_statistics_t* c = HeapCopy(s);
  if (c) c->from_heap = rvm_true;
  return c;
}
void rvm_free_statistics(rvm_statistics_t* s) {
  if (s && s->struct_id == rvm_statistics_id && s->from_heap) {
    s->struct_id = static_cast<rvm_struct_id_t>(0);
    std::free(s);
  }
}

// ---- offsets
rvm_offset_t rvm_mk_offset(rvm_length_t x, rvm_length_t y) {
  rvm_offset_t t;
  t.high = x;
  t.low = y;
  return t;
}
rvm_offset_t rvm_add_offsets(rvm_offset_t* x, rvm_offset_t* y) {
  rvm_offset_t t;
  t.low = x->low + y->low;
  t.high = x->high + y->high + (t.low < x->low ? 1 : 0);
  return t;
}
rvm_offset_t rvm_add_length_to_offset(rvm_offset_t* x, rvm_length_t len) {
  rvm_offset_t t;
  t.low = x->low + len;
  t.high = x->high + (t.low < x->low ? 1 : 0);
  return t;
}
rvm_offset_t rvm_sub_offsets(rvm_offset_t* x, rvm_offset_t* y) {
  rvm_offset_t t;
  t.low = x->low - y->low;
  t.high = x->high - y->high - (x->low < y->low ? 1 : 0);
  return t;
}
rvm_offset_t rvm_sub_length_from_offset(rvm_offset_t* x, rvm_length_t len) {
  rvm_offset_t t;
  t.low = x->low - len;
  t.high = x->high - (x->low < len ? 1 : 0);
  return t;
}
rvm_length_t rvm_page_size(void) {
  return rvmr::compat::g_page_size;
}
rvm_length_t rvm_page_mask(void) {
  return rvmr::compat::g_page_mask;
}
rvm_offset_t rvm_rnd_offset_up_to_page(rvm_offset_t* x) {
  rvm_offset_t t = rvm_add_length_to_offset(x, rvmr::compat::g_page_size - 1);
  t.low &= rvmr::compat::g_page_mask;
  return t;
}
rvm_offset_t rvm_rnd_offset_dn_to_page(rvm_offset_t* x) {
  rvm_offset_t t = *x;
  t.low &= rvmr::compat::g_page_mask;
  return t;
}
rvm_offset_t rvm_rnd_offset_to_sector(rvm_offset_t* x) {
  rvm_offset_t t = rvm_add_length_to_offset(x, 511);
  t.low &= ~rvm_length_t{511};
  return t;
}

}  // extern "C"
