#include "shim/log_format.h"

#include "common/crc32c.h"

namespace rvmr::log {

void EncodeRecordHeader(const RecordHeader& h, char* dst) {
  PutU32(dst + 0, h.magic);
  PutU32(dst + 4, h.crc);
  PutU16(dst + 8, h.version);
  PutU16(dst + 10, h.type);
  PutU32(dst + 12, h.flags);
  PutU32(dst + 16, h.payload_len);
  PutU32(dst + 20, 0);
  PutU64(dst + 24, h.offset);
  PutU64(dst + 32, h.lsn);
  PutU64(dst + 40, h.epoch);
}

RecordHeader DecodeRecordHeader(const char* src) {
  RecordHeader h;
  h.magic = GetU32(src + 0);
  h.crc = GetU32(src + 4);
  h.version = GetU16(src + 8);
  h.type = GetU16(src + 10);
  h.flags = GetU32(src + 12);
  h.payload_len = GetU32(src + 16);
  h.offset = GetU64(src + 24);
  h.lsn = GetU64(src + 32);
  h.epoch = GetU64(src + 40);
  return h;
}

uint32_t RecordCrc(const char* hdr, const char* payload, size_t payload_len) {
  char tmp[kRecordHeaderSize];
  std::memcpy(tmp, hdr, kRecordHeaderSize);
  PutU32(tmp + 4, 0);
  uint32_t crc = crc32c::Value(tmp, kRecordHeaderSize);
  return crc32c::Extend(crc, payload, payload_len);
}

}  // namespace rvmr::log
