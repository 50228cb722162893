#include "shim/log_sink.h"

#include "shim/local_sink.h"
#include "shim/remote_sink.h"
#include "shim/shim_config.h"

namespace rvmr {

LogSink::~LogSink() = default;

Status LogSink::Append(uint64_t offset, const struct iovec* iov, int iovcnt) {
  uint64_t end = offset;
  for (int i = 0; i < iovcnt; ++i) end += iov[i].iov_len;
  Status s = Send(offset, iov, iovcnt);
  return s.ok() ? Wait(end) : s;
}

Status OpenLogSink(const LogSinkConfig& cfg, std::unique_ptr<LogSink>* out) {
  if (cfg.fd < 0) return Status::InvalidArgument("log sink needs an open log file");
  ShimConfig sc;
  Status s = LoadShimConfigFromEnv(&sc);
  if (!s.ok()) return s;
  if (sc.enabled()) {
    std::unique_ptr<RemoteSink> remote;
    s = RemoteSink::Open(cfg, sc, &remote);
    if (!s.ok()) return s;
    *out = std::move(remote);
    return Status::Ok();
  }
  *out = std::make_unique<LocalSink>(cfg.fd, cfg.path, cfg.status.area_start,
                                     cfg.status.area_size, cfg.tail);
  return Status::Ok();
}

}  // namespace rvmr
