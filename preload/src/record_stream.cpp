#include "preload/record_stream.h"

#include <algorithm>

namespace rvmr::preload {

RecordStream::RecordStream(remote_log::Connection* conn, RecordCodec* codec, uint64_t from,
                           uint64_t tail)
    : conn_(conn), codec_(codec), pos_(from), read_at_(from), tail_(tail) {}

Status RecordStream::Next(RecordHeader* h, std::string_view* payload) {
  if (consumed_ > 0) {
    buf_.erase(0, consumed_);
    pos_ += consumed_;
    consumed_ = 0;
  }
  for (;;) {
    if (pos_ >= tail_) return Status::NotFound("end of the copy");
    size_t need = 0;
    Status d = buf_.empty() ? Status::InvalidArgument("empty")
                            : codec_->Decode(buf_.data(), buf_.size(), pos_, h, payload, &need);
    if (d.ok()) {
      consumed_ = need;
      return d;
    }
    if (d.code() != Status::Code::kInvalidArgument) {
      buf_.clear();
      read_at_ = pos_;
      return d;
    }
    if (read_at_ >= tail_)
      return Status::Corruption("record at stream offset " + std::to_string(pos_) +
                                ": the copy ends inside it (at " + std::to_string(tail_) + ")");
    size_t want = std::max<size_t>(need, kRecordHeaderSize);
    size_t chunk = std::max<size_t>(want - std::min(want, buf_.size()), size_t{4} << 20);
    chunk = static_cast<size_t>(std::min<uint64_t>(chunk, tail_ - read_at_));
    size_t used = buf_.size();
    buf_.resize(used + chunk);
    size_t got = 0;
    Status r = conn_->Read(read_at_, chunk, buf_.data() + used, &got);
    buf_.resize(used + (r.ok() ? got : 0));
    if (!r.ok()) return r;
    if (got == 0)
      return Status::Corruption("record at stream offset " + std::to_string(pos_) +
                                ": the mirror returned no bytes at " + std::to_string(read_at_));
    read_at_ += got;
  }
}

}  // namespace rvmr::preload
