#include "shim/shim_config.h"

#include <cerrno>
#include <cstdlib>

#include "common/config_file.h"

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
  std::vector<config::Line> lines;
  Status split = config::SplitLines(text, origin, &lines);
  if (!split.ok()) return split;
  for (const config::Line& line : lines) {
    auto where = [&](std::string_view what) {
      return config::Where(origin, line.lineno, what);
    };
    const std::string& key = line.key;
    std::string_view val = line.value;
    auto bad = [&](std::string_view expected) { return config::BadValue(origin, line, expected); };
    uint64_t n = 0;
    bool b = false;
    if (key == "mirrors") {
      cfg->mirrors = SplitMirrorList(val);
      Status bad = CheckMirrorUris(cfg->mirrors, where("mirrors"));
      if (!bad.ok()) return bad;
    } else if (key == "ack") {
      if (val == "all") {
        cfg->write_quorum = 0;
      } else if (config::ParseSize(val, &n) && n >= 1 && n <= 16) {
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
      if (!config::ParseBool(val, &cfg->require_mirror_at_recovery)) return bad("yes or no");
    } else if (key == "abandon_mirror_copy") {
      if (!config::ParseBool(val, &cfg->abandon_mirror_copy)) return bad("yes or no");
    } else if (key == "staging_bytes") {
      if (!config::ParseSize(val, &n) || n < 4096) return bad("a size of at least 4096 (K/M/G suffixes)");
      cfg->staging_bytes = n;
    } else if (key == "trim_interval_bytes") {
      if (!config::ParseSize(val, &n) || n == 0) return bad("a positive size (K/M/G suffixes)");
      cfg->trim_interval_bytes = n;
    } else if (key == "disk_batch_delay_us") {
      if (!config::ParseSize(val, &n) || n > 1000000) return bad("microseconds, 0..1000000");
      cfg->disk_batch_delay_us = static_cast<uint32_t>(n);
    } else if (key == "pipeline_depth") {
      if (!config::ParseSize(val, &n) || n == 0 || n > 64) return bad("a count, 1..64");
      cfg->pipeline_depth = static_cast<uint32_t>(n);
    } else if (key == "connect_timeout_ms" || key == "io_timeout_ms" ||
               key == "reconnect_interval_ms") {
      if (!config::ParseSize(val, &n) || n == 0 || n > 600000) return bad("milliseconds, 1..600000");
      int ms = static_cast<int>(n);
      if (key == "connect_timeout_ms")
        cfg->connect_timeout_ms = ms;
      else if (key == "io_timeout_ms")
        cfg->io_timeout_ms = ms;
      else
        cfg->reconnect_interval_ms = ms;
    } else if (key == "busy_poll") {
      if (!config::ParseBool(val, &b)) return bad("yes or no");
      cfg->busy_poll = b;
    } else if (key == "o_direct") {
      if (!config::ParseBool(val, &b)) return bad("yes or no");
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
      if (!config::ParseBool(val, &cfg->protect_records)) return bad("yes or no");
    } else if (key == "encrypt") {
      if (!config::ParseBool(val, &cfg->encrypt)) return bad("yes or no");
    } else if (key == "log_key_file") {
      if (val.empty()) return bad("a file name");
      cfg->log_key_file = std::string(val);
    } else if (key == "log_name") {
      if (val.empty() || val.size() > 255) return bad("a name of 1..255 characters");
      cfg->log_name = std::string(val);
    } else if (key == "secret_file") {
      std::string secret;
      if (int err = config::ReadWholeFile(std::string(val), &secret); err != 0)
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
    if (int err = config::ReadWholeFile(file, &text); err != 0)
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
