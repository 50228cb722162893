// rvm-commit-bench: what a commit costs through the public RVM API, in
// local-disk mode and with remote memory mirrors, measured side by side in
// one run together with a bare TCP ping-pong of the same sizes.
//
// The parent starts the mirrors (in-process log servers on loopback), with
// --mirror-rtt-us a delaying relay process in front of each (relay.h), and a
// ping-pong echo server, then runs each mode in a child process (RVM cannot
// be initialised twice in one process; worker.h) with RVM_MIRRORS set
// accordingly (mode_run.h), and prints one set of tables.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/version.h"
#include "bench_util.h"
#include "mode_run.h"
#include "ping_pong.h"
#include "relay.h"
#include "remote_log/server.h"
#include "worker.h"

namespace commit_bench {

namespace {

struct Options {
  std::string only;  // local, 1 or 2; empty: all modes and the tables
  int protection_rounds = 0;  // --protection: compare record protection off/on instead
  int mirror_rtt_us = 0;
  bool pin = false;  // --pin: log servers on the last CPU, RVM processes on the others
  WorkerOptions worker{"8,64,512,4096,65536,1048576", "1.5", "", "1,2,4,8", {}};
};

void Usage() {
  std::printf(
      "usage: rvm-commit-bench [--version] [--quick] [--sizes LIST] [--seconds S] [--tpcb-seconds N]\n"
      "                        [--threads LIST] [--mirror-rtt-us N] [--only MODE] [--pin]\n"
      "\n"
      "Measures RVM commits through the public API in one run, side by side:\n"
      "  local   classic mode: a flush commit waits for the log's fdatasync\n"
      "  1 mirror, 2 mirrors   remote mode (RVM_MIRRORS): a flush commit waits for\n"
      "          the mirrors' acks; the disk copy is written in the background\n"
      "  ping-pong   a bare TCP request/ack of the same sizes on loopback\n"
      "Reports flush-commit latency p50/p99/p99.9 per size, no_flush commit cost,\n"
      "and TPC-B-like transactions/s for each thread count, with each count's ratio\n"
      "to the 1-thread rate of the same mode, flush commits per log write (group\n"
      "commit), RVM-process CPU per transaction and commit latency p50/p99 (the\n"
      "rvm_end_transaction(flush) call, timed in the committing threads).\n"
      "\n"
      "  --quick        sizes 8,4096,65536 and 0.5 s per size (the main job)\n"
      "  --sizes LIST   comma-separated transaction sizes in bytes\n"
      "                 (default 8,64,512,4096,65536,1048576)\n"
      "  --seconds S    time budget per size and mode (default 1.5)\n"
      "  --tpcb-seconds N   TPC-B run time per thread count (default 2, 1 with\n"
      "                 --seconds below 1; 0: skip)\n"
      "  --threads LIST TPC-B thread counts, comma-separated (default 1,2,4,8)\n"
      "  --mirror-rtt-us N  reach the mirrors (and the ping-pong server) through a\n"
      "                 relay process that adds N microseconds per round trip, N/2\n"
      "                 each way, per chunk and without serialising chunks in\n"
      "                 flight, as a network would (10-50 us in a rack, hundreds\n"
      "                 across zones); the added round trip is measured and printed\n"
      "  --only MODE    run one mode alone (local, 1, 2) and print its raw lines\n"
      "                 (for profiling: perf record / strace -f the whole run)\n"
      "  --protection N record protection instead: 1 mirror with protect_records =\n"
      "                 no, with sealed records (the default) and with encrypt = yes,\n"
      "                 N rounds each, alternating; prints the median of the rounds'\n"
      "                 flush-commit p50 and RVM-process CPU per commit per size,\n"
      "                 and the cost of protection: the median of each round's\n"
      "                 difference to off\n"
      "  --pin          run the log servers (this process) on the last allowed CPU\n"
      "                 and the RVM processes on the others, as if the mirrors were\n"
      "                 other machines: the thread placement no longer varies from\n"
      "                 run to run (needs 2 or more CPUs)\n");
}

// Parses the command line; exits on --help or an error.
Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--version") {
      std::printf("%s\n", RVMR_VERSION_LINE("rvm-commit-bench"));
      std::exit(0);
    }
    if (arg == "--help" || arg == "-h") {
      Usage();
      std::exit(0);
    } else if (arg == "--quick") {
      o.worker.sizes = "8,4096,65536";
      o.worker.secs = "0.5";
    } else if (arg == "--sizes" && has_value) {
      o.worker.sizes = argv[++i];
    } else if (arg == "--seconds" && has_value) {
      o.worker.secs = argv[++i];
    } else if (arg == "--only" && has_value) {
      o.only = argv[++i];
      if (o.only != "local" && o.only != "1" && o.only != "2")
        Die("--only takes local, 1 or 2 (see --help)");
    } else if (arg == "--tpcb-seconds" && has_value) {
      o.worker.tpcb_secs = argv[++i];
    } else if (arg == "--threads" && has_value) {
      o.worker.threads = argv[++i];
      for (int t : ParseList<int>(o.worker.threads))
        if (t <= 0) Die("--threads takes positive thread counts");
      if (ParseList<int>(o.worker.threads).empty()) Die("--threads takes a list such as 1,2,4,8");
    } else if (arg == "--protection" && has_value) {
      o.protection_rounds = std::atoi(argv[++i]);
      if (o.protection_rounds <= 0) Die("--protection takes a round count N >= 1");
    } else if (arg == "--pin") {
      o.pin = true;
    } else if (arg == "--mirror-rtt-us" && has_value) {
      o.mirror_rtt_us = std::atoi(argv[++i]);
      if (o.mirror_rtt_us < 0) Die("--mirror-rtt-us takes N >= 0");
    } else {
      std::fprintf(stderr, "rvm-commit-bench: unknown argument '%s' (see --help)\n", arg.c_str());
      std::exit(2);
    }
  }
  return o;
}

// --pin: moves this process (and so the log servers it starts next) to the
// last CPU it may run on, and returns the others, for the RVM processes.
std::vector<int> PinServersToLastCpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) Die("sched_getaffinity failed");
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (cpus.size() < 2) Die("--pin needs 2 or more CPUs; this process may use " +
                           std::to_string(cpus.size()));
  cpu_set_t last;
  CPU_ZERO(&last);
  CPU_SET(cpus.back(), &last);
  if (::sched_setaffinity(0, sizeof last, &last) != 0) Die("sched_setaffinity failed");
  std::printf("rvm-commit-bench: log servers pinned to CPU %d, RVM processes to the other %zu\n",
              cpus.back(), cpus.size() - 1);
  cpus.pop_back();
  return cpus;
}

std::string SelfPath() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) Die("cannot find /proc/self/exe");
  self[n] = '\0';
  return self;
}

// The mirrors, the ping-pong server, and with --mirror-rtt-us a relay in
// front of each; uris and pp_port are what the clients connect to.
struct Endpoints {
  std::vector<std::unique_ptr<rvmr::remote_log::Server>> servers;
  std::vector<std::unique_ptr<DelayRelay>> relays;
  std::vector<std::string> uris;
  PingPongServer pp;
  uint16_t pp_port = 0;

  double RelayCpuSeconds() const {
    double s = 0;
    for (const auto& r : relays) s += r->CpuSeconds();
    return s;
  }
};

void StartEndpoints(const std::string& self, int rtt_us, Endpoints& e) {
  for (int i = 0; i < 2; ++i) {
    rvmr::remote_log::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.capacity = uint64_t{1} << 30;
    e.servers.push_back(std::make_unique<rvmr::remote_log::Server>(o));
    auto s = e.servers.back()->Start();
    if (!s.ok()) Die("log server: " + s.ToString());
    uint16_t port = e.servers.back()->port();
    if (rtt_us > 0) {
      e.relays.push_back(std::make_unique<DelayRelay>(self, port, rtt_us));
      port = e.relays.back()->port();
    }
    e.uris.push_back("tcp://127.0.0.1:" + std::to_string(port));
  }
  e.pp_port = e.pp.port();
  if (rtt_us > 0) {
    e.relays.push_back(std::make_unique<DelayRelay>(self, e.pp.port(), rtt_us));
    e.pp_port = e.relays.back()->port();
  }
}

// The round trip the relay adds, measured: 8-byte ping-pong through the
// relay against the same ping-pong direct.
void ReportRelay(const Endpoints& e, int rtt_us) {
  Percentiles direct = PingPong(e.pp.port(), {8}, 0.5)[8];
  const double cpu0 = e.RelayCpuSeconds();
  Percentiles relayed = PingPong(e.pp_port, {8}, 0.5)[8];
  const double cpu_us = (e.RelayCpuSeconds() - cpu0) * 1e6 / static_cast<double>(relayed.n);
  std::printf(
      "relay: asked +%d us per round trip; measured +%.1f us at p50, +%.1f us at p99\n"
      "       (8-byte ping-pong p50/p99: %.1f/%.1f us through the relay, %.1f/%.1f us direct;\n"
      "       relay CPU about %.0f us per round trip, outside the RVM process's figures)\n",
      rtt_us, relayed.p50 - direct.p50, relayed.p99 - direct.p99, relayed.p50, relayed.p99,
      direct.p50, direct.p99, cpu_us);
  std::fflush(stdout);
}

// ---------------------------------------------------------------- tables --

void PrintLatencyTables(const std::vector<ModeResult>& modes, std::map<size_t, Percentiles>& pp,
                        const std::vector<size_t>& sizes, bool relayed) {
  std::printf("\nflush commit latency, microseconds (p50 / p99 / p99.9)\n");
  std::printf("%9s  %-26s %-26s %-26s %-26s\n", "size", "local disk", "1 mirror", "2 mirrors",
              relayed ? "TCP ping-pong, via relay" : "bare TCP ping-pong");
  for (size_t size : sizes) {
    std::printf("%9zu ", size);
    for (const auto& m : modes) {
      const Percentiles& p = m.latency.at(size);
      std::printf(" %8.1f/%8.1f/%8.1f", p.p50, p.p99, p.p999);
    }
    std::printf(" %8.1f/%8.1f/%8.1f\n", pp[size].p50, pp[size].p99, pp[size].p999);
  }
  std::printf("\nratios of p50 latency\n");
  std::printf("%9s  %-22s %-22s %-22s\n", "size", "local / 1 mirror", "1 mirror / ping-pong",
              "2 mirrors / ping-pong");
  for (size_t size : sizes) {
    double l = modes[0].latency.at(size).p50, r1 = modes[1].latency.at(size).p50,
           r2 = modes[2].latency.at(size).p50, p = pp[size].p50;
    std::printf("%9zu  %-22.1f %-22.2f %-22.2f\n", size, l / r1, r1 / p, r2 / p);
  }
  std::printf(
      "\nCPU per flush commit in the RVM process (all its threads: committer, disk writer,\n"
      "truncation; not the mirrors), microseconds\n");
  std::printf("%9s  %-12s %-12s %-12s\n", "size", "local disk", "1 mirror", "2 mirrors");
  for (size_t size : sizes) {
    std::printf("%9zu ", size);
    for (const auto& m : modes) std::printf(" %-12.1f", m.latency.at(size).cpu_us);
    std::printf("\n");
  }
  std::printf("\nno_flush commit (8 bytes), microseconds p50 / p99\n");
  for (const auto& m : modes)
    std::printf("  %-10s %.3f / %.3f\n", m.name.c_str(), m.noflush.p50, m.noflush.p99);
}

// The base of the ratios: the 1-thread rate, or the smallest count's.
int BaseThreads(const ModeResult& m) {
  return m.tpcb.empty() ? 0 : m.tpcb.begin()->first;
}

void PrintTpcbTable(const std::vector<ModeResult>& modes) {
  if (modes.empty() || modes[0].tpcb.empty()) return;
  const int base = BaseThreads(modes[0]);
  std::printf(
      "\nTPC-B-like flush transactions per second (x: ratio to the %d-thread rate of the same\n"
      "mode, same run)\n  %-10s",
      base, "mode");
  for (const auto& [t, row] : modes[0].tpcb)
    std::printf(" %16s", (std::to_string(t) + " thr").c_str());
  std::printf("\n");
  for (const auto& m : modes) {
    std::printf("  %-10s", m.name.c_str());
    const double base_rate = m.tpcb.at(BaseThreads(m)).txn_per_s;
    for (const auto& [t, row] : m.tpcb)
      std::printf(" %8.0f (%4.2fx)", row.txn_per_s, row.txn_per_s / base_rate);
    std::printf("\n");
  }
  std::printf(
      "\nTPC-B-like, per thread count: commits per log write (group commit; 1.00: none),\n"
      "RVM-process CPU per transaction, commit latency (rvm_end_transaction(flush)) p50/p99\n");
  std::printf("  %-10s %7s %10s %7s %10s %10s %10s %10s\n", "mode", "threads", "txn/s", "x",
              "txn/write", "CPU us/txn", "p50 us", "p99 us");
  for (const auto& m : modes) {
    const double base_rate = m.tpcb.at(BaseThreads(m)).txn_per_s;
    for (const auto& [t, r] : m.tpcb)
      std::printf("  %-10s %7d %10.0f %7.2f %10.2f %10.1f %10.1f %10.1f\n", m.name.c_str(), t,
                  r.txn_per_s, r.txn_per_s / base_rate, r.commits_per_write, r.cpu_us,
                  r.commit_p50_us, r.commit_p99_us);
  }
}

void PrintOnly(const ModeResult& r) {
  for (const auto& [size, p] : r.latency)
    std::printf("%9zu p50 %.1f p99 %.1f p99.9 %.1f cpu/commit %.1f us\n", size, p.p50, p.p99,
                p.p999, p.cpu_us);
  std::printf("no_flush p50 %.3f\n", r.noflush.p50);
  PrintTpcbTable({r});
}

ModeResult RunModeCounted(const std::string& self, const ModeSpec& spec, const WorkerOptions& w,
                          const Endpoints& e) {
  const double cpu0 = e.RelayCpuSeconds();
  ModeResult r = RunMode(self, spec, w);
  r.relay_cpu_s = e.RelayCpuSeconds() - cpu0;
  return r;
}

void PrintRelayCpu(const std::vector<ModeResult>& modes) {
  std::printf("\nrelay processes' CPU during each mode (not in the RVM process's figures):");
  for (const auto& m : modes) std::printf(" %s %.2f s;", m.name.c_str(), m.relay_cpu_s);
  std::printf("\n");
}

ModeSpec OnlyMode(const std::string& only, const std::vector<std::string>& uris) {
  if (only == "local") return {"local disk", "", ""};
  if (only == "1") return {"1 mirror", uris[0], ""};
  return {"2 mirrors", uris[0] + "," + uris[1], ""};
}

// --protection: the flush-commit p50 with record protection off, sealed and
// encrypted, `rounds` runs of each in turn (so drift hits all three alike).
int RunProtection(const std::string& self, const Options& o, const Endpoints& e,
                  const std::vector<size_t>& sizes) {
  const std::vector<ModeSpec> specs = {
      {"off", e.uris[0], "protect_records = no\n"},
      {"sealed", e.uris[0], ""},
      {"encrypted", e.uris[0], "encrypt = yes\n"},
  };
  WorkerOptions w = o.worker;
  w.tpcb_secs = "0";
  std::vector<std::map<size_t, std::vector<double>>> p50(specs.size()), cpu(specs.size());
  for (int r = 0; r < o.protection_rounds; r++)
    for (size_t m = 0; m < specs.size(); m++) {
      ModeResult res = RunMode(self, specs[m], w);
      if (!res.ok) Die("the '" + specs[m].name + "' run failed (see its messages above)");
      for (const auto& [size, p] : res.latency) {
        p50[m][size].push_back(p.p50);
        cpu[m][size].push_back(p.cpu_us);
      }
    }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  // The cost of a mode: the median over the rounds of (mode - off) within
  // each round (paired: the two ran seconds apart), which drift between
  // rounds does not move as it moves a difference of two medians.
  auto paired = [&](const std::vector<double>& mode, const std::vector<double>& off) {
    std::vector<double> d;
    for (size_t r = 0; r < mode.size() && r < off.size(); r++) d.push_back(mode[r] - off[r]);
    return median(d);
  };
  auto table = [&](const char* what, const auto& v) {
    std::printf(
        "\nrecord protection, 1 mirror: %s, microseconds (median of %d rounds; the costs are\n"
        "the median of each round's difference to off, and its ratio to the median of off)\n",
        what, o.protection_rounds);
    std::printf("%9s  %10s %10s %10s   %-18s %-18s\n", "size", "off", "sealed", "encrypted",
                "sealed - off", "encrypted - off");
    for (size_t size : sizes) {
      const auto &off_v = v[0].at(size), &auth_v = v[1].at(size), &enc_v = v[2].at(size);
      const double off = median(off_v), auth = paired(auth_v, off_v), enc = paired(enc_v, off_v);
      std::printf("%9zu  %10.1f %10.1f %10.1f   %+6.1f us %+6.1f%%   %+6.1f us %+6.1f%%\n", size,
                  off, median(auth_v), median(enc_v), auth, 100.0 * auth / off, enc,
                  100.0 * enc / off);
    }
  };
  table("flush commit p50", p50);
  table("RVM-process CPU per flush commit", cpu);
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  if (argc >= 5 && std::strcmp(argv[1], "--worker") == 0)
    return RunWorker(ParseWorkerArgs(argc, argv));
  if (argc >= 2 && std::strcmp(argv[1], "--relay") == 0) return RelayMain(argc, argv);
  Options o = ParseOptions(argc, argv);
  std::vector<size_t> sizes = ParseList<size_t>(o.worker.sizes);
  if (sizes.empty()) Die("no sizes");
  std::sort(sizes.begin(), sizes.end());
  const std::string self = SelfPath();

  if (o.pin) o.worker.cpus = PinServersToLastCpu();
  Endpoints e;
  StartEndpoints(self, o.mirror_rtt_us, e);
  std::printf("rvm-commit-bench: log servers %s and %s (loopback%s); log and data in /var/tmp\n",
              e.uris[0].c_str(), e.uris[1].c_str(),
              o.mirror_rtt_us > 0 ? ", each through a delaying relay" : "");
  std::fflush(stdout);
  if (o.mirror_rtt_us > 0) ReportRelay(e, o.mirror_rtt_us);

  if (o.protection_rounds > 0) return RunProtection(self, o, e, sizes);
  if (!o.only.empty()) {
    ModeResult r = RunModeCounted(self, OnlyMode(o.only, e.uris), o.worker, e);
    PrintOnly(r);
    if (o.mirror_rtt_us > 0) PrintRelayCpu({r});
    return r.ok ? 0 : 1;
  }
  std::vector<ModeResult> modes;
  modes.push_back(RunModeCounted(self, {"local disk", "", ""}, o.worker, e));
  modes.push_back(RunModeCounted(self, {"1 mirror", e.uris[0], ""}, o.worker, e));
  modes.push_back(RunModeCounted(self, {"2 mirrors", e.uris[0] + "," + e.uris[1], ""}, o.worker, e));
  for (const auto& m : modes)
    if (!m.ok) Die("the '" + m.name + "' run failed (see its messages above)");
  auto pp = PingPong(e.pp_port, sizes, std::atof(o.worker.secs.c_str()));
  PrintLatencyTables(modes, pp, sizes, o.mirror_rtt_us > 0);
  PrintTpcbTable(modes);
  const int base = BaseThreads(modes[0]);
  if (base > 0)
    std::printf("  1 mirror / local disk, %d thread(s): %.1fx\n", base,
                modes[1].tpcb.at(base).txn_per_s / modes[0].tpcb.at(base).txn_per_s);
  if (o.mirror_rtt_us > 0) PrintRelayCpu(modes);
  return 0;
}

}  // namespace commit_bench

int main(int argc, char** argv) {
  return commit_bench::Main(argc, argv);
}
