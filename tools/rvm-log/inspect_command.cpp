// rvm-log inspect: the status block, then every record with its offset, LSN,
// epoch, type, ranges and checksum; filters by LSN, segment and transaction.
#include <map>
#include <vector>

#include "commands.h"
#include "log_copy.h"
#include "preload_log.h"
#include "shim/log_payload.h"
#include "text_util.h"

namespace rvmr::tools {

namespace {

const char* TypeName(uint16_t t) {
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

void PrintDiskStatus(const DiskLog& d, bool json, std::ostream& out) {
  const log::LogStatus& st = d.status();
  auto copy_text = [&](int i) {
    return d.copy_status(i).ok() ? std::string("ok") : d.copy_status(i).message();
  };
  if (json) {
    out << "{\"kind\":\"status\",\"source\":\"disk\",\"path\":" << JsonString(d.path())
        << ",\"file_size\":" << d.file_size() << ",\"copy\":" << d.status_copy()
        << ",\"copy0\":" << JsonString(copy_text(0)) << ",\"copy1\":" << JsonString(copy_text(1))
        << ",\"version\":" << st.version << ",\"write_counter\":" << st.write_counter
        << ",\"log_id\":\"" << LogIdHex(st) << "\",\"create_time_ns\":" << st.create_time_ns
        << ",\"area_start\":" << st.area_start << ",\"area_size\":" << st.area_size
        << ",\"head\":" << st.head << ",\"head_lsn\":" << st.head_lsn
        << ",\"tail_hint\":" << st.tail_hint << ",\"epoch\":" << st.epoch
        << ",\"flags\":" << st.flags
        << ",\"area_complete\":" << (d.area_complete() ? "true" : "false") << "}\n";
    return;
  }
  out << "disk log " << d.path() << " (" << d.file_size() << " bytes)\n";
  out << "status: copy " << d.status_copy() << " (write counter " << st.write_counter << ")";
  int other = 1 - d.status_copy();
  if (d.copy_status(other).ok())
    out << "; copy " << other << ": valid, counter " << d.copy_counter(other) << "\n";
  else
    out << "; copy " << other << ": INVALID: " << d.copy_status(other).message() << "\n";
  out << "  version " << st.version << "  log id " << LogIdHex(st) << "  created "
      << IsoTime(st.create_time_ns) << "\n";
  out << "  area_start " << st.area_start << "  area_size " << st.area_size << "\n";
  out << "  head " << st.head << "  head_lsn " << st.head_lsn << "  tail_hint " << st.tail_hint
      << "  epoch " << st.epoch << "\n";
  if (!d.area_complete()) {
    out << "  the file is " << d.file_size() << " bytes: too short for the record area ending at "
        << st.area_start + st.area_size << "\n";
  }
}

void PrintRemoteStatus(const RemoteCopy& r, bool json, std::ostream& out) {
  if (json) {
    out << "{\"kind\":\"status\",\"source\":\"remote\",\"uri\":" << JsonString(r.uri)
        << ",\"name\":" << JsonString(r.name) << ",\"epoch\":" << r.info.epoch
        << ",\"start\":" << r.info.start << ",\"tail\":" << r.info.tail
        << ",\"durable\":" << r.info.durable << ",\"held\":" << r.info.tail - r.info.start << "}\n";
    return;
  }
  out << "remote log " << r.name << " on " << r.uri << "\n";
  out << "  epoch " << r.info.epoch << "  start " << r.info.start << "  tail " << r.info.tail
      << "  durable " << r.info.durable << "  (" << HumanBytes(r.info.tail - r.info.start)
      << " held)\n";
}

}  // namespace

int RunInspect(const InspectOptions& o, std::ostream& out, std::ostream& err) {
  if (IsPreloadLogName(o.name)) return RunInspectPreload(o, out, err);
  std::unique_ptr<LogCopy> disk, remote;
  if (!o.log_path.empty()) {
    Status s = LogCopy::OpenDisk(o.log_path, &disk);
    if (!s.ok()) {
      err << "rvm-log inspect: " << s.ToString() << "\n";
      return kExitError;
    }
  }
  if (!o.remote_uri.empty()) {
    Status s = OpenNamedRemoteCopy(o.remote_uri, o.name, o.remote, disk.get(), &remote);
    if (!s.ok()) {
      err << "rvm-log inspect: " << s.ToString() << "\n";
      return kExitError;
    }
  }
  if (!disk && !remote) {
    err << "rvm-log inspect: give a disk log path, or --remote URI (with --name)\n";
    return kExitError;
  }
  if (!remote) (void)WarnMirrorsMayHoldMore("inspect", o.log_path, err);
  LogCopy* c = remote ? remote.get() : disk.get();
  if (remote)
    PrintRemoteStatus(remote->remote(), o.json, out);
  else
    PrintDiskStatus(*disk->disk(), o.json, out);
  if (c->source() == nullptr) {
    err << "rvm-log inspect: " << c->label() << ": records not shown: the file is truncated\n";
    return kExitProblem;
  }

  // Filters.
  bool seg_by_code = false;
  uint64_t seg_code = 0;
  if (!o.segment.empty()) seg_by_code = ParseU64(o.segment, &seg_code);
  uint64_t lsn_from = o.lsn_from, lsn_to = o.lsn_to;
  if (o.has_txn) lsn_from = lsn_to = o.txn_lsn;

  std::map<uint32_t, std::string> dict;
  std::vector<log::RangeView> ranges;
  uint64_t shown = 0;
  auto seg_matches = [&](uint32_t code) {
    if (o.segment.empty()) return true;
    if (seg_by_code) return code == seg_code;
    auto it = dict.find(code);
    return it != dict.end() && it->second == o.segment;
  };
  auto visit = [&](const log::LogRecord& rec) -> Status {
    const log::RecordHeader& h = rec.header;
    uint32_t dict_code = 0;
    std::string dict_name;
    bool dict_ok = false;
    uint64_t commit_ns = 0;
    bool txn_ok = false;
    Status parse;
    ranges.clear();
    if (h.type == uint16_t(log::RecordType::kSegmentDict)) {
      parse = log::ParseSegmentDict(rec.payload, &dict_code, &dict_name);
      dict_ok = parse.ok();
      if (dict_ok) dict[dict_code] = dict_name;
    } else if (h.type == uint16_t(log::RecordType::kTransaction)) {
      parse = log::ParseTransactionPayload(rec.payload, &commit_ns, &ranges);
      txn_ok = parse.ok();
    }
    if (h.lsn < lsn_from || h.lsn > lsn_to) return Status::Ok();
    if (!o.segment.empty()) {
      bool match = false;
      if (dict_ok) match = seg_matches(dict_code);
      for (const auto& r : ranges) match = match || seg_matches(r.seg_code);
      if (!match) return Status::Ok();
    }
    shown++;
    auto seg_name = [&](uint32_t code) -> std::string {
      auto it = dict.find(code);
      return it == dict.end() ? std::string() : it->second;
    };
    std::string fpos = c->is_remote() ? "" : std::to_string(c->disk()->FilePos(h.offset));
    if (o.json) {
      out << "{\"kind\":\"record\",\"offset\":" << h.offset;
      if (!fpos.empty()) out << ",\"file_pos\":" << fpos;
      out << ",\"lsn\":" << h.lsn << ",\"epoch\":" << h.epoch << ",\"type\":\"" << TypeName(h.type)
          << "\",\"type_code\":" << h.type << ",\"flags\":" << h.flags
          << ",\"payload_len\":" << h.payload_len << ",\"size\":" << log::RecordSize(h.payload_len)
          << ",\"crc\":\"" << Hex32(h.crc) << "\"";
      if (dict_ok) {
        out << ",\"segment_code\":" << dict_code << ",\"segment\":" << JsonString(dict_name);
      }
      if (txn_ok) {
        out << ",\"commit_time_ns\":" << commit_ns << ",\"ranges\":[";
        for (size_t i = 0; i < ranges.size(); i++) {
          const auto& r = ranges[i];
          out << (i ? "," : "") << "{\"segment_code\":" << r.seg_code
              << ",\"segment\":" << JsonString(seg_name(r.seg_code))
              << ",\"offset\":" << r.seg_offset << ",\"length\":" << r.length;
          if (o.has_txn) out << ",\"data\":\"" << HexBytes(r.data, r.length) << "\"";
          out << "}";
        }
        out << "]";
      }
      if (!parse.ok()) out << ",\"payload_error\":" << JsonString(parse.message());
      out << "}\n";
      return Status::Ok();
    }
    out << "offset " << h.offset;
    if (!fpos.empty()) out << " (file " << fpos << ")";
    out << "  lsn " << h.lsn << "  epoch " << h.epoch << "  " << TypeName(h.type) << "  len "
        << h.payload_len << "  crc " << Hex32(h.crc);
    if (h.type == uint16_t(log::RecordType::kTransaction)) out << "  flags " << FlagNames(h.flags);
    if (dict_ok) out << "  code " << dict_code << " -> " << dict_name;
    if (txn_ok) out << "  ranges " << ranges.size() << "  committed " << IsoTime(commit_ns);
    if (!parse.ok()) out << "  BAD PAYLOAD: " << parse.message();
    out << "\n";
    for (const auto& r : ranges) {
      std::string n = seg_name(r.seg_code);
      out << "    seg " << r.seg_code << " (" << (n.empty() ? "?" : n) << ")  offset "
          << r.seg_offset << "  length " << r.length << "\n";
      if (o.has_txn) {
        for (uint64_t i = 0; i < r.length; i += 32) {
          out << "      " << HexBytes(r.data + i, std::min<uint64_t>(32, r.length - i)) << "\n";
        }
      }
    }
    return Status::Ok();
  };
  if (!o.json) out << "records:\n";
  ScanResult res;
  Status s = ScanLog(c->source(), c->scan(), visit, &res);
  if (!s.ok()) {
    err << "rvm-log inspect: " << s.ToString() << "\n";
    return kExitError;
  }
  std::string why = res.io_error() ? res.stop_status.ToString() : log::ReadErrorName(res.stop);
  if (o.json) {
    out << "{\"kind\":\"end\",\"offset\":" << res.end;
    if (!c->is_remote()) out << ",\"file_pos\":" << c->disk()->FilePos(res.end);
    out << ",\"last_lsn\":" << res.end_lsn << ",\"reason\":" << JsonString(why)
        << ",\"damage\":" << (res.damage ? "true" : "false") << ",\"records\":" << res.records
        << ",\"transactions\":" << res.transactions << ",\"bytes\":" << res.txn_bytes
        << ",\"shown\":" << shown << "}\n";
  } else {
    out << "end: offset " << res.end << c->Position(res.end) << ", last lsn " << res.end_lsn << ": "
        << why
        << (res.damage ? " (DAMAGED or torn record)"
                       : (res.io_error() ? "" : " (normal end of the log)"))
        << "\n";
    out << "summary: " << res.records << " records, " << res.transactions << " transactions, "
        << res.txn_bytes << " bytes of range data in [" << c->scan().start << ", " << res.end
        << ")";
    if (shown != res.records) out << "; " << shown << " shown";
    out << "\n";
  }
  return (res.damage || res.io_error()) ? kExitProblem : kExitOk;
}

}  // namespace rvmr::tools
