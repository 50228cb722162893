// init_log's safety check and file replacement: rvmutl never overwrites a
// log that still holds committed records not yet applied to the data
// segments (of this RVM's format or the original's) unless told to force,
// and a re-initialized log keeps the old file's mode and owner.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace rvmr::rvmutl {

// OK when the file at `path` may be overwritten: it does not exist, is
// empty or zero-filled where a status block would be, or is a log (this
// RVM's or the original's) with no committed transaction between its head
// and its tail and, for this RVM's, no mirrors that may hold more. Otherwise
// Failed, the message saying what the file holds; IoError when it cannot be
// read.
Status CheckMayOverwrite(const std::string& path);

// Creates a new, empty log of this RVM's format with `area_len` bytes of
// record area at `path`, replacing any file there atomically (a new file
// renamed over it; when `path` is a symbolic link, the file it names is
// replaced and the link kept). A replaced file's permission bits and owner
// carry over; a new file gets mode 0644.
Status ReplaceWithNewLog(const std::string& path, uint64_t area_len);

}  // namespace rvmr::rvmutl
