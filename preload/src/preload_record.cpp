#include "preload/preload_record.h"

#include <cstdio>
#include <cstring>

#include "common/crc32c.h"

namespace rvmr::preload {

namespace {

void Put32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void Put64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t Get32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
uint64_t Get64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

uint32_t RecordCrc(const char* header, std::string_view payload) {
  uint32_t c = crc32c::Value(header, 28);
  return crc32c::Extend(c, payload.data(), payload.size());
}

}  // namespace

void EncodeRecordHeader(const RecordHeader& h, std::string_view payload, char* out) {
  std::memset(out, 0, kRecordHeaderSize);
  Put32(out, kRecordMagic);
  out[4] = static_cast<char>(kRecordVersion);
  out[5] = static_cast<char>(h.type);
  Put64(out + 8, h.stream_offset);
  Put64(out + 16, h.arg);
  Put32(out + 24, h.length);
  Put32(out + 28, RecordCrc(out, payload));
}

Status DecodeRecord(const char* buf, size_t n, uint64_t expect_offset, RecordHeader* h,
                    std::string_view* payload, size_t* need) {
  *need = 0;
  if (n < kRecordHeaderSize) return Status::InvalidArgument("short record header");
  if (Get32(buf) != kRecordMagic) return Status::Corruption("bad record magic");
  if (static_cast<uint8_t>(buf[4]) != kRecordVersion)
    return Status::Corruption("unknown record version");
  uint8_t type = static_cast<uint8_t>(buf[5]);
  if (type < 1 || type > 3 || buf[6] != 0 || buf[7] != 0)
    return Status::Corruption("bad record type");
  h->type = static_cast<RecordType>(type);
  h->stream_offset = Get64(buf + 8);
  h->arg = Get64(buf + 16);
  h->length = Get32(buf + 24);
  if (h->stream_offset != expect_offset) return Status::Corruption("record at the wrong offset");
  if (h->length > kMaxRecordPayload) return Status::Corruption("record payload too long");
  if (h->type != RecordType::kData && h->type != RecordType::kOpen && h->length != 0)
    return Status::Corruption("SIZE record with a payload");
  *need = kRecordHeaderSize + h->length;
  if (n < *need) return Status::InvalidArgument("short record payload");
  std::string_view p(buf + kRecordHeaderSize, h->length);
  if (Get32(buf + 28) != RecordCrc(buf, p)) return Status::Corruption("record checksum mismatch");
  *payload = p;
  return Status::Ok();
}

std::string RemoteLogNameForPath(std::string_view path) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : path) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "rvmpl-%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace rvmr::preload
