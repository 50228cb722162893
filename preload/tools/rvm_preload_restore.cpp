// rvm-preload-restore: rebuilds the tails of files written under the preload
// shim from the mirrors, before the program's own recovery runs.
//
//   rvm-preload-restore [--mirrors URIS] [--discard] FILE...
//   rvm-preload-restore [--mirrors URIS] --list
//
// Mirrors and settings come from RVM_MIRRORS / RVM_SHIM_CONFIG unless
// --mirrors is given; the preload key from --key-file, RVM_PRELOAD_KEY, the
// config's log_key_file or $HOME/.rvm-preload.key. Every record read is
// verified; one that fails is reported by mirror and offset and never
// written. Exit status: 0 restored (or nothing pending), 1 a tail could not
// be restored in full (a record failed verification on every mirror, the
// shim had refused the file), 2 usage or configuration error, or a FILE that
// no mirror holds a log for.
#include <limits.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "common/version.h"
#include "preload/preload_config.h"
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
  std::string mirrors, key_file;
  bool discard = false, list = false, quiet = false;
  std::vector<std::string> files;
  app.add_option("--mirrors", mirrors, "mirror URIs (default: $RVM_MIRRORS)");
  app.add_option("--key-file", key_file,
                 "the preload key file (default: $RVM_PRELOAD_KEY, the config's log_key_file, "
                 "$HOME/.rvm-preload.key)");
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
  if (!key_file.empty()) {
    sc.log_key_file = key_file;
    ::unsetenv("RVM_PRELOAD_KEY");  // --key-file wins
  }
  std::string key, key_path;
  bool created = false;
  s = preload::LoadPreloadKey(sc, false, &key, &key_path, &created);
  if (!s.ok()) {
    std::fprintf(stderr, "rvm-preload-restore: %s (the key that seals the records on the mirrors; "
                 "see docs/security.md)\n", s.ToString().c_str());
    return 2;
  }
  std::string mirror_list;
  for (const std::string& m : sc.mirrors) mirror_list += (mirror_list.empty() ? "" : ", ") + m;
  if (list) {
    std::vector<preload::PreloadLogEntry> logs;
    s = preload::ListPreloadLogs(sc, key, &logs);
    if (!s.ok()) {
      std::fprintf(stderr, "rvm-preload-restore: %s\n", s.ToString().c_str());
      return 1;
    }
    int rc = 0;
    for (const auto& e : logs) {
      const remote_log::LogInfo& i = e.log.info;
      std::printf("%s %s mirror=%s epoch=%llu start=%llu durable=%llu tail=%llu pending=%llu\n",
                  e.path.empty() ? "?" : e.path.c_str(), e.log.name.c_str(), e.mirror.c_str(),
                  static_cast<unsigned long long>(i.epoch),
                  static_cast<unsigned long long>(i.start),
                  static_cast<unsigned long long>(i.durable),
                  static_cast<unsigned long long>(i.tail),
                  static_cast<unsigned long long>(i.not_durable()));
      if (!e.path_problem.empty()) {
        std::fprintf(stderr, "rvm-preload-restore: %s on %s: protected path unknown: %s\n",
                     e.log.name.c_str(), e.mirror.c_str(), e.path_problem.c_str());
        rc = 1;
      }
    }
    return rc;
  }
  if (files.empty()) {
    std::fprintf(stderr, "rvm-preload-restore: name the files to restore (or --list)\n");
    return 2;
  }
  int rc = 0;
  for (const std::string& f : files) {
    std::string abs = Absolute(f);
    preload::RestoreReport rep;
    s = preload::RestoreFile(sc, key, abs, discard, &rep);
    for (const std::string& p : rep.problems)
      std::fprintf(stderr, "rvm-preload-restore: %s: %s\n", abs.c_str(), p.c_str());
    if (!s.ok()) {
      std::fprintf(stderr, "rvm-preload-restore: %s: %s\n", abs.c_str(), s.ToString().c_str());
      rc = std::max(rc, 1);
      continue;
    }
    if (!rep.state.found) {
      std::fprintf(stderr,
                   "rvm-preload-restore: %s: no log for this file (%s) on the mirrors %s: is the "
                   "path right, and was it written under the preload shim with these mirrors?\n",
                   abs.c_str(), rep.name.c_str(), mirror_list.c_str());
      rc = 2;
      continue;
    }
    if (quiet) continue;
    if (discard) {
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
