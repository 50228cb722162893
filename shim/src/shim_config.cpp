#include "shim/shim_config.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "remote_log/auth.h"
#include "remote_log/transport.h"

namespace rvmr {

namespace {

// Every mirror URI must parse and name a transport this library speaks: a
// mistyped address is a configuration error, never "no mirror reachable"
// (which would start on the local disk alone).
Status CheckMirrorUris(const std::vector<std::string>& mirrors, std::string_view where) {
  for (const std::string& m : mirrors) {
    remote_log::Endpoint ep;
    Status s = remote_log::ParseUri(m, &ep);
    if (!s.ok()) return Status::InvalidArgument(std::string(where) + ": " + s.message());
    if (ep.scheme != "tcp" && ep.scheme != "rdma")
      return Status::InvalidArgument(std::string(where) + ": bad mirror URI '" + m +
                                     "': unknown scheme '" + ep.scheme +
                                     "' (expected tcp:// or rdma://)");
  }
  return Status::Ok();
}


std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Parses a decimal count with an optional K/M/G suffix (powers of 1024).
bool ParseSize(std::string_view v, uint64_t* out) {
  if (v.empty()) return false;
  uint64_t mult = 1;
  switch (v.back()) {
    case 'k':
    case 'K':
      mult = 1ull << 10;
      v.remove_suffix(1);
      break;
    case 'm':
    case 'M':
      mult = 1ull << 20;
      v.remove_suffix(1);
      break;
    case 'g':
    case 'G':
      mult = 1ull << 30;
      v.remove_suffix(1);
      break;
    default:
      break;
  }
  if (v.empty()) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    if (n > (UINT64_MAX - 9) / 10) return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > UINT64_MAX / mult) return false;
  *out = n * mult;
  return true;
}

bool ParseBool(std::string_view v, bool* out) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") {
    *out = true;
    return true;
  }
  if (v == "0" || v == "false" || v == "no" || v == "off") {
    *out = false;
    return true;
  }
  return false;
}

bool ReadFile(const std::string& path, std::string* out, int* err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *err = errno;
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

std::vector<std::string> SplitMirrorList(std::string_view list) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : list) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

Status ParseShimConfig(std::string_view text, std::string_view origin, ShimConfig* cfg) {
  int lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++lineno;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    auto where = [&](std::string_view what) {
      return std::string(origin) + ":" + std::to_string(lineno) + ": " + std::string(what);
    };
    size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return Status::InvalidArgument(
          where("expected 'key = value', got '" + std::string(line) + "'"));
    std::string key(Trim(line.substr(0, eq)));
    std::string_view val = Trim(line.substr(eq + 1));
    auto bad = [&](std::string_view expected) {
      return Status::InvalidArgument(where("bad value '" + std::string(val) + "' for '" + key +
                                           "': expected " + std::string(expected)));
    };
    uint64_t n = 0;
    bool b = false;
    if (key == "mirrors") {
      cfg->mirrors = SplitMirrorList(val);
      Status bad = CheckMirrorUris(cfg->mirrors, where("mirrors"));
      if (!bad.ok()) return bad;
    } else if (key == "ack") {
      if (val == "all") {
        cfg->write_quorum = 0;
      } else if (ParseSize(val, &n) && n >= 1 && n <= 16) {
        cfg->write_quorum = n;
      } else {
        return bad("'all' or a mirror count 1..16");
      }
    } else if (key == "failure_policy") {
      if (val == "fallback")
        cfg->failure_policy = ShimConfig::FailurePolicy::kFallback;
      else if (val == "strict")
        cfg->failure_policy = ShimConfig::FailurePolicy::kStrict;
      else
        return bad("'fallback' or 'strict'");
    } else if (key == "require_mirror_at_recovery") {
      if (!ParseBool(val, &cfg->require_mirror_at_recovery)) return bad("yes or no");
    } else if (key == "abandon_mirror_copy") {
      if (!ParseBool(val, &cfg->abandon_mirror_copy)) return bad("yes or no");
    } else if (key == "staging_bytes") {
      if (!ParseSize(val, &n) || n < 4096) return bad("a size of at least 4096 (K/M/G suffixes)");
      cfg->staging_bytes = n;
    } else if (key == "trim_interval_bytes") {
      if (!ParseSize(val, &n) || n == 0) return bad("a positive size (K/M/G suffixes)");
      cfg->trim_interval_bytes = n;
    } else if (key == "disk_batch_delay_us") {
      if (!ParseSize(val, &n) || n > 1000000) return bad("microseconds, 0..1000000");
      cfg->disk_batch_delay_us = static_cast<uint32_t>(n);
    } else if (key == "pipeline_depth") {
      if (!ParseSize(val, &n) || n == 0 || n > 64) return bad("a count, 1..64");
      cfg->pipeline_depth = static_cast<uint32_t>(n);
    } else if (key == "connect_timeout_ms" || key == "io_timeout_ms" ||
               key == "reconnect_interval_ms") {
      if (!ParseSize(val, &n) || n == 0 || n > 600000) return bad("milliseconds, 1..600000");
      int ms = static_cast<int>(n);
      if (key == "connect_timeout_ms")
        cfg->connect_timeout_ms = ms;
      else if (key == "io_timeout_ms")
        cfg->io_timeout_ms = ms;
      else
        cfg->reconnect_interval_ms = ms;
    } else if (key == "busy_poll") {
      if (!ParseBool(val, &b)) return bad("yes or no");
      cfg->busy_poll = b;
    } else if (key == "o_direct") {
      if (!ParseBool(val, &b)) return bad("yes or no");
      cfg->o_direct = b;
    } else if (key == "disk_writer") {
      if (val == "auto")
        cfg->disk_writer = ShimConfig::DiskWriterKind::kAuto;
      else if (val == "io_uring")
        cfg->disk_writer = ShimConfig::DiskWriterKind::kIoUring;
      else if (val == "pwrite")
        cfg->disk_writer = ShimConfig::DiskWriterKind::kPwrite;
      else
        return bad("'auto', 'io_uring' or 'pwrite'");
    } else if (key == "protect_records") {
      if (!ParseBool(val, &cfg->protect_records)) return bad("yes or no");
    } else if (key == "encrypt") {
      if (!ParseBool(val, &cfg->encrypt)) return bad("yes or no");
    } else if (key == "log_key_file") {
      if (val.empty()) return bad("a file name");
      cfg->log_key_file = std::string(val);
    } else if (key == "log_name") {
      if (val.empty() || val.size() > 255) return bad("a name of 1..255 characters");
      cfg->log_name = std::string(val);
    } else if (key == "secret_file") {
      std::string secret;
      int err = 0;
      if (!ReadFile(std::string(val), &secret, &err))
        return Status::IoError(where("cannot read secret_file '" + std::string(val) + "'"), err);
      while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
      if (secret.empty())
        return Status::InvalidArgument(where("secret_file '" + std::string(val) + "' is empty"));
      Status len = remote_log::auth::CheckSecretLength(secret, "secret_file '" + std::string(val) + "'");
      if (!len.ok()) return Status::InvalidArgument(where(len.message()));
      cfg->secret_file = std::string(val);
      cfg->secret = std::move(secret);
    } else {
      return Status::InvalidArgument(where("unknown setting '" + key + "'"));
    }
  }
  if (cfg->encrypt && !cfg->protect_records)
    return Status::InvalidArgument(std::string(origin) +
                                   ": encrypt = yes needs protect_records = yes (encryption is "
                                   "a form of record protection)");
  if (cfg->write_quorum > 0 && !cfg->mirrors.empty() && cfg->write_quorum > cfg->mirrors.size())
    return Status::InvalidArgument(std::string(origin) +
                                   ": ack = " + std::to_string(cfg->write_quorum) + " but only " +
                                   std::to_string(cfg->mirrors.size()) + " mirrors are named");
  return Status::Ok();
}

Status LoadShimConfigFromEnv(ShimConfig* cfg) {
  if (const char* file = std::getenv("RVM_SHIM_CONFIG"); file != nullptr && *file != '\0') {
    std::string text;
    int err = 0;
    if (!ReadFile(file, &text, &err))
      return Status::IoError(std::string("RVM_SHIM_CONFIG: cannot read '") + file + "'", err);
    Status s = ParseShimConfig(text, file, cfg);
    if (!s.ok()) return s;
  }
  if (const char* m = std::getenv("RVM_MIRRORS"); m != nullptr && *m != '\0') {
    cfg->mirrors = SplitMirrorList(m);
    Status s = CheckMirrorUris(cfg->mirrors, "RVM_MIRRORS");
    if (!s.ok()) return s;
  }
  if (cfg->write_quorum > 0 && cfg->write_quorum > cfg->mirrors.size() && !cfg->mirrors.empty())
    return Status::InvalidArgument("ack = " + std::to_string(cfg->write_quorum) +
                                   " but RVM_MIRRORS names only " +
                                   std::to_string(cfg->mirrors.size()) + " mirrors");
  return Status::Ok();
}

}  // namespace rvmr
