// SplitLogSource: reads logical offsets below `split` from one LogSource
// (the disk copy) and offsets at or above it from another (a remote copy):
// the disk copy continued by a remote tail.
#pragma once

#include <cstdint>

#include "shim/log_source.h"

namespace rvmr::tools {

class SplitLogSource : public log::LogSource {
 public:
  // Neither source is owned; both must outlive this. area_size() is the
  // lower source's.
  SplitLogSource(log::LogSource* lower, log::LogSource* upper, uint64_t split)
      : lower_(lower), upper_(upper), split_(split) {}

  Status Read(uint64_t offset, void* dst, size_t n) override;
  uint64_t area_size() const override { return lower_->area_size(); }

 private:
  log::LogSource* lower_;
  log::LogSource* upper_;
  uint64_t split_;
};

}  // namespace rvmr::tools
