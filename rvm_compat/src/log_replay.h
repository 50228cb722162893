// Recovery and apply: the records of a log file's committed part written to
// the data segments, at open (recovery) and by truncation. Both go through
// the shim's LogApplier; this file decides what a bad record means.
#pragma once

#include <cstdint>

#include "internal.h"
#include "log_file.h"

namespace rvmr::compat {

enum class ApplyMode {
  // Truncation: [head, limit) is known durable; any bad record is damage
  // (RVM_EIO, nothing written).
  kCommitted,
  // Recovery: limit is only a bound; the first record that does not read
  // back ends the log (reported when it looks like damage, not a torn tail).
  kRecovery,
};

// Applies the records of `file` from `head` (whose record carries
// `head_lsn`) up to `limit` to the segment files, each segment written once
// with its ranges merged and fdatasynced. On success *end / *end_lsn are the
// offset and LSN after the last record applied. Writes nothing when
// rvm_no_update is set. RVM_EIO (rvm_errmsg set, cause on stderr) on a read
// or write error, or on a bad record in kCommitted mode.
rvm_return_t ApplyLog(const LogFile& file, uint64_t head, uint64_t head_lsn, uint64_t limit,
                      ApplyMode mode, uint64_t* end, uint64_t* end_lsn);

// Recovery at open: applies everything valid from the status block's head,
// then moves the head (and tail hint) to the end found and writes the status
// block. *end / *end_lsn: where the next record goes.
rvm_return_t RecoverLog(LogFile* file, uint64_t* end, uint64_t* end_lsn);

}  // namespace rvmr::compat
