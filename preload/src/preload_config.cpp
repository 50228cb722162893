#include "preload/preload_config.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstring>

#include "shim/log_key.h"

namespace rvmr::preload {

bool PreloadConfig::Matches(std::string_view abs_path) const {
  std::string p(abs_path);
  for (const std::string& pat : patterns) {
    if (!pat.empty() && pat.back() == '/') {
      if (p.size() > pat.size() && p.compare(0, pat.size(), pat) == 0) return true;
    } else if (::fnmatch(pat.c_str(), p.c_str(), 0) == 0) {
      return true;
    }
  }
  return false;
}

Status ParseLogPatterns(std::string_view value, std::vector<std::string>* out) {
  out->clear();
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t colon = value.find(':', pos);
    if (colon == std::string_view::npos) colon = value.size();
    std::string item(value.substr(pos, colon - pos));
    pos = colon + 1;
    if (item.empty()) continue;
    if (item[0] != '/')
      return Status::InvalidArgument("RVM_PRELOAD_LOGS entry is not absolute: " + item);
    struct stat st;
    bool is_dir = item.back() == '/' || (::stat(item.c_str(), &st) == 0 && S_ISDIR(st.st_mode));
    if (is_dir) {
      char buf[PATH_MAX];
      if (::realpath(item.c_str(), buf) != nullptr) item = buf;
      while (item.size() > 1 && item.back() == '/') item.pop_back();
      item += '/';
    }
    out->push_back(item);
  }
  return Status::Ok();
}

std::string PreloadKeyPath(const ShimConfig& sc) {
  const char* env = ::getenv("RVM_PRELOAD_KEY");
  if (env != nullptr && env[0] != '\0') return env;
  if (!sc.log_key_file.empty()) return sc.log_key_file;
  const char* home = ::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return std::string(home) + "/.rvm-preload.key";
  return "";
}

SealMode SealModeFor(const ShimConfig& sc) {
  if (!sc.protect_records) return SealMode::kPlain;
  return sc.encrypt ? SealMode::kEncrypt : SealMode::kAuthenticate;
}

Status LoadPreloadKey(const ShimConfig& sc, bool create, std::string* key, std::string* path,
                      bool* created) {
  key->clear();
  *created = false;
  *path = PreloadKeyPath(sc);
  if (path->empty()) {
    if (!sc.protect_records) return Status::Ok();
    return Status::InvalidArgument(
        "no preload key file: set RVM_PRELOAD_KEY or log_key_file (HOME is not set)");
  }
  Status s = log::ReadLogKey(*path, key);
  if (s.code() == Status::Code::kNotFound) {
    if (!sc.protect_records) return Status::Ok();
    if (!create) return Status::NotFound("preload key file " + *path + " does not exist");
    s = log::CreateLogKey(*path, key);
    if (s.ok()) *created = true;
  }
  return s;
}

Status LoadPreloadConfigFromEnv(PreloadConfig* cfg) {
  const char* logs = ::getenv("RVM_PRELOAD_LOGS");
  if (logs != nullptr) {
    Status s = ParseLogPatterns(logs, &cfg->patterns);
    if (!s.ok()) return s;
  }
  Status s = LoadShimConfigFromEnv(&cfg->shim);
  if (!s.ok()) return s;
  const char* r = ::getenv("RVM_PRELOAD_RESTORE");
  cfg->auto_restore = r != nullptr && std::strcmp(r, "auto") == 0;
  const char* t = ::getenv("RVM_PRELOAD_TEST_NO_DISK_SYNC");
  cfg->test_no_disk_sync = t != nullptr && std::strcmp(t, "1") == 0;
  cfg->seal_mode = SealModeFor(cfg->shim);
  if (!cfg->active()) return Status::Ok();
  return LoadPreloadKey(cfg->shim, true, &cfg->key, &cfg->key_file, &cfg->key_created);
}

}  // namespace rvmr::preload
