#include "segment_dictionary.h"

#include "shim/log_format.h"

namespace rvmr::compat {

uint32_t SegmentDictionary::CodeFor(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = by_path_.find(path);
  if (it != by_path_.end()) return it->second;
  uint32_t code = static_cast<uint32_t>(entries_.size() + 1);
  entries_.push_back(Entry{path, code, 0});
  by_path_[path] = code;
  return code;
}

uint64_t SegmentDictionary::RecordSize(uint32_t code) {
  std::lock_guard<std::mutex> l(mu_);
  return log::RecordSize(8 + entries_[code - 1].path.size());
}

uint64_t SegmentDictionary::Missing(const std::vector<uint32_t>& codes, std::vector<Entry*>* out) {
  uint64_t need = 0;
  std::lock_guard<std::mutex> l(mu_);
  for (uint32_t c : codes) {
    Entry* e = &entries_[c - 1];
    if (e->gen != gen_) {
      out->push_back(e);
      need += log::RecordSize(8 + e->path.size());
    }
  }
  return need;
}

}  // namespace rvmr::compat
