// UnsealingLogSource: a LogSource over a mirror's copy of a log (sealed
// records, record_sealer.h) that a LogRecordReader reads as if it were the
// plain disk copy. Every record is verified as a whole before any byte of it
// is returned; one that fails verification makes the read fail with
// Corruption (the reader reports ReadError::kBadAuth at its offset, and
// nothing of it is ever applied).
//
// A plain record (the writer ran with protect_records = no) is passed on
// unverified only if the source was made with `accept_plain`; otherwise it
// fails like a forged one, so a mirror cannot downgrade the protection.
#pragma once

#include <cstdint>
#include <string>

#include "shim/log_source.h"
#include "shim/record_sealer.h"

namespace rvmr::log {

class UnsealingLogSource : public LogSource {
 public:
  // Reads the raw copy from `raw` (not owned), which holds the log up to
  // `limit`; `sealer` (not owned, may be null: no key) verifies.
  UnsealingLogSource(LogSource* raw, uint64_t limit, RecordSealer* sealer, bool accept_plain)
      : raw_(raw), limit_(limit), sealer_(sealer), accept_plain_(accept_plain) {}

  // Reads within the record that starts at or covers `offset`: a read that
  // is not inside the last record read must start a record.
  Status Read(uint64_t offset, void* dst, size_t n) override;
  uint64_t area_size() const override { return raw_->area_size(); }

 private:
  LogSource* raw_;
  uint64_t limit_;
  RecordSealer* sealer_;
  bool accept_plain_;
  // The last record read: [rec_base_, rec_base_ + rec_.size()), plain form.
  uint64_t rec_base_ = 0;
  std::string rec_;
};

}  // namespace rvmr::log

namespace rvmr::log {

// Turns the mirror bytes `*data`, the log's bytes from offset `base`, into
// the plain form in place, record by record from its start, and returns how
// many leading bytes are plain records that verified (or plain records,
// where `accept_plain`). It stops at the first record that fails
// verification, is plain where sealed ones are required, or is sealed while
// `sealer` is null, and then sets *why to Corruption naming its offset (OK
// otherwise: the end of the records, or a last record cut short, whose
// header is then made to look plain so that a LogRecordReader reports it as
// truncated without reading its body).
size_t UnsealRange(RecordSealer* sealer, bool accept_plain, uint64_t base, std::string* data,
                   Status* why);

}  // namespace rvmr::log
