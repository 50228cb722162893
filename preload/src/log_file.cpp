#include "log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "preload/preload_record.h"
#include "preload/restore.h"
#include "real_calls.h"
#include "common/thread.h"

namespace rvmr::preload {

thread_local bool g_in_shim = false;

LogFile::LogFile(const PreloadConfig& cfg, const std::string& path) : cfg_(cfg), path_(path) {}

Status LogFile::Open(const PreloadConfig& cfg, int fd, const std::string& path, bool truncated,
                     std::shared_ptr<LogFile>* out) {
  InShim guard;
  std::shared_ptr<LogFile> lf(new LogFile(cfg, path));
  struct stat st, pst;
  if (::fstat(fd, &st) != 0) return Status::IoError("fstat " + path, errno);
  char proc[64];
  std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  lf->priv_fd_ = ::open(proc, O_RDONLY | O_CLOEXEC);
  if (lf->priv_fd_ < 0) lf->priv_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (lf->priv_fd_ < 0) return Status::IoError("reopen " + path, errno);
  if (::fstat(lf->priv_fd_, &pst) != 0 || pst.st_ino != st.st_ino || pst.st_dev != st.st_dev)
    return Status::IoError("reopened " + path + " is another file", ESTALE);
  lf->dev_ = st.st_dev;
  lf->ino_ = st.st_ino;
  lf->frontier_ = lf->write_end_ = truncated ? 0 : static_cast<uint64_t>(st.st_size);
  Status s = lf->Attach(truncated);
  if (!s.ok()) return s;
  lf->bg_ = StartThread("rvm-preload-sync", [p = lf.get()] { p->SyncerLoop(); });
  *out = std::move(lf);
  return Status::Ok();
}

LogFile::~LogFile() {
  InShim guard;
  Drain();
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_.joinable()) bg_.join();
  if (priv_fd_ >= 0) ::close(priv_fd_);
}

Status LogFile::Attach(bool truncated) {
  name_ = RemoteLogNameForPath(path_);
  RemoteLogState rs;
  Status s = ProbeRemoteLog(cfg_.shim, cfg_.key, name_, &rs);
  if (!s.ok()) {
    if (cfg_.shim.failure_policy == ShimConfig::FailurePolicy::kStrict) return s;
    EnterLocal(s.ToString().c_str());
    return Status::Ok();
  }
  if (rs.pending()) {
    if (!cfg_.auto_restore)
      return Status::Failed("the mirrors hold " + std::to_string(rs.tail - rs.from) + " bytes of " +
                            path_ + " that the file may lack (a crash?): run rvm-preload-restore " +
                            path_ + " first, or set RVM_PRELOAD_RESTORE=auto");
    RestoreReport rep;
    s = RestoreFile(cfg_.shim, cfg_.key, path_, false, &rep);
    if (!s.ok()) return s;
    Say("restored %zu records (%llu bytes) of %s from %s", rep.records,
        static_cast<unsigned long long>(rep.data_bytes), path_.c_str(), rep.source.c_str());
  }
  s = OpenRemote();
  if (!s.ok()) {
    if (cfg_.shim.failure_policy == ShimConfig::FailurePolicy::kStrict) return s;
    EnterLocal(s.ToString().c_str());
    return Status::Ok();
  }
  if (truncated) NoteResize("open(O_TRUNC)");
  return Status::Ok();
}

Status LogFile::OpenRemote() {
  RemoteLogState rs;
  Status s = PrepareRemoteLog(cfg_.shim, cfg_.key, cfg_.seal_mode, path_, name_, &rs);
  if (!s.ok()) return s;
  remote_log::MirrorSetOptions mo;
  mo.uris = cfg_.shim.mirrors;
  mo.connect = PreloadConnectOptions(cfg_.shim, cfg_.key);
  mo.write_quorum = cfg_.shim.write_quorum;
  s = RecordCodec::Create(cfg_.key, name_, cfg_.seal_mode, &codec_);
  if (!s.ok()) return s;
  s = remote_log::MirrorSet::Connect(mo, &mirrors_);
  if (!s.ok()) return s;
  std::vector<remote_log::LogInfo> infos;
  s = mirrors_->Open(name_, rs.epoch + 1, true, 0, &infos);
  if (!s.ok()) return s;
  uint64_t end = 0, durable = 0;
  for (const auto& i : infos) {
    end = std::max(end, i.tail);
    durable = std::max(durable, i.durable);
  }
  stream_end_ = end;
  last_trim_ = durable;
  // The first record of this writer names the file.
  std::string rec(kRecordHeaderSize + path_.size(), '\0');
  rec.replace(kRecordHeaderSize, path_.size(), path_);
  RecordHeader h;
  h.type = RecordType::kOpen;
  h.stream_offset = stream_end_;
  h.length = static_cast<uint32_t>(path_.size());
  s = codec_->Encode(h, rec.data());
  if (!s.ok()) return s;
  s = mirrors_->Append(stream_end_, rec.data(), rec.size());
  if (!s.ok()) return s;
  stream_end_ += rec.size();
  // The OPEN record describes nothing the disk must hold: trim past it, so
  // that only data records count as pending after a crash.
  s = mirrors_->Trim(stream_end_);
  if (!s.ok()) return s;
  last_trim_ = stream_end_;
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_requested_ = bg_durable_ = stream_end_;
  }
  local_ = false;
  return Status::Ok();
}

void LogFile::CheckWrite(uint64_t offset, uint64_t len, const char* op) {
  if (len == 0 || !protected_.load(std::memory_order_acquire)) return;
  uint64_t frontier;
  {
    std::lock_guard<std::mutex> l(dirty_mu_);
    if (offset == 0) {  // the log starts anew
      frontier_ = 0;
      write_end_ = len;
      return;
    }
    frontier = frontier_;
    if (offset >= frontier) return;
  }
  InShim guard;
  if (!AllZero(offset, std::min(offset + len, frontier))) Refuse(op, offset);
}

bool LogFile::AllZero(uint64_t a, uint64_t b) {
  char buf[16384];
  while (a < b) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(b - a, sizeof buf));
    ssize_t r = ::pread(priv_fd_, buf, n, static_cast<off_t>(a));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r == 0;  // past the end: nothing there to overwrite
    for (ssize_t i = 0; i < r; ++i)
      if (buf[i] != 0) return false;
    a += static_cast<uint64_t>(r);
  }
  return true;
}

void LogFile::NoteWrite(uint64_t offset, uint64_t len) {
  if (len == 0) return;
  {
    std::lock_guard<std::mutex> l(dirty_mu_);
    write_end_ = std::max(write_end_, offset + len);
  }
  MarkDirty(offset, len);
}

void LogFile::MarkDirty(uint64_t offset, uint64_t len) {
  if (len == 0) return;
  std::lock_guard<std::mutex> l(dirty_mu_);
  uint64_t a = offset, b = offset + len;
  auto it = dirty_.upper_bound(a);
  if (it != dirty_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= a) {
      a = prev->first;
      b = std::max(b, prev->second);
      it = dirty_.erase(prev);
    }
  }
  while (it != dirty_.end() && it->first <= b) {
    b = std::max(b, it->second);
    it = dirty_.erase(it);
  }
  dirty_[a] = b;
}

void LogFile::NoteResize(const char* op) {
  bool shrunk = false;
  uint64_t size = 0;
  if (protected_.load(std::memory_order_acquire)) {
    InShim guard;
    struct stat st;
    if (::fstat(priv_fd_, &st) == 0) {
      size = static_cast<uint64_t>(st.st_size);
      std::lock_guard<std::mutex> l(dirty_mu_);
      if (size == 0) {
        frontier_ = write_end_ = 0;
      } else if (size < frontier_) {
        shrunk = true;
      } else {
        write_end_ = std::max(write_end_, size);
      }
    }
  }
  if (shrunk) Refuse(op, size);
  std::lock_guard<std::mutex> l(dirty_mu_);
  resized_ = true;
}

void LogFile::Refuse(const char* op, uint64_t offset) {
  InShim guard;
  std::lock_guard<std::mutex> l(sync_mu_);
  if (local_ || mirrors_ == nullptr) return;
  uint64_t frontier;
  {
    std::lock_guard<std::mutex> d(dirty_mu_);
    frontier = frontier_;
  }
  char why[512];
  std::snprintf(why, sizeof why,
                "%s at offset %llu, below the end %llu already sent to the mirrors: the file is "
                "rewritten in place, not appended, so it is not a write-ahead log",
                op, static_cast<unsigned long long>(offset),
                static_cast<unsigned long long>(frontier));
  Say("%s: refused: %s. It is no longer protected by the mirrors: its syncs go to the local "
      "disk from now on, and its remote log is marked refused (rvm-preload-restore and the next "
      "open under the shim refuse it until 'rvm-preload-restore --discard'). Remove it from "
      "RVM_PRELOAD_LOGS.",
      path_.c_str(), why);
  // The disk takes over: it holds everything the stream described once
  // this returns, so the mirrors may drop it; then the REFUSED record.
  int r = LocalSync();
  if (r == 0) {
    std::string rec(kRecordHeaderSize, '\0');
    rec += why;
    RecordHeader h;
    h.type = RecordType::kRefused;
    h.stream_offset = stream_end_;
    h.arg = offset;
    h.length = static_cast<uint32_t>(rec.size() - kRecordHeaderSize);
    Status s = mirrors_->Trim(stream_end_);
    if (s.ok()) s = codec_->Encode(h, rec.data());
    if (s.ok()) s = mirrors_->Append(stream_end_, rec.data(), rec.size());
    if (!s.ok())
      Say("%s: marking its remote log refused failed (%s)", path_.c_str(), s.ToString().c_str());
  } else {
    Say("%s: fdatasync failed (errno %d) while refusing it", path_.c_str(), -r);
  }
  protected_.store(false, std::memory_order_release);
  local_ = true;
  mirrors_.reset();
}

int LogFile::LocalSync() {
  {
    std::lock_guard<std::mutex> l(dirty_mu_);
    dirty_.clear();
    resized_ = false;
  }
  if (::fdatasync(priv_fd_) != 0) return -errno;
  return 0;
}

void LogFile::EnterLocal(const char* why) {
  protected_.store(false, std::memory_order_release);
  if (!local_) {
    Say("%s: mirrors unusable (%s); syncing this file to the local disk from now on", path_.c_str(),
        why);
  }
  local_ = true;
  if (mirrors_ != nullptr && stream_end_ > 0 && LocalSync() == 0) {
    // The disk now holds everything the stream described: let the mirrors drop it.
    (void)mirrors_->Trim(stream_end_);
  }
  mirrors_.reset();
}

int LogFile::Sync() {
  InShim guard;
  std::lock_guard<std::mutex> l(sync_mu_);
  if (local_) return LocalSync();
  {
    std::lock_guard<std::mutex> b(bg_mu_);
    if (bg_error_ != 0) return -bg_error_;
  }
  MaybeTrim(false);
  return AppendDirty();
}

int LogFile::AppendDirty() {
  std::map<uint64_t, uint64_t> dirty;
  bool resized;
  {
    std::lock_guard<std::mutex> l(dirty_mu_);
    dirty.swap(dirty_);
    resized = resized_;
    resized_ = false;
    frontier_ = std::max(frontier_, write_end_);
  }
  if (dirty.empty() && !resized) return 0;
  std::string& buf = scratch_;
  buf.clear();
  for (const auto& [a, b] : dirty) {
    uint64_t off = a;
    while (off < b) {
      size_t len = static_cast<size_t>(std::min<uint64_t>(b - off, kMaxRecordPayload));
      size_t hpos = buf.size();
      buf.resize(hpos + kRecordHeaderSize + len);
      ssize_t n =
          ::pread(priv_fd_, buf.data() + hpos + kRecordHeaderSize, len, static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) {
        buf.resize(hpos);
        continue;
      }
      if (n <= 0) {  // past the end: the file shrank since the write
        buf.resize(hpos);
        if (n < 0) return -errno;
        break;
      }
      buf.resize(hpos + kRecordHeaderSize + static_cast<size_t>(n));
      RecordHeader h;
      h.type = RecordType::kData;
      h.stream_offset = stream_end_ + hpos;
      h.arg = off;
      h.length = static_cast<uint32_t>(n);
      if (int e = EncodeOrSay(h, buf.data() + hpos); e != 0) return e;
      off += static_cast<uint64_t>(n);
    }
  }
  if (resized) {
    struct stat st;
    if (::fstat(priv_fd_, &st) != 0) return -errno;
    size_t hpos = buf.size();
    buf.resize(hpos + kRecordHeaderSize);
    RecordHeader h;
    h.type = RecordType::kSize;
    h.stream_offset = stream_end_ + hpos;
    h.arg = static_cast<uint64_t>(st.st_size);
    if (int e = EncodeOrSay(h, buf.data() + hpos); e != 0) return e;
  }
  if (buf.empty()) return 0;
  Status s = mirrors_->Append(stream_end_, buf.data(), buf.size());
  if (!s.ok()) {
    if (cfg_.shim.failure_policy == ShimConfig::FailurePolicy::kStrict) {
      Say("%s: mirrors failed (%s); failing the sync (strict policy)", path_.c_str(),
          s.ToString().c_str());
      // Keep the bytes dirty so a later sync may still carry them, sealed in
      // a new session: a nonce is never used twice.
      for (const auto& [a, b] : dirty) MarkDirty(a, b - a);
      if (resized) {
        std::lock_guard<std::mutex> d(dirty_mu_);
        resized_ = true;
      }
      Status ns = codec_->NewSession();
      if (!ns.ok()) EnterLocal(ns.ToString().c_str());
      return -EIO;
    }
    EnterLocal(s.ToString().c_str());
    return LocalSync();
  }
  stream_end_ += buf.size();
  if (buf.capacity() > (size_t{8} << 20)) std::string().swap(buf);
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_requested_ = stream_end_;
  }
  bg_cv_.notify_all();
  return 0;
}

int LogFile::EncodeOrSay(const RecordHeader& h, char* rec) {
  Status s = codec_->Encode(h, rec);
  if (s.ok()) return 0;
  Say("%s: sealing a record failed (%s); failing the sync", path_.c_str(), s.ToString().c_str());
  return -EIO;
}

void LogFile::SyncerLoop() {
  g_in_shim = true;
  std::unique_lock<std::mutex> l(bg_mu_);
  for (;;) {
    bg_cv_.wait(l, [&] {
      return bg_stop_ || (bg_requested_ > bg_durable_ && bg_error_ == 0 && !cfg_.test_no_disk_sync);
    });
    if (bg_requested_ > bg_durable_ && bg_error_ == 0 && !cfg_.test_no_disk_sync) {
      uint64_t target = bg_requested_;
      l.unlock();
      int r = ::fdatasync(priv_fd_);
      int e = errno;
      l.lock();
      if (r != 0) {
        bg_error_ = e;
        Say("%s: background fdatasync failed (errno %d); later syncs fail", path_.c_str(), e);
      } else {
        bg_durable_ = target;
      }
      bg_cv_.notify_all();
      continue;
    }
    if (bg_stop_) break;
  }
}

void LogFile::MaybeTrim(bool force) {
  if (mirrors_ == nullptr) return;
  uint64_t d;
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    d = bg_durable_;
  }
  if (d > last_trim_ && (force || d - last_trim_ >= cfg_.shim.trim_interval_bytes)) {
    if (mirrors_->Trim(d).ok()) last_trim_ = d;
  }
}

int LogFile::Drain() {
  InShim guard;
  std::lock_guard<std::mutex> l(sync_mu_);
  if (local_ || mirrors_ == nullptr) return 0;
  if (cfg_.test_no_disk_sync) {
    // No background syncs in this mode: a drain is the one real sync.
    if (::fdatasync(priv_fd_) != 0) return -errno;
    if (mirrors_->Trim(stream_end_).ok()) last_trim_ = stream_end_;
    return 0;
  }
  {
    std::unique_lock<std::mutex> b(bg_mu_);
    bg_cv_.wait(b, [&] { return bg_durable_ >= stream_end_ || bg_error_ != 0; });
    if (bg_error_ != 0) return -bg_error_;
  }
  MaybeTrim(true);
  return 0;
}

void LogFile::Moved(const std::string& new_path, bool designated) {
  InShim guard;
  Drain();
  std::lock_guard<std::mutex> l(sync_mu_);
  if (local_) return;
  mirrors_.reset();
  if (!designated) {
    protected_.store(false, std::memory_order_release);
    local_ = true;
    return;
  }
  path_ = new_path;
  name_ = RemoteLogNameForPath(path_);
  // Whatever the new name's log holds described a file this rename replaces.
  RestoreReport rep;
  (void)RestoreFile(cfg_.shim, cfg_.key, path_, true, &rep);
  Status s = OpenRemote();
  if (!s.ok()) EnterLocal(s.ToString().c_str());
}

}  // namespace rvmr::preload
