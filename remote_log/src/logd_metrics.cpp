#include "logd_metrics.h"

#include <algorithm>

#include "common/version.h"
#include "prometheus_text.h"
#ifdef RVMR_HAVE_RDMA_TRANSPORT
#include "remote_log/rdma/rdma_server.h"
#endif

namespace rvmr::remote_log {

namespace {

#ifdef RVMR_HAVE_RDMA_TRANSPORT
void RenderRdma(rdma::RdmaServer& rdma, PrometheusText* t) {
  std::vector<rdma::RdmaServer::HeldLog> logs = rdma.Snapshot();
  t->Single("rvm_logd_rdma_logs", "gauge", "Logs held by the RDMA server.", logs.size());
  t->Family("rvm_logd_rdma_log_held_bytes", "gauge", "Bytes an RDMA log holds (tail - start).");
  for (const auto& l : logs)
    t->Sample("rvm_logd_rdma_log_held_bytes", {{"log", l.name}}, l.info.tail - l.info.start);
  t->Family("rvm_logd_rdma_log_lag_bytes", "gauge",
            "Bytes of an RDMA log its writer's disk does not have yet (above its last TRIM).");
  for (const auto& l : logs)
    t->Sample("rvm_logd_rdma_log_lag_bytes", {{"log", l.name}}, l.info.not_durable());
  t->Family("rvm_logd_rdma_log_tail_offset", "gauge", "Offset one past an RDMA log's last byte.");
  for (const auto& l : logs)
    t->Sample("rvm_logd_rdma_log_tail_offset", {{"log", l.name}}, l.info.tail);
  t->Single("rvm_logd_rdma_connections", "gauge", "RDMA connections open.",
            rdma.connections_open());
  t->Single("rvm_logd_rdma_connections_accepted_total", "counter", "RDMA connections accepted.",
            rdma.connections_accepted());
  t->Single("rvm_logd_rdma_connections_refused_total", "counter",
            "RDMA connections refused because max-connections were open.",
            rdma.connections_refused());
  t->Single("rvm_logd_rdma_auth_failures_total", "counter",
            "RDMA requests refused for a failed proof (secret, control MAC or owner key).",
            rdma.auth_failures());
  t->Single("rvm_logd_rdma_auth_timeouts_total", "counter",
            "RDMA connections closed for not authenticating within auth-timeout.",
            rdma.auth_timeouts());
  t->Single("rvm_logd_rdma_fences_total", "counter", "RDMA writers fenced by a higher epoch.",
            rdma.fences());
}
#endif

}  // namespace

std::string RenderLogdMetrics(Server& server, const LogdCounters& daemon,
                              [[maybe_unused]] rdma::RdmaServer* rdma) {
  PrometheusText t;
  t.Family("rvm_logd_build_info", "gauge", "The running rvm-logd's version (always 1).");
  t.Sample("rvm_logd_build_info", {{"version", kVersion}}, 1);
  LogStore& store = server.store();
  std::vector<LogStore::Held> logs = store.Snapshot();
  t.Single("rvm_logd_logs", "gauge", "Logs held.", logs.size());
  t.Single("rvm_logd_capacity_bytes", "gauge", "Most log bytes all logs together may hold.",
           store.capacity());
  t.Single("rvm_logd_held_bytes", "gauge", "Log bytes held, all logs together.", store.used());
  t.Family("rvm_logd_log_held_bytes", "gauge", "Bytes a log holds (tail - start).");
  for (const auto& l : logs)
    t.Sample("rvm_logd_log_held_bytes", {{"log", l.name}}, l.info.tail - l.info.start);
  t.Family("rvm_logd_log_lag_bytes", "gauge",
           "Bytes of a log its writer's disk does not have yet: held above the durable mark "
           "its writer last reported (TRIM).");
  for (const auto& l : logs)
    t.Sample("rvm_logd_log_lag_bytes", {{"log", l.name}}, l.info.not_durable());
  t.Family("rvm_logd_log_tail_offset", "gauge", "Offset one past a log's last byte.");
  for (const auto& l : logs) t.Sample("rvm_logd_log_tail_offset", {{"log", l.name}}, l.info.tail);
  t.Family("rvm_logd_log_connections", "gauge", "Connections holding a log open.");
  for (const auto& l : logs) t.Sample("rvm_logd_log_connections", {{"log", l.name}}, l.sessions);
  t.Single("rvm_logd_appends_total", "counter", "APPEND requests handled, whatever the outcome.",
           server.append_requests());
  t.Single("rvm_logd_acks_total", "counter", "APPENDs acknowledged (the bytes are held).",
           server.appends());
  t.Single("rvm_logd_appended_bytes_total", "counter", "Log bytes acknowledged.",
           server.append_bytes());
  t.Single("rvm_logd_trims_total", "counter", "TRIMs accepted (a writer's durable mark).",
           server.trims());
  t.Single("rvm_logd_connections", "gauge", "Connections open.", server.connections_open());
  t.Single("rvm_logd_connections_accepted_total", "counter", "Connections accepted.",
           server.connections_accepted());
  t.Single("rvm_logd_connections_refused_total", "counter",
           "Connections refused because max-connections were open.",
           server.connections_refused());
  t.Single("rvm_logd_requests_rejected_total", "counter",
           "Requests refused with an error that closed their connection.",
           server.connections_rejected());
  t.Single("rvm_logd_auth_failures_total", "counter",
           "Authentications refused (wrong secret).", server.auth_failures());
  t.Single("rvm_logd_auth_timeouts_total", "counter",
           "Connections closed for not authenticating within auth-timeout.",
           server.auth_timeouts());
  t.Single("rvm_logd_connection_threads", "gauge",
           "Busy connections served by a thread of their own.", server.connection_threads());
  t.Single("rvm_logd_config_reloads_total", "counter", "SIGHUPs that applied a configuration.",
           daemon.reloads);
  t.Single("rvm_logd_config_reload_failures_total", "counter",
           "SIGHUPs whose configuration was refused (the running one was kept).",
           daemon.reload_failures);
#ifdef RVMR_HAVE_RDMA_TRANSPORT
  if (rdma != nullptr) RenderRdma(*rdma, &t);
#endif
  return t.text();
}

}  // namespace rvmr::remote_log
