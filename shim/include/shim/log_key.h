// LogKey: the secret of one log that protects its records on the mirrors
// (record_sealer.h). It lives in a key file on the writer's machine, by
// default "<log>.key" beside the log file, mode 0600; the mirrors never see
// it. Recovery from the mirrors alone (a new machine) needs a copy of it:
// docs/security.md says how to back it up.
//
// File format (text, so it can be printed and typed back): one line
//   rvm-log-key v1 <64 lowercase hex digits>
// holding 32 random bytes; a trailing newline is optional.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace rvmr::log {

inline constexpr size_t kLogKeySize = 32;

// The key file of the log at `log_path` unless `configured` names one.
std::string LogKeyPath(const std::string& log_path, const std::string& configured);

// Reads the key file at `path` into *key (kLogKeySize bytes). NotFound if it
// does not exist; InvalidArgument naming the file if it is malformed or
// readable by group or others; IoError otherwise. Never prints the key.
Status ReadLogKey(const std::string& path, std::string* key);

// Creates the key file at `path` with a fresh random key (O_EXCL, mode
// 0600, fsync'ed with its directory) and returns the key. IoError naming
// the file if it exists or cannot be written.
Status CreateLogKey(const std::string& path, std::string* key);

// Derives a 32-byte subkey for `purpose` (HMAC-SHA256(key, purpose)): the
// record key and any other use of the log key never share key material.
std::string DeriveLogSubkey(const std::string& key, const std::string& purpose);

// The seed of the log owner's key pair on the servers
// (remote_log::ConnectOptions::owner_seed): DeriveLogSubkey(key,
// "rvmr-owner-seed-v1"); empty for an empty key.
std::string OwnerSeed(const std::string& key);

}  // namespace rvmr::log
