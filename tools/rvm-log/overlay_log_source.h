// OverlayLogSource: a LogSource whose bytes [base, base + bytes.size()) come
// from memory (a remote copy fetched whole) and whose other bytes come from
// an optional lower source (the disk log). Used to read a remote copy alone,
// or the disk copy continued by a remote tail.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shim/log_source.h"

namespace rvmr::tools {

class OverlayLogSource : public log::LogSource {
 public:
  // `bytes` (not copied; must outlive this) are the log at [base, ...).
  // `lower` (may be null, not owned) serves offsets outside the memory range;
  // without it such reads fail with IoError naming `what`. `area_size`
  // bounds record lengths as for the disk log.
  OverlayLogSource(log::LogSource* lower, uint64_t base, std::string_view bytes, uint64_t area_size,
                   std::string what)
      : lower_(lower), base_(base), bytes_(bytes), area_size_(area_size), what_(std::move(what)) {}

  Status Read(uint64_t offset, void* dst, size_t n) override;
  uint64_t area_size() const override { return area_size_; }
  uint64_t base() const { return base_; }
  uint64_t end() const { return base_ + bytes_.size(); }

 private:
  Status ReadLower(uint64_t offset, char* dst, size_t n);

  log::LogSource* lower_;
  uint64_t base_;
  std::string_view bytes_;
  uint64_t area_size_;
  std::string what_;
};

}  // namespace rvmr::tools
