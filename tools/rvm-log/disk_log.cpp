#include "disk_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "coda_log/coda_log.h"
#include "shim/log_format.h"

namespace rvmr::tools {

namespace {

Status PreadAll(int fd, char* dst, size_t n, uint64_t pos, size_t* got) {
  *got = 0;
  while (*got < n) {
    ssize_t r = ::pread(fd, dst + *got, n - *got, static_cast<off_t>(pos + *got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("pread", errno);
    }
    if (r == 0) break;
    *got += static_cast<size_t>(r);
  }
  return Status::Ok();
}

}  // namespace

std::string LogIdHex(const log::LogStatus& st) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : st.log_id) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

DiskLog::~DiskLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status DiskLog::Open(const std::string& path, std::unique_ptr<DiskLog>* out) {
  std::unique_ptr<DiskLog> d(new DiskLog());
  d->path_ = path;
  d->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (d->fd_ < 0) return Status::IoError(path + ": cannot open log file", errno);
  struct stat stbuf;
  if (::fstat(d->fd_, &stbuf) != 0) return Status::IoError(path + ": fstat", errno);
  if (!S_ISREG(stbuf.st_mode) && !S_ISBLK(stbuf.st_mode))
    return Status::InvalidArgument(path + ": not a regular file or block device");
  d->file_size_ = static_cast<uint64_t>(stbuf.st_size);
  if (S_ISBLK(stbuf.st_mode)) {
    off_t end = ::lseek(d->fd_, 0, SEEK_END);
    if (end > 0) d->file_size_ = static_cast<uint64_t>(end);
  }

  // Decode each copy ourselves so the report can say what happened to both.
  std::vector<char> copy(log::kStatusCopySize);
  bool any = false;
  bool magic = false;  // a copy begins with the status magic: a log, if damaged
  for (int i = 0; i < 2; i++) {
    size_t got = 0;
    Status s = PreadAll(d->fd_, copy.data(), copy.size(), uint64_t(i) * log::kStatusCopySize, &got);
    if (!s.ok())
      return Status::IoError(path + ": reading status copy " + std::to_string(i), s.sys_errno());
    magic = magic || (got >= 8 && log::GetU64(copy.data()) == log::kStatusMagic);
    if (got < copy.size()) {
      d->copy_status_[i] = Status::Corruption("file ends at " + std::to_string(d->file_size_) +
                                              ", inside status copy " + std::to_string(i));
      continue;
    }
    log::LogStatus st;
    s = log::DecodeLogStatus(copy.data(), &st);
    d->copy_status_[i] = s;
    if (!s.ok()) continue;
    d->copy_counter_[i] = st.write_counter;
    if (!any || st.write_counter > d->status_.write_counter) {
      d->status_ = st;
      d->which_ = i;
    }
    any = true;
  }
  if (!any && coda::CodaLog::Recognize(path)) {
    // Not damaged: a log of the original RVM, which rvmutl applies.
    std::unique_ptr<coda::CodaLog> original;
    Status cs = coda::CodaLog::Open(path, &original);
    return Status::NotSupported(
        (cs.ok()
             ? original->Describe()
             : path + " is a log of the original RVM (Coda) that cannot be read: " + cs.message()) +
        " (rvm-log reads this RVM's log format only)");
  }
  if (!any) {
    std::string why = " (copy 0: " + d->copy_status_[0].message() +
                      "; copy 1: " + d->copy_status_[1].message() + ")";
    if (magic)
      return Status::Corruption(path + ": a damaged rvm_remote log: neither status copy is valid" +
                                why);
    return Status::InvalidArgument(path + ": not an rvm_remote log: neither status copy is valid" +
                                   why);
  }
  const log::LogStatus& st = d->status_;
  if (st.area_size != 0 && st.area_start + st.area_size >= st.area_start &&
      d->file_size_ >= st.area_start + st.area_size) {
    d->source_ = std::make_unique<log::FileLogSource>(d->fd_, st.area_start, st.area_size);
  }
  *out = std::move(d);
  return Status::Ok();
}

}  // namespace rvmr::tools
