// DiskWriter: the background writer of the local copy of the RVM log.
//
// Callers append already framed log bytes; Append copies them into a bounded
// staging ring and returns their end offset at once. A dedicated thread
// writes the staged bytes in batches (io_uring: linked writes followed by an
// fdatasync; or, where io_uring is refused, pwritev + fdatasync) into the
// circular record area of the log file, and advances the durable offset only
// when an fdatasync covering every byte before it has completed.
//
// The log is a byte stream addressed by a 64-bit logical offset that only
// grows; offset L lives at file position area_start + L % area_size.
//
// Failure: an error other than a short write, EAGAIN or EINTR (EIO, ENOSPC...)
// puts the writer into a permanent failed state: the durable offset never
// moves again, and every waiting or later Append / WaitDurable beyond the
// durable offset returns Status::Failed carrying the errno.
//
// Thread safety: Append, WaitDurable, durable_offset, Subscribe and stats may
// be called from any number of threads at once.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "common/status.h"
#include "disk_writer/disk_writer_options.h"
#include "disk_writer/disk_writer_stats.h"

namespace rvmr {

class DiskWriter {
 public:
  // Opens the log file (or adopts options.fd), sets up io_uring or the
  // fallback, and starts the writer thread. On success stores the writer in
  // *writer. InvalidArgument for inconsistent options; IoError if the file
  // cannot be opened.
  static Status Open(const DiskWriterOptions& options, std::unique_ptr<DiskWriter>* writer);

  DiskWriter(const DiskWriter&) = delete;
  DiskWriter& operator=(const DiskWriter&) = delete;

  // Close()s the writer.
  ~DiskWriter();

  // Appends n bytes at the current tail; they are contiguous in the log even
  // when other threads append at the same time. Stores the new end offset in
  // *end (may be null). Returns as soon as the bytes are copied into staging;
  // waits only while the staging ring is full (backpressure). Appends larger
  // than the staging ring are copied in pieces as space frees up. Failed if
  // the writer has failed or is closed.
  Status Append(const void* data, size_t n, uint64_t* end);

  // As Append, for the concatenation of iovcnt buffers.
  Status AppendV(const struct iovec* iov, int iovcnt, uint64_t* end);

  // Every byte before this logical offset is on stable storage.
  uint64_t durable_offset() const;

  // The end of the bytes appended so far.
  uint64_t staged_offset() const;

  // Waits until durable_offset() >= offset. OK once it is (also if the writer
  // failed afterwards); Failed with the errno if the writer fails first;
  // InvalidArgument if offset lies beyond the bytes appended so far.
  Status WaitDurable(uint64_t offset);

  // Registers fn to be called with each new durable offset, in increasing
  // order, from the writer thread, for every advance after this call. fn must
  // be quick and must not call Append, WaitDurable, Subscribe or Close.
  void Subscribe(std::function<void(uint64_t)> fn);

  // Makes every appended byte durable, stops the writer thread and closes the
  // file if the writer opened it. Later Appends fail. Returns the failure
  // that stopped the writer, if any. Idempotent.
  Status Close();

  // A snapshot of the counters.
  DiskWriterStats stats() const;

 private:
  class Impl;
  explicit DiskWriter(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace rvmr
