#include "shim/log_sink.h"

#include "common/diag.h"
#include "shim/local_sink.h"
#include "shim/remote_marker.h"
#include "shim/remote_sink.h"
#include "shim/shim_config.h"

namespace rvmr {

namespace {

// A start without mirrors (sc has none): refused (*refused) while the
// marker says the mirrors may hold more, unless abandon_mirror_copy is set;
// then, if `act`, the marker records that their copy is abandoned.
Status CheckWithoutMirrors(const LogSinkConfig& cfg, const ShimConfig& sc, bool act,
                           bool* refused) {
  *refused = false;
  MirrorCopyCheck c;
  Status s = CheckMirrorCopy(cfg.path, cfg.fd, cfg.status, &c);
  if (!s.ok()) return s;
  if (!c.mirrors_may_hold_more) return Status::Ok();
  if (!sc.abandon_mirror_copy) {
    // Reported once, by whoever turns this into an error for its caller.
    *refused = true;
    return Status::Failed("refusing to open the log: " + c.message);
  }
  if (!act) return Status::Ok();
  RemoteMarker m = c.marker;
  m.state = RemoteMarker::State::kAbandoned;
  m.disk_end = c.disk_end;
  if (m.log_id.empty()) m.log_id = RemoteLogName(cfg.status);
  s = WriteRemoteMarker(cfg.path, m);
  if (!s.ok()) return s;
  Report(DiagLevel::kWarning,
         "log %s starts without mirrors from its disk copy alone (abandon_mirror_copy = yes): "
         "whatever only the mirrors held beyond offset %llu (up to %llu bytes) is abandoned; %s "
         "records it, and the next start with mirrors drops their copy",
         cfg.path.c_str(), static_cast<unsigned long long>(c.disk_end),
         static_cast<unsigned long long>(c.may_hold_bytes), RemoteMarkerPath(cfg.path).c_str());
  return Status::Ok();
}

}  // namespace

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
  bool refused = false;
  s = CheckWithoutMirrors(cfg, sc, /*act=*/true, &refused);
  if (!s.ok()) return s;
  *out = std::make_unique<LocalSink>(cfg.fd, cfg.path, cfg.status.area_start,
                                     cfg.status.area_size, cfg.tail);
  return Status::Ok();
}

Status CheckLogSinkStart(const LogSinkConfig& cfg, bool* refused) {
  *refused = false;
  if (cfg.fd < 0) return Status::InvalidArgument("log sink needs an open log file");
  ShimConfig sc;
  Status s = LoadShimConfigFromEnv(&sc);
  if (!s.ok()) return s;
  if (sc.enabled()) return Status::Ok();
  return CheckWithoutMirrors(cfg, sc, /*act=*/false, refused);
}

}  // namespace rvmr
