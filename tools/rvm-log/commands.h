// The rvm-log subcommands as functions, so tests can run them in-process.
// Each writes its normal output to `out` and its diagnostics to `err`, and
// returns the process exit status (the same scheme for every subcommand;
// kExitStatusHelp words it for --help):
//   0  success (the log is sound, the copies agree, replay complete)
//   1  verification failed: the log or a copy has a problem (a damaged or
//      torn record, damaged status blocks, a lost committed tail, copies
//      that differ): the message says where and why
//   2  usage or I/O error: the command could not run (a bad argument, a file
//      that cannot be read or is not a log, a server that cannot be reached)
// A subcommand given several logs runs on each and returns the worst status.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"
#include "remote_log/transport.h"

namespace rvmr::tools {

enum ExitCode : int { kExitOk = 0, kExitProblem = 1, kExitError = 2 };

// The exit status scheme as --help and the man page state it.
extern const char kExitStatusHelp[];

// The exit status for a Status that stopped a command: kExitProblem for
// Corruption (a damaged log), kExitError for anything else.
int ExitCodeFor(const Status& s);

// How to reach remote log servers.
struct RemoteOptions {
  std::string secret_file;  // shared secret for authenticated servers
  int timeout_ms = 5000;    // connect and I/O timeout
  std::string key_file;     // the log key (default: "<log>.key" beside the disk log, if any)
  // Builds the ConnectOptions (reads the secret file).
  Status ToConnectOptions(remote_log::ConnectOptions* out) const;
  // The log key that verifies the remote copies' sealed records: key_file,
  // else "<log_path>.key" if log_path is given and that file exists; empty
  // when there is none. An unreadable or malformed key file is an error.
  Status LoadLogKey(const std::string& log_path, std::string* key) const;
};

struct InspectOptions {
  std::vector<std::string> log_paths;  // disk logs (none: --remote with --name)
  std::string remote_uri;              // inspect each log's remote copy on this server instead
  std::string name;                    // remote log name (default: the disk log's id in hex)
  RemoteOptions remote;
  bool json = false;
  uint64_t lsn_from = 0;
  uint64_t lsn_to = UINT64_MAX;
  std::string segment;  // a segment code or path; empty: all
  bool has_txn = false;
  uint64_t txn_lsn = 0;             // only this record, with its range data in hex
  uint64_t from_offset = 0;         // show records starting at or after this logical offset
  uint64_t to_offset = UINT64_MAX;  // ... and before this one (the scan stops there)
  uint64_t limit = 0;               // show at most this many records per log (0: all)
  bool follow = false;              // after the end, wait for records appended later
  int poll_ms = 200;                // follow: how often to look for new records
  // Follow ends (exit 0) once this is true; null: only a limit, --to-offset
  // or a confirmed problem ends it.
  const std::atomic<bool>* stop = nullptr;
};
int RunInspect(const InspectOptions& o, std::ostream& out, std::ostream& err);

struct VerifyOptions {
  std::vector<std::string> log_paths;  // disk logs (none: --remote with --name)
  std::string remote_uri;              // verify each log's remote copy on this server instead
  std::string name;
  RemoteOptions remote;
  bool json = false;
  uint64_t to_offset = UINT64_MAX;  // check records starting before this offset only
};
int RunVerify(const VerifyOptions& o, std::ostream& out, std::ostream& err);

struct ReplayCmdOptions {
  std::string log_path;
  std::vector<std::string> remote_uris;
  std::string name;
  RemoteOptions remote;
  std::string from = "auto";  // disk | remote | auto
  bool dry_run = false;
  std::map<uint32_t, std::string> segment_map;
  int progress = -1;  // 1 on, 0 off, -1 when stderr is a terminal
  bool json = false;  // summary as one JSON object
};
int RunReplay(const ReplayCmdOptions& o, std::ostream& out, std::ostream& err);

struct DiffOptions {
  std::string log_path;
  std::vector<std::string> remote_uris;
  std::string name;
  RemoteOptions remote;
  bool json = false;
};
int RunDiff(const DiffOptions& o, std::ostream& out, std::ostream& err);

struct StatOptions {
  std::string uri;
  RemoteOptions remote;
  bool json = false;
  double interval_s = 0;  // > 0: print every interval_s seconds
  int count = 1;          // samples to print (0 with an interval: forever)
};
int RunStat(const StatOptions& o, std::ostream& out, std::ostream& err);

// For a subcommand reading the disk log at `log_path` with no remote copy:
// if the log's ".remote" marker says its mirrors may hold commits the disk
// copy lacks (remote_marker.h), writes the same message rvm_initialize
// gives when it refuses such a log, prefixed "rvm-log <cmd>: warning: ",
// plus how to read the mirrors' copy (--remote), to `err`, and returns true.
// Returns false (and writes nothing) otherwise, or when the file or marker
// cannot be read (the subcommand reports those itself).
bool WarnMirrorsMayHoldMore(const std::string& cmd, const std::string& log_path, std::ostream& err);

// The per-file loop of the subcommands that take several logs: runs `one`
// on each path of `paths` in order (once, with "", when there is none: a
// remote copy named by --name), heading each with its name (PrintLogHeading)
// when there are several. Returns the worst exit status.
int ForEachLog(const std::vector<std::string>& paths, bool json, std::ostream& out,
               const std::function<int(const std::string& path)>& one);

// Checks the logs a subcommand taking several is given: some disk log, or a
// remote copy (--remote with --name); --name with at most one disk log.
// InvalidArgument saying what to give otherwise.
Status CheckLogArguments(const std::vector<std::string>& paths, const std::string& remote_uri,
                         const std::string& name);

// The heading of one log's output among several: "==> PATH <==" (after a
// blank line unless `first`), or {"kind":"file","path":PATH} with `json`.
void PrintLogHeading(const std::string& path, bool json, bool first, std::ostream& out);

// Parses "CODE=PATH" into map; InvalidArgument naming the bad entry.
Status ParseSegmentMap(const std::vector<std::string>& entries,
                       std::map<uint32_t, std::string>* map);

}  // namespace rvmr::tools
