#include "shim/unsealing_log_source.h"

#include <cstring>

#include "shim/log_format.h"

namespace rvmr::log {

Status UnsealingLogSource::Read(uint64_t offset, void* dst, size_t n) {
  if (!rec_.empty() && offset >= rec_base_ && offset - rec_base_ <= rec_.size() &&
      n <= rec_.size() - (offset - rec_base_)) {
    std::memcpy(dst, rec_.data() + (offset - rec_base_), n);
    return Status::Ok();
  }
  rec_.clear();
  char hdr[kRecordHeaderSize];
  if (n > sizeof hdr || offset >= limit_ || limit_ - offset < kRecordHeaderSize)
    return raw_->Read(offset, dst, n);
  Status s = raw_->Read(offset, hdr, sizeof hdr);
  if (!s.ok()) return s;
  const uint32_t magic = GetU32(hdr);
  const bool sealed = IsSealedMagic(hdr);
  if (magic != kRecordMagic && !sealed) {  // not a record: the reader says where the log ends
    std::memcpy(dst, hdr, n);
    return Status::Ok();
  }
  const uint64_t size = RecordSize(GetU32(hdr + 16));
  if (size > area_size() || size > limit_ - offset) {
    // The reader stops here (length out of range, or truncated) on the header
    // alone; give it a plain-looking header that carries nothing else.
    PutU32(hdr, kRecordMagic);
    PutU64(hdr + 24, offset);
    std::memcpy(dst, hdr, n);
    return Status::Ok();
  }
  if (!sealed && !accept_plain_)
    return Status::Corruption("the record at log offset " + std::to_string(offset) +
                              " is not sealed, but this log's records must be (protect_records)");
  if (sealed && sealer_ == nullptr)
    return Status::Corruption("the record at log offset " + std::to_string(offset) +
                              " is sealed and no log key was given to verify it");
  std::string rec(static_cast<size_t>(size), '\0');
  s = raw_->Read(offset, rec.data(), rec.size());
  if (!s.ok()) return s;
  if (sealed) {
    s = sealer_->Unseal(offset, rec.data(), rec.size());
    if (!s.ok()) return s;
  }
  rec_ = std::move(rec);
  rec_base_ = offset;
  std::memcpy(dst, rec_.data(), n);
  return Status::Ok();
}

}  // namespace rvmr::log

namespace rvmr::log {

size_t UnsealRange(RecordSealer* sealer, bool accept_plain, uint64_t base, std::string* data,
                   Status* why) {
  *why = Status::Ok();
  size_t pos = 0;
  while (data->size() - pos >= kRecordHeaderSize) {
    char* p = data->data() + pos;
    const uint64_t off = base + pos;
    const bool sealed = IsSealedMagic(p);
    if (!sealed && GetU32(p) != kRecordMagic) break;
    const uint64_t size = RecordSize(GetU32(p + 16));
    if (size > data->size() - pos) {
      // Cut short: a plain-looking header, so that a reader says so.
      PutU32(p, kRecordMagic);
      PutU64(p + 24, off);
      break;
    }
    if (!sealed) {
      if (!accept_plain) {
        *why = Status::Corruption("the record at log offset " + std::to_string(off) +
                                  " is not sealed, but this log's records must be "
                                  "(protect_records)");
        break;
      }
    } else if (sealer == nullptr) {
      *why = Status::Corruption("the record at log offset " + std::to_string(off) +
                                " is sealed and no log key was given to verify it");
      break;
    } else if (Status s = sealer->Unseal(off, p, static_cast<size_t>(size)); !s.ok()) {
      *why = s;
      break;
    }
    pos += static_cast<size_t>(size);
  }
  return pos;
}

}  // namespace rvmr::log
