// Helpers shared by the disk_writer tests: a temporary directory, file
// reading, deterministic byte patterns appended through a DiskWriter, and
// whether io_uring works here.
#pragma once

#include <fcntl.h>
#include <liburing.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "disk_writer/disk_writer.h"

namespace rvmr::test {

// A fresh directory under /tmp, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/rvm_disk_writer_XXXXXX";
    char* p = ::mkdtemp(tmpl);
    if (p != nullptr) path_ = p;
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The whole file, or empty if it cannot be read.
inline std::vector<char> ReadFile(const std::string& path) {
  std::vector<char> out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[65536];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r <= 0) break;
    out.insert(out.end(), buf, buf + r);
  }
  ::close(fd);
  return out;
}

// The byte of the test stream at logical offset l (a function of l alone, so
// any range can be checked without keeping what was appended).
inline char PatternByte(uint64_t l) {
  uint64_t x = l * 0x9E3779B97F4A7C15ull;
  return static_cast<char>((x >> 29) ^ (l >> 8));
}

inline std::vector<char> Pattern(uint64_t from, size_t n) {
  std::vector<char> v(n);
  for (size_t i = 0; i < n; i++) v[i] = PatternByte(from + i);
  return v;
}

// Whether v[from, to) all equal c (false if v is shorter).
inline bool Filled(const std::vector<char>& v, size_t from, size_t to, char c) {
  if (v.size() < to) return false;
  for (size_t i = from; i < to; i++) {
    if (v[i] != c) return false;
  }
  return true;
}

// Whether v[at, at + n) holds the pattern bytes [from, from + n).
inline bool HoldsPattern(const std::vector<char>& v, size_t at, uint64_t from, size_t n) {
  if (v.size() < at + n) return false;
  for (size_t i = 0; i < n; i++) {
    if (v[at + i] != PatternByte(from + i)) return false;
  }
  return true;
}

// Appends Pattern bytes [from, from + n) in pieces of `piece` bytes.
inline void AppendPattern(rvmr::DiskWriter* w, uint64_t from, size_t n, size_t piece) {
  for (size_t done = 0; done < n;) {
    size_t k = std::min(piece, n - done);
    std::vector<char> p = Pattern(from + done, k);
    uint64_t end = 0;
    REQUIRE(w->Append(p.data(), k, &end).ok());
    REQUIRE(end == from + done + k);
    done += k;
  }
}

// Whether io_uring_queue_init works in this process.
inline bool IoUringWorks() {
  struct io_uring ring;
  if (io_uring_queue_init(4, &ring, 0) < 0) return false;
  io_uring_queue_exit(&ring);
  return true;
}

}  // namespace rvmr::test
