// How librvm turns failures into rvm_return_t and says why
// (docs/diagnostics.md).
//
// Every exported call opens an ApiCall; code below it that fails records the
// cause with Fail() and returns the code. When the call returns an error,
// ApiCall reports "<call>: <RVM_CODE>: <cause>" once through common/diag.h
// and keeps the text for rvm_last_error_text(). A Status becomes an
// rvm_return_t only through RvmCode() (the one mapping) or Fail(code, status)
// where the original's contract names the code for that case; either way the
// cause is kept.
#pragma once

#include <string>

#include "common/status.h"
#include "rvm/rvm.h"

namespace rvmr::compat {

// The one mapping from a Status to a return code: RVM_SUCCESS for OK and
// RVM_EIO for every error (the original's code for a log or segment that
// cannot be read or written); the table is in docs/diagnostics.md.
rvm_return_t RvmCode(const Status& s);

// Records `cause` as why the current call fails (errno is set to its
// sys_errno() if it has one) and returns RvmCode(cause).
rvm_return_t Fail(const Status& cause);

// As above, with the code the original's contract names for this case.
rvm_return_t Fail(rvm_return_t code, const Status& cause);

// A caller's mistake: records the printf-style cause (reported at level
// info) and returns `code`.
__attribute__((format(printf, 2, 3))) rvm_return_t Fail(rvm_return_t code, const char* fmt, ...);

// Prefixes the cause recorded on this thread with "<context>: " (when `rc`
// is an error) and returns `rc`.
rvm_return_t AddContext(rvm_return_t rc, const std::string& context);

// Takes (and clears) the cause recorded on this thread: for background
// threads, which have no ApiCall to report it. "" if none.
std::string TakeCause();

// The scope of one exported call (nested calls report nothing themselves).
class ApiCall {
 public:
  explicit ApiCall(const char* function);
  ~ApiCall();
  ApiCall(const ApiCall&) = delete;
  ApiCall& operator=(const ApiCall&) = delete;

  // Returns `rc`; for an error, reports it with its cause (see above),
  // once per call.
  rvm_return_t Return(rvm_return_t rc);

 private:
  const char* function_;
  bool outer_;             // the thread's outermost call: it reports
  bool returned_ = false;  // Return was called (it reports once)
};

}  // namespace rvmr::compat
