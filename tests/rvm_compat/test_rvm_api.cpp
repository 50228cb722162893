// The RVM API: names, descriptors, offsets, init/terminate, log creation,
// mapping, transactions, query, statistics, and every error code the
// original returns for these calls (facts file 3.5).
#include <sys/mman.h>

#include <cstddef>
#include <cstring>

#include "rvm_test_util.h"

using namespace rvmtest;

TEST_CASE("struct sizes and field offsets match the original ABI") {
  CHECK(sizeof(rvm_tid_t) == 40);
  CHECK(sizeof(rvm_options_t) == 120);
  CHECK(sizeof(rvm_region_t) == 72);
  CHECK(sizeof(rvm_statistics_t) == 1600);
  CHECK(offsetof(rvm_options_t, tid_array) == 72);
  CHECK(offsetof(rvm_options_t, create_log_size) == 96);
  CHECK(offsetof(rvm_region_t, vmaddr) == 48);
  CHECK(offsetof(rvm_statistics_t, log_written) == 120);
  CHECK(offsetof(rvm_statistics_t, tot_trans_coalesces) == 1552);
  rvm_no_yield = 0x7fffffffffffffffL;  // Coda stores a long into it
  CHECK(rvm_no_yield == 0x7fffffffffffffffL);
  rvm_no_yield = 0;
  CHECK(std::string(RVM_VERSION) == "RVM Interface Version 1.3  7 Mar 1994");
}

TEST_CASE("names of return codes, modes and types") {
  CHECK(std::string(rvm_return(RVM_SUCCESS)) == "RVM_SUCCESS");
  CHECK(std::string(rvm_return(RVM_EINIT)) == "RVM_EINIT");
  CHECK(std::string(rvm_return(203)) == "RVM_EPLACEHOLDER");
  CHECK(std::string(rvm_return(RVM_EVM_OVERLAP)) == "RVM_EVM_OVERLAP");
  CHECK(std::string(rvm_return(227)) == "Invalid RVM return code");
  CHECK(std::string(rvm_return(-1)) == "Invalid RVM return code");
  CHECK(std::string(rvm_mode(restore)) == "restore");
  CHECK(std::string(rvm_mode(no_flush)) == "no_flush");
  CHECK(std::string(rvm_mode(static_cast<rvm_mode_t>(123))) == "Invalid RVM transaction mode");
  CHECK(std::string(rvm_type(rvm_region_id)) == "rvm_region_t");
  CHECK(std::string(rvm_type(rvm_statistics_id)) == "rvm_statistics_id");
  CHECK(std::string(rvm_type(static_cast<rvm_struct_id_t>(44))) == "Invalid RVM structure type");
}

TEST_CASE("descriptor allocators, initializers and copiers") {
  rvm_options_t* o = rvm_malloc_options();
  REQUIRE(o);
  CHECK(o->struct_id == rvm_options_id);
  CHECK(o->from_heap == rvm_true);
  CHECK(o->truncate == TRUNCATE);
  CHECK(o->recovery_buf_len == RECOVERY_BUF_LEN);
  CHECK(o->flush_buf_len == FLUSH_BUF_LEN);
  CHECK(o->max_read_len == MAX_READ_LEN);
  CHECK(o->create_log_mode == 0600);
  CHECK(o->log_dev == nullptr);
  rvm_options_t* oc = rvm_copy_options(o);
  REQUIRE(oc);
  CHECK(oc->truncate == TRUNCATE);
  rvm_free_options(oc);
  rvm_free_options(o);
  rvm_options_t stack;
  rvm_init_options(&stack);
  CHECK(stack.from_heap == rvm_false);
  rvm_free_options(&stack);  // not from the heap: ignored
  rvm_tid_t* t = rvm_malloc_tid();
  CHECK(t->struct_id == rvm_tid_id);
  CHECK(t->tid == nullptr);
  rvm_tid_t* tc = rvm_copy_tid(t);
  CHECK(tc->from_heap == rvm_true);
  rvm_free_tid(tc);
  rvm_free_tid(t);
  rvm_region_t* r = rvm_malloc_region();
  CHECK(r->struct_id == rvm_region_id);
  CHECK(r->vmaddr == nullptr);
  r->data_dev = const_cast<char*>("x");
  rvm_region_t* rc = rvm_copy_region(r);
  CHECK(rc->data_dev == r->data_dev);
  rvm_free_region(rc);
  rvm_free_region(r);
  rvm_statistics_t* s = rvm_malloc_statistics();
  CHECK(s->struct_id == rvm_statistics_id);
  rvm_free_statistics(s);
  rvm_region_t bad;
  std::memset(&bad, 0, sizeof(bad));
  CHECK(rvm_copy_region(&bad) == nullptr);
}

TEST_CASE("offset helpers carry and borrow across the 64-bit halves") {
  rvm_offset_t a = RVM_MK_OFFSET(1, ~0ul);
  rvm_offset_t b = RVM_MK_OFFSET(0, 1);
  rvm_offset_t c = RVM_ADD_OFFSETS(a, b);
  CHECK(c.high == 2);
  CHECK(c.low == 0);
  rvm_offset_t d = RVM_SUB_OFFSETS(c, b);
  CHECK(RVM_OFFSET_EQL(d, a));
  rvm_offset_t e = RVM_ADD_LENGTH_TO_OFFSET(a, 2);
  CHECK(e.high == 2);
  CHECK(e.low == 1);
  rvm_offset_t f = RVM_SUB_LENGTH_FROM_OFFSET(e, 2);
  CHECK(RVM_OFFSET_EQL(f, a));
  CHECK(RVM_OFFSET_LSS(b, a));
  CHECK(RVM_OFFSET_GTR(a, b));
  CHECK(RVM_OFFSET_EQL_ZERO(RVM_MK_OFFSET(0, 0)));
  CHECK(RVM_OFFSET_TO_LENGTH(RVM_LENGTH_TO_OFFSET(77)) == 77);
}

TEST_CASE("initialize and terminate follow the original's rules") {
  TempDir dir;
  std::string log = dir.File("log");
  REQUIRE(RunInChild([&] {
            CHILD_REQUIRE(rvm_page_size() == 0);  // 0 until initialized
            CHILD_RC(rvm_terminate(), RVM_EINIT);
            rvm_tid_t tid;
            rvm_init_tid(&tid);
            CHILD_RC(rvm_begin_transaction(nullptr, restore), RVM_EINIT);
            CHILD_RC(rvm_flush(), RVM_EINIT);
            CHILD_RC(rvm_truncate(), RVM_EINIT);
            rvm_offset_t len = RVM_MK_OFFSET(0, 65536);
            rvm_options_t* o = rvm_malloc_options();
            o->log_dev = const_cast<char*>(log.c_str());
            CHILD_RC(rvm_create_log(o, &len, 0600), RVM_EINIT);
            CHILD_RC(rvm_initialize("RVM Interface Version 1.2", nullptr), RVM_EVERSION_SKEW);
            rvm_options_t bad;
            std::memset(&bad, 0, sizeof(bad));
            CHILD_RC(rvm_initialize(RVM_VERSION, &bad), RVM_EOPTIONS);
            CHILD_RC(RVM_INIT(nullptr), RVM_SUCCESS);
            CHILD_RC(RVM_INIT(nullptr), RVM_SUCCESS);  // twice is fine
            CHILD_REQUIRE(rvm_page_size() == static_cast<rvm_length_t>(sysconf(_SC_PAGESIZE)));
            CHILD_REQUIRE(rvm_page_mask() == ~(rvm_page_size() - 1));
            // No log yet: transactions and mapping need one.
            CHILD_RC(rvm_begin_transaction(&tid, restore), RVM_ELOG);
            rvm_region_t* r = rvm_malloc_region();
            r->data_dev = const_cast<char*>("/nonexistent");
            CHILD_RC(rvm_map(r, nullptr), RVM_ELOG);
            CHILD_RC(rvm_create_log(nullptr, &len, 0600), RVM_EOPTIONS);
            CHILD_RC(rvm_create_log(o, &len, 0600), RVM_SUCCESS);
            CHILD_RC(rvm_create_log(o, &len, 0600), RVM_ELOG);  // exists
            struct stat st;
            CHILD_REQUIRE(::stat(log.c_str(), &st) == 0);
            CHILD_REQUIRE(st.st_size == 8192 + 65536);
            CHILD_REQUIRE((st.st_mode & 0777) == 0600);
            CHILD_RC(rvm_set_options(nullptr), RVM_EOPTIONS);
            CHILD_RC(rvm_set_options(o), RVM_SUCCESS);
            CHILD_RC(rvm_begin_transaction(&tid, static_cast<rvm_mode_t>(123)), RVM_EMODE);
            CHILD_RC(rvm_begin_transaction(nullptr, restore), RVM_ETID);
            CHILD_RC(rvm_begin_transaction(&tid, restore), RVM_SUCCESS);
            CHILD_RC(rvm_terminate(), RVM_EUNCOMMIT);
            CHILD_RC(rvm_end_transaction(&tid, flush), RVM_SUCCESS);
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);  // twice is fine
            CHILD_RC(RVM_INIT(nullptr), RVM_EINIT);  // no restart
            CHILD_RC(rvm_begin_transaction(&tid, restore), RVM_EINIT);
            rvm_free_options(o);
          }) == 0);
}

TEST_CASE("a log created through the options at initialize, and a foreign file is no log") {
  TempDir dir;
  std::string log = dir.File("log"), junk = dir.File("junk"), coda = dir.File("coda");
  MakeFile(junk, 20000, 0x11);
  {
    std::string hdr(20000, '\0');
    std::memcpy(hdr.data() + 8, RVM_VERSION, sizeof(RVM_VERSION));
    FILE* f = std::fopen(coda.c_str(), "wb");
    REQUIRE(f);
    std::fwrite(hdr.data(), 1, hdr.size(), f);
    std::fclose(f);
  }
  REQUIRE(RunInChild([&] { InitWithNewLog(log, 1 << 16); }) == 0);
  CHECK(ReadFile(log).size() == 8192 + (1 << 16));
  REQUIRE(RunInChild([&] {
            rvm_options_t* o = rvm_malloc_options();
            o->log_dev = const_cast<char*>(junk.c_str());
            CHILD_RC(RVM_INIT(o), RVM_ELOG);
            o->log_dev = const_cast<char*>(coda.c_str());
            CHILD_RC(RVM_INIT(o), RVM_ELOG_VERSION_SKEW);
            o->log_dev = const_cast<char*>(log.c_str());
            o->create_log_file = rvm_true;  // exists already
            o->create_log_size = RVM_MK_OFFSET(0, 1 << 16);
            CHILD_RC(RVM_INIT(o), RVM_ELOG);
            o->create_log_file = rvm_false;
            std::string longname(MAXPATHLEN + 5, 'a');
            o->log_dev = longname.data();
            CHILD_RC(RVM_INIT(o), RVM_ENAME_TOO_LONG);
            o->log_dev = const_cast<char*>(log.c_str());
            CHILD_RC(RVM_INIT(o), RVM_SUCCESS);
            std::string other = log + "2";
            rvm_offset_t len = RVM_MK_OFFSET(0, 65536);
            o->log_dev = other.data();
            CHILD_RC(rvm_create_log(o, &len, 0600), RVM_SUCCESS);
            CHILD_RC(rvm_set_options(o), RVM_ELOG);  // one log per process
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
}

TEST_CASE("rvm_map: placement, length rules and its errors") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg"), odd = dir.File("odd");
  MakeFile(seg, 8 * 4096, 'a');
  MakeFile(odd, 10000, 'b');
  REQUIRE(RunInChild([&] {
            InitWithNewLog(log, 1 << 16);
            const rvm_length_t ps = rvm_page_size();
            CHILD_RC(rvm_map(nullptr, nullptr), RVM_EREGION);
            rvm_region_t bad;
            std::memset(&bad, 0, sizeof(bad));
            CHILD_RC(rvm_map(&bad, nullptr), RVM_EREGION);
            // Length 0: to the end of the segment, chopped to 512 bytes.
            rvm_region_t* r = MapAll(odd);
            CHILD_REQUIRE(r->length == 9728);
            CHILD_REQUIRE(r->vmaddr != nullptr);
            CHILD_REQUIRE((reinterpret_cast<uintptr_t>(r->vmaddr) & (ps - 1)) == 0);
            CHILD_REQUIRE(r->vmaddr[0] == 'b' && r->vmaddr[9727] == 'b');
            // Same segment range again: EOVERLAP.
            rvm_region_t* r2 = rvm_malloc_region();
            r2->data_dev = const_cast<char*>(odd.c_str());
            CHILD_RC(rvm_map(r2, nullptr), RVM_EOVERLAP);
            CHILD_REQUIRE(r2->vmaddr == nullptr);  // descriptor restored on error
            // Caller memory not registered with RVM: ERANGE.
            void* plain =
                mmap(nullptr, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            rvm_region_t* r3 = rvm_malloc_region();
            r3->data_dev = const_cast<char*>(seg.c_str());
            r3->length = 2 * ps;
            r3->vmaddr = static_cast<char*>(plain);
            CHILD_RC(rvm_map(r3, nullptr), RVM_ERANGE);
            r3->vmaddr = static_cast<char*>(plain) + 1;
            CHILD_RC(rvm_map(r3, nullptr), RVM_ERANGE);  // not page aligned
            // Registered memory overlapping a mapped region: EVM_OVERLAP.
            r3->vmaddr = r->vmaddr;
            CHILD_RC(rvm_map(r3, nullptr), RVM_EVM_OVERLAP);
            // Registered caller memory works; offset and length rounded to pages.
            CHILD_REQUIRE(rvm_register_page(static_cast<char*>(plain), 4 * ps) == rvm_true);
            CHILD_REQUIRE(rvm_register_page(static_cast<char*>(plain), ps) == rvm_false);
            r3->vmaddr = static_cast<char*>(plain);
            r3->offset = RVM_MK_OFFSET(0, ps + 10);
            r3->length = 100;
            CHILD_RC(rvm_map(r3, nullptr), RVM_SUCCESS);
            CHILD_REQUIRE(r3->offset.low == ps);
            CHILD_REQUIRE(r3->length == ps);
            // Offset beyond the segment: EOFFSET.
            rvm_region_t* r4 = rvm_malloc_region();
            r4->data_dev = const_cast<char*>(seg.c_str());
            r4->offset = RVM_MK_OFFSET(0, 100 * ps);
            CHILD_RC(rvm_map(r4, nullptr), RVM_EOFFSET);
            r4->offset = RVM_MK_OFFSET(1, 0);
            CHILD_RC(rvm_map(r4, nullptr), RVM_EOFFSET);
            // A missing segment file is an I/O error.
            r4->offset = RVM_MK_OFFSET(0, 0);
            std::string missing = dir.File("missing");
            r4->data_dev = missing.data();
            CHILD_RC(rvm_map(r4, nullptr), RVM_EIO);
            // Pager option: not supported, as in the original.
            rvm_options_t* po = rvm_malloc_options();
            po->pager = const_cast<char*>("pager");
            CHILD_RC(rvm_map(r4, po), RVM_EPAGER);
            rvm_free_options(po);
            // Unmap errors.
            rvm_region_t u = *r;
            u.length = 100;
            CHILD_RC(rvm_unmap(&u), RVM_ERANGE);
            u.vmaddr = static_cast<char*>(plain) + 64 * ps;
            CHILD_RC(rvm_unmap(&u), RVM_ENOT_MAPPED);
            CHILD_RC(rvm_unmap(nullptr), RVM_EREGION);
            rvm_tid_t tid;
            rvm_init_tid(&tid);
            CHILD_RC(rvm_begin_transaction(&tid, restore), RVM_SUCCESS);
            CHILD_RC(rvm_set_range(&tid, r->vmaddr, 10), RVM_SUCCESS);
            CHILD_RC(rvm_unmap(r), RVM_EUNCOMMIT);
            CHILD_RC(rvm_abort_transaction(&tid), RVM_SUCCESS);
            CHILD_RC(rvm_unmap(r), RVM_SUCCESS);
            CHILD_RC(rvm_unmap(r3), RVM_SUCCESS);
            CHILD_RC(rvm_unmap(r3), RVM_ENOT_MAPPED);
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
}

TEST_CASE("transactions: commit, abort with restore, no_restore, error codes") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg");
  MakeFile(seg, 4 * 4096, 0);
  REQUIRE(RunInChild([&] {
            InitWithNewLog(log, 1 << 16);
            rvm_region_t* r = MapAll(seg);
            char* m = r->vmaddr;
            rvm_tid_t t;
            rvm_init_tid(&t);
            CHILD_RC(rvm_abort_transaction(nullptr), RVM_ETID);
            CHILD_RC(rvm_abort_transaction(&t), RVM_ETID);  // never begun
            CHILD_RC(rvm_end_transaction(&t, flush), RVM_ETID);
            CHILD_RC(rvm_set_range(&t, m, 1), RVM_ETID);
            // Restore mode: abort puts old values back, in reverse order.
            CHILD_RC(rvm_begin_transaction(&t, restore), RVM_SUCCESS);
            CHILD_RC(rvm_set_range(&t, m + 10, 20), RVM_SUCCESS);
            std::memset(m + 10, 'x', 20);
            CHILD_RC(rvm_set_range(&t, m + 15, 20), RVM_SUCCESS);
            std::memset(m + 15, 'y', 20);
            const char src[] = "modify";
            CHILD_RC(rvm_modify_bytes(&t, m + 100, src, 6), RVM_SUCCESS);
            CHILD_REQUIRE(std::memcmp(m + 100, "modify", 6) == 0);
            CHILD_RC(rvm_abort_transaction(&t), RVM_SUCCESS);
            for (int i = 0; i < 200; i++) CHILD_REQUIRE(m[i] == 0);
            CHILD_RC(rvm_abort_transaction(&t), RVM_ETID);
            // Ranges outside the region.
            CHILD_RC(rvm_begin_transaction(&t, restore), RVM_SUCCESS);
            CHILD_RC(rvm_set_range(&t, m + r->length - 4, 8), RVM_ENOT_MAPPED);
            CHILD_RC(rvm_set_range(&t, m - 4096, 8), RVM_ENOT_MAPPED);
            CHILD_RC(rvm_set_range(&t, m + r->length, 0), RVM_SUCCESS);  // ignored
            CHILD_RC(rvm_end_transaction(&t, static_cast<rvm_mode_t>(456)), RVM_EMODE);
            CHILD_RC(rvm_end_transaction(&t, flush), RVM_SUCCESS);  // null transaction
            CHILD_RC(rvm_end_transaction(&t, flush), RVM_ETID);     // second end
            // Commit then check the segment after truncation.
            CHILD_RC(rvm_begin_transaction(&t, no_restore), RVM_SUCCESS);
            CHILD_RC(rvm_set_range(&t, m + 4096, 5), RVM_SUCCESS);
            std::memcpy(m + 4096, "hello", 5);
            CHILD_RC(rvm_end_transaction(&t, flush), RVM_SUCCESS);
            // no_restore abort leaves memory as it is.
            CHILD_RC(rvm_begin_transaction(&t, no_restore), RVM_SUCCESS);
            CHILD_RC(rvm_set_range(&t, m + 8192, 3), RVM_SUCCESS);
            std::memcpy(m + 8192, "abc", 3);
            CHILD_RC(rvm_abort_transaction(&t), RVM_SUCCESS);
            CHILD_REQUIRE(std::memcmp(m + 8192, "abc", 3) == 0);
            CHILD_RC(rvm_truncate(), RVM_SUCCESS);
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
  std::string data = ReadFile(seg);
  CHECK(data.substr(4096, 5) == "hello");
  CHECK(data.substr(8192, 3) == std::string(3, '\0'));  // aborted: not in the segment
}

TEST_CASE("zero-length ranges without optimizations do not leak an uncommitted count") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg");
  MakeFile(seg, 4096, 0);
  REQUIRE(RunInChild([&] {
            InitWithNewLog(log, 1 << 16, 0, 0);
            rvm_region_t* r = MapAll(seg);
            rvm_tid_t t;
            rvm_init_tid(&t);
            CHILD_RC(rvm_begin_transaction(&t, restore), RVM_SUCCESS);
            CHILD_RC(rvm_set_range(&t, r->vmaddr, 0), RVM_SUCCESS);
            CHILD_RC(rvm_end_transaction(&t, flush), RVM_SUCCESS);
            CHILD_RC(rvm_unmap(r), RVM_SUCCESS);  // the original says RVM_EUNCOMMIT forever
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
}

TEST_CASE("no_flush commits are written by rvm_flush or a later flush commit, in order") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg");
  MakeFile(seg, 4 * 4096, 0);
  REQUIRE(RunInChild([&] {
            InitWithNewLog(log, 1 << 20, 0, 0);
            rvm_region_t* r = MapAll(seg);
            rvm_tid_t t;
            rvm_init_tid(&t);
            for (int i = 0; i < 10; i++) {
              CHILD_RC(rvm_begin_transaction(&t, no_restore), RVM_SUCCESS);
              CHILD_RC(rvm_set_range(&t, r->vmaddr, 8), RVM_SUCCESS);
              std::snprintf(r->vmaddr, 8, "v%06d", i);
              CHILD_RC(rvm_end_transaction(&t, no_flush), RVM_SUCCESS);
            }
            rvm_statistics_t* st = rvm_malloc_statistics();
            CHILD_RC(RVM_STATISTICS(st), RVM_SUCCESS);
            CHILD_REQUIRE(st->n_no_flush == 10);
            CHILD_REQUIRE(st->n_no_flush_commit == 10);
            CHILD_REQUIRE(RVM_OFFSET_TO_LENGTH(st->no_flush_length) > 0);
            CHILD_REQUIRE(RVM_OFFSET_TO_LENGTH(st->log_written) == 0);
            CHILD_RC(rvm_flush(), RVM_SUCCESS);
            CHILD_RC(RVM_STATISTICS(st), RVM_SUCCESS);
            CHILD_REQUIRE(st->n_no_flush == 0);
            CHILD_REQUIRE(RVM_OFFSET_TO_LENGTH(st->no_flush_length) == 0);
            CHILD_REQUIRE(RVM_OFFSET_TO_LENGTH(st->log_written) > 0);
            CHILD_REQUIRE(st->n_rvm_flush == 1);
            rvm_free_statistics(st);
            _exit(0);  // crash: nothing truncated
          }) == 0);
  CHECK(ReadFile(seg).substr(0, 7) == std::string(7, '\0'));
  // Recovery applies the flushed transactions; the last one wins.
  REQUIRE(RunInChild([&] {
            InitWithLog(log);
            rvm_region_t* r = MapAll(seg);
            CHILD_REQUIRE(std::string(r->vmaddr, 7) == "v000009");
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
}

TEST_CASE("coalescing: overlapping ranges and queued transactions merge") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg");
  MakeFile(seg, 4 * 4096, 0);
  REQUIRE(RunInChild([&] {
            InitWithNewLog(log, 1 << 20, 0, RVM_ALL_OPTIMIZATIONS);
            rvm_region_t* r = MapAll(seg);
            rvm_tid_t t;
            rvm_init_tid(&t);
            CHILD_RC(rvm_begin_transaction(&t, restore), RVM_SUCCESS);
            for (int i = 0; i < 50; i++)
              CHILD_RC(rvm_set_range(&t, r->vmaddr + i, 10), RVM_SUCCESS);
            std::memset(r->vmaddr, 'q', 59);
            CHILD_RC(rvm_end_transaction(&t, no_flush), RVM_SUCCESS);
            for (int i = 0; i < 5; i++) {
              CHILD_RC(rvm_begin_transaction(&t, no_restore), RVM_SUCCESS);
              CHILD_RC(rvm_set_range(&t, r->vmaddr + 1000, 100), RVM_SUCCESS);
              std::memset(r->vmaddr + 1000, 'a' + i, 100);
              CHILD_RC(rvm_end_transaction(&t, i == 4 ? flush : no_flush), RVM_SUCCESS);
            }
            rvm_statistics_t st;
            rvm_init_statistics(&st);
            CHILD_RC(RVM_STATISTICS(&st), RVM_SUCCESS);
            CHILD_REQUIRE(st.n_range_elim == 49);
            CHILD_REQUIRE(st.n_trans_coalesced == 5);
            CHILD_REQUIRE(st.n_flush == 1);  // one log write for all six
            CHILD_RC(rvm_truncate(), RVM_SUCCESS);
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
  std::string d = ReadFile(seg);
  CHECK(d.substr(0, 59) == std::string(59, 'q'));
  CHECK(d[59] == '\0');
  CHECK(d.substr(1000, 100) == std::string(100, 'e'));
}

TEST_CASE("a transaction larger than the log is RVM_ETOO_BIG and stays abortable") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg");
  MakeFile(seg, 16 * 4096, 0);
  REQUIRE(RunInChild([&] {
            InitWithNewLog(log, 8192);
            rvm_region_t* r = MapAll(seg);
            rvm_tid_t t;
            rvm_init_tid(&t);
            CHILD_RC(rvm_begin_transaction(&t, restore), RVM_SUCCESS);
            CHILD_RC(rvm_set_range(&t, r->vmaddr, 3 * 4096), RVM_SUCCESS);
            std::memset(r->vmaddr, 1, 3 * 4096);
            CHILD_RC(rvm_end_transaction(&t, flush), RVM_ETOO_BIG);
            CHILD_RC(rvm_abort_transaction(&t), RVM_SUCCESS);
            CHILD_REQUIRE(r->vmaddr[0] == 0);
            // Many transactions through a small log: truncation makes room.
            for (int i = 0; i < 200; i++) {
              CHILD_RC(rvm_begin_transaction(&t, no_restore), RVM_SUCCESS);
              CHILD_RC(rvm_set_range(&t, r->vmaddr + (i % 16) * 4096, 1000), RVM_SUCCESS);
              std::memset(r->vmaddr + (i % 16) * 4096, i, 1000);
              CHILD_RC(rvm_end_transaction(&t, i % 3 ? no_flush : flush), RVM_SUCCESS);
            }
            CHILD_RC(rvm_flush(), RVM_SUCCESS);
            rvm_statistics_t st;
            rvm_init_statistics(&st);
            CHILD_RC(RVM_STATISTICS(&st), RVM_SUCCESS);
            CHILD_REQUIRE(st.tot_sync_truncation > 0);
            CHILD_REQUIRE(st.n_wrap > 0);
            _exit(0);
          }) == 0);
  REQUIRE(RunInChild([&] {
            InitWithLog(log);
            rvm_region_t* r = MapAll(seg);
            for (int i = 184; i < 200; i++)
              CHILD_REQUIRE(r->vmaddr[(i % 16) * 4096 + 999] == static_cast<char>(i));
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
}

TEST_CASE("rvm_query: log name, uncommitted transactions, flags") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg"), seg2 = dir.File("seg2");
  MakeFile(seg, 4096, 0);
  MakeFile(seg2, 4096, 0);
  REQUIRE(RunInChild([&] {
            InitWithNewLog(log, 1 << 16, 30, RVM_COALESCE_TRANS | RVM_MAP_PRIVATE);
            rvm_region_t* r = MapAll(seg);
            rvm_region_t* r2 = MapAll(seg2);
            CHILD_RC(rvm_query(nullptr, nullptr), RVM_EOPTIONS);
            rvm_options_t q;
            rvm_init_options(&q);
            char name[MAXPATHLEN];
            name[0] = 0;
            q.log_dev = name;
            rvm_region_t badr;
            std::memset(&badr, 0, sizeof(badr));
            CHILD_RC(rvm_query(&q, &badr), RVM_EREGION);
            CHILD_RC(rvm_query(&q, nullptr), RVM_SUCCESS);
            CHILD_REQUIRE(std::string(name).find("/log") != std::string::npos);
            CHILD_REQUIRE(q.truncate == 30);
            CHILD_REQUIRE(q.n_uncommit == 0);
            CHILD_REQUIRE(q.flags == (RVM_COALESCE_TRANS | RVM_COALESCE_RANGES | RVM_MAP_PRIVATE));
            CHILD_REQUIRE(q.log_empty == rvm_true);
            rvm_tid_t a, b, c;
            rvm_init_tid(&a);
            rvm_init_tid(&b);
            rvm_init_tid(&c);
            CHILD_RC(rvm_begin_transaction(&a, restore), RVM_SUCCESS);
            CHILD_RC(rvm_begin_transaction(&b, restore), RVM_SUCCESS);
            CHILD_RC(rvm_begin_transaction(&c, restore), RVM_SUCCESS);
            CHILD_RC(rvm_set_range(&a, r->vmaddr, 4), RVM_SUCCESS);
            r->vmaddr[0] = 'Z';
            CHILD_RC(rvm_set_range(&b, r2->vmaddr, 4), RVM_SUCCESS);
            CHILD_RC(rvm_query(&q, r), RVM_SUCCESS);
            CHILD_REQUIRE(q.n_uncommit == 1);
            CHILD_REQUIRE(q.tid_array[0].tid == a.tid);
            CHILD_RC(rvm_query(&q, nullptr), RVM_SUCCESS);
            CHILD_REQUIRE(q.n_uncommit == 4);  // grows from the caller's value
            // Coda's server aborts every uncommitted tid from the array.
            for (long i = 1; i < q.n_uncommit; i++)
              CHILD_RC(rvm_abort_transaction(&q.tid_array[i]), RVM_SUCCESS);
            CHILD_REQUIRE(r->vmaddr[0] == 0);
            CHILD_RC(rvm_abort_transaction(&a), RVM_ETID);
            std::free(q.tid_array);
            rvm_region_t nm = *r;
            nm.vmaddr = r->vmaddr + 64 * 4096;
            CHILD_RC(rvm_query(&q, &nm), RVM_ENOT_MAPPED);
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
}

TEST_CASE("rvm_statistics and rvm_print_statistics") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg"), out = dir.File("stats.txt");
  MakeFile(seg, 4096, 0);
  REQUIRE(RunInChild([&] {
            rvm_statistics_t st;
            rvm_init_statistics(&st);
            CHILD_RC(RVM_STATISTICS(&st), RVM_EINIT);
            CHILD_RC(RVM_INIT(nullptr), RVM_SUCCESS);
            CHILD_RC(RVM_STATISTICS(&st), RVM_ELOG);
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
  REQUIRE(RunInChild([&] {
            InitWithNewLog(log, 1 << 16);
            rvm_region_t* r = MapAll(seg);
            rvm_statistics_t st;
            rvm_init_statistics(&st);
            CHILD_RC(rvm_statistics("RVM Statistics Version 1.0", &st), RVM_ESTAT_VERSION_SKEW);
            CHILD_RC(RVM_STATISTICS(nullptr), RVM_ESTATISTICS);
            rvm_statistics_t bad;
            std::memset(&bad, 0, sizeof(bad));
            CHILD_RC(RVM_STATISTICS(&bad), RVM_ESTATISTICS);
            rvm_tid_t t;
            rvm_init_tid(&t);
            for (int i = 0; i < 3; i++) {
              CHILD_RC(rvm_begin_transaction(&t, restore), RVM_SUCCESS);
              CHILD_RC(rvm_set_range(&t, r->vmaddr, 100), RVM_SUCCESS);
              CHILD_RC(rvm_end_transaction(&t, flush), RVM_SUCCESS);
            }
            CHILD_RC(rvm_begin_transaction(&t, restore), RVM_SUCCESS);
            CHILD_RC(rvm_abort_transaction(&t), RVM_SUCCESS);
            CHILD_RC(rvm_begin_transaction(&t, restore), RVM_SUCCESS);
            CHILD_RC(RVM_STATISTICS(&st), RVM_SUCCESS);
            CHILD_REQUIRE(st.n_flush_commit == 3);
            CHILD_REQUIRE(st.n_abort == 1);
            CHILD_REQUIRE(st.n_uncommit == 1);
            CHILD_REQUIRE(st.n_flush == 3);
            CHILD_REQUIRE(st.n_special == 1);  // one segment dictionary record
            CHILD_REQUIRE(RVM_OFFSET_TO_LENGTH(st.log_written) > 300);
            CHILD_REQUIRE(st.range_lengths[6] == 3);  // 100 bytes: the bucket up to 128
            CHILD_RC(rvm_abort_transaction(&t), RVM_SUCCESS);
            FILE* f = std::fopen(out.c_str(), "w");
            CHILD_RC(rvm_print_statistics(&st, f), RVM_SUCCESS);
            std::fclose(f);
            CHILD_RC(rvm_print_statistics(&bad, stdout), RVM_ESTATISTICS);
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
  CHECK(ReadFile(out).find("flush commits") != std::string::npos);
}

TEST_CASE("RVM_MAP_PRIVATE maps the segment privately and commits reach the file") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg");
  MakeFile(seg, 4 * 4096, 'p');
  REQUIRE(RunInChild([&] {
            InitWithNewLog(log, 1 << 16, 0, RVM_MAP_PRIVATE);
            rvm_region_t* r = MapAll(seg);
            CHILD_REQUIRE(r->length == 4 * 4096);
            CHILD_REQUIRE(r->vmaddr[5] == 'p');
            rvm_tid_t t;
            rvm_init_tid(&t);
            CHILD_RC(rvm_begin_transaction(&t, restore), RVM_SUCCESS);
            CHILD_RC(rvm_set_range(&t, r->vmaddr + 4096, 4), RVM_SUCCESS);
            std::memcpy(r->vmaddr + 4096, "priv", 4);
            CHILD_RC(rvm_end_transaction(&t, flush), RVM_SUCCESS);
            CHILD_RC(rvm_begin_transaction(&t, restore), RVM_SUCCESS);
            CHILD_RC(rvm_set_range(&t, r->vmaddr + 8192, 4), RVM_SUCCESS);
            std::memcpy(r->vmaddr + 8192, "lost", 4);  // uncommitted, private: never in the file
            _exit(0);
          }) == 0);
  std::string d = ReadFile(seg);
  CHECK(d.substr(8192, 4) == "pppp");
  CHECK(d.substr(4096, 4) == "pppp");  // still only in the log
  REQUIRE(RunInChild([&] {
            InitWithLog(log, 0, RVM_MAP_PRIVATE);
            rvm_region_t* r = MapAll(seg);
            CHILD_REQUIRE(std::memcmp(r->vmaddr + 4096, "priv", 4) == 0);
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
  CHECK(ReadFile(seg).substr(4096, 4) == "priv");
}

TEST_CASE("background truncation past the threshold applies the log") {
  TempDir dir;
  std::string log = dir.File("log"), seg = dir.File("seg");
  MakeFile(seg, 16 * 4096, 0);
  REQUIRE(RunInChild([&] {
            InitWithNewLog(log, 1 << 16, 20);
            rvm_region_t* r = MapAll(seg);
            rvm_tid_t t;
            rvm_init_tid(&t);
            for (int i = 0; i < 100; i++) {
              CHILD_RC(rvm_begin_transaction(&t, no_restore), RVM_SUCCESS);
              CHILD_RC(rvm_set_range(&t, r->vmaddr + i * 512, 512), RVM_SUCCESS);
              std::memset(r->vmaddr + i * 512, 'T', 512);
              CHILD_RC(rvm_end_transaction(&t, flush), RVM_SUCCESS);
            }
            rvm_statistics_t st;
            rvm_init_statistics(&st);
            for (int i = 0; i < 500; i++) {
              CHILD_RC(RVM_STATISTICS(&st), RVM_SUCCESS);
              if (st.tot_async_truncation > 0) break;
              usleep(10000);
            }
            CHILD_REQUIRE(st.tot_async_truncation > 0);
            CHILD_RC(rvm_terminate(), RVM_SUCCESS);
          }) == 0);
  std::string d = ReadFile(seg);
  CHECK(d[0] == 'T');  // at least the first part reached the segment
}
