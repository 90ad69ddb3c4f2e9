/*
 * status.c: the live status line on a terminal's standard error while a
 * command is traced (elapsed time, processes, files and libraries recorded,
 * the newest command), and the progress bar of the hashing after it. Off
 * unless standard error is a terminal, -q was not given and TERM is set and
 * not "dumb"; erased before any other message and at the end, so what stays
 * on the terminal is the same as without it.
 */
#ifndef FP_STATUS_H
#define FP_STATUS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct manifest;

/*
 * Set by status_wake() (the tracer's SIGALRM handler): the tracing line is
 * due for a redraw. Read it before calling status_trace, which clears it.
 */
extern volatile sig_atomic_t status_due;

/*
 * Decide whether the status line is on (`allowed`, i.e. no --no-status;
 * standard error a terminal, verbosity >= 1, TERM set and not "dumb") and
 * start its clock. Call once, after the command line is parsed. Returns
 * whether it is on.
 */
bool status_init(bool allowed);

/* Whether the status line is on. */
bool status_enabled(void);

/* Async-signal-safe: ask for a redraw (sets status_due). */
void status_wake(void);

/*
 * Redraw the tracing line from `m` (the processes, files and libraries
 * recorded so far), at most 4 times a second; clears status_due. Does
 * nothing when the status line is off.
 */
void status_trace(const struct manifest *m);

/* Redraw the hashing progress bar: `done` of `total` files (throttled as status_trace). */
void status_progress(size_t done, size_t total);

/* Async-signal-safe: erase the line if one is shown (it comes back at the next redraw). */
void status_erase(void);

/* Erase the line and turn the status line off for good. */
void status_stop(void);

#endif
