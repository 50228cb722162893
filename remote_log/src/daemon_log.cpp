#include "daemon_log.h"

#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace rvmr::remote_log {

namespace {

// Whether stderr is the stream systemd connected to the journal:
// JOURNAL_STREAM is "<device>:<inode>" of it (systemd.exec(5)).
bool StderrIsJournal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (js == nullptr || *js == '\0') return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

}  // namespace

DaemonLog& DaemonLog::Get() {
  static DaemonLog log;
  return log;
}

DaemonLog::DaemonLog() : journal_(StderrIsJournal()) {}

bool DaemonLog::ParseLevel(std::string_view name, Level* out) {
  static constexpr struct {
    const char* name;
    const char* number;
    Level level;
  } kLevels[] = {{"error", "3", kError},
                 {"warning", "4", kWarning},
                 {"notice", "5", kNotice},
                 {"info", "6", kInfo},
                 {"debug", "7", kDebug}};
  for (const auto& l : kLevels) {
    if (name == l.name || name == l.number) {
      *out = l.level;
      return true;
    }
  }
  return false;
}

const char* DaemonLog::LevelName(Level l) {
  switch (l) {
    case kError:
      return "error";
    case kWarning:
      return "warning";
    case kNotice:
      return "notice";
    case kInfo:
      return "info";
    case kDebug:
      return "debug";
  }
  return "info";
}

std::string DaemonLog::Format(Level l, std::string_view msg) const {
  std::string line;
  if (journal_) {
    // SD_ERR and friends are "<3>" .. "<7>".
    static const char* const kPrefix[] = {SD_EMERG, SD_ALERT, SD_CRIT,  SD_ERR,
                                          SD_WARNING, SD_NOTICE, SD_INFO, SD_DEBUG};
    line = kPrefix[int(l) & 7];
  } else {
    line = "rvm-logd: ";
    line += LevelName(l);
    line += ": ";
  }
  line += msg;
  return line;
}

void DaemonLog::VLog(Level l, const char* fmt, va_list ap) {
  if (int(l) > int(threshold())) return;
  std::vector<char> buf(512);
  va_list copy;
  va_copy(copy, ap);
  int n = std::vsnprintf(buf.data(), buf.size(), fmt, copy);
  va_end(copy);
  if (n < 0) return;
  if (size_t(n) >= buf.size()) {
    buf.resize(size_t(n) + 1);
    std::vsnprintf(buf.data(), buf.size(), fmt, ap);
  }
  std::string line = Format(l, std::string_view(buf.data(), size_t(n)));
  line += '\n';
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t w = write(STDERR_FILENO, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    left -= size_t(w);
  }
}

void DaemonLog::Log(Level l, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  VLog(l, fmt, ap);
  va_end(ap);
}

}  // namespace rvmr::remote_log
