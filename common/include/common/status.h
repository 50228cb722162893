// Status: the result of an operation that can fail, in the style of LevelDB.
// An OK status carries nothing; an error carries a code, the errno behind
// it where there is one, and a message saying what failed, on which file or
// mirror, with the context each caller adds (WithContext) as it travels up.
// A Status must be looked at ([[nodiscard]]): a result deliberately dropped
// says so with IgnoreError() and a comment.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace rvmr {

class [[nodiscard]] Status {
 public:
  enum class Code : int {
    kOk = 0,
    kIoError,     // the OS refused (errno in sys_errno())
    kCorruption,  // bytes on disk or on the wire are not what the format says
    kInvalidArgument,
    kNotFound,
    kNoSpace,      // a bounded resource (log, staging buffer, remote capacity) is full
    kFenced,       // a newer writer epoch exists
    kUnavailable,  // a peer is unreachable or closed the connection
    kTimedOut,
    kFailed,  // the component entered a permanent failed state
    kNotSupported,
  };

  Status() = default;

  static Status Ok() { return Status(); }
  static Status IoError(std::string_view msg, int sys_errno = 0) {
    return Status(Code::kIoError, msg, sys_errno);
  }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status NoSpace(std::string_view msg) { return Status(Code::kNoSpace, msg); }
  static Status Fenced(std::string_view msg) { return Status(Code::kFenced, msg); }
  static Status Unavailable(std::string_view msg) { return Status(Code::kUnavailable, msg); }
  static Status TimedOut(std::string_view msg) { return Status(Code::kTimedOut, msg); }
  static Status Failed(std::string_view msg, int sys_errno = 0) {
    return Status(Code::kFailed, msg, sys_errno);
  }
  static Status NotSupported(std::string_view msg) { return Status(Code::kNotSupported, msg); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // The errno behind an I/O failure, or 0.
  int sys_errno() const { return errno_; }
  const std::string& message() const { return msg_; }
  // "IO error: <message> (<strerror>)" and the like; "OK" for success.
  std::string ToString() const;

  // The same error with "<context>: " before its message, as it travels up
  // ("while syncing log /x: ..."); code and errno are kept. OK stays OK.
  Status WithContext(std::string_view context) const&;
  Status WithContext(std::string_view context) &&;

  // Explicitly ignores this result; the caller says why in a comment.
  void IgnoreError() const {}

 private:
  Status(Code c, std::string_view msg, int sys_errno = 0)
      : code_(c), errno_(sys_errno), msg_(msg) {}

  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string msg_;
};

}  // namespace rvmr
