// rds_bench: cost of rds_malloc/rds_free on a 1 GiB RDS heap as the number of
// free blocks on the largest free list grows (the case where a linear
// best-fit search makes allocation quadratic overall).
//
//   rds_bench [heap_mib=1024] [ops=2000]
//
// Creates a temporary log and a sparse data segment, fragments the heap so
// that 1k, 10k and 100k large free blocks sit on the largest list (each
// pinned between allocated blocks so they cannot merge), and at each level
// times `ops` pairs of rds_malloc (a random size larger than any fragment,
// the worst case for a best-fit search) + rds_free, each in
// its own no_flush transaction as Coda's servers use RDS, then the same
// number of RVM-only transactions of similar shape. It prints µs per
// pair and the ratio to the 1k level, measured in the same run (fragmenting
// includes an rvm_flush + rvm_truncate, so its time is mostly RVM's). Written
// against the public API only, so the same source also builds against
// another RVM/RDS implementation for comparison.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include <rvm/rds.h>
#include <rvm/rvm.h>
#include <rvm/rvm_segment.h>
}

namespace {

constexpr uintptr_t kStart = 0x600000000;
constexpr unsigned long kChunk = 64;
constexpr unsigned long kNLists = 100;  // the largest list holds blocks >= 6400 bytes

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void Die(const char* what, int err) {
  fprintf(stderr, "rds_bench: %s failed: %d\n", what, err);
  exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned long heap_mib = argc > 1 ? strtoul(argv[1], nullptr, 0) : 1024;
  const int ops = argc > 2 ? atoi(argv[2]) : 2000;
  const unsigned long heap_len = heap_mib << 20;
  const unsigned long page = static_cast<unsigned long>(sysconf(_SC_PAGESIZE));
  const unsigned long static_len = page;

  char tmpl[] = "/tmp/rds_bench_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) Die("mkdtemp", errno);
  const std::string dir = tmpl, log = dir + "/log", data = dir + "/data";

  int fd = open(data.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(page + heap_len + static_len)) != 0) {
    Die("creating the sparse data file", errno);
  }
  close(fd);

  rvm_options_t* opts = rvm_malloc_options();
  opts->log_dev = const_cast<char*>(log.c_str());
  opts->create_log_file = rvm_true;
  opts->create_log_size = RVM_MK_OFFSET(0, 64ul << 20);
  opts->create_log_mode = 0600;
  opts->truncate = 50;
  if (int rc = RVM_INIT(opts); rc != RVM_SUCCESS) Die("rvm_initialize", rc);

  int err = 0;
  double t0 = Now();
  rds_zap_heap(const_cast<char*>(data.c_str()), RVM_MK_OFFSET(0, 0),
               reinterpret_cast<char*>(kStart), static_len, heap_len, kNLists, kChunk, &err);
  if (err != SUCCESS) Die("rds_zap_heap", err);
  char* statics = nullptr;
  rds_load_heap(const_cast<char*>(data.c_str()), RVM_MK_OFFSET(0, 0), &statics, &err);
  if (err != SUCCESS) Die("rds_load_heap", err);
  printf("heap %lu MiB created and loaded in %.2f s\n", heap_mib, Now() - t0);

  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<unsigned long> big(6500, 8000);
  // Measured requests are larger than every fragment, so no free block fits
  // exactly and a best-fit search has to consider all of them.
  std::uniform_int_distribution<unsigned long> larger(8200, 9000);
  std::vector<char*> pins;
  // 1k, 10k and 100k blocks on a 1 GiB heap; proportionally fewer on smaller ones.
  const int top = static_cast<int>(100000 * heap_mib / 1024);
  const int levels[] = {top / 100, top / 10, top};
  int have = 0;
  double base_us = 0;
  printf("%-22s %12s %12s %10s %14s\n", "free blocks on big list", "fragment s", "us/pair", "ratio",
         "rvm-only us");
  for (int level : levels) {
    // Fragment: big, pin, big, pin ...; then free the bigs of this step.
    double f0 = Now();
    std::vector<char*> bigs;
    for (; have < level; ++have) {
      char* b = rds_malloc(big(rng), nullptr, &err);
      if (b == nullptr) Die("rds_malloc (fragmenting)", err);
      char* p = rds_malloc(40, nullptr, &err);
      if (p == nullptr) Die("rds_malloc (pin)", err);
      bigs.push_back(b);
      pins.push_back(p);
    }
    for (char* b : bigs) {
      rds_free(b, nullptr, &err);
      if (err != SUCCESS) Die("rds_free (fragmenting)", err);
    }
    rvm_flush();
    rvm_truncate();
    double frag_s = Now() - f0;

    double m0 = Now();
    for (int i = 0; i < ops; ++i) {
      char* b = rds_malloc(larger(rng), nullptr, &err);
      if (b == nullptr) Die("rds_malloc (measured)", err);
      rds_free(b, nullptr, &err);
      if (err != SUCCESS) Die("rds_free (measured)", err);
    }
    double us = (Now() - m0) * 1e6 / ops;
    if (base_us == 0) base_us = us;

    // RVM alone: two no_flush transactions per pair, each covering and
    // changing four words at random places of the heap (roughly the ranges a
    // malloc or a free sets), to separate RVM's cost from the allocator's.
    std::uniform_int_distribution<size_t> pick(0, pins.size() - 1);
    rvm_tid_t* tid = rvm_malloc_tid();
    double r0 = Now();
    for (int i = 0; i < 2 * ops; ++i) {
      if (rvm_begin_transaction(tid, restore) != RVM_SUCCESS) Die("rvm_begin_transaction", 0);
      for (int k = 0; k < 4; ++k) {
        char* p = pins[pick(rng)];
        rvm_set_range(tid, p, 8);
        memset(p, k, 8);
      }
      rvm_end_transaction(tid, no_flush);
    }
    rvm_free_tid(tid);
    double rvm_us = (Now() - r0) * 1e6 / ops;
    printf("%-22d %12.2f %12.2f %10.2f %14.2f\n", level, frag_s, us, us / base_us, rvm_us);
    fflush(stdout);
  }
  rds_unload_heap(&err);
  rvm_terminate();
  unlink(log.c_str());
  unlink(data.c_str());
  rmdir(dir.c_str());
  return 0;
}
