// rvm-log inspect: the status block, then every record with its offset, LSN,
// epoch, type, ranges and checksum (RecordPrinter, with its filters), then
// where and why the log ends; with --follow, the records appended later.
#include <time.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <vector>

#include "commands.h"
#include "log_copy.h"
#include "log_follower.h"
#include "record_printer.h"
#include "preload_log.h"
#include "text_util.h"

namespace rvmr::tools {

namespace {

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

// Sleeps `ms` milliseconds, or less once *stop is true.
void WaitFor(int ms, const std::atomic<bool>* stop) {
  for (int left = std::max(ms, 1); left > 0 && !(stop && stop->load()); left -= 20) {
    struct timespec ts = {0, long(std::min(left, 20)) * 1000000L};
    ::nanosleep(&ts, nullptr);
  }
}

// One log's inspection: its status block, its records (in one scan, or in
// one scan per Step while following), then the end line and summary.
class Inspection {
 public:
  Inspection(const InspectOptions& o, std::string path, std::ostream& err)
      : o_(o), path_(std::move(path)), err_(err) {}

  // Opens the copy and prints its status block to `out`. False, with the
  // exit status set, if it cannot be opened.
  bool Open(std::ostream& out) {
    std::string path = path_;
    const InspectOptions& o = o_;
    follower_ = std::make_unique<LogFollower>([&o, path](std::unique_ptr<LogCopy>* c) {
      std::unique_ptr<LogCopy> disk;
      if (!path.empty()) {
        Status s = LogCopy::OpenDisk(path, &disk);
        if (!s.ok() || o.remote_uri.empty()) {
          *c = std::move(disk);
          return s;
        }
      }
      return OpenNamedRemoteCopy(o.remote_uri, o.name, o.remote, disk.get(), c);
    });
    Status s = follower_->Open();
    if (!s.ok()) {
      err_ << "rvm-log inspect: " << s.ToString() << "\n";
      return End(ExitCodeFor(s));
    }
    LogCopy* c = follower_->copy();
    if (!c->is_remote()) (void)WarnMirrorsMayHoldMore("inspect", path_, err_);
    if (c->is_remote())
      PrintRemoteStatus(c->remote(), o_.json, out);
    else
      PrintDiskStatus(*c->disk(), o_.json, out);
    if (!o_.json) out << "records:\n";
    start_ = follower_->position();
    fresh_ = true;
    return true;
  }

  // Prints to `out` the records appended since the last Step (the first:
  // all the copy holds); while following, reopens the copy first.
  void Step(std::ostream& out) {
    if (over_) return;
    if (!fresh_ && !Refresh()) return;
    fresh_ = false;
    LogCopy* c = follower_->copy();
    if (c->source() == nullptr) {
      if (!o_.follow) {
        err_ << "rvm-log inspect: " << c->label() << ": records not shown: the file is truncated\n";
        End(kExitProblem);
      } else if (!said_short_) {
        Note(c->label() + ": the file is shorter than its record area; waiting for it");
      }
      said_short_ = true;
      return;
    }
    said_short_ = false;
    stepped_ = true;
    RecordPrinter* p = Printer(out);
    ScanOptions so = follower_->Next();
    so.stop_at = o_.to_offset;
    so.halt = p->limit_reached();
    ScanResult res;
    Status s = ScanLog(
        c->source(), so,
        [&](const log::LogRecord& r) {
          p->Visit(r, *c);
          return Status::Ok();
        },
        &res);
    if (!s.ok()) {
      err_ << "rvm-log inspect: " << s.ToString() << "\n";
      End(kExitError);
      return;
    }
    follower_->Advance(res);
    last_ = res;
    records_ += res.records;
    transactions_ += res.transactions;
    bytes_ += res.txn_bytes;
    if (res.records > 0) last_lsn_ = res.end_lsn;
    if (res.halted) {
      End(kExitOk);
    } else if (res.io_error()) {
      End(kExitError);
    } else if (res.damage && (!o_.follow || follower_->BelowClaimedEnd())) {
      End(kExitProblem);  // while following, only damage below the committed end is final
    } else if (!o_.follow) {
      End(kExitOk);
    }
    out.flush();
  }

  // Prints the end line and the summary.
  void Finish(std::ostream& out) {
    if (follower_ == nullptr || follower_->copy() == nullptr || !stepped_) return;
    const LogCopy* c = follower_->copy();
    const ScanResult& r = last_;
    std::string why = r.io_error() ? r.stop_status.ToString() : log::ReadErrorName(r.stop);
    if (r.halted) why = *printer_->limit_reached() ? "record limit reached" : "--to-offset reached";
    bool normal = !r.damage && !r.io_error() && !r.halted;
    uint64_t shown = printer_->shown();
    if (o_.json) {
      out << "{\"kind\":\"end\",\"offset\":" << r.end;
      if (!c->is_remote()) out << ",\"file_pos\":" << c->disk()->FilePos(r.end);
      out << ",\"last_lsn\":" << last_lsn_ << ",\"reason\":" << JsonString(why)
          << ",\"damage\":" << (r.damage ? "true" : "false") << ",\"records\":" << records_
          << ",\"transactions\":" << transactions_ << ",\"bytes\":" << bytes_
          << ",\"shown\":" << shown << "}\n";
    } else {
      out << "end: offset " << r.end << c->Position(r.end) << ", last lsn " << last_lsn_ << ": "
          << why
          << (r.damage ? " (DAMAGED or torn record)" : (normal ? " (normal end of the log)" : ""))
          << "\n";
      out << "summary: " << records_ << " records, " << transactions_ << " transactions, " << bytes_
          << " bytes of range data in [" << start_ << ", " << r.end << ")";
      if (shown != records_) out << "; " << shown << " shown";
      out << "\n";
    }
    out.flush();
  }

  bool over() const { return over_; }
  int exit_code() const { return code_; }
  const std::string& path() const { return path_; }

 private:
  bool End(int code) {
    over_ = true;
    code_ = code;
    return false;
  }
  void Note(const std::string& what) { err_ << "rvm-log inspect: note: " << what << "\n"; }

  // The printer, writing to `out` (a follow of several logs hands each Step
  // its own buffer).
  RecordPrinter* Printer(std::ostream& out) {
    if (printer_ == nullptr) printer_ = std::make_unique<RecordPrinter>(o_, out, err_);
    printer_->SetOutput(out);
    return printer_.get();
  }

  // Reopens the copy; false if that fails (said once; retried next Step).
  bool Refresh() {
    std::vector<std::string> notes;
    bool restarted = false;
    Status s = follower_->Refresh(&notes, &restarted);
    if (!s.ok()) {
      if (!said_reopen_) Note("cannot reopen: " + s.ToString() + "; retrying");
      said_reopen_ = true;
      return false;
    }
    said_reopen_ = false;
    for (const auto& n : notes) Note(follower_->copy()->label() + ": " + n);
    if (restarted && printer_ != nullptr) printer_->ResetDictionary();
    return true;
  }

  const InspectOptions& o_;
  std::string path_;  // the disk log ("" for a remote copy named by --name)
  std::ostream& err_;
  std::unique_ptr<LogFollower> follower_;
  std::unique_ptr<RecordPrinter> printer_;
  ScanResult last_;  // the last scan
  uint64_t start_ = 0;
  uint64_t records_ = 0, transactions_ = 0, bytes_ = 0, last_lsn_ = 0;
  bool fresh_ = false;  // the copy was just opened: the next Step need not reopen it
  bool stepped_ = false, over_ = false, said_short_ = false, said_reopen_ = false;
  int code_ = kExitOk;
};

// --follow over several logs: each Step's output is buffered and printed
// under its log's heading when the output switches logs (as tail -f does).
int FollowAll(const InspectOptions& o, std::vector<std::unique_ptr<Inspection>>& logs,
              std::ostream& out) {
  const bool several = logs.size() > 1;
  const Inspection* shown = logs.back().get();  // whose output came last
  bool first = false;
  auto step = [&](Inspection* in) {
    if (!several) return in->Step(out);
    std::ostringstream buf;
    in->Step(buf);
    if (buf.str().empty()) return;
    if (shown != in) PrintLogHeading(in->path(), o.json, first, out);
    first = false;
    shown = in;
    out << buf.str() << std::flush;
  };
  auto all_over = [&] {
    return std::all_of(logs.begin(), logs.end(), [](const auto& in) { return in->over(); });
  };
  while (!all_over() && !(o.stop && o.stop->load())) {
    WaitFor(o.poll_ms, o.stop);
    if (o.stop && o.stop->load()) break;
    for (auto& in : logs) step(in.get());
  }
  int worst = kExitOk;
  for (auto& in : logs) {
    if (several) PrintLogHeading(in->path(), o.json, first, out);
    in->Finish(out);
    worst = std::max(worst, in->exit_code());
  }
  return worst;
}

}  // namespace

int RunInspect(const InspectOptions& o, std::ostream& out, std::ostream& err) {
  if (IsPreloadLogName(o.name)) return RunInspectPreload(o, out, err);
  Status args = CheckLogArguments(o.log_paths, o.remote_uri, o.name);
  if (!args.ok()) {
    err << "rvm-log inspect: " << args.message() << "\n";
    return kExitError;
  }
  if (!o.follow) {
    return ForEachLog(o.log_paths, o.json, out, [&](const std::string& path) -> int {
      Inspection in(o, path, err);
      if (!in.Open(out)) return in.exit_code();
      in.Step(out);
      in.Finish(out);
      return in.exit_code();
    });
  }
  // Follow: open and print each log as it is now, then poll them all.
  std::vector<std::unique_ptr<Inspection>> logs;
  int worst = kExitOk;
  ForEachLog(o.log_paths, o.json, out, [&](const std::string& path) -> int {
    auto in = std::make_unique<Inspection>(o, path, err);
    if (!in->Open(out)) {
      worst = std::max(worst, in->exit_code());
      return in->exit_code();
    }
    in->Step(out);
    out.flush();
    logs.push_back(std::move(in));
    return kExitOk;
  });
  if (logs.empty()) return worst;
  return std::max(worst, FollowAll(o, logs, out));
}

}  // namespace rvmr::tools
