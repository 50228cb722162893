// rvm-log diff: compares the disk copy with one or more remote copies: the
// identical prefix, where they differ, and which holds more committed
// transactions.
#include <algorithm>
#include <vector>

#include "commands.h"
#include "log_copy.h"
#include "shim/log_key.h"
#include "text_util.h"

namespace rvmr::tools {

namespace {

// What identifies a record's bytes: the CRC covers header and payload.
struct RecSum {
  uint64_t offset, end, lsn, epoch;
  uint32_t crc;
  uint16_t type;
  bool operator==(const RecSum& o) const {
    return offset == o.offset && end == o.end && lsn == o.lsn && epoch == o.epoch && crc == o.crc &&
           type == o.type;
  }
};

Status Collect(log::LogSource* src, const ScanOptions& so, std::vector<RecSum>* recs,
               ScanResult* res) {
  return ScanLog(
      src, so,
      [&](const log::LogRecord& r) {
        recs->push_back(
            RecSum{r.offset(), r.end(), r.header.lsn, r.header.epoch, r.header.crc, r.header.type});
        return Status::Ok();
      },
      res);
}

std::string Describe(const RecSum& r) {
  return "lsn " + std::to_string(r.lsn) + " epoch " + std::to_string(r.epoch) + " size " +
         std::to_string(r.end - r.offset) + " crc " + Hex32(r.crc);
}

uint64_t CountTxns(const std::vector<RecSum>& v, size_t from) {
  uint64_t n = 0;
  for (size_t i = from; i < v.size(); i++)
    n += v[i].type == uint16_t(log::RecordType::kTransaction);
  return n;
}

}  // namespace

int RunDiff(const DiffOptions& o, std::ostream& out, std::ostream& err) {
  if (o.log_path.empty() || o.remote_uris.empty()) {
    err << "rvm-log diff: give the disk log path and at least one --remote URI\n";
    return kExitError;
  }
  std::unique_ptr<LogCopy> disk;
  Status s = LogCopy::OpenDisk(o.log_path, &disk);
  if (!s.ok()) {
    err << "rvm-log diff: " << s.ToString() << "\n";
    return ExitCodeFor(s);
  }
  if (disk->source() == nullptr) {
    err << "rvm-log diff: " << disk->label() << ": the file is shorter than its record area\n";
    return kExitProblem;
  }
  const log::LogStatus& st = disk->disk()->status();
  std::vector<RecSum> drecs;
  ScanResult dres;
  s = Collect(disk->source(), disk->scan(), &drecs, &dres);
  if (!s.ok()) {
    err << "rvm-log diff: " << s.ToString() << "\n";
    return kExitError;
  }
  int rc = kExitOk;
  if (dres.io_error())
    rc = kExitError;
  else if (dres.damage)
    rc = kExitProblem;
  if (o.json) {
    out << "{\"kind\":\"disk\",\"path\":" << JsonString(o.log_path) << ",\"head\":" << st.head
        << ",\"end\":" << dres.end << ",\"records\":" << dres.records
        << ",\"transactions\":" << dres.transactions << ",\"last_lsn\":" << dres.end_lsn
        << ",\"stop\":\"" << log::ReadErrorName(dres.stop)
        << "\",\"damage\":" << (dres.damage ? "true" : "false") << "}\n";
  } else {
    out << disk->label() << ": records [" << st.head << ", " << dres.end << "), " << dres.records
        << " records (" << dres.transactions << " transactions), last lsn " << dres.end_lsn
        << "; ends " << (dres.damage ? "at a DAMAGED record: " : "cleanly: ")
        << log::ReadErrorName(dres.stop) << "\n";
  }

  remote_log::ConnectOptions co;
  std::string name, key;
  s = o.remote.ToConnectOptions(&co);
  if (s.ok()) s = o.remote.LoadLogKey(o.log_path, &key);
  co.owner_seed = log::OwnerSeed(key);
  if (s.ok()) s = ResolveRemoteName(o.name, disk->disk(), &name);
  if (!s.ok()) {
    err << "rvm-log diff: " << s.ToString() << "\n";
    return kExitError;
  }
  for (const std::string& uri : o.remote_uris) {
    std::unique_ptr<LogCopy> r;
    s = LogCopy::OpenRemote(uri, name, co, disk->disk(), key, &r);
    if (!s.ok()) {
      err << "rvm-log diff: " << s.ToString() << "\n";
      if (o.json)
        out << "{\"kind\":\"diff\",\"remote\":" << JsonString(uri)
            << ",\"name\":" << JsonString(name) << ",\"error\":" << JsonString(s.ToString())
            << "}\n";
      else
        out << "remote log " << name << " on " << uri << ": NOT READ: " << s.ToString() << "\n";
      rc = std::max<int>(rc, kExitError);
      continue;
    }
    const RemoteCopy& rcpy = r->remote();
    // Where to start reading the remote copy so that it lines up with the disk.
    ScanOptions so = r->scan();
    size_t di = drecs.size();  // index of the disk record at so.start
    std::string note;
    if (rcpy.info.start <= st.head) {
      so.start = st.head;
      so.first_lsn = st.head_lsn;
      di = 0;
    } else if (rcpy.info.start <= dres.end) {
      auto it = std::lower_bound(drecs.begin(), drecs.end(), rcpy.info.start,
                                 [](const RecSum& a, uint64_t off) { return a.offset < off; });
      di = size_t(it - drecs.begin());
      if (it != drecs.end() && it->offset == rcpy.info.start) {
        so.first_lsn = it->lsn;
      } else if (rcpy.info.start == dres.end) {
        so.first_lsn = dres.records ? dres.end_lsn + 1 : st.head_lsn;
      } else {
        note = "its start " + std::to_string(rcpy.info.start) + " is inside a disk record";
        di = drecs.size();
      }
    } else {
      note = "it starts at " + std::to_string(rcpy.info.start) + ", after the disk copy's end " +
             std::to_string(dres.end) + " (a gap)";
    }
    so.limit = rcpy.end();
    so.max_epoch = std::max(rcpy.info.epoch, st.epoch);
    std::vector<RecSum> rrecs;
    ScanResult rres;
    if (so.start < so.limit || so.start == rcpy.info.start) {
      s = Collect(r->source(), so, &rrecs, &rres);
      if (!s.ok()) {
        err << "rvm-log diff: " << s.ToString() << "\n";
        return kExitError;
      }
    }
    if (rrecs.empty()) rres.end = std::max(so.start, rres.end);
    bool rdamage = rres.end < rcpy.end() && !(so.start >= rcpy.end());
    // Compare the overlap record by record.
    size_t same = 0;
    bool differ = false;
    size_t j = 0;
    uint64_t same_from = so.start;
    while (di + j < drecs.size() && j < rrecs.size()) {
      if (!(drecs[di + j] == rrecs[j])) {
        differ = true;
        break;
      }
      j++;
      same++;
    }
    uint64_t same_to = same ? rrecs[same - 1].end : same_from;
    std::string more = "none";
    uint64_t extra = 0;
    uint64_t extra_from = same_to, extra_to = same_to;
    if (!differ) {
      if (j < rrecs.size()) {
        more = "remote";
        extra = CountTxns(rrecs, j);
        extra_to = rres.end;
      } else if (di + j < drecs.size()) {
        more = "disk";
        extra = CountTxns(drecs, di + j);
        extra_to = dres.end;
      }
    }
    if (differ || rdamage || !note.empty()) rc = std::max<int>(rc, kExitProblem);
    if (o.json) {
      out << "{\"kind\":\"diff\",\"remote\":" << JsonString(uri) << ",\"name\":" << JsonString(name)
          << ",\"remote_start\":" << rcpy.info.start << ",\"remote_tail\":" << rcpy.info.tail
          << ",\"remote_end\":" << rres.end << ",\"remote_records\":" << rrecs.size()
          << ",\"remote_damage\":" << (rdamage ? "true" : "false")
          << ",\"identical_from\":" << same_from << ",\"identical_to\":" << same_to
          << ",\"identical_records\":" << same;
      if (differ) {
        out << ",\"differ_at\":" << drecs[di + j].offset
            << ",\"disk_record\":" << JsonString(Describe(drecs[di + j]))
            << ",\"remote_record\":" << JsonString(Describe(rrecs[j]));
      }
      out << ",\"more\":\"" << more << "\",\"extra_transactions\":" << extra;
      if (!note.empty()) out << ",\"note\":" << JsonString(note);
      out << "}\n";
      continue;
    }
    out << r->label() << ": holds [" << rcpy.info.start << ", " << rcpy.info.tail << "), "
        << rrecs.size() << " valid records up to " << rres.end << " (epoch " << rcpy.info.epoch
        << ")\n";
    if (!note.empty()) out << "  cannot line up with the disk copy: " << note << "\n";
    out << "  identical: [" << same_from << ", " << same_to << "), " << same << " records\n";
    if (differ) {
      out << "  DIFFER at offset " << drecs[di + j].offset << disk->Position(drecs[di + j].offset)
          << ": disk has " << Describe(drecs[di + j]) << "; remote has " << Describe(rrecs[j])
          << "\n";
    } else if (more == "remote") {
      out << "  the remote copy has " << extra << " more committed transactions than the disk: ["
          << extra_from << ", " << extra_to << ")\n";
    } else if (more == "disk") {
      out << "  the disk copy has " << extra << " more committed transactions than the remote: ["
          << extra_from << ", " << extra_to << ")\n";
    } else {
      out << "  both copies end at " << same_to << "\n";
    }
    if (rdamage) {
      out << "  the remote copy is DAMAGED at offset " << rres.end << ": "
          << log::ReadErrorName(rres.stop) << " (it holds bytes up to " << rcpy.end() << ")\n";
    }
  }
  return rc;
}

}  // namespace rvmr::tools
