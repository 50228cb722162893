#include "shim/record_sealer.h"

#include <openssl/crypto.h>

#include <cstring>

#include "shim/log_format.h"
#include "shim/log_key.h"

namespace rvmr::log {

namespace {

// version u16, type u16, flags u32, payload_len u32, offset u64, lsn u64, epoch u64.
constexpr size_t kAadFields = 2 + 2 + 4 + 4 + 8 + 8 + 8;

std::string AadPrefix(const char* prefix, char mode, const std::string& name) {
  std::string s = prefix;
  s.push_back(mode);
  char len[4];
  PutU32(len, static_cast<uint32_t>(name.size()));
  s.append(len, 4);
  s += name;
  return s;
}

Status CryptoError(const Aead& aead, const char* what, uint64_t offset) {
  return Status::Failed(std::string(aead.name()) + " " + what +
                        " failed for the record at offset " + std::to_string(offset));
}

}  // namespace

bool IsSealedMagic(const char* p) {
  uint32_t m = GetU32(p);
  return m == kSealedAuthMagic || m == kSealedEncMagic || m == kSealedAuthMagicV1;
}

RecordSealer::~RecordSealer() = default;

Status RecordSealer::Create(const std::string& log_key, const std::string& log_name, Mode mode,
                            std::unique_ptr<RecordSealer>* out) {
  if (log_key.size() != kLogKeySize) return Status::InvalidArgument("log key has the wrong size");
  std::unique_ptr<RecordSealer> s(new RecordSealer(mode));
  std::string k2 = DeriveLogSubkey(log_key, "rvmr-record-key-v2");
  std::string k1 = DeriveLogSubkey(log_key, "rvmr-record-key-v1");
  Status st = Aead::Create(Aead::Algorithm::kChaCha20Poly1305, k2, &s->chacha_);
  if (st.ok()) st = Aead::Create(Aead::Algorithm::kAes256Gcm, k1, &s->gcm_);
  OPENSSL_cleanse(k2.data(), k2.size());
  OPENSSL_cleanse(k1.data(), k1.size());
  if (!st.ok()) return st;
  s->auth_ = {kSealedAuthMagic, false, s->chacha_.get(), AadPrefix("rvmr-seal-v2", 'A', log_name)};
  s->enc_ = {kSealedEncMagic, true, s->gcm_.get(), AadPrefix("rvmr-seal-v1", 'E', log_name)};
  s->auth_v1_ = {kSealedAuthMagicV1, false, s->gcm_.get(),
                 AadPrefix("rvmr-seal-v1", 'A', log_name)};
  *out = std::move(s);
  return Status::Ok();
}

const RecordSealer::Kind* RecordSealer::KindOf(uint32_t m) const {
  for (const Kind* k : {&auth_, &enc_, &auth_v1_})
    if (k->magic == m) return k;
  return nullptr;
}

Status RecordSealer::Prepare(uint64_t offset, const char* hdr, uint8_t* iv, char* f) {
  const uint64_t epoch = GetU64(hdr + 40);
  if (epoch > 0xFFFFFFFFu)
    return Status::InvalidArgument("writer epoch " + std::to_string(epoch) +
                                   " is beyond 2^32: records can no longer be sealed");
  PutU64(reinterpret_cast<char*>(iv), offset);
  PutU32(reinterpret_cast<char*>(iv) + 8, static_cast<uint32_t>(epoch));
  std::memcpy(f, hdr + 8, 12);  // version, type, flags, payload_len
  PutU64(f + 12, offset);
  std::memcpy(f + 20, hdr + 32, 16);  // lsn, epoch
  return Status::Ok();
}

Status RecordSealer::SealRecord(uint64_t offset, const char* plain, size_t len, char* hdr_out,
                                char* payload_out) {
  const uint32_t plen = GetU32(plain + 16);
  uint8_t iv[kAeadIvSize];
  char fields[kAadFields];
  Status s = Prepare(offset, plain, iv, fields);
  if (!s.ok()) return s;
  const Kind& kind = mode_ == Mode::kEncrypt ? enc_ : auth_;
  const bool enc = kind.encrypt;
  const char* payload = plain + kRecordHeaderSize;
  const std::string_view aad[] = {kind.aad, std::string_view(fields, kAadFields),
                                  enc ? std::string_view() : std::string_view(payload, plen)};
  unsigned char tag[kSealTagSize];
  if (!kind.aead->Seal(iv, aad, 3, payload, payload_out, enc ? plen : 0, tag).ok())
    return CryptoError(*kind.aead, "sealing", offset);
  if (enc) std::memset(payload_out + plen, 0, len - kRecordHeaderSize - plen);
  if (hdr_out != plain) std::memcpy(hdr_out, plain, kRecordHeaderSize);
  PutU32(hdr_out, kind.magic);
  std::memcpy(hdr_out + 4, tag, 4);
  std::memcpy(hdr_out + 20, tag + 4, 12);
  return Status::Ok();
}

Status RecordSealer::Seal(uint64_t offset, const struct iovec* iov, int iovcnt,
                          std::vector<struct iovec>* out) {
  out->clear();
  // Pass 1: check the records and size the buffer, so it never moves while
  // iovecs point into it.
  size_t need = 0;
  uint64_t off = offset;
  for (int i = 0; i < iovcnt; i++) {
    const char* p = static_cast<const char*>(iov[i].iov_base);
    size_t left = iov[i].iov_len;
    while (left > 0) {
      if (left < kRecordHeaderSize || GetU32(p) != kRecordMagic || GetU64(p + 24) != off)
        return Status::InvalidArgument("sealing: no whole record at log offset " +
                                       std::to_string(off));
      const uint64_t size = RecordSize(GetU32(p + 16));
      if (size > left)
        return Status::InvalidArgument("sealing: the record at log offset " +
                                       std::to_string(off) + " is split across iovecs");
      need += kRecordHeaderSize + (mode_ == Mode::kEncrypt ? size - kRecordHeaderSize : 0);
      p += size;
      left -= size;
      off += size;
    }
  }
  if (scratch_.size() < need) scratch_.resize(need);
  // Pass 2: seal.
  char* w = scratch_.data();
  off = offset;
  for (int i = 0; i < iovcnt; i++) {
    char* p = static_cast<char*>(iov[i].iov_base);
    size_t left = iov[i].iov_len;
    while (left > 0) {
      const size_t size = static_cast<size_t>(RecordSize(GetU32(p + 16)));
      const size_t body = size - kRecordHeaderSize;
      char* hdr = w;
      char* payload = mode_ == Mode::kEncrypt ? w + kRecordHeaderSize : nullptr;
      Status s = SealRecord(off, p, size, hdr, payload);
      if (!s.ok()) return s;
      if (mode_ == Mode::kEncrypt) {
        out->push_back({hdr, size});
        w += size;
      } else {
        out->push_back({hdr, kRecordHeaderSize});
        if (body > 0) out->push_back({p + kRecordHeaderSize, body});
        w += kRecordHeaderSize;
      }
      p += size;
      left -= size;
      off += size;
    }
  }
  return Status::Ok();
}

Status RecordSealer::SealInPlace(uint64_t offset, char* rec, size_t len) {
  if (len < kRecordHeaderSize || GetU32(rec) != kRecordMagic ||
      RecordSize(GetU32(rec + 16)) != len)
    return Status::InvalidArgument("sealing: no whole record at log offset " +
                                   std::to_string(offset));
  return SealRecord(offset, rec, len, rec, rec + kRecordHeaderSize);
}

Status RecordSealer::Unseal(uint64_t offset, char* rec, size_t len) {
  auto fail = [offset](const std::string& why) {
    return Status::Corruption("the sealed record at log offset " + std::to_string(offset) +
                              " fails verification: " + why);
  };
  if (len < kRecordHeaderSize) return fail("not a sealed record");
  const uint32_t plen = GetU32(rec + 16);
  if (RecordSize(plen) != len) return fail("length does not match its header");
  const Kind* kind = KindOf(GetU32(rec));
  if (kind == nullptr) return fail("not a sealed record");
  const bool enc = kind->encrypt;
  uint8_t iv[kAeadIvSize];
  char fields[kAadFields];
  Status s = Prepare(offset, rec, iv, fields);
  if (!s.ok()) return fail(s.message());
  unsigned char tag[kSealTagSize];
  std::memcpy(tag, rec + 4, 4);
  std::memcpy(tag + 4, rec + 20, 12);
  char* payload = rec + kRecordHeaderSize;
  const std::string_view aad[] = {kind->aad, std::string_view(fields, kAadFields),
                                  enc ? std::string_view() : std::string_view(payload, plen)};
  s = kind->aead->Open(iv, aad, 3, payload, payload, enc ? plen : 0, tag);
  if (s.code() == Status::Code::kCorruption)
    return fail("authentication tag mismatch (altered, moved, or sealed under another key)");
  if (!s.ok()) return CryptoError(*kind->aead, "verification", offset);
  std::memset(rec + kRecordHeaderSize + plen, 0, len - kRecordHeaderSize - plen);
  PutU32(rec, kRecordMagic);
  PutU32(rec + 4, 0);
  PutU32(rec + 20, 0);
  PutU64(rec + 24, offset);
  PutU32(rec + 4, RecordCrc(rec, rec + kRecordHeaderSize, plen));
  return Status::Ok();
}

}  // namespace rvmr::log
