// Fuzz target for the remote log wire parser and the server's protocol
// logic, libFuzzer-compatible. It parses the input twice: as one complete
// message (ParseMessage) and as a stream of messages the way the server and
// client read them (header, bounded length, payload CRC, payload decoders).
// Nothing may crash, hang or read out of bounds; every decoded message must
// re-encode to the same bytes. A second pass parses input[1..] with its
// length field and CRCs repaired (when input[0] is odd), so that a
// coverage-guided fuzzer gets past the checksums into the payload decoders.
// Then the input is served by the server's Session (session.h, the protocol
// logic of rvm-logd, over a fresh LogStore) twice: as raw bytes, and as a
// HELLO followed by frames built from it with valid CRCs ([type][length]
// [payload] records), so that it reaches OPEN, APPEND, READ, TRIM and the
// rest; every reply Session produces must parse. Requests with a control
// MAC (protocol v2) go through the server's MAC check (under a fixed key the
// input cannot know: always refused) and owner proofs through the signature
// check.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/crc32c.h"
#include "remote_log/auth.h"
#include "remote_log/log_store.h"
#include "remote_log/wire.h"
#include "session.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// A decoded request re-encodes to exactly its payload.
void RoundTrip(const rvmr::remote_log::wire::Header& h, const uint8_t* p, size_t n) {
  using namespace rvmr::remote_log::wire;
  std::vector<uint8_t> out;
  Type t = Type(h.type & ~kReplyBit);
  bool reply = h.type & kReplyBit;
  if (reply && h.status != 0 && n == 0) return;
  if (!reply && (h.flags & kFlagMac) != 0) {
    // The server's check under a key the input cannot know: always refused.
    static const uint8_t kKey[kMacSize] = {1, 2, 3};
    uint64_t last = 0;
    size_t len = n;
    Check(!rvmr::remote_log::auth::CheckControlMac(kKey, &last, h, p, &len));
    Check(StripMac(h, &n).ok());
  }
  static const uint8_t kNonce[kNonceSize] = {9};
  if (!reply && t == Type::kOpen) {
    OpenRequest m;
    if (DecodeOpenRequest(p, n, &m).ok()) {
      EncodeOpenRequest(m, &out);
      Check(out.size() == n && std::memcmp(out.data(), p, n) == 0);
      uint64_t last = 0;
      // (Any key the input chooses, even a degenerate one: only memory safety counts.)
      if (m.owner.present)
        (void)rvmr::remote_log::auth::CheckOwnerProof(
            &last, h, m.owner, rvmr::remote_log::auth::OpenProofMessage(kNonce, h.request_id, m));
    }
  } else if (!reply && t == Type::kList) {
    OwnerProof m;
    if (DecodeListRequest(p, n, &m).ok()) {
      EncodeListRequest(m, &out);
      Check(out.size() == n && (n == 0 || std::memcmp(out.data(), p, n) == 0));
      uint64_t last = 0;
      if (m.present)
        (void)rvmr::remote_log::auth::CheckOwnerProof(
            &last, h, m, rvmr::remote_log::auth::ListProofMessage(kNonce, h.request_id, m.key));
    }
  } else if (reply && (t == Type::kStat || t == Type::kTrim || t == Type::kOpen)) {
    rvmr::remote_log::LogInfo m;
    if (DecodeLogInfo(p, n, &m).ok()) {
      EncodeLogInfo(m, &out);
      Check(out.size() == n && std::memcmp(out.data(), p, n) == 0);
    }
  } else if (reply && t == Type::kList) {
    std::vector<rvmr::remote_log::LogEntry> logs;
    if (DecodeList(p, n, &logs).ok()) {
      EncodeList(logs, &out);
      Check(out.size() == n && std::memcmp(out.data(), p, n) == 0);
    }
  }
}

}  // namespace

namespace {

void ParseAll(const uint8_t* data, size_t size) {
  using namespace rvmr::remote_log::wire;
  Header h;
  if (ParseMessage(data, size, &h).ok()) {
    Check(h.payload_len == size - kHeaderSize);
    RoundTrip(h, data + kHeaderSize, h.payload_len);
  }
  // Stream parse.
  size_t pos = 0;
  while (size - pos >= kHeaderSize) {
    Header sh;
    if (!DecodeHeader(data + pos, &sh).ok()) break;
    Check(sh.payload_len <= kMaxPayload);
    size_t total = kHeaderSize + sh.payload_len;
    if (size - pos < total) break;
    Header full;
    if (!ParseMessage(data + pos, total, &full).ok()) break;
    pos += total;
  }
}

}  // namespace

namespace {

// Feeds a byte stream to a Session as the server's connections do, until it
// closes or the stream ends. Every reply must be a well-formed message.
void Serve(rvmr::remote_log::Session* s, const uint8_t* data, size_t size) {
  using namespace rvmr::remote_log;
  std::vector<uint8_t> out;
  size_t pos = 0;
  while (size - pos >= wire::kHeaderSize) {
    wire::Header h;
    Session::Verdict v = s->OnHeader(data + pos, &h, &out);
    if (v == Session::Verdict::kContinue) {
      Check(h.payload_len <= wire::kMaxPayload);
      if (size - pos - wire::kHeaderSize < h.payload_len) break;
      v = s->Handle(h, data + pos + wire::kHeaderSize, &out);
      pos += wire::kHeaderSize + h.payload_len;
    }
    size_t r = 0;
    while (r < out.size()) {
      // A refusal of an unknown type carries that type; the rest must parse.
      Check(out.size() - r >= wire::kHeaderSize);
      const uint8_t t = out[r + 5] & ~wire::kReplyBit;
      const bool known = t >= uint8_t(wire::Type::kHello) && t <= uint8_t(wire::Type::kClose);
      size_t total = wire::kHeaderSize + wire::Get32(out.data() + r + 8);
      Check(out.size() - r >= total);
      wire::Header rh;
      if (known) Check(wire::ParseMessage(out.data() + r, total, &rh).ok());
      r += total;
    }
    out.clear();
    if (v == Session::Verdict::kClose) break;
  }
}

void ServeAll(const uint8_t* data, size_t size) {
  using namespace rvmr::remote_log;
  SessionCounters counters;
  LogStore store(1 << 20);
  SessionEnv env;
  env.store = &store;
  env.counters = &counters;
  {
    Session raw(env);
    Serve(&raw, data, size);
  }
  // Valid frames: HELLO, then one per [type][len][payload] record.
  std::vector<uint8_t> stream;
  std::vector<uint8_t> p;
  wire::EncodeHelloRequest(wire::HelloRequest{}, &p);
  wire::BuildMessage(uint8_t(wire::Type::kHello), 0, 1, p, &stream);
  for (size_t pos = 0, id = 2; size - pos >= 2; ++id) {
    size_t n = std::min<size_t>(data[pos + 1], size - pos - 2);
    p.assign(data + pos + 2, data + pos + 2 + n);
    wire::BuildMessage(data[pos], 0, id, p, &stream);
    pos += 2 + n;
  }
  Session framed(env);
  Serve(&framed, stream.data(), stream.size());
  // A session that must authenticate first: the same frames are refused.
  static const char kSecret[] = "fuzz-secret-0123456789";
  env.secret = kSecret;
  Session authed(env);
  Serve(&authed, stream.data(), stream.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rvmr::remote_log::wire;
  ParseAll(data, size);
  if (size > kHeaderSize && (data[0] & 1)) {
    std::vector<uint8_t> m(data + 1, data + size);
    Put32(m.data() + 8, uint32_t(m.size() - kHeaderSize));
    Put32(m.data() + 24, rvmr::crc32c::Value(m.data() + kHeaderSize, m.size() - kHeaderSize));
    Put32(m.data() + 28, rvmr::crc32c::Value(m.data(), 28));
    ParseAll(m.data(), m.size());
  }
  ServeAll(data, size);
  return 0;
}
