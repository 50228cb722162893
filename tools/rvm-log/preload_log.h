// rvm-log on the preload shim's logs (docs/preload.md "Record format"): a
// remote log "rvmpl-<hash>" on one server, named by that name or by the
// absolute path of the file it protects. inspect prints the protected path
// (from the log's sealed path log) and every record; verify only checks.
// Every record is verified under the preload key (--key-file, else
// $RVM_PRELOAD_KEY, else $HOME/.rvm-preload.key). Exit status as for every
// subcommand: 0 all verified, 1 a record or the path log fails
// verification, 2 the log or the key cannot be read.
#pragma once

#include <ostream>
#include <string>

#include "commands.h"

namespace rvmr::tools {

// Whether `name` (an --name value) designates a preload log: an
// "rvmpl-" name, or an absolute path (the protected file's).
bool IsPreloadLogName(const std::string& name);

// inspect --remote URI --name NAME for a preload log.
int RunInspectPreload(const InspectOptions& o, std::ostream& out, std::ostream& err);

// verify --remote URI --name NAME for a preload log.
int RunVerifyPreload(const VerifyOptions& o, std::ostream& out, std::ostream& err);

}  // namespace rvmr::tools
