#include "replayer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/fault_point.h"
#include "shim/log_payload.h"

namespace rvmr::tools {

namespace {

std::string Where(const log::LogRecord& rec) {
  return "record at offset " + std::to_string(rec.header.offset) + " (lsn " +
         std::to_string(rec.header.lsn) + ")";
}

Status PwriteAll(int fd, const char* p, uint64_t n, uint64_t pos) {
  while (n > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, uint64_t(1) << 30));
    ssize_t w = ::pwrite(fd, p, chunk, static_cast<off_t>(pos));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("pwrite", errno);
    }
    if (w == 0) return Status::IoError("pwrite wrote nothing", EIO);
    p += w;
    n -= static_cast<uint64_t>(w);
    pos += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

}  // namespace

Replayer::Replayer(ReplayOptions options) : options_(std::move(options)) {}

Replayer::~Replayer() {
  for (auto& [path, fd] : fds_) {
    if (fd >= 0) ::close(fd);
  }
}

Status Replayer::SegmentFd(uint32_t code, const log::LogRecord& rec, int* fd,
                           const std::string** path) {
  auto m = options_.segment_map.find(code);
  if (m != options_.segment_map.end()) {
    *path = &m->second;
  } else {
    auto d = dict_.find(code);
    if (d == dict_.end()) {
      return Status::NotFound(Where(rec) + ": segment code " + std::to_string(code) +
                              " is named by no segment dictionary record in the replayed range "
                              "(give --segment-map " +
                              std::to_string(code) + "=PATH)");
    }
    *path = &d->second;
  }
  auto it = fds_.find(**path);
  if (it != fds_.end()) {
    *fd = it->second;
    return Status::Ok();
  }
  int f = -1;
  if (options_.dry_run) {
    struct stat st;
    if (::stat((*path)->c_str(), &st) != 0) {
      return Status::IoError(Where(rec) + ": segment file " + **path + " (code " +
                                 std::to_string(code) + ") is not accessible",
                             errno);
    }
  } else {
    f = ::open((*path)->c_str(), O_RDWR | O_CLOEXEC);
    if (f < 0) {
      return Status::IoError(Where(rec) + ": cannot open segment file " + **path + " (code " +
                                 std::to_string(code) + ") for writing",
                             errno);
    }
  }
  fds_.emplace(**path, f);
  *fd = f;
  return Status::Ok();
}

Status Replayer::Apply(const log::LogRecord& rec) {
  switch (static_cast<log::RecordType>(rec.header.type)) {
    case log::RecordType::kSegmentDict: {
      uint32_t code = 0;
      std::string name;
      Status s = log::ParseSegmentDict(rec.payload, &code, &name);
      if (!s.ok())
        return Status::Corruption(Where(rec) + ": bad segment dictionary payload: " + s.message());
      dict_[code] = std::move(name);
      stats_.dict_records++;
      return Status::Ok();
    }
    case log::RecordType::kTransaction:
      break;
    default:
      return Status::Ok();  // padding and unknown types carry no data
  }
  uint64_t commit_ns = 0;
  std::vector<log::RangeView> ranges;
  Status s = log::ParseTransactionPayload(rec.payload, &commit_ns, &ranges);
  if (!s.ok()) {
    return Status::Corruption(Where(rec) + ": bad transaction payload: " + s.message());
  }
  for (const log::RangeView& r : ranges) {
    if (r.seg_offset + r.length < r.seg_offset || r.seg_offset > uint64_t(INT64_MAX) ||
        r.seg_offset + r.length > uint64_t(INT64_MAX)) {
      return Status::Corruption(Where(rec) + ": range at segment offset " +
                                std::to_string(r.seg_offset) + " length " +
                                std::to_string(r.length) + " is out of range");
    }
    int fd = -1;
    const std::string* path = nullptr;
    s = SegmentFd(r.seg_code, rec, &fd, &path);
    if (!s.ok()) return s;
    if (!options_.dry_run && r.length > 0) {
      s = PwriteAll(fd, r.data, r.length, r.seg_offset);
      if (!s.ok()) {
        return Status::IoError(Where(rec) + ": writing " + std::to_string(r.length) +
                                   " bytes at offset " + std::to_string(r.seg_offset) +
                                   " of segment file " + *path,
                               s.sys_errno());
      }
    }
    RVMR_FAULT_POINT("replay.after_range");
    stats_.ranges++;
    stats_.bytes += r.length;
    stats_.bytes_per_segment[*path] += r.length;
  }
  stats_.transactions++;
  return Status::Ok();
}

Status Replayer::Finish() {
  for (auto& [path, fd] : fds_) {
    if (fd < 0) continue;
    if (::fdatasync(fd) != 0) return Status::IoError("fdatasync of segment file " + path, errno);
  }
  return Status::Ok();
}

}  // namespace rvmr::tools
