// Worker: one of the server's event loops. A thread waits in epoll_wait on
// the sockets of the connections it owns (level-triggered) and an eventfd
// through which it is handed new ones, and drives each ServerConn. The
// deadlines (authentication timeout, the release of idle buffers) are the
// epoll_wait timeout; nothing sleeps.
//
// A connection is handed to the worker with the fewest connections when it is
// accepted; when it authenticates it moves to the worker with the fewest
// authenticated connections, so that writers spread over the workers (and
// CPUs) whatever unauthenticated connections came with them.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "server_conn.h"

namespace rvmr::remote_log {

class ConnThreads;
class Worker;

// What a server's workers share. Outlives them.
struct WorkerShared {
  // Connections open in all workers (incremented by the acceptor).
  std::atomic<uint64_t> open{0};
  // Connections closed for not authenticating in time.
  std::atomic<uint64_t> auth_timeouts{0};
  // Connections closed since the last malloc_trim, and the trims.
  std::atomic<uint64_t> closed_since_trim{0};
  std::atomic<uint64_t> heap_trims{0};
  // A worker is in malloc_trim.
  std::atomic<bool> trimming{false};
  // All workers of the server: set before any starts, cleared after all
  // stopped.
  std::vector<std::unique_ptr<Worker>> workers;
  // Where busy authenticated connections get a thread of their own; null:
  // every connection stays in the event loops.
  ConnThreads* conn_threads = nullptr;
};

class Worker {
 public:
  Worker(WorkerShared* shared, int index);
  // Stops the worker.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Creates the epoll set and eventfd and starts the thread. IoError if the
  // kernel refuses.
  Status Start();
  // Tells the thread to stop (returns at once).
  void RequestStop();
  // Stops the thread and closes every connection it owns. Idempotent. The
  // server stops the acceptor and asks every worker before, so that no
  // connection is handed over afterwards.
  void Stop();

  // Hands over a connection (thread-safe). The caller has already counted
  // it in connections() (and, if authenticated, in authenticated()).
  void Adopt(std::unique_ptr<ServerConn> c);

  // Connections owned or being handed over (for placement).
  std::atomic<uint64_t> connections{0};
  // Of those, authenticated ones.
  std::atomic<uint64_t> authenticated{0};

 private:
  void Run();
  void TakeInbox();
  // Applies the outcome of a call on c: closes it, moves it or updates the
  // events it waits for.
  void After(ServerConn* c, bool alive);
  void Close(ServerConn* c);
  void Watch(ServerConn* c);
  // Closes the connections whose authentication deadline passed; frees idle
  // buffers when the sweep is due.
  void Timers(int64_t now_ms);
  int NextTimeoutMs(int64_t now_ms) const;
  // Whether a sweep is due at next_sweep_ms_.
  bool SweepWanted() const;
  // Returns freed heap memory to the system after connections closed.
  void MaybeTrim();
  // The worker an authenticated connection of this one should move to.
  Worker* PickForAuthenticated();
  // Hands c to a thread of its own (ConnThreads). false: it stays here.
  bool Dedicate(ServerConn* c);
  // Stops watching c and gives up ownership (it is moving elsewhere).
  std::unique_ptr<ServerConn> Release(ServerConn* c);

  WorkerShared* const shared_;
  const int index_;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex inbox_mu_;  // guards inbox_
  std::vector<std::unique_ptr<ServerConn>> inbox_;

  // Owned by the worker thread (and by Stop after it joined): no lock.
  std::unordered_map<ServerConn*, std::unique_ptr<ServerConn>> conns_;
  // Unauthenticated connections, oldest (earliest deadline) first.
  std::list<ServerConn*> auth_list_;
  int64_t next_sweep_ms_ = 0;
  // closed_since_trim as the previous sweep saw it.
  uint64_t seen_closed_ = 0;
};

// CLOCK_MONOTONIC in milliseconds.
int64_t MonotonicMs();

}  // namespace rvmr::remote_log
