// ConnThreads: threads for busy authenticated connections. A worker's event
// loop costs a busy writer one more system call per request than a thread
// that sleeps in recv (epoll_wait, then recv), which is most of a small
// commit's server time in a VM where a system call costs 1-2 us. So an
// authenticated connection that is busy (it just authenticated, or sent many
// requests in the last second) is served by a thread of its own with
// blocking calls, as a thread per connection would; once it has received
// nothing for kIdleMs it goes back to an event loop and the thread ends.
// Unauthenticated and idle connections never hold a thread; the threads are
// bounded by max_connections.
#pragma once

#include <atomic>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace rvmr::remote_log {

class ServerConn;
struct WorkerShared;

class ConnThreads {
 public:
  // A connection idle this long goes back to an event loop.
  static constexpr int kIdleMs = 1000;

  explicit ConnThreads(WorkerShared* shared) : shared_(shared) {}
  // Stops (see Stop).
  ~ConnThreads();
  ConnThreads(const ConnThreads&) = delete;
  ConnThreads& operator=(const ConnThreads&) = delete;

  // Serves *c (authenticated, not counted in any worker) on a new thread and
  // takes it. false, leaving *c alone, once stopping or if no thread can be
  // started.
  bool Take(std::unique_ptr<ServerConn>* c);

  // How long Stop lets threads finish sending replies before it cuts their
  // output too.
  static constexpr int kStopSendMs = 1000;

  // Closes the connections being served and joins every thread; later Takes
  // refuse. A request being handled is answered first (for up to
  // kStopSendMs if the client does not read). Idempotent.
  void Stop();

  // Connections being served on their own threads.
  size_t active();
  // Threads started so far.
  uint64_t started() const { return started_.load(); }

 private:
  struct Entry {
    std::unique_ptr<ServerConn> conn;  // null once the thread let go of it
    std::thread thread;
    bool done = false;  // the thread is about to return
  };
  void Run(Entry* e);
  // Joins the threads that finished. Caller holds mu_.
  void ReapLocked(std::list<Entry>* dead);

  WorkerShared* const shared_;
  std::mutex mu_;  // guards entries_, stopping_, and each Entry's conn and done
  std::condition_variable done_cv_;  // an Entry's done became true
  std::list<Entry> entries_;
  bool stopping_ = false;
  std::atomic<uint64_t> started_{0};
};

}  // namespace rvmr::remote_log
