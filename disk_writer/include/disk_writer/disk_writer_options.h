// DiskWriterOptions: how a DiskWriter finds its log file, where in it the
// circular record area lies, how much memory it may stage, and the test-only
// fault hook.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace rvmr {

// One I/O operation the writer is about to submit, shown to the fault hook.
struct DiskFaultRequest {
  enum class Op { kWrite, kSync };
  Op op = Op::kWrite;
  // kWrite: the logical log offset of the first byte and the byte count the
  // write asks for. kSync: the logical end offset the sync would make durable
  // and 0.
  uint64_t logical_offset = 0;
  size_t length = 0;
};

// What the fault hook wants done to one operation. The operation is still
// submitted to the kernel (io_uring or pwritev/fdatasync); only its length or
// its reported result changes.
struct DiskFaultAction {
  // > 0: the operation completes with -error (EIO, ENOSPC, EAGAIN, EINTR...)
  // whatever the kernel did with it (a write is submitted with 0 bytes).
  int error = 0;
  // For a write, if < length: the write is submitted with only this many
  // bytes (rounded down to the block size under O_DIRECT), so the kernel
  // really performs a short write.
  size_t short_length = SIZE_MAX;
};

using DiskFaultHook = std::function<DiskFaultAction(const DiskFaultRequest&)>;

struct DiskWriterOptions {
  // The log file: either a path (opened O_RDWR|O_CREAT, owned and closed by
  // the writer) or an already open descriptor (fd >= 0; not closed by the
  // writer; with use_o_direct and no O_DIRECT on fd, the writer opens the
  // file again through /proc/self/fd with O_DIRECT). Exactly one of the two.
  std::string path;
  int fd = -1;

  // The record area is the file range [area_start, area_start + area_size).
  // Logical offset L is stored at file position area_start + L % area_size.
  // Under O_DIRECT both must be multiples of kDirectIoAlignment.
  uint64_t area_start = 0;
  uint64_t area_size = 0;

  // The log's current tail: the first Append lands here.
  uint64_t initial_offset = 0;

  // Bound on bytes staged in memory but not yet durable; Append waits when it
  // is full. Rounded up to a multiple of 4096; at least 4096. Open only
  // reserves this memory and does not touch it, so its cost does not grow
  // with the size; the writer thread then touches the pages ahead of the
  // appenders when it has time to spare (see docs/disk-writer.md).
  size_t staging_bytes = 16u << 20;

  // Most bytes one write batch (writes + one fdatasync) covers; 0: half the
  // staging ring. Larger batches mean fewer fdatasyncs when the disk is
  // behind; a batch never waits to fill up.
  size_t max_batch_bytes = 0;

  // Write batches in flight at once under io_uring, each ending in its own
  // fdatasync (a batch is durable when its sync and those of every earlier
  // batch have completed). A second batch starts while one is in flight only
  // once a quarter of max_batch_bytes waits. 1 disables this pipelining; the
  // fallback thread always runs one batch at a time.
  int max_inflight_batches = 2;

  // When > 0: with nothing in flight and a backlog smaller than a quarter of
  // max_batch_bytes, the writer waits up to this long (from the end of the
  // previous batch) for more bytes before it starts the next batch, so that
  // a stream of small appends costs one write + fdatasync per interval, not
  // one per append. It never delays a byte someone waits for: WaitDurable and
  // Close start the batch at once. 0 (the default): a batch never waits.
  // Meant for callers whose appends are already safe elsewhere (the shim's
  // remote mode, where the mirrors hold every acknowledged byte).
  uint32_t batch_delay_us = 0;

  // Open the file with O_DIRECT and write whole aligned blocks. The partial
  // block at the tail is written zero padded, so up to 4095 bytes past the
  // log tail (in the circular area) are overwritten: the log must keep that
  // much slack between its tail and its head.
  bool use_o_direct = false;

  // Skip io_uring and use the pwritev + fdatasync thread.
  bool force_fallback = false;

  // Consecutive attempts of one batch that make no progress (EAGAIN, EINTR,
  // zero-length writes) before the writer gives up and fails.
  int max_retries = 100;

  // Test-only: consulted before each submitted write and sync, from the
  // writer thread. Empty in production.
  DiskFaultHook fault_hook;
};

// Alignment of file offsets, lengths and buffers under O_DIRECT.
inline constexpr size_t kDirectIoAlignment = 4096;

}  // namespace rvmr
