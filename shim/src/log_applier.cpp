#include "shim/log_applier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "common/fault_point.h"
#include "shim/log_payload.h"

namespace rvmr::log {

namespace {

std::string Where(const LogRecord& rec) {
  return "record at offset " + std::to_string(rec.header.offset) + " (lsn " +
         std::to_string(rec.header.lsn) + ")";
}

int OpenForWriting(const std::string& path) {
  return ::open(path.c_str(), O_RDWR | O_CLOEXEC);
}

}  // namespace

LogApplier::LogApplier(LogApplyOptions options) : options_(std::move(options)) {}

LogApplier::~LogApplier() {
  for (auto& [path, seg] : segments_) {
    if (seg.fd >= 0) ::close(seg.fd);
  }
}

Status LogApplier::Resolve(uint32_t code, const LogRecord& rec, const std::string** path) {
  auto m = options_.segment_map.find(code);
  if (m != options_.segment_map.end()) {
    *path = &m->second;
    return Status::Ok();
  }
  auto d = dict_.find(code);
  if (d == dict_.end()) {
    return Status::NotFound(Where(rec) + ": segment code " + std::to_string(code) +
                            " is named by no segment dictionary record before it");
  }
  *path = &d->second;
  return Status::Ok();
}

void LogApplier::HitFaultPoint() {
  if (options_.fault_point != nullptr) RVMR_FAULT_POINT(options_.fault_point);
}

Status LogApplier::WriteAll(int fd, const char* data, uint64_t len, uint64_t off) {
  if (len == 0) return Status::Ok();
  // A full or failing disk, injected (common/fault_point.h).
  if (int e = RVMR_FAULT_ERRNO("rvm.segment_write"); e != 0) return Status::IoError("pwrite", -e);
  while (len > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(len, uint64_t(1) << 30));
    ssize_t w = ::pwrite(fd, data, chunk, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("pwrite", errno);
    }
    if (w == 0) return Status::IoError("pwrite wrote nothing", EIO);
    data += w;
    len -= static_cast<uint64_t>(w);
    off += static_cast<uint64_t>(w);
  }
  stats_.writes++;
  return Status::Ok();
}

Status LogApplier::ApplyRange(const LogRecord& rec, const RangeView& r) {
  if (r.seg_offset > uint64_t(INT64_MAX) || r.length > uint64_t(INT64_MAX) - r.seg_offset) {
    return Status::Corruption(Where(rec) + ": range at segment offset " +
                              std::to_string(r.seg_offset) + " length " + std::to_string(r.length) +
                              " is out of range");
  }
  const std::string* path = nullptr;
  Status s = Resolve(r.seg_code, rec, &path);
  if (!s.ok()) return s;
  Segment& seg = segments_[*path];
  if (options_.dry_run) {
    struct stat st;
    if (!seg.checked && ::stat(path->c_str(), &st) != 0) {
      int err = errno;
      return Status::IoError(Where(rec) + ": segment file " + *path + " (code " +
                                 std::to_string(r.seg_code) + ") is not accessible",
                             err);
    }
    seg.checked = true;
    if (!options_.coalesce) HitFaultPoint();
  } else if (options_.coalesce &&
             (options_.direct_min == 0 || r.length < options_.direct_min)) {
    seg.pending.Write(r.seg_offset, r.data, r.length);
  } else {
    if (options_.coalesce) seg.pending.Erase(r.seg_offset, r.length);
    if (seg.fd < 0) {
      seg.fd = OpenForWriting(*path);
      if (seg.fd < 0) {
        int err = errno;
        return Status::IoError(Where(rec) + ": cannot open segment file " + *path + " (code " +
                                   std::to_string(r.seg_code) + ") for writing",
                               err);
      }
    }
    s = WriteAll(seg.fd, r.data, r.length, r.seg_offset);
    if (!s.ok()) {
      return Status::IoError(Where(rec) + ": writing " + std::to_string(r.length) +
                                 " bytes at offset " + std::to_string(r.seg_offset) +
                                 " of segment file " + *path,
                             s.sys_errno());
    }
    HitFaultPoint();
  }
  stats_.ranges++;
  stats_.bytes += r.length;
  stats_.bytes_per_segment[*path] += r.length;
  return Status::Ok();
}

Status LogApplier::Apply(const LogRecord& rec) {
  switch (static_cast<RecordType>(rec.header.type)) {
    case RecordType::kSegmentDict: {
      uint32_t code = 0;
      std::string name;
      Status s = ParseSegmentDict(rec.payload, &code, &name);
      if (!s.ok())
        return Status::Corruption(Where(rec) + ": bad segment dictionary payload: " + s.message());
      dict_[code] = std::move(name);
      stats_.dict_records++;
      return Status::Ok();
    }
    case RecordType::kTransaction:
      break;
    default:
      return Status::Ok();  // padding and unknown types carry no data
  }
  uint64_t commit_ns = 0;
  std::vector<RangeView> ranges;
  Status s = ParseTransactionPayload(rec.payload, &commit_ns, &ranges);
  if (!s.ok()) return Status::Corruption(Where(rec) + ": bad transaction payload: " + s.message());
  for (const RangeView& r : ranges) {
    s = ApplyRange(rec, r);
    if (!s.ok()) return s;
  }
  stats_.transactions++;
  return Status::Ok();
}

#if RVMR_MUTATIONS
namespace {

// Mutation "segments_written_after_head": Finish returns at once and the
// extents are written (and synced) 20 ms later by a detached thread, after
// the caller has moved the log head past the records they came from.
void WriteSegmentsLate(std::vector<std::pair<std::string, ExtentMap>> segs,
                       const char* fault_point) {
  std::thread([segs = std::move(segs), fault_point] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (const auto& [path, em] : segs) {
      int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) continue;
      for (const auto& [off, bytes] : em.extents()) {
        (void)!::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(off));
        if (fault_point != nullptr) RVMR_FAULT_POINT(fault_point);
      }
      (void)::fdatasync(fd);
      ::close(fd);
    }
  }).detach();
}

}  // namespace
#endif

Status LogApplier::Finish() {
  if (options_.dry_run) return Status::Ok();
#if RVMR_MUTATIONS
  if (options_.coalesce && RVMR_MUTATION("segments_written_after_head")) {
    std::vector<std::pair<std::string, ExtentMap>> late;
    for (auto& [path, seg] : segments_) {
      late.emplace_back(path, std::move(seg.pending));
      seg.pending = ExtentMap();
    }
    WriteSegmentsLate(std::move(late), options_.fault_point);
    return Status::Ok();
  }
#endif
  for (auto& [path, seg] : segments_) {
    if (!seg.pending.empty()) {
      if (seg.fd < 0) {
        seg.fd = OpenForWriting(path);
        if (seg.fd < 0) {
          int err = errno;
          return Status::IoError("cannot open segment file " + path + " for writing", err);
        }
      }
      for (const auto& [off, bytes] : seg.pending.extents()) {
        Status s = WriteAll(seg.fd, bytes.data(), bytes.size(), off);
        if (!s.ok()) {
          return Status::IoError("writing " + std::to_string(bytes.size()) + " bytes at offset " +
                                     std::to_string(off) + " of segment file " + path,
                                 s.sys_errno());
        }
        HitFaultPoint();
      }
      seg.pending = ExtentMap();
    }
    if (seg.fd >= 0 && ::fdatasync(seg.fd) != 0) {
      int err = errno;
      return Status::IoError("fdatasync of segment file " + path, err);
    }
  }
  return Status::Ok();
}

}  // namespace rvmr::log
