// PreloadConfig: which files the preload shim treats as logs, and how it
// reaches the mirrors, read from the environment once per process.
//
//   RVM_PRELOAD_LOGS   colon-separated absolute path globs (fnmatch(3)) or
//                      directories (every file below one is a log)
//   RVM_MIRRORS        the mirrors, as for the RVM shim (shim_config.h);
//   RVM_SHIM_CONFIG    optional file with the rest of the shim settings
//   RVM_PRELOAD_RESTORE=auto   rebuild a log's tail from the mirrors when
//                      the program opens it (default: refuse the open and
//                      ask for rvm-preload-restore)
//   RVM_PRELOAD_KEY    the preload key file (docs/security.md), which seals
//                      every record sent to the mirrors; default: the
//                      config file's `log_key_file`, else
//                      $HOME/.rvm-preload.key. Created (mode 0600) by the
//                      shim when missing; never by the restore tool.
//   RVM_PRELOAD_TEST_NO_DISK_SYNC=1   test only: never sync the local copy
//                      in the background (the disk "loses" everything)
// With RVM_MIRRORS or RVM_PRELOAD_LOGS unset the shim passes everything
// through.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "preload/preload_record.h"
#include "shim/shim_config.h"

namespace rvmr::preload {

struct PreloadConfig {
  std::vector<std::string> patterns;  // globs; directories end in '/'
  ShimConfig shim;
  bool auto_restore = false;
  bool test_no_disk_sync = false;
  std::string key_file;  // the preload key file
  std::string key;       // the preload key (empty with protect_records = no)
  SealMode seal_mode = SealMode::kAuthenticate;
  bool key_created = false;  // the key file was created by this load

  bool active() const { return shim.enabled() && !patterns.empty(); }

  // Whether the absolute, normalised path names a designated log.
  bool Matches(std::string_view abs_path) const;
};

// Splits a RVM_PRELOAD_LOGS value into patterns; an entry naming an existing
// directory (or ending in '/') becomes that directory's canonical path plus
// '/'. Relative entries are InvalidArgument.
Status ParseLogPatterns(std::string_view value, std::vector<std::string>* out);

// The preload key file for settings `sc`: $RVM_PRELOAD_KEY, else
// sc.log_key_file, else $HOME/.rvm-preload.key; empty if none can be named.
std::string PreloadKeyPath(const ShimConfig& sc);

// How records are sealed under settings `sc`: kEncrypt with `encrypt = yes`,
// kPlain with `protect_records = no`, else kAuthenticate.
SealMode SealModeFor(const ShimConfig& sc);

// Loads the preload key for settings `sc` into *key and its path into
// *path (empty key with protect_records = no and no key file). With
// `create`, a missing key file is created with a fresh key (*created set).
// InvalidArgument if no key file can be named; the errors of ReadLogKey /
// CreateLogKey (shim/log_key.h) otherwise, naming the file.
Status LoadPreloadKey(const ShimConfig& sc, bool create, std::string* key, std::string* path,
                      bool* created);

// Reads the whole configuration from the environment (see above) and loads
// (or creates) the preload key.
Status LoadPreloadConfigFromEnv(PreloadConfig* cfg);

}  // namespace rvmr::preload
