// rvm-preload-restore: rebuilds the tails of files written under the preload
// shim from the mirrors, before the program's own recovery runs.
//
//   rvm-preload-restore [--mirrors URIS] [--discard] FILE...
//   rvm-preload-restore [--mirrors URIS] --list
//
// Mirrors and settings come from RVM_MIRRORS / RVM_SHIM_CONFIG unless
// --mirrors is given. Exit status: 0 restored (or nothing to do), 1 a tail
// could not be restored in full, 2 usage or configuration error.
#include <limits.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "common/version.h"
#include "preload/preload_record.h"
#include "preload/restore.h"
#include "shim/shim_config.h"

using namespace rvmr;

namespace {

std::string Absolute(const std::string& p) {
  std::string abs = p;
  if (abs.empty() || abs[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) != nullptr) abs = std::string(cwd) + "/" + p;
  }
  size_t slash = abs.find_last_of('/');
  std::string dir = slash == 0 ? "/" : abs.substr(0, slash);
  char res[PATH_MAX];
  if (::realpath(dir.c_str(), res) != nullptr) dir = res;
  if (dir == "/") dir.clear();
  return dir + "/" + abs.substr(slash + 1);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Rebuild the lost tails of preload-shim log files from the mirrors"};
  app.set_version_flag("--version", RVMR_VERSION_LINE("rvm-preload-restore"));
  std::string mirrors;
  bool discard = false, list = false, quiet = false;
  std::vector<std::string> files;
  app.add_option("--mirrors", mirrors, "mirror URIs (default: $RVM_MIRRORS)");
  app.add_flag("--discard", discard, "give the pending tails up: trim without replaying");
  app.add_flag("--list", list, "list the preload logs on the mirrors");
  app.add_flag("-q,--quiet", quiet, "print only problems");
  app.add_option("files", files, "the log files to restore");
  CLI11_PARSE(app, argc, argv);

  ShimConfig sc;
  Status s = LoadShimConfigFromEnv(&sc);
  if (!s.ok()) {
    std::fprintf(stderr, "rvm-preload-restore: %s\n", s.ToString().c_str());
    return 2;
  }
  if (!mirrors.empty()) sc.mirrors = SplitMirrorList(mirrors);
  if (sc.mirrors.empty()) {
    std::fprintf(stderr, "rvm-preload-restore: no mirrors (set RVM_MIRRORS or --mirrors)\n");
    return 2;
  }
  if (list) {
    std::vector<remote_log::LogEntry> logs;
    s = preload::ListPreloadLogs(sc, &logs);
    if (!s.ok()) {
      std::fprintf(stderr, "rvm-preload-restore: %s\n", s.ToString().c_str());
      return 1;
    }
    for (const auto& e : logs)
      std::printf("%s epoch=%llu start=%llu durable=%llu tail=%llu pending=%llu\n", e.name.c_str(),
                  static_cast<unsigned long long>(e.info.epoch),
                  static_cast<unsigned long long>(e.info.start),
                  static_cast<unsigned long long>(e.info.durable),
                  static_cast<unsigned long long>(e.info.tail),
                  static_cast<unsigned long long>(e.info.tail - e.info.durable));
    return 0;
  }
  if (files.empty()) {
    std::fprintf(stderr, "rvm-preload-restore: name the files to restore (or --list)\n");
    return 2;
  }
  int rc = 0;
  for (const std::string& f : files) {
    std::string abs = Absolute(f);
    preload::RestoreReport rep;
    s = preload::RestoreFile(sc, abs, discard, &rep);
    for (const std::string& p : rep.problems)
      std::fprintf(stderr, "rvm-preload-restore: %s: %s\n", abs.c_str(), p.c_str());
    if (!s.ok()) {
      std::fprintf(stderr, "rvm-preload-restore: %s: %s\n", abs.c_str(), s.ToString().c_str());
      rc = 1;
      continue;
    }
    if (quiet) continue;
    if (!rep.state.found) {
      std::printf("%s: no log on the mirrors (%s); nothing to restore\n", abs.c_str(),
                  rep.name.c_str());
    } else if (discard) {
      std::printf("%s: discarded %llu pending bytes\n", abs.c_str(),
                  static_cast<unsigned long long>(rep.state.tail - rep.state.from));
    } else {
      std::printf("%s: replayed %zu records, %llu bytes, stream [%llu, %llu) from %s\n",
                  abs.c_str(), rep.records, static_cast<unsigned long long>(rep.data_bytes),
                  static_cast<unsigned long long>(rep.state.from),
                  static_cast<unsigned long long>(rep.restored_to),
                  rep.source.empty() ? "-" : rep.source.c_str());
    }
  }
  return rc;
}
