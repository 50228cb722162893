#include "shim/log_status.h"

#include <fcntl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/crc32c.h"
#include "common/fault_point.h"
#include "shim/log_format.h"

namespace rvmr::log {

void EncodeLogStatus(const LogStatus& s, char* copy) {
  std::memset(copy, 0, kStatusCopySize);
  PutU64(copy + 0, kStatusMagic);
  PutU32(copy + 8, s.version);
  PutU64(copy + 16, s.write_counter);
  PutU64(copy + 24, s.area_start);
  PutU64(copy + 32, s.area_size);
  PutU64(copy + 40, s.head);
  PutU64(copy + 48, s.head_lsn);
  PutU64(copy + 56, s.tail_hint);
  PutU64(copy + 64, s.epoch);
  std::memcpy(copy + 72, s.log_id.data(), 16);
  PutU64(copy + 88, s.create_time_ns);
  PutU32(copy + 96, s.flags);
  PutU32(copy + 12, crc32c::Value(copy, kStatusEncodedSize));
}

Status DecodeLogStatus(const char* copy, LogStatus* s) {
  if (GetU64(copy) != kStatusMagic) return Status::Corruption("status block: bad magic");
  char tmp[kStatusEncodedSize];
  std::memcpy(tmp, copy, sizeof(tmp));
  PutU32(tmp + 12, 0);
  if (crc32c::Value(tmp, sizeof(tmp)) != GetU32(copy + 12))
    return Status::Corruption("status block: bad crc");
  LogStatus r;
  r.version = GetU32(copy + 8);
  if (r.version != kStatusVersion) return Status::Corruption("status block: unknown version");
  r.write_counter = GetU64(copy + 16);
  r.area_start = GetU64(copy + 24);
  r.area_size = GetU64(copy + 32);
  r.head = GetU64(copy + 40);
  r.head_lsn = GetU64(copy + 48);
  r.tail_hint = GetU64(copy + 56);
  r.epoch = GetU64(copy + 64);
  std::memcpy(r.log_id.data(), copy + 72, 16);
  r.create_time_ns = GetU64(copy + 88);
  r.flags = GetU32(copy + 96);
  if (r.area_start < kStatusAreaSize || r.area_size == 0 || r.area_size % kRecordAlign != 0 ||
      r.head % kRecordAlign != 0 || r.tail_hint < r.head || r.head_lsn == 0)
    return Status::Corruption("status block: inconsistent geometry");
  *s = r;
  return Status::Ok();
}

Status ReadLogStatus(int fd, LogStatus* s, int* which) {
  std::vector<char> buf(kStatusAreaSize);
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t r = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::IoError("read of log status", errno);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  LogStatus c[2];
  bool ok[2] = {false, false};
  for (int i = 0; i < 2; i++) {
    if (got >= (i + 1) * kStatusCopySize)
      ok[i] = DecodeLogStatus(buf.data() + i * kStatusCopySize, &c[i]).ok();
  }
  int pick;
  if (ok[0] && ok[1])
    pick = c[1].write_counter > c[0].write_counter ? 1 : 0;
  else if (ok[0])
    pick = 0;
  else if (ok[1])
    pick = 1;
  else
    return Status::Corruption("log status: neither status copy is valid");
  *s = c[pick];
  if (which) *which = pick;
  return Status::Ok();
}

Status WriteLogStatus(int fd, LogStatus* s) {
  s->write_counter++;
  char buf[kStatusCopySize];
  EncodeLogStatus(*s, buf);
  off_t pos = static_cast<off_t>((s->write_counter % 2) * kStatusCopySize);
  // A full or failing disk, injected (common/fault_point.h).
  if (int e = RVMR_FAULT_ERRNO("rvm.log_status_write"); e != 0)
    return Status::IoError("write of log status", -e);
  size_t done = 0;
  while (done < sizeof(buf)) {
    ssize_t r = ::pwrite(fd, buf + done, sizeof(buf) - done, pos + static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Status::IoError("write of log status", errno);
    done += static_cast<size_t>(r);
  }
  if (::fdatasync(fd) != 0) return Status::IoError("fdatasync of log status", errno);
  return Status::Ok();
}

Status CreateLogFile(const char* path, uint64_t area_size, int mode, LogStatus* out) {
  if (area_size == 0 || area_size % kRecordAlign != 0)
    return Status::InvalidArgument("log area size must be a nonzero multiple of 8");
  int fd = ::open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IoError(std::string("create log ") + path, errno);
  LogStatus s;
  s.area_start = kStatusAreaSize;
  s.area_size = area_size;
  size_t got = 0;
  while (got < s.log_id.size()) {
    ssize_t r = ::getrandom(s.log_id.data() + got, s.log_id.size() - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    got += static_cast<size_t>(r);
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  s.create_time_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
  Status st;
  if (::ftruncate(fd, static_cast<off_t>(s.area_start + area_size)) != 0)
    st = Status::IoError("size log file", errno);
  // Write both copies so a torn first update always leaves a valid one.
  if (st.ok()) st = WriteLogStatus(fd, &s);
  if (st.ok()) st = WriteLogStatus(fd, &s);
  ::close(fd);
  if (!st.ok()) {
    ::unlink(path);
    return st;
  }
  if (out) *out = s;
  return Status::Ok();
}

}  // namespace rvmr::log
