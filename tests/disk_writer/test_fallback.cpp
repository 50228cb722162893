// DiskWriter where the kernel refuses io_uring: the test runs itself again
// in a child process whose seccomp filter fails io_uring_setup with EPERM
// (as container runtimes do), and checks that the child's writers fall back
// to pwritev + fdatasync, work, and say so exactly once on stderr.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "disk_writer/disk_writer.h"
#include "test_util.h"

extern char** environ;

using rvmr::DiskWriter;
using rvmr::DiskWriterOptions;
using rvmr::test::Pattern;
using rvmr::test::ReadFile;
using rvmr::test::TempDir;

namespace {

constexpr const char* kChildEnv = "RVM_DISK_WRITER_SECCOMP_CHILD";
constexpr const char* kCaseName = "DiskWriter falls back to pwritev when io_uring is refused";

// Makes io_uring_setup fail with EPERM in this process from now on.
bool RefuseIoUring() {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog;
  prog.len = sizeof(filter) / sizeof(filter[0]);
  prog.filter = filter;
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// The child's part: two writers without io_uring, both must work.
void RunChild() {
  REQUIRE(RefuseIoUring());
  REQUIRE_FALSE(rvmr::test::IoUringWorks());
  TempDir dir;
  for (int i = 0; i < 2; i++) {
    DiskWriterOptions o;
    o.path = dir.File("log" + std::to_string(i));
    o.area_size = 1 << 20;
    std::unique_ptr<DiskWriter> w;
    REQUIRE(DiskWriter::Open(o, &w).ok());
    REQUIRE_FALSE(w->stats().io_uring);
    std::vector<char> p = Pattern(0, 50000);
    uint64_t end = 0;
    REQUIRE(w->Append(p.data(), p.size(), &end).ok());
    REQUIRE(w->WaitDurable(end).ok());
    REQUIRE(w->Close().ok());
    std::vector<char> file = ReadFile(o.path);
    REQUIRE(file.size() == p.size());
    REQUIRE(rvmr::test::HoldsPattern(file, 0, 0, p.size()));
  }
}

}  // namespace

TEST_CASE(kCaseName, "[disk_writer][fallback]") {
  if (std::getenv(kChildEnv) != nullptr) {
    RunChild();
    return;
  }
  TempDir dir;
  std::string err_path = dir.File("stderr");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; e++) env_store.emplace_back(*e);
  env_store.push_back(std::string(kChildEnv) + "=1");
  std::vector<char*> envp;
  for (std::string& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe";
  std::string name = kCaseName;
  char* argv[] = {exe.data(), name.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  std::vector<char> err = ReadFile(err_path);
  std::string text(err.begin(), err.end());
  INFO("child stderr: " << text);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  const std::string line = "rvm: notice: disk writer: io_uring unavailable";
  size_t first = text.find(line);
  REQUIRE(first != std::string::npos);
  REQUIRE(text.find(line, first + 1) == std::string::npos);  // said once for two writers
  REQUIRE(text.find("Operation not permitted") != std::string::npos);
  REQUIRE(text.find("pwritev + fdatasync") != std::string::npos);
}
