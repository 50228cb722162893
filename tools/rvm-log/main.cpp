// rvm-log: inspect, verify, diff and replay RVM logs (the disk copy and the
// remote copies held by log servers), and show log server statistics.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>

#include "commands.h"
#include "common/version.h"

namespace {

constexpr const char* kNameHelp =
    "remote log name (default: the disk log's id in hex); rvmpl-... or the absolute path of the "
    "file it protects: a preload shim log";

void AddRemoteOptions(CLI::App* sub, rvmr::tools::RemoteOptions* r) {
  sub->add_option("--secret-file", r->secret_file,
                  "file holding the shared secret of authenticated log servers");
  sub->add_option("--timeout-ms", r->timeout_ms, "connect and I/O timeout per server")
      ->capture_default_str();
  sub->add_option("--key-file", r->key_file,
                  "the log key file that verifies the remote copies' sealed records (default: "
                  "LOG.key beside the disk log, if it exists)");
}

// Set by SIGINT/SIGTERM: ends inspect --follow (exit 0).
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void OnStopSignal(int) {
  g_stop.store(true);
}

void InstallStopHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void AddOffsetOptions(CLI::App* sub, uint64_t* to_offset) {
  sub->add_option("--to-offset", *to_offset,
                  "stop before the first record starting at or after this logical offset");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rvmr::tools;
  CLI::App app{"rvm-log: inspect, verify, diff and replay RVM logs (disk and remote copies)"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", RVMR_VERSION_LINE("rvm-log"));
  app.footer(kExitStatusHelp);

  InspectOptions io;
  auto* inspect = app.add_subcommand(
      "inspect", "show the status block and every record (offset, LSN, epoch, ranges, CRC)");
  inspect->add_option("log", io.log_paths, "disk log files (each headed with its name)");
  inspect->add_option("--remote", io.remote_uri,
                      "inspect each log's remote copy on the server at this URI instead");
  inspect->add_option("--name", io.name, kNameHelp);
  inspect->add_flag("--json", io.json, "one JSON object per line (see docs/rvm-log.md)");
  inspect->add_option("--lsn-from", io.lsn_from, "show records with LSN >= this");
  inspect->add_option("--lsn-to", io.lsn_to, "show records with LSN <= this");
  inspect->add_option("--segment", io.segment, "show records touching this segment (code or path)");
  auto* txn = inspect->add_option("--txn", io.txn_lsn,
                                  "show only the record with this LSN, with its range data in hex");
  inspect->add_option("--from-offset", io.from_offset,
                      "show records starting at or after this logical offset (one inside a "
                      "record: from the next record, with a note on stderr)");
  AddOffsetOptions(inspect, &io.to_offset);
  inspect->add_option("--limit", io.limit, "show at most N records per log")
      ->check(CLI::PositiveNumber);
  inspect->add_flag("-f,--follow", io.follow,
                    "after the end, keep printing records as they are appended (until "
                    "SIGINT/SIGTERM, --limit or --to-offset; exit 0)");
  inspect->add_option("--poll-ms", io.poll_ms, "with --follow: look for new records this often")
      ->capture_default_str()
      ->check(CLI::Range(1, 60000));
  AddRemoteOptions(inspect, &io.remote);

  VerifyOptions vo;
  auto* verify = app.add_subcommand(
      "verify", "check every checksum, sequence and boundary; exit 0 only if the log is sound");
  verify->add_option("log", vo.log_paths, "disk log files (each headed with its name)");
  verify->add_option("--remote", vo.remote_uri,
                     "verify each log's remote copy on the server at this URI instead");
  verify->add_option("--name", vo.name, kNameHelp);
  verify->add_flag("--json", vo.json, "the verdict as one JSON object");
  AddOffsetOptions(verify, &vo.to_offset);
  AddRemoteOptions(verify, &vo.remote);

  ReplayCmdOptions ro;
  std::vector<std::string> seg_map;
  bool progress = false, no_progress = false;
  auto* replay = app.add_subcommand(
      "replay", "apply the committed transactions to the data segment files (idempotent)");
  replay->add_option("log", ro.log_path, "the disk log file");
  replay->add_option("--remote", ro.remote_uris, "a log server holding a remote copy (repeatable)")
      ->allow_extra_args(false);
  replay->add_option("--name", ro.name, "remote log name (default: the disk log's id in hex)");
  replay
      ->add_option("--from", ro.from,
                   "disk, remote, or auto (the freshest consistent copy: the disk copy "
                   "continued by the longest verified remote tail)")
      ->capture_default_str()
      ->check(CLI::IsMember({"disk", "remote", "auto"}));
  replay->add_flag("--dry-run", ro.dry_run, "check and count everything, write nothing");
  replay
      ->add_option("--segment-map", seg_map,
                   "CODE=PATH: write segment CODE to PATH instead of the file the log names "
                   "(repeatable)")
      ->allow_extra_args(false);
  replay->add_flag("--progress", progress, "show a progress bar even if stderr is no terminal");
  replay->add_flag("--no-progress", no_progress, "never show a progress bar");
  replay->add_flag("--json", ro.json, "the summary as one JSON object");
  AddRemoteOptions(replay, &ro.remote);

  DiffOptions dof;
  auto* diff = app.add_subcommand(
      "diff", "compare the disk copy with remote copies: identical prefix, differences, lead");
  diff->add_option("log", dof.log_path, "the disk log file")->required();
  diff->add_option("--remote", dof.remote_uris, "a log server holding a remote copy (repeatable)")
      ->required()
      ->allow_extra_args(false);
  diff->add_option("--name", dof.name, "remote log name (default: the disk log's id in hex)");
  diff->add_flag("--json", dof.json, "one JSON object per copy");
  AddRemoteOptions(diff, &dof.remote);

  StatOptions so;
  auto* stat = app.add_subcommand("stat", "live statistics of a log server and its logs");
  stat->add_option("uri", so.uri, "the server, tcp://host:port")->required();
  stat->add_flag("--json", so.json, "one JSON object per line");
  stat->add_option("--interval", so.interval_s, "sample every SECONDS (with append rates)");
  stat->add_option("--count", so.count, "samples to take with --interval (0: until killed)")
      ->capture_default_str();
  AddRemoteOptions(stat, &so.remote);

  for (CLI::App* sub : {inspect, verify, replay, diff, stat}) sub->footer(kExitStatusHelp);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitError;
  }
  if (*inspect) {
    io.has_txn = txn->count() > 0;
    if (io.follow) {
      io.stop = &g_stop;
      InstallStopHandlers();
    }
    return RunInspect(io, std::cout, std::cerr);
  }
  if (*verify) return RunVerify(vo, std::cout, std::cerr);
  if (*replay) {
    rvmr::Status s = ParseSegmentMap(seg_map, &ro.segment_map);
    if (!s.ok()) {
      std::cerr << "rvm-log replay: " << s.message() << "\n";
      return kExitError;
    }
    ro.progress = progress ? 1 : (no_progress ? 0 : -1);
    return RunReplay(ro, std::cout, std::cerr);
  }
  if (*diff) return RunDiff(dof, std::cout, std::cerr);
  if (*stat) {
    if (so.interval_s > 0 && !stat->count("--count")) so.count = 0;
    return RunStat(so, std::cout, std::cerr);
  }
  std::cerr << "rvm-log: a subcommand is required (inspect, verify, replay, diff, stat); "
               "see rvm-log --help\n";
  return kExitError;
}
