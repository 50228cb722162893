// rvm-logd: lends this machine's memory to RVM writers as a remote log mirror.
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "common/version.h"
#include "remote_log/auth.h"
#include "remote_log/server.h"
#include "remote_log/wire.h"
#ifdef RVMR_HAVE_RDMA_TRANSPORT
#include "remote_log/rdma/rdma_server.h"
#endif

namespace {

// Parses "1073741824", "512M", "4G", "64K".
bool ParseSize(const std::string& s, uint64_t* out) {
  if (s.empty()) return false;
  size_t pos = 0;
  uint64_t v = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    v = v * 10 + uint64_t(s[pos] - '0');
    ++pos;
  }
  if (pos == 0) return false;
  std::string suf = s.substr(pos);
  uint64_t mul = 1;
  if (suf.empty() || suf == "B") {
  } else if (suf == "K" || suf == "KiB") {
    mul = uint64_t(1) << 10;
  } else if (suf == "M" || suf == "MiB") {
    mul = uint64_t(1) << 20;
  } else if (suf == "G" || suf == "GiB") {
    mul = uint64_t(1) << 30;
  } else {
    return false;
  }
  *out = v * mul;
  return *out > 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rvmr::remote_log;
  CLI::App app{"rvm-logd: remote memory log server (mirror) for RVM writers"};
  app.set_version_flag("--version", RVMR_VERSION_LINE("rvm-logd"));
  std::string listen = "127.0.0.1:" + std::to_string(wire::kDefaultPort);
  std::string capacity_str = "1G";
  bool mlock = false;
  std::string secret_file;
  double verbose = 0;
  std::string port_file;
  unsigned threads = 0;
  double auth_timeout = 10;
  uint32_t max_connections = 1024;
  bool event_loops_only = false;
  app.add_option("--listen", listen,
                 "host:port to listen on; port 0 lets the OS choose (see --port-file). A "
                 "non-loopback address requires --secret-file")
      ->capture_default_str();
  app.add_option("--capacity", capacity_str,
                 "most log bytes held in memory, all logs together (suffix K, M, G)")
      ->capture_default_str();
  app.add_flag("--mlock", mlock, "lock all memory (mlockall) so log bytes are never swapped");
  app.add_option("--secret-file", secret_file,
                 "file holding the shared secret (at least 16 bytes); clients must authenticate (HMAC-SHA256 "
                 "challenge-response). Must not be readable by group/others");
  app.add_option("--verbose", verbose, "print a status line every SECONDS seconds")
      ->expected(0, 1)
      ->default_str("5");
  app.add_option("--port-file", port_file, "write the bound TCP port to this file once listening");
  app.add_option("--threads", threads,
                 "worker event loops serving the connections; 0: one per CPU this process may "
                 "run on")
      ->capture_default_str();
  app.add_option("--auth-timeout", auth_timeout,
                 "close a connection that has not authenticated (HELLO, and AUTH with "
                 "--secret-file) within SECONDS of being accepted")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0));
  app.add_option("--max-connections", max_connections,
                 "most connections open at once; more are answered EBUSY and closed (raises "
                 "the open-files limit to fit if it can)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1u << 20));
  app.add_flag("--event-loops-only", event_loops_only,
               "serve busy writers from the event loops too, instead of giving each busy "
               "authenticated connection a thread of its own while it stays busy (that saves "
               "a system call per request)");
#ifdef RVMR_HAVE_RDMA_TRANSPORT
  std::string rdma_listen;
  app.add_option("--rdma-listen", rdma_listen,
                 "also serve rdma:// clients on this host:port (an address of an RDMA device; "
                 "needs --secret-file). Its logs and --capacity are separate from TCP's");
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (app.count("--verbose") && verbose <= 0) verbose = 5;

  ServerOptions opts;
  opts.listen = listen;
  opts.threads = threads;
  opts.auth_timeout_ms = uint32_t(auth_timeout * 1000 + 0.5);
  opts.max_connections = max_connections;
  opts.busy_connection_threads = !event_loops_only;
  // Every connection is a descriptor: make room for them (and some spare).
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    rlim_t want = rlim_t(max_connections) + 64;
    if (nofile.rlim_cur < want) {
      nofile.rlim_cur = std::min(want, nofile.rlim_max);
      setrlimit(RLIMIT_NOFILE, &nofile);
    }
    if (nofile.rlim_cur < want)
      std::fprintf(stderr,
                   "rvm-logd: warning: the open-files limit (%llu) is below --max-connections "
                   "+ 64; connections beyond it wait in the listen backlog\n",
                   (unsigned long long)nofile.rlim_cur);
  }
  if (!ParseSize(capacity_str, &opts.capacity)) {
    std::fprintf(stderr, "rvm-logd: bad --capacity '%s' (e.g. 1073741824, 512M, 4G)\n",
                 capacity_str.c_str());
    return 2;
  }
  if (!secret_file.empty()) {
    rvmr::Status s = auth::ReadSecretFile(secret_file, &opts.secret);
    if (!s.ok()) {
      std::fprintf(stderr, "rvm-logd: %s\n", s.ToString().c_str());
      return 2;
    }
  }
  if (mlock && mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    std::fprintf(stderr, "rvm-logd: --mlock: mlockall failed: %s (raise RLIMIT_MEMLOCK)\n",
                 std::strerror(errno));
    return 1;
  }

  // Block the shutdown signals in every thread; main waits for them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Server server(opts);
  rvmr::Status s = server.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "rvm-logd: %s\n", s.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr,
               "rvm-logd: listening on %s (port %u), capacity %llu bytes, %zu worker threads, "
               "at most %u connections, auth timeout %.3g s%s%s\n",
               listen.c_str(), unsigned(server.port()), (unsigned long long)opts.capacity,
               server.worker_count(), opts.max_connections, double(opts.auth_timeout_ms) / 1000,
               opts.secret.empty() ? "" : ", authentication required", mlock ? ", mlocked" : "");
#ifdef RVMR_HAVE_RDMA_TRANSPORT
  std::unique_ptr<rdma::RdmaServer> rdma_server;
  if (!rdma_listen.empty()) {
    rdma::RdmaServerOptions ro;
    ro.listen = rdma_listen;
    ro.capacity = opts.capacity;
    ro.mlock = mlock;
    ro.secret = opts.secret;
    ro.auth_timeout_ms = opts.auth_timeout_ms;
    ro.max_connections = std::min<uint32_t>(opts.max_connections, 128);
    rdma_server = std::make_unique<rdma::RdmaServer>(ro);
    s = rdma_server->Start();
    if (!s.ok()) {
      std::fprintf(stderr, "rvm-logd: --rdma-listen: %s\n", s.ToString().c_str());
      return 1;
    }
    std::fprintf(stderr, "rvm-logd: serving rdma on %s (port %u)\n", rdma_listen.c_str(),
                 unsigned(rdma_server->port()));
  }
#endif
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    {
      std::ofstream f(tmp);
      f << server.port() << "\n";
      if (!f) {
        std::fprintf(stderr, "rvm-logd: cannot write %s\n", tmp.c_str());
        return 1;
      }
    }
    if (rename(tmp.c_str(), port_file.c_str()) != 0) {
      std::fprintf(stderr, "rvm-logd: cannot write %s: %s\n", port_file.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  for (;;) {
    timespec ts{};
    timespec* tsp = nullptr;
    if (verbose > 0) {
      ts.tv_sec = time_t(verbose);
      ts.tv_nsec = long((verbose - double(ts.tv_sec)) * 1e9);
      tsp = &ts;
    }
    int sig = sigtimedwait(&sigs, nullptr, tsp);
    if (sig == SIGTERM || sig == SIGINT) {
      std::fprintf(stderr, "rvm-logd: %s, shutting down\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    if (sig < 0 && errno == EAGAIN)
      std::fprintf(stderr, "rvm-logd: %s\n", server.StatusLine().c_str());
  }
#ifdef RVMR_HAVE_RDMA_TRANSPORT
  if (rdma_server) rdma_server->Stop();
#endif
  server.Stop();
  return 0;
}
