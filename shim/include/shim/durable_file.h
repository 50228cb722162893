// Small files written durably: the log's marker (remote_marker.h) and key
// file (log_key.h).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace rvmr {

// Creates `path` with open(2) `flags` (O_WRONLY | O_CREAT and O_TRUNC or
// O_EXCL) and `mode`, writes `text` and fsyncs it; on failure removes it.
// IoError naming the file and the step.
Status WriteFileSynced(const std::string& path, std::string_view text, int flags, mode_t mode);

// fsyncs the directory that holds `path` (after a create or rename in it).
Status SyncDirectoryOf(const std::string& path);

}  // namespace rvmr
