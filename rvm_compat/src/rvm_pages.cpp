// The registry of page ranges RVM may map regions into: pages RVM allocated
// (page_alloc) and pages libseg allocated and registered (rvm_register_page).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <iterator>
#include <map>
#include <mutex>

#include "internal.h"

namespace rvmr::compat {

rvm_length_t g_page_size = 0;
rvm_length_t g_page_mask = 0;

void InitPageSize() {
  long ps = ::sysconf(_SC_PAGESIZE);
  g_page_size = static_cast<rvm_length_t>(ps > 0 ? ps : 4096);
  g_page_mask = ~(g_page_size - 1);
}

namespace {
std::mutex g_pages_mu;
// start -> end (exclusive), non-overlapping.
std::map<uintptr_t, uintptr_t>& Pages() {
  static auto* m = new std::map<uintptr_t, uintptr_t>();
  return *m;
}
}  // namespace

bool PagesRegistered(const char* vmaddr, uint64_t len) {
  std::lock_guard<std::mutex> l(g_pages_mu);
  auto& m = Pages();
  uintptr_t a = reinterpret_cast<uintptr_t>(vmaddr);
  uintptr_t end = a + (len ? len : 1);
  // Walk contiguous registered entries covering [a, end).
  auto it = m.upper_bound(a);
  if (it == m.begin()) return false;
  --it;
  uintptr_t covered = it->first <= a ? it->second : a;
  if (covered <= a) return false;
  while (covered < end) {
    ++it;
    if (it == m.end() || it->first != covered) return false;
    covered = it->second;
  }
  return true;
}

}  // namespace rvmr::compat

using rvmr::compat::g_pages_mu;
using rvmr::compat::Pages;

extern "C" {

rvm_bool_t rvm_register_page(char* vmaddr, rvm_length_t length) {
  if (length == 0) return rvm_false;
  std::lock_guard<std::mutex> l(g_pages_mu);
  auto& m = Pages();
  uintptr_t a = reinterpret_cast<uintptr_t>(vmaddr), e = a + length;
  auto it = m.upper_bound(a);
  if (it != m.end() && it->first < e) return rvm_false;  // overlaps the next entry
  if (it != m.begin() && std::prev(it)->second > a) return rvm_false;
  m.emplace(a, e);
  return rvm_true;
}

rvm_bool_t rvm_unregister_page(char* vmaddr, rvm_length_t length) {
  std::lock_guard<std::mutex> l(g_pages_mu);
  auto& m = Pages();
  uintptr_t a = reinterpret_cast<uintptr_t>(vmaddr), e = a + length;
  auto it = m.find(a);
  if (it == m.end() || it->second != e) return rvm_false;
  m.erase(it);
  return rvm_true;
}

char* page_alloc(rvm_length_t len) {
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  if (!rvm_register_page(static_cast<char*>(p), len)) {
    ::munmap(p, len);
    return nullptr;
  }
  return static_cast<char*>(p);
}

void page_free(char* vmaddr, rvm_length_t length) {
  if (rvm_unregister_page(vmaddr, length)) ::munmap(vmaddr, length);
}

void rvm_debug(rvm_length_t val) {
  if (val != 0) std::printf("\nAt rvm_debug: %lu (%lx)\n", val, val);
}

}  // extern "C"
