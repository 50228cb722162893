// Config files: the `key = value` text format every configuration file of
// the project uses (the shim's RVM_SHIM_CONFIG file, /etc/rvm/rvm-logd.conf),
// and the value syntaxes they share. One setting per line; '#' starts a
// comment that runs to the end of the line; blank lines are ignored;
// whitespace around the key and the value is not part of them. The format is
// docs/operations.md "Configuration file format".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rvmr::config {

// One `key = value` line of a file.
struct Line {
  std::string key;
  std::string value;
  int lineno = 0;  // 1-based
};

// Splits `text` into its settings, in file order. InvalidArgument
// "<origin>:<line>: expected 'key = value', got '...'" for a line that is
// neither blank, a comment nor a setting. The value may be empty.
Status SplitLines(std::string_view text, std::string_view origin, std::vector<Line>* out);

// "<origin>:<lineno>: <what>": how errors name the place they were found.
std::string Where(std::string_view origin, int lineno, std::string_view what);

// "<origin>:<line>: bad value '<value>' for '<key>': expected <expected>".
Status BadValue(std::string_view origin, const Line& line, std::string_view expected);

// A decimal count with an optional suffix K, M, G (also k, m, g, KiB, MiB,
// GiB: powers of 1024) or B. false for anything else or an overflow.
bool ParseSize(std::string_view v, uint64_t* out);

// yes/no, true/false, on/off, 1/0.
bool ParseBool(std::string_view v, bool* out);

// Reads the whole file at `path` into *out. 0, or the errno of the failure.
int ReadWholeFile(const std::string& path, std::string* out);

}  // namespace rvmr::config
