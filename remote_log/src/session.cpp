#include "session.h"

#include <cstring>

#include "common/crc32c.h"
#include "remote_log/auth.h"

namespace rvmr::remote_log {

void AppendReply(uint8_t type, uint64_t request_id, int32_t status, const uint8_t* p, size_t n,
                 std::vector<uint8_t>* out) {
  wire::Header h;
  h.type = type | wire::kReplyBit;
  h.status = status;
  h.request_id = request_id;
  h.payload_len = uint32_t(n);
  h.payload_crc = crc32c::Extend(0, p, n);
  size_t base = out->size();
  out->resize(base + wire::kHeaderSize + n);
  wire::EncodeHeader(h, out->data() + base);
  if (n) std::memcpy(out->data() + base + wire::kHeaderSize, p, n);
}

Session::~Session() {
  DropLog();
}

void Session::DropLog() {
  if (log_) env_.store->Detach(log_.get());
  log_.reset();
  epoch_ = 0;
}

Session::Verdict Session::Fail(const wire::Header& h, int32_t code, std::vector<uint8_t>* out) {
  env_.counters->rejected.fetch_add(1, std::memory_order_relaxed);
  AppendReply(h.type & ~wire::kReplyBit, h.request_id, code, nullptr, 0, out);
  return Verdict::kClose;
}

Session::Verdict Session::OnHeader(const uint8_t* hdr, wire::Header* h,
                                   std::vector<uint8_t>* out) {
  int32_t werr;
  if (!wire::DecodeHeader(hdr, h, &werr).ok()) {
    // A bad magic or header CRC: nothing in the header can be trusted, not
    // even the request id to address a reply to.
    if (wire::Get32(hdr) != wire::kMagic || wire::Get32(hdr + 28) != crc32c::Value(hdr, 28)) {
      env_.counters->rejected.fetch_add(1, std::memory_order_relaxed);
      return Verdict::kClose;
    }
    return Fail(*h, werr, out);  // version, flags, type or length
  }
  if ((h->type & wire::kReplyBit) || h->status != 0) return Fail(*h, wire::kErrProto, out);
  // Before authentication only one frame, of one size, is valid: anything
  // else is refused from the header, so that no payload of an
  // unauthenticated client is ever buffered.
  if (!hello_done_) {
    if (wire::Type(h->type) != wire::Type::kHello || h->payload_len != wire::kHelloRequestSize)
      return Fail(*h, wire::kErrProto, out);
  } else if (!authed_) {
    if (wire::Type(h->type) != wire::Type::kAuth) return Fail(*h, wire::kErrAccess, out);
    if (h->payload_len != wire::kAuthRequestSize) return Fail(*h, wire::kErrProto, out);
  }
  return Verdict::kContinue;
}

Session::Verdict Session::Handle(const wire::Header& h, const uint8_t* p,
                                 std::vector<uint8_t>* out) {
  const size_t n = h.payload_len;
  const wire::Type t = wire::Type(h.type);
  // An authenticated APPEND is verified while it is copied into the log
  // (one pass over the bytes); everything else here.
  const bool fused = authed_ && t == wire::Type::kAppend;
  if (!fused && crc32c::Extend(0, p, n) != h.payload_crc) return Fail(h, wire::kErrChecksum, out);
  const bool has_mac = (h.flags & wire::kFlagMac) != 0;
  if (!hello_done_) return has_mac ? Fail(h, wire::kErrProto, out) : Hello(h, p, out);
  if (!authed_) return has_mac ? Fail(h, wire::kErrProto, out) : Auth(h, p, out);
  size_t len = n;  // the payload without its control MAC
  if (t == wire::Type::kAppend) {
    if (has_mac) return Fail(h, wire::kErrProto, out);
  } else if (mac_required_) {
    if (!CheckMac(h, p, &len)) return Fail(h, wire::kErrAccess, out);
  } else if (has_mac) {
    return Fail(h, wire::kErrProto, out);  // no session key to check it with
  }
  scratch_.clear();
  int32_t rc = 0;
  switch (t) {
    case wire::Type::kHello:
    case wire::Type::kAuth:
      return Fail(h, wire::kErrProto, out);
    case wire::Type::kOpen:
      return Open(h, p, len, out);
    case wire::Type::kAppend:
      return Append(h, p, out);
    case wire::Type::kRead:
      return Read(h, p, len, out);
    case wire::Type::kTrim: {
      uint64_t durable;
      if (!wire::DecodeU64(p, len, &durable).ok()) return Fail(h, wire::kErrProto, out);
      if (!log_) {
        rc = wire::kErrNoLog;
        break;
      }
      LogInfo info;
      rc = env_.store->Trim(log_.get(), epoch_, durable, &info);
      if (rc == 0) {
        env_.counters->trims.fetch_add(1, std::memory_order_relaxed);
        wire::EncodeLogInfo(info, &scratch_);
      }
      break;
    }
    case wire::Type::kStat: {
      if (len != 0) return Fail(h, wire::kErrProto, out);
      if (!log_) {
        rc = wire::kErrNoLog;
        break;
      }
      LogInfo info;
      env_.store->Stat(log_.get(), &info);
      wire::EncodeLogInfo(info, &scratch_);
      break;
    }
    case wire::Type::kList:
      return List(h, p, len, out);
    case wire::Type::kClose:
      if (len != 0) return Fail(h, wire::kErrProto, out);
      DropLog();
      break;
  }
  AppendReply(h.type, h.request_id, rc, scratch_.data(), scratch_.size(), out);
  return Verdict::kContinue;
}

Session::Verdict Session::Hello(const wire::Header& h, const uint8_t* p,
                                std::vector<uint8_t>* out) {
  wire::HelloRequest req;
  if (wire::Type(h.type) != wire::Type::kHello ||
      !wire::DecodeHelloRequest(p, h.payload_len, &req).ok())
    return Fail(h, wire::kErrProto, out);
  if (req.min_version > wire::kVersion || req.max_version < wire::kVersion)
    return Fail(h, wire::kErrVersion, out);
  const bool need_auth = !env_.secret.empty();
  wire::HelloReply rep;
  rep.auth_required = need_auth;
  // The nonce also binds owner proofs to this connection, with or without a secret.
  if (!auth::RandomNonce(rep.nonce).ok()) return Verdict::kClose;
  std::memcpy(server_nonce_, rep.nonce, wire::kNonceSize);
  scratch_.clear();
  wire::EncodeHelloReply(rep, &scratch_);
  AppendReply(h.type, h.request_id, 0, scratch_.data(), scratch_.size(), out);
  hello_done_ = true;
  authed_ = !need_auth;
  return Verdict::kContinue;
}

Session::Verdict Session::Auth(const wire::Header& h, const uint8_t* p,
                               std::vector<uint8_t>* out) {
  wire::AuthRequest req;
  if (wire::Type(h.type) != wire::Type::kAuth) return Fail(h, wire::kErrAccess, out);
  if (!wire::DecodeAuthRequest(p, h.payload_len, &req).ok()) return Fail(h, wire::kErrProto, out);
  uint8_t want[wire::kMacSize];
  auth::ClientMac(env_.secret, server_nonce_, req.client_nonce, want);
  if (!auth::MacEqual(want, req.mac)) {
    env_.counters->auth_failures.fetch_add(1, std::memory_order_relaxed);
    return Fail(h, wire::kErrAccess, out);
  }
  wire::AuthReply rep;
  auth::ServerMac(env_.secret, req.client_nonce, server_nonce_, rep.mac);
  AppendReply(h.type, h.request_id, 0, rep.mac, sizeof rep.mac, out);
  authed_ = true;
  auth::SessionKey(env_.secret, server_nonce_, req.client_nonce, session_key_);
  mac_required_ = true;
  last_mac_id_ = h.request_id;
  return Verdict::kContinue;
}

bool Session::CheckMac(const wire::Header& h, const uint8_t* p, size_t* n) {
  return auth::CheckControlMac(session_key_, &last_mac_id_, h, p, n);
}

bool Session::CheckProof(const wire::Header& h, const wire::OwnerProof& proof,
                         const std::vector<uint8_t>& msg) {
  return auth::CheckOwnerProof(&last_proof_id_, h, proof, msg);
}

Session::Verdict Session::Open(const wire::Header& h, const uint8_t* p, size_t n,
                               std::vector<uint8_t>* out) {
  wire::OpenRequest req;
  if (!wire::DecodeOpenRequest(p, n, &req).ok()) return Fail(h, wire::kErrProto, out);
  DropLog();
  int32_t rc = 0;
  LogInfo info;
  scratch_.clear();
  if (req.owner.present &&
      !CheckProof(h, req.owner, auth::OpenProofMessage(server_nonce_, h.request_id, req))) {
    rc = wire::kErrNotOwner;
  } else {
    rc = env_.store->Open(req.name, req.epoch, req.create, req.create_offset, &log_, &info,
                          req.owner.present ? req.owner.key : nullptr);
  }
  if (rc == 0) {
    epoch_ = req.epoch;
    env_.store->Attach(log_.get());
    wire::EncodeLogInfo(info, &scratch_);
  } else {
    log_.reset();
  }
  AppendReply(h.type, h.request_id, rc, scratch_.data(), scratch_.size(), out);
  return Verdict::kContinue;
}

Session::Verdict Session::Append(const wire::Header& h, const uint8_t* p,
                                 std::vector<uint8_t>* out) {
  const size_t n = h.payload_len;
  uint64_t off;
  const uint8_t* data;
  size_t len;
  if (!wire::DecodeAppendRequest(p, n, &off, &data, &len).ok())
    return Fail(h, wire::kErrProto, out);
  uint64_t tail = 0;
  int32_t rc = wire::kErrNoLog;
  if (log_) {
    uint32_t seed = crc32c::Extend(0, p, wire::kAppendFixedSize);
    rc = env_.store->AppendChecked(log_.get(), epoch_, off, data, len, seed, h.payload_crc, &tail);
  }
  // A refusal must not hide a corrupt message.
  if (rc != 0 && rc != wire::kErrChecksum && crc32c::Extend(0, p, n) != h.payload_crc)
    rc = wire::kErrChecksum;
  if (rc == wire::kErrChecksum) return Fail(h, rc, out);
  env_.counters->append_requests.fetch_add(1, std::memory_order_relaxed);
  if (rc == 0) {
    env_.counters->appends.fetch_add(1, std::memory_order_relaxed);
    env_.counters->append_bytes.fetch_add(len, std::memory_order_relaxed);
  }
  uint8_t buf[wire::kAppendReplySize];
  wire::Put64(buf, off);
  wire::Put64(buf + 8, tail);
  AppendReply(h.type, h.request_id, rc, buf, sizeof buf, out);
  return Verdict::kContinue;
}

Session::Verdict Session::Read(const wire::Header& h, const uint8_t* p, size_t n,
                               std::vector<uint8_t>* out) {
  wire::ReadRequest req;
  if (!wire::DecodeReadRequest(p, n, &req).ok()) return Fail(h, wire::kErrProto, out);
  if (!log_) {
    AppendReply(h.type, h.request_id, wire::kErrNoLog, nullptr, 0, out);
    return Verdict::kContinue;
  }
  // The data is read straight into the reply; the header is written once
  // its length and CRC are known.
  const size_t base = out->size();
  const size_t body = base + wire::kHeaderSize;
  out->resize(body + 8 + size_t(req.len));
  wire::Put64(out->data() + body, req.offset);
  size_t got = 0;
  LogInfo info;
  int32_t rc =
      env_.store->Read(log_.get(), req.offset, req.len, out->data() + body + 8, &got, &info);
  if (rc != 0) {
    out->resize(base);
    AppendReply(h.type, h.request_id, rc, nullptr, 0, out);
    return Verdict::kContinue;
  }
  out->resize(body + 8 + got);
  wire::Header r;
  r.type = h.type | wire::kReplyBit;
  r.request_id = h.request_id;
  r.payload_len = uint32_t(8 + got);
  r.payload_crc = crc32c::Extend(0, out->data() + body, 8 + got);
  wire::EncodeHeader(r, out->data() + base);
  return Verdict::kContinue;
}

Session::Verdict Session::List(const wire::Header& h, const uint8_t* p, size_t n,
                               std::vector<uint8_t>* out) {
  wire::OwnerProof proof;
  if (!wire::DecodeListRequest(p, n, &proof).ok()) return Fail(h, wire::kErrProto, out);
  if (proof.present &&
      !CheckProof(h, proof, auth::ListProofMessage(server_nonce_, h.request_id, proof.key))) {
    AppendReply(h.type, h.request_id, wire::kErrNotOwner, nullptr, 0, out);
    return Verdict::kContinue;
  }
  // Only the logs without an owner and the prover's own: nothing about
  // other owners' logs.
  std::vector<LogEntry> logs = env_.store->ListVisibleTo(proof.present ? proof.key : nullptr);
  // Keep the reply within kMaxPayload (the list is then truncated).
  size_t bytes = 4;
  size_t keep = 0;
  for (; keep < logs.size(); ++keep) {
    size_t e = 4 + logs[keep].name.size() + wire::kLogInfoSize;
    if (bytes + e > wire::kMaxPayload) break;
    bytes += e;
  }
  logs.resize(keep);
  scratch_.clear();
  wire::EncodeList(logs, &scratch_);
  AppendReply(h.type, h.request_id, 0, scratch_.data(), scratch_.size(), out);
  if (scratch_.capacity() > 64 * 1024) std::vector<uint8_t>().swap(scratch_);
  return Verdict::kContinue;
}

}  // namespace rvmr::remote_log
