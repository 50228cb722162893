// Shared-secret challenge-response authentication (HMAC-SHA256, OpenSSL
// libcrypto). The server sends a random nonce Ns in its HELLO reply; the
// client answers with its own nonce Nc and HMAC(secret, "rvml-client-v1" Ns Nc);
// the server proves itself back with HMAC(secret, "rvml-server-v1" Nc Ns).
// The secret never crosses the wire.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

// Reads a secret file: its bytes with one trailing newline removed. Refuses
// an empty secret, one shorter than kMinSecretSize and files readable by
// group or others, naming the file.
Status ReadSecretFile(const std::string& path, std::string* secret);

}  // namespace rvmr::remote_log::auth
