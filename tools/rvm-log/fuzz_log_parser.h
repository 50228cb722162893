// The log parser's fuzz target: treats the input as a whole log file image
// and runs inspect, verify and a dry-run replay over it. Must neither crash
// nor leak whatever the bytes are. Linked into the libFuzzer binary
// (RVM_LOG_LIBFUZZER) and into the bounded CTest fuzz run.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rvmr::tools {

// Returns 0 (the libFuzzer convention).
int FuzzLogFile(const uint8_t* data, size_t size);

}  // namespace rvmr::tools
