#include "common/diag.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace rvmr {

namespace {

constexpr int kUnset = -1;

struct Sink {
  std::mutex mu;                       // hook, arg and the writing of one line
  DiagHook hook = nullptr;             // guarded by mu
  void* arg = nullptr;                 // guarded by mu
  std::atomic<int> threshold{kUnset};  // a DiagLevel, or kUnset until first read
};

Sink& TheSink() {
  static Sink* s = new Sink();  // never destroyed: threads may report during exit
  return *s;
}

int Threshold() {
  Sink& s = TheSink();
  int t = s.threshold.load(std::memory_order_acquire);
  if (t != kUnset) return t;
  DiagLevel l = DiagLevel::kNotice;
  if (const char* env = std::getenv("RVM_DIAG_LEVEL"); env != nullptr && *env != '\0') {
    if (!ParseDiagLevel(env, &l)) {
      l = DiagLevel::kNotice;
      int expected = kUnset;
      s.threshold.compare_exchange_strong(expected, static_cast<int>(l));
      Report(DiagLevel::kWarning,
             "ignoring RVM_DIAG_LEVEL=%s (not error, warning, notice, info, "
             "debug or 0..4)",
             env);
    }
  }
  int expected = kUnset;
  s.threshold.compare_exchange_strong(expected, static_cast<int>(l));
  return s.threshold.load(std::memory_order_acquire);
}

}  // namespace

const char* DiagLevelName(DiagLevel level) {
  switch (level) {
    case DiagLevel::kError:
      return "error";
    case DiagLevel::kWarning:
      return "warning";
    case DiagLevel::kNotice:
      return "notice";
    case DiagLevel::kInfo:
      return "info";
    case DiagLevel::kDebug:
      return "debug";
  }
  return "debug";
}

bool ParseDiagLevel(std::string_view text, DiagLevel* level) {
  for (int i = 0; i <= static_cast<int>(DiagLevel::kDebug); i++) {
    auto l = static_cast<DiagLevel>(i);
    if (text == DiagLevelName(l) || (text.size() == 1 && text[0] == '0' + i)) {
      *level = l;
      return true;
    }
  }
  return false;
}

bool DiagEnabled(DiagLevel level) {
  return static_cast<int>(level) <= Threshold();
}

DiagLevel SetDiagThreshold(DiagLevel level) {
  int old = Threshold();
  TheSink().threshold.store(static_cast<int>(level), std::memory_order_release);
  return static_cast<DiagLevel>(old);
}

void SetDiagHook(DiagHook hook, void* arg) {
  Sink& s = TheSink();
  std::lock_guard<std::mutex> l(s.mu);
  s.hook = hook;
  s.arg = hook != nullptr ? arg : nullptr;
}

void ReportText(DiagLevel level, std::string_view message) {
  if (!DiagEnabled(level)) return;
  while (!message.empty() && message.back() == '\n') message.remove_suffix(1);
  Sink& s = TheSink();
  std::lock_guard<std::mutex> l(s.mu);
  if (s.hook != nullptr) {
    std::string m(message);
    s.hook(s.arg, static_cast<int>(level), m.c_str());
    return;
  }
  ::flockfile(stderr);
  std::fprintf(stderr, "rvm: %s: %.*s\n", DiagLevelName(level), static_cast<int>(message.size()),
               message.data());
  std::fflush(stderr);
  ::funlockfile(stderr);
}

void Report(DiagLevel level, const char* fmt, ...) {
  if (!DiagEnabled(level)) return;
  char small[512];
  std::va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof small) {
    ReportText(level, std::string_view(small, static_cast<size_t>(n)));
    return;
  }
  std::string big(static_cast<size_t>(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  big.resize(static_cast<size_t>(n));
  ReportText(level, big);
}

}  // namespace rvmr
