// SegmentHeader: the first page of an RVM data segment, byte for byte the
// layout Coda's libseg writes (docs/segment-format.md). Private to libseg.
#pragma once

#include <cstddef>
#include <cstdint>

#include <rvm/rvm_segment.h>

namespace rvmr::seg {

// Version stamp at byte 4; a different stamp means another loader release.
inline constexpr char kSegmentVersion[] = "RVM Segment Loader Release 0.1  15 Nov. 1990";
// Value of the 4-byte identifier at byte 0.
inline constexpr int32_t kSegmentHeaderId = 1;

// The region table runs to the end of the header page; one slot is kept
// spare, as in the original (127 regions on 4 KiB pages).
inline unsigned long MaxRegions(unsigned long page_size) {
  return page_size / sizeof(rvm_region_def_t) - 1;
}

struct SegmentHeader {
  int32_t struct_id;              // kSegmentHeaderId
  char version[RVM_VERSION_MAX];  // NUL-terminated kSegmentVersion
  rvm_length_t nregions;          // entries used in regions[]
  rvm_region_def_t regions[1];    // really MaxRegions(page size) entries
};

static_assert(offsetof(SegmentHeader, version) == 4);
static_assert(offsetof(SegmentHeader, nregions) == 136);
static_assert(offsetof(SegmentHeader, regions) == 144);
static_assert(sizeof(rvm_region_def_t) == 32);
static_assert(offsetof(rvm_region_def_t, length) == 16);
static_assert(offsetof(rvm_region_def_t, vmaddr) == 24);

}  // namespace rvmr::seg
