#include "logd_daemon.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "daemon_log.h"
#include "logd_metrics.h"
#include "metrics_http.h"
#include "worker.h"
#ifdef RVMR_HAVE_RDMA_TRANSPORT
#include "remote_log/rdma/rdma_server.h"
#endif

namespace rvmr::remote_log {

namespace {

// How often, while draining, the pending logs are looked at again even if
// no trim was signalled (a writer's log may get new bytes meanwhile).
constexpr int64_t kDrainRecheckMs = 1000;

void Notify(const std::string& state) {
  // 0: no NOTIFY_SOCKET (not started by systemd); < 0: it could not be sent.
  int rc = sd_notify(0, state.c_str());
  if (rc < 0) LOGD_DEBUG("sd_notify: %s", std::strerror(-rc));
}

std::string Quoted(const std::string& s) {
  std::string out = "'";
  for (unsigned char c : s) {
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "'";
}

}  // namespace

LogdDaemon::LogdDaemon(int argc, char** argv, LogdSettings settings)
    : argc_(argc), argv_(argv), settings_(std::move(settings)) {}

LogdDaemon::~LogdDaemon() {
  Stop();
}

void LogdDaemon::AddPending(std::string name, const LogInfo& info, uint32_t writers,
                            bool with_writer, std::vector<Pending>* out) {
  const uint64_t bytes = info.not_durable();
  if (bytes == 0 || (with_writer && writers == 0)) return;
  out->push_back(Pending{std::move(name), bytes, writers});
}

std::vector<LogdDaemon::Pending> LogdDaemon::PendingLogs(LogStore& store, bool with_writer) {
  std::vector<Pending> out;
  for (const LogStore::Held& h : store.Snapshot())
    AddPending(h.name, h.info, h.sessions, with_writer, &out);
  return out;
}

std::vector<LogdDaemon::Pending> LogdDaemon::AllPending(bool with_writer) {
  std::vector<Pending> out = PendingLogs(server_->store(), with_writer);
#ifdef RVMR_HAVE_RDMA_TRANSPORT
  if (rdma_) {
    for (const rdma::RdmaServer::HeldLog& h : rdma_->Snapshot())
      AddPending("rdma:" + h.name, h.info, h.writer_connected ? 1u : 0u, with_writer, &out);
  }
#endif
  return out;
}

std::string LogdDaemon::Describe(const std::vector<Pending>& logs) {
  std::string s;
  for (const Pending& p : logs) {
    if (!s.empty()) s += ", ";
    s += Quoted(p.name) + " " + std::to_string(p.bytes) + " bytes";
  }
  return s;
}

Status LogdDaemon::WritePortFile() {
  const std::string& pf = settings_.port_file;
  if (pf.empty()) return Status::Ok();
  std::string tmp = pf + ".tmp";
  {
    std::ofstream f(tmp);
    f << server_->port() << "\n";
    if (!f) return Status::IoError("cannot write " + tmp);
  }
  if (rename(tmp.c_str(), pf.c_str()) != 0) return Status::IoError("cannot write " + pf, errno);
  return Status::Ok();
}

Status LogdDaemon::Start() {
  const LogdSettings& st = settings_;
  // Every connection is a descriptor: make room for them (and some spare).
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    rlim_t want = rlim_t(st.max_connections) + 64;
    if (nofile.rlim_cur < want) {
      nofile.rlim_cur = std::min(want, nofile.rlim_max);
      setrlimit(RLIMIT_NOFILE, &nofile);
    }
    if (nofile.rlim_cur < want)
      LOGD_WARN("the open-files limit (%llu) is below max-connections + 64; connections beyond "
                "it wait in the listen backlog",
                (unsigned long long)nofile.rlim_cur);
  }
  if (st.mlock && mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
    return Status::IoError("mlock: mlockall failed (raise RLIMIT_MEMLOCK, e.g. LimitMEMLOCK=infinity)",
                           errno);
  ServerOptions opts;
  opts.listen = st.listen;
  opts.capacity = st.capacity;
  opts.secret = st.secret;
  opts.threads = st.threads;
  opts.auth_timeout_ms = uint32_t(st.auth_timeout * 1000 + 0.5);
  opts.max_connections = st.max_connections;
  opts.busy_connection_threads = !st.event_loops_only;
  server_ = std::make_unique<Server>(opts);
  Status s = server_->Start();
  if (!s.ok()) return s;
  LOGD_NOTICE("listening on %s (port %u), capacity %llu bytes, %zu worker threads, at most %u "
              "connections, auth timeout %.3g s%s%s%s%s",
              st.listen.c_str(), unsigned(server_->port()), (unsigned long long)st.capacity,
              server_->worker_count(), st.max_connections, double(opts.auth_timeout_ms) / 1000,
              st.secret.empty() ? "" : ", authentication required", st.mlock ? ", mlocked" : "",
              st.config_path.empty() ? "" : ", config ", st.config_path.c_str());
#ifdef RVMR_HAVE_RDMA_TRANSPORT
  if (!st.rdma_listen.empty()) {
    rdma::RdmaServerOptions ro;
    ro.listen = st.rdma_listen;
    ro.capacity = st.capacity;
    ro.mlock = st.mlock;
    ro.secret = st.secret;
    ro.auth_timeout_ms = opts.auth_timeout_ms;
    ro.max_connections = std::min<uint32_t>(st.max_connections, 128);
    rdma_ = std::make_unique<rdma::RdmaServer>(ro);
    s = rdma_->Start();
    if (!s.ok()) return Status::InvalidArgument("rdma-listen: " + s.ToString());
    LOGD_NOTICE("serving rdma on %s (port %u)", st.rdma_listen.c_str(), unsigned(rdma_->port()));
  }
#endif
  if (!st.metrics_listen.empty()) {
    metrics_ = std::make_unique<MetricsHttp>([this] { return RenderMetrics(); });
    s = metrics_->Start(st.metrics_listen);
    if (!s.ok()) return Status::InvalidArgument("metrics-listen: " + s.ToString());
    LOGD_NOTICE("metrics at http://%s/metrics (port %u)", st.metrics_listen.c_str(),
                unsigned(metrics_->port()));
  }
  s = WritePortFile();
  if (!s.ok()) return s;
  change_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (change_fd_ < 0) return Status::IoError("eventfd", errno);
  server_->store().set_change_fd(change_fd_);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  signal_fd_ = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) return Status::IoError("signalfd", errno);
  return Status::Ok();
}

void LogdDaemon::Stop() {
#ifdef RVMR_HAVE_RDMA_TRANSPORT
  if (rdma_) rdma_->Stop();
#endif
  if (metrics_) metrics_->Stop();
  if (server_) {
    server_->Stop();
    server_->store().set_change_fd(-1);
  }
  if (change_fd_ >= 0) close(change_fd_);
  if (signal_fd_ >= 0) close(signal_fd_);
  change_fd_ = signal_fd_ = -1;
}

std::string LogdDaemon::StatusText() {
  return "port " + std::to_string(server_->port()) + ": " +
         std::to_string(server_->connections_open()) + " connections, " +
         std::to_string(server_->store().log_count()) + " logs, " +
         std::to_string(server_->store().used()) + " bytes held";
}

void LogdDaemon::StatusTick() {
  LOGD_INFO("%s", server_->StatusLine().c_str());
  Notify("STATUS=" + StatusText());
}

void LogdDaemon::Reload() {
  Notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(MonotonicMs() * 1000) +
         "\nSTATUS=reloading the configuration");
  LogdSettings next;
  std::string error;
  int rc = LoadLogdSettings(argc_, argv_, &next, &error);
  Status s;
  if (rc >= 0) {
    s = Status::InvalidArgument(error.empty() ? "bad command line" : error);
  } else if (next.secret != settings_.secret) {
    s = server_->SetSecret(next.secret);
#ifdef RVMR_HAVE_RDMA_TRANSPORT
    if (s.ok() && rdma_) {
      s = rdma_->SetSecret(next.secret);
      if (!s.ok()) server_->SetSecret(settings_.secret).IgnoreError();  // the old one was valid
    }
#endif
  }
  if (!s.ok()) {
    reload_failures_++;
    LOGD_ERROR("SIGHUP: %s; keeping the running configuration", s.message().c_str());
    Notify("READY=1\nSTATUS=reload failed, running configuration kept; " + StatusText());
    return;
  }
  const bool secret_changed = next.secret != settings_.secret;
  // What only a restart changes.
  struct {
    const char* key;
    bool changed;
  } fixed[] = {{"listen", next.listen != settings_.listen},
               {"capacity", next.capacity != settings_.capacity},
               {"mlock", next.mlock != settings_.mlock},
               {"port-file", next.port_file != settings_.port_file},
               {"threads", next.threads != settings_.threads},
               {"auth-timeout", next.auth_timeout != settings_.auth_timeout},
               {"max-connections", next.max_connections != settings_.max_connections},
               {"event-loops-only", next.event_loops_only != settings_.event_loops_only},
               {"rdma-listen", next.rdma_listen != settings_.rdma_listen},
               {"metrics-listen", next.metrics_listen != settings_.metrics_listen}};
  for (const auto& f : fixed) {
    if (f.changed) LOGD_WARN("SIGHUP: '%s' changed; it takes effect at the next restart", f.key);
  }
  settings_.secret = next.secret;
  settings_.secret_file = next.secret_file;
  settings_.log_level = next.log_level;
  settings_.verbose = next.verbose;
  settings_.shutdown_grace = next.shutdown_grace;
  settings_.config_path = next.config_path;
  DaemonLog::Get().set_threshold(settings_.log_level);
  next_status_ms_ =
      settings_.verbose > 0 ? MonotonicMs() + int64_t(settings_.verbose * 1000) : 0;
  reloads_++;
  LOGD_NOTICE("SIGHUP: configuration reloaded%s%s%s", settings_.config_path.empty() ? "" : " from ",
              settings_.config_path.c_str(),
              secret_changed ? "; new connections must use the new secret" : "");
  Notify("READY=1\nSTATUS=" + StatusText());
}

void LogdDaemon::ReportDropped(const char* why) {
  std::vector<Pending> left = AllPending(false);
  if (left.empty()) return;
  uint64_t total = 0;
  for (const Pending& p : left) total += p.bytes;
  LOGD_WARN("%s: dropping %llu bytes of %zu logs that their writers had not reported durable: %s",
            why, (unsigned long long)total, left.size(), Describe(left).c_str());
}

bool LogdDaemon::OnShutdownSignal(int sig) {
  const char* name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
  if (draining_) {
    LOGD_WARN("%s again: exiting now", name);
    ReportDropped("exiting before the writers' trims");
    return true;
  }
  std::vector<Pending> pending = AllPending(true);
  if (pending.empty() || settings_.shutdown_grace <= 0) {
    LOGD_NOTICE("%s, shutting down", name);
    Notify("STOPPING=1\nSTATUS=shutting down");
    if (!pending.empty()) ReportDropped("no shutdown grace");
    else ReportDropped("no writer connected");
    return true;
  }
  uint64_t total = 0;
  for (const Pending& p : pending) total += p.bytes;
  LOGD_WARN("%s: connected writers have %llu bytes in %zu logs that their disks do not have yet: "
            "%s; waiting up to %.3g s for their trims (signal again to exit now)",
            name, (unsigned long long)total, pending.size(), Describe(pending).c_str(),
            settings_.shutdown_grace);
  // EXTEND_TIMEOUT_USEC: systemd waits for the grace even past TimeoutStopSec.
  Notify("STOPPING=1\nEXTEND_TIMEOUT_USEC=" +
         std::to_string(uint64_t(settings_.shutdown_grace * 1e6) + 5000000) +
         "\nSTATUS=shutting down: waiting for writers' trims of " + std::to_string(total) +
         " bytes in " + std::to_string(pending.size()) + " logs");
  draining_ = true;
  drain_deadline_ms_ = MonotonicMs() + int64_t(settings_.shutdown_grace * 1000);
  return false;
}

bool LogdDaemon::DrainDone() {
  if (!AllPending(true).empty()) return false;
  LOGD_NOTICE("the connected writers' bytes are durable; shutting down");
  ReportDropped("no writer connected");
  return true;
}

int LogdDaemon::Run() {
  Status s = Start();
  if (!s.ok()) {
    LOGD_ERROR("%s", s.ToString().c_str());
    Notify("STATUS=failed to start: " + s.ToString());
    return 1;
  }
  DaemonLog::Get().set_threshold(settings_.log_level);
  Notify("READY=1\nSTATUS=" + StatusText());
  if (settings_.verbose > 0) next_status_ms_ = MonotonicMs() + int64_t(settings_.verbose * 1000);
  for (;;) {
    const int64_t now = MonotonicMs();
    int64_t wake = INT64_MAX;
    if (next_status_ms_ > 0) wake = next_status_ms_;
    if (draining_) wake = std::min({wake, drain_deadline_ms_, now + kDrainRecheckMs});
    int timeout = wake == INT64_MAX ? -1 : int(std::clamp<int64_t>(wake - now, 0, INT_MAX));
    pollfd p[2] = {{signal_fd_, POLLIN, 0}, {change_fd_, POLLIN, 0}};
    int n = poll(p, 2, timeout);
    if (n < 0 && errno != EINTR) {
      LOGD_ERROR("poll: %s", std::strerror(errno));
      return 1;
    }
    if (n > 0 && (p[1].revents & POLLIN)) {
      uint64_t v;
      (void)!read(change_fd_, &v, sizeof v);
    }
    if (n > 0 && (p[0].revents & POLLIN)) {
      signalfd_siginfo si;
      while (read(signal_fd_, &si, sizeof si) == ssize_t(sizeof si)) {
        if (si.ssi_signo == SIGHUP) {
          Reload();
        } else if (OnShutdownSignal(int(si.ssi_signo))) {
          return 0;
        }
      }
    }
    const int64_t after = MonotonicMs();
    if (draining_) {
      if (DrainDone()) return 0;
      if (after >= drain_deadline_ms_) {
        ReportDropped("shutdown grace over");
        return 0;
      }
    }
    if (next_status_ms_ > 0 && after >= next_status_ms_) {
      StatusTick();
      next_status_ms_ = after + int64_t(settings_.verbose * 1000);
    }
  }
}

std::string LogdDaemon::RenderMetrics() {
  LogdCounters c;
  c.reloads = reloads_.load();
  c.reload_failures = reload_failures_.load();
#ifdef RVMR_HAVE_RDMA_TRANSPORT
  return RenderLogdMetrics(*server_, c, rdma_.get());
#else
  return RenderLogdMetrics(*server_, c);
#endif
}

}  // namespace rvmr::remote_log
