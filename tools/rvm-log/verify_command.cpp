// rvm-log verify: checks every checksum, sequence and boundary of one copy.
// Exit 0 only if the copy is sound; otherwise the first problem's offset (and
// file position) and reason.
#include <algorithm>
#include <set>
#include <vector>

#include "commands.h"
#include "log_copy.h"
#include "preload_log.h"
#include "shim/log_payload.h"
#include "text_util.h"

namespace rvmr::tools {

namespace {

struct Problem {
  bool found = false;
  uint64_t offset = 0;
  bool has_offset = false;
  std::string reason;
};

// Verifies one copy: the disk log at `log_path`, or (with o.remote_uri) its
// remote copy; `log_path` may be empty when o.name names the remote copy.
int VerifyOne(const VerifyOptions& o, const std::string& log_path, std::ostream& out,
              std::ostream& err) {
  std::unique_ptr<LogCopy> disk, remote;
  auto fail_run = [&](const Status& s) {
    err << "rvm-log verify: " << s.ToString() << "\n";
    return kExitError;
  };
  if (!log_path.empty()) {
    Status s = LogCopy::OpenDisk(log_path, &disk);
    if (!s.ok()) {
      // Damaged status blocks are a problem with the log; a file that is not
      // a log, or cannot be read, is a usage or I/O error.
      if (ExitCodeFor(s) == kExitProblem) {
        if (o.json)
          out << "{\"kind\":\"verify\",\"sound\":false,\"reason\":" << JsonString(s.message())
              << "}\n";
        else
          out << "FAIL: " << s.message() << "\n";
        return kExitProblem;
      }
      return fail_run(s);
    }
  }
  if (!o.remote_uri.empty()) {
    Status s = OpenNamedRemoteCopy(o.remote_uri, o.name, o.remote, disk.get(), &remote);
    if (!s.ok()) return fail_run(s);
  }
  if (!disk && !remote) {
    return fail_run(Status::InvalidArgument("give a disk log path, or --remote URI (with --name)"));
  }
  if (!remote) (void)WarnMirrorsMayHoldMore("verify", log_path, err);
  LogCopy* c = remote ? remote.get() : disk.get();

  Problem p;
  std::vector<std::string> warnings;
  auto problem = [&](std::string reason, bool has_off, uint64_t off) {
    if (p.found) return;
    p.found = true;
    p.reason = std::move(reason);
    p.has_offset = has_off;
    p.offset = off;
  };

  if (!c->is_remote()) {
    const DiskLog& d = *c->disk();
    const log::LogStatus& st = d.status();
    for (int i = 0; i < 2; i++) {
      if (!d.copy_status(i).ok()) {
        warnings.push_back(
            "status copy " + std::to_string(i) +
            " is invalid (a torn status write leaves one): " + d.copy_status(i).message());
      }
    }
    if (!d.area_complete()) {
      problem("the file is " + std::to_string(d.file_size()) +
                  " bytes, but the status block puts the record area at [" +
                  std::to_string(st.area_start) + ", " +
                  std::to_string(st.area_start + st.area_size) + ")",
              false, 0);
    } else if (d.file_size() > st.area_start + st.area_size) {
      warnings.push_back("the file is " + std::to_string(d.file_size()) +
                         " bytes, longer than the record area's end " +
                         std::to_string(st.area_start + st.area_size));
    }
    if (st.tail_hint < st.head || st.tail_hint - st.head > st.area_size) {
      problem("status block: tail_hint " + std::to_string(st.tail_hint) + " is outside [head " +
                  std::to_string(st.head) + ", head + area_size]",
              false, 0);
    }
  }

  ScanResult res;
  if (c->source() != nullptr && !p.found) {
    std::set<uint32_t> named;
    std::vector<log::RangeView> ranges;
    auto visit = [&](const log::LogRecord& rec) -> Status {
      const log::RecordHeader& h = rec.header;
      if (h.type == uint16_t(log::RecordType::kSegmentDict)) {
        uint32_t code = 0;
        std::string name;
        Status s = log::ParseSegmentDict(rec.payload, &code, &name);
        if (!s.ok())
          problem("segment dictionary record (lsn " + std::to_string(h.lsn) + "): " + s.message(),
                  true, h.offset);
        else
          named.insert(code);
      } else if (h.type == uint16_t(log::RecordType::kTransaction)) {
        uint64_t t = 0;
        ranges.clear();
        Status s = log::ParseTransactionPayload(rec.payload, &t, &ranges);
        if (!s.ok()) {
          problem("transaction record (lsn " + std::to_string(h.lsn) + "): " + s.message(), true,
                  h.offset);
        }
        for (const auto& r : ranges) {
          if (!named.count(r.seg_code)) {
            // A remote copy may start after the dictionary records.
            std::string msg = "transaction (lsn " + std::to_string(h.lsn) +
                              ") writes segment code " + std::to_string(r.seg_code) +
                              " that no earlier dictionary record in the copy names";
            if (c->is_remote())
              warnings.push_back("offset " + std::to_string(h.offset) + ": " + msg);
            else
              problem(msg, true, h.offset);
            named.insert(r.seg_code);  // say it once
          }
          if (r.seg_offset + r.length < r.seg_offset)
            problem("transaction (lsn " + std::to_string(h.lsn) +
                        ") has a range overflowing "
                        "the segment offset space",
                    true, h.offset);
        }
      } else if (h.type != uint16_t(log::RecordType::kPadding)) {
        problem(
            "record (lsn " + std::to_string(h.lsn) + ") of unknown type " + std::to_string(h.type),
            true, h.offset);
      }
      return Status::Ok();
    };
    ScanOptions so = c->scan();
    so.stop_at = o.to_offset;
    Status s = ScanLog(c->source(), so, visit, &res);
    if (!s.ok()) return fail_run(s);
    if (res.io_error()) {
      return fail_run(Status::IoError(c->label() + ": offset " + std::to_string(res.end) +
                                      ": read failed: " + res.stop_status.ToString()));
    }
    // The end the copy must reach: what it claims, or --to-offset.
    const uint64_t claimed = std::min(c->claimed_end(), o.to_offset);
    if (res.damage) {
      problem(std::string(log::ReadErrorName(res.stop)) + " (damaged or torn record)", true,
              res.end);
    }
    if (c->is_remote()) {
      // A remote copy holds whole records only: every byte must be accounted for.
      if (res.end < claimed) {
        problem(std::string(log::ReadErrorName(res.stop)) + ": the copy holds bytes up to " +
                    std::to_string(claimed) + " that are not valid records",
                true, res.end);
      }
    } else if (res.end < claimed) {
      problem(std::string("the log ends here (") + log::ReadErrorName(res.stop) +
                  ") but the status block says records up to tail_hint " +
                  std::to_string(c->claimed_end()) + " were durable",
              true, res.end);
    }
  }

  for (const auto& w : warnings)
    err << "rvm-log verify: warning: " << c->label() << ": " << w << "\n";
  std::string where;
  if (p.has_offset) where = "offset " + std::to_string(p.offset) + c->Position(p.offset) + ": ";
  if (o.json) {
    out << "{\"kind\":\"verify\",\"copy\":" << JsonString(c->label())
        << ",\"sound\":" << (p.found ? "false" : "true");
    if (p.found) {
      if (p.has_offset) {
        out << ",\"offset\":" << p.offset;
        if (!c->is_remote()) out << ",\"file_pos\":" << c->disk()->FilePos(p.offset);
      }
      out << ",\"reason\":" << JsonString(p.reason);
    }
    out << ",\"start\":" << c->scan().start << ",\"end\":" << res.end
        << ",\"records\":" << res.records << ",\"transactions\":" << res.transactions
        << ",\"last_lsn\":" << res.end_lsn << ",\"stop\":\"" << log::ReadErrorName(res.stop)
        << "\",\"warnings\":" << warnings.size() << "}\n";
  } else if (p.found) {
    out << "FAIL: " << c->label() << ": " << where << p.reason << "\n";
  } else {
    out << "OK: " << c->label() << ": " << res.records << " records (" << res.transactions
        << " transactions, " << res.txn_bytes << " bytes of range data) in [" << c->scan().start
        << ", " << res.end << "), last lsn " << res.end_lsn << "; ends cleanly ("
        << log::ReadErrorName(res.stop) << ")\n";
  }
  return p.found ? kExitProblem : kExitOk;
}

}  // namespace

int RunVerify(const VerifyOptions& o, std::ostream& out, std::ostream& err) {
  if (IsPreloadLogName(o.name)) return RunVerifyPreload(o, out, err);
  Status args = CheckLogArguments(o.log_paths, o.remote_uri, o.name);
  if (!args.ok()) {
    err << "rvm-log verify: " << args.message() << "\n";
    return kExitError;
  }
  return ForEachLog(o.log_paths, o.json, out,
                    [&](const std::string& path) { return VerifyOne(o, path, out, err); });
}

}  // namespace rvmr::tools
