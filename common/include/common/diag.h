// Diag: how the libraries write a message for the program's operator.
//
// stderr is unbuffered by default, but a program may make it fully buffered:
// Coda's file server, for one, redirects it to its log file with freopen, and
// a message written with a plain fprintf then reaches the file only when the
// program exits (or the buffer fills). Messages that matter at the moment they
// are written (recovery copied a tail, LOST, UNVERIFIED, a refused start, a
// mirror lost) go through Diag, which formats the line into stderr and flushes
// it at once. The program's own buffered stderr output goes out first, so the
// order of lines in the file is kept. Thread-safe (stderr's lock is held for
// the whole line).
#pragma once

#include <cstdarg>
#include <cstdio>

namespace rvmr {

// Writes printf-style `fmt` to stderr and flushes stderr before returning.
// The caller ends the line with '\n'.
__attribute__((format(printf, 1, 2))) inline void Diag(const char* fmt, ...) {
  std::va_list ap;
  va_start(ap, fmt);
  ::flockfile(stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fflush(stderr);
  ::funlockfile(stderr);
  va_end(ap);
}

}  // namespace rvmr
