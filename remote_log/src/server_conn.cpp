#include "server_conn.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace rvmr::remote_log {

namespace {

// Each recv into a large buffer offers at least this much room (or the whole
// frame's), so that a record the kernel already holds arrives in one call.
constexpr size_t kMinRoom = 128 * 1024;
// Replies are queued while further complete requests are already buffered
// and sent together (one send for a burst of pipelined appends), up to this
// many bytes; a lone request's reply goes out at once.
constexpr size_t kQueueLimit = 64 * 1024;
// A reply buffer grown past this (a READ reply) is freed once sent.
constexpr size_t kKeepOutput = 1 << 20;

}  // namespace

ServerConn::ServerConn(int fd, const SessionEnv& env, int64_t auth_deadline_ms)
    : fd_(fd), auth_deadline_ms_(auth_deadline_ms), session_(env) {}

ServerConn::~ServerConn() {
  if (closing_) {
    // The refusal is queued in the socket; end the stream after it, and read
    // what the client already sent so that the close is a FIN, not a reset
    // that could overtake the refusal.
    shutdown(fd_, SHUT_WR);
    uint8_t sink[4096];
    for (int i = 0; i < 16; ++i) {
      if (recv(fd_, sink, sizeof sink, MSG_DONTWAIT) <= 0) break;
    }
  }
  close(fd_);
}

void ServerConn::Reserve() {
  if (rpos_ == wpos_) rpos_ = wpos_ = 0;
  const size_t avail = wpos_ - rpos_;
  const size_t frame = have_hdr_ ? wire::kHeaderSize + hdr_.payload_len : wire::kHeaderSize;
  size_t want = std::max(frame, authenticated() ? kLargeBuffer : kSmallBuffer);
  want = std::max(want, avail + 1);
  if (in_cap_ < want) {
    auto bigger = std::make_unique_for_overwrite<uint8_t[]>(want);
    if (avail) std::memcpy(bigger.get(), in_.get() + rpos_, avail);
    in_ = std::move(bigger);
    in_cap_ = want;
    rpos_ = 0;
    wpos_ = avail;
  } else if (in_cap_ - rpos_ < frame || in_cap_ - wpos_ < std::min(kMinRoom, in_cap_ / 2)) {
    // Only a partial frame is unconsumed here: a short move.
    std::memmove(in_.get(), in_.get() + rpos_, avail);
    rpos_ = 0;
    wpos_ = avail;
  }
}

bool ServerConn::Process() {
  while (!closing_) {
    const size_t avail = wpos_ - rpos_;
    if (!have_hdr_) {
      if (avail < wire::kHeaderSize) break;
      if (session_.OnHeader(in_.get() + rpos_, &hdr_, &out_) == Session::Verdict::kClose) {
        closing_ = true;
        break;
      }
      have_hdr_ = true;
    }
    const size_t total = wire::kHeaderSize + hdr_.payload_len;
    if (avail < total) break;
    const uint8_t* p = in_.get() + rpos_ + wire::kHeaderSize;
    rpos_ += total;
    have_hdr_ = false;
    ++requests;
    const bool was_authed = session_.authenticated();
    if (session_.Handle(hdr_, p, &out_) == Session::Verdict::kClose) {
      closing_ = true;
      break;
    }
    if (!was_authed && session_.authenticated()) {
      // The caller may move the connection to another worker first.
      just_authenticated = true;
      break;
    }
    if (out_.size() - out_pos_ >= kQueueLimit) {
      if (!Send()) return false;
      if (wants_write()) break;  // the client is not reading: wait for room
    }
  }
  if (rpos_ == wpos_) rpos_ = wpos_ = 0;
  return true;
}

bool ServerConn::Send() {
  while (out_pos_ < out_.size()) {
    ssize_t w = send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      out_pos_ += size_t(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  out_.clear();
  out_pos_ = 0;
  if (out_.capacity() > kKeepOutput) std::vector<uint8_t>().swap(out_);
  return true;
}

bool ServerConn::SendAll() {
  for (;;) {
    if (!Send()) return false;
    if (!wants_write()) return true;
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) return false;
  }
}

bool ServerConn::FrameBuffered() const {
  const size_t avail = wpos_ - rpos_;
  if (avail < wire::kHeaderSize) return false;
  return avail - wire::kHeaderSize >= wire::Get32(in_.get() + rpos_ + 8);
}

bool ServerConn::ServeBlocking(int idle_ms) {
  const int flags = fcntl(fd_, F_GETFL);
  timeval tv{idle_ms / 1000, (idle_ms % 1000) * 1000};
  if (flags < 0 || fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
      setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
    return false;
  const bool idle = ServeBlockingLoop();
  return idle && fcntl(fd_, F_SETFL, flags | O_NONBLOCK) == 0;
}

bool ServerConn::ServeBlockingLoop() {
  for (;;) {
    // Everything complete that is buffered, and its replies.
    do {
      if (!Process() || !SendAll() || closing_) return false;
      just_authenticated = false;
    } while (FrameBuffered());
    Reserve();
    ssize_t r = recv(fd_, in_.get() + wpos_, in_cap_ - wpos_, 0);
    if (r > 0) {
      wpos_ += size_t(r);
      recent_ = true;
      continue;
    }
    if (r == 0) return false;
    if (errno == EINTR) continue;
    // The receive timeout: idle (a partial frame waits in the event loop).
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

bool ServerConn::Resume() {
  if (!Process() || !Send()) return false;
  return !closing_;
}

bool ServerConn::OnReadable() {
  if (!wants_read()) return true;
  Reserve();
  ssize_t r = recv(fd_, in_.get() + wpos_, in_cap_ - wpos_, 0);
  if (r == 0) return false;  // the client hung up
  if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  wpos_ += size_t(r);
  recent_ = true;
  return Resume();
}

bool ServerConn::OnWritable() {
  if (!Send()) return false;
  if (wants_write()) return true;
  return Resume();
}

size_t ServerConn::ReleaseIdle() {
  if (recent_) {
    recent_ = false;
    return 0;
  }
  size_t freed = 0;
  if (in_ && rpos_ == wpos_ && !have_hdr_) {
    freed += in_cap_;
    in_.reset();
    in_cap_ = rpos_ = wpos_ = 0;
  }
  if (out_pos_ == out_.size() && out_.capacity() != 0) {
    freed += out_.capacity();
    std::vector<uint8_t>().swap(out_);
    out_pos_ = 0;
  }
  return freed;
}

}  // namespace rvmr::remote_log
