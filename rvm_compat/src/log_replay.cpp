#include "log_replay.h"

#include "common/diag.h"
#include "log_stats.h"
#include "rvm_error.h"
#include "shim/log_applier.h"
#include "shim/log_record_reader.h"
#include "shim/log_source.h"

namespace rvmr::compat {

rvm_return_t ApplyLog(const LogFile& file, uint64_t head, uint64_t head_lsn, uint64_t limit,
                      ApplyMode mode, uint64_t* end, uint64_t* end_lsn) {
  const log::LogStatus& st = file.status();
  const char* path = file.path().c_str();
  // "log <path>: recovery" or "log <path>: truncation": what a failure was doing.
  const std::string doing =
      "log " + file.path() + (mode == ApplyMode::kRecovery ? ": recovery" : ": truncation");
  log::FileLogSource src(file.fd(), st.area_start, st.area_size);
  log::LogRecordReader reader(&src, head, limit, head_lsn, st.epoch);
  log::LogApplyOptions opts;
  opts.coalesce = true;
  // Large ranges go to the segment as they are met: merging saves nothing
  // on them, and copying them costs as much as the write.
  opts.direct_min = 16 * 1024;
  opts.fault_point = "rvm.apply_extent";
  log::LogApplier applier(std::move(opts));
  log::LogRecord rec;
  uint64_t next_lsn = head_lsn;
  for (;;) {
    uint64_t at = reader.offset();
    Status s = reader.ReadRecord(&rec);
    if (!s.ok()) {
      if (reader.error() == log::ReadError::kEndOfRange) break;
      if (reader.error() == log::ReadError::kIo) {
        SetRvmErrmsg("read error on the log");
        return Fail(std::move(s).WithContext(doing + ": reading the log"));
      }
      if (mode == ApplyMode::kCommitted) {
        SetRvmErrmsg("corrupt record inside the committed part of the log");
        return Fail(std::move(s).WithContext(doing + ": inside the committed log"));
      }
      if (reader.error_is_damage() || at < st.tail_hint) {
        Report(DiagLevel::kWarning,
               "log %s: %s; the log is cut off at offset %llu (nothing from there on is "
               "applied)",
               path, s.ToString().c_str(), static_cast<unsigned long long>(at));
      }
      break;
    }
    s = applier.Apply(rec);
    if (!s.ok()) {
      SetRvmErrmsg("cannot apply a log record to its segment");
      return Fail(std::move(s).WithContext(doing + ": applying a record to its segment"));
    }
    next_lsn = rec.header.lsn + 1;
  }
  *end = reader.offset();
  *end_lsn = next_lsn;
  if (rvm_no_update) return RVM_SUCCESS;
  Status s = applier.Finish();
  if (!s.ok()) {
    SetRvmErrmsg("cannot write a data segment");
    return Fail(std::move(s).WithContext(doing + ": writing the applied records to the segments"));
  }
  return RVM_SUCCESS;
}

rvm_return_t RecoverLog(LogFile* file, uint64_t* end, uint64_t* end_lsn) {
  log::LogStatus& st = file->status();
  rvm_return_t rc = ApplyLog(*file, st.head, st.head_lsn, st.head + st.area_size,
                             ApplyMode::kRecovery, end, end_lsn);
  if (rc != RVM_SUCCESS) return rc;
  st.head = *end;
  st.head_lsn = *end_lsn;
  st.tail_hint = *end;
  Status s = file->WriteStatus("recovery");
  if (!s.ok()) {
    SetRvmErrmsg("cannot write the log's status block");
    return Fail(s);
  }
  return RVM_SUCCESS;
}

}  // namespace rvmr::compat
