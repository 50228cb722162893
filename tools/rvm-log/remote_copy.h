// RemoteCopy: a remote log fetched whole from one log server, read-only.
// The log is opened with the epoch the server already holds (found by
// listing), so fetching never fences the writer.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "remote_log/transport.h"

namespace rvmr::tools {

struct RemoteCopy {
  std::string uri;
  std::string name;
  remote_log::LogInfo info;  // the state when the fetch began
  std::string bytes;         // the log at [info.start, info.start + bytes.size())
  uint64_t end() const { return info.start + bytes.size(); }
};

// Called with (bytes fetched so far, bytes to fetch).
using FetchProgress = std::function<void(uint64_t, uint64_t)>;

// Fetches log `name` from the server at `uri`. Unavailable (naming the
// server) if it cannot be reached, NotFound if it does not hold the log.
Status FetchRemoteLog(const std::string& uri, const std::string& name,
                      const remote_log::ConnectOptions& opts, RemoteCopy* out,
                      const FetchProgress& progress = nullptr);

// Lists the logs a server holds.
Status ListRemoteLogs(const std::string& uri, const remote_log::ConnectOptions& opts,
                      std::vector<remote_log::LogEntry>* logs);

}  // namespace rvmr::tools
