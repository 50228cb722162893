// Diag: the one place where the libraries report to the program's operator
// (docs/diagnostics.md).
//
// Every message has a level and is written as one line
//
//   rvm: <level>: <message>
//
// to stderr, or handed to the hook a program installed (SetDiagHook; C
// programs use rvm_set_diag_hook from rvm/rvm_diag.h). Messages above the
// threshold are dropped: the threshold is DiagLevel::kNotice unless the
// environment variable RVM_DIAG_LEVEL (error, warning, notice, info, debug,
// or 0..4), read at the first message, or SetDiagThreshold says otherwise.
//
// stderr may be fully buffered: Coda's file server, for one, redirects it to
// its log file with freopen, and a line written with a plain fprintf then
// reaches the file only when the program exits. Report flushes stderr after
// each line, so a message reaches the file when it is written, after the
// program's own earlier output. Thread-safe: one line is written (or one
// hook call made) at a time.
#pragma once

#include <string_view>

namespace rvmr {

enum class DiagLevel : int {
  kError = 0,    // an operation failed; the caller gets an error
  kWarning = 1,  // something is lost or at risk, but the operation goes on
  kNotice = 2,   // a normal but significant event (recovery copied a tail)
  kInfo = 3,     // the cause of an error code returned for a caller's mistake
  kDebug = 4,
};

// Receives each message that passes the threshold: its level (a DiagLevel
// as an int, the same numbers as rvm_diag.h's RVM_DIAG_*) and its text,
// without the "rvm: " prefix or a newline. It must not call the libraries.
using DiagHook = void (*)(void* arg, int level, const char* message);

// Reports printf-style `fmt` at `level` (no trailing newline needed).
__attribute__((format(printf, 2, 3))) void Report(DiagLevel level, const char* fmt, ...);

// Reports `message` at `level`.
void ReportText(DiagLevel level, std::string_view message);

// Whether a message at `level` would be reported now.
bool DiagEnabled(DiagLevel level);

// Sends messages to `hook` (with `arg`) instead of stderr; a null hook
// restores stderr.
void SetDiagHook(DiagHook hook, void* arg);

// Sets the threshold; returns the previous one.
DiagLevel SetDiagThreshold(DiagLevel level);

// "error", "warning", "notice", "info", "debug".
const char* DiagLevelName(DiagLevel level);

// Parses a level name or digit ("warning", "1"); false if it is neither.
bool ParseDiagLevel(std::string_view text, DiagLevel* level);

}  // namespace rvmr
