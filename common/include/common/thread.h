// Threads the libraries start. The original RVM started no threads of its
// own, so its programs own every signal their process receives: Coda's LWP,
// for one, blocks all signals in its main thread and sends itself SIGUSR1 to
// switch stacks. A library thread with an empty signal mask would take such a
// process-directed signal and run the program's handler on the wrong stack.
//
// So every thread in rvm_compat, shim, remote_log, disk_writer and preload is
// started through StartThread: it begins life with every signal blocked (the
// mask is blocked around pthread_create, so there is no window in which the
// new thread could take one). Synchronous signals caused by the thread itself
// (SIGSEGV, SIGBUS, SIGFPE) are still delivered to it, as the kernel does for
// blocked ones. The calling thread's mask is left as it was.
#pragma once

#include <functional>
#include <thread>

namespace rvmr {

// Starts `fn` on a new thread with all signals blocked, named `name` (as
// shown by ps, top and gdb; at most 15 characters are kept). Throws
// std::system_error as std::thread does if no thread can be created, with
// the caller's signal mask restored.
std::thread StartThread(const char* name, std::function<void()> fn);

}  // namespace rvmr
