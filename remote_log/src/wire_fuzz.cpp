// Fuzz target for the remote log wire parser, libFuzzer-compatible. It parses
// the input twice: as one complete message (ParseMessage) and as a stream of
// messages the way the server and client read them (header, bounded length,
// payload CRC, payload decoders). Nothing may crash, hang or read out of
// bounds; every decoded message must re-encode to the same bytes. A second
// pass parses input[1..] with its length field and CRCs repaired (when
// input[0] is odd), so that a coverage-guided fuzzer gets past the checksums
// into the payload decoders. Requests with a control MAC (protocol v2) go
// through the server's MAC check (under a fixed key the input cannot know:
// always refused) and owner proofs through the signature check.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/crc32c.h"
#include "remote_log/auth.h"
#include "remote_log/wire.h"

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
  return 0;
}
