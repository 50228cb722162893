#include "logd_config.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <set>

#include "common/config_file.h"
#include "common/version.h"
#include "remote_log/auth.h"
#include "remote_log/wire.h"

namespace rvmr::remote_log {

namespace {

// The options as CLI11 stores them: the settings bound directly, and the
// text of those that are checked after parsing.
struct Raw {
  Raw() { s.listen = "127.0.0.1:" + std::to_string(wire::kDefaultPort); }
  LogdSettings s;
  std::string config = kDefaultLogdConfig;
  std::string capacity = "1G";
  std::string log_level = "info";
};

void Describe(CLI::App& app, Raw& r) {
  app.set_version_flag("--version", RVMR_VERSION_LINE("rvm-logd"));
  app.add_option("--config", r.config,
                 "config file of 'key = value' lines, one key per long option (a missing "
                 "default file is fine); options given here override it")
      ->capture_default_str();
  app.add_option("--listen", r.s.listen,
                 "host:port to listen on; port 0 lets the OS choose (see --port-file). A "
                 "non-loopback address requires --secret-file")
      ->capture_default_str();
  app.add_option("--capacity", r.capacity,
                 "most log bytes held in memory, all logs together (suffix K, M, G)")
      ->capture_default_str();
  app.add_flag("--mlock", r.s.mlock, "lock all memory (mlockall) so log bytes are never swapped");
  app.add_option("--secret-file", r.s.secret_file,
                 "file holding the shared secret (at least 16 bytes); clients must authenticate "
                 "(HMAC-SHA256 challenge-response). Must not be readable by group/others. "
                 "SIGHUP reads it again");
  app.add_option("--verbose", r.s.verbose, "log a status line (level info) every SECONDS seconds")
      ->expected(0, 1)
      ->default_str("5");
  app.add_option("--log-level", r.log_level,
                 "least important messages logged: error, warning, notice, info or debug")
      ->capture_default_str();
  app.add_option("--port-file", r.s.port_file, "write the bound TCP port to this file once listening");
  app.add_option("--threads", r.s.threads,
                 "worker event loops serving the connections; 0: one per CPU this process may "
                 "run on")
      ->capture_default_str();
  app.add_option("--auth-timeout", r.s.auth_timeout,
                 "close a connection that has not authenticated (HELLO, and AUTH with "
                 "--secret-file) within SECONDS of being accepted")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0));
  app.add_option("--max-connections", r.s.max_connections,
                 "most connections open at once; more are answered EBUSY and closed (raises "
                 "the open-files limit to fit if it can)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1u << 20));
  app.add_flag("--event-loops-only", r.s.event_loops_only,
               "serve busy writers from the event loops too, instead of giving each busy "
               "authenticated connection a thread of its own while it stays busy (that saves "
               "a system call per request)");
  app.add_option("--shutdown-grace", r.s.shutdown_grace,
                 "on SIGTERM, wait up to SECONDS for connected writers to make the bytes held "
                 "for them durable (trim) before exiting")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--metrics-listen", r.s.metrics_listen,
                 "serve Prometheus metrics over HTTP at http://host:port/metrics (off by "
                 "default)");
#ifdef RVMR_HAVE_RDMA_TRANSPORT
  app.add_option("--rdma-listen", r.s.rdma_listen,
                 "also serve rdma:// clients on this host:port (an address of an RDMA device; "
                 "needs --secret-file). Its logs and --capacity are separate from TCP's");
#endif
}

// Applies the config file's settings that the command line did not give.
int ApplyFile(CLI::App& app, const std::string& path, bool explicit_path, std::string* error) {
  std::string text;
  if (int err = config::ReadWholeFile(path, &text); err != 0) {
    if (err == ENOENT && !explicit_path) return -1;
    *error = "cannot read config file " + path + ": " + std::strerror(err);
    return 2;
  }
  std::vector<config::Line> lines;
  Status s = config::SplitLines(text, path, &lines);
  if (!s.ok()) {
    *error = s.message();
    return 2;
  }
  // The options the file set: a later line for the same key wins.
  std::set<CLI::Option*> from_file;
  for (config::Line& line : lines) {
    std::string key = line.key;
    for (char& c : key)
      if (c == '_') c = '-';
    CLI::Option* opt = nullptr;
    if (key != "config" && key != "help" && key != "version")
      opt = app.get_option_no_throw("--" + key);
    if (opt == nullptr) {
      *error = config::Where(path, line.lineno, "unknown key '" + line.key + "'");
      return 2;
    }
    if (from_file.count(opt) != 0) {
      opt->clear();
    } else if (opt->count() > 0) {
      continue;  // the command line wins
    }
    from_file.insert(opt);
    try {
      opt->add_result(line.value);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      *error = config::Where(path, line.lineno,
                             "bad value '" + line.value + "' for '" + line.key + "': " + e.what());
      return 2;
    }
  }
  return -1;
}

}  // namespace

int LoadLogdSettings(int argc, char** argv, LogdSettings* out, std::string* error) {
  CLI::App app{"rvm-logd: remote memory log server (mirror) for RVM writers"};
  Raw r;
  Describe(app, r);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *error = "";  // CLI11 prints it
    return app.exit(e) == 0 ? 0 : 2;
  }
  const bool explicit_config = app.count("--config") > 0;
  const bool verbose_given = app.count("--verbose") > 0;
  LogdSettings& s = r.s;
  if (!r.config.empty()) {
    int rc = ApplyFile(app, r.config, explicit_config, error);
    if (rc >= 0) return rc;
    if (access(r.config.c_str(), F_OK) == 0) s.config_path = r.config;
  }
  if (!config::ParseSize(r.capacity, &s.capacity) || s.capacity == 0) {
    *error = "bad capacity '" + r.capacity + "' (e.g. 1073741824, 512M, 4G)";
    return 2;
  }
  if (!s.secret_file.empty()) {
    Status st = auth::ReadSecretFile(s.secret_file, &s.secret);
    if (!st.ok()) {
      *error = st.ToString();
      return 2;
    }
  }
  // "--verbose" alone means every 5 s; "verbose = 0" in the file means none.
  if (verbose_given && s.verbose <= 0) s.verbose = 5;
  if (s.verbose < 0) {
    *error = "bad verbose interval (seconds, 0 for none)";
    return 2;
  }
  if (!DaemonLog::ParseLevel(r.log_level, &s.log_level)) {
    *error = "bad log level '" + r.log_level + "' (error, warning, notice, info or debug)";
    return 2;
  }
  // A status line is an info message: asking for one asks for those.
  if (s.verbose > 0 && s.log_level < DaemonLog::kInfo) s.log_level = DaemonLog::kInfo;
  *out = std::move(s);
  return -1;
}

}  // namespace rvmr::remote_log
