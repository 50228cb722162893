#include "preload/preload_record.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstring>

#include "common/crc32c.h"
#include "shim/log_key.h"

namespace rvmr::preload {

namespace {

constexpr char kSealLabel[] = "rvmr-preload-seal-v2";
constexpr size_t kSessionAt = 32, kTagAt = 48, kCrcAt = 28;

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

uint32_t RecordCrc(const char* rec, size_t payload_len) {
  uint32_t c = crc32c::Value(rec, kCrcAt);
  c = crc32c::Extend(c, rec + kCrcAt + 4, kRecordHeaderSize - kCrcAt - 4);
  return crc32c::Extend(c, rec + kRecordHeaderSize, payload_len);
}

void Nonce(uint64_t stream_offset, uint8_t* iv) {
  std::memset(iv, 0, log::kAeadIvSize);
  Put64(reinterpret_cast<char*>(iv), stream_offset);
}

// The additional data of the record at `rec` (see preload_record.h):
// aad[0..kAadParts); `len` is 4 bytes of storage for the name's length.
constexpr size_t kAadParts = 6;
void SealAad(const std::string& name, const char* rec, std::string_view auth_payload, char* len,
             std::string_view* aad) {
  Put32(len, static_cast<uint32_t>(name.size()));
  aad[0] = kSealLabel;
  aad[1] = std::string_view(len, 4);
  aad[2] = name;
  aad[3] = std::string_view(rec, kCrcAt);
  aad[4] = std::string_view(rec + kSessionAt, kSessionIdSize);
  aad[5] = auth_payload;
}

bool ValidMode(uint8_t m) {
  return m == static_cast<uint8_t>(SealMode::kPlain) ||
         m == static_cast<uint8_t>(SealMode::kAuthenticate) ||
         m == static_cast<uint8_t>(SealMode::kEncrypt);
}

}  // namespace

RecordCodec::RecordCodec(const std::string& key, const std::string& log_name, SealMode mode)
    : key_(key), name_(log_name), mode_(mode) {}

RecordCodec::~RecordCodec() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

Status RecordCodec::Create(const std::string& key, const std::string& log_name, SealMode mode,
                           std::unique_ptr<RecordCodec>* out) {
  if (!key.empty() && key.size() != log::kLogKeySize)
    return Status::InvalidArgument("preload key has the wrong size");
  if (key.empty() && mode != SealMode::kPlain)
    return Status::InvalidArgument("sealing the records of " + log_name + " needs the preload key");
  std::unique_ptr<RecordCodec> c(new RecordCodec(key, log_name, mode));
  if (mode != SealMode::kPlain) {
    Status s = c->NewSession();
    if (!s.ok()) return s;
  }
  *out = std::move(c);
  return Status::Ok();
}

Status RecordCodec::NewSession() {
  if (mode_ == SealMode::kPlain) return Status::Ok();
  std::string id(kSessionIdSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1)
    return Status::Failed("RAND_bytes failed while starting a sealing session");
  std::string k = log::DeriveLogSubkey(key_, kSealLabel + id);
  Status s = log::Aead::Create(log::Aead::Algorithm::kAes256Gcm, k, &writer_);
  OPENSSL_cleanse(k.data(), k.size());
  if (s.ok()) session_ = std::move(id);
  return s;
}

Status RecordCodec::CipherFor(std::string_view id, log::Aead** out) {
  std::string sid(id);
  auto it = readers_.find(sid);
  if (it == readers_.end()) {
    if (readers_.size() >= 16) readers_.clear();
    std::unique_ptr<log::Aead> g;
    std::string k = log::DeriveLogSubkey(key_, kSealLabel + sid);
    Status s = log::Aead::Create(log::Aead::Algorithm::kAes256Gcm, k, &g);
    OPENSSL_cleanse(k.data(), k.size());
    if (!s.ok()) return s;
    it = readers_.emplace(sid, std::move(g)).first;
  }
  *out = it->second.get();
  return Status::Ok();
}

Status RecordCodec::Encode(const RecordHeader& h, char* rec) {
  std::memset(rec, 0, kRecordHeaderSize);
  Put32(rec, kRecordMagic);
  rec[4] = static_cast<char>(kRecordVersion);
  rec[5] = static_cast<char>(h.type);
  rec[6] = static_cast<char>(mode_);
  Put64(rec + 8, h.stream_offset);
  Put64(rec + 16, h.arg);
  Put32(rec + 24, h.length);
  if (mode_ != SealMode::kPlain) {
    std::memcpy(rec + kSessionAt, session_.data(), kSessionIdSize);
    char* payload = rec + kRecordHeaderSize;
    const bool enc = mode_ == SealMode::kEncrypt;
    char len[4];
    std::string_view aad[kAadParts];
    SealAad(name_, rec, enc ? std::string_view() : std::string_view(payload, h.length), len, aad);
    uint8_t iv[log::kAeadIvSize];
    Nonce(h.stream_offset, iv);
    Status s = writer_->Seal(iv, aad, kAadParts, payload, payload, enc ? h.length : 0,
                             reinterpret_cast<uint8_t*>(rec + kTagAt));
    if (!s.ok()) return s;
  }
  Put32(rec + kCrcAt, RecordCrc(rec, h.length));
  return Status::Ok();
}

Status RecordCodec::Decode(char* buf, size_t n, uint64_t expect_offset, RecordHeader* h,
                           std::string_view* payload, size_t* need) {
  *need = 0;
  auto bad = [expect_offset](const std::string& why) {
    return Status::Corruption("record at stream offset " + std::to_string(expect_offset) + ": " +
                              why);
  };
  if (n < kRecordHeaderSize) return Status::InvalidArgument("short record header");
  if (Get32(buf) != kRecordMagic) return bad("bad record magic");
  const uint8_t version = static_cast<uint8_t>(buf[4]);
  if (version != kRecordVersion)
    return bad("record version " + std::to_string(version) + " (this reader knows version " +
               std::to_string(kRecordVersion) + ")");
  const uint8_t type = static_cast<uint8_t>(buf[5]), mode = static_cast<uint8_t>(buf[6]);
  if (type < 1 || type > 4 || buf[7] != 0) return bad("bad record type");
  if (!ValidMode(mode)) return bad("bad seal mode");
  h->type = static_cast<RecordType>(type);
  h->mode = static_cast<SealMode>(mode);
  h->stream_offset = Get64(buf + 8);
  h->arg = Get64(buf + 16);
  h->length = Get32(buf + 24);
  if (h->stream_offset != expect_offset) return bad("record claims another stream offset");
  if (h->length > kMaxRecordPayload) return bad("record payload too long");
  if (h->type == RecordType::kSize && h->length != 0) return bad("SIZE record with a payload");
  *need = kRecordHeaderSize + h->length;
  if (n < *need) return Status::InvalidArgument("short record payload");
  if (Get32(buf + kCrcAt) != RecordCrc(buf, h->length)) return bad("record checksum mismatch");
  char* p = buf + kRecordHeaderSize;
  if (h->mode == SealMode::kPlain) {
    if (mode_ != SealMode::kPlain)
      return bad("unsealed record where sealed records are required (protect_records)");
  } else {
    if (key_.empty()) return bad("sealed record, and no preload key to verify it");
    log::Aead* g = nullptr;
    Status s = CipherFor(std::string_view(buf + kSessionAt, kSessionIdSize), &g);
    if (!s.ok()) return s;
    const bool enc = h->mode == SealMode::kEncrypt;
    char len[4];
    std::string_view aad[kAadParts];
    SealAad(name_, buf, enc ? std::string_view() : std::string_view(p, h->length), len, aad);
    uint8_t iv[log::kAeadIvSize];
    Nonce(h->stream_offset, iv);
    s = g->Open(iv, aad, kAadParts, p, p, enc ? h->length : 0,
                reinterpret_cast<const uint8_t*>(buf + kTagAt));
    if (s.code() == Status::Code::kCorruption)
      return bad("fails verification (altered, moved, or sealed under another key)");
    if (!s.ok()) return s;
  }
  *payload = std::string_view(p, h->length);
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

const char* RecordTypeName(RecordType t) {
  switch (t) {
    case RecordType::kData:
      return "DATA";
    case RecordType::kSize:
      return "SIZE";
    case RecordType::kOpen:
      return "OPEN";
    case RecordType::kRefused:
      return "REFUSED";
  }
  return "?";
}

}  // namespace rvmr::preload
