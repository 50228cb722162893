#include "remote_copy.h"

#include <algorithm>
#include <memory>

#include "shim/log_format.h"

namespace rvmr::tools {

namespace {

// Prefixes a status message with the server, keeping the code.
Status AtServer(const std::string& uri, const Status& s, const std::string& what) {
  std::string msg = "log server " + uri + ": " + what + ": " + s.ToString();
  switch (s.code()) {
    case Status::Code::kNotFound:
      return Status::NotFound(msg);
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(msg);
    case Status::Code::kTimedOut:
      return Status::TimedOut(msg);
    case Status::Code::kCorruption:
      return Status::Corruption(msg);
    case Status::Code::kNotSupported:
      return Status::NotSupported(msg);
    default:
      return Status::Unavailable(msg);
  }
}

Status Connect(const std::string& uri, const remote_log::ConnectOptions& opts,
               std::unique_ptr<remote_log::Connection>* conn) {
  Status s = remote_log::TransportRegistry::Global().Connect(uri, opts, conn);
  if (!s.ok()) return AtServer(uri, s, "cannot connect");
  return s;
}

}  // namespace

Status ListRemoteLogs(const std::string& uri, const remote_log::ConnectOptions& opts,
                      std::vector<remote_log::LogEntry>* logs) {
  std::unique_ptr<remote_log::Connection> conn;
  Status s = Connect(uri, opts, &conn);
  if (!s.ok()) return s;
  s = conn->List(logs);
  if (!s.ok()) return AtServer(uri, s, "listing logs");
  return s;
}

Status OpenRemoteLog(const std::string& uri, const std::string& name,
                     const remote_log::ConnectOptions& opts, uint64_t area_size, RemoteCopy* out,
                     std::unique_ptr<RemoteLogSource>* src) {
  out->uri = uri;
  out->name = name;
  std::unique_ptr<remote_log::Connection> conn;
  Status s = Connect(uri, opts, &conn);
  if (!s.ok()) return s;
  std::vector<remote_log::LogEntry> logs;
  s = conn->List(&logs);
  if (!s.ok()) return AtServer(uri, s, "listing logs");
  auto it = std::find_if(logs.begin(), logs.end(),
                         [&](const remote_log::LogEntry& e) { return e.name == name; });
  if (it == logs.end()) {
    return Status::NotFound("log server " + uri + " holds no log named " + name + " (it holds " +
                            std::to_string(logs.size()) + " logs)");
  }
  // Same epoch as the server holds: opening does not fence the writer.
  remote_log::LogInfo info;
  s = conn->Open(name, it->info.epoch, /*create=*/false, 0, &info);
  if (!s.ok()) return AtServer(uri, s, "opening log " + name);
  out->info = info;
  uint64_t held = (info.tail - info.start + 7) & ~uint64_t{7};
  uint64_t area = std::max<uint64_t>({area_size, held, log::kRecordHeaderSize});
  std::vector<std::unique_ptr<remote_log::Connection>> conns;
  conns.push_back(std::move(conn));
  // More connections for parallel reads; the source works with fewer.
  for (size_t i = 1; i < RemoteLogSource::kConnections && info.tail - info.start > (4u << 20);
       i++) {
    std::unique_ptr<remote_log::Connection> extra;
    remote_log::LogInfo ignored;
    if (!remote_log::TransportRegistry::Global().Connect(uri, opts, &extra).ok()) break;
    if (!extra->Open(name, info.epoch, /*create=*/false, 0, &ignored).ok()) break;
    conns.push_back(std::move(extra));
  }
  *src = std::make_unique<RemoteLogSource>(std::move(conns), info.start, info.tail, area,
                                           "remote log " + name + " on " + uri);
  return Status::Ok();
}

}  // namespace rvmr::tools
