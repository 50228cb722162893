// rdsinit and rvmutl driven the way setup scripts drive them
// (vice-setup-rvm, run_basher.sh): arguments, stdin answers, output.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "seg_rds_test_util.h"

using namespace segtest;

namespace {

struct Run {
  int status;
  std::string out;  // stdout and stderr together
};

// Runs a shell command line in `dir`, feeding `input` to its stdin.
Run Shell(const std::string& dir, const std::string& cmd, const std::string& input) {
  const std::string in_file = dir + "/.stdin";
  {
    FILE* f = fopen(in_file.c_str(), "w");
    fwrite(input.data(), 1, input.size(), f);
    fclose(f);
  }
  std::string full = "cd '" + dir + "' && " + cmd + " < '" + in_file + "' 2>&1";
  FILE* p = popen(full.c_str(), "r");
  Run r{-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  r.status = pclose(p);
  return r;
}

bool Contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

off_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

const std::string kRdsinit = RDSINIT_PATH;
const std::string kRvmutl = RVMUTL_PATH;

[[maybe_unused]] size_t kPageForTools() {
  return static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// Creates LOG with rvmutl when available, else through librvm in a child.
void MakeLog(const ScratchDir& dir, const std::string& name) {
  if (!kRvmutl.empty()) {
    Run r = Shell(dir.path(), kRvmutl, "i " + name + " 2M\nq\n");
    REQUIRE(r.status == 0);
  } else {
    REQUIRE(ExitedOk(RunChild([&] {
      InitRvm(dir.file(name));
      rvm_terminate();
    })));
  }
}

}  // namespace

TEST_CASE("rdsinit -f builds the data segment run_basher.sh asks for", "[tools]") {
  ScratchDir dir;
  MakeLog(dir, "basher_log");
  Run r = Shell(dir.path(),
                kRdsinit + " -f basher_log basher_data 51208192 0x50000000 25600000 25600000 80 64",
                "");
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK(Contains(r.out, "rvm_initialize succeeded."));
  CHECK(Contains(r.out, "rds_zap_heap completed successfully."));
  CHECK(Contains(r.out, "rvm_terminate succeeded."));
  CHECK(FileSize(dir.file("basher_data")) == 51208192);
  std::string hdr = ReadBytes(dir.file("basher_data"), 0, 200);
  CHECK(std::string(hdr.data() + 4) == "RVM Segment Loader Release 0.1  15 Nov. 1990");
  CHECK(std::string(ReadBytes(dir.file("basher_data"), 4096, 80).c_str()) ==
        "Dynamic Allocator Using Rvm Release 0.1 1 Dec 1990");
  // The heap loads and is sound.
  REQUIRE(ExitedOk(RunChild([&] {
    InitRvm(dir.file("basher_log"));
    char* statics = nullptr;
    int err = -100;
    rds_load_heap(const_cast<char*>(dir.file("basher_data").c_str()), RVM_MK_OFFSET(0, 0), &statics,
                  &err);
    CHILD_EXPECT(err == SUCCESS);
    CHILD_EXPECT(statics == reinterpret_cast<char*>(0x50000000 + 25600000));
    HeapWalk w = WalkHeap(reinterpret_cast<char*>(0x50000000));
    CHILD_EXPECT(w.ok && w.free_blocks == 1 && w.alloc_blocks == 0);
    rvm_terminate();
  })));
}

TEST_CASE("rdsinit refuses bad parameters and wrong usage", "[tools]") {
  ScratchDir dir;
  MakeLog(dir, "log");
  SECTION("chunk below the minimum") {
    Run r = Shell(dir.path(), kRdsinit + " -f log data 1048576 0x50000000 262144 262144 80 32", "");
    CHECK(r.status != 0);
    CHECK(Contains(r.out, "? chucksize should be at least 40 bytes"));
    CHECK(Contains(r.out, "rdsinit quit.  No permanent change is made"));
    CHECK(FileSize(dir.file("data")) == -1);
  }
  SECTION("heap and statics larger than the segment") {
    Run r =
        Shell(dir.path(), kRdsinit + " -f log data 1048576 0x50000000 1048576 262144 80 64", "");
    CHECK(r.status != 0);
    CHECK(Contains(r.out, "rdsinit quit."));
  }
  SECTION("wrong argument count") {
    Run r = Shell(dir.path(), kRdsinit + " log data 1048576", "");
    CHECK(r.status != 0);
    CHECK(Contains(r.out, "Usage: rdsinit [-f] log data_seg"));
  }
  SECTION("missing log") {
    Run r =
        Shell(dir.path(), kRdsinit + " -f nolog data 1048576 0x50000000 262144 262144 80 64", "");
    CHECK(r.status != 0);
    CHECK(Contains(r.out, "?  rvm_initialize failed, code: "));
  }
}

TEST_CASE("rdsinit asks for and confirms every value without -f", "[tools]") {
  ScratchDir dir;
  MakeLog(dir, "log");
  SECTION("answers from stdin, with rounding") {
    Run r = Shell(dir.path(), kRdsinit + " log data",
                  "100000\ny\n0x50000000\ny\n8192\n\n8192\ny\n10\ny\n64\ny\ny\n");
    INFO(r.out);
    REQUIRE(r.status == 0);
    CHECK(Contains(r.out, "   ==> please enter length of data segment:"));
    CHECK(Contains(r.out, "Umm... not a multiple of 4096.  I need to round it"));
    CHECK(Contains(r.out, "up to 102400 (in hex 0x19000). Accept ? (y|n|q) "));
    CHECK(Contains(r.out, "You have entered 0x50000000 (in decimal 1342177280)."));
    CHECK(Contains(r.out, "   length of data segment:    0x19000 (    102400)"));
    CHECK(Contains(r.out, "Do you agree with these parameters ? (y|n|q) "));
    CHECK(FileSize(dir.file("data")) == 102400);
  }
  SECTION("command-line values shown for confirmation; q quits") {
    Run r = Shell(dir.path(), kRdsinit + " log data 1048576 0x50000000 262144 262144 80 64", "q\n");
    CHECK(r.status != 0);
    CHECK(Contains(r.out, "The following parameters are chosen:"));
    CHECK(Contains(r.out, "rdsinit quit.  No permanent change is made"));
    CHECK(FileSize(dir.file("data")) == -1);
  }
}

#ifdef HAVE_RVMUTL
TEST_CASE("rvmutl init_log from a pipe, as vice-setup-rvm runs it", "[tools]") {
  ScratchDir dir;
  Run r = Shell(dir.path(), kRvmutl, "i LOG 2M\nq\n");
  REQUIRE(r.status == 0);
  CHECK(r.out == "* * ");
  CHECK(FileSize(dir.file("LOG")) > 2 * 1024 * 1024);
  // Re-initializing an existing log works (the original truncates it).
  r = Shell(dir.path(), kRvmutl, "init_log LOG 1M\nquit\n");
  CHECK(r.status == 0);
  CHECK(FileSize(dir.file("LOG")) < 2 * 1024 * 1024);
  // Arguments may come on later lines, after prompts.
  r = Shell(dir.path(), kRvmutl, "init_log\nLOG2\n512K\nq\n");
  CHECK(r.status == 0);
  CHECK(Contains(r.out, "Enter name of log file or device:"));
  CHECK(Contains(r.out, "Enter length of log data area:"));
  CHECK(FileSize(dir.file("LOG2")) > 512 * 1024);
}

TEST_CASE("rvmutl interpreter: prefixes, errors, status, show, recover", "[tools]") {
  ScratchDir dir;
  REQUIRE(Shell(dir.path(), kRvmutl, "i log 1M\nq\n").status == 0);
  ZeroFile(dir.file("data"), 8 * kPageForTools());
  // A committed, not yet truncated transaction in the log.
  int child = RunChild([&] {
    InitRvm(dir.file("log"));
    std::string data = dir.file("data");
    rvm_region_t* region = rvm_malloc_region();
    region->data_dev = data.data();
    region->offset = RVM_MK_OFFSET(0, 0);
    region->length = 4 * kPageForTools();
    region->vmaddr = nullptr;
    CHILD_EXPECT(rvm_map(region, nullptr) == RVM_SUCCESS);
    rvm_tid_t* tid = rvm_malloc_tid();
    CHILD_EXPECT(rvm_begin_transaction(tid, restore) == RVM_SUCCESS);
    CHILD_EXPECT(rvm_set_range(tid, region->vmaddr + 10, 6) == RVM_SUCCESS);
    memcpy(region->vmaddr + 10, "abcdef", 6);
    CHILD_EXPECT(rvm_end_transaction(tid, flush) == RVM_SUCCESS);
    kill(getpid(), SIGKILL);  // no truncation: the record stays in the log
  });
  REQUIRE(WIFSIGNALED(child));
  Run r = Shell(dir.path(), kRvmutl + " log",
                "status\nshow all\nfoo\ns\nst\npeek 0\n# a comment\nsizeof rvm_tid_t\nrecover\n"
                "status\nq\n");
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK(Contains(r.out, "Status of log:"));
  CHECK(Contains(r.out, "record(s)"));
  CHECK(Contains(r.out, "transaction, lsn"));
  CHECK(Contains(r.out, "length 6"));
  CHECK(Contains(r.out, "? foo: command not found"));
  CHECK(Contains(r.out, "? s: ambiguous command: set or seg_dict?"));
  CHECK(Contains(r.out, "? st: ambiguous command: statistics or status?"));
  CHECK(Contains(r.out, "? peek: not supported"));
  CHECK(Contains(r.out, "rvm_tid_t            40"));
  CHECK(Contains(r.out, "log recovered: 0 record(s) remain"));
  CHECK(Contains(r.out, "log empty"));
  // recover applied the transaction to the data segment.
  CHECK(ReadBytes(dir.file("data"), 10, 6) == "abcdef");
  // End of input without quit ends the program normally.
  CHECK(Shell(dir.path(), kRvmutl + " log", "status\n").status == 0);
}

TEST_CASE("rvmutl on a log whose mirrors may hold more: warns; recover is refused", "[tools]") {
  ScratchDir dir;
  REQUIRE(Shell(dir.path(), kRvmutl, "i log 1M\nq\n").status == 0);
  const std::string no_mirrors = "env -u RVM_MIRRORS -u RVM_SHIM_CONFIG " + kRvmutl + " log";
  // A marker as the remote-mode writer leaves it when it did not close the
  // log (here in the one-line form of earlier versions: it means "open").
  {
    FILE* f = fopen(dir.file("log.remote").c_str(), "w");
    REQUIRE(f != nullptr);
    fputs("remote log 'coda-log'\n", f);
    fclose(f);
  }
  Run r = Shell(dir.path(), no_mirrors, "status\nrecover\nq\n");
  INFO(r.out);
  CHECK(r.status == 0);  // rvmutl's exit status says nothing about the log
  CHECK(Contains(r.out, "? warning: log log was used with mirrors"));
  CHECK(Contains(r.out, "marker log.remote says"));
  CHECK(Contains(r.out, "RVM_MIRRORS"));
  CHECK(Contains(r.out, "abandon_mirror_copy = yes"));
  CHECK(Contains(r.out, "Status of log:"));  // inspection goes on
  // recover runs rvm_initialize, which refuses such a log.
  CHECK(Contains(r.out, "refusing to open the log"));
  CHECK(Contains(r.out, "? recovery failed: RVM_ELOG"));
  // The refusal's reason is printed once: by the warning, not again by recover (issue 20).
  CHECK(r.out.find("marker log.remote says") == r.out.rfind("marker log.remote says"));
  CHECK(r.out.find("refusing to open the log") == r.out.rfind("refusing to open the log"));
  // Closed cleanly: nothing only the mirrors hold; no warning, recover works.
  {
    FILE* f = fopen(dir.file("log.remote").c_str(), "a");
    REQUIRE(f != nullptr);
    fputs("state = closed\n", f);
    fclose(f);
  }
  r = Shell(dir.path(), no_mirrors, "recover\nq\n");
  INFO(r.out);
  CHECK_FALSE(Contains(r.out, "warning"));
  CHECK(Contains(r.out, "log recovered"));
}
#endif
