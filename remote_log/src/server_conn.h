// ServerConn: one client connection of the server, driven by a Worker's event
// loop: a non-blocking socket, its input and output buffers and the protocol
// Session. It reads what the socket holds, hands each complete request to the
// Session and sends the replies; it never blocks and starts no thread.
//
// Memory: before authentication the input buffer is at most kSmallBuffer
// bytes (Session refuses, from the header alone, any frame that cannot be
// valid before authentication, so no bigger one is ever buffered); an
// authenticated connection gets kLargeBuffer (or a whole frame's worth) so
// that a record arrives in few recv calls. ReleaseIdle frees the buffers of a
// connection that has nothing pending.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "session.h"

namespace rvmr::remote_log {

class ServerConn {
 public:
  static constexpr size_t kSmallBuffer = 256;
  static constexpr size_t kLargeBuffer = 256 * 1024;

  // Takes ownership of the connected, non-blocking socket `fd`.
  // `auth_deadline_ms`: CLOCK_MONOTONIC time (ms) by which it must have
  // authenticated.
  ServerConn(int fd, const SessionEnv& env, int64_t auth_deadline_ms);
  // Closes the socket.
  ~ServerConn();
  ServerConn(const ServerConn&) = delete;
  ServerConn& operator=(const ServerConn&) = delete;

  int fd() const { return fd_; }
  int64_t auth_deadline_ms() const { return auth_deadline_ms_; }
  bool authenticated() const { return session_.authenticated(); }

  // The socket is readable (or reports an error / hang-up): reads once and
  // handles what arrived. false: the connection is finished; the caller
  // destroys it.
  bool OnReadable();
  // The socket has room: sends pending replies and handles requests that
  // waited for them. false: finished, as above.
  bool OnWritable();
  // Handles requests already buffered (after the connection moved to another
  // worker). false: finished.
  bool Resume();
  // Serves the connection with blocking calls on the calling thread (see
  // ConnThreads) until it has received nothing for idle_ms: true, and the
  // socket is non-blocking again; false: finished.
  bool ServeBlocking(int idle_ms);

  // What the event loop must watch: input while no reply is pending, room to
  // send while one is.
  bool wants_read() const { return out_pos_ == out_.size(); }
  bool wants_write() const { return out_pos_ < out_.size(); }
  // Set when the Session authenticated the client during the last call;
  // cleared by the caller (which may then move the connection).
  bool just_authenticated = false;

  // Frees the input and output buffers if nothing is buffered and the
  // connection received nothing since the previous call. Returns the bytes
  // freed.
  size_t ReleaseIdle();

  // The event mask registered with the worker's epoll (the worker's).
  uint32_t registered_events = 0;
  // Position in the worker's list of unauthenticated connections (the
  // worker's; valid while in_auth_list).
  std::list<ServerConn*>::iterator auth_pos;
  bool in_auth_list = false;
  // Counted in a worker's authenticated connections (the worker's).
  bool counted_authenticated = false;
  // Requests handled, and the count at the worker's previous sweep (the
  // owner's).
  uint64_t requests = 0;
  uint64_t requests_at_sweep = 0;

 private:
  // Handles complete buffered requests until none is left, the output is
  // full or the client authenticated. false: the Session refused a frame.
  bool Process();
  // Sends what is pending without blocking. false on a socket error.
  bool Send();
  // Sends everything pending, waiting for room. false on a socket error.
  bool SendAll();
  // Whether a whole request is buffered.
  bool FrameBuffered() const;
  bool ServeBlockingLoop();
  // Makes room to receive the rest of the current frame.
  void Reserve();

  // All fields belong to the worker thread that owns the connection: no lock.
  const int fd_;
  const int64_t auth_deadline_ms_;
  Session session_;
  // Input: bytes [rpos_, wpos_) of in_[0..in_cap_) are received, unconsumed.
  std::unique_ptr<uint8_t[]> in_;
  size_t in_cap_ = 0;
  size_t rpos_ = 0, wpos_ = 0;
  // The decoded header of the frame at rpos_, once OnHeader accepted it.
  wire::Header hdr_;
  bool have_hdr_ = false;
  // Replies: bytes [out_pos_, out_.size()) are not sent yet.
  std::vector<uint8_t> out_;
  size_t out_pos_ = 0;
  // The Session refused a frame: send the refusal, then close.
  bool closing_ = false;
  // Something was received since the last ReleaseIdle.
  bool recent_ = false;
};

}  // namespace rvmr::remote_log
