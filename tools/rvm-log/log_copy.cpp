#include "log_copy.h"

#include <algorithm>

#include "commands.h"
#include "shim/log_key.h"

namespace rvmr::tools {

Status LogCopy::OpenDisk(const std::string& path, std::unique_ptr<LogCopy>* out) {
  std::unique_ptr<LogCopy> c(new LogCopy());
  Status s = DiskLog::Open(path, &c->disk_);
  if (!s.ok()) return s;
  const log::LogStatus& st = c->disk_->status();
  c->label_ = "disk log " + path;
  c->source_ = c->disk_->source();
  c->scan_.start = st.head;
  c->scan_.limit = st.head + st.area_size;
  c->scan_.first_lsn = st.head_lsn;
  c->scan_.max_epoch = st.epoch;
  c->claimed_end_ = st.tail_hint;
  *out = std::move(c);
  return Status::Ok();
}

Status LogCopy::OpenRemote(const std::string& uri, const std::string& name,
                           const remote_log::ConnectOptions& opts, const DiskLog* disk,
                           const std::string& log_key, std::unique_ptr<LogCopy>* out) {
  std::unique_ptr<LogCopy> c(new LogCopy());
  Status s = OpenRemoteLog(uri, name, opts, disk ? disk->status().area_size : 0, &c->remote_,
                           &c->remote_src_);
  if (!s.ok()) return s;
  c->label_ = "remote log " + name + " on " + uri;
  const RemoteCopy& r = c->remote_;
  if (!log_key.empty()) {
    s = log::RecordSealer::Create(log_key, name, log::RecordSealer::Mode::kAuthenticate,
                                  &c->sealer_);
    if (!s.ok()) return s;
  }
  c->unsealed_ = std::make_unique<log::UnsealingLogSource>(c->remote_src_.get(), r.info.tail,
                                                           c->sealer_.get(), log_key.empty());
  c->source_ = c->unsealed_.get();
  c->scan_.start = r.info.start;
  c->scan_.limit = r.end();
  c->scan_.first_lsn = 0;
  c->scan_.max_epoch = r.info.epoch;
  c->claimed_end_ = r.info.tail;
  *out = std::move(c);
  return Status::Ok();
}

std::string LogCopy::Position(uint64_t offset) const {
  if (!disk_) return "";
  return " (file position " + std::to_string(disk_->FilePos(offset)) + ")";
}

Status ResolveRemoteName(const std::string& name, const DiskLog* disk, std::string* out) {
  if (!name.empty()) {
    *out = name;
    return Status::Ok();
  }
  if (disk == nullptr) {
    return Status::InvalidArgument(
        "no remote log name: give --name, or the disk log (its log id names the remote copy)");
  }
  *out = LogIdHex(disk->status());
  return Status::Ok();
}

Status OpenNamedRemoteCopy(const std::string& uri, const std::string& name,
                           const RemoteOptions& remote, const LogCopy* disk,
                           std::unique_ptr<LogCopy>* out) {
  const DiskLog* dl = disk != nullptr ? disk->disk() : nullptr;
  remote_log::ConnectOptions co;
  std::string resolved, key;
  Status s = remote.ToConnectOptions(&co);
  if (s.ok()) s = remote.LoadLogKey(dl != nullptr ? dl->path() : "", &key);
  co.owner_seed = log::OwnerSeed(key);
  if (s.ok()) s = ResolveRemoteName(name, dl, &resolved);
  if (s.ok()) s = LogCopy::OpenRemote(uri, resolved, co, dl, key, out);
  return s;
}

}  // namespace rvmr::tools
