#include "log_scan.h"

#include <vector>

#include "shim/log_payload.h"

namespace rvmr::tools {

Status ScanLog(log::LogSource* src, const ScanOptions& opts, const RecordVisitor& visit,
               ScanResult* result) {
  *result = ScanResult();
  result->end = opts.start;
  log::LogRecordReader reader(src, opts.start, opts.limit, opts.first_lsn, opts.max_epoch);
  log::LogRecord rec;
  std::vector<log::RangeView> ranges;
  for (;;) {
    if (reader.offset() >= opts.stop_at) {  // not even read: it may be damaged
      result->stop = log::ReadError::kEndOfRange;
      result->halted = true;
      break;
    }
    Status s = reader.ReadRecord(&rec);
    if (!s.ok()) {
      result->stop = reader.error();
      result->damage = reader.error_is_damage();
      result->stop_status = s;
      break;
    }
    result->records++;
    result->end = reader.offset();
    result->end_lsn = rec.header.lsn;
    result->last_epoch = rec.header.epoch;
    if (rec.header.type == uint16_t(log::RecordType::kTransaction)) {
      result->transactions++;
      uint64_t t = 0;
      ranges.clear();
      if (log::ParseTransactionPayload(rec.payload, &t, &ranges).ok()) {
        for (const auto& r : ranges) result->txn_bytes += r.length;
      }
    }
    if (visit) {
      s = visit(rec);
      if (!s.ok()) return s;
    }
    if (opts.halt != nullptr && *opts.halt) {
      result->stop = log::ReadError::kEndOfRange;
      result->halted = true;
      break;
    }
  }
  return Status::Ok();
}

std::string DescribeStop(const ScanResult& r) {
  std::string s = "offset " + std::to_string(r.end) + ": ";
  if (r.io_error()) return s + "read failed: " + r.stop_status.ToString();
  if (r.stop == log::ReadError::kBadAuth) return s + r.stop_status.message();
  s += log::ReadErrorName(r.stop);
  if (r.damage) s += " (damaged or torn record)";
  return s;
}

}  // namespace rvmr::tools
