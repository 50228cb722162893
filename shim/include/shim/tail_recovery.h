// TailRecovery: before the RVM core recovers a log in remote mode, bring the
// disk copy up to date from the mirrors.
//
// The disk copy may lack the tail that the mirrors acknowledged but the disk
// writer had not yet synced (a local crash). TailRecovery scans the disk
// copy, opens the log on every reachable mirror with a new epoch (fencing any
// older writer), reads from each mirror what lies beyond the disk's valid
// end, verifies it record by record (offset, LSN, epoch, CRC32C) as a
// continuation of the disk copy, takes the longest verified continuation
// (the freshest consistent copy), writes it to the disk and fdatasyncs.
// Every copy found corrupt, missing or unreachable is reported; a range that
// was acknowledged but can be found nowhere is reported exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "remote_log/transport.h"
#include "shim/log_status.h"
#include "shim/shim_config.h"

namespace rvmr {

struct TailRecoveryReport {
  uint64_t epoch = 0;            // the epoch the log was opened with
  uint64_t disk_tail = 0;        // end of the valid disk copy before recovery
  uint64_t recovered_tail = 0;   // end after copying from the mirrors
  uint64_t fetched_bytes = 0;    // recovered_tail - disk_tail
  std::string source;            // URI of the mirror the tail came from ("" if none)
  size_t mirrors_reachable = 0;  // mirrors that answered
  size_t mirrors_with_log = 0;   // mirrors that hold the log
  // Lost: bytes [lost_from, lost_to) may have been acknowledged (enough
  // mirrors claim them to have made a write quorum) but no copy can supply
  // them verified (trimmed past the disk copy, or failing verification).
  bool lost = false;
  uint64_t lost_from = 0, lost_to = 0;
  // Too few mirrors answered holding the log to bound what was acknowledged
  // (fewer than N - W + 1): commits acknowledged after recovered_tail, if
  // any, cannot be checked.
  bool unverified = false;
  std::vector<std::string> problems;  // one line per copy found wanting
  // Mirror copies that the log's marker says were abandoned (see
  // TailRecoveryOptions): each mirror's bytes [from, to) were dropped.
  struct Dropped {
    std::string uri;
    uint64_t from = 0, to = 0;
  };
  std::vector<Dropped> dropped;
  // Padding records written on the disk copy at [padded_from, padded_to) so
  // that the log continues beyond the offsets a dropped copy used (empty:
  // none were needed).
  uint64_t padded_from = 0, padded_to = 0;
};

// What the log's marker (remote_marker.h) tells recovery.
struct TailRecoveryOptions {
  // The log has been used in remote mode and not closed cleanly since, so
  // mirrors that do not hold it lost it (restarted) rather than never had it.
  bool used_before = false;
  // A start without mirrors abandoned the mirrors' copy (marker state
  // abandoned): every copy a mirror holds is void.
  bool abandoned = false;
  // Copies with an epoch below this are void too (0: none).
  uint64_t stale_below_epoch = 0;
  // Where the disk copy ended when the copies were abandoned (for messages).
  uint64_t abandoned_disk_end = 0;
  // The log key (log_key.h; empty: none): every sealed record fetched from a
  // mirror is verified with it before it is used, and one that fails is
  // treated as absent and reported with the mirror and its offset.
  std::string log_key;
  // Plain (unsealed) records from a mirror are refused too (the writer
  // protects its records: a mirror cannot downgrade that).
  bool require_sealed = false;
};

// Runs tail recovery for the log open on `fd` whose status is `st`, with the
// mirrors and policy in `sc`; the remote log is named `name`. Fills *rep.
// Returns an error only for local I/O failures, or when sc's policy forbids
// going on (require_mirror_at_recovery with no mirror vouching, or a lost
// range under the strict policy).
// `used_before`: the log has been opened in remote mode before (its marker
// file exists), so mirrors without the log lost it rather than never had it.
Status RecoverTailFromMirrors(int fd, const log::LogStatus& st, const ShimConfig& sc,
                              const std::string& name, TailRecoveryReport* rep,
                              bool used_before = false);

// As above, with void copies: a mirror copy that `opt` says was abandoned is
// opened with the new epoch (fencing), never used as a source, and emptied
// (trimmed to its own tail); if it reached beyond the disk copy, padding
// records are written on disk (durably, before the trims) so that the log
// continues beyond every offset it used and the mirrors can be caught up
// from the disk. rep->dropped and rep->padded_* say what was done, and so
// does a line on stderr per dropped copy.
Status RecoverTailFromMirrors(int fd, const log::LogStatus& st, const ShimConfig& sc,
                              const std::string& name, const TailRecoveryOptions& opt,
                              TailRecoveryReport* rep);

// Scans the disk copy of the log open on `fd` (status `st`) from head: *tail
// is the end of the valid records, *next_lsn the LSN the next record must
// carry. IoError if the disk cannot be read.
Status ScanDiskTail(int fd, const log::LogStatus& st, uint64_t* tail, uint64_t* next_lsn);

// How the shim connects to a mirror: the secret and timeouts of `sc`
// (busy polling is left to the append path).
remote_log::ConnectOptions MirrorConnectOptions(const ShimConfig& sc);

// The remote log's default name: the log id as 32 lowercase hex digits.
std::string RemoteLogName(const log::LogStatus& st);

}  // namespace rvmr
