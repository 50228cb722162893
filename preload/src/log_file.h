// LogFile: the preload shim's state for one designated file (one inode),
// shared by every descriptor the program has open on it.
//
// Writes are passed to the file as usual; LogFile only records which byte
// ranges (by file offset) they dirtied. At a sync point it reads those ranges
// back from the file (the page cache), frames them (preload_record.h) and
// appends them to the file's remote log synchronously; a background thread
// then fdatasyncs the file and, once the disk holds a prefix of the stream,
// the next sync point trims the mirrors to it.
//
// Every record is sealed (RecordCodec) under the preload key.
//
// Local mode: if the mirrors fail (fallback policy), the file is renamed out
// of the designated set or unlinked, or the file is refused (rewritten in
// place: CheckWrite, NoteResize, Refuse), sync points become a real
// fdatasync.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "preload/preload_config.h"
#include "preload/preload_record.h"
#include "remote_log/mirror_set.h"

namespace rvmr::preload {

class LogFile {
 public:
  // Sets up the state of the file `path` (absolute) that the program has
  // open as `fd`: opens a private descriptor on it, looks its remote log up
  // and, if the mirrors hold a tail the file may lack, restores it
  // (cfg.auto_restore) or fails with FailedPrecondition-like Failed naming
  // the tool to run; then opens the remote log with a new epoch and starts
  // the background syncer. `truncated`: the open truncated the file.
  static Status Open(const PreloadConfig& cfg, int fd, const std::string& path, bool truncated,
                     std::shared_ptr<LogFile>* out);

  // Drain()s, then stops the syncer.
  ~LogFile();

  dev_t dev() const { return dev_; }
  ino_t ino() const { return ino_; }
  const std::string& path() const { return path_; }

  // Serialises position-dependent writes (write/writev, O_APPEND) so the
  // offset they landed at can be read back with lseek.
  std::mutex& write_mu() { return write_mu_; }

  // Called before `op` writes [offset, offset+len) (offset unknown for
  // O_APPEND: skip the call). A write below the frontier (the end of what
  // earlier sync points sent) that changes bytes which are not all zero is
  // an in-place rewrite: Refuse(op). A write at offset 0 starts the log
  // anew (SQLite's WAL restart): the frontier goes back to 0.
  void CheckWrite(uint64_t offset, uint64_t len, const char* op);
  // Records that [offset, offset+len) was written.
  void NoteWrite(uint64_t offset, uint64_t len);
  // Records that `op` changed the file's size other than by writing: a
  // shrink below the frontier to a size other than 0 is an in-place
  // rewrite (Refuse); a truncation to 0 starts the log anew.
  void NoteResize(const char* op);
  // The file is rewritten in place, not appended (`op` at `offset`): it is
  // not a log the shim can protect. Once: makes the file durable on the
  // local disk, trims the mirrors to what it described, appends a REFUSED
  // record they keep (so rvm-preload-restore and the next open refuse the
  // file until --discard), says so on stderr naming the file and the
  // operation, and syncs the file locally from then on.
  void Refuse(const char* op, uint64_t offset);

  // A sync point: makes everything written so far durable in the mirrors'
  // memory (or, in local mode, on disk). Negative errno on failure.
  int Sync();

  // Waits until the local copy holds everything appended to the mirrors,
  // trims them to it. Negative errno on failure.
  int Drain();

  // The file was renamed to `new_path`, or unlinked (new_path empty): drains
  // and continues under the new path's remote log if it is designated, else
  // in local mode.
  void Moved(const std::string& new_path, bool designated);

 private:
  LogFile(const PreloadConfig& cfg, const std::string& path);
  Status Attach(bool truncated);
  Status OpenRemote();
  int AppendDirty();
  // Records a dirty range (no rewrite check).
  void MarkDirty(uint64_t offset, uint64_t len);
  // Whether the file's bytes [a, b) are all zero (a preallocated region).
  bool AllZero(uint64_t a, uint64_t b);
  // Seals record h at rec (codec_); -EIO with a message if that fails.
  int EncodeOrSay(const RecordHeader& h, char* rec);
  void EnterLocal(const char* why);
  int LocalSync();
  void SyncerLoop();
  void MaybeTrim(bool force);

  const PreloadConfig& cfg_;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  int priv_fd_ = -1;  // O_RDONLY: reading ranges back, background fdatasync

  std::mutex write_mu_;

  std::mutex dirty_mu_;
  std::map<uint64_t, uint64_t> dirty_;  // start -> end, disjoint, merged
  bool resized_ = false;
  uint64_t frontier_ = 0;   // dirty_mu_: file end as of the last sync point (sent)
  uint64_t write_end_ = 0;  // dirty_mu_: largest end written since the last restart
  // False once the file is synced locally (mirrors lost, or refused); read
  // without locks by CheckWrite / NoteResize.
  std::atomic<bool> protected_{true};

  // Held across a sync point: the mirrors, the stream end, local mode.
  std::mutex sync_mu_;
  std::unique_ptr<remote_log::MirrorSet> mirrors_;
  std::unique_ptr<RecordCodec> codec_;  // sync_mu_: seals this log's records
  std::string name_;
  uint64_t stream_end_ = 0;
  uint64_t last_trim_ = 0;
  bool local_ = false;
  std::string scratch_;

  // Background syncer.
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  uint64_t bg_requested_ = 0;  // stream end the disk should cover
  uint64_t bg_durable_ = 0;    // stream end the disk covers
  int bg_error_ = 0;           // errno of a failed fdatasync (sticky)
  bool bg_stop_ = false;
  std::thread bg_;
};

// Set while the shim itself is running on this thread: every interposed
// call passes straight through.
extern thread_local bool g_in_shim;

struct InShim {
  bool prev;
  InShim() : prev(g_in_shim) { g_in_shim = true; }
  ~InShim() { g_in_shim = prev; }
};

}  // namespace rvmr::preload
