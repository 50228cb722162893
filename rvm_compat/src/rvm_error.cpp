#include "rvm_error.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>

#include "common/diag.h"
#include "rvm/rvm_diag.h"

namespace rvmr::compat {

namespace {

struct Cause {
  std::string text;                    // why the current call fails; "" if not known
  DiagLevel level = DiagLevel::kInfo;  // kError for a failure, kInfo for a caller's mistake
  bool set = false;
};

// This thread's state; no lock (thread-local).
thread_local Cause t_cause;
thread_local std::string t_last_error;
thread_local int t_depth = 0;

void Record(DiagLevel level, std::string text) {
  if (t_cause.set) return;  // the first (deepest) cause is the most precise
  t_cause.text = std::move(text);
  t_cause.level = level;
  t_cause.set = true;
}

// What a code means when no more precise cause was recorded.
const char* DefaultCause(rvm_return_t rc) {
  switch (rc) {
    case RVM_EINIT:
      return "RVM is not initialized (no rvm_initialize yet, or rvm_terminate was called)";
    case RVM_ELOG:
      return "no log is open, or the file is not a log";
    case RVM_EMODE:
      return "the mode is not one this call takes";
    case RVM_ENAME_TOO_LONG:
      return "a file name is longer than MAXPATHLEN";
    case RVM_ENO_MEMORY:
      return "out of memory";
    case RVM_ENOT_MAPPED:
      return "the address range is not inside one mapped region";
    case RVM_EOFFSET:
      return "the region's offset or length lies beyond its segment";
    case RVM_EOPTIONS:
      return "the options record is missing or is not an rvm_options_t";
    case RVM_EOVERLAP:
      return "the region overlaps a region mapped from the same segment";
    case RVM_EPAGER:
      return "external pagers are not supported";
    case RVM_ERANGE:
      return "the address is not page-aligned, not in registered pages, or not the region's";
    case RVM_EREGION:
      return "the region record is missing, is not an rvm_region_t, or names no data_dev";
    case RVM_ESTATISTICS:
      return "the statistics record is missing or is not an rvm_statistics_t";
    case RVM_ESTAT_VERSION_SKEW:
      return "the caller's RVM_STATISTICS_VERSION is not this library's";
    case RVM_ETID:
      return "the tid is missing, is not an rvm_tid_t, or names no live transaction";
    case RVM_ETOO_BIG:
      return "too big for the log";
    case RVM_EUNCOMMIT:
      return "uncommitted transactions remain";
    case RVM_EVERSION_SKEW:
      return "the caller's RVM_VERSION is not this library's";
    case RVM_EVM_OVERLAP:
      return "the region's memory overlaps a mapped region";
    default:
      return "";
  }
}

}  // namespace

rvm_return_t RvmCode(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk:
      return RVM_SUCCESS;
    case Status::Code::kIoError:
    case Status::Code::kCorruption:
    case Status::Code::kInvalidArgument:
    case Status::Code::kNotFound:
    case Status::Code::kNoSpace:
    case Status::Code::kFenced:
    case Status::Code::kUnavailable:
    case Status::Code::kTimedOut:
    case Status::Code::kFailed:
    case Status::Code::kNotSupported:
      return RVM_EIO;
  }
  return RVM_EIO;
}

rvm_return_t Fail(const Status& cause) {
  return Fail(RvmCode(cause), cause);
}

rvm_return_t Fail(rvm_return_t code, const Status& cause) {
  if (cause.sys_errno() != 0) errno = cause.sys_errno();
  Record(DiagLevel::kError, cause.ToString());
  return code;
}

rvm_return_t Fail(rvm_return_t code, const char* fmt, ...) {
  char buf[512];
  std::va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  Record(DiagLevel::kInfo, buf);
  return code;
}

rvm_return_t AddContext(rvm_return_t rc, const std::string& context) {
  if (rc != RVM_SUCCESS && t_cause.set) t_cause.text = context + ": " + t_cause.text;
  return rc;
}

std::string TakeCause() {
  std::string s = std::move(t_cause.text);
  t_cause = Cause();
  return s;
}

ApiCall::ApiCall(const char* function) : function_(function), outer_(t_depth++ == 0) {
  if (outer_ && t_cause.set) t_cause = Cause();  // cheap when nothing failed (the hot path)
}

ApiCall::~ApiCall() {
  t_depth--;
}

rvm_return_t ApiCall::Return(rvm_return_t rc) {
  if (!outer_ || returned_) return rc;
  returned_ = true;
  if (rc == RVM_SUCCESS) {
    if (!t_last_error.empty()) t_last_error.clear();
    if (t_cause.set) t_cause = Cause();
    return rc;
  }
  Cause c = std::move(t_cause);
  t_cause = Cause();
  t_last_error = std::string(function_) + ": " + rvm_return(rc);
  const std::string& cause = c.set ? c.text : std::string(DefaultCause(rc));
  if (!cause.empty()) t_last_error += ": " + cause;
  // What the system refused is an error even where no Status said so.
  const bool failure = rc == RVM_EIO || rc == RVM_EINTERNAL || rc == RVM_ENO_MEMORY;
  ReportText(failure ? DiagLevel::kError : c.level, t_last_error);
  return rc;
}

}  // namespace rvmr::compat

extern "C" {

void rvm_set_diag_hook(rvm_diag_hook_t hook, void* arg) {
  rvmr::SetDiagHook(hook, arg);
}

int rvm_set_diag_level(int level) {
  if (level < RVM_DIAG_ERROR || level > RVM_DIAG_DEBUG) return -1;
  return static_cast<int>(rvmr::SetDiagThreshold(static_cast<rvmr::DiagLevel>(level)));
}

const char* rvm_last_error_text(void) {
  return rvmr::compat::t_last_error.c_str();
}

}  // extern "C"
