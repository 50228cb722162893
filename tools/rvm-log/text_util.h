// Small formatting helpers shared by the subcommands: JSON strings, hex,
// byte counts and times.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rvmr::tools {

// `s` as a JSON string literal, quotes included.
std::string JsonString(std::string_view s);
// "0x1234abcd".
std::string Hex32(uint32_t v);
// Bytes as lowercase hex pairs separated by spaces.
std::string HexBytes(const char* p, size_t n);
// "12.3 MiB" style.
std::string HumanBytes(uint64_t n);
// ns since the Unix epoch as "2026-11-22T03:59:50.123456789Z" (UTC).
std::string IsoTime(uint64_t ns);
// Parses a decimal or 0x-hex u64; false on anything else.
bool ParseU64(std::string_view s, uint64_t* v);

}  // namespace rvmr::tools
