// Pieces the subcommands share.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "commands.h"
#include "remote_log/auth.h"
#include "shim/log_key.h"
#include "shim/log_status.h"
#include "shim/remote_marker.h"
#include "text_util.h"

namespace rvmr::tools {

const char kExitStatusHelp[] =
    "Exit status (every subcommand): 0 ok (the log is sound, the copies agree, the replay is "
    "complete); 1 verification failed (a damaged or torn record, damaged status blocks, a "
    "lost committed tail, copies that differ); 2 usage or I/O error (a bad argument, a file "
    "that cannot be read or is not a log, a server that cannot be reached). Given several "
    "logs, the worst of their statuses.";

int ExitCodeFor(const Status& s) {
  return s.code() == Status::Code::kCorruption ? kExitProblem : kExitError;
}

void PrintLogHeading(const std::string& path, bool json, bool first, std::ostream& out) {
  if (json) {
    out << "{\"kind\":\"file\",\"path\":" << JsonString(path) << "}\n";
    return;
  }
  if (!first) out << "\n";
  out << "==> " << path << " <==\n";
}

Status CheckLogArguments(const std::vector<std::string>& paths, const std::string& remote_uri,
                         const std::string& name) {
  if (paths.empty() && remote_uri.empty())
    return Status::InvalidArgument("give a disk log path, or --remote URI (with --name)");
  if (paths.size() > 1 && !name.empty())
    return Status::InvalidArgument(
        "--name names one remote copy: give at most one disk log with it");
  return Status::Ok();
}

int ForEachLog(const std::vector<std::string>& paths, bool json, std::ostream& out,
               const std::function<int(const std::string& path)>& one) {
  if (paths.empty()) return one("");
  int worst = kExitOk;
  for (size_t i = 0; i < paths.size(); i++) {
    if (paths.size() > 1) PrintLogHeading(paths[i], json, i == 0, out);
    worst = std::max(worst, one(paths[i]));
  }
  return worst;
}

Status RemoteOptions::ToConnectOptions(remote_log::ConnectOptions* out) const {
  *out = remote_log::ConnectOptions();
  out->connect_timeout_ms = timeout_ms;
  out->io_timeout_ms = timeout_ms;
  if (!secret_file.empty()) {
    Status s = remote_log::auth::ReadSecretFile(secret_file, &out->secret);
    if (!s.ok()) return Status::InvalidArgument("secret file " + secret_file + ": " + s.ToString());
  }
  return Status::Ok();
}

Status RemoteOptions::LoadLogKey(const std::string& log_path, std::string* key) const {
  key->clear();
  if (!key_file.empty()) return log::ReadLogKey(key_file, key);
  if (log_path.empty()) return Status::Ok();
  Status s = log::ReadLogKey(log::LogKeyPath(log_path, ""), key);
  if (s.code() == Status::Code::kNotFound) return Status::Ok();
  return s;
}

bool WarnMirrorsMayHoldMore(const std::string& cmd, const std::string& log_path,
                            std::ostream& err) {
  int fd = ::open(log_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  log::LogStatus st;
  MirrorCopyCheck c;
  bool warn = log::ReadLogStatus(fd, &st).ok() && CheckMirrorCopy(log_path, fd, st, &c).ok() &&
              c.mirrors_may_hold_more;
  ::close(fd);
  if (!warn) return false;
  err << "rvm-log " << cmd << ": warning: " << c.message
      << " (rvm-log reads the mirrors' copy when given them with --remote URI.)\n";
  return true;
}

Status ParseSegmentMap(const std::vector<std::string>& entries,
                       std::map<uint32_t, std::string>* map) {
  for (const std::string& e : entries) {
    size_t eq = e.find('=');
    uint64_t code = 0;
    if (eq == std::string::npos || eq + 1 == e.size() ||
        !ParseU64(std::string_view(e).substr(0, eq), &code) || code > UINT32_MAX) {
      return Status::InvalidArgument("--segment-map " + e +
                                     ": expected CODE=PATH (a segment code, then a file path)");
    }
    (*map)[static_cast<uint32_t>(code)] = e.substr(eq + 1);
  }
  return Status::Ok();
}

}  // namespace rvmr::tools
