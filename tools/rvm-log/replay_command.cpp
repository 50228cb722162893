// rvm-log replay: applies a log's committed transactions to the data segment
// files from the disk copy, a remote copy, or the freshest consistent copy.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "commands.h"
#include "log_copy.h"
#include "shim/log_applier.h"
#include "shim/log_key.h"
#include "shim/remote_marker.h"
#include "split_log_source.h"
#include "text_util.h"

namespace rvmr::tools {

namespace {

using Clock = std::chrono::steady_clock;

// One way to read the committed log: a copy alone, or the disk copy
// continued by a remote copy's tail.
struct Candidate {
  std::string label;
  log::LogSource* src = nullptr;
  std::unique_ptr<SplitLogSource> own;
  ScanOptions scan;
  ScanResult res;
  bool scanned = false;
};

class ProgressBar {
 public:
  ProgressBar(bool on, uint64_t start, uint64_t end, std::ostream& err)
      : on_(on), start_(start), end_(end), err_(err), last_(Clock::now()) {}
  void Update(uint64_t offset, uint64_t txns, uint64_t bytes, bool final = false) {
    if (!on_) return;
    auto now = Clock::now();
    if (!final && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    double frac = end_ > start_ ? double(offset - start_) / double(end_ - start_) : 1.0;
    if (frac > 1) frac = 1;
    constexpr int kWidth = 30;
    int fill = int(frac * kWidth);
    std::string bar(size_t(fill), '#');
    bar.append(size_t(kWidth - fill), '.');
    char line[160];
    std::snprintf(line, sizeof(line), "\rreplay [%s] %3d%%  %s  %llu txns", bar.c_str(),
                  int(frac * 100), HumanBytes(bytes).c_str(),
                  static_cast<unsigned long long>(txns));
    err_ << line << (final ? "\n" : "") << std::flush;
  }

 private:
  bool on_;
  uint64_t start_, end_;
  std::ostream& err_;
  Clock::time_point last_;
};

}  // namespace

int RunReplay(const ReplayCmdOptions& o, std::ostream& out, std::ostream& err) {
  auto t0 = Clock::now();
  auto fail = [&](int code, const std::string& msg) {
    err << "rvm-log replay: " << msg << "\n";
    return code;
  };
  if (o.from != "disk" && o.from != "remote" && o.from != "auto")
    return fail(kExitError, "--from must be disk, remote or auto, not " + o.from);
  bool want_disk = o.from != "remote" || !o.log_path.empty();
  bool want_remote = o.from != "disk";
  if (o.from == "disk" && o.log_path.empty())
    return fail(kExitError, "--from disk needs the disk log path");
  if (o.from == "remote" && o.remote_uris.empty())
    return fail(kExitError, "--from remote needs at least one --remote URI");
  if (o.from == "auto" && o.log_path.empty() && o.remote_uris.empty())
    return fail(kExitError, "give the disk log path and/or --remote URIs");

  std::unique_ptr<LogCopy> disk;
  if (want_disk && !o.log_path.empty()) {
    Status s = LogCopy::OpenDisk(o.log_path, &disk);
    if (!s.ok()) return fail(ExitCodeFor(s), s.ToString());
    if (disk->source() == nullptr)
      return fail(kExitProblem, disk->label() + ": the file is shorter than its record area (" +
                                    std::to_string(disk->disk()->file_size()) + " bytes)");
  }
  const DiskLog* dl = disk ? disk->disk() : nullptr;

  std::vector<std::unique_ptr<LogCopy>> remotes;
  if (want_remote && !o.remote_uris.empty()) {
    remote_log::ConnectOptions co;
    std::string name, key;
    Status s = o.remote.ToConnectOptions(&co);
    if (s.ok()) s = o.remote.LoadLogKey(o.log_path, &key);
    co.owner_seed = log::OwnerSeed(key);
    if (s.ok()) s = ResolveRemoteName(o.name, dl, &name);
    if (!s.ok()) return fail(kExitError, s.ToString());
    for (const std::string& uri : o.remote_uris) {
      std::unique_ptr<LogCopy> r;
      s = LogCopy::OpenRemote(uri, name, co, dl, key, &r);
      if (!s.ok()) {
        err << "rvm-log replay: " << (o.from == "remote" ? "" : "warning: ") << s.ToString()
            << "\n";
        continue;
      }
      remotes.push_back(std::move(r));
    }
    if (remotes.empty() && (o.from == "remote" || !disk))
      return fail(kExitError, "no remote copy could be read");
  }

  // Replaying the disk copy alone of a log whose mirrors may hold more
  // (its ".remote" marker): done (it never changes the log, and a later
  // recovery with the mirrors applies everything again), but not complete.
  const bool mirrors_may_hold_more =
      disk && remotes.empty() && WarnMirrorsMayHoldMore("replay", o.log_path, err);

  // The committed end every copy claims: nothing before it may be missing.
  uint64_t claimed = 0;
  std::string claimed_by;
  if (disk) {
    claimed = disk->claimed_end();
    claimed_by = disk->label() + " (status tail_hint)";
  }
  for (const auto& r : remotes) {
    if (r->claimed_end() > claimed) {
      claimed = r->claimed_end();
      claimed_by = r->label() + " (acknowledged tail)";
    }
  }

  // Candidates.
  std::vector<Candidate> cands;
  std::vector<std::string> notes;
  if (disk && o.from != "remote") {
    Candidate c;
    c.label = disk->label();
    c.src = disk->source();
    c.scan = disk->scan();
    cands.push_back(std::move(c));
  }
  if (o.from == "auto" && disk) {
    // Pre-scan the disk so remote tails can continue it.
    Status s = ScanLog(cands[0].src, cands[0].scan, nullptr, &cands[0].res);
    if (!s.ok()) return fail(kExitError, s.ToString());
    cands[0].scanned = true;
    uint64_t e = cands[0].res.end;
    for (const auto& r : remotes) {
      const RemoteCopy& rc = r->remote();
      if (rc.end() <= e) continue;  // nothing beyond the disk copy
      if (rc.info.start > e) {
        notes.push_back(r->label() + " starts at " + std::to_string(rc.info.start) +
                        ", after the disk copy's end " + std::to_string(e) +
                        ": cannot continue it");
        continue;
      }
      Candidate c;
      c.label = disk->label() + " + " + r->label() + " from offset " + std::to_string(e);
      c.own = std::make_unique<SplitLogSource>(disk->source(), r->source(), e);
      c.src = c.own.get();
      c.scan = disk->scan();
      c.scan.limit = std::min(c.scan.limit, rc.end());
      c.scan.max_epoch = std::max(c.scan.max_epoch, rc.info.epoch);
      cands.push_back(std::move(c));
    }
  } else if (o.from != "disk") {
    for (const auto& r : remotes) {
      const RemoteCopy& rc = r->remote();
      Candidate c;
      c.label = r->label();
      c.src = r->source();
      c.scan = r->scan();
      if (disk) {
        // Replay what the disk log says is live: [head, ...).
        const log::LogStatus& st = disk->disk()->status();
        if (rc.info.start > st.head) {
          notes.push_back(r->label() + " starts at " + std::to_string(rc.info.start) +
                          ", after the disk log's head " + std::to_string(st.head) +
                          ": the committed records before it are only on disk (use --from auto)");
          continue;
        }
        c.scan = disk->scan();
        c.scan.limit = std::min(c.scan.limit, rc.end());
        c.scan.max_epoch = std::max(c.scan.max_epoch, rc.info.epoch);
      }
      cands.push_back(std::move(c));
    }
  }
  for (const auto& n : notes) err << "rvm-log replay: warning: " << n << "\n";
  if (cands.empty()) return fail(kExitProblem, "no copy can supply the committed log");

  // Choose the candidate whose valid prefix reaches furthest.
  size_t best = 0;
  if (o.from == "auto" && disk && cands.size() == 2) {
    // The disk copy continued by one remote tail reads the same bytes as the
    // disk copy up to the disk's end, so it reaches at least as far.
    best = 1;
  } else if (cands.size() > 1) {
    for (size_t i = 0; i < cands.size(); i++) {
      if (!cands[i].scanned) {
        Status s = ScanLog(cands[i].src, cands[i].scan, nullptr, &cands[i].res);
        if (!s.ok()) return fail(kExitError, s.ToString());
        cands[i].scanned = true;
      }
      if (cands[i].res.end > cands[best].res.end) best = i;
    }
  }
  Candidate& c = cands[best];
  uint64_t bar_end = c.scanned ? c.res.end : std::max(claimed, c.scan.start);

  // Records are applied as they are read (streaming), as truncation's rules say.
  log::LogApplyOptions ao;
  ao.segment_map = o.segment_map;
  ao.dry_run = o.dry_run;
  ao.fault_point = "replay.after_range";
  log::LogApplier rp(ao);
  bool bar_on = o.progress == 1 || (o.progress == -1 && ::isatty(2));
  ProgressBar bar(bar_on, c.scan.start, bar_end, err);
  auto visit = [&](const log::LogRecord& rec) -> Status {
    Status s = rp.Apply(rec);
    if (s.ok()) bar.Update(rec.end(), rp.stats().transactions, rp.stats().bytes);
    return s;
  };
  ScanResult res;
  Status s = ScanLog(c.src, c.scan, visit, &res);
  bar.Update(res.end, rp.stats().transactions, rp.stats().bytes, true);
  if (!s.ok()) {
    std::string hint;
    if (s.code() == Status::Code::kNotFound) hint = " (give --segment-map CODE=PATH)";
    return fail(s.code() == Status::Code::kIoError ? kExitError : kExitProblem,
                c.label + ": " + s.ToString() + hint + " (records before it were " +
                    (o.dry_run ? "checked" : "applied") + ")");
  }
  if (!o.dry_run) {
    s = rp.Finish();
    if (!s.ok()) return fail(kExitError, s.ToString());
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const log::LogApplyStats& st = rp.stats();

  // Was the committed tail fully found?
  std::string lost;
  if (res.io_error()) {
    lost = c.label + ": read failed at offset " + std::to_string(res.end) + ": " +
           res.stop_status.ToString();
  } else if (res.end < claimed) {
    lost = "committed records [" + std::to_string(res.end) + ", " + std::to_string(claimed) +
           ") claimed by " + claimed_by + " are not in any readable copy: " + c.label +
           " stops at offset " + std::to_string(res.end) + ": " + log::ReadErrorName(res.stop);
  } else if (res.damage) {
    lost = c.label + ": damaged or torn record at offset " + std::to_string(res.end) + ": " +
           log::ReadErrorName(res.stop) + "; the committed tail may be lost";
  }
  if (lost.empty() && mirrors_may_hold_more)
    lost = "the mirrors may hold committed records beyond offset " + std::to_string(res.end) +
           " of the disk copy (its marker " + RemoteMarkerPath(o.log_path) +
           " says so); replay with --remote URI to include them";

  double mbs = secs > 0 ? double(st.bytes) / 1e6 / secs : 0;
  if (o.json) {
    out << "{\"kind\":\"replay\",\"source\":" << JsonString(c.label)
        << ",\"dry_run\":" << (o.dry_run ? "true" : "false")
        << ",\"transactions\":" << st.transactions << ",\"ranges\":" << st.ranges
        << ",\"bytes\":" << st.bytes << ",\"segments\":" << st.bytes_per_segment.size()
        << ",\"start\":" << c.scan.start << ",\"end\":" << res.end
        << ",\"last_lsn\":" << res.end_lsn << ",\"seconds\":" << secs
        << ",\"complete\":" << (lost.empty() ? "true" : "false") << "}\n";
  } else {
    out << (o.dry_run ? "dry run (nothing written): " : "replayed ") << st.transactions
        << " transactions (" << st.ranges << " ranges, " << st.bytes << " bytes) "
        << (o.dry_run ? "would go to " : "into ") << st.bytes_per_segment.size()
        << " segment files from " << c.label << ", log [" << c.scan.start << ", " << res.end
        << ") to lsn " << res.end_lsn << ", in ";
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.3f s (%.1f MB/s)", secs, mbs);
    out << buf << "\n";
    for (const auto& [path, bytes] : st.bytes_per_segment)
      out << "  " << path << ": " << bytes << " bytes\n";
  }
  if (!lost.empty())
    return fail(res.io_error() ? kExitError : kExitProblem,
                "the committed tail cannot be fully found: " + lost);
  return kExitOk;
}

}  // namespace rvmr::tools
