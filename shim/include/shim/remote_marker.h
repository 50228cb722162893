// RemoteMarker: the file "<log>.remote" beside a log that has been used in
// remote mode. In remote mode the disk copy is written in the background, so
// after a crash the last acknowledged commits may be held only by the
// mirrors; the marker is how a later start knows to look for them.
//
// States:
//   open       a remote-mode writer opened the log and did not close it
//              cleanly (running, or crashed): the mirrors may hold
//              acknowledged commits beyond the disk copy. A start without
//              mirrors is refused unless abandon_mirror_copy is set.
//   closed     the last remote-mode writer closed cleanly (rvm_terminate):
//              the disk copy holds everything the mirrors were sent.
//   abandoned  a start without mirrors went on from the disk copy alone
//              (abandon_mirror_copy): what the mirrors hold beyond it is
//              void. The next start with mirrors drops their copy, continues
//              the log beyond it and records stale_below_epoch.
//
// Format: text. The first line is "remote log '<name>'" (markers written by
// earlier versions hold only that line; they read as state open), then
// "key = value" lines: state, log_id, disk_end, stale_below_epoch. Unknown
// keys are ignored. A marker is replaced atomically (temporary file, fsync,
// rename, fsync of the directory).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "shim/log_status.h"

namespace rvmr {

struct RemoteMarker {
  enum class State { kOpen, kClosed, kAbandoned };

  std::string name;    // the log's name on the mirrors
  std::string log_id;  // the log's id in hex ("" in markers of earlier versions)
  State state = State::kOpen;
  // open: the tail the writer recovered at its open; closed: the end of the
  // disk copy at the clean close; abandoned: the end of the disk copy when
  // the mirrors' copy was abandoned. 0 when unknown.
  uint64_t disk_end = 0;
  // Mirror copies of the log with an epoch below this one were abandoned
  // (a mirror that missed the start that dropped the others' copies); 0:
  // none. Kept across later opens.
  uint64_t stale_below_epoch = 0;
};

// "<log_path>.remote".
std::string RemoteMarkerPath(const std::string& log_path);

// Reads the marker of the log at `log_path` into *m. *exists is false (and
// the result OK) when there is none. An unreadable file is an IoError; lines
// that cannot be parsed leave the conservative defaults (state open).
Status ReadRemoteMarker(const std::string& log_path, RemoteMarker* m, bool* exists);

// Replaces the marker of the log at `log_path` with `m`, durably and
// atomically (a crash leaves the old marker or the new one).
Status WriteRemoteMarker(const std::string& log_path, const RemoteMarker& m);

// True if `m` was written for the log whose status is `st` (not for an
// earlier log created at the same path). A marker without a log id (earlier
// versions) belongs unless its name is another log's default name.
bool RemoteMarkerBelongsTo(const RemoteMarker& m, const log::LogStatus& st);

// What a start without mirrors needs to know about a log: whether the
// mirrors may hold commits its disk copy lacks, how many bytes at most, and
// the operator's message saying so.
struct MirrorCopyCheck {
  bool marker_exists = false;
  RemoteMarker marker;
  // The marker belongs to this log and says the mirrors may hold more
  // (state open).
  bool mirrors_may_hold_more = false;
  uint64_t disk_end = 0;  // end of the valid disk copy (scanned)
  // Bytes the mirrors may hold beyond disk_end: the room the log had left
  // (head + area size - disk_end); no writer sends beyond it.
  uint64_t may_hold_bytes = 0;
  // When mirrors_may_hold_more: one paragraph naming the marker file, the
  // bound and the two ways forward (configure the mirrors, or set
  // abandon_mirror_copy = yes). Ends without a newline.
  std::string message;
};

// Fills *out for the log at `log_path`, open as `fd` with status `st` (the
// disk copy is scanned only when the marker says the mirrors may hold
// more). Errors: the marker or the disk copy could not be read.
Status CheckMirrorCopy(const std::string& log_path, int fd, const log::LogStatus& st,
                       MirrorCopyCheck* out);

}  // namespace rvmr
