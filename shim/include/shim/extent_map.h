// ExtentMap: the bytes to write into one segment, as non-overlapping extents
// keyed by segment offset; a later Write wins where it overlaps an earlier
// one, and adjacent extents are merged so each can be written with one pwrite.
#pragma once

#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <string>

namespace rvmr::log {

class ExtentMap {
 public:
  // Records `len` bytes at `data` for segment offset `off`, replacing any
  // bytes an earlier Write recorded for the same offsets.
  void Write(uint64_t off, const char* data, uint64_t len) {
    if (len == 0) return;
    uint64_t end = off + len;
    auto it = m_.upper_bound(off);
    if (it != m_.begin()) {
      auto p = std::prev(it);
      uint64_t pend = p->first + p->second.size();
      if (pend >= end) {
        // Inside one extent (hot data written again): overwrite in place.
        // Without this, splitting and re-merging copied the whole extent,
        // which made applying a log of small updates to a large merged
        // region quadratic.
        std::memcpy(p->second.data() + (off - p->first), data, len);
        bytes_ += len;
        return;
      }
    }
    Erase(off, len);
    // Insert, merging with an adjacent predecessor / successor.
    auto next = m_.lower_bound(off);
    if (next != m_.begin()) {
      auto p = std::prev(next);
      if (p->first + p->second.size() == off) {
        p->second.append(data, len);
        if (next != m_.end() && next->first == end) {
          p->second.append(next->second);
          m_.erase(next);
        }
        bytes_ += len;
        return;
      }
    }
    std::string s(data, len);
    if (next != m_.end() && next->first == end) {
      s.append(next->second);
      m_.erase(next);
    }
    m_.emplace(off, std::move(s));
    bytes_ += len;
  }

  // Forgets the bytes recorded for [off, off + len), splitting extents that
  // reach beyond it.
  void Erase(uint64_t off, uint64_t len) {
    if (len == 0 || m_.empty()) return;
    uint64_t end = off + len;
    auto it = m_.upper_bound(off);
    if (it != m_.begin()) {
      auto p = std::prev(it);
      uint64_t pend = p->first + p->second.size();
      if (pend > off) {
        // Split p: keep its left part, and its right part beyond `end`.
        std::string right;
        if (pend > end) right = p->second.substr(end - p->first);
        p->second.resize(off - p->first);
        if (p->second.empty()) m_.erase(p);
        if (!right.empty()) m_.emplace(end, std::move(right));
      }
    }
    it = m_.lower_bound(off);
    while (it != m_.end() && it->first < end) {
      uint64_t iend = it->first + it->second.size();
      if (iend > end) {
        std::string right = it->second.substr(end - it->first);
        m_.erase(it);
        m_.emplace(end, std::move(right));
        break;
      }
      it = m_.erase(it);
    }
  }

  const std::map<uint64_t, std::string>& extents() const { return m_; }
  bool empty() const { return m_.empty(); }
  // Bytes passed to Write (not the merged size).
  uint64_t written() const { return bytes_; }

 private:
  std::map<uint64_t, std::string> m_;
  uint64_t bytes_ = 0;
};

}  // namespace rvmr::log
