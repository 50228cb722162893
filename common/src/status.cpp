#include "common/status.h"

#include <cstring>

namespace rvmr {

namespace {
const char* CodeName(Status::Code c) {
  switch (c) {
    case Status::Code::kOk:
      return "OK";
    case Status::Code::kIoError:
      return "IO error";
    case Status::Code::kCorruption:
      return "Corruption";
    case Status::Code::kInvalidArgument:
      return "Invalid argument";
    case Status::Code::kNotFound:
      return "Not found";
    case Status::Code::kNoSpace:
      return "No space";
    case Status::Code::kFenced:
      return "Fenced";
    case Status::Code::kUnavailable:
      return "Unavailable";
    case Status::Code::kTimedOut:
      return "Timed out";
    case Status::Code::kFailed:
      return "Failed";
    case Status::Code::kNotSupported:
      return "Not supported";
  }
  return "Unknown";
}
}  // namespace

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = CodeName(code_);
  s += ": ";
  s += msg_;
  if (errno_ != 0) {
    s += " (";
    s += std::strerror(errno_);
    s += ")";
  }
  return s;
}

Status Status::WithContext(std::string_view context) const& {
  return Status(*this).WithContext(context);
}

Status Status::WithContext(std::string_view context) && {
  if (ok() || context.empty()) return std::move(*this);
  std::string m(context);
  m += ": ";
  m += msg_;
  msg_ = std::move(m);
  return std::move(*this);
}

}  // namespace rvmr
