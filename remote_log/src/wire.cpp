#include "remote_log/wire.h"

#include <cstring>
#include <string>

#include "common/crc32c.h"

namespace rvmr::remote_log::wire {

namespace {

Status Bad(std::string_view what) {
  return Status::Corruption(std::string("wire: ") + std::string(what));
}

void Append(std::vector<uint8_t>* out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out->insert(out->end(), b, b + n);
}

void AppendU16(std::vector<uint8_t>* out, uint16_t v) {
  uint8_t b[2];
  Put16(b, v);
  Append(out, b, 2);
}
void AppendU32(std::vector<uint8_t>* out, uint32_t v) {
  uint8_t b[4];
  Put32(b, v);
  Append(out, b, 4);
}
void AppendU64(std::vector<uint8_t>* out, uint64_t v) {
  uint8_t b[8];
  Put64(b, v);
  Append(out, b, 8);
}

bool KnownType(uint8_t t) {
  return t >= uint8_t(Type::kHello) && t <= uint8_t(Type::kClose);
}

}  // namespace

const char* ErrorName(int32_t code) {
  switch (code) {
    case kOk:
      return "ok";
    case kErrNotOwner:
      return "not the log's owner (another log key created it, or the proof failed)";
    case kErrNotFound:
      return "no such log";
    case kErrNoLog:
      return "no log open";
    case kErrAccess:
      return "authentication required or failed";
    case kErrBusy:
      return "server busy (connection limit reached)";
    case kErrDuplicate:
      return "duplicate append (offset below tail)";
    case kErrInvalid:
      return "invalid argument";
    case kErrNoSpace:
      return "server capacity reached";
    case kErrGap:
      return "gap (append offset above tail)";
    case kErrTrimmed:
      return "range trimmed";
    case kErrProto:
      return "malformed message";
    case kErrChecksum:
      return "checksum mismatch";
    case kErrTooBig:
      return "message too large";
    case kErrVersion:
      return "unsupported protocol version";
    case kErrFenced:
      return "fenced by a newer epoch";
    default:
      return "unknown error";
  }
}

Status ErrorToStatus(int32_t code, std::string_view what) {
  std::string msg = std::string(what) + ": " + ErrorName(code) + " (" + std::to_string(code) + ")";
  switch (code) {
    case kOk:
      return Status::Ok();
    case kErrNotFound:
      return Status::NotFound(msg);
    case kErrNoLog:
      return Status::NotFound(msg);
    case kErrAccess:
    case kErrNotOwner:
      return Status::IoError(msg, -code);
    case kErrDuplicate:
    case kErrGap:
    case kErrInvalid:
    case kErrTrimmed:
      return Status::InvalidArgument(msg);
    case kErrNoSpace:
      return Status::NoSpace(msg);
    case kErrBusy:
      return Status::Unavailable(msg);
    case kErrFenced:
      return Status::Fenced(msg);
    case kErrVersion:
      return Status::NotSupported(msg);
    default:
      return Status::Corruption(msg);
  }
}

void EncodeHeader(const Header& h, uint8_t* out) {
  Put32(out + 0, kMagic);
  out[4] = h.version;
  out[5] = h.type;
  Put16(out + 6, h.flags);
  Put32(out + 8, h.payload_len);
  Put32(out + 12, uint32_t(h.status));
  Put64(out + 16, h.request_id);
  Put32(out + 24, h.payload_crc);
  Put32(out + 28, crc32c::Value(out, 28));
}

Status DecodeHeader(const uint8_t* p, Header* h, int32_t* wire_error) {
  int32_t dummy;
  if (wire_error == nullptr) wire_error = &dummy;
  *wire_error = kErrProto;
  if (Get32(p) != kMagic) return Bad("bad magic");
  if (Get32(p + 28) != crc32c::Value(p, 28)) {
    *wire_error = kErrChecksum;
    return Bad("header checksum mismatch");
  }
  h->version = p[4];
  h->type = p[5];
  h->flags = Get16(p + 6);
  h->payload_len = Get32(p + 8);
  h->status = int32_t(Get32(p + 12));
  h->request_id = Get64(p + 16);
  h->payload_crc = Get32(p + 24);
  if (h->version != kVersion) {
    *wire_error = kErrVersion;
    return Bad("unsupported version " + std::to_string(h->version));
  }
  if ((h->flags & ~kFlagMac) != 0) return Bad("reserved flags set");
  if ((h->flags & kFlagMac) != 0 && (h->type & kReplyBit) != 0) return Bad("MAC flag on a reply");
  if (!KnownType(h->type & ~kReplyBit)) return Bad("unknown type " + std::to_string(h->type));
  if (h->payload_len > kMaxPayload) {
    *wire_error = kErrTooBig;
    return Bad("payload length " + std::to_string(h->payload_len) + " over the maximum");
  }
  *wire_error = kOk;
  return Status::Ok();
}

void EncodeHelloRequest(const HelloRequest& m, std::vector<uint8_t>* out) {
  AppendU16(out, m.min_version);
  AppendU16(out, m.max_version);
  AppendU32(out, 0);
}
Status DecodeHelloRequest(const uint8_t* p, size_t n, HelloRequest* m) {
  if (n != kHelloRequestSize) return Bad("HELLO length");
  m->min_version = Get16(p);
  m->max_version = Get16(p + 2);
  if (Get32(p + 4) != 0) return Bad("HELLO reserved");
  if (m->min_version == 0 || m->min_version > m->max_version) return Bad("HELLO versions");
  return Status::Ok();
}

void EncodeHelloReply(const HelloReply& m, std::vector<uint8_t>* out) {
  AppendU16(out, m.version);
  AppendU16(out, m.auth_required ? 1 : 0);
  AppendU32(out, 0);
  Append(out, m.nonce, kNonceSize);
}
Status DecodeHelloReply(const uint8_t* p, size_t n, HelloReply* m) {
  if (n != kHelloReplySize) return Bad("HELLO reply length");
  m->version = Get16(p);
  uint16_t flags = Get16(p + 2);
  if ((flags & ~1u) != 0 || Get32(p + 4) != 0) return Bad("HELLO reply reserved");
  m->auth_required = flags & 1;
  std::memcpy(m->nonce, p + 8, kNonceSize);
  return Status::Ok();
}

void EncodeAuthRequest(const AuthRequest& m, std::vector<uint8_t>* out) {
  Append(out, m.client_nonce, kNonceSize);
  Append(out, m.mac, kMacSize);
}
Status DecodeAuthRequest(const uint8_t* p, size_t n, AuthRequest* m) {
  if (n != kAuthRequestSize) return Bad("AUTH length");
  std::memcpy(m->client_nonce, p, kNonceSize);
  std::memcpy(m->mac, p + kNonceSize, kMacSize);
  return Status::Ok();
}
void EncodeAuthReply(const AuthReply& m, std::vector<uint8_t>* out) {
  Append(out, m.mac, kMacSize);
}
Status DecodeAuthReply(const uint8_t* p, size_t n, AuthReply* m) {
  if (n != kAuthReplySize) return Bad("AUTH reply length");
  std::memcpy(m->mac, p, kMacSize);
  return Status::Ok();
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLen) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void EncodeOpenRequest(const OpenRequest& m, std::vector<uint8_t>* out) {
  AppendU64(out, m.epoch);
  AppendU64(out, m.create_offset);
  AppendU32(out, (m.create ? 1u : 0u) | (m.owner.present ? 2u : 0u));
  AppendU32(out, uint32_t(m.name.size()));
  Append(out, m.name.data(), m.name.size());
  if (m.owner.present) {
    Append(out, m.owner.key, kOwnerKeySize);
    Append(out, m.owner.sig, kOwnerSigSize);
  }
}
Status DecodeOpenRequest(const uint8_t* p, size_t n, OpenRequest* m) {
  if (n < 24) return Bad("OPEN length");
  m->epoch = Get64(p);
  m->create_offset = Get64(p + 8);
  uint32_t flags = Get32(p + 16);
  uint32_t len = Get32(p + 20);
  if ((flags & ~3u) != 0) return Bad("OPEN flags");
  m->owner.present = (flags & 2) != 0;
  const size_t proof = m->owner.present ? kOwnerProofSize : 0;
  if (n - 24 < proof || len != n - 24 - proof) return Bad("OPEN name length");
  m->create = flags & 1;
  m->name.assign(reinterpret_cast<const char*>(p + 24), len);
  if (!ValidName(m->name)) return Bad("OPEN name");
  if (m->owner.present) {
    std::memcpy(m->owner.key, p + 24 + len, kOwnerKeySize);
    std::memcpy(m->owner.sig, p + 24 + len + kOwnerKeySize, kOwnerSigSize);
  }
  return Status::Ok();
}

void EncodeListRequest(const OwnerProof& m, std::vector<uint8_t>* out) {
  if (!m.present) return;
  Append(out, m.key, kOwnerKeySize);
  Append(out, m.sig, kOwnerSigSize);
}
Status DecodeListRequest(const uint8_t* p, size_t n, OwnerProof* m) {
  m->present = n != 0;
  if (n == 0) return Status::Ok();
  if (n != kOwnerProofSize) return Bad("LIST length");
  std::memcpy(m->key, p, kOwnerKeySize);
  std::memcpy(m->sig, p + kOwnerKeySize, kOwnerSigSize);
  return Status::Ok();
}

Status StripMac(const Header& h, size_t* n) {
  if ((h.flags & kFlagMac) == 0) return Status::Ok();
  if (*n < kMacSize) return Bad("payload shorter than its MAC");
  *n -= kMacSize;
  return Status::Ok();
}

void EncodeLogInfo(const LogInfo& m, std::vector<uint8_t>* out) {
  AppendU64(out, m.epoch);
  AppendU64(out, m.start);
  AppendU64(out, m.tail);
  AppendU64(out, m.durable);
}
static bool InfoConsistent(const LogInfo& m) {
  return m.start <= m.tail && m.durable <= m.tail && m.start <= m.durable;
}
Status DecodeLogInfo(const uint8_t* p, size_t n, LogInfo* m) {
  if (n != kLogInfoSize) return Bad("log info length");
  m->epoch = Get64(p);
  m->start = Get64(p + 8);
  m->tail = Get64(p + 16);
  m->durable = Get64(p + 24);
  if (!InfoConsistent(*m)) return Bad("log info offsets inconsistent");
  return Status::Ok();
}

void EncodeU64(uint64_t v, std::vector<uint8_t>* out) {
  AppendU64(out, v);
}
Status DecodeU64(const uint8_t* p, size_t n, uint64_t* v) {
  if (n != 8) return Bad("u64 payload length");
  *v = Get64(p);
  return Status::Ok();
}

void EncodeReadRequest(const ReadRequest& m, std::vector<uint8_t>* out) {
  AppendU64(out, m.offset);
  AppendU32(out, m.len);
  AppendU32(out, 0);
}
Status DecodeReadRequest(const uint8_t* p, size_t n, ReadRequest* m) {
  if (n != kReadRequestSize) return Bad("READ length");
  m->offset = Get64(p);
  m->len = Get32(p + 8);
  if (Get32(p + 12) != 0) return Bad("READ reserved");
  if (m->len > kMaxReadData) return Bad("READ len over the maximum");
  return Status::Ok();
}

Status DecodeAppendRequest(const uint8_t* p, size_t n, uint64_t* offset, const uint8_t** data,
                           size_t* data_len) {
  if (n < kAppendFixedSize) return Bad("APPEND length");
  *offset = Get64(p);
  *data = p + kAppendFixedSize;
  *data_len = n - kAppendFixedSize;
  if (*offset + *data_len < *offset) return Bad("APPEND offset overflow");
  return Status::Ok();
}

void EncodeAppendReply(const AppendReply& m, std::vector<uint8_t>* out) {
  AppendU64(out, m.offset);
  AppendU64(out, m.tail);
}
Status DecodeAppendReply(const uint8_t* p, size_t n, AppendReply* m) {
  if (n != kAppendReplySize) return Bad("APPEND reply length");
  m->offset = Get64(p);
  m->tail = Get64(p + 8);
  return Status::Ok();
}

Status DecodeReadReply(const uint8_t* p, size_t n, uint64_t* offset, const uint8_t** data,
                       size_t* data_len) {
  if (n < 8) return Bad("READ reply length");
  *offset = Get64(p);
  *data = p + 8;
  *data_len = n - 8;
  return Status::Ok();
}

void EncodeList(const std::vector<LogEntry>& logs, std::vector<uint8_t>* out) {
  AppendU32(out, uint32_t(logs.size()));
  for (const auto& e : logs) {
    AppendU32(out, uint32_t(e.name.size()));
    Append(out, e.name.data(), e.name.size());
    EncodeLogInfo(e.info, out);
  }
}
Status DecodeList(const uint8_t* p, size_t n, std::vector<LogEntry>* logs) {
  logs->clear();
  if (n < 4) return Bad("LIST reply length");
  uint32_t count = Get32(p);
  size_t pos = 4;
  // Each entry takes at least 4 + 1 + 32 bytes: bound count before reserving.
  if (count > (n - 4) / (4 + 1 + kLogInfoSize)) return Bad("LIST count");
  logs->reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    if (n - pos < 4) return Bad("LIST truncated");
    uint32_t len = Get32(p + pos);
    pos += 4;
    if (len > kMaxNameLen || n - pos < len + kLogInfoSize) return Bad("LIST entry truncated");
    LogEntry e;
    e.name.assign(reinterpret_cast<const char*>(p + pos), len);
    if (!ValidName(e.name)) return Bad("LIST entry name");
    pos += len;
    Status s = DecodeLogInfo(p + pos, kLogInfoSize, &e.info);
    if (!s.ok()) return s;
    pos += kLogInfoSize;
    logs->push_back(std::move(e));
  }
  if (pos != n) return Bad("LIST trailing bytes");
  return Status::Ok();
}

void BuildMessage(uint8_t type, int32_t status, uint64_t request_id,
                  const std::vector<uint8_t>& payload, std::vector<uint8_t>* out) {
  Header h;
  h.type = type;
  h.status = status;
  h.request_id = request_id;
  h.payload_len = uint32_t(payload.size());
  h.payload_crc = crc32c::Value(payload.data(), payload.size());
  size_t base = out->size();
  out->resize(base + kHeaderSize);
  EncodeHeader(h, out->data() + base);
  out->insert(out->end(), payload.begin(), payload.end());
}

Status ParseMessage(const uint8_t* p, size_t n, Header* h) {
  if (n < kHeaderSize) return Bad("truncated header");
  Status s = DecodeHeader(p, h);
  if (!s.ok()) return s;
  if (n - kHeaderSize != h->payload_len) return Bad("payload length mismatch");
  const uint8_t* pl = p + kHeaderSize;
  size_t len = h->payload_len;
  if (crc32c::Value(pl, len) != h->payload_crc) return Bad("payload checksum mismatch");
  s = StripMac(*h, &len);
  if (!s.ok()) return s;
  bool reply = h->type & kReplyBit;
  if (!reply && h->status != 0) return Bad("status set in a request");
  // An error reply carries no payload, or the payload of a success reply for
  // the types that report state with a refusal (APPEND).
  if (reply && h->status != 0 && len == 0) return Status::Ok();
  Type t = Type(h->type & ~kReplyBit);
  switch (t) {
    case Type::kHello: {
      if (reply) {
        HelloReply m;
        return DecodeHelloReply(pl, len, &m);
      }
      HelloRequest m;
      return DecodeHelloRequest(pl, len, &m);
    }
    case Type::kAuth: {
      if (reply) {
        AuthReply m;
        return DecodeAuthReply(pl, len, &m);
      }
      AuthRequest m;
      return DecodeAuthRequest(pl, len, &m);
    }
    case Type::kOpen: {
      if (reply) {
        LogInfo m;
        return DecodeLogInfo(pl, len, &m);
      }
      OpenRequest m;
      return DecodeOpenRequest(pl, len, &m);
    }
    case Type::kAppend: {
      if (reply) {
        AppendReply m;
        return DecodeAppendReply(pl, len, &m);
      }
      uint64_t off;
      const uint8_t* d;
      size_t dl;
      return DecodeAppendRequest(pl, len, &off, &d, &dl);
    }
    case Type::kRead: {
      if (reply) {
        uint64_t off;
        const uint8_t* d;
        size_t dl;
        return DecodeReadReply(pl, len, &off, &d, &dl);
      }
      ReadRequest m;
      return DecodeReadRequest(pl, len, &m);
    }
    case Type::kTrim: {
      if (reply) {
        LogInfo m;
        return DecodeLogInfo(pl, len, &m);
      }
      uint64_t v;
      return DecodeU64(pl, len, &v);
    }
    case Type::kStat: {
      if (reply) {
        LogInfo m;
        return DecodeLogInfo(pl, len, &m);
      }
      return len == 0 ? Status::Ok() : Bad("STAT length");
    }
    case Type::kList: {
      if (reply) {
        std::vector<LogEntry> logs;
        return DecodeList(pl, len, &logs);
      }
      OwnerProof m;
      return DecodeListRequest(pl, len, &m);
    }
    case Type::kClose:
      return len == 0 ? Status::Ok() : Bad("CLOSE length");
  }
  return Bad("unknown type");
}

}  // namespace rvmr::remote_log::wire
