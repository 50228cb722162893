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
//   RVM_PRELOAD_TEST_NO_DISK_SYNC=1   test only: never sync the local copy
//                      in the background (the disk "loses" everything)
// With RVM_MIRRORS or RVM_PRELOAD_LOGS unset the shim passes everything
// through.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "shim/shim_config.h"

namespace rvmr::preload {

struct PreloadConfig {
  std::vector<std::string> patterns;  // globs; directories end in '/'
  ShimConfig shim;
  bool auto_restore = false;
  bool test_no_disk_sync = false;

  bool active() const { return shim.enabled() && !patterns.empty(); }

  // Whether the absolute, normalised path names a designated log.
  bool Matches(std::string_view abs_path) const;
};

// Splits a RVM_PRELOAD_LOGS value into patterns; an entry naming an existing
// directory (or ending in '/') becomes that directory's canonical path plus
// '/'. Relative entries are InvalidArgument.
Status ParseLogPatterns(std::string_view value, std::vector<std::string>* out);

// Reads the whole configuration from the environment (see above).
Status LoadPreloadConfigFromEnv(PreloadConfig* cfg);

}  // namespace rvmr::preload
