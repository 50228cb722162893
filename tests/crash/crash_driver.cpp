// The crash-injection suite (docs/crash-suite.md): for each scenario, runs
// the bank workload against real rvm-logd mirrors, kills it (SIGKILL at a
// random moment or at a fault point), damages what a crash would damage,
// recovers, and checks the oracle: every acknowledged commit is there, the
// bank equals the state after exactly its committed count of transactions
// (nothing partly applied), and nothing that was never begun is there.
//
// RVM_CRASH_ITERATIONS=N runs N iterations of every scenario (soak mode);
// RVM_CRASH_SEED=S fixes the random choices; RVM_CRASH_EXTRA_FAULT=item is
// added to the RVM_FAULT of every process the suite starts (to arm a
// mutation, test_only.NAME:on); RVM_CRASH_BIN_DIR=DIR runs the workload,
// rvm-logd and rvm-log of the build tree DIR (the mutant copy) instead of
// this build's. A scenario that finds a failure prints "crash suite: CAUGHT".
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crash_harness.h"

namespace rvmr::crash {
namespace {

// `built` (this build's binary), or its copy in RVM_CRASH_BIN_DIR.
std::string Binary(const char* built, const char* in_tree) {
  const char* dir = std::getenv("RVM_CRASH_BIN_DIR");
  return dir != nullptr && *dir != '\0' ? std::string(dir) + "/" + in_tree : built;
}

const std::string kWorkload = Binary(RVM_CRASH_WORKLOAD, "tests/crash/bank_workload");
const std::string kLogd = Binary(RVM_CRASH_LOGD, "remote_log/rvm-logd");
const std::string kRvmLog = Binary(RVM_CRASH_RVM_LOG, "tools/rvm-log/rvm-log");

constexpr uint64_t kUnlimited = 1000000000;
constexpr uint64_t kLogBytes = 4 << 20;

uint64_t Seed() {
  static uint64_t seed = [] {
    const char* s = std::getenv("RVM_CRASH_SEED");
    uint64_t v =
        s != nullptr
            ? std::strtoull(s, nullptr, 10)
            : static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::printf("crash suite: RVM_CRASH_SEED=%llu\n", static_cast<unsigned long long>(v));
    return v;
  }();
  return seed;
}

int Iterations(int dflt) {
  const char* s = std::getenv("RVM_CRASH_ITERATIONS");
  return s != nullptr && std::atoi(s) > 0 ? std::atoi(s) : dflt;
}

bool Contains(const std::string& s, const char* what) {
  return s.find(what) != std::string::npos;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// True if the process's stderr says a fault point killed it.
bool FaultFired(const std::string& err) {
  return Contains(err, ": kill\n") || Contains(err, ": torn\n") || Contains(err, ": exit\n");
}

// `env` plus RVM_FAULT=fault, with RVM_CRASH_EXTRA_FAULT (a mutation, to
// see the suite fail) appended.
std::vector<std::string> WithFault(std::vector<std::string> env, std::string fault) {
  const char* extra = std::getenv("RVM_CRASH_EXTRA_FAULT");
  if (extra != nullptr && *extra != '\0') fault += (fault.empty() ? "" : ",") + std::string(extra);
  if (!fault.empty()) env.push_back("RVM_FAULT=" + fault);
  return env;
}

// Counters for the report, per scenario.
struct Tally {
  int iterations = 0;
  uint64_t crashes = 0;       // processes killed (SIGKILL or fault point)
  uint64_t acked = 0;         // commits acknowledged to the workload
  uint64_t recovered = 0;     // of those, found after recovery
  uint64_t lost = 0;          // of those, not found (allowed only where reported)
  uint64_t reported = 0;      // recoveries that reported LOST/UNVERIFIED ranges
  uint64_t faults_fired = 0;  // crashes that came from a fault point
  uint64_t refusals = 0;      // starts without the mirrors refused as they must be
  uint64_t detections = 0;    // failures of the oracle or of the code under test
};

// One iteration: a fresh directory, log, bank and set of mirrors.
class Iteration {
 public:
  Iteration(std::mt19937_64* rng, Tally* tally, std::vector<std::string>* failures)
      : rng_(rng), tally_(tally), failures_(failures) {
    seg_ = dir_.path() + "/bank.seg";
    log_ = dir_.path() + "/rvm.log";
    if (!CreateBankSegment(seg_)) Broken("cannot create the bank segment");
  }

  // Starts n mirrors and writes the shim configuration (extra: more lines).
  void UseMirrors(int n, const std::string& extra) {
    std::string uris;
    for (int i = 0; i < n; i++) {
      mirrors_.push_back(std::make_unique<Mirror>(kLogd, dir_.path(), i, WithFault({}, "")));
      if (!mirrors_.back()->Start()) Broken("cannot start rvm-logd");
      uris += (i ? "," : "") + mirrors_.back()->uri();
    }
    std::string cfg = dir_.path() + "/shim.conf";
    FILE* f = std::fopen(cfg.c_str(), "w");
    std::fprintf(f,
                 "io_timeout_ms = 1000\nconnect_timeout_ms = 1000\nreconnect_interval_ms = 200\n"
                 "trim_interval_bytes = 4096\n%s\n",
                 extra.c_str());
    std::fclose(f);
    env_ = {"RVM_MIRRORS=" + uris, "RVM_SHIM_CONFIG=" + cfg};
  }

  Mirror& mirror(int i) { return *mirrors_[i]; }
  const std::string& dir() const { return dir_.path(); }
  int mirrors() const { return static_cast<int>(mirrors_.size()); }
  const std::string& log() const { return log_; }
  const std::string& seg() const { return seg_; }
  const std::vector<std::string>& env() const { return env_; }
  uint64_t Rand(uint64_t lo, uint64_t hi) { return lo + (*rng_)() % (hi - lo + 1); }

  // A kill rule: SIGKILL after a random number (1..max_acks) of
  // acknowledgements plus a random pause of up to 1 ms.
  KillRule RandomKill(uint64_t max_acks) {
    uint64_t k = Rand(1, max_acks);
    uint64_t us = Rand(0, 1000);
    return [k, us](const RunResult& r) {
      if (r.acks < k) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(us));
      return true;
    };
  }

  // A kill rule that kills mirror `victim` once `k` commits are acknowledged,
  // then SIGKILLs the workload `more` acknowledgements later. *killed_at: the
  // acknowledgements when the mirror was killed (stays 0 if it never was).
  KillRule KillMirrorAfter(int victim, uint64_t k, uint64_t more, uint64_t* killed_at) {
    return [this, victim, k, more, killed_at](const RunResult& rr) {
      if (*killed_at == 0 && rr.acks >= k) {
        mirror(victim).Kill();
        *killed_at = rr.acks;
      }
      return *killed_at != 0 && rr.acks >= *killed_at + more;
    };
  }

  // Runs the workload (which first recovers: that is checked against what
  // the previous runs acknowledged), then kills it per `rule` or lets the
  // fault in `fault` (an RVM_FAULT value, "" for none) kill it. `loss_ok`:
  // acknowledged commits may be missing if the recovery reported a loss.
  RunResult Crash(const KillRule& rule, const std::string& fault, bool loss_ok = false,
                  long trunc = 0, uint64_t log_bytes = kLogBytes) {
    std::vector<std::string> env = WithFault(env_, fault);
    RunResult r = RunWorkload(kWorkload, dir_.path(), env, kUnlimited, log_bytes, trunc, rule);
    Check(r, loss_ok);
    if (r.timed_out) Fail("the workload hung:\n" + r.err);
    if (WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0)
      Fail("the workload exited with status " + std::to_string(WEXITSTATUS(r.status)) + ":\n" +
           r.err);
    if (WIFSIGNALED(r.status)) {
      tally_->crashes++;
      if (FaultFired(r.err)) tally_->faults_fired++;
    }
    Account(r);
    return r;
  }

  // Recovers (a run with no transactions) and checks the oracle.
  RunResult Recover(bool loss_ok = false, const std::string& fault = "", long trunc = 0,
                    uint64_t log_bytes = kLogBytes) {
    std::vector<std::string> env = WithFault(env_, fault);
    RunResult r = RunWorkload(kWorkload, dir_.path(), env, 0, log_bytes, trunc, nullptr);
    Check(r, loss_ok);
    if (WIFSIGNALED(r.status)) {
      tally_->crashes++;
      if (FaultFired(r.err)) tally_->faults_fired++;
    } else if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0 || !r.recovered) {
      Fail("recovery failed (status " + std::to_string(r.status) + "):\n" + r.err);
    }
    return r;
  }

  // Checks and counts a run of the workload started by the scenario itself
  // (not by Crash or Recover) in this iteration's directory or a copy of it.
  void Adopt(const RunResult& r) {
    Check(r, false);
    Account(r);
  }

  // Checks a counter found by other means (rvm-log replay + bank check).
  void CheckCounter(uint64_t c, const std::string& err, bool loss_ok) {
    RunResult r;
    r.recovered = true;
    r.recovered_at = c;
    r.err = err;
    Check(r, loss_ok);
  }

  // The highest `durable` and `tail` any running mirror reports for the log.
  bool MirrorState(uint64_t* durable, uint64_t* tail, std::string* name, uint64_t* epoch) {
    bool any = false;
    *durable = 0;
    *tail = 0;
    for (auto& m : mirrors_) {
      remote_log::LogEntry e;
      if (!m->Info(&e)) continue;
      any = true;
      *durable = std::max(*durable, e.info.durable);
      *tail = std::max(*tail, e.info.tail);
      *name = e.name;
      *epoch = std::max(*epoch, e.info.epoch);
    }
    return any;
  }

  // A local machine crash: the disk log loses everything from a random
  // offset at or after the last offset known durable (the mirrors' durable
  // mark, which the writer sets only from the disk writer's durable offset).
  // Returns the offset it zeroes from.
  uint64_t LoseDiskTail(bool always_from_durable = false) {
    uint64_t durable = 0, tail = 0, epoch = 0;
    std::string name;
    DiskLog d;
    if (!ReadDiskLog(log_, &d)) {
      Broken("cannot read the disk log's status");
      return 0;
    }
    if (!MirrorState(&durable, &tail, &name, &epoch)) return d.head + d.area_size;
    uint64_t from = std::max(durable, d.head);
    if (!always_from_durable && tail > from && Rand(0, 1) == 1) from = Rand(from, tail);
    if (!ZeroLogical(log_, d, from, d.head + d.area_size)) Broken("cannot damage the disk log");
    return from;
  }

  // Starts the workload without the mirrors (RVM_MIRRORS unset; the shim
  // configuration file, which names none, kept). After a crash in remote
  // mode it must be refused: rvm_initialize fails with RVM_ELOG, says why
  // (the marker file, the two ways forward), and leaves the log as it was.
  void RefusedWithoutMirrors() {
    std::vector<std::string> env;
    for (const std::string& e : env_)
      if (e.rfind("RVM_MIRRORS=", 0) != 0) env.push_back(e);
    const std::string before = ReadAll(log_);
    RunResult r = RunWorkload(kWorkload, dir_.path(), WithFault(env, ""), 0, kLogBytes, 0, nullptr);
    if (r.recovered || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 3 ||
        !Contains(r.err, "rvm_initialize: RVM_ELOG") ||
        !Contains(r.err, (log_ + ".remote").c_str()) ||
        !Contains(r.err, "abandon_mirror_copy = yes"))
      Fail("a start without the mirrors was not refused (status " + std::to_string(r.status) +
           "):\n" + r.err);
    else if (ReadAll(log_) != before)
      Fail("a refused start without the mirrors changed the log");
    else
      tally_->refusals++;
  }

  // Counts a crash of a process other than the workload (rvm-log).
  void NoteCrash(int status, const std::string& out) {
    if (!WIFSIGNALED(status)) return;
    tally_->crashes++;
    if (FaultFired(out)) tally_->faults_fired++;
  }

  // A failure of the oracle or of the code under test (what a mutation
  // must cause).
  void Fail(const std::string& what) {
    tally_->detections++;
    Broken(what);
  }
  // A failure of the harness itself (it could not set the scenario up).
  void Broken(const std::string& what) {
    if (failures_->size() < 20) failures_->push_back(what + "\n(in " + dir_.path() + ")");
    failed_ = true;
    dir_.Keep();
  }
  bool failed() const { return failed_; }

 private:
  void Check(const RunResult& r, bool loss_ok) {
    if (r.inconsistent) Fail("recovered bank is inconsistent:\n" + r.err);
    if (!r.recovered) return;  // died during recovery: the next run checks
    const uint64_t c = r.recovered_at;
    if (c > max_) {
      Fail("recovered counter " + std::to_string(c) + " > last transaction begun " +
           std::to_string(max_) + " (a commit appeared that was never made)");
    }
    if (c < min_) {
      bool reported = Contains(r.err, "LOST") || Contains(r.err, "UNVERIFIED");
      if (!loss_ok || !reported) {
        Fail("acknowledged commits " + std::to_string(c + 1) + ".." + std::to_string(min_) +
             " are lost" + (reported ? "" : " SILENTLY") + ":\n" + r.err);
      }
      if (reported) tally_->reported++;
    }
    // The acknowledgements of the previous run: [prev_first_, prev_last_].
    if (prev_last_ >= prev_first_ && prev_last_ > 0) {
      uint64_t got = c >= prev_last_ ? prev_last_ - prev_first_ + 1
                                     : (c >= prev_first_ ? c - prev_first_ + 1 : 0);
      tally_->recovered += got;
      tally_->lost += (prev_last_ - prev_first_ + 1) - got;
    }
    prev_first_ = 1;
    prev_last_ = 0;
    // From now on: what this run recovered, plus what it goes on to do.
    min_ = c;
    max_ = c;
  }

  // Bookkeeping after a run: what it began and acknowledged.
  void Account(const RunResult& r) {
    if (!r.recovered) return;
    tally_->acked += r.acks;
    if (r.last_begin > max_) max_ = r.last_begin;
    if (r.last_ack > min_) min_ = r.last_ack;
    if (r.acks > 0) {
      prev_first_ = r.recovered_at + 1;
      prev_last_ = r.last_ack;
    }
  }

  TempDir dir_;
  std::mt19937_64* rng_;
  Tally* tally_;
  std::vector<std::string>* failures_;
  std::string seg_, log_;
  std::vector<std::unique_ptr<Mirror>> mirrors_;
  std::vector<std::string> env_;
  uint64_t min_ = 0, max_ = 0;  // the recovered counter must lie in [min_, max_]
  uint64_t prev_first_ = 1, prev_last_ = 0;
  bool failed_ = false;
};

void PrintReport(const char* name, const Tally& t) {
  std::printf(
      "crash suite | %-24s | iterations %5d | crashes %6llu (fault points %5llu) | acknowledged "
      "%8llu | recovered %8llu | lost %6llu | losses reported %5llu",
      name, t.iterations, static_cast<unsigned long long>(t.crashes),
      static_cast<unsigned long long>(t.faults_fired), static_cast<unsigned long long>(t.acked),
      static_cast<unsigned long long>(t.recovered), static_cast<unsigned long long>(t.lost),
      static_cast<unsigned long long>(t.reported));
  if (t.refusals > 0)
    std::printf(" | starts without mirrors refused %llu",
                static_cast<unsigned long long>(t.refusals));
  std::printf("\n");
  std::fflush(stdout);
}

// Runs `body` for the scenario's iterations, then prints the report row and
// fails the test case with the first failures found.
void RunScenario(const char* name, int default_iterations,
                 const std::function<void(Iteration&)>& body, bool expect_loss = false) {
  std::mt19937_64 rng(Seed() ^ std::hash<std::string>()(name));
  Tally tally;
  std::vector<std::string> failures;
  const int n = Iterations(default_iterations);
  for (int i = 0; i < n && failures.size() < 5; i++) {
    Iteration it(&rng, &tally, &failures);
    body(it);
    tally.iterations++;
  }
  PrintReport(name, tally);
  if (tally.detections > 0)
    std::printf("crash suite: CAUGHT in %s: %s\n", name,
                failures.front().substr(0, failures.front().find('\n')).c_str());
  for (const auto& f : failures) UNSCOPED_INFO(f);
  CHECK(failures.empty());
  CHECK(tally.crashes > 0);
  if (!expect_loss) CHECK(tally.lost == 0);
  CHECK(tally.acked > 0);
}

// Fault points a workload may be killed at in remote mode (the disk_writer
// ones need `disk_writer = pwrite`).
const char* const kShimPoints[] = {"shim.before_remote_append", "shim.before_disk_handoff",
                                   "shim.after_remote_ack"};

}  // namespace

TEST_CASE("classic mode: application killed", "[crash]") {
  RunScenario("classic_app_kill", 10, [](Iteration& it) {
    for (int c = 0; c < 3 && !it.failed(); c++) it.Crash(it.RandomKill(30), "");
    it.Recover();
  });
}

TEST_CASE("remote mode: application killed", "[crash]") {
  RunScenario("app_kill", 8, [](Iteration& it) {
    it.UseMirrors(1, "");
    for (int c = 0; c < 3 && !it.failed(); c++) {
      if (it.Rand(0, 1) == 0) {
        it.Crash(it.RandomKill(30), "");
      } else {
        std::string p = kShimPoints[it.Rand(0, 2)];
        it.Crash(it.RandomKill(200), p + ":kill:" + std::to_string(it.Rand(1, 30)));
      }
    }
    it.Recover();
  });
}

TEST_CASE("remote mode: application killed and the disk log tail lost", "[crash]") {
  RunScenario("local_crash", 10, [](Iteration& it) {
    bool pwrite = it.Rand(0, 1) == 1;
    it.UseMirrors(2, pwrite ? "disk_writer = pwrite" : "");
    for (int c = 0; c < 3 && !it.failed(); c++) {
      uint64_t pick = it.Rand(0, 4);
      std::string n = std::to_string(it.Rand(1, 30));
      if (pick == 0) {
        it.Crash(it.RandomKill(30), "");
      } else if (pick == 4 && pwrite) {
        it.Crash(it.RandomKill(200), "disk.before_sync:kill:" + n);
      } else {
        it.Crash(it.RandomKill(200), std::string(kShimPoints[pick % 3]) + ":kill:" + n);
      }
      it.LoseDiskTail();
    }
    it.Recover();
  });
}

TEST_CASE("remote mode: a slow disk and the application killed", "[crash]") {
  RunScenario("slow_disk", 6, [](Iteration& it) {
    // The disk writer holds each batch back for up to 100 ms unless a commit
    // waits for the disk: the acknowledged tail is often in the mirrors only
    // (they must not drop it before the disk has it).
    it.UseMirrors(1, "disk_batch_delay_us = 100000");
    for (int c = 0; c < 3 && !it.failed(); c++) it.Crash(it.RandomKill(200), "");
    it.Recover();
  });
}

TEST_CASE("remote mode: every mirror stalls and then all but the disk is lost", "[crash]") {
  RunScenario("mirrors_stalled", 6, [](Iteration& it) {
    // Every mirror stops answering (SIGSTOP) after k acknowledgements (the
    // workload paused meanwhile): a commit sent after that waits
    // io_timeout_ms, then for the disk (slow, as in slow_disk). Once 1-5
    // transactions begun after the stall are acknowledged, the application
    // is killed and the mirrors die without having read what they were
    // sent: every acknowledged commit must be on the disk.
    const int n = static_cast<int>(it.Rand(1, 2));
    it.UseMirrors(n, "disk_batch_delay_us = 100000");
    const uint64_t k = it.Rand(1, 30), more = it.Rand(1, 5);
    uint64_t barrier = 0;        // reports written before the stall
    uint64_t first_after = 0;    // the first transaction begun after it
    RunResult r = it.Crash(
        [&](const RunResult& rr) {
          if (barrier == 0) {
            if (rr.acks < k) return false;
            barrier = PauseWorkload(rr);
            for (int i = 0; i < n; i++) it.mirror(i).Stop();
            ResumeWorkload(rr);
          }
          if (first_after == 0 && rr.messages >= barrier) first_after = rr.last_begin + 1;
          return first_after != 0 && rr.last_ack >= first_after + more - 1;
        },
        "");
    if (first_after == 0 || r.last_ack < first_after + more - 1)
      it.Fail("commits did not continue while the mirrors were stalled:\n" + r.err);
    for (int i = 0; i < n; i++) {
      it.mirror(i).Kill();
      if (!it.mirror(i).Start()) it.Broken("cannot restart rvm-logd");
    }
    it.Recover();
  });
}

TEST_CASE("remote mode: a paused writer resumes after a standby took the log over",
          "[crash]") {
  RunScenario("stale_writer", 6, [](Iteration& it) {
    // Writer A is paused (SIGSTOP) after k acknowledgements. A standby, B,
    // takes the log over as after a failover: it sees a copy of the disk log
    // (A keeps its own: the file is renamed under it) that lacks the tail
    // beyond the durable mark, recovers from it and the mirrors, and
    // commits until killed. Then A resumes: the mirrors must refuse it, so
    // that it acknowledges nothing that B did not recover.
    it.UseMirrors(static_cast<int>(it.Rand(1, 2)), "");
    const std::string a_log = it.log() + ".a", a_err = it.dir() + "/workload.err.a";
    const uint64_t k = it.Rand(1, 30);
    uint64_t acks_at_takeover = 0, ack_at_takeover = 0;
    RunResult b;
    bool took_over = false;
    RunResult a = RunWorkload(
        kWorkload, it.dir(), WithFault(it.env(), ""), kUnlimited, kLogBytes, 0,
        [&](const RunResult& rr) {
          if (took_over) return rr.acks >= acks_at_takeover + 20;  // A was not refused
          if (rr.acks < k) return false;
          PauseWorkload(rr);
          took_over = true;
          acks_at_takeover = rr.acks;
          ack_at_takeover = rr.last_ack;
          std::error_code ec;
          std::filesystem::rename(it.log(), a_log, ec);
          if (!ec) std::filesystem::rename(it.dir() + "/workload.err", a_err, ec);
          if (!ec) std::filesystem::copy_file(a_log, it.log(), ec);
          if (ec) it.Broken("cannot copy the paused writer's log: " + ec.message());
          it.LoseDiskTail();
          b = RunWorkload(kWorkload, it.dir(), WithFault(it.env(), ""), kUnlimited, kLogBytes, 0,
                          it.RandomKill(20));
          ResumeWorkload(rr);
          return false;
        });
    if (!took_over) {
      it.Fail("writer A exited before it was paused:\n" + a.err);
      return;
    }
    a.err = ReadAll(a_err);
    // A's commits up to the takeover (B must find them, and nothing A did
    // not begin), then B's run.
    RunResult a_then = a;
    a_then.acks = acks_at_takeover;
    a_then.last_ack = ack_at_takeover;
    it.Adopt(a_then);
    it.Adopt(b);
    it.NoteCrash(b.status, b.err);
    if (!b.recovered || !WIFSIGNALED(b.status))
      it.Fail("writer B failed (status " + std::to_string(b.status) + "):\n" + b.err);
    if (b.recovered && a.acks > acks_at_takeover && a.last_ack > b.recovered_at)
      it.Fail("writer A acknowledged commit " + std::to_string(a.last_ack) +
              " after writer B took the log over at commit " + std::to_string(b.recovered_at) +
              " (it was not fenced):\n" + a.err);
    it.Recover();
  });
}

TEST_CASE("remote mode: one mirror killed mid-run, commits continue", "[crash]") {
  RunScenario("mirror_killed", 6, [](Iteration& it) {
    it.UseMirrors(2, "");
    for (int c = 0; c < 2 && !it.failed(); c++) {
      int victim = static_cast<int>(it.Rand(0, 1));
      uint64_t k = it.Rand(1, 30);
      uint64_t killed_at = 0;
      // Commits must go on without the mirror.
      RunResult r = it.Crash(it.KillMirrorAfter(victim, k, 20, &killed_at), "");
      if (killed_at == 0 || r.acks < killed_at + 20)
        it.Fail("commits did not continue after a mirror was killed:\n" + r.err);
      // The mirror comes back empty (its memory is gone) before recovery.
      if (c == 0 && !it.mirror(victim).Start()) it.Broken("cannot restart rvm-logd");
    }
    it.Recover();
  });
}

TEST_CASE("remote mode: a mirror killed, then the application, then the disk tail lost",
          "[crash]") {
  RunScenario("mirror_and_app_killed", 8, [](Iteration& it) {
    // One ack of two: the surviving mirror holds every acknowledged commit.
    it.UseMirrors(2, "ack = 1");
    int victim = static_cast<int>(it.Rand(0, 1));
    uint64_t k = it.Rand(1, 30), more = it.Rand(0, 10);
    uint64_t killed_at = 0;
    it.Crash(it.KillMirrorAfter(victim, k, more, &killed_at), "");
    it.LoseDiskTail();
    it.Recover();
  });
}

TEST_CASE("remote mode: torn and bit-flipped disk log tails", "[crash]") {
  RunScenario("disk_tail_damage", 10, [](Iteration& it) {
    bool pwrite = it.Rand(0, 1) == 1;
    it.UseMirrors(1, pwrite ? "disk_writer = pwrite" : "");
    for (int c = 0; c < 3 && !it.failed(); c++) {
      if (pwrite && it.Rand(0, 1) == 1)
        it.Crash(it.RandomKill(200), "disk.torn_write:torn:" + std::to_string(it.Rand(1, 30)));
      else
        it.Crash(it.RandomKill(30), "");
      uint64_t durable = 0, tail = 0, epoch = 0;
      std::string name;
      DiskLog d;
      if (!it.MirrorState(&durable, &tail, &name, &epoch) || !ReadDiskLog(it.log(), &d)) {
        it.Broken("cannot read the log's state");
        break;
      }
      uint64_t from = std::max(durable, d.head);
      if (tail <= from) continue;
      uint64_t at = it.Rand(from, tail - 1);
      if (it.Rand(0, 1) == 0) {
        FlipLogical(it.log(), d, at, static_cast<int>(it.Rand(0, 7)));
      } else {  // a torn write: a hole of up to one 4 KiB page
        ZeroLogical(it.log(), d, at, std::min(tail, at + it.Rand(1, 4096)));
      }
    }
    it.Recover();
  });
}

TEST_CASE("remote mode: a corrupt remote copy with a good second mirror", "[crash]") {
  RunScenario("corrupt_remote_copy", 10, [](Iteration& it) {
    it.UseMirrors(2, "");
    it.Crash(it.RandomKill(40), "");
    uint64_t from = it.LoseDiskTail(true);
    // Rebuild one mirror's copy with one bit flipped in what recovery needs.
    int bad = static_cast<int>(it.Rand(0, 1));
    remote_log::LogEntry e;
    if (!it.mirror(bad).Info(&e)) {
      it.Broken("cannot stat the mirror");
      return;
    }
    if (e.info.tail > from && e.info.start <= from) {
      std::string bytes;
      if (!it.mirror(bad).Read(e.name, e.info.start, e.info.tail, &bytes)) {
        it.Broken("cannot read the mirror's copy");
        return;
      }
      uint64_t at = it.Rand(from, e.info.tail - 1) - e.info.start;
      bytes[at] = static_cast<char>(bytes[at] ^ (1 << it.Rand(0, 7)));
      it.mirror(bad).Kill();
      if (!it.mirror(bad).Start() ||
          !it.mirror(bad).Load(e.name, e.info.epoch, e.info.start, bytes))
        it.Broken("cannot load the corrupted copy");
    }
    it.Recover();
  });
}

TEST_CASE("crash during truncation", "[crash]") {
  RunScenario("truncation_crash", 8, [](Iteration& it) {
    it.UseMirrors(1, "");
    // A 32 KiB log truncated at 20% full: truncation every ~25 commits, and
    // the log wraps every ~130 (the runs continue one log, so most crashes
    // come after a wrap, some with the live part of the log across it).
    const uint64_t log_bytes = 32 << 10;
    for (int c = 0; c < 3 && !it.failed(); c++) {
      std::string n = std::to_string(it.Rand(1, 4));
      const char* point =
          it.Rand(0, 1) == 0 ? "rvm.truncate_before_head:kill:" : "rvm.apply_extent:kill:";
      it.Crash(it.RandomKill(300), point + n, false, 20, log_bytes);
    }
    it.Recover(false, "", 20, log_bytes);
  });
}

TEST_CASE("crash during recovery's tail fetch", "[crash]") {
  RunScenario("recovery_crash", 8, [](Iteration& it) {
    it.UseMirrors(2, "");
    it.Crash(it.RandomKill(40), "");
    it.LoseDiskTail(true);
    it.Recover(false, it.Rand(0, 1) == 0 ? "recovery.write_tail:torn" : "recovery.write_tail:kill");
    it.Recover();
  });
}

TEST_CASE("crash during rvm-log replay", "[crash]") {
  RunScenario("replay_crash", 8, [](Iteration& it) {
    it.UseMirrors(1, "");
    it.Crash(it.RandomKill(40), "");
    if (it.Rand(0, 1) == 1) it.LoseDiskTail();
    std::vector<std::string> argv = {kRvmLog, "replay",   it.log(),           "--from",
                                     "auto",  "--remote", it.mirror(0).uri(), "--no-progress"};
    std::string out;
    int st = RunCommand(
        argv, WithFault({}, "replay.after_range:kill:" + std::to_string(it.Rand(1, 60))), &out);
    it.NoteCrash(st, out);  // killed, or done if there were fewer ranges
    st = RunCommand(argv, WithFault({}, ""), &out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      it.Fail("rvm-log replay failed:\n" + out);
      return;
    }
    std::string check;
    st = RunCommand({kWorkload, "check", it.seg()}, {}, &check);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || check.rfind("committed=", 0) != 0) {
      it.Fail("the replayed bank is wrong: " + check);
      return;
    }
    it.CheckCounter(std::strtoull(check.c_str() + 10, nullptr, 10), out, false);
  });
}

TEST_CASE("remote mode: restart without mirrors after commits only they hold", "[crash]") {
  RunScenario("restart_without_mirrors", 8, [](Iteration& it) {
    // One or two mirrors (ack all); the commits after the disk's durable
    // mark are only in the mirrors once the disk tail is lost.
    it.UseMirrors(static_cast<int>(it.Rand(1, 2)), "");
    for (int c = 0; c < 2 && !it.failed(); c++) {
      it.Crash(it.RandomKill(40), "");
      if (it.Rand(0, 1) == 1) it.LoseDiskTail(true);
      // Restarted without RVM_MIRRORS, as after a configuration mistake:
      // refused, twice in a row (a refusal leaves nothing that lets the
      // next start through).
      it.RefusedWithoutMirrors();
      it.RefusedWithoutMirrors();
    }
    // With the mirrors: every acknowledged commit is found.
    it.Recover();
  });
}

TEST_CASE("disk tail lost and every mirror gone: the loss is reported", "[crash]") {
  RunScenario(
      "all_copies_lost", 8,
      [](Iteration& it) {
        it.UseMirrors(1, "");
        it.Crash(it.RandomKill(40), "");
        it.LoseDiskTail(true);
        it.mirror(0).Kill();
        it.Recover(true);
      },
      true);
}

}  // namespace rvmr::crash

namespace rvmr::crash {

// The disk tail lost and the only mirror restarted empty: the design cannot
// survive it; recovery must say UNVERIFIED (the log's ".remote" marker tells
// it the mirrors lost the log rather than never had it).
TEST_CASE("disk tail lost and every mirror restarted empty: the loss is reported",
          "[crash][crash_open]") {
  RunScenario(
      "all_mirrors_restarted", 4,
      [](Iteration& it) {
        it.UseMirrors(1, "");
        it.Crash(it.RandomKill(40), "");
        it.LoseDiskTail(true);
        it.mirror(0).Kill();
        if (!it.mirror(0).Start()) it.Broken("cannot restart rvm-logd");
        it.Recover(true);
      },
      true);
}

}  // namespace rvmr::crash
