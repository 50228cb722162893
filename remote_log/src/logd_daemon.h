// LogdDaemon: rvm-logd as a service around the Server. Its main thread runs
// one event loop (poll) over a signalfd (SIGTERM, SIGINT, SIGHUP) and an
// eventfd the log store signals when a writer trims or lets go of a log; the
// connections themselves are the Server's threads. It tells systemd how it
// is doing (sd_notify: READY=1 once the port accepts connections,
// RELOADING=1 and READY=1 around a reload, STOPPING=1, STATUS= lines).
//
// SIGHUP reads the command line and config file again: the secret, the log
// level, the status interval and the shutdown grace take effect at once
// (connections already authenticated go on with the secret they used); a
// change to anything else is reported as needing a restart; a bad config is
// reported and the running one kept.
//
// SIGTERM / SIGINT: if connected writers have bytes here that their disks do
// not have yet (above the log's durable mark), it names those logs and
// counts, and serves on for up to shutdown_grace seconds until their TRIMs
// (or disconnects) leave nothing pending; then it reports what it drops and
// exits. A second signal exits at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "logd_config.h"
#include "remote_log/server.h"

namespace rvmr::remote_log {

class MetricsHttp;
namespace rdma {
class RdmaServer;
}

class LogdDaemon {
 public:
  // argc/argv: the command line (read again on SIGHUP); `settings`: what it
  // gave first. The caller has blocked SIGTERM, SIGINT and SIGHUP in every
  // thread.
  LogdDaemon(int argc, char** argv, LogdSettings settings);
  ~LogdDaemon();
  LogdDaemon(const LogdDaemon&) = delete;
  LogdDaemon& operator=(const LogdDaemon&) = delete;

  // Starts serving and runs until shut down. Returns the exit status.
  int Run();

  // A log with bytes its writer's disk does not have yet.
  struct Pending {
    std::string name;
    uint64_t bytes = 0;    // tail - max(durable, start): held, not yet durable
    uint32_t writers = 0;  // connections holding it open
  };
  // The logs holding bytes above their durable mark; with_writer: only those
  // a connection holds open.
  static std::vector<Pending> PendingLogs(LogStore& store, bool with_writer);
  // Appends log `name` to *out if it holds bytes above its durable mark (and,
  // with_writer, if `writers` connections hold it).
  static void AddPending(std::string name, const LogInfo& info, uint32_t writers,
                         bool with_writer, std::vector<Pending>* out);
  // PendingLogs of the TCP store and, with rdma-listen, the RDMA server's
  // logs (named "rdma:<name>").
  std::vector<Pending> AllPending(bool with_writer);
  // "'a' 100 bytes, 'b' 20 bytes" (names escaped as C strings would be).
  static std::string Describe(const std::vector<Pending>& logs);

 private:
  Status Start();
  void Stop();
  void Reload();
  void StatusTick();
  // A shutdown signal. true: exit now.
  bool OnShutdownSignal(int sig);
  // The writers' progress while draining. true: nothing left to wait for.
  bool DrainDone();
  void ReportDropped(const char* why);
  std::string RenderMetrics();
  std::string StatusText();
  Status WritePortFile();

  // Everything below is the main thread's: no lock (the metrics thread reads
  // only the servers' own thread-safe counters and reloads_, an atomic).
  const int argc_;
  char** const argv_;
  LogdSettings settings_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<MetricsHttp> metrics_;
#ifdef RVMR_HAVE_RDMA_TRANSPORT
  std::unique_ptr<rdma::RdmaServer> rdma_;
#endif
  int signal_fd_ = -1;
  int change_fd_ = -1;
  bool draining_ = false;
  int64_t drain_deadline_ms_ = 0;
  int64_t next_status_ms_ = 0;
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> reload_failures_{0};
};

}  // namespace rvmr::remote_log
