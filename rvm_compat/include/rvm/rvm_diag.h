/* rvm_diag.h: this RVM's diagnostics (an extension; the original RVM has no
   such calls). The libraries report every message through one place
   (docs/diagnostics.md): by default a line "rvm: <level>: <message>" on
   stderr. A program may lower or raise the threshold, capture the messages
   with a hook, and read the cause of the last error an RVM call returned on
   its thread. */
#ifndef RVM_DIAG_H
#define RVM_DIAG_H

#ifdef __cplusplus
extern "C" {
#endif

/* Levels, most severe first. */
#define RVM_DIAG_ERROR 0   /* an operation failed; the caller gets an error */
#define RVM_DIAG_WARNING 1 /* something is lost or at risk; the operation goes on */
#define RVM_DIAG_NOTICE 2  /* a normal but significant event (the default threshold) */
#define RVM_DIAG_INFO 3    /* the cause of an error code returned for a caller's mistake */
#define RVM_DIAG_DEBUG 4

/* Receives each message at or above the threshold: its level and its text
   (no "rvm: " prefix, no newline). Called from whichever thread reports, one
   message at a time; it must not call RVM. */
typedef void (*rvm_diag_hook_t)(void *arg, int level, const char *message);

/* Sends messages to `hook` (with `arg`) instead of stderr; NULL restores
   stderr. */
void rvm_set_diag_hook(rvm_diag_hook_t hook, void *arg);

/* Reports messages of `level` and more severe ones (RVM_DIAG_*); returns the
   previous threshold, or -1 (and changes nothing) for a level out of range.
   The environment variable RVM_DIAG_LEVEL (error, warning, notice, info,
   debug, or 0..4) sets the initial threshold. */
int rvm_set_diag_level(int level);

/* The cause of the last error an RVM call returned on this thread, e.g.
   "rvm_initialize: RVM_EIO: ...": "" if the last call succeeded. Valid until
   the thread's next RVM call. */
const char *rvm_last_error_text(void);

#ifdef __cplusplus
}
#endif

#endif /* RVM_DIAG_H */
