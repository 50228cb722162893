#include "common/config_file.h"

#include <cerrno>
#include <fstream>
#include <sstream>

namespace rvmr::config {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string Where(std::string_view origin, int lineno, std::string_view what) {
  return std::string(origin) + ":" + std::to_string(lineno) + ": " + std::string(what);
}

Status BadValue(std::string_view origin, const Line& line, std::string_view expected) {
  return Status::InvalidArgument(Where(origin, line.lineno,
                                       "bad value '" + line.value + "' for '" + line.key +
                                           "': expected " + std::string(expected)));
}

Status SplitLines(std::string_view text, std::string_view origin, std::vector<Line>* out) {
  int lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++lineno;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return Status::InvalidArgument(
          Where(origin, lineno, "expected 'key = value', got '" + std::string(line) + "'"));
    Line l;
    l.key = std::string(Trim(line.substr(0, eq)));
    l.value = std::string(Trim(line.substr(eq + 1)));
    l.lineno = lineno;
    if (l.key.empty())
      return Status::InvalidArgument(
          Where(origin, lineno, "expected 'key = value', got '" + std::string(line) + "'"));
    out->push_back(std::move(l));
  }
  return Status::Ok();
}

bool ParseSize(std::string_view v, uint64_t* out) {
  uint64_t mult = 1;
  if (EndsWith(v, "KiB") || EndsWith(v, "MiB") || EndsWith(v, "GiB")) v.remove_suffix(2);
  if (!v.empty()) {
    switch (v.back()) {
      case 'k':
      case 'K':
        mult = 1ull << 10;
        break;
      case 'm':
      case 'M':
        mult = 1ull << 20;
        break;
      case 'g':
      case 'G':
        mult = 1ull << 30;
        break;
      case 'B':
        break;
      default:
        mult = 0;
        break;
    }
    if (mult != 0) v.remove_suffix(1);
    if (mult == 0) mult = 1;
  }
  if (v.empty()) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    if (n > (UINT64_MAX - 9) / 10) return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > UINT64_MAX / mult) return false;
  *out = n * mult;
  return true;
}

bool ParseBool(std::string_view v, bool* out) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") {
    *out = true;
    return true;
  }
  if (v == "0" || v == "false" || v == "no" || v == "off") {
    *out = false;
    return true;
  }
  return false;
}

int ReadWholeFile(const std::string& path, std::string* out) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno != 0 ? errno : ENOENT;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return EIO;
  *out = ss.str();
  return 0;
}

}  // namespace rvmr::config
