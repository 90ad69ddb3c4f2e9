/*
 * events.c: the event log (--events FILE): one JSON object per line for
 * each watched open, exec and executable mmap, with its decoded arguments,
 * result and timing; with --events-tail N only the last N, kept in a ring
 * and written (atomically) at the end and on SIGUSR1.
 */
#ifndef FP_EVENTS_H
#define FP_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc;
struct sysent;
struct caller;

/* True once events_open succeeded: the only test the hot path makes when the log is off. */
extern bool events_on;

/*
 * Open the log at `path` ("-": standard output) before the command starts;
 * `tail` > 0 keeps only the last `tail` events. `callers`: name the caller
 * of each call. Dies with EXIT_USAGE when the file cannot be created.
 */
void events_open(const char *path, size_t tail, bool callers);

/*
 * Catch SIGUSR1 (--events-tail): without SA_RESTART, so that the tracer's
 * wait returns EINTR; events_poll() then writes the ring. One sent by a
 * traced process (kill -USR1 0 in the command) is ignored.
 */
void events_catch_dump(void);

/* Write the ring when SIGUSR1 came since the last call (cheap: a flag test). */
void events_poll(void);

/*
 * The entry of watched syscall `se` (ABI `arch`, number `nr`) by `p`,
 * before the manifest's handler runs: decode its arguments now (the
 * memory may be gone at the exit). Returns true when it is logged: its
 * exit stop is then wanted.
 */
bool events_entry(struct proc *p, const struct sysent *se, uint32_t arch, uint64_t nr, const uint64_t *args);

/* The caller the manifest's open handler named for p's pending call (one walk per call). */
void events_caller(struct proc *p, const struct caller *c, bool ok);

/* The exit of p's logged call (rval: -errno when is_error): write the event. */
void events_exit(struct proc *p, int64_t rval, bool is_error);

/* p's logged exec succeeded (PTRACE_EVENT_EXEC): write it with ret 0. */
void events_exec(struct proc *p);

/* p goes away (exited, exec'd by a sibling, detached): a logged call still pending is "unfinished". */
void events_forget(struct proc *p);

/* Events seen so far (all of them, not only the tail kept). */
unsigned long events_count(void);

/*
 * Write what is buffered (or the ring) and close the log. Returns 0, or
 * -errno when it cannot be written.
 */
int events_finish(void);

#endif
