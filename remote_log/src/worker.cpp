#include "worker.h"

#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

#include "common/thread.h"
#include "conn_threads.h"

namespace rvmr::remote_log {

namespace {

// How often a worker with connections frees the buffers of idle ones.
constexpr int64_t kSweepMs = 1000;
// After this many connections closed, the next sweep (at most one a second)
// returns freed heap memory to the system (malloc_trim), so that a burst of
// connections does not leave the server's RSS up; after fewer, the first
// sweep that finds no more closed since the previous one.
constexpr uint64_t kTrimAfterCloses = 64;
// An authenticated connection that sent this many requests since the
// previous sweep is busy (ConnThreads).
constexpr uint64_t kBusyRequests = 64;

}  // namespace

int64_t MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

Worker::Worker(WorkerShared* shared, int index) : shared_(shared), index_(index) {}

Worker::~Worker() {
  Stop();
}

Status Worker::Start() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Status::IoError("epoll_create1", errno);
  event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) return Status::IoError("eventfd", errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the eventfd
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) != 0)
    return Status::IoError("epoll_ctl", errno);
  std::string name = "rvm-logd-w" + std::to_string(index_);
  thread_ = StartThread(name.c_str(), [this] { Run(); });
  return Status::Ok();
}

void Worker::RequestStop() {
  if (!thread_.joinable() || stopping_.exchange(true)) return;
  uint64_t one = 1;
  while (write(event_fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void Worker::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
  // The thread is gone: its connections are ours.
  TakeInbox();
  while (!conns_.empty()) Close(conns_.begin()->first);
  if (event_fd_ >= 0) close(event_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  event_fd_ = epoll_fd_ = -1;
}

void Worker::Adopt(std::unique_ptr<ServerConn> c) {
  {
    std::lock_guard<std::mutex> l(inbox_mu_);
    inbox_.push_back(std::move(c));
  }
  uint64_t one = 1;
  while (write(event_fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void Worker::TakeInbox() {
  std::vector<std::unique_ptr<ServerConn>> got;
  {
    std::lock_guard<std::mutex> l(inbox_mu_);
    got.swap(inbox_);
  }
  if (got.empty()) return;
  if (conns_.empty()) next_sweep_ms_ = MonotonicMs() + kSweepMs;
  for (auto& up : got) {
    ServerConn* c = up.get();
    conns_.emplace(c, std::move(up));
    if (!c->authenticated()) {
      // Handed over in accept order: the list stays sorted by deadline.
      c->auth_pos = auth_list_.insert(auth_list_.end(), c);
      c->in_auth_list = true;
    }
    if (stopping_) continue;
    // A moved connection may hold requests that arrived with its AUTH.
    After(c, c->Resume());
  }
}

void Worker::Watch(ServerConn* c) {
  // One of the two always: a connection that waits for room reads nothing.
  uint32_t want = c->wants_write() ? EPOLLOUT : EPOLLIN;
  if (want == c->registered_events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.ptr = c;
  int op = c->registered_events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(epoll_fd_, op, c->fd(), &ev) != 0) {
    Close(c);
    return;
  }
  c->registered_events = want;
}

void Worker::Close(ServerConn* c) {
  if (c->registered_events != 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd(), nullptr);
  if (c->in_auth_list) auth_list_.erase(c->auth_pos);
  if (c->counted_authenticated) authenticated--;
  connections--;
  shared_->open--;
  shared_->closed_since_trim++;
  conns_.erase(c);  // closes the socket
}

std::unique_ptr<ServerConn> Worker::Release(ServerConn* c) {
  if (c->registered_events != 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd(), nullptr);
  c->registered_events = 0;
  if (c->in_auth_list) {
    auth_list_.erase(c->auth_pos);
    c->in_auth_list = false;
  }
  if (c->counted_authenticated) {
    authenticated--;
    c->counted_authenticated = false;
  }
  connections--;
  auto it = conns_.find(c);
  std::unique_ptr<ServerConn> up = std::move(it->second);
  conns_.erase(it);
  return up;
}

bool Worker::Dedicate(ServerConn* c) {
  if (shared_->conn_threads == nullptr) return false;
  const bool counted = c->counted_authenticated;
  std::unique_ptr<ServerConn> up = Release(c);
  if (shared_->conn_threads->Take(&up)) return true;
  // Refused (stopping): it stays.
  connections++;
  if (counted) {
    authenticated++;
    c->counted_authenticated = true;
  }
  c->requests_at_sweep = c->requests;
  conns_.emplace(c, std::move(up));
  return false;
}

Worker* Worker::PickForAuthenticated() {
  Worker* best = this;
  uint64_t least = authenticated.load();
  for (auto& w : shared_->workers) {
    uint64_t n = w->authenticated.load();
    if (n < least) {
      least = n;
      best = w.get();
    }
  }
  return best;
}

void Worker::After(ServerConn* c, bool alive) {
  if (!alive) return Close(c);
  if (c->just_authenticated) {
    c->just_authenticated = false;
    if (c->in_auth_list) {
      auth_list_.erase(c->auth_pos);
      c->in_auth_list = false;
    }
    if (Dedicate(c)) return;
    Worker* to = PickForAuthenticated();
    if (to != this) {
      std::unique_ptr<ServerConn> up = Release(c);
      to->connections++;
      to->authenticated++;
      up->counted_authenticated = true;
      to->Adopt(std::move(up));
      return;
    }
    authenticated++;
    c->counted_authenticated = true;
    if (!c->Resume()) return Close(c);
  }
  Watch(c);
}

bool Worker::SweepWanted() const {
  // With no connection left, only for the trim after a burst.
  return !conns_.empty() || shared_->closed_since_trim.load() != 0;
}

int Worker::NextTimeoutMs(int64_t now_ms) const {
  int64_t next = INT64_MAX;
  if (!auth_list_.empty()) next = auth_list_.front()->auth_deadline_ms();
  if (SweepWanted() && next_sweep_ms_ < next) next = next_sweep_ms_;
  if (next == INT64_MAX) return -1;
  if (next <= now_ms) return 0;
  return int(std::min<int64_t>(next - now_ms, INT_MAX));
}

void Worker::Timers(int64_t now_ms) {
  while (!auth_list_.empty() && auth_list_.front()->auth_deadline_ms() <= now_ms) {
    shared_->auth_timeouts++;
    Close(auth_list_.front());
  }
  if (!SweepWanted() || now_ms < next_sweep_ms_) return;
  next_sweep_ms_ = now_ms + kSweepMs;
  // Idle connections give up their buffers; busy authenticated ones get a
  // thread of their own again.
  std::vector<ServerConn*> busy;
  for (auto& [c, up] : conns_) {
    c->ReleaseIdle();
    if (c->authenticated() && c->requests - c->requests_at_sweep >= kBusyRequests)
      busy.push_back(c);
    c->requests_at_sweep = c->requests;
  }
  for (ServerConn* c : busy) {
    if (Dedicate(c)) continue;
    Watch(c);  // stays: the epoll registration was dropped
  }
  MaybeTrim();
}

void Worker::MaybeTrim() {
  const uint64_t closed = shared_->closed_since_trim.load();
  const bool quiet = closed != 0 && closed == seen_closed_;
  seen_closed_ = closed;
  if (closed < kTrimAfterCloses && !quiet) return;
  if (shared_->trimming.exchange(true)) return;  // another worker is at it
  malloc_trim(0);
  shared_->heap_trims++;
  shared_->closed_since_trim -= closed;
  shared_->trimming = false;
  seen_closed_ = 0;
}

void Worker::Run() {
  epoll_event evs[128];
  while (!stopping_) {
    int n = epoll_wait(epoll_fd_, evs, 128, NextTimeoutMs(MonotonicMs()));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<ServerConn*>(evs[i].data.ptr);
      if (c == nullptr) {
        uint64_t v;
        while (read(event_fd_, &v, sizeof v) < 0 && errno == EINTR) {
        }
        if (stopping_) return;
        TakeInbox();
        continue;
      }
      bool alive = true;
      if (evs[i].events & EPOLLOUT) alive = c->OnWritable();
      if (alive && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        alive = c->OnReadable();
        // An error or hang-up while a reply waits for room: the send fails.
        if (alive && !c->wants_read() && (evs[i].events & (EPOLLERR | EPOLLHUP)))
          alive = c->OnWritable();
      }
      After(c, alive);
    }
    Timers(MonotonicMs());
  }
}

}  // namespace rvmr::remote_log
