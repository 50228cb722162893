#include "common/thread.h"

#include <pthread.h>
#include <signal.h>

#include <string>
#include <utility>

namespace rvmr {

namespace {

// Blocks every signal in the calling thread for its lifetime, then restores
// the mask it had.
class AllSignalsBlocked {
 public:
  AllSignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~AllSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  AllSignalsBlocked(const AllSignalsBlocked&) = delete;
  AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;

 private:
  sigset_t saved_;
};

}  // namespace

std::thread StartThread(const char* name, std::function<void()> fn) {
  // A new thread inherits its creator's mask: blocked here, it starts blocked.
  AllSignalsBlocked blocked;
  std::string n = std::string(name).substr(0, 15);
  return std::thread([n = std::move(n), fn = std::move(fn)] {
    pthread_setname_np(pthread_self(), n.c_str());
    fn();
  });
}

}  // namespace rvmr
