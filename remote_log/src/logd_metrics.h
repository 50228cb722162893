// RenderLogdMetrics: rvm-logd's metrics in the Prometheus text format
// (prometheus_text.h), every name prefixed rvm_logd_. The list, with what
// each means: docs/operations.md "Metrics".
#pragma once

#include <cstdint>
#include <string>

#include "remote_log/server.h"

namespace rvmr::remote_log {

namespace rdma {
class RdmaServer;
}

// The daemon's own counters that the Server does not keep.
struct LogdCounters {
  uint64_t reloads = 0;          // SIGHUPs that applied a configuration
  uint64_t reload_failures = 0;  // SIGHUPs whose configuration was refused
};

// Renders the server's counters, its logs (one sample per log, labelled
// log="<name>") and `daemon`; with `rdma`, also the RDMA server's
// (rvm_logd_rdma_*). Thread-safe (reads atomics and snapshots).
std::string RenderLogdMetrics(Server& server, const LogdCounters& daemon,
                              rdma::RdmaServer* rdma = nullptr);

}  // namespace rvmr::remote_log
