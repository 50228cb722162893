// FdTable: which of the program's descriptors refer to designated logs.
// Lookups are cheap when no designated file is open (one atomic load).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "log_file.h"

namespace rvmr::preload {

struct FdEntry {
  std::shared_ptr<LogFile> file;
  bool sync = false;    // opened O_SYNC / O_DSYNC: every write is a sync point
  bool append = false;  // O_APPEND
};

class FdTable {
 public:
  // True if no descriptor is designated (racy hint for the fast path).
  bool Empty() const { return count_.load(std::memory_order_relaxed) == 0; }
  // Copies fd's entry into *out; false if fd is not designated.
  bool Get(int fd, FdEntry* out) const;
  // Designates fd (replacing any previous entry).
  void Put(int fd, FdEntry e);
  // Forgets fd; returns its file (null if it was not designated).
  std::shared_ptr<LogFile> Remove(int fd);
  // The file with this inode, if any descriptor refers to it.
  std::shared_ptr<LogFile> FindInode(dev_t dev, ino_t ino) const;
  // Forgets every descriptor; returns their files.
  std::vector<std::shared_ptr<LogFile>> TakeAll();
  // Updates fd's O_APPEND flag.
  void SetAppend(int fd, bool append);

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<int, FdEntry> fds_;
  std::atomic<size_t> count_{0};
};

}  // namespace rvmr::preload
