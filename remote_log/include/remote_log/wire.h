// The remote log wire format (version 1), shared by server, TCP client and the
// fuzz target. Every message is a 32-byte header followed by a payload; all
// integers are little-endian. docs/remote-log-protocol.md is the byte-by-byte
// reference; this header and that page must agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "remote_log/transport.h"

namespace rvmr::remote_log::wire {

constexpr uint32_t kMagic = 0x4C4D5652;  // "RVML" on the wire
constexpr uint8_t kVersion = 2;
constexpr size_t kHeaderSize = 32;
// Largest payload either side accepts; a bigger length closes the connection.
constexpr uint32_t kMaxPayload = 4u << 20;
// Largest APPEND data (payload minus its 8-byte offset field).
constexpr uint32_t kMaxAppendData = kMaxPayload - 8;
// Largest READ reply data.
constexpr uint32_t kMaxReadData = kMaxPayload - 8;
constexpr size_t kMaxNameLen = 255;
constexpr size_t kNonceSize = 32;
constexpr size_t kMacSize = 32;
constexpr size_t kLogInfoSize = 32;
// Header flag of a request that ends with a kMacSize-byte control MAC
// (auth.h ControlMac): every request but APPEND after an authenticated
// handshake.
constexpr uint16_t kFlagMac = 1;
// Per-log ownership (auth.h OwnerKey): an Ed25519 public key and signature.
constexpr size_t kOwnerKeySize = 32;
constexpr size_t kOwnerSigSize = 64;
constexpr size_t kOwnerProofSize = kOwnerKeySize + kOwnerSigSize;
// Default TCP port of rvm-logd.
constexpr uint16_t kDefaultPort = 7483;

enum class Type : uint8_t {
  kHello = 1,
  kAuth = 2,
  kOpen = 3,
  kAppend = 4,
  kRead = 5,
  kTrim = 6,
  kStat = 7,
  kList = 8,
  kClose = 9,
};
// A reply has the request's type with this bit set.
constexpr uint8_t kReplyBit = 0x80;

// Reply status codes: 0 or a negative Linux errno value (fixed numbers, so
// they are part of the format).
enum Error : int32_t {
  kOk = 0,
  kErrNotOwner = -1,    // EPERM: the log has another owner, or the ownership proof failed
  kErrNotFound = -2,    // ENOENT: no such log
  kErrNoLog = -9,       // EBADF: request needs an open log, or the log was removed
  kErrAccess = -13,     // EACCES: authentication required or failed
  kErrBusy = -16,       // EBUSY: connection limit reached (connection is closed)
  kErrDuplicate = -17,  // EEXIST: APPEND offset below the log tail
  kErrInvalid = -22,    // EINVAL: bad argument (name, trim past tail, ...)
  kErrNoSpace = -28,    // ENOSPC: server capacity reached
  kErrGap = -34,        // ERANGE: APPEND offset above the log tail
  kErrTrimmed = -61,    // ENODATA: READ below the log start (trimmed)
  kErrProto = -71,      // EPROTO: malformed message (connection is closed)
  kErrChecksum = -74,   // EBADMSG: CRC mismatch (connection is closed)
  kErrTooBig = -90,     // EMSGSIZE: payload over kMaxPayload (connection is closed)
  kErrVersion = -93,    // EPROTONOSUPPORT: no common protocol version
  kErrFenced = -116,    // ESTALE: a newer writer epoch opened the log
};

// Short name of a wire status ("duplicate", "gap", ...).
const char* ErrorName(int32_t code);
// Converts a reply status to a Status carrying `what` and the code's name.
Status ErrorToStatus(int32_t code, std::string_view what);

struct Header {
  uint8_t version = kVersion;
  uint8_t type = 0;
  uint16_t flags = 0;  // must be 0 in version 1
  uint32_t payload_len = 0;
  int32_t status = 0;  // replies only; 0 in requests
  uint64_t request_id = 0;
  uint32_t payload_crc = 0;  // CRC32C of the payload bytes
};

// Writes `h` into out[0..kHeaderSize), adding magic and header CRC.
void EncodeHeader(const Header& h, uint8_t* out);
// Parses and checks (magic, version, reserved bits, header CRC, length bound)
// the header at p[0..kHeaderSize). Corruption on any mismatch; *wire_error
// (if non-null) gets the wire code to reply with.
Status DecodeHeader(const uint8_t* p, Header* h, int32_t* wire_error = nullptr);

// Little-endian helpers.
inline void Put16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}
inline void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
inline void Put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i));
}
inline uint16_t Get16(const uint8_t* p) {
  return uint16_t(p[0] | (p[1] << 8));
}
inline uint32_t Get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline uint64_t Get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Payloads. Each Decode* checks the exact length and field ranges and returns
// Corruption otherwise; each Encode* appends to *out.
struct HelloRequest {
  uint16_t min_version = kVersion;
  uint16_t max_version = kVersion;
};
constexpr size_t kHelloRequestSize = 8;
struct HelloReply {
  uint16_t version = kVersion;
  bool auth_required = false;
  uint8_t nonce[kNonceSize] = {};
};
constexpr size_t kHelloReplySize = 8 + kNonceSize;
struct AuthRequest {
  uint8_t client_nonce[kNonceSize] = {};
  uint8_t mac[kMacSize] = {};
};
constexpr size_t kAuthRequestSize = kNonceSize + kMacSize;
struct AuthReply {
  uint8_t mac[kMacSize] = {};
};
constexpr size_t kAuthReplySize = kMacSize;
// Proof of a log's owner key: the public key and an Ed25519 signature of
// the request (auth.h OpenProofMessage / ListProofMessage).
struct OwnerProof {
  bool present = false;
  uint8_t key[kOwnerKeySize] = {};
  uint8_t sig[kOwnerSigSize] = {};
};
struct OpenRequest {
  uint64_t epoch = 0;
  uint64_t create_offset = 0;
  bool create = false;
  std::string name;
  OwnerProof owner;  // flags bit 1; after the name
};
// LIST request: empty, or an OwnerProof (then the reply names that owner's
// logs as well as the logs without an owner).
struct ReadRequest {
  uint64_t offset = 0;
  uint32_t len = 0;
};
constexpr size_t kReadRequestSize = 16;
constexpr size_t kAppendFixedSize = 8;  // u64 offset, then the data
struct AppendReply {
  uint64_t offset = 0;  // the request's offset
  uint64_t tail = 0;    // log tail after the append (or at the refusal)
};
constexpr size_t kAppendReplySize = 16;

void EncodeHelloRequest(const HelloRequest& m, std::vector<uint8_t>* out);
Status DecodeHelloRequest(const uint8_t* p, size_t n, HelloRequest* m);
void EncodeHelloReply(const HelloReply& m, std::vector<uint8_t>* out);
Status DecodeHelloReply(const uint8_t* p, size_t n, HelloReply* m);
void EncodeAuthRequest(const AuthRequest& m, std::vector<uint8_t>* out);
Status DecodeAuthRequest(const uint8_t* p, size_t n, AuthRequest* m);
void EncodeAuthReply(const AuthReply& m, std::vector<uint8_t>* out);
Status DecodeAuthReply(const uint8_t* p, size_t n, AuthReply* m);
void EncodeOpenRequest(const OpenRequest& m, std::vector<uint8_t>* out);
Status DecodeOpenRequest(const uint8_t* p, size_t n, OpenRequest* m);
void EncodeListRequest(const OwnerProof& m, std::vector<uint8_t>* out);
Status DecodeListRequest(const uint8_t* p, size_t n, OwnerProof* m);
void EncodeLogInfo(const LogInfo& m, std::vector<uint8_t>* out);
Status DecodeLogInfo(const uint8_t* p, size_t n, LogInfo* m);
void EncodeU64(uint64_t v, std::vector<uint8_t>* out);
Status DecodeU64(const uint8_t* p, size_t n, uint64_t* v);
void EncodeReadRequest(const ReadRequest& m, std::vector<uint8_t>* out);
Status DecodeReadRequest(const uint8_t* p, size_t n, ReadRequest* m);
// APPEND request: offset, then n-8 bytes of data (may be empty).
Status DecodeAppendRequest(const uint8_t* p, size_t n, uint64_t* offset, const uint8_t** data,
                           size_t* data_len);
void EncodeAppendReply(const AppendReply& m, std::vector<uint8_t>* out);
Status DecodeAppendReply(const uint8_t* p, size_t n, AppendReply* m);
// READ reply: offset, then the data.
Status DecodeReadReply(const uint8_t* p, size_t n, uint64_t* offset, const uint8_t** data,
                       size_t* data_len);
void EncodeList(const std::vector<LogEntry>& logs, std::vector<uint8_t>* out);
Status DecodeList(const uint8_t* p, size_t n, std::vector<LogEntry>* logs);
// A log name is 1..kMaxNameLen bytes of [A-Za-z0-9._-].
bool ValidName(std::string_view name);

// Builds one complete message (header + payload) into *out.
void BuildMessage(uint8_t type, int32_t status, uint64_t request_id,
                  const std::vector<uint8_t>& payload, std::vector<uint8_t>* out);

// The payload of a request without its control MAC (flag kFlagMac): n less
// kMacSize. Corruption if the flag is set and the payload is shorter.
Status StripMac(const Header& h, size_t* n);

// Checks one complete message in p[0..n): header, payload CRC and, for the
// known types, the payload layout (requests and replies; a request's control
// MAC is skipped, not verified). Used by the fuzz target; the server and
// client check the same things as they go.
Status ParseMessage(const uint8_t* p, size_t n, Header* h);

}  // namespace rvmr::remote_log::wire
