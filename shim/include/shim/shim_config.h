// ShimConfig: how the log shim is configured without touching programs.
//
// The environment variable RVM_MIRRORS names the mirrors (URIs separated by
// commas or spaces, e.g. "tcp://10.0.0.2:7400,rdma://10.0.0.3:7400"); the
// optional file named by RVM_SHIM_CONFIG holds the rest as `key = value`
// lines (see README "Configuring the remote log"). With neither set the
// shim is off and the library behaves as classic RVM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "disk_writer/disk_writer_options.h"

namespace rvmr {

struct ShimConfig {
  enum class FailurePolicy {
    kFallback,  // a commit whose mirrors fail waits for the local disk instead
    kStrict,    // such a commit fails (RVM_EIO)
  };
  enum class DiskWriterKind { kAuto, kIoUring, kPwrite };

  std::vector<std::string> mirrors;  // empty: shim off
  size_t write_quorum = 0;           // acks needed per append; 0 = all mirrors
  FailurePolicy failure_policy = FailurePolicy::kFallback;
  // Refuse to start when no mirror can vouch that the disk copy holds every
  // acknowledged commit (instead of starting with a warning naming the window).
  bool require_mirror_at_recovery = false;
  // A start without mirrors may go on from the disk copy alone although the
  // log's marker says the mirrors may hold commits it lacks (see
  // remote_marker.h): those commits are abandoned. Without it such a start is
  // refused. No effect when mirrors are configured.
  bool abandon_mirror_copy = false;
  size_t staging_bytes = size_t{64} << 20;  // disk writer staging buffer
  uint64_t trim_interval_bytes = 1u << 20;  // trim mirrors after this much disk progress
  // Remote mode: how long the disk writer may wait for more bytes before it
  // writes + fdatasyncs a small batch (DiskWriterOptions::batch_delay_us).
  uint32_t disk_batch_delay_us = 1000;
  // Most group-commit batches awaiting their acks at once; commits made
  // meanwhile queue and go together in the next batch.
  uint32_t pipeline_depth = 2;
  int connect_timeout_ms = 2000;
  int io_timeout_ms = 2000;         // a mirror silent this long has failed
  int reconnect_interval_ms = 500;  // between attempts to bring a mirror back
  bool busy_poll = false;
  bool o_direct = false;
  DiskWriterKind disk_writer = DiskWriterKind::kAuto;
  std::string secret;  // loaded from secret_file
  std::string secret_file;
  std::string log_name;  // remote log name; empty = the log id in hex
  // End-to-end record protection (record_sealer.h, docs/security.md): the
  // mirrors get every record sealed under the log key, which
  // they never see; recovery verifies it. `encrypt` also hides the payload.
  // protect_records = no sends plain records (trusted networks only; a
  // reader with it on refuses plain records from a mirror).
  bool protect_records = true;
  bool encrypt = false;
  // The log key file; empty = "<log file>.key" (log_key.h).
  std::string log_key_file;
  // The log key, once loaded (not settable from a file): it also proves the
  // log's ownership to the servers (MirrorConnectOptions).
  std::string log_key;
  // Test-only (not settable from a file): fault injection into the disk writer.
  DiskFaultHook disk_fault_hook;

  bool enabled() const { return !mirrors.empty(); }
};

// Parses `key = value` lines ('#' starts a comment) into *cfg, on top of what
// it holds. InvalidArgument naming `origin`, the line and the key for an
// unknown key or a bad value. Reads the secret file if one is named.
Status ParseShimConfig(std::string_view text, std::string_view origin, ShimConfig* cfg);

// Splits a mirror list ("a,b c") into URIs.
std::vector<std::string> SplitMirrorList(std::string_view list);

// Builds the configuration from the environment: RVM_SHIM_CONFIG (a file,
// parsed first) and RVM_MIRRORS (overrides the file's `mirrors`). A named
// file that cannot be read is an error, never silently ignored.
Status LoadShimConfigFromEnv(ShimConfig* cfg);

}  // namespace rvmr
