// rvm-logd: lends this machine's memory to RVM writers as a remote log mirror.
// The settings are logd_config.h, the service around the server logd_daemon.h.
#include <signal.h>

#include <cstdio>
#include <string>

#include "daemon_log.h"
#include "logd_config.h"
#include "logd_daemon.h"

int main(int argc, char** argv) {
  using namespace rvmr::remote_log;
  LogdSettings settings;
  std::string error;
  int rc = LoadLogdSettings(argc, argv, &settings, &error);
  if (rc >= 0) {
    if (!error.empty()) LOGD_ERROR("%s", error.c_str());
    return rc;
  }
  DaemonLog::Get().set_threshold(settings.log_level);
  // The signals the daemon's event loop takes (signalfd) are blocked in
  // every thread, from before the first one starts.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  LogdDaemon daemon(argc, argv, std::move(settings));
  return daemon.Run();
}
