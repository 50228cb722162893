#include "init_guard.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "coda_log/coda_log.h"
#include "shim/log_format.h"
#include "shim/log_record_reader.h"
#include "shim/log_source.h"
#include "shim/log_status.h"
#include "shim/remote_marker.h"

namespace rvmr::rvmutl {

namespace {

// Transaction records between head and the end of the valid log of our
// format, or -1 when `fd` holds no readable status block of ours.
int64_t OurUnappliedTransactions(int fd, log::LogStatus* st) {
  if (!log::ReadLogStatus(fd, st).ok()) return -1;
  log::FileLogSource src(fd, st->area_start, st->area_size);
  log::LogRecordReader reader(&src, st->head, st->head + st->area_size, st->head_lsn);
  int64_t n = 0;
  log::LogRecord rec;
  while (reader.ReadRecord(&rec).ok()) {
    if (rec.header.type == static_cast<uint16_t>(log::RecordType::kTransaction)) ++n;
  }
  return n;
}

bool ZeroFilled(int fd, uint64_t size) {
  char buf[8192];
  uint64_t n = size < sizeof(buf) ? size : sizeof(buf);
  if (::pread(fd, buf, n, 0) != static_cast<ssize_t>(n)) return false;
  for (uint64_t i = 0; i < n; ++i)
    if (buf[i] != 0) return false;
  return true;
}

}  // namespace

Status CheckMayOverwrite(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::IoError(path + ": cannot open", errno);
  }
  struct stat sb;
  if (::fstat(fd, &sb) != 0 || sb.st_size == 0 || ZeroFilled(fd, static_cast<uint64_t>(sb.st_size))) {
    ::close(fd);
    return Status::Ok();
  }
  log::LogStatus st;
  int64_t ours = OurUnappliedTransactions(fd, &st);
  Status verdict = Status::Ok();
  if (ours > 0) {
    verdict = Status::Failed(path + " holds " + std::to_string(ours) +
                             " committed transaction(s) not yet applied to the data segments");
  } else if (ours == 0) {
    MirrorCopyCheck c;
    if (CheckMirrorCopy(path, fd, st, &c).ok() && c.mirrors_may_hold_more)
      verdict = Status::Failed(c.message);
  } else if (coda::CodaLog::Recognize(path)) {
    std::unique_ptr<coda::CodaLog> log;
    Status s = coda::CodaLog::Open(path, &log);
    if (!s.ok()) {
      verdict = Status::Failed(path + " is a log of the original RVM (Coda) that cannot be read (" +
                               s.message() + "); it may hold committed transactions");
    } else if (!log->transactions().empty() || log->end() == coda::LogEnd::kDamaged) {
      verdict = Status::Failed(log->Describe());
    }
  } else {
    verdict = Status::Failed(path + " is not an RVM log this rvmutl can read (neither this RVM's "
                             "format nor the original's), and not empty");
  }
  ::close(fd);
  return verdict;
}

Status ReplaceWithNewLog(const std::string& link_path, uint64_t area_len) {
  // A symbolic link stays: the file it names is replaced.
  std::string path = link_path;
  struct stat lst;
  if (::lstat(link_path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
    char* real = ::realpath(link_path.c_str(), nullptr);
    if (real != nullptr) {
      path = real;
      ::free(real);
    }
  }
  struct stat old;
  bool replacing = ::stat(path.c_str(), &old) == 0;
  if (replacing && !S_ISREG(old.st_mode))
    return Status::InvalidArgument(path + ": only regular files can hold this log format");
  std::string tmp = path + ".rvmutl-new";
  ::unlink(tmp.c_str());
  mode_t mode = replacing ? (old.st_mode & 07777) : 0644;
  Status s = log::CreateLogFile(tmp.c_str(), area_len, static_cast<int>(mode));
  if (!s.ok()) return s;
  // CreateLogFile's mode passes through the umask: set it exactly.
  if (::chmod(tmp.c_str(), mode) != 0 ||
      (replacing && (old.st_uid != ::geteuid() || old.st_gid != ::getegid()) &&
       ::chown(tmp.c_str(), old.st_uid, old.st_gid) != 0 && errno != EPERM)) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status::IoError(tmp + ": setting mode and owner", e);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status::IoError("renaming " + tmp + " to " + path, e);
  }
  return Status::Ok();
}

}  // namespace rvmr::rvmutl
