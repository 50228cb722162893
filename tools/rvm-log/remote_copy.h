// Opening a remote log for reading: connecting, finding the log, and opening
// it read-only. The log is opened with the epoch the server already holds
// (found by listing), so reading never fences the writer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "remote_log/transport.h"
#include "remote_log_source.h"

namespace rvmr::tools {

// What a server said about a remote copy when it was opened.
struct RemoteCopy {
  std::string uri;
  std::string name;
  remote_log::LogInfo info;
  uint64_t end() const { return info.tail; }
};

// Opens log `name` on the server at `uri` for reading: *out describes it and
// *src reads it (`area_size`: the record size bound; 0: the bytes held).
// Unavailable (naming the server) if it cannot be reached, NotFound if it
// does not hold the log.
Status OpenRemoteLog(const std::string& uri, const std::string& name,
                     const remote_log::ConnectOptions& opts, uint64_t area_size, RemoteCopy* out,
                     std::unique_ptr<RemoteLogSource>* src);

// Lists the logs a server holds.
Status ListRemoteLogs(const std::string& uri, const remote_log::ConnectOptions& opts,
                      std::vector<remote_log::LogEntry>* logs);

}  // namespace rvmr::tools
