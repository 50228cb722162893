// DaemonLog: rvm-logd's one logger. Each message is one line on stderr with
// a level. When stderr is the systemd journal (JOURNAL_STREAM names the
// device and inode of stderr, as systemd sets it for a service), a line is
// "<N>message", N being the sd-daemon priority (SD_ERR .. SD_DEBUG), which
// journald turns into the entry's priority; otherwise it is
// "rvm-logd: <level>: message". Lines below the threshold are not written.
// Thread-safe: a line is one write(2). Never give it a secret.
#pragma once

#include <atomic>
#include <cstdarg>
#include <string>
#include <string_view>

namespace rvmr::remote_log {

class DaemonLog {
 public:
  // syslog / sd-daemon priorities.
  enum Level { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

  // The process's logger. Looks at JOURNAL_STREAM on first use.
  static DaemonLog& Get();

  // Parses "error", "warning", "notice", "info", "debug" (or 3..7). false for
  // anything else.
  static bool ParseLevel(std::string_view name, Level* out);
  static const char* LevelName(Level l);

  // Messages of a lower priority (a higher number) than `l` are dropped.
  void set_threshold(Level l) { threshold_.store(l, std::memory_order_relaxed); }
  Level threshold() const { return threshold_.load(std::memory_order_relaxed); }
  // Forces the journal (or plain) format (tests).
  void set_journal(bool on) { journal_ = on; }
  bool journal() const { return journal_; }

  // Writes one line (printf format; a trailing newline is added).
  void Log(Level l, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  void VLog(Level l, const char* fmt, va_list ap);

  // The line Log would write, without the newline (tests).
  std::string Format(Level l, std::string_view msg) const;

 private:
  DaemonLog();
  std::atomic<Level> threshold_{kInfo};
  bool journal_ = false;  // set once, before threads start
};

#define LOGD_ERROR(...) ::rvmr::remote_log::DaemonLog::Get().Log(::rvmr::remote_log::DaemonLog::kError, __VA_ARGS__)
#define LOGD_WARN(...) ::rvmr::remote_log::DaemonLog::Get().Log(::rvmr::remote_log::DaemonLog::kWarning, __VA_ARGS__)
#define LOGD_NOTICE(...) ::rvmr::remote_log::DaemonLog::Get().Log(::rvmr::remote_log::DaemonLog::kNotice, __VA_ARGS__)
#define LOGD_INFO(...) ::rvmr::remote_log::DaemonLog::Get().Log(::rvmr::remote_log::DaemonLog::kInfo, __VA_ARGS__)
#define LOGD_DEBUG(...) ::rvmr::remote_log::DaemonLog::Get().Log(::rvmr::remote_log::DaemonLog::kDebug, __VA_ARGS__)

}  // namespace rvmr::remote_log
