// LogCopy: one readable copy of a log (the disk log, or a remote copy
// fetched from a log server) with the LogSource to read it and the scan that
// covers all of it. The subcommands build on it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "disk_log.h"
#include "log_scan.h"
#include "remote_copy.h"
#include "remote_log_source.h"
#include "shim/record_sealer.h"
#include "shim/unsealing_log_source.h"

namespace rvmr::tools {

class LogCopy {
 public:
  // Opens the disk log at `path`. Fails if the file cannot be opened or has
  // no valid status block; a file shorter than its record area opens with
  // source() == null (see DiskLog).
  static Status OpenDisk(const std::string& path, std::unique_ptr<LogCopy>* out);

  // Opens log `name` on the server at `uri` for reading. `disk` (optional)
  // is the disk copy of the same log: it bounds record sizes by its area.
  // `log_key` (empty: none) verifies the copy's sealed records; with a key
  // every record must be sealed, without one a sealed record stops the scan
  // (ReadError::kBadAuth, saying that no key was given).
  static Status OpenRemote(const std::string& uri, const std::string& name,
                           const remote_log::ConnectOptions& opts, const DiskLog* disk,
                           const std::string& log_key, std::unique_ptr<LogCopy>* out);

  bool is_remote() const { return disk_ == nullptr; }
  // "disk log PATH" or "remote log NAME on URI".
  const std::string& label() const { return label_; }
  DiskLog* disk() const { return disk_.get(); }
  const RemoteCopy& remote() const { return remote_; }
  // Null for a disk log whose file is shorter than its record area.
  log::LogSource* source() const { return source_; }
  // The scan covering the whole copy: from the disk head (expecting
  // head_lsn) or from the remote start (any LSN).
  const ScanOptions& scan() const { return scan_; }
  // The end the copy claims to hold committed records up to: the disk
  // status tail_hint, or the remote tail.
  uint64_t claimed_end() const { return claimed_end_; }
  // " (file position P)" for a disk copy, "" for a remote one.
  std::string Position(uint64_t offset) const;

 private:
  LogCopy() = default;

  std::string label_;
  std::unique_ptr<DiskLog> disk_;
  RemoteCopy remote_;
  std::unique_ptr<RemoteLogSource> remote_src_;
  std::unique_ptr<log::RecordSealer> sealer_;
  std::unique_ptr<log::UnsealingLogSource> unsealed_;
  log::LogSource* source_ = nullptr;
  ScanOptions scan_;
  uint64_t claimed_end_ = 0;
};

// The remote log name to use: `name` if given, else the disk log's id in
// hex; InvalidArgument when there is neither.
Status ResolveRemoteName(const std::string& name, const DiskLog* disk, std::string* out);

struct RemoteOptions;  // commands.h

// Opens the one remote copy a subcommand names: log `name` (resolved as
// ResolveRemoteName does, from `disk` when empty; `disk` may be null) on the
// server at `uri`, connected with `remote`'s options (and its log key).
Status OpenNamedRemoteCopy(const std::string& uri, const std::string& name,
                           const RemoteOptions& remote, const LogCopy* disk,
                           std::unique_ptr<LogCopy>* out);

}  // namespace rvmr::tools
