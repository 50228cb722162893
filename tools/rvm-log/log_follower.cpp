#include "log_follower.h"

namespace rvmr::tools {

Status LogFollower::Open() {
  Status s = open_(&copy_);
  if (!s.ok()) return s;
  pos_ = copy_->scan().start;
  next_lsn_ = copy_->scan().first_lsn;
  return s;
}

Status LogFollower::Refresh(std::vector<std::string>* notes, bool* restarted) {
  *restarted = false;
  std::unique_ptr<LogCopy> c;
  Status s = open_(&c);
  if (!s.ok()) return s;
  const std::string at = std::to_string(pos_);
  if (!c->is_remote()) {
    const log::LogStatus& now = c->disk()->status();
    const log::LogStatus& was = copy_->disk()->status();
    if (now.log_id != was.log_id) {
      notes->push_back("the log was re-created (log id " + LogIdHex(was) + ", now " +
                       LogIdHex(now) + "): reading the new log from its head, offset " +
                       std::to_string(now.head));
      *restarted = true;
    } else if (now.head > pos_) {
      notes->push_back("the head moved to offset " + std::to_string(now.head) + " (lsn " +
                       std::to_string(now.head_lsn) + "), past offset " + at + ": records [" + at +
                       ", " + std::to_string(now.head) +
                       ") were truncated before they were read; continuing at the head");
    } else {
      copy_ = std::move(c);
      return s;
    }
    pos_ = now.head;
    next_lsn_ = now.head_lsn;
  } else {
    const remote_log::LogInfo& now = c->remote().info;
    if (now.tail < pos_) {
      notes->push_back("the copy now ends at offset " + std::to_string(now.tail) +
                       ", before offset " + at + " (replaced?): reading it again from offset " +
                       std::to_string(now.start));
      *restarted = true;
    } else if (now.start > pos_) {
      notes->push_back("the server now holds the copy from offset " + std::to_string(now.start) +
                       ", past offset " + at + ": records [" + at + ", " +
                       std::to_string(now.start) +
                       ") were trimmed before they were read; continuing there");
    } else {
      copy_ = std::move(c);
      return s;
    }
    pos_ = now.start;
    next_lsn_ = 0;
  }
  copy_ = std::move(c);
  return s;
}

ScanOptions LogFollower::Next() const {
  ScanOptions so = copy_->scan();
  so.start = pos_;
  so.first_lsn = next_lsn_;
  return so;
}

void LogFollower::Advance(const ScanResult& r) {
  pos_ = r.end;
  if (r.records > 0) next_lsn_ = r.end_lsn + 1;
}

}  // namespace rvmr::tools
