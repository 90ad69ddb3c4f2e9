/*
 * tracer.c: launching the command under ptrace (fork, seccomp, exec), the
 * wait loop next_event()/dispatch_event(), ptrace options, group-stops,
 * signal delivery and exit status.
 */
#ifndef FP_TRACER_H
#define FP_TRACER_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "manifest.h"

struct proc;

struct tracer_opts {
	bool seccomp;       /* false: stop on every syscall (PTRACE_SYSCALL) */
	/*
	 * false: when the command's own process exits, detach from the ones
	 * still running and return. Needs seccomp false: a process keeps its
	 * filter after the tracer leaves, and its watched syscalls would then
	 * fail with ENOSYS.
	 */
	bool follow_daemons;
	bool busy_wait;     /* poll a moment for each stop before sleeping, while a CPU is free */
	bool colocate;      /* run the command on the tracer's CPU while one thread at a time may run and a CPU is free (launch mode) */
	char *const *argv;  /* the command, NULL-terminated; NULL in attach mode */
	/*
	 * Attach mode (n_attach > 0): trace these running processes (every
	 * thread, and the children they create from then on) instead of
	 * launching argv; needs seccomp false. The session ends on SIGINT,
	 * SIGTERM or SIGHUP, when every one of them has exited, or after
	 * duration_s seconds (> 0); every tracee still running is then
	 * detached, never killed.
	 */
	const pid_t *attach;
	size_t n_attach;
	double duration_s;
	/* When not NULL: called before each wait for a stop, the stops served so far all resumed. */
	void (*before_wait)(void);
};

enum tracer_start {
	START_OK,
	START_NOT_FOUND,    /* the command was not found (execvp: ENOENT) */
	START_CANNOT_EXEC,  /* found but not executable; see start_errno */
};

struct trace_result {
	enum tracer_start start;
	int start_errno;
	struct mf_exit exit;  /* of the command (the first process; in attach mode the first attached) */
	bool complete;        /* false when the trace was cut short */
	int interrupted_by;   /* the signal that cut it short, or 0 */
	size_t detached;      /* processes left running (follow_daemons false, or attach mode) */
};

/*
 * Catch SIGINT, SIGTERM and SIGHUP (those not ignored) from now until exit:
 * the first cuts the trace short (the traced tree is killed, the run ends
 * incomplete); another within a second of the one before calls `quit`
 * (which must be async-signal-safe: remove the temporary file) and exits
 * 128+N at once. Call before tracer_run; the command starts with the
 * dispositions fingerprint was given. Those ignored are left ignored,
 * except SIGINT and SIGTERM when `attach` (attach mode launches nothing).
 * One sent by a traced process (tracer_signal_from_tracee) is ignored.
 */
void tracer_catch_interrupts(void (*quit)(void), bool attach);

/*
 * Whether `si` (a handler's) is a signal sent by a process fingerprint
 * traces or traced (proc_ever_traced, and not a pid since reused by a
 * process traced by no one). Such a signal reaches fingerprint only
 * because the command shares its process group (`kill -USR1 0`, `trap
 * 'kill 0' EXIT`) or is its child, and was not meant for it: the
 * command's processes get their own. Always false in attach mode, where
 * neither holds and a signal to fingerprint is sent to it on purpose.
 * Async-signal-safe.
 */
bool tracer_signal_from_tracee(const siginfo_t *si);

/* The first of those signals received so far, or 0. */
int tracer_interrupted(void);

/*
 * Check the processes of attach mode before anything else runs: each must
 * exist (a thread id stands for its process, and `pids` is rewritten to
 * the process ids, duplicates dropped). Returns how many are left. Dies
 * with EXIT_USAGE naming the first that does not exist.
 */
size_t tracer_check_attach(pid_t *pids, size_t n);

/*
 * Co-location (tracer.c), at the entry of a sched_getaffinity or
 * sched_setaffinity (`args`: pid, size, mask) of `p`: whether its exit is
 * wanted (co-location on, and the call is about the thread pinned, or about
 * the only thread traced, which may be pinned before the call runs), the
 * call noted in p->sc.args. At that exit,
 * when the call was about the thread the tracer runs on its own CPU (now,
 * at the entry, or between), make it see and keep the thread's own mask:
 * a get reads the mask the thread had before, a set stands.
 */
bool tracer_affinity_entry(struct proc *p, const uint64_t *args);
void tracer_affinity_exit(struct proc *p, bool set, int64_t rval, bool is_error);

/*
 * Run opts->argv under the tracer until every process of its tree has
 * exited (or, without follow_daemons, until the command's own process has
 * and the others are detached, their records marked `detached`), or
 * attach to opts->attach until the session ends (see tracer_opts),
 * recording into `m`. Setup failures (fork, ptrace refused, kernel
 * without PTRACE_GET_SYSCALL_INFO) die with EXIT_INTERNAL; everything the
 * tracees cause is recorded as warnings in `m`.
 */
void tracer_run(const struct tracer_opts *opts, struct manifest *m, struct trace_result *res);

#endif
