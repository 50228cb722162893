#include "shim/remote_marker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "common/fault_point.h"
#include "shim/durable_file.h"
#include "shim/tail_recovery.h"

namespace rvmr {

namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool ParseU64(std::string_view v, uint64_t* out) {
  if (v.empty() || v.size() > 20) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
  }
  *out = n;
  return true;
}

const char* StateName(RemoteMarker::State s) {
  switch (s) {
    case RemoteMarker::State::kOpen:
      return "open";
    case RemoteMarker::State::kClosed:
      return "closed";
    case RemoteMarker::State::kAbandoned:
      return "abandoned";
  }
  return "open";
}

void ParseMarker(std::string_view text, RemoteMarker* m) {
  *m = RemoteMarker();
  bool first = true;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = TrimSpaces(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (first) {
      first = false;
      constexpr std::string_view kPrefix = "remote log '";
      if (line.substr(0, kPrefix.size()) == kPrefix && line.size() > kPrefix.size() &&
          line.back() == '\'') {
        m->name = std::string(line.substr(kPrefix.size(), line.size() - kPrefix.size() - 1));
        continue;
      }
    }
    if (!line.empty() && line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = TrimSpaces(line.substr(0, eq));
    std::string_view val = TrimSpaces(line.substr(eq + 1));
    uint64_t n = 0;
    if (key == "state") {
      // Anything but a known state keeps the conservative default (open).
      if (val == "closed") m->state = RemoteMarker::State::kClosed;
      if (val == "abandoned") m->state = RemoteMarker::State::kAbandoned;
    } else if (key == "log_id") {
      m->log_id = std::string(val);
    } else if (key == "disk_end" && ParseU64(val, &n)) {
      m->disk_end = n;
    } else if (key == "stale_below_epoch" && ParseU64(val, &n)) {
      m->stale_below_epoch = n;
    }
  }
}

}  // namespace

std::string RemoteMarkerPath(const std::string& log_path) {
  return log_path + ".remote";
}

Status ReadRemoteMarker(const std::string& log_path, RemoteMarker* m, bool* exists) {
  *m = RemoteMarker();
  *exists = false;
  // Mutation: the marker is never found.
  if (RVMR_MUTATION("ignore_remote_marker")) return Status::Ok();
  const std::string path = RemoteMarkerPath(log_path);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::IoError("cannot open " + path, errno);
  }
  *exists = true;
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::IoError("cannot read " + path, e);
    }
    if (n == 0 || text.size() > (64u << 10)) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  ParseMarker(text, m);
  return Status::Ok();
}

Status WriteRemoteMarker(const std::string& log_path, const RemoteMarker& m) {
  const std::string path = RemoteMarkerPath(log_path);
  const std::string tmp = path + ".tmp";
  std::string text = "remote log '" + m.name + "'\n";
  text += "# written by librvm: see docs/log-format.md (the .remote marker)\n";
  text += std::string("state = ") + StateName(m.state) + "\n";
  if (!m.log_id.empty()) text += "log_id = " + m.log_id + "\n";
  text += "disk_end = " + std::to_string(m.disk_end) + "\n";
  if (m.stale_below_epoch != 0)
    text += "stale_below_epoch = " + std::to_string(m.stale_below_epoch) + "\n";
  Status s = WriteFileSynced(tmp, text, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!s.ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status::IoError("cannot rename " + tmp + " to " + path, e);
  }
  return SyncDirectoryOf(path);
}

bool RemoteMarkerBelongsTo(const RemoteMarker& m, const log::LogStatus& st) {
  const std::string id = RemoteLogName(st);
  if (!m.log_id.empty()) return m.log_id == id;
  // An earlier version's marker: its name is the log id in hex unless the
  // writer was configured with log_name; a 32-hex-digit name that is not
  // this log's id is another log's.
  if (m.name == id) return true;
  bool hex32 = m.name.size() == 32;
  for (char c : m.name) hex32 = hex32 && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  return !hex32;
}

Status CheckMirrorCopy(const std::string& log_path, int fd, const log::LogStatus& st,
                       MirrorCopyCheck* out) {
  *out = MirrorCopyCheck();
  Status s = ReadRemoteMarker(log_path, &out->marker, &out->marker_exists);
  if (!s.ok()) return s;
  out->mirrors_may_hold_more = out->marker_exists &&
                               out->marker.state == RemoteMarker::State::kOpen &&
                               RemoteMarkerBelongsTo(out->marker, st);
  if (!out->mirrors_may_hold_more) return Status::Ok();
  uint64_t next_lsn = 0;
  s = ScanDiskTail(fd, st, &out->disk_end, &next_lsn);
  if (!s.ok()) return s;
  const uint64_t room_end = st.head + st.area_size;
  out->may_hold_bytes = room_end > out->disk_end ? room_end - out->disk_end : 0;
  const std::string marker = RemoteMarkerPath(log_path);
  out->message =
      "log " + log_path + " was used with mirrors, and its marker " + marker +
      " says its last writer did not close it cleanly: the mirrors may hold acknowledged "
      "commits that its disk copy lacks (up to " +
      std::to_string(out->may_hold_bytes) +
      " bytes beyond the disk copy, which ends at log offset " + std::to_string(out->disk_end) +
      "), and no mirrors are configured. Either start with the mirrors configured (RVM_MIRRORS, "
      "or 'mirrors' in the RVM_SHIM_CONFIG file): their copy is recovered onto the disk; or set "
      "'abandon_mirror_copy = yes' in the RVM_SHIM_CONFIG file to start from the disk copy alone, "
      "abandoning whatever only the mirrors hold.";
  return Status::Ok();
}

}  // namespace rvmr
