// RecordStream: reads one mirror's copy of a preload remote log record by
// record, verifying each (RecordCodec::Decode) as it goes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "preload/preload_record.h"
#include "remote_log/transport.h"

namespace rvmr::preload {

class RecordStream {
 public:
  // Reads the log open on `conn` (not owned) from stream offset `from` up
  // to `tail`, verifying with `codec` (not owned).
  RecordStream(remote_log::Connection* conn, RecordCodec* codec, uint64_t from, uint64_t tail);

  // The next record: OK with *h and *payload (valid until the next call);
  // NotFound once pos() == tail; Corruption naming the stream offset if the
  // record there fails verification or the copy ends inside it; the
  // transport's error if a read fails. After an error the stream stays
  // where it is (pos() is the offset of the record that failed).
  Status Next(RecordHeader* h, std::string_view* payload);

  // The stream offset of the next record.
  uint64_t pos() const { return pos_; }

 private:
  remote_log::Connection* conn_;
  RecordCodec* codec_;
  uint64_t pos_;      // stream offset of buf_[0]
  uint64_t read_at_;  // stream offset after the last byte read into buf_
  uint64_t tail_;
  std::string buf_;   // bytes [pos_, read_at_) of the stream
  size_t consumed_ = 0;  // bytes of buf_ the previous record took
};

}  // namespace rvmr::preload
