// PathLog: the path of a protected file, kept sealed beside its remote log.
//
// The remote log "rvmpl-<hash>" of a file is trimmed as the file's disk copy
// catches up, so it cannot keep the path for long. Each mirror therefore also
// holds the log "rvmpl-<hash>.path", written once by the first writer that
// finds it missing: one OPEN record at stream offset 0 whose payload is the
// file's absolute path, sealed like every preload record (preload_record.h),
// never trimmed. rvm-preload-restore --list and rvm-log name the file by it.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "preload/preload_record.h"
#include "remote_log/transport.h"

namespace rvmr::preload {

// The path log's name for remote log `log_name`.
std::string PathLogName(const std::string& log_name);

// Whether `name` is a path log's name.
bool IsPathLogName(std::string_view name);

// Writes the path log of the file at `path` (whose remote log is
// `log_name`) on the mirror behind `conn`, sealed with `mode` under `key`,
// and closes it again. The caller knows the mirror lacks it (from a LIST).
Status WritePathLog(remote_log::Connection* conn, const std::string& key, SealMode mode,
                    const std::string& log_name, const std::string& path);

// Reads and verifies the path log of remote log `log_name` (at writer epoch
// `epoch`, as listed) on `conn` into *path, and closes it. Corruption if its
// record fails verification (with `mode` other than kPlain, a plain record
// fails too); the transport's error otherwise.
Status ReadPathLog(remote_log::Connection* conn, const std::string& key, SealMode mode,
                   const std::string& log_name, uint64_t epoch, std::string* path);

}  // namespace rvmr::preload
