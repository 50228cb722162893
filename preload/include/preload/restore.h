// Restore: rebuilding a designated file's lost tail from the mirrors.
//
// Every record the preload shim appended for a file after the last point its
// local copy was known durable (the mirrors' trim point) is replayed onto the
// file by file offset, in stream order; the file is fdatasync'ed and the
// mirrors are trimmed to the end of what was replayed, so a record is never
// applied twice. Run before the program's own recovery.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "remote_log/transport.h"
#include "shim/shim_config.h"

namespace rvmr::preload {

struct RemoteLogState {
  bool found = false;    // some reachable mirror holds the log
  uint64_t epoch = 0;    // newest writer epoch any mirror has seen
  uint64_t from = 0;     // newest trim point (the disk copy holds what precedes)
  uint64_t tail = 0;     // largest tail
  size_t reachable = 0;  // mirrors that answered
  // Bytes beyond the trim point: the file may lack them.
  bool pending() const { return found && tail > from; }
};

struct RestoreReport {
  std::string name;                   // remote log name
  RemoteLogState state;               // before the restore
  std::string source;                 // URI read from
  std::string logged_path;            // path in the OPEN records, if any
  size_t records = 0;                 // DATA and SIZE records applied
  uint64_t data_bytes = 0;            // payload bytes written to the file
  uint64_t restored_to = 0;           // stream offset the file now reflects
  std::vector<std::string> problems;  // copies found wanting, ranges lost
};

// Looks the log `name` up on every mirror (one short connection each).
Status ProbeRemoteLog(const ShimConfig& sc, const std::string& name, RemoteLogState* st);

// Restores the file at absolute path `path` (created if missing) from the
// mirrors named in sc: fences older writers, replays the verified records
// beyond the trim point, fdatasyncs, trims. With discard, replays nothing and
// only trims (the file's pending tail is given up on purpose). OK with
// records == 0 if nothing was pending. Corruption if a record fails
// verification before the tail (what was applied stays; *rep says what was
// lost).
Status RestoreFile(const ShimConfig& sc, const std::string& path, bool discard, RestoreReport* rep);

// Every preload log (name prefix "rvmpl-") on every reachable mirror.
Status ListPreloadLogs(const ShimConfig& sc, std::vector<remote_log::LogEntry>* out);

}  // namespace rvmr::preload
