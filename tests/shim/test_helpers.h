// Helpers for the shim tests: a temporary directory and an in-memory log.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "shim/log_source.h"

namespace rvmr::testing {

// A fresh mkdtemp directory under /tmp, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/shim-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A circular area held in memory, written like LocalSink writes the file.
class MemLog : public log::LogSource {
 public:
  explicit MemLog(uint64_t size) : bytes_(size, '\0') {}
  void Write(uint64_t offset, const std::string& data) {
    for (size_t i = 0; i < data.size(); i++) bytes_[(offset + i) % bytes_.size()] = data[i];
  }
  char& At(uint64_t offset) { return bytes_[offset % bytes_.size()]; }
  Status Read(uint64_t offset, void* dst, size_t n) override {
    char* d = static_cast<char*>(dst);
    for (size_t i = 0; i < n; i++) d[i] = bytes_[(offset + i) % bytes_.size()];
    return Status::Ok();
  }
  uint64_t area_size() const override { return bytes_.size(); }

 private:
  std::string bytes_;
};

}  // namespace rvmr::testing
