#include "preload/path_log.h"

#include <memory>

#include "preload/record_stream.h"

namespace rvmr::preload {

namespace {
constexpr char kSuffix[] = ".path";
constexpr size_t kSuffixLen = sizeof(kSuffix) - 1;
}  // namespace

std::string PathLogName(const std::string& log_name) {
  return log_name + kSuffix;
}

bool IsPathLogName(std::string_view name) {
  return name.size() > kSuffixLen && name.substr(name.size() - kSuffixLen) == kSuffix;
}

Status WritePathLog(remote_log::Connection* conn, const std::string& key, SealMode mode,
                    const std::string& log_name, const std::string& path) {
  const std::string pname = PathLogName(log_name);
  std::unique_ptr<RecordCodec> codec;
  Status s = RecordCodec::Create(key, pname, mode, &codec);
  if (!s.ok()) return s;
  std::string rec(kRecordHeaderSize, '\0');
  rec += path;
  RecordHeader h;
  h.type = RecordType::kOpen;
  h.length = static_cast<uint32_t>(path.size());
  s = codec->Encode(h, rec.data());
  if (!s.ok()) return s;
  remote_log::LogInfo info;
  s = conn->Open(pname, 1, /*create=*/true, 0, &info);
  if (!s.ok()) return s;
  if (info.tail == 0) {
    struct iovec iov = {rec.data(), rec.size()};
    uint64_t acked = 0;
    s = conn->StartAppend(0, &iov, 1);
    if (s.ok()) s = conn->WaitAcked(rec.size(), &acked);
    if (!s.ok()) return s;
  }
  return conn->CloseLog();
}

Status ReadPathLog(remote_log::Connection* conn, const std::string& key, SealMode mode,
                   const std::string& log_name, uint64_t epoch, std::string* path) {
  const std::string pname = PathLogName(log_name);
  std::unique_ptr<RecordCodec> codec;
  Status s = RecordCodec::Create(key, pname, key.empty() ? SealMode::kPlain : mode, &codec);
  if (!s.ok()) return s;
  remote_log::LogInfo info;
  s = conn->Open(pname, epoch, /*create=*/false, 0, &info);
  if (!s.ok()) return s;
  RecordStream rs(conn, codec.get(), info.start, info.tail);
  RecordHeader h;
  std::string_view payload;
  s = rs.Next(&h, &payload);
  if (s.code() == Status::Code::kNotFound) s = Status::Corruption("the path log is empty");
  if (s.ok() && h.type != RecordType::kOpen)
    s = Status::Corruption("the path log holds a " + std::string(RecordTypeName(h.type)) +
                           " record");
  if (s.ok()) path->assign(payload);
  Status c = conn->CloseLog();
  return s.ok() ? c : s;
}

}  // namespace rvmr::preload
