// The libseg C interface: rvm_create_segment, rvm_load_segment,
// rvm_release_segment (contracts in rvm/rvm_segment.h; on-disk header in
// docs/segment-format.md).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <rvm/rvm_segment.h>

#include "address_space.h"
#include "common/diag.h"
#include "segment_header.h"

extern "C" {
long rds_rvmsize = 0;
char* rds_startaddr = nullptr;
}

namespace rvmr::seg {
namespace {

// An rvm_region_t from rvm_malloc_region whose data_dev string we own.
class RegionDescriptor {
 public:
  RegionDescriptor(const char* dev, rvm_offset_t dev_length)
      : region_(rvm_malloc_region()), dev_(strdup(dev)) {
    if (region_ != nullptr) {
      region_->data_dev = dev_;
      region_->dev_length = dev_length;
    }
  }
  ~RegionDescriptor() {
    if (region_ != nullptr) {
      region_->data_dev = nullptr;
      rvm_free_region(region_);
    }
    free(dev_);
  }
  RegionDescriptor(const RegionDescriptor&) = delete;
  RegionDescriptor& operator=(const RegionDescriptor&) = delete;

  bool valid() const { return region_ != nullptr && dev_ != nullptr; }
  rvm_region_t* get() { return region_; }

 private:
  rvm_region_t* region_;
  char* dev_;
};

// True when two of the regions overlap in virtual memory. Sorts `defs` by
// vmaddr in place first, as the original does (rvm_create_segment therefore
// lays regions out in address order).
bool SortAndCheckOverlap(unsigned long n, rvm_region_def_t* defs) {
  if (n < 2) return false;
  std::vector<rvm_region_def_t> sorted(defs, defs + n);
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const rvm_region_def_t& a, const rvm_region_def_t& b) { return a.vmaddr < b.vmaddr; });
  std::copy(sorted.begin(), sorted.end(), defs);
  for (unsigned long i = 0; i + 1 < n; ++i) {
    if (defs[i].vmaddr + defs[i].length > defs[i + 1].vmaddr) return true;
  }
  return false;
}

// Maps the header page of `dev` at a library-chosen address. On success
// *hdr_addr is the page and the caller must unmap `region` and release it.
rvm_return_t MapHeaderPage(rvm_region_t* region, rvm_options_t* options, bool let_rvm_allocate) {
  RVM_ZERO_OFFSET(region->offset);
  region->length = RVM_SEGMENT_HDR_SIZE;
  region->vmaddr = nullptr;
  if (!let_rvm_allocate) {
    Status s = ReserveRange(&region->vmaddr, region->length);
    if (!s.ok()) return ToRvmReturn(s);
  }
  rvm_return_t err = rvm_map(region, options);
  if (err != RVM_SUCCESS && !let_rvm_allocate) {
    ReleaseRange(region->vmaddr, region->length);
    region->vmaddr = nullptr;
  }
  return err;
}

void UnmapHeaderPage(rvm_region_t* region) {
  rvm_unmap(region);
  ReleaseRange(region->vmaddr, region->length);
}

}  // namespace
}  // namespace rvmr::seg

using namespace rvmr::seg;

extern "C" rvm_return_t rvm_create_segment(char* DevName, rvm_offset_t DevLength,
                                           rvm_options_t* options, rvm_length_t nregions,
                                           rvm_region_def_t* region_defs) {
  if (DevName == nullptr || (nregions > 0 && region_defs == nullptr)) return RVM_EINTERNAL;
  if (SortAndCheckOverlap(nregions, region_defs)) return RVM_ERANGE;
  if (rvm_page_size() == 0) return RVM_EINIT;
  if (nregions > MaxRegions(rvm_page_size())) return RVM_ETOO_BIG;

  RegionDescriptor region(DevName, DevLength);
  if (!region.valid()) return RVM_ENO_MEMORY;
  rvm_return_t err = MapHeaderPage(region.get(), options, false);
  if (err != RVM_SUCCESS) return err;

  rvm_tid_t* tid = rvm_malloc_tid();
  err = rvm_begin_transaction(tid, restore);
  if (err == RVM_SUCCESS) {
    auto* hdr = reinterpret_cast<SegmentHeader*>(region.get()->vmaddr);
    err = rvm_set_range(tid, hdr, RVM_SEGMENT_HDR_SIZE);
    if (err != RVM_SUCCESS) {
      rvm_abort_transaction(tid);
    } else {
      // Only the fields are written; the rest of the page keeps the file's
      // bytes, exactly as the original loader leaves it.
      hdr->struct_id = kSegmentHeaderId;
      memcpy(hdr->version, kSegmentVersion, sizeof(kSegmentVersion));
      hdr->nregions = nregions;
      rvm_offset_t next = RVM_MK_OFFSET(0, RVM_SEGMENT_HDR_SIZE);
      for (rvm_length_t i = 0; i < nregions; ++i) {
        hdr->regions[i].offset = next;
        hdr->regions[i].length = region_defs[i].length;
        hdr->regions[i].vmaddr = region_defs[i].vmaddr;
        next = rvm_add_length_to_offset(&next, region_defs[i].length);
      }
      err = rvm_end_transaction(tid, flush);
    }
  }
  rvm_free_tid(tid);

  rvm_return_t unmap_err = rvm_unmap(region.get());
  ReleaseRange(region.get()->vmaddr, region.get()->length);
  if (err != RVM_SUCCESS) return err;
  return unmap_err;
}

extern "C" rvm_return_t rvm_load_segment(char* DevName, rvm_offset_t DevLength,
                                         rvm_options_t* options, unsigned long* nregions,
                                         rvm_region_def_t* regions[]) {
  if (DevName == nullptr || nregions == nullptr || regions == nullptr) return RVM_EINTERNAL;
  if (rvm_page_size() == 0) return RVM_EINIT;
  rds_rvmsize = 0;
  const bool map_private = RvmMapsPrivate();

  RegionDescriptor hdr_region(DevName, DevLength);
  RegionDescriptor region(DevName, DevLength);
  if (!hdr_region.valid() || !region.valid()) return RVM_ENO_MEMORY;
  rvm_return_t err = MapHeaderPage(hdr_region.get(), options, map_private);
  if (err != RVM_SUCCESS) return err;

  // Work on a private copy of the header so nothing is written to the mapped
  // page (the original sorts the mapped table in place, outside a
  // transaction).
  const auto* mapped = reinterpret_cast<const SegmentHeader*>(hdr_region.get()->vmaddr);
  const unsigned long max_regions = MaxRegions(rvm_page_size());
  if (mapped->struct_id != kSegmentHeaderId || mapped->nregions > max_regions) {
    UnmapHeaderPage(hdr_region.get());
    return RVM_ESEGMENT_HDR;
  }
  if (strncmp(mapped->version, kSegmentVersion, RVM_VERSION_MAX) != 0) {
    UnmapHeaderPage(hdr_region.get());
    return RVM_EVERSION_SKEW;
  }
  const unsigned long n = mapped->nregions;
  std::vector<rvm_region_def_t> defs(mapped->regions, mapped->regions + n);
  UnmapHeaderPage(hdr_region.get());

  // The caller's table keeps the header's order; the overlap check sorts a copy.
  std::vector<rvm_region_def_t> by_addr = defs;
  if (SortAndCheckOverlap(n, by_addr.data())) return RVM_EVM_OVERLAP;

  auto* out = static_cast<rvm_region_def_t*>(malloc(sizeof(rvm_region_def_t) * (n ? n : 1)));
  if (out == nullptr) return RVM_ENO_MEMORY;
  rds_startaddr = n > 0 ? defs[0].vmaddr : nullptr;

  unsigned long mapped_count = 0;
  for (; mapped_count < n; ++mapped_count) {
    const rvm_region_def_t& d = defs[mapped_count];
    out[mapped_count] = d;
    rvm_region_t* r = region.get();
    r->offset = d.offset;
    r->length = d.length;
    r->vmaddr = d.vmaddr;
    rvmr::Status s;
    if (!map_private) {
      s = ReserveRange(&r->vmaddr, r->length);
    } else {
      // rvm_map maps the file privately itself; make sure it cannot land on
      // top of something already there.
      s = ProbeRangeFree(r->vmaddr, r->length);
      if (s.ok() && !RegisterRange(r->vmaddr, r->length)) {
        s = rvmr::Status::Failed("librvm refused to register the region pages");
      }
    }
    if (!s.ok()) {
      err = ToRvmReturn(s);
      break;
    }
    err = rvm_map(r, options);
    if (err != RVM_SUCCESS) {
      ReleaseRange(d.vmaddr, d.length);
      break;
    }
    rds_rvmsize += static_cast<long>(d.length);
  }
  if (err != RVM_SUCCESS) {
    // Undo the regions already mapped so a retry starts from a clean slate.
    for (unsigned long i = 0; i < mapped_count; ++i) {
      rvm_region_t* r = region.get();
      r->offset = out[i].offset;
      r->length = out[i].length;
      r->vmaddr = out[i].vmaddr;
      rvm_unmap(r);
      ReleaseRange(out[i].vmaddr, out[i].length);
    }
    free(out);
    rds_rvmsize = 0;
    return err;
  }
  *nregions = n;
  *regions = out;
  return RVM_SUCCESS;
}

extern "C" rvm_return_t rvm_release_segment(unsigned long nregions, rvm_region_def_t** regions) {
  if (regions == nullptr || *regions == nullptr) return RVM_SUCCESS;
  rvm_region_t* region = rvm_malloc_region();
  if (region == nullptr) return RVM_ENO_MEMORY;
  rvm_return_t last_err = RVM_SUCCESS;
  for (unsigned long i = 0; i < nregions; ++i) {
    const rvm_region_def_t& d = (*regions)[i];
    region->offset = d.offset;
    region->length = d.length;
    region->vmaddr = d.vmaddr;
    rvm_return_t err = rvm_unmap(region);
    if (err != RVM_SUCCESS) {
      rvmr::Report(rvmr::DiagLevel::kWarning, "rvm_release_segment: unmap of region %lu failed: %s",
                   i, rvm_return(err));
      last_err = err;
      continue;  // still mapped (e.g. uncommitted): keep its memory
    }
    ReleaseRange(d.vmaddr, d.length);
  }
  rvm_free_region(region);
  free(*regions);
  *regions = nullptr;
  return last_err;
}
