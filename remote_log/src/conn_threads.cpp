#include "conn_threads.h"

#include <sys/socket.h>

#include <chrono>
#include <system_error>

#include "common/thread.h"
#include "server_conn.h"
#include "worker.h"

namespace rvmr::remote_log {

ConnThreads::~ConnThreads() {
  Stop();
}

void ConnThreads::ReapLocked(std::list<Entry>* dead) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto next = std::next(it);
    if (it->done) dead->splice(dead->end(), entries_, it);
    it = next;
  }
}

bool ConnThreads::Take(std::unique_ptr<ServerConn>* c) {
  std::list<Entry> dead;
  bool taken = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    ReapLocked(&dead);
    if (!stopping_) {
      entries_.emplace_back();
      Entry* e = &entries_.back();
      e->conn = std::move(*c);
      try {
        e->thread = StartThread("rvm-logd-conn", [this, e] { Run(e); });
        taken = true;
        started_++;
      } catch (const std::system_error&) {
        *c = std::move(e->conn);
        entries_.pop_back();
      }
    }
  }
  for (auto& e : dead) e.thread.join();
  return taken;
}

void ConnThreads::Run(Entry* e) {
  ServerConn* c = e->conn.get();
  const bool idle = c->ServeBlocking(kIdleMs);
  std::unique_ptr<ServerConn> finished;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (idle && !stopping_) {
      // Back to the event loop with the fewest authenticated connections.
      Worker* to = shared_->workers.front().get();
      for (auto& w : shared_->workers)
        if (w->authenticated.load() < to->authenticated.load()) to = w.get();
      to->connections++;
      to->authenticated++;
      c->counted_authenticated = true;
      c->requests_at_sweep = c->requests;  // idle: not busy at the next sweep
      to->Adopt(std::move(e->conn));
    } else {
      finished = std::move(e->conn);
    }
    e->done = true;
  }
  done_cv_.notify_all();
  if (finished) {
    finished.reset();  // closes the socket
    shared_->open--;
    shared_->closed_since_trim++;
  }
}

void ConnThreads::Stop() {
  std::list<Entry> all;
  {
    std::unique_lock<std::mutex> l(mu_);
    stopping_ = true;
    // Ends each connection's input: a thread in recv wakes, and one that is
    // handling a request first sends its reply (a writer's last TRIM must
    // be answered); it then closes its connection.
    for (auto& e : entries_)
      if (e.conn) shutdown(e.conn->fd(), SHUT_RD);
    auto all_done = [this] {
      for (auto& e : entries_)
        if (!e.done) return false;
      return true;
    };
    // A thread waiting for room to send (a client that does not read) is
    // woken by ending its output too.
    if (!done_cv_.wait_for(l, std::chrono::milliseconds(kStopSendMs), all_done)) {
      for (auto& e : entries_)
        if (e.conn && !e.done) shutdown(e.conn->fd(), SHUT_RDWR);
    }
    all.splice(all.end(), entries_);
  }
  for (auto& e : all) e.thread.join();
}

size_t ConnThreads::active() {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (auto& e : entries_) n += e.conn != nullptr;
  return n;
}

}  // namespace rvmr::remote_log
