#include "shim/log_sink.h"

#include "shim/local_sink.h"

namespace rvmr {

LogSink::~LogSink() = default;

Status OpenLogSink(const LogSinkConfig& cfg, std::unique_ptr<LogSink>* out) {
  if (cfg.fd < 0) return Status::InvalidArgument("log sink needs an open log file");
  *out = std::make_unique<LocalSink>(cfg.fd, cfg.path, cfg.status.area_start,
                                     cfg.status.area_size, cfg.tail);
  return Status::Ok();
}

}  // namespace rvmr
