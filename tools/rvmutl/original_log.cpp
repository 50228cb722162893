#include "original_log.h"

#include <cinttypes>
#include <ctime>

namespace rvmr::rvmutl {

namespace {

std::string TimeString(const coda::Timeval& tv) {
  if (tv.zero()) return "-";
  time_t secs = static_cast<time_t>(tv.sec);
  char buf[64];
  struct tm tmv;
  localtime_r(&secs, &tmv);
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tmv);
  snprintf(buf + n, sizeof(buf) - n, ".%06" PRId64, tv.usec);
  return buf;
}

const char* EndName(coda::LogEnd e) {
  switch (e) {
    case coda::LogEnd::kClean:
      return "clean";
    case coda::LogEnd::kTorn:
      return "torn";
    case coda::LogEnd::kDamaged:
      return "DAMAGED";
  }
  return "?";
}

}  // namespace

void PrintOriginalStatus(FILE* out, const coda::CodaLog& log) {
  const coda::LogStatus& st = log.status();
  fprintf(out, "Status of log:           %s (a log of the original RVM)\n\n", log.path().c_str());
  fprintf(out, "  interface version:     %s\n", st.version.c_str());
  fprintf(out, "  log version:           %s\n", st.log_version.c_str());
  fprintf(out, "  created:               %s\n", TimeString(st.status_init).c_str());
  fprintf(out, "  last status write:     %s\n", TimeString(st.status_write).c_str());
  fprintf(out, "  last truncation:       %s\n", TimeString(st.last_trunc).c_str());
  fprintf(out, "  log data area start:   %" PRIu64 "\n", st.log_start);
  fprintf(out, "  log data area size:    %" PRIu64 "\n", st.log_size);
  fprintf(out, "  head (file offset):    %" PRIu64 "\n", st.log_head);
  fprintf(out, "  tail, status block:    %" PRIu64 "\n", st.log_tail);
  if (st.prev_log_head != 0)
    fprintf(out, "  truncation under way:  previous head %" PRIu64 ", previous tail %" PRIu64 "\n",
            st.prev_log_head, st.prev_log_tail);
  fprintf(out, "  tail, found:           %" PRIu64 " (end of the log: %s, %s)\n", log.tail(),
          EndName(log.end()), log.end_reason().c_str());
  fprintf(out, "  record numbers:        first %" PRIu64 ", next %" PRIu64 "\n", st.first_rec_num,
          log.next_rec_num());
  fprintf(out, "  log %s; %zu committed transaction(s) not yet applied (%" PRIu64
          " ranges, %" PRIu64 " bytes), %zu segment record(s), %" PRIu64 " wrap(s)\n",
          log.transactions().empty() ? "empty" : "not empty", log.transactions().size(),
          log.ranges(), log.range_bytes(), log.segments().size(), log.wraps());
}

void PrintOriginalRecords(FILE* out, const coda::CodaLog& log, size_t from, size_t to) {
  const auto& recs = log.records();
  for (size_t i = from; i < to && i < recs.size(); ++i) {
    const coda::Record& r = recs[i];
    switch (r.kind) {
      case coda::RecordKind::kWrap:
        fprintf(out, "Record %" PRIu64 ": log wrap marker at offset %" PRIu64 "\n", r.rec_num,
                r.file_offset);
        break;
      case coda::RecordKind::kSegment: {
        const coda::Segment& s = log.segments()[r.index];
        fprintf(out, "Record %" PRIu64 ": segment dictionary at offset %" PRIu64
                ": code %" PRId64 " = %s (%" PRIu64 " bytes)\n",
                r.rec_num, r.file_offset, s.seg_code, s.name.c_str(), s.num_bytes);
        break;
      }
      case coda::RecordKind::kTransaction: {
        const coda::Transaction& t = log.transactions()[r.index];
        fprintf(out, "Record %" PRIu64 ": transaction at offset %" PRIu64
                ", committed %s, flags:%s%s%s, %zu range(s)\n",
                r.rec_num, r.file_offset, TimeString(t.commit_stamp).c_str(),
                (t.flags & coda::kFlagFlush) ? " flush" : " no_flush",
                (t.flags & coda::kFlagRestore) ? " restore" : " no_restore",
                t.split ? " split at the wrap" : "", t.ranges.size());
        for (size_t k = 0; k < t.ranges.size(); ++k) {
          const coda::Range& g = t.ranges[k];
          fprintf(out, "    range %zu: segment %" PRId64 ", offset %" PRIu64 " (0x%" PRIx64
                  "), length %" PRIu64 "%s\n",
                  k + 1, g.seg_code, g.offset, g.offset, g.length, g.is_split ? ", split" : "");
        }
        break;
      }
    }
  }
}

void PrintOriginalSegments(FILE* out, const coda::CodaLog& log) {
  fprintf(out, "Segment dictionary:\n");
  for (const coda::Segment& s : log.segments())
    fprintf(out, "  %" PRId64 ": %s\n", s.seg_code, s.name.c_str());
}

bool RecoverOriginalLog(std::unique_ptr<coda::CodaLog>* log, const coda::ApplyOptions& options) {
  const std::string path = (*log)->path();
  coda::ApplyResult res;
  Status s = coda::ApplyLog(**log, options, &res);
  if (!s.ok()) {
    fprintf(stderr, "? recovery failed: %s\n", s.ToString().c_str());
    return false;
  }
  printf("%s %" PRIu64 " committed transaction(s) of the original RVM's log (%" PRIu64
         " ranges, %" PRIu64 " bytes)%s\n",
         options.dry_run ? "checked (no_update: nothing written)" : "applied", res.transactions,
         res.ranges, res.bytes, options.dry_run ? "" : " to:");
  for (const auto& [seg, bytes] : res.bytes_per_segment)
    printf("  %s: %" PRIu64 " bytes\n", seg.c_str(), bytes);
  if (options.dry_run) return true;
  std::unique_ptr<coda::CodaLog> reopened;
  s = coda::CodaLog::Open(path, &reopened);
  if (!s.ok()) {
    fprintf(stderr, "? cannot read the log back: %s\n", s.ToString().c_str());
    return false;
  }
  *log = std::move(reopened);
  printf("log %s is now empty; make a log of this RVM with: init_log %s <length>\n", path.c_str(),
         path.c_str());
  return true;
}

}  // namespace rvmr::rvmutl
