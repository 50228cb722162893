#include "fd_table.h"

#include <mutex>

namespace rvmr::preload {

bool FdTable::Get(int fd, FdEntry* out) const {
  std::shared_lock<std::shared_mutex> l(mu_);
  auto it = fds_.find(fd);
  if (it == fds_.end()) return false;
  *out = it->second;
  return true;
}

void FdTable::Put(int fd, FdEntry e) {
  std::unique_lock<std::shared_mutex> l(mu_);
  fds_[fd] = std::move(e);
  count_.store(fds_.size(), std::memory_order_relaxed);
}

std::shared_ptr<LogFile> FdTable::Remove(int fd) {
  std::unique_lock<std::shared_mutex> l(mu_);
  auto it = fds_.find(fd);
  if (it == fds_.end()) return nullptr;
  std::shared_ptr<LogFile> f = std::move(it->second.file);
  fds_.erase(it);
  count_.store(fds_.size(), std::memory_order_relaxed);
  return f;
}

std::shared_ptr<LogFile> FdTable::FindInode(dev_t dev, ino_t ino) const {
  std::shared_lock<std::shared_mutex> l(mu_);
  for (const auto& [fd, e] : fds_)
    if (e.file->dev() == dev && e.file->ino() == ino) return e.file;
  return nullptr;
}

std::vector<std::shared_ptr<LogFile>> FdTable::TakeAll() {
  std::unique_lock<std::shared_mutex> l(mu_);
  std::vector<std::shared_ptr<LogFile>> out;
  for (auto& [fd, e] : fds_) out.push_back(std::move(e.file));
  fds_.clear();
  count_.store(0, std::memory_order_relaxed);
  return out;
}

void FdTable::SetAppend(int fd, bool append) {
  std::unique_lock<std::shared_mutex> l(mu_);
  auto it = fds_.find(fd);
  if (it != fds_.end()) it->second.append = append;
}

}  // namespace rvmr::preload
