#include "coda_log/coda_log_format.h"

namespace rvmr::coda {

namespace {

uint64_t Word(const char* p) { return LoadU64(p); }

// Zeroes the bytes of `w` before byte `first` and after byte `last`.
uint64_t Mask(uint64_t w, unsigned first, unsigned last) {
  if (first > 0) w &= ~uint64_t{0} << (8 * first);
  if (last < 7) w &= ~uint64_t{0} >> (8 * (7 - last));
  return w;
}

std::string FixedString(const char* p, size_t max) {
  size_t n = 0;
  while (n < max && p[n] != '\0') ++n;
  return std::string(p, n);
}

uint64_t OffsetLow(const char* p) { return LoadU64(p + 8); }

}  // namespace

uint64_t Checksum(const char* words, unsigned skew, uint64_t len) {
  if (len == 0) return 0;
  uint64_t nwords = (skew + len + 7) / 8;
  uint64_t last = nwords - 1;
  // The first word loses the bytes before the span; the last word, counted
  // only when the span covers three words or more, the bytes after it.
  uint64_t sum = Mask(Word(words), skew, 7);
  if (last >= 2) sum += Mask(Word(words + 8 * last), 0, static_cast<unsigned>((skew + len - 1) % 8));
  if (last <= 1) return sum;
  for (uint64_t i = 1; i < last; ++i) sum += Word(words + 8 * i);
  return sum;
}

bool LooksLikeStatusBlock(const char* block) {
  using namespace status_field;
  return LoadU32(block + kStructId) == kIdDevStatus &&
         std::string_view(block + kVersion, kInterfaceVersionPrefix.size()) ==
             kInterfaceVersionPrefix;
}

Status DecodeLogStatus(const char* block, uint64_t status_offset, uint64_t file_size,
                       LogStatus* out) {
  using namespace status_field;
  if (LoadU32(block + kStructId) != kIdDevStatus)
    return Status::Corruption("no status block of the original RVM (structure id " +
                              std::to_string(LoadU32(block + kStructId)) + ", expected 24)");
  // The checksum is taken with its own field as zero.
  std::string copy(block, kStatusAreaSize);
  StoreU64(copy.data() + kChecksum, 0);
  uint64_t sum = Checksum(copy.data(), 0, kStatusAreaSize);
  LogStatus s;
  s.status_offset = status_offset;
  s.stored_checksum = LoadU64(block + kChecksum);
  if (sum != s.stored_checksum)
    return Status::Corruption("the original RVM's status block is damaged (checksum " +
                              std::to_string(sum) + ", stored " +
                              std::to_string(s.stored_checksum) + ")");
  s.version = FixedString(block + kVersion, kVersionMax);
  s.log_version = FixedString(block + kLogVersionStr, kVersionMax);
  s.statistics_version = FixedString(block + kStatisticsVersionStr, kVersionMax);
  if (s.log_version != kLogVersion)
    return Status::NotSupported("log version '" + s.log_version + "' of the original RVM (this "
                                "reader knows '" + std::string(kLogVersion) + "')");
  if (s.statistics_version != kStatisticsVersion)
    return Status::NotSupported("statistics version '" + s.statistics_version +
                                "' of the original RVM (this reader knows '" +
                                std::string(kStatisticsVersion) + "')");
  const char* st = block + kStatus;
  s.log_empty = LoadU32(st + kLogEmpty) != 0;
  s.log_start = OffsetLow(st + kLogStart);
  s.log_size = OffsetLow(st + kLogSize);
  s.log_head = OffsetLow(st + kLogHead);
  s.log_tail = OffsetLow(st + kLogTail);
  s.prev_log_head = OffsetLow(st + kPrevLogHead);
  s.prev_log_tail = OffsetLow(st + kPrevLogTail);
  s.status_init = LoadTimeval(st + kStatusInit);
  s.status_write = LoadTimeval(st + kStatusWrite);
  s.last_trunc = LoadTimeval(st + kLastTrunc);
  s.prev_trunc = LoadTimeval(st + kPrevTrunc);
  s.last_commit = LoadTimeval(st + kLastCommit);
  s.first_rec_num = LoadU64(st + kFirstRecNum);
  s.last_rec_num = LoadU64(st + kLastRecNum);
  s.next_rec_num = LoadU64(st + kNextRecNum);
  s.tot_wrap = LoadU64(st + kTotWrap);
  // Every offset is a low word; a high word would mean a log beyond 2^64.
  for (size_t f : {kLogStart, kLogSize, kLogHead, kLogTail, kPrevLogHead, kPrevLogTail}) {
    if (LoadU64(st + f) != 0)
      return Status::Corruption("the original RVM's status block has an offset beyond 2^64");
  }
  uint64_t end = s.log_start + s.log_size;
  auto inside = [&](uint64_t off) { return off >= s.log_start && off <= end && off % 8 == 0; };
  if (s.log_start < status_offset + kStatusAreaSize || s.log_size == 0 || end < s.log_start ||
      (file_size != 0 && end > file_size) || !inside(s.log_head) || !inside(s.log_tail) ||
      (s.prev_log_head != 0 && (!inside(s.prev_log_head) || !inside(s.prev_log_tail)))) {
    return Status::Corruption(
        "the original RVM's status block describes a record area that does not fit the file "
        "(start " + std::to_string(s.log_start) + ", size " + std::to_string(s.log_size) +
        ", head " + std::to_string(s.log_head) + ", tail " + std::to_string(s.log_tail) +
        ", file size " + std::to_string(file_size) + ")");
  }
  *out = s;
  return Status::Ok();
}

}  // namespace rvmr::coda
