#include <string>

#include "common/crc32c.h"
#include "remote_log/transport.h"
#include "remote_log/wire.h"

namespace rvmr::remote_log {

uint32_t AppendCrc(uint64_t offset, const struct iovec* iov, int iovcnt) {
  uint8_t off[8];
  wire::Put64(off, offset);
  uint32_t crc = crc32c::Value(off, sizeof off);
  for (int i = 0; i < iovcnt; ++i) crc = crc32c::Extend(crc, iov[i].iov_base, iov[i].iov_len);
  return crc;
}

Status ParseUri(std::string_view uri, Endpoint* out) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("bad mirror URI '" + std::string(uri) + "': " + why +
                                   " (expected scheme://host:port)");
  };
  size_t sep = uri.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad("no scheme");
  Endpoint ep;
  ep.uri = std::string(uri);
  ep.scheme = std::string(uri.substr(0, sep));
  std::string_view rest = uri.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view host, port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (after.empty() || after.front() != ':') return bad("no port");
    port = after.substr(1);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("IPv6 address needs brackets");
  }
  if (host.empty()) return bad("no host");
  if (port.empty() || port.size() > 5) return bad("bad port");
  uint32_t p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad("bad port");
    p = p * 10 + uint32_t(c - '0');
  }
  if (p == 0 || p > 65535) return bad("port out of range");
  ep.host = std::string(host);
  ep.port = uint16_t(p);
  *out = std::move(ep);
  return Status::Ok();
}

}  // namespace rvmr::remote_log
