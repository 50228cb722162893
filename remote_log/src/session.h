// Session: the server side of one client connection's protocol, without
// sockets or threads. The connection code hands it each request as it
// arrives (first the 32-byte header, then the whole frame) and sends the
// reply bytes it produces; Session decides what is allowed when (HELLO, then
// AUTH, then log requests), checks every frame and answers it from the
// LogStore. Internal to the server (and the fuzz target); the wire format is
// docs/remote-log-protocol.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "remote_log/log_store.h"
#include "remote_log/wire.h"

namespace rvmr::remote_log {

// The server's counters that sessions add to (relaxed atomics).
struct SessionCounters {
  std::atomic<uint64_t> appends{0};          // APPENDs acknowledged (status 0)
  std::atomic<uint64_t> append_requests{0};  // APPENDs handled, whatever the outcome
  std::atomic<uint64_t> append_bytes{0};     // log bytes acknowledged
  std::atomic<uint64_t> trims{0};            // TRIMs accepted
  std::atomic<uint64_t> rejected{0};         // requests refused, closing the connection
  std::atomic<uint64_t> auth_failures{0};    // AUTHs with a wrong MAC
};

// What every session of one server shares. The pointers outlive the sessions.
struct SessionEnv {
  // Shared secret; empty: no authentication. Points into secret_holder when
  // that is set (the server's secret can be replaced while sessions that
  // authenticated with the old one go on).
  std::string_view secret;
  std::shared_ptr<const std::string> secret_holder;
  LogStore* store = nullptr;
  SessionCounters* counters = nullptr;
};

class Session {
 public:
  // What the connection does after a call.
  enum class Verdict {
    kContinue,  // go on with the next frame
    kClose,     // send what is in *out, then close the connection
  };

  explicit Session(const SessionEnv& env) : env_(env) {}
  // Lets go of the open log.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The header of the next request, hdr[0..wire::kHeaderSize), has arrived.
  // kContinue: *h is the decoded header; read h->payload_len more bytes and
  // call Handle. kClose: the frame is refused; the refusal is appended to
  // *out unless the magic or header CRC is wrong (then nothing in the header
  // can be trusted): EPROTONOSUPPORT for a wrong version byte, EMSGSIZE for a
  // length over kMaxPayload, EPROTO for flags, type or a reply bit. Before
  // authentication only a HELLO (then an AUTH) of its exact size passes, so
  // that the connection never buffers an unauthenticated client's payload.
  Verdict OnHeader(const uint8_t* hdr, wire::Header* h, std::vector<uint8_t>* out);

  // A complete request: header h (accepted by OnHeader) and its payload
  // p[0..h.payload_len). Appends exactly one reply message to *out.
  Verdict Handle(const wire::Header& h, const uint8_t* p, std::vector<uint8_t>* out);

  // Whether the client has completed HELLO and, if the server has a secret,
  // AUTH: from then on it may use logs.
  bool authenticated() const { return authed_; }

 private:
  Verdict Hello(const wire::Header& h, const uint8_t* p, std::vector<uint8_t>* out);
  Verdict Auth(const wire::Header& h, const uint8_t* p, std::vector<uint8_t>* out);
  Verdict Append(const wire::Header& h, const uint8_t* p, std::vector<uint8_t>* out);
  Verdict Read(const wire::Header& h, const uint8_t* p, size_t n, std::vector<uint8_t>* out);
  Verdict Open(const wire::Header& h, const uint8_t* p, size_t n, std::vector<uint8_t>* out);
  Verdict List(const wire::Header& h, const uint8_t* p, size_t n, std::vector<uint8_t>* out);
  // Checks the control MAC at the end of request h's payload p[0..*n) and
  // strips it from *n; false if the request must be refused.
  bool CheckMac(const wire::Header& h, const uint8_t* p, size_t* n);
  // Checks an owner's signature of `msg` for request h (once per request id).
  bool CheckProof(const wire::Header& h, const wire::OwnerProof& proof,
                  const std::vector<uint8_t>& msg);
  // Lets go of the open log, if any (LogStore::Detach).
  void DropLog();
  // Appends a refusal of request h with `code` and counts it.
  Verdict Fail(const wire::Header& h, int32_t code, std::vector<uint8_t>* out);

  // All fields belong to the one connection that drives this session (one
  // thread at a time): no lock.
  const SessionEnv env_;
  bool hello_done_ = false;
  bool authed_ = false;
  uint8_t server_nonce_[wire::kNonceSize] = {};
  // After an authenticated handshake every request but APPEND carries a
  // control MAC under this key, with a request id above last_mac_id_.
  bool mac_required_ = false;
  uint8_t session_key_[wire::kMacSize] = {};
  uint64_t last_mac_id_ = 0;
  uint64_t last_proof_id_ = 0;  // owner proofs: request ids only grow
  std::shared_ptr<LogStore::Log> log_;  // the open log, if any
  uint64_t epoch_ = 0;                  // the writer epoch it was opened with
  std::vector<uint8_t> scratch_;        // reply payload being built
};

// Appends one reply message (header + payload p[0..n)) to *out.
void AppendReply(uint8_t type, uint64_t request_id, int32_t status, const uint8_t* p, size_t n,
                 std::vector<uint8_t>* out);

}  // namespace rvmr::remote_log
