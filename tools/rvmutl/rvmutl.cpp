// rvmutl: the RVM log utility, driven like Coda's rvmutl.
//
//   rvmutl [log]        then commands on stdin, prompt "* "
//
// Same command interpreter as the original: a command is any unique prefix
// of its name (looked up in the original's table order, so "i" is init_log
// and "s" is ambiguous), its arguments follow on the line or are prompted
// for, '#' starts a comment line and "< file" reads commands from a file.
// It works on this project's log format (docs/log-format.md) through the
// shim's reader; recovery goes through librvm. A log of the original RVM
// (docs/coda-log-format.md) opens too: status, seg_dict, show and recover
// work on it, recover applying its committed transactions to the data
// segments (docs/migration.md). Commands of the original that only make
// sense for the original's log format say so and do nothing.
//
// init_log refuses to overwrite a log still holding committed transactions
// not yet applied unless its last word is "force" (init_guard.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <rvm/rds.h>
#include <rvm/rvm.h>
#include <rvm/rvm_diag.h>
#include <rvm/rvm_segment.h>
#include <rvm/rvm_statistics.h>

#include "common/version.h"
#include "shim/log_format.h"
#include "shim/log_payload.h"
#include "shim/log_record_reader.h"
#include "shim/log_source.h"
#include "shim/log_status.h"
#include "shim/remote_marker.h"
#include "shim/shim_config.h"
#include "init_guard.h"
#include "original_log.h"

namespace {

using rvmr::Status;
namespace rlog = rvmr::log;

// ---- command line input (the original's "rest of the line, else prompt") ----

class Input {
 public:
  // Reads the next command line; false at end of input.
  bool NextLine(const char* prompt) {
    for (;;) {
      if (prompt != nullptr) {
        printf("%s ", prompt);
        fflush(stdout);
      }
      char buf[4096];
      FILE* in = stack_.empty() ? stdin : stack_.back();
      if (fgets(buf, sizeof(buf), in) == nullptr) {
        if (stack_.empty()) return false;
        fclose(stack_.back());
        stack_.pop_back();
        continue;
      }
      line_ = buf;
      pos_ = 0;
      return true;
    }
  }
  void SkipWhite() {
    while (pos_ < line_.size() && (line_[pos_] == ' ' || line_[pos_] == '\t')) ++pos_;
  }
  bool AtEnd() {
    SkipWhite();
    return pos_ >= line_.size() || line_[pos_] == '\n' || line_[pos_] == '\r';
  }
  char Peek() {
    SkipWhite();
    return pos_ < line_.size() ? line_[pos_] : '\0';
  }
  void Skip(size_t n) { pos_ = std::min(line_.size(), pos_ + n); }
  // Next blank-separated word; prompts for a new line when this one is used up.
  std::string Word(const char* prompt) {
    if (AtEnd() && prompt != nullptr) {
      if (!NextLine(prompt)) return "";
    }
    SkipWhite();
    size_t start = pos_;
    while (pos_ < line_.size() && !isspace(static_cast<unsigned char>(line_[pos_]))) ++pos_;
    return line_.substr(start, pos_ - start);
  }
  std::string Rest() {
    SkipWhite();
    std::string r = line_.substr(pos_);
    while (!r.empty() && (r.back() == '\n' || r.back() == '\r')) r.pop_back();
    pos_ = line_.size();
    return r;
  }
  void Discard() { pos_ = line_.size(); }
  bool Push(const std::string& file) {
    FILE* f = fopen(file.c_str(), "r");
    if (f == nullptr) return false;
    stack_.push_back(f);
    return true;
  }

 private:
  std::string line_;
  size_t pos_ = 0;
  std::vector<FILE*> stack_;
};

Input in;

// ---- the log being examined ----

struct RecordInfo {
  rlog::RecordHeader hdr;
  std::string payload;
};

struct OpenLog {
  bool open = false;
  std::string path;
  int fd = -1;
  rlog::LogStatus status;
  std::vector<RecordInfo> records;  // head .. tail
  uint64_t tail = 0;                // logical offset after the last valid record
  std::string stop_reason;          // why the scan ended
  size_t cursor = 0;                // current record for next/prev/show
  // Set when the log is one of the original RVM: then status, records and
  // tail above are unused.
  std::unique_ptr<rvmr::coda::CodaLog> original;
  // WarnIfMirrorsMayHoldMore said so: recover's refusal then does not repeat it.
  bool warned_mirrors = false;
};

OpenLog log_state;

void CloseLog() {
  if (log_state.fd >= 0) close(log_state.fd);
  log_state = OpenLog{};
}

// Reads the status and scans the records from head to the end of the valid
// log. False (with a message) when the file is not a log of our format.
bool ScanLog() {
  rlog::LogStatus st;
  Status s = rlog::ReadLogStatus(log_state.fd, &st);
  if (!s.ok()) {
    fprintf(stderr, "? Log status area damaged or uninitialized (%s)\n", s.ToString().c_str());
    return false;
  }
  log_state.status = st;
  log_state.records.clear();
  rlog::FileLogSource src(log_state.fd, st.area_start, st.area_size);
  rlog::LogRecordReader reader(&src, st.head, st.head + st.area_size, st.head_lsn);
  for (;;) {
    rlog::LogRecord rec;
    Status rs = reader.ReadRecord(&rec);
    if (!rs.ok()) {
      log_state.stop_reason = rlog::ReadErrorName(reader.error());
      if (reader.error_is_damage()) log_state.stop_reason += " (damaged record)";
      break;
    }
    log_state.records.push_back(RecordInfo{rec.header, std::move(rec.payload)});
  }
  log_state.tail = reader.offset();
  log_state.cursor = 0;
  return true;
}

bool RequireLog() {
  if (log_state.open) return true;
  fprintf(stderr, "? no log open (use open_log or log)\n");
  return false;
}

const char* g_current_command = "";

// For the commands that work on this RVM's log format only.
bool RequireOurLog() {
  if (!RequireLog()) return false;
  if (!log_state.original) return true;
  fprintf(stderr,
          "? %s: not available on a log of the original RVM (status, seg_dict, show all, "
          "recover and close_log are)\n",
          g_current_command);
  in.Discard();
  return false;
}

std::string TimeString(uint64_t ns) {
  if (ns == 0) return "-";
  time_t secs = static_cast<time_t>(ns / 1000000000ull);
  char buf[64];
  struct tm tmv;
  localtime_r(&secs, &tmv);
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tmv);
  return buf;
}

const char* TypeName(uint16_t t) {
  switch (static_cast<rlog::RecordType>(t)) {
    case rlog::RecordType::kTransaction:
      return "transaction";
    case rlog::RecordType::kSegmentDict:
      return "segment dictionary";
    case rlog::RecordType::kPadding:
      return "padding";
  }
  return "unknown";
}

void PrintRecord(FILE* out, const RecordInfo& r, size_t index) {
  const auto& h = r.hdr;
  fprintf(out,
          "Record %zu: %s, lsn %" PRIu64 ", log offset %" PRIu64 ", length %" PRIu64
          ", epoch %" PRIu64 "\n",
          index, TypeName(h.type), h.lsn, h.offset, rlog::RecordSize(h.payload_len), h.epoch);
  if (h.type == static_cast<uint16_t>(rlog::RecordType::kTransaction)) {
    uint64_t commit_ns = 0;
    std::vector<rlog::RangeView> ranges;
    Status s = rlog::ParseTransactionPayload(r.payload, &commit_ns, &ranges);
    if (!s.ok()) {
      fprintf(out, "  ? bad transaction payload: %s\n", s.ToString().c_str());
      return;
    }
    fprintf(out, "  committed %s, flags:%s%s%s, %zu range(s)\n", TimeString(commit_ns).c_str(),
            (h.flags & rlog::kTxnFlagFlush) ? " flush" : " no_flush",
            (h.flags & rlog::kTxnFlagRestore) ? " restore" : " no_restore",
            (h.flags & rlog::kTxnFlagCoalesced) ? " coalesced" : "", ranges.size());
    for (size_t i = 0; i < ranges.size(); ++i) {
      fprintf(out,
              "    range %zu: segment %u, offset %" PRIu64 " (0x%" PRIx64 "), length %" PRIu64 "\n",
              i + 1, ranges[i].seg_code, ranges[i].seg_offset, ranges[i].seg_offset,
              ranges[i].length);
    }
  } else if (h.type == static_cast<uint16_t>(rlog::RecordType::kSegmentDict)) {
    uint32_t code = 0;
    std::string name;
    if (rlog::ParseSegmentDict(r.payload, &code, &name).ok()) {
      fprintf(out, "  segment code %u: %s\n", code, name.c_str());
    }
  }
}

// ---- commands ----

// The open log was used with mirrors and its ".remote" marker says they may
// hold commits its disk copy lacks: what is shown here may not be the whole
// log. Said (as rvm_initialize says when it refuses such a log) unless the
// environment configures the mirrors.
void WarnIfMirrorsMayHoldMore() {
  rvmr::ShimConfig sc;
  if (rvmr::LoadShimConfigFromEnv(&sc).ok() && sc.enabled()) return;
  rvmr::MirrorCopyCheck c;
  if (!rvmr::CheckMirrorCopy(log_state.path, log_state.fd, log_state.status, &c).ok() ||
      !c.mirrors_may_hold_more)
    return;
  fprintf(stderr, "? warning: %s (The records shown are the disk copy's.)\n", c.message.c_str());
  log_state.warned_mirrors = true;
}

// librvm's messages during recover (rvm/rvm_diag.h): printed as librvm
// prints them, except the error of the failing call, which recover prints
// itself.
std::vector<std::pair<int, std::string>> g_rvm_messages;

void KeepRvmMessage(void*, int level, const char* message) {
  g_rvm_messages.emplace_back(level, message);
}

void PrintRvmMessages(const char* except) {
  static const char* const kLevel[] = {"error", "warning", "notice", "info", "debug"};
  for (const auto& [level, text] : g_rvm_messages) {
    if (except != nullptr && text == except) continue;
    fprintf(stderr, "rvm: %s: %s\n", kLevel[level >= 0 && level <= 4 ? level : 4], text.c_str());
  }
  g_rvm_messages.clear();
}

void OpenLogFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      fprintf(stderr, "? File or directory \"%s\" non-existent\n", path.c_str());
    } else {
      perror("? I/O error opening log");
    }
    return;
  }
  log_state.fd = fd;
  log_state.path = path;
  if (rvmr::coda::CodaLog::Recognize(path)) {
    Status s = rvmr::coda::CodaLog::Open(path, &log_state.original);
    if (!s.ok()) {
      fprintf(stderr, "? %s\n", s.ToString().c_str());
      CloseLog();
      return;
    }
    printf("%s\n", log_state.original->Describe().c_str());
    log_state.open = true;
    return;
  }
  if (!ScanLog()) {
    CloseLog();
    return;
  }
  log_state.open = true;
  WarnIfMirrorsMayHoldMore();
}

// Parses "<number>[kKmMsSpPbB]" (number in C syntax: 0x.., 0.., decimal).
bool ParseLength(const std::string& text, uint64_t* out) {
  char* end = nullptr;
  uint64_t v = strtoull(text.c_str(), &end, 0);
  if (end == text.c_str()) return false;
  switch (*end) {
    case 'k':
    case 'K':
      v *= 1024;
      break;
    case 'm':
    case 'M':
      v *= 1048576;
      break;
    case 's':
    case 'S':
      v *= 512;
      break;
    case 'p':
    case 'P':
      v *= static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
      break;
    case 'b':
    case 'B':
    case '\0':
      break;
    default:
      fprintf(stderr, "? unknown size specifier: %c\n", *end);
      return false;
  }
  *out = v & ~uint64_t{511};
  return true;
}

bool DoInitLog() {
  if (log_state.open) CloseLog();
  std::string path = in.Word("Enter name of log file or device:");
  if (path.empty()) return false;
  uint64_t len = 0;
  std::string text_len;
  for (;;) {
    std::string text = in.Word("Enter length of log data area:");
    if (text.empty()) return false;
    text_len = text;
    if (ParseLength(text, &len) && len > 512) break;
    if (len <= 512) fprintf(stderr, "? log length must be at least one sector\n");
    in.Discard();
  }
  bool force = false;
  if (!in.AtEnd()) {
    std::string w = in.Word(nullptr);
    if (w != "force") {
      fprintf(stderr, "? init_log: unexpected \"%s\" (the only word after the length is force)\n",
              w.c_str());
      return false;
    }
    force = true;
  }
  if (!force) {
    Status check = rvmr::rvmutl::CheckMayOverwrite(path);
    if (!check.ok()) {
      fprintf(stderr,
              "? %s\n? init_log refuses to overwrite it: apply it first (open_log %s, then "
              "recover), or discard what it holds with: init_log %s %s force\n",
              check.message().c_str(), path.c_str(), path.c_str(), text_len.c_str());
      return false;
    }
  }
  Status s = rvmr::rvmutl::ReplaceWithNewLog(path, len);
  if (!s.ok()) {
    fprintf(stderr, "? could not initialize log: %s\n", s.ToString().c_str());
    exit(EXIT_FAILURE);
  }
  OpenLogFile(path);
  return true;
}

bool DoOpenLog() {
  if (log_state.open) {
    fprintf(stderr, "? Log file \"%s\" is already open\n", log_state.path.c_str());
    in.Discard();
    return false;
  }
  // Keywords the original accepts before the name; all harmless here.
  for (;;) {
    char c = in.Peek();
    if (c == '\0' || c == '\n') break;
    std::string w = in.Word(nullptr);
    if (w == "update" || w == "no_update" || w == "tail" || w == "no_tail") continue;
    if (w == "file") break;
    OpenLogFile(w);
    return log_state.open;
  }
  std::string path = in.Word("Enter name of log file or device:");
  if (path.empty()) return false;
  OpenLogFile(path);
  return log_state.open;
}

bool DoCloseLog() {
  if (!RequireLog()) return false;
  CloseLog();
  return true;
}

bool DoStatus() {
  if (!RequireLog()) return false;
  if (log_state.original) {
    rvmr::rvmutl::PrintOriginalStatus(stdout, *log_state.original);
    return true;
  }
  const auto& st = log_state.status;
  uint64_t used = log_state.tail - st.head;
  printf("Status of log:           %s\n\n", log_state.path.c_str());
  printf("  log format version:    %u (status block), %u (records)\n", st.version,
         rlog::kFormatVersion);
  printf("  created:               %s\n", TimeString(st.create_time_ns).c_str());
  printf("  status writes:         %" PRIu64 "\n", st.write_counter);
  printf("  writer epoch:          %" PRIu64 "\n", st.epoch);
  printf("  log data area start:   %" PRIu64 "\n", st.area_start);
  printf("  log data area size:    %" PRIu64 "\n", st.area_size);
  printf("  head (logical offset): %" PRIu64 "   head lsn: %" PRIu64 "\n", st.head, st.head_lsn);
  printf("  tail (logical offset): %" PRIu64 "   (scan stopped: %s)\n", log_state.tail,
         log_state.stop_reason.c_str());
  printf("  log %s; %" PRIu64 " bytes in use (%.1f%%), %zu record(s)\n",
         log_state.records.empty() ? "empty" : "not empty", used,
         st.area_size ? 100.0 * static_cast<double>(used) / static_cast<double>(st.area_size) : 0.0,
         log_state.records.size());
  return true;
}

bool DoStatistics() {
  if (!RequireLog()) return false;
  if (log_state.original) {
    rvmr::rvmutl::PrintOriginalStatus(stdout, *log_state.original);
    return true;
  }
  size_t txns = 0, dicts = 0, flushes = 0, coalesced = 0, ranges = 0;
  uint64_t data_bytes = 0;
  for (const auto& r : log_state.records) {
    if (r.hdr.type == static_cast<uint16_t>(rlog::RecordType::kTransaction)) {
      ++txns;
      if (r.hdr.flags & rlog::kTxnFlagFlush) ++flushes;
      if (r.hdr.flags & rlog::kTxnFlagCoalesced) ++coalesced;
      uint64_t ns;
      std::vector<rlog::RangeView> v;
      if (rlog::ParseTransactionPayload(r.payload, &ns, &v).ok()) {
        ranges += v.size();
        for (const auto& rv : v) data_bytes += rv.length;
      }
    } else if (r.hdr.type == static_cast<uint16_t>(rlog::RecordType::kSegmentDict)) {
      ++dicts;
    }
  }
  printf("Statistics of the records in log %s (head to tail):\n", log_state.path.c_str());
  printf("  transaction records:       %zu (%zu flush, %zu coalesced no_flush)\n", txns, flushes,
         coalesced);
  printf("  ranges:                    %zu, %" PRIu64 " bytes of new values\n", ranges, data_bytes);
  printf("  segment dictionary records: %zu\n", dicts);
  printf(
      "  (this log format keeps no cumulative statistics in its status block;\n"
      "   running programs report theirs with rvm_print_statistics)\n");
  return true;
}

bool ShowRange(size_t from, size_t to) {
  for (size_t i = from; i < to && i < log_state.records.size(); ++i) {
    PrintRecord(stdout, log_state.records[i], i + 1);
  }
  return true;
}

bool ShowCurrent() {
  if (log_state.records.empty()) {
    printf("log is empty\n");
    return false;
  }
  return ShowRange(log_state.cursor, log_state.cursor + 1);
}

bool DoHead() {
  if (!RequireOurLog()) return false;
  log_state.cursor = 0;
  return ShowCurrent();
}

bool DoTail() {
  if (!RequireOurLog()) return false;
  if (!log_state.records.empty()) log_state.cursor = log_state.records.size() - 1;
  return ShowCurrent();
}

long CountArg() {
  if (in.AtEnd()) return 1;
  std::string w = in.Word(nullptr);
  long n = strtol(w.c_str(), nullptr, 0);
  return n > 0 ? n : 1;
}

bool DoNext() {
  if (!RequireOurLog()) return false;
  long n = CountArg();
  if (log_state.cursor + static_cast<size_t>(n) >= log_state.records.size()) {
    printf("no next record: at tail of log\n");
    return false;
  }
  log_state.cursor += static_cast<size_t>(n);
  return ShowCurrent();
}

bool DoPrev() {
  if (!RequireOurLog()) return false;
  long n = CountArg();
  if (static_cast<size_t>(n) > log_state.cursor) {
    printf("no previous record: at head of log\n");
    return false;
  }
  log_state.cursor -= static_cast<size_t>(n);
  return ShowCurrent();
}

bool DoSegDict() {
  if (!RequireLog()) return false;
  if (log_state.original) {
    rvmr::rvmutl::PrintOriginalSegments(stdout, *log_state.original);
    in.Discard();
    return true;
  }
  printf("Segment dictionary:\n");
  for (const auto& r : log_state.records) {
    uint32_t code;
    std::string name;
    if (r.hdr.type == static_cast<uint16_t>(rlog::RecordType::kSegmentDict) &&
        rlog::ParseSegmentDict(r.payload, &code, &name).ok()) {
      printf("  %u: %s\n", code, name.c_str());
    }
  }
  in.Discard();
  return true;
}

bool DoShow() {
  if (!RequireLog()) return false;
  std::string what = in.Word(nullptr);
  if (what.empty() && log_state.original) what = "all";
  if (what.empty()) return ShowCurrent();
  struct Key {
    const char* name;
    int id;
  };
  static const Key keys[] = {
      {"all", 1},      {"all_records", 1}, {"earliest", 2}, {"head", 2},        {"tail", 3},
      {"next", 4},     {"prev", 5},        {"records", 1},  {"remaining", 6},   {"rec_number", 7},
      {"seg_dict", 8}, {"statistics", 9},  {"status", 10},  {"log_status", 10}, {"current", 11}};
  int id = 0;
  for (const auto& k : keys) {
    if (strncmp(k.name, what.c_str(), what.size()) == 0) {
      if (what == k.name) {
        id = k.id;
        break;
      }
      if (id != 0 && id != k.id) {
        fprintf(stderr, "? %s: ambiguous show option\n", what.c_str());
        return false;
      }
      id = k.id;
    }
  }
  // On a log of the original: all, seg_dict, statistics and status only.
  if (log_state.original && id != 1 && id != 8 && id != 9 && id != 10) return RequireOurLog();
  if (log_state.original && id == 1) {
    const auto& recs = log_state.original->records();
    if (recs.empty()) printf("log is empty\n");
    rvmr::rvmutl::PrintOriginalRecords(stdout, *log_state.original, 0, recs.size());
    return true;
  }
  switch (id) {
    case 1:
      if (log_state.records.empty()) printf("log is empty\n");
      return ShowRange(0, log_state.records.size());
    case 2:
      return DoHead();
    case 3:
      return DoTail();
    case 4:
      return DoNext();
    case 5:
      return DoPrev();
    case 6:
      return ShowRange(log_state.cursor, log_state.records.size());
    case 7: {
      std::string n = in.Word("Enter record number:");
      uint64_t lsn = strtoull(n.c_str(), nullptr, 0);
      for (size_t i = 0; i < log_state.records.size(); ++i) {
        if (log_state.records[i].hdr.lsn == lsn) {
          log_state.cursor = i;
          return ShowCurrent();
        }
      }
      printf("? record number %" PRIu64 " is not in the log\n", lsn);
      return false;
    }
    case 8:
      return DoSegDict();
    case 9:
      return DoStatistics();
    case 10:
      return DoStatus();
    case 11:
      return ShowCurrent();
    default:
      fprintf(stderr, "? show %s: not supported for this log format\n", what.c_str());
      in.Discard();
      return false;
  }
}

// recover [clear] [update | no_update] [map CODE=PATH ...] [[file] LOG]
// Applies the log to the data segments. A log of this RVM: librvm recovers
// it when it opens it, in a child process, since RVM initializes once per
// process. A log of the original RVM: its committed transactions are
// applied here (original_log.h); "map CODE=PATH" writes segment CODE to PATH
// instead of the file its dictionary names, no_update only checks.
bool DoRecover() {
  rvmr::coda::ApplyOptions opts;
  std::string name;
  for (;;) {
    if (in.AtEnd()) break;
    std::string w = in.Word(nullptr);
    if (w == "clear" || w == "update") continue;
    if (w == "no_update") {
      opts.dry_run = true;
    } else if (w == "map") {
      std::string m = in.Word("Enter CODE=PATH:");
      size_t eq = m.find('=');
      char* end = nullptr;
      unsigned long code = eq == std::string::npos ? 0 : strtoul(m.c_str(), &end, 0);
      if (eq == std::string::npos || end != m.c_str() + eq || eq + 1 == m.size() ||
          code > UINT32_MAX) {
        fprintf(stderr, "? map %s: expected CODE=PATH (a segment code, then a file)\n", m.c_str());
        return false;
      }
      opts.segment_map[static_cast<uint32_t>(code)] = m.substr(eq + 1);
    } else if (w == "file") {
      name = in.Word("Enter name of log file or device:");
    } else {
      name = w;
    }
  }
  if (!name.empty()) {
    if (log_state.open) {
      fprintf(stderr, "? Log file is already open\n");
      return false;
    }
    OpenLogFile(name);
  }
  if (!RequireLog()) return false;
  if (log_state.original) return rvmr::rvmutl::RecoverOriginalLog(&log_state.original, opts);
  if (opts.dry_run || !opts.segment_map.empty()) {
    fprintf(stderr, "? recover: no_update and map are for logs of the original RVM only\n");
    return false;
  }
  std::string path = log_state.path;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    perror("? fork");
    return false;
  }
  if (pid == 0) {
    rvm_options_t* ropts = rvm_malloc_options();
    ropts->log_dev = const_cast<char*>(path.c_str());
    rvm_set_diag_hook(&KeepRvmMessage, nullptr);
    rvm_return_t rc = RVM_INIT(ropts);
    if (rc == RVM_SUCCESS) rc = rvm_truncate();
    if (rc != RVM_SUCCESS) {
      const std::string why = rvm_last_error_text();
      PrintRvmMessages(why.c_str());
      if (rc == RVM_ELOG && log_state.warned_mirrors &&
          why.find("refusing to open the log") != std::string::npos) {
        // Said once: the warning above gave the reason and what to do.
        fprintf(stderr, "? recovery failed: RVM_ELOG: refusing to open the log, as warned above\n");
      } else {
        fprintf(stderr, "? recovery failed: %s\n", why.empty() ? rvm_return(rc) : why.c_str());
      }
      _exit(1);
    }
    PrintRvmMessages(nullptr);
    rvm_terminate();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) return false;
  if (!ScanLog()) return false;
  printf("log recovered: %zu record(s) remain\n", log_state.records.size());
  return true;
}

bool DoSizeof() {
  struct Size {
    const char* name;
    size_t size;
  };
  static const Size sizes[] = {
      {"int", sizeof(int)},
      {"long", sizeof(long)},
      {"rvm_length_t", sizeof(rvm_length_t)},
      {"rvm_offset_t", sizeof(rvm_offset_t)},
      {"rvm_options_t", sizeof(rvm_options_t)},
      {"rvm_region_t", sizeof(rvm_region_t)},
      {"rvm_region_def_t", sizeof(rvm_region_def_t)},
      {"rvm_statistics_t", sizeof(rvm_statistics_t)},
      {"rvm_tid_t", sizeof(rvm_tid_t)},
      {"rds_stats_t", sizeof(rds_stats_t)},
      {"intentionList_t", sizeof(intentionList_t)},
      {"log_record_header", rlog::kRecordHeaderSize},
      {"log_status_block", rlog::kStatusCopySize},
      {"log_status_area", rlog::kStatusAreaSize},
      {"FLUSH_BUF_LEN", FLUSH_BUF_LEN},
      {"RECOVERY_BUF_LEN", RECOVERY_BUF_LEN},
      {"MAX_READ_LEN", MAX_READ_LEN},
      {"MAXPATHLEN", MAXPATHLEN},
  };
  std::string what = in.Word("Enter type name or all:");
  bool all = what.empty() || strncmp("all", what.c_str(), what.size()) == 0;
  bool found = false;
  for (const auto& s : sizes) {
    if (all || strncmp(s.name, what.c_str(), what.size()) == 0) {
      printf("  %-20s %zu\n", s.name, s.size);
      found = true;
    }
  }
  if (!found) fprintf(stderr, "? %s: type/struct not found\n", what.c_str());
  return found;
}

bool DoQuit() {
  CloseLog();
  fflush(stdout);
  exit(EXIT_SUCCESS);
}

bool DoUpdate() {
  return true;
}  // replay/recover always update the segments here

bool DoFindTail() {
  if (!RequireOurLog()) return false;
  if (!ScanLog()) return false;
  printf("tail at logical offset %" PRIu64 " (scan stopped: %s)\n", log_state.tail,
         log_state.stop_reason.c_str());
  return true;
}

bool DoReadStatus() {
  if (!RequireOurLog()) return false;
  return ScanLog();
}

bool NotSupported() {
  fprintf(stderr,
          "? %s: not supported by this rvmutl (it reads this project's log format, not the "
          "original's)\n",
          g_current_command);
  in.Discard();
  return false;
}

struct Command {
  const char* name;
  bool (*fn)();
  bool sticky;  // an empty line repeats it
};

// In the original's order: prefix lookup depends on it.
const Command kCommands[] = {
    {"all_spec", NotSupported, false},
    {"seg_dict", DoSegDict, false},
    {"build_seg_dict", DoSegDict, false},
    {"close_log", DoCloseLog, false},
    {"copy_log", NotSupported, false},
    {"earliest", DoHead, false},
    {"init_log", DoInitLog, false},
    {"find_earliest", DoHead, false},
    {"find_hole", NotSupported, false},
    {"find_tail", DoFindTail, false},
    {"head", DoHead, false},
    {"log", DoOpenLog, false},
    {"open_log", DoOpenLog, false},
    {"n", DoNext, true},
    {"next", DoNext, true},
    {"ns", NotSupported, true},
    {"next_sub_rec", NotSupported, true},
    {"p", NotSupported, true},
    {"pr", DoPrev, true},
    {"prev", DoPrev, true},
    {"ps", NotSupported, true},
    {"prev_sub_rec", NotSupported, true},
    {"peek", NotSupported, true},
    {"poke", NotSupported, false},
    {"quit", DoQuit, false},
    {"read_status", DoReadStatus, false},
    {"monitor", NotSupported, false},
    {"replay", NotSupported, false},
    {"recover", DoRecover, false},
    {"set", NotSupported, false},
    {"s", DoShow, true},
    {"show", DoShow, true},
    {"sizeof", DoSizeof, false},
    {"status", DoStatus, false},
    {"log_status", DoStatus, false},
    {"sr", NotSupported, true},
    {"sub_rec", NotSupported, true},
    {"statistics", DoStatistics, false},
    {"tail", DoTail, false},
    {"update", DoUpdate, false},
    {"no_update", DoUpdate, false},
    {"write_status", NotSupported, false},
};

// The original's lookup: an exact match wins if reached, the first prefix
// match is remembered, and a second prefix match before that is ambiguous.
const Command* Lookup(const std::string& word) {
  const Command* found = nullptr;
  for (const auto& c : kCommands) {
    if (strncmp(c.name, word.c_str(), word.size()) != 0) continue;
    if (word == c.name) return &c;
    if (found == nullptr) {
      found = &c;
    } else {
      fprintf(stderr, "? %s: ambiguous command: %s or %s?\n", word.c_str(), c.name, found->name);
      return nullptr;
    }
  }
  if (found == nullptr) fprintf(stderr, "? %s: command not found\n", word.c_str());
  return found;
}

void CommandLoop() {
  std::string sticky_line;
  for (;;) {
    if (!in.NextLine("*")) return;
    if (in.Peek() == '#') continue;
    if (in.Peek() == '<') {
      in.Skip(1);
      std::string file = in.Rest();
      if (!in.Push(file)) fprintf(stderr, "\n? Cannot open input file %s\n", file.c_str());
      sticky_line.clear();
      continue;
    }
    if (in.AtEnd()) {
      if (sticky_line.empty()) continue;
      // An empty line repeats a sticky command (next, prev, show, ...).
      const Command* c = Lookup(sticky_line);
      if (c != nullptr) {
        g_current_command = c->name;
        if (!c->fn()) sticky_line.clear();
      }
      continue;
    }
    std::string word = in.Word(nullptr);
    const Command* c = Lookup(word);
    if (c == nullptr) {
      in.Discard();
      continue;
    }
    g_current_command = c->name;
    sticky_line = c->sticky ? word : "";
    if (!c->fn()) sticky_line.clear();
    in.Discard();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf(
        "usage: rvmutl [LOG]   then commands on stdin (prompt \"* \"); any unique prefix of a\n"
        "command works, e.g. i for init_log.\n\n"
        "  init_log LOG LEN [force]  make an empty log (LEN: bytes, or with K/M/S/P suffix);\n"
        "                            refuses to overwrite a log still holding committed\n"
        "                            transactions not yet applied (this RVM's or the original\n"
        "                            RVM's) unless the last word is force; keeps the file's mode\n"
        "  open_log LOG              open a log: this RVM's, or the original (Coda) RVM's\n"
        "  recover [no_update] [map CODE=PATH ...] [LOG]\n"
        "                            apply the log's committed transactions to the data\n"
        "                            segments (an original RVM log too: see docs/migration.md)\n"
        "  status, statistics, seg_dict, show all|head|tail|..., head, tail, next, prev,\n"
        "  find_tail, read_status, sizeof, close_log, quit\n");
    return EXIT_SUCCESS;
  }
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("%s (%s)\n", RVMR_VERSION_LINE("rvmutl"), RVM_VERSION);
    return EXIT_SUCCESS;
  }
  if (argc > 1 && argv[1][0] == '-') {
    fprintf(stderr, "? %s: switch not found\n", argv[1]);
    return EXIT_FAILURE;
  }
  if (argc > 1) OpenLogFile(argv[1]);
  CommandLoop();
  CloseLog();
  return EXIT_SUCCESS;
}
