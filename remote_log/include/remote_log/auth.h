// Shared-secret challenge-response authentication (HMAC-SHA256, OpenSSL
// libcrypto). The server sends a random nonce Ns in its HELLO reply; the
// client answers with its own nonce Nc and HMAC(secret, "rvml-client-v1" Ns Nc);
// the server proves itself back with HMAC(secret, "rvml-server-v1" Nc Ns).
// The secret never crosses the wire.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "remote_log/wire.h"

namespace rvmr::remote_log::auth {

// Shortest shared secret accepted anywhere (server, client, secret files):
// 16 bytes (128 bits) if random; a passphrase should be longer.
constexpr size_t kMinSecretSize = 16;

// Ok for an empty secret (none) or one of at least kMinSecretSize bytes;
// otherwise InvalidArgument naming `origin` (a file, an option). The secret
// itself is never part of the message.
Status CheckSecretLength(std::string_view secret, std::string_view origin);

// Fills out[0..kNonceSize) with cryptographically random bytes.
Status RandomNonce(uint8_t* out);

// The client's proof: HMAC-SHA256(secret, "rvml-client-v1" || server_nonce || client_nonce).
void ClientMac(std::string_view secret, const uint8_t* server_nonce, const uint8_t* client_nonce,
               uint8_t* mac);

// The server's proof: HMAC-SHA256(secret, "rvml-server-v1" || client_nonce || server_nonce).
void ServerMac(std::string_view secret, const uint8_t* client_nonce, const uint8_t* server_nonce,
               uint8_t* mac);

// Constant-time comparison of two kMacSize-byte MACs.
bool MacEqual(const uint8_t* a, const uint8_t* b);

// The session key of an authenticated connection (both ends derive it after
// AUTH; it never crosses the wire):
// HMAC-SHA256(secret, "rvml-session-v2" || server_nonce || client_nonce).
void SessionKey(std::string_view secret, const uint8_t* server_nonce, const uint8_t* client_nonce,
                uint8_t* key);

// The control MAC a request carries at the end of its payload (header flag
// wire::kFlagMac): HMAC-SHA256(session_key, "rvml-ctl-v2" || hdr[4..24) ||
// payload[0..n)), where hdr is the request's encoded header (version, type,
// flags, payload length, status, request id) and payload excludes the MAC.
// The server accepts it only with a request id above the last one it
// accepted, so a relay can neither alter nor replay a control message.
void ControlMac(const uint8_t* session_key, const uint8_t* hdr, const uint8_t* payload, size_t n,
                uint8_t* mac);

// Server side: checks the control MAC at the end of request h's payload
// p[0..*n) under `session_key`, with a request id above *last_id; on
// success strips it from *n and records the id. False: refuse (EACCES).
bool CheckControlMac(const uint8_t* session_key, uint64_t* last_id, const wire::Header& h,
                     const uint8_t* p, size_t* n);

// Client side: a complete request message (header, payload, and with a
// session key the control MAC and flag) into *out.
void BuildRequest(uint8_t type, uint64_t request_id, const std::vector<uint8_t>& payload,
                  const uint8_t* session_key, std::vector<uint8_t>* out);

// A log owner's Ed25519 key pair, derived from a 32-byte seed (the shim
// derives the seed from the log key). The server keeps only the public key
// (made at the log's creation) and checks signatures of requests that name
// the log, bound to its own HELLO nonce and the request id.
class OwnerKey {
 public:
  static Status FromSeed(std::string_view seed, std::unique_ptr<OwnerKey>* out);
  ~OwnerKey();
  OwnerKey(const OwnerKey&) = delete;
  OwnerKey& operator=(const OwnerKey&) = delete;
  const uint8_t* public_key() const { return pub_; }
  // Signs msg into sig[0..wire::kOwnerSigSize).
  Status Sign(const std::vector<uint8_t>& msg, uint8_t* sig) const;

 private:
  OwnerKey() = default;
  void* pkey_ = nullptr;  // EVP_PKEY*
  uint8_t pub_[wire::kOwnerKeySize] = {};
};

// Whether sig is the Ed25519 signature of msg under public key `pub`.
bool VerifyOwner(const uint8_t* pub, const std::vector<uint8_t>& msg, const uint8_t* sig);

// Server side: checks `proof` (signature of `msg`) for request h, once per
// request id (ids above *last_id only; recorded on success).
bool CheckOwnerProof(uint64_t* last_id, const wire::Header& h, const wire::OwnerProof& proof,
                     const std::vector<uint8_t>& msg);

// What an OPEN's owner signs: "rvml-open-v2" || server_nonce || u64
// request_id || u64 epoch || u64 create_offset || u32 flags || u32 name_len
// || name || owner public key.
std::vector<uint8_t> OpenProofMessage(const uint8_t* server_nonce, uint64_t request_id,
                                      const wire::OpenRequest& m);
// What a LIST's owner signs: "rvml-list-v2" || server_nonce || u64
// request_id || owner public key.
std::vector<uint8_t> ListProofMessage(const uint8_t* server_nonce, uint64_t request_id,
                                      const uint8_t* owner_key);

// Reads a secret file: its bytes with one trailing newline removed. Refuses
// an empty secret, one shorter than kMinSecretSize and files readable by
// group or others, naming the file.
Status ReadSecretFile(const std::string& path, std::string* secret);

}  // namespace rvmr::remote_log::auth
