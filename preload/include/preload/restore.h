// Restore: rebuilding a designated file's lost tail from the mirrors.
//
// Every record the preload shim appended for a file after the last point its
// local copy was known durable (the mirrors' trim point) is replayed onto the
// file by file offset, in stream order; the file is fdatasync'ed and the
// mirrors are trimmed to the end of what was replayed, so a record is never
// applied twice. Run before the program's own recovery.
//
// Every record read from a mirror is verified (preload_record.h) under the
// preload key. A record that fails verification is treated as absent: the
// problem names the mirror and the stream offset, the record is never
// written, and the rest is read from another mirror that holds it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "preload/preload_record.h"
#include "remote_log/transport.h"
#include "shim/shim_config.h"

namespace rvmr::preload {

// How the preload shim and its tools reach the mirrors: the secret and
// timeouts of sc, and the owner seed of the preload key (empty key: none).
remote_log::ConnectOptions PreloadConnectOptions(const ShimConfig& sc, const std::string& key);

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
  std::string source;                 // URI(s) read from
  size_t records = 0;                 // DATA and SIZE records applied
  uint64_t data_bytes = 0;            // payload bytes written to the file
  uint64_t restored_to = 0;           // stream offset the file now reflects
  bool refused = false;               // the shim had stopped protecting the file
  std::string refusal;                // why (the REFUSED record's text)
  std::vector<std::string> problems;  // copies found wanting, ranges lost
};

// Looks the log `name` up on every mirror (one short connection each).
// Unavailable if no mirror answers.
Status ProbeRemoteLog(const ShimConfig& sc, const std::string& key, const std::string& name,
                      RemoteLogState* st);

// As ProbeRemoteLog for the file at `path` (remote log `name`), and writes
// its path log (path_log.h), sealed with `mode`, on every mirror that lacks
// it.
Status PrepareRemoteLog(const ShimConfig& sc, const std::string& key, SealMode mode,
                        const std::string& path, const std::string& name, RemoteLogState* st);

// Restores the file at absolute path `path` (created if missing) from the
// mirrors named in sc, verifying every record under `key` (the preload key;
// empty: only with protect_records = no): fences older writers, replays the
// verified records beyond the trim point, fdatasyncs, trims. With discard,
// replays nothing and only trims (the file's pending tail is given up on
// purpose). OK with records == 0 if nothing was pending or no mirror holds
// the log (state.found false). Corruption if some pending bytes could be
// read from no mirror (what was applied stays; *rep says what was lost).
// FailedPrecondition-like Failed if the pending tail holds a REFUSED record
// (rep->refused): the shim stopped protecting the file, nothing after it is
// applied and the mirrors are not trimmed past it (--discard clears it).
Status RestoreFile(const ShimConfig& sc, const std::string& key, const std::string& path,
                   bool discard, RestoreReport* rep);

// One preload log on one mirror, named by the file it protects.
struct PreloadLogEntry {
  std::string mirror;          // the mirror's URI
  remote_log::LogEntry log;    // name and state
  std::string path;            // the protected file (from its path log)
  std::string path_problem;    // why the path is unknown, if it is
};

// Every preload log (name prefix "rvmpl-", path logs excluded) on every
// reachable mirror, with its path read and verified from its path log.
// Unavailable if no mirror answers.
Status ListPreloadLogs(const ShimConfig& sc, const std::string& key,
                       std::vector<PreloadLogEntry>* out);

}  // namespace rvmr::preload
