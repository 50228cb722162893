#include "shim/log_record_writer.h"

#include "common/crc32c.h"

namespace rvmr::log {

size_t LogRecordWriter::Begin(std::string* buf) {
  size_t start = buf->size();
  buf->append(kRecordHeaderSize, '\0');
  return start;
}

uint64_t LogRecordWriter::Finish(std::string* buf, size_t start, RecordType type,
                                 uint32_t flags) {
  uint64_t payload_len = buf->size() - start - kRecordHeaderSize;
  uint64_t total = RecordSize(payload_len);
  RecordHeader h;
  h.type = static_cast<uint16_t>(type);
  h.flags = flags;
  h.payload_len = static_cast<uint32_t>(payload_len);
  h.offset = next_offset_;
  h.lsn = next_lsn_;
  h.epoch = epoch_;
  char* hdr = buf->data() + start;
  EncodeRecordHeader(h, hdr);
  PutU32(hdr + 4, RecordCrc(hdr, hdr + kRecordHeaderSize, payload_len));
  buf->resize(start + total, '\0');
  uint64_t at = next_offset_;
  next_offset_ += total;
  next_lsn_++;
  return at;
}

uint64_t LogRecordWriter::Add(std::string* buf, RecordType type, uint32_t flags,
                              std::string_view payload) {
  size_t start = Begin(buf);
  buf->append(payload);
  return Finish(buf, start, type, flags);
}

}  // namespace rvmr::log
