// SegmentDictionary: the segment codes of the files this process maps, and
// which of them still need a dictionary record in the log.
//
// A transaction names its segments by code; a dictionary record (code ->
// path) must come before the first use of a code at or after the point where
// the log's head may next be placed, or recovery from there could not
// resolve it. The framer starts a new generation at each such point
// (truncation snapshots and window boundaries, see LogTruncator); a segment
// whose last dictionary record is from an older generation gets a new one.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace rvmr::compat {

class SegmentDictionary {
 public:
  struct Entry {
    std::string path;
    uint32_t code = 0;
    uint64_t gen = 0;  // the append lock: generation of its last dictionary record
  };

  // The code of `path` (an absolute path), assigning the next one (1, 2, ...)
  // on first use. Thread-safe.
  uint32_t CodeFor(const std::string& path);

  // Bytes the dictionary record of `code` takes in the log. Thread-safe.
  uint64_t RecordSize(uint32_t code);

  // The following are for the framer; the caller serializes them (the
  // append lock).

  // Appends to *out the entries among `codes` that have no dictionary record
  // in the current generation; returns the log bytes their records take.
  uint64_t Missing(const std::vector<uint32_t>& codes, std::vector<Entry*>* out);
  // Marks `e` as having a dictionary record in the current generation.
  void MarkWritten(Entry* e) { e->gen = gen_; }
  // Starts a new generation: every segment needs a dictionary record again.
  void NewGeneration() { gen_++; }

 private:
  std::mutex mu_;
  std::deque<Entry> entries_;  // mu_ (code = index + 1; never shrinks: stable pointers)
  std::unordered_map<std::string, uint32_t> by_path_;  // mu_
  uint64_t gen_ = 1;                                   // the caller's append lock
};

}  // namespace rvmr::compat
