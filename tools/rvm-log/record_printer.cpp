#include "record_printer.h"

#include <algorithm>

#include "text_util.h"

namespace rvmr::tools {

namespace {

std::string FlagNames(uint32_t f) {
  std::string s;
  auto add = [&](const char* n) {
    if (!s.empty()) s += ",";
    s += n;
  };
  if (f & log::kTxnFlagFlush) add("flush");
  if (f & log::kTxnFlagRestore) add("restore");
  if (f & log::kTxnFlagCoalesced) add("coalesced");
  if (f & ~uint32_t(7)) add(Hex32(f & ~uint32_t(7)).c_str());
  return s.empty() ? "-" : s;
}

}  // namespace

const char* RecordTypeName(uint16_t t) {
  switch (static_cast<log::RecordType>(t)) {
    case log::RecordType::kTransaction:
      return "transaction";
    case log::RecordType::kSegmentDict:
      return "segment_dict";
    case log::RecordType::kPadding:
      return "padding";
  }
  return "unknown";
}

RecordPrinter::RecordPrinter(const InspectOptions& o, std::ostream& out, std::ostream& err)
    : o_(o), out_(&out), err_(err), lsn_from_(o.lsn_from), lsn_to_(o.lsn_to) {
  if (!o.segment.empty()) seg_by_code_ = ParseU64(o.segment, &seg_code_);
  if (o.has_txn) lsn_from_ = lsn_to_ = o.txn_lsn;
}

std::string RecordPrinter::SegmentName(uint32_t code) const {
  auto it = dict_.find(code);
  return it == dict_.end() ? std::string() : it->second;
}

void RecordPrinter::NoteFromOffset(const log::LogRecord& rec, const LogCopy& c) {
  from_seen_ = true;
  uint64_t from = o_.from_offset;
  if (rec.offset() == from || from == 0) return;
  std::string note;
  if (!has_prev_) {
    note = "--from-offset " + std::to_string(from) + " is before the first record the copy holds";
  } else if (prev_end_ > from) {
    note = "--from-offset " + std::to_string(from) + " is inside the record at offset " +
           std::to_string(prev_offset_) + " (to " + std::to_string(prev_end_) +
           "), not at a record boundary";
  } else {
    note = "no record starts at --from-offset " + std::to_string(from);
  }
  err_ << "rvm-log inspect: note: " << c.label() << ": " << note
       << "; showing from the next record, at offset " << rec.offset() << "\n";
}

void RecordPrinter::Visit(const log::LogRecord& rec, const LogCopy& c) {
  const log::RecordHeader& h = rec.header;
  uint32_t dict_code = 0;
  std::string dict_name;
  bool dict_ok = false;
  uint64_t commit_ns = 0;
  bool txn_ok = false;
  Status parse;
  ranges_.clear();
  if (h.type == uint16_t(log::RecordType::kSegmentDict)) {
    parse = log::ParseSegmentDict(rec.payload, &dict_code, &dict_name);
    dict_ok = parse.ok();
    if (dict_ok) dict_[dict_code] = dict_name;
  } else if (h.type == uint16_t(log::RecordType::kTransaction)) {
    parse = log::ParseTransactionPayload(rec.payload, &commit_ns, &ranges_);
    txn_ok = parse.ok();
  }
  bool before_from = h.offset < o_.from_offset;
  if (!before_from && !from_seen_) NoteFromOffset(rec, c);
  has_prev_ = true;
  prev_offset_ = rec.offset();
  prev_end_ = rec.end();
  if (before_from || limit_reached_) return;
  if (h.lsn < lsn_from_ || h.lsn > lsn_to_) return;
  if (!o_.segment.empty()) {
    auto matches = [&](uint32_t code) {
      if (seg_by_code_) return code == seg_code_;
      auto it = dict_.find(code);
      return it != dict_.end() && it->second == o_.segment;
    };
    bool match = dict_ok && matches(dict_code);
    for (const auto& r : ranges_) match = match || matches(r.seg_code);
    if (!match) return;
  }
  shown_++;
  if (o_.limit != 0 && shown_ >= o_.limit) limit_reached_ = true;
  std::string fpos = c.is_remote() ? "" : std::to_string(c.disk()->FilePos(h.offset));
  if (o_.json) {
    *out_ << "{\"kind\":\"record\",\"offset\":" << h.offset;
    if (!fpos.empty()) *out_ << ",\"file_pos\":" << fpos;
    *out_ << ",\"lsn\":" << h.lsn << ",\"epoch\":" << h.epoch << ",\"type\":\""
          << RecordTypeName(h.type) << "\",\"type_code\":" << h.type << ",\"flags\":" << h.flags
          << ",\"payload_len\":" << h.payload_len << ",\"size\":" << log::RecordSize(h.payload_len)
          << ",\"crc\":\"" << Hex32(h.crc) << "\"";
    if (dict_ok) {
      *out_ << ",\"segment_code\":" << dict_code << ",\"segment\":" << JsonString(dict_name);
    }
    if (txn_ok) {
      *out_ << ",\"commit_time_ns\":" << commit_ns << ",\"ranges\":[";
      for (size_t i = 0; i < ranges_.size(); i++) {
        const auto& r = ranges_[i];
        *out_ << (i ? "," : "") << "{\"segment_code\":" << r.seg_code
              << ",\"segment\":" << JsonString(SegmentName(r.seg_code))
              << ",\"offset\":" << r.seg_offset << ",\"length\":" << r.length;
        if (o_.has_txn) *out_ << ",\"data\":\"" << HexBytes(r.data, r.length) << "\"";
        *out_ << "}";
      }
      *out_ << "]";
    }
    if (!parse.ok()) *out_ << ",\"payload_error\":" << JsonString(parse.message());
    *out_ << "}\n";
    return;
  }
  *out_ << "offset " << h.offset;
  if (!fpos.empty()) *out_ << " (file " << fpos << ")";
  *out_ << "  lsn " << h.lsn << "  epoch " << h.epoch << "  " << RecordTypeName(h.type) << "  len "
        << h.payload_len << "  crc " << Hex32(h.crc);
  if (h.type == uint16_t(log::RecordType::kTransaction)) *out_ << "  flags " << FlagNames(h.flags);
  if (dict_ok) *out_ << "  code " << dict_code << " -> " << dict_name;
  if (txn_ok) *out_ << "  ranges " << ranges_.size() << "  committed " << IsoTime(commit_ns);
  if (!parse.ok()) *out_ << "  BAD PAYLOAD: " << parse.message();
  *out_ << "\n";
  for (const auto& r : ranges_) {
    std::string n = SegmentName(r.seg_code);
    *out_ << "    seg " << r.seg_code << " (" << (n.empty() ? "?" : n) << ")  offset "
          << r.seg_offset << "  length " << r.length << "\n";
    if (o_.has_txn) {
      for (uint64_t i = 0; i < r.length; i += 32) {
        *out_ << "      " << HexBytes(r.data + i, std::min<uint64_t>(32, r.length - i)) << "\n";
      }
    }
  }
}

}  // namespace rvmr::tools
