// LogdSettings: rvm-logd's settings, from its command line and its config
// file (/etc/rvm/rvm-logd.conf by default; format: common/config_file.h).
// Every long option has a key of the same name without the dashes
// ("listen = 0.0.0.0:7483"; '_' may stand for '-'); an option given on the
// command line overrides the file. The keys and their meaning:
// docs/operations.md and rvm-logd(8).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemon_log.h"

namespace rvmr::remote_log {

struct LogdSettings {
  // The config file read; empty if the default one does not exist.
  std::string config_path;
  std::string listen;
  uint64_t capacity = uint64_t(1) << 30;
  bool mlock = false;
  std::string secret_file;
  std::string secret;  // read from secret_file; never printed
  // A status line every this many seconds; 0: none.
  double verbose = 0;
  std::string port_file;
  unsigned threads = 0;
  double auth_timeout = 10;
  uint32_t max_connections = 1024;
  bool event_loops_only = false;
  std::string rdma_listen;
  DaemonLog::Level log_level = DaemonLog::kInfo;
  // On SIGTERM, how long to wait for connected writers' trims.
  double shutdown_grace = 30;
  // host:port of the Prometheus endpoint; empty: off.
  std::string metrics_listen;
};

// The default config file.
inline constexpr const char* kDefaultLogdConfig = "/etc/rvm/rvm-logd.conf";

// Parses argv and then the config file it names (--config, or the default,
// which may be missing) into *out, and reads the secret file. Returns -1 on
// success; otherwise the exit status for main: 0 after --help or --version
// (printed), 2 for a usage error, a bad or unreadable config file or secret
// file, with the message in *error (naming the file and line). Safe to call
// again with the same argv (SIGHUP).
int LoadLogdSettings(int argc, char** argv, LogdSettings* out, std::string* error);

}  // namespace rvmr::remote_log
