/*
 * rvm_segment.h - the RVM segment loader (libseg).
 *
 * A segment is a data file (or device) whose first page is a header that
 * lists regions: each region names a byte range of the file and the fixed
 * virtual address it is mapped at. rvm_create_segment writes such a header,
 * rvm_load_segment maps every listed region at its recorded address and
 * rvm_release_segment unmaps them again. The on-disk header is byte for
 * byte the one written by Coda's libseg (docs/segment-format.md).
 */
#ifndef _RVM_SEGMENT_H_
#define _RVM_SEGMENT_H_

#include <rvm/rvm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The header occupies the first page of the segment. Like RVM_PAGE_SIZE this
 * evaluates to 0 until rvm_initialize has run. */
#define RVM_SEGMENT_HDR_SIZE RVM_PAGE_SIZE

/* One region of a segment: where it lies in the file and where it maps. */
typedef struct {
  rvm_offset_t offset; /* byte offset of the region in the segment */
  rvm_length_t length; /* region length in bytes */
  char* vmaddr;        /* fixed virtual address the region is mapped at */
} rvm_region_def_t;

/* Fills in a region definition (a statement sequence, as the original's). */
#define RVM_INIT_REGION(region, off, len, addr) \
  (region).length = (len);                      \
  (region).vmaddr = (addr);                     \
  (region).offset = (off);

/* Returned when the segment header is not a segment header. */
#define RVM_ESEGMENT_HDR 2000

/* Writes a new segment header describing nregions regions, laid out one
 * after the other from the end of the header page, in ascending vmaddr order
 * (region_defs is sorted in place by vmaddr). Only the offsets are chosen
 * here: lengths and addresses come from region_defs. The header is written
 * under a flushed RVM transaction. RVM_ERANGE if the regions overlap in
 * memory. */
rvm_return_t rvm_create_segment(char* DevName, rvm_offset_t DevLength, rvm_options_t* options,
                                rvm_length_t nregions, rvm_region_def_t* region_defs);

/* Reads the segment header of DevName and maps every region it lists at its
 * recorded address (never replacing an existing mapping: RVM_EVM_OVERLAP if
 * the address range is in use). On success *regions is a malloc'ed array of
 * *nregions definitions, to be handed back to rvm_release_segment. Sets the
 * globals rds_startaddr (first region's address) and rds_rvmsize (sum of the
 * region lengths). RVM_ESEGMENT_HDR for a damaged header, RVM_EVERSION_SKEW
 * for a header of another loader version. */
rvm_return_t rvm_load_segment(char* DevName, rvm_offset_t DevLength, rvm_options_t* options,
                              unsigned long* nregions, rvm_region_def_t* regions[]);

/* Unmaps the regions returned by rvm_load_segment, releases their address
 * space and frees *regions. Returns the last unmap error, if any. */
rvm_return_t rvm_release_segment(unsigned long nregions, rvm_region_def_t** regions);

/* libseg also exports `long rds_rvmsize` and `char *rds_startaddr`, set by
 * rvm_load_segment. Like the original's header this one does not declare
 * them, because programs declare them themselves. */

#ifdef __cplusplus
}
#endif

#endif /* _RVM_SEGMENT_H_ */
