#include "config.h"
#include "tracer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "proc.h"
#include "seccomp.h"
#include "status.h"
#include "syscalls.h"
#include "tracee_mem.h"
#include "util.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

enum event_kind {
	EV_EXITED,      /* WIFEXITED or WIFSIGNALED */
	EV_SYSCALL,     /* syscall-enter or -exit stop (TRACESYSGOOD) */
	EV_SECCOMP,     /* PTRACE_EVENT_SECCOMP */
	EV_NEW_CHILD,   /* PTRACE_EVENT_FORK, _VFORK, _CLONE */
	EV_EXEC,        /* PTRACE_EVENT_EXEC */
	EV_GROUP_STOP,  /* PTRACE_EVENT_STOP for SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU */
	EV_TRAP,        /* any other ptrace stop: resume as is */
	EV_SIGNAL,      /* signal-delivery-stop: deliver the signal */
};

struct event {
	enum event_kind kind;
	pid_t tid;
	int status;
	int sig;
	int ptrace_event;
	struct proc *p;
};

static struct manifest *mf;
static const struct tracer_opts *opts;
static struct trace_result *result;
static pid_t first_pid;
static int first_pidfd = -1;  /* signals the first process without risk of pid reuse */
static bool killed_all;
static bool detaching;  /* the command exited and daemons are not followed, or an attach session ended: let go of the rest */
static size_t attached_alive;  /* attach mode: the attached processes that have not exited yet */
static size_t attaching;       /* attach mode: threads seized whose first stop is still to come */
static struct timespec attach_deadline;  /* attach mode with --duration: when the session ends (CLOCK_MONOTONIC) */
static char command_path[PATH_MAX];
/* FINGERPRINT_TEST_VANISH=PATH (for the tests): kill the process whose open of PATH is at its exit stop. */
static const char *test_vanish;
static bool test_unpin_at_fork; /* FINGERPRINT_TEST_UNPIN_AT_FORK: colocate_born's case, made to happen */

/*
 * SIGINT, SIGTERM, SIGHUP: the first cuts the run short, a second one 0.1 s
 * to 1 s later quits at once.
 */
static const int interrupt_sigs[] = { SIGINT, SIGTERM, SIGHUP };
static volatile sig_atomic_t interrupted;  /* the first of them received, or 0 */
static struct timespec last_interrupt;     /* only the handler touches it (the three are masked in it) */
static void (*quit_hook)(void);
static bool catch_attach;  /* attach mode: the first one detaches, it kills nothing */

static void say(const char *a, const char *b, const char *c)
{
	struct iovec v[] = { { (void *)program_name, strlen(program_name) }, { (void *)a, strlen(a) },
			     { (void *)b, strlen(b) }, { (void *)c, strlen(c) } };
	if (writev(STDERR_FILENO, v, 4) < 0)
		return;
}

bool tracer_signal_from_tracee(const siginfo_t *si)
{
	if (catch_attach || (si->si_code != SI_USER && si->si_code != SI_QUEUE && si->si_code != SI_TKILL))
		return false;
	pid_t self = getpid();
	if (si->si_pid <= 0 || si->si_pid == self || !proc_ever_traced(si->si_pid))
		return false;
	/*
	 * Traced once: still, or gone (a sender that exited at once may be
	 * reaped before this handler runs, its /proc entry with it), or a
	 * zombie let go. Alive and traced by no one, the pid was reused by a
	 * process of the outside. Async-signal-safe calls only: no snprintf,
	 * no stdio, no strtol.
	 */
	char path[32] = "/proc/", digits[12], buf[4096];
	size_t len = strlen(path), n = 0;
	for (unsigned v = (unsigned)si->si_pid; v; v /= 10)
		digits[n++] = (char)('0' + v % 10);
	while (n)
		path[len++] = digits[--n];
	memcpy(path + len, "/status", sizeof("/status"));
	int saved_errno = errno;
	ssize_t got = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		got = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	errno = saved_errno;
	if (got <= 0)
		return true;
	buf[got] = '\0';
	const char *state = strstr(buf, "\nState:"), *t = strstr(buf, "\nTracerPid:");
	if (state) {
		state += strlen("\nState:");
		while (*state == ' ' || *state == '\t')
			state++;
		if (*state == 'Z' || *state == 'X')
			return true;
	}
	if (!t)
		return true;
	t += strlen("\nTracerPid:");
	while (*t == ' ' || *t == '\t')
		t++;
	long tracer = 0;
	while (*t >= '0' && *t <= '9' && tracer < INT_MAX / 10)
		tracer = tracer * 10 + (*t++ - '0');
	return tracer == self;
}

static void on_interrupt(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (tracer_signal_from_tracee(si))
		return;
	int saved_errno = errno;
	const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (now.tv_sec - last_interrupt.tv_sec) * 1000 + (now.tv_nsec - last_interrupt.tv_nsec) / 1000000;
	/*
	 * Within 100 ms it is the same request delivered twice (timeout(1) signals
	 * its child and then its process group): not a second one.
	 */
	if (interrupted && ms < 100) {
		errno = saved_errno;
		return;
	}
	if (interrupted && ms < 1000) {
		if (quit_hook)
			quit_hook();
		if (verbosity >= 1)
			say(": ", name, " again: quitting without writing a manifest\n");
		_exit(128 + sig);
	}
	last_interrupt = now;
	if (!interrupted)
		interrupted = sig;
	status_erase();
	if (verbosity >= 1)
		say(": ", name, catch_attach ? ": detaching and writing what was seen"
			" (again within a second to quit at once)\n" : ": stopping the command and writing what was seen"
			" (again within a second to quit at once)\n");
	/* Wake the wait loop: the first process dies and reports (a pidfd never reaches a reused pid). */
	if (first_pidfd >= 0)
		syscall(SYS_pidfd_send_signal, first_pidfd, SIGKILL, NULL, 0);
	errno = saved_errno;
}

void tracer_catch_interrupts(void (*quit)(void), bool attach)
{
	struct sigaction sa = { .sa_sigaction = on_interrupt, .sa_flags = SA_SIGINFO }, old;
	quit_hook = quit;
	catch_attach = attach;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(interrupt_sigs) / sizeof(interrupt_sigs[0]); i++)
		sigaddset(&sa.sa_mask, interrupt_sigs[i]);
	for (size_t i = 0; i < sizeof(interrupt_sigs) / sizeof(interrupt_sigs[0]); i++) {
		/*
		 * A signal ignored when fingerprint started (nohup, a background job)
		 * stays ignored, for the command's sake. Attach mode starts no command,
		 * and SIGINT or SIGTERM is how its session ends, in the background too.
		 */
		if (sigaction(interrupt_sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN &&
		    !(attach && interrupt_sigs[i] != SIGHUP))
			continue;
		/* No SA_RESTART: waitpid returns EINTR. */
		sigaction(interrupt_sigs[i], &sa, NULL);
	}
}

int tracer_interrupted(void)
{
	return interrupted;
}

static void kill_tracee(struct proc *p, void *ctx)
{
	(void)ctx;
	kill(p->tg->tgid, SIGKILL);
}

/* Restart a stopped tracee, delivering `sig` (0 for none). */
static void resume(struct proc *p, pid_t tid, int sig)
{
	bool want_syscall = !opts->seccomp || (p && (p->flags & (PROC_IN_SYSCALL | PROC_NO_EXIT)) == PROC_IN_SYSCALL) ||
			    (p && (p->flags & PROC_EVENT));
	if (ptrace(want_syscall ? PTRACE_SYSCALL : PTRACE_CONT, tid, 0L, (long)sig) < 0 && errno != ESRCH)
		manifest_warn(mf, "ptrace-restart", "cannot restart %d: %s", (int)tid, strerror(errno));
}

/* A field ("Tgid", "PPid") of /proc/TID/status text, or -EINVAL. */
static pid_t status_value(const char *status, const char *field)
{
	char key[16];
	snprintf(key, sizeof(key), "\n%s:", field);
	const char *t = strstr(status, key);
	return t ? (pid_t)strtol(t + strlen(key), NULL, 10) : -EINVAL;
}

/* A field of /proc/TID/status, or -errno. */
static pid_t status_field(pid_t tid, const char *field)
{
	static struct buf b;
	ssize_t n = proc_read_file(tid, "status", &b);
	return n < 0 ? (pid_t)n : status_value(b.data, field);
}

static pid_t tgid_of(pid_t tid)
{
	return status_field(tid, "Tgid");
}

/*
 * Children adopted (first stop before their parent's fork event) that
 * exited before that event arrived: the event must not recreate them.
 * rec is their process record, NULL for a thread.
 */
struct tombstone {
	pid_t tid;
	struct mf_process *rec;
	bool unknown;  /* never seen stopped: rec is NULL, status is its wait status */
	int status;
};
static struct tombstone *tombstones;
static size_t ntombstones, tombstones_cap;

static void add_tombstone(struct tombstone t)
{
	xgrow(&tombstones, &tombstones_cap, ntombstones + 1, sizeof(*tombstones));
	tombstones[ntombstones++] = t;
}

static bool take_tombstone(pid_t tid, struct tombstone *t)
{
	for (size_t i = 0; i < ntombstones; i++) {
		if (tombstones[i].tid == tid) {
			*t = tombstones[i];
			tombstones[i] = tombstones[--ntombstones];
			return true;
		}
	}
	return false;
}

static void inherit_record(struct mf_process *rec, const struct tgroup *parent)
{
	const struct mf_process *prec = parent->rec;
	if (!rec->argv && prec->argv) {
		rec->argv = xmalloc(prec->argv_len + 1);
		memcpy(rec->argv, prec->argv, prec->argv_len + 1);
		rec->argv_len = prec->argv_len;
	}
	if (!rec->cwd && (parent->cwd || prec->cwd))
		rec->cwd = xstrdup(parent->cwd ? parent->cwd : prec->cwd);
}

/* The process record of a new thread group; a forked child starts as a copy of its parent. */
static void start_group(struct proc *p, pid_t ppid, const struct tgroup *parent)
{
	struct mf_process *rec = p->tg->rec = manifest_add_process(mf, p->tg->tgid, ppid);
	rec->threads = 1;
	rec->binary = p->tg->binary;
	if (parent)
		inherit_record(rec, parent);
}

/*
 * The proc of a tid we have not seen yet: a child whose first stop came
 * before its parent's fork event. Threads join their group.
 */
static struct proc *adopt(pid_t tid)
{
	/* Its group and its parent, from one read of its status. */
	static struct buf status;
	ssize_t n = proc_read_file(tid, "status", &status);
	pid_t tgid = n < 0 ? (pid_t)n : status_value(status.data, "Tgid");
	struct proc *leader = tgid > 0 && tgid != tid ? proc_lookup(tgid) : NULL;
	if (leader) {
		struct proc *p = proc_new(tid, leader->tg, NULL);
		p->tg->rec->threads++;
		p->flags |= PROC_ADOPTED;
		return p;
	}
	/* A process: start from its parent, when the parent is known already. */
	pid_t ppid = n < 0 ? (pid_t)n : status_value(status.data, "PPid");
	struct proc *parent = ppid > 0 ? proc_lookup(ppid) : NULL;
	struct proc *p = proc_new(tid, NULL, parent ? parent->tg : NULL);
	start_group(p, parent ? ppid : 0, parent ? parent->tg : NULL);
	p->flags |= PROC_ADOPTED;
	return p;
}

static void start_detaching(void);

/* Attach mode: whether --duration has run out. */
static bool attach_time_up(void)
{
	struct timespec now;
	if (opts->duration_s <= 0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > attach_deadline.tv_sec ||
	       (now.tv_sec == attach_deadline.tv_sec && now.tv_nsec >= attach_deadline.tv_nsec);
}

/*
 * Busy-waiting: once a stop is served, the tracer polls for the next one
 * for up to BUSY_WAIT_US before it sleeps in waitpid. Woken from a sleep,
 * it comes back through the scheduler (an interrupt to a halted CPU, on a
 * virtual machine a halted virtual CPU resumed), which costs more than
 * serving most stops; polling keeps its CPU awake, and the next stop of a
 * process that runs on alone (an exec's loader, an open's exit) is often
 * there within microseconds. Only while a CPU is free for it: no more traced
 * threads than CPUs fingerprint may use (affinity and cgroup quota,
 * cpus_usable), and no more tasks running on the machine than those CPUs
 * (/proc/loadavg, read once a millisecond at most), so that a parallel
 * build or MPI job keeps every CPU. --no-busy-wait turns it off.
 */
#define BUSY_WAIT_US 50
#define BUSY_LOAD_EVERY_US 1000

static struct {
	int ncpu;             /* CPUs this process may use (affinity, cgroup quota); 0 until first asked */
	int loadavg;          /* /proc/loadavg, or -1 */
	bool force;           /* FINGERPRINT_BUSY_WAIT=force (tests): a CPU free whatever the load (polling, co-location) */
	bool free;            /* a CPU was free at the last look */
	uint64_t looked_at;   /* then (monotonic_us) */
	unsigned long caught, slept, skipped;
} busy;

/* Whether a CPU is free for polling: no more traced `threads`, and no more tasks running, than CPUs. */
static bool busy_cpu_free(uint64_t now, size_t threads)
{
	if (!busy.ncpu) {
		const char *f = getenv("FINGERPRINT_BUSY_WAIT");
		busy.ncpu = cpus_usable("");
		busy.loadavg = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
		busy.force = f && strcmp(f, "force") == 0;
		busy.looked_at = now - BUSY_LOAD_EVERY_US;
	}
	if (busy.ncpu < 2 || threads > (size_t)busy.ncpu)
		return false;
	if (busy.force)
		return true;
	/* A /proc read on the hot path, but one a millisecond at most, of a file the kernel formats from counters. */
	if (now - busy.looked_at >= BUSY_LOAD_EVERY_US) {
		char b[128];
		ssize_t n = busy.loadavg >= 0 ? pread(busy.loadavg, b, sizeof(b) - 1, 0) : -1;
		int running = -1; /* this process included */
		if (n > 0) {
			b[n] = '\0';
			running = loadavg_running(b);
		}
		busy.free = running > 0 && running <= busy.ncpu;
		busy.looked_at = now;
	}
	return busy.free;
}

/*
 * The handler of the wait loop's timer (the attach session's, the status
 * line's, co-location's checks): its SIGALRM, without SA_RESTART, wakes
 * waitpid so that the loop sees an interrupt that came just before it
 * blocked, the end of --duration, a status line due for a redraw and a
 * check of the pinned command due.
 */
static void on_wake(int sig)
{
	(void)sig;
	status_wake();
}

static struct sigaction saved_alarm;
static long wake_base_us; /* the loop's own period (attach, status line), or 0 */
static long wake_us;      /* the period set now, or 0 */

/* The timer at the shortest period asked for: wake_base_us, or co-location's checks while pinned. */
static void wake_timer_apply(long pinned_us)
{
	long us = wake_base_us && (!pinned_us || wake_base_us < pinned_us) ? wake_base_us : pinned_us;
	struct itimerval it = { { 0, us }, { 0, us } };
	if (us == wake_us)
		return;
	if (us && !wake_us) {
		struct sigaction sa = { .sa_handler = on_wake };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, &saved_alarm);
	}
	setitimer(ITIMER_REAL, &it, NULL);
	if (!us)
		sigaction(SIGALRM, &saved_alarm, NULL);
	wake_us = us;
}

/*
 * Co-location: while one traced thread at a time may run (proc_runners: a
 * command of one thread, or a shell, make or script that waits for each
 * command it starts), the command's threads and the tracer run on one
 * CPU, the one the tracer is on. A stop then wakes the tracer, and a
 * restart the thread, on a CPU already running: no interrupt to another
 * CPU, which on a virtual machine is a halted virtual CPU to resume (15
 * to 19 us each here). Pinned at the fourth stop in a row with one runner,
 * when every traced thread has the same mask, while a CPU is free (as for
 * polling, which stops meanwhile: the CPU is the command's); never in
 * attach mode. A process made meanwhile is born with the one CPU, and
 * stays there while its parent waits. Every traced thread gets its own
 * mask back as soon as two may run (a second thread, a second child), when
 * the machine gets busy, and at the end. What the table cannot see, a
 * parent that runs on beside its child instead of waiting, a check sees:
 * every COLOCATE_CHECK_US (a timer wakes the wait) it counts the pinned
 * threads that are runnable, and two, twice in a row, give the CPUs back
 * and hold off the next pin a while (longer each time). The command does
 * not see it: its sched_getaffinity reads the mask it had, and its
 * sched_setaffinity stands (tracer_affinity_exit); only /proc/PID/status
 * and the CPU it runs on show it. --no-colocate turns it off.
 */
#define COLOCATE_AFTER 4
#define COLOCATE_CHECK_US 10000
#define COLOCATE_HOLD_US 20000
#define COLOCATE_HOLD_MAX_US 2000000

static struct {
	bool on;              /* opts->colocate, launch mode */
	bool pinned;          /* every traced thread is on the tracer's CPU */
	cpu_set_t own;        /* their mask before (put back) */
	cpu_set_t tracer;     /* the tracer's mask before */
	unsigned alone;       /* stops in a row with one runner */
	unsigned long stops;  /* stops and exits waited for so far */
	unsigned long seen;   /* the value of stops at the last update */
	unsigned long gen;    /* pins and unpins so far */
	uint64_t checked;     /* the last check for two runnable (monotonic_us) */
	bool suspect;         /* it found two */
	uint64_t hold_until;  /* no pin before then */
	uint64_t hold;        /* the hold after the last check that found two */
	unsigned long pins, contended; /* for -v */
} co;

/* Set tid's mask to `mask`, its own; a thread gone meanwhile is no news. */
static void give_back(pid_t tid, const cpu_set_t *mask)
{
	if (sched_setaffinity(tid, sizeof(*mask), mask) < 0 && errno != ESRCH)
		manifest_warn(mf, "affinity", "cannot give %d back its CPUs: %s", (int)tid, strerror(errno));
}

static void unpin_thread(struct proc *p, void *ctx)
{
	(void)ctx;
	give_back(p->tid, &co.own);
}

/* No thread pinned any more: the tracer and its new threads get their CPUs back. */
static void colocate_release(void)
{
	sched_setaffinity(0, sizeof(co.tracer), &co.tracer);
	thread_start_affinity(NULL);
	co.pinned = false;
	co.gen++;
	wake_timer_apply(0);
}

static void colocate_end(void)
{
	if (!co.pinned)
		return;
	proc_foreach(unpin_thread, NULL);
	colocate_release();
}

/*
 * A thread or process added to the table while pinned: it was made with
 * the one CPU. When two may run now, everyone's mask back before anything
 * is resumed: its creator stops at the fork or clone event (or has yet to
 * reach it when the child's first stop comes first), so it makes no other
 * one meanwhile that the table would not hold.
 */
static void colocate_added(void)
{
	if (co.pinned && proc_runners() != 1)
		colocate_end();
	else if (co.pinned)
		wake_timer_apply(COLOCATE_CHECK_US); /* checks from now on */
}

/*
 * At the fork, vfork or clone event of `creator` (stopped there since, so
 * its mask is the one it made `child` with unless the tracer changed it):
 * a child made while pinned, and everyone unpinned before it was in the
 * table, has the one CPU still. It gets its creator's mask.
 */
static void colocate_born(struct proc *child, pid_t creator)
{
	cpu_set_t made, now;
	if (co.pinned || !co.pins || !child || sched_getaffinity(creator, sizeof(now), &now) < 0 ||
	    sched_getaffinity(child->tid, sizeof(made), &made) < 0 || CPU_EQUAL(&made, &now))
		return;
	give_back(child->tid, &now);
}

struct pin {
	cpu_set_t one;
	bool ok;
};

static void same_mask(struct proc *p, void *ctx)
{
	struct pin *pin = ctx;
	cpu_set_t m;
	if (pin->ok && (sched_getaffinity(p->tid, sizeof(m), &m) < 0 || !CPU_EQUAL(&m, &co.own)))
		pin->ok = false;
}

static void pin_thread(struct proc *p, void *ctx)
{
	struct pin *pin = ctx;
	if (pin->ok && sched_setaffinity(p->tid, sizeof(pin->one), &pin->one) < 0 && errno != ESRCH)
		pin->ok = false;
}

static void any_proc(struct proc *p, void *ctx)
{
	*(struct proc **)ctx = p;
}

static void colocate_pin(uint64_t now)
{
	int cpu = sched_getcpu();
	struct proc *p = NULL;
	struct pin pin = { .ok = true };
	co.alone = 0; /* should it fail, the next try 4 stops on */
	proc_foreach(any_proc, &p);
	if (cpu < 0 || !p || sched_getaffinity(p->tid, sizeof(co.own), &co.own) < 0 || !CPU_ISSET(cpu, &co.own) ||
	    CPU_COUNT(&co.own) < 2 || sched_getaffinity(0, sizeof(co.tracer), &co.tracer) < 0)
		return;
	proc_foreach(same_mask, &pin); /* threads with masks of their own: not now */
	if (!pin.ok)
		return;
	CPU_ZERO(&pin.one);
	CPU_SET(cpu, &pin.one);
	proc_foreach(pin_thread, &pin);
	if (!pin.ok || sched_setaffinity(0, sizeof(pin.one), &pin.one) < 0) {
		proc_foreach(unpin_thread, NULL);
		return;
	}
	thread_start_affinity(&co.tracer); /* fingerprint's own threads run anywhere */
	co.pinned = true;
	co.gen++;
	co.pins++;
	co.checked = now;
	co.suspect = false;
	if (proc_count() > 1) /* else from the next thread or process added */
		wake_timer_apply(COLOCATE_CHECK_US);
}

/* Counts the threads that are runnable (state R in /proc/TID/stat). */
static void count_runnable(struct proc *p, void *ctx)
{
	static struct buf stat;
	if (proc_read_file(p->tid, "stat", &stat) <= 0)
		return;
	const char *e = strrchr(stat.data, ')'); /* after the name, which may hold anything */
	if (e && e[1] == ' ' && e[2] == 'R')
		++*(unsigned *)ctx;
}

/* Two found runnable: the CPUs back, and no pin for a hold that doubles while it keeps happening. */
static void colocate_back_off(uint64_t now)
{
	colocate_end();
	co.suspect = false;
	co.alone = 0;
	co.contended++;
	co.hold = co.hold && now - co.hold_until < 8 * co.hold ? co.hold * 2 : COLOCATE_HOLD_US;
	if (co.hold > COLOCATE_HOLD_MAX_US)
		co.hold = COLOCATE_HOLD_MAX_US;
	co.hold_until = now + co.hold;
}

/* The tests (FINGERPRINT_TEST_UNPIN_AT_FORK): a check's back-off between a fork and the child's place in the table. */
static void colocate_test_back_off(void)
{
	if (test_unpin_at_fork && co.pinned)
		colocate_back_off(monotonic_us());
}

/*
 * Pinned, with more than one thread traced: two runnable at two checks in
 * a row (not a shell caught between its fork and its wait) back off.
 */
static void colocate_check(uint64_t now)
{
	unsigned runnable = 0;
	if (proc_count() < 2 || now - co.checked < COLOCATE_CHECK_US)
		return;
	co.checked = now;
	proc_foreach(count_runnable, &runnable);
	bool was = co.suspect;
	co.suspect = runnable >= 2;
	if (co.suspect && was)
		colocate_back_off(now);
}

/* Before each wait: pin the command, check it, or give it its CPUs back. */
static void colocate_update(void)
{
	if (!co.on)
		return;
	size_t n = proc_runners();
	uint64_t now = monotonic_us();
	bool new_stop = co.stops != co.seen; /* not a wait begun again (a signal, a poll that caught nothing) */
	co.seen = co.stops;
	if (n != 1)
		co.alone = 0;
	else if (new_stop)
		co.alone++;
	/* Never a thread about to be let go (--no-follow-daemons): it would keep the one CPU. */
	if (co.pinned) {
		if (n != 1 || detaching || !busy_cpu_free(now, n))
			colocate_end();
		else
			colocate_check(now);
		return;
	}
	if (n == 1 && !detaching && co.alone >= COLOCATE_AFTER && now >= co.hold_until && busy_cpu_free(now, n))
		colocate_pin(now);
}

bool tracer_affinity_entry(struct proc *p, const uint64_t *args)
{
	pid_t target = args[0] ? (pid_t)args[0] : p->tid;
	/* A traced thread while pinned, or while a pin may come before the call runs: the exit is seen. */
	if (!co.on || !(co.pinned || proc_runners() == 1) || !proc_lookup(target))
		return false;
	p->sc.args[0] = (uint64_t)target;
	p->sc.args[1] = args[1];
	p->sc.args[2] = args[2];
	p->sc.args[3] = co.gen;
	p->sc.args[4] = co.pinned;
	return true;
}

void tracer_affinity_exit(struct proc *p, bool set, int64_t rval, bool is_error)
{
	pid_t target = (pid_t)p->sc.args[0];
	/* Only a traced thread pinned now, at the call's entry, or between. */
	if (is_error || !proc_lookup(target) || (!co.pinned && !p->sc.args[4] && p->sc.args[3] == co.gen))
		return;
	if (set) {
		/* Its own mask now, and it stands: the one asked for, again (an unpin may have come between). */
		cpu_set_t want;
		size_t len = p->sc.args[1] < sizeof(want) ? (size_t)p->sc.args[1] : sizeof(want);
		CPU_ZERO(&want);
		if (tracee_read(p->tid, p->sc.args[2], &want, len) < 0)
			return;
		if (co.pinned) {
			colocate_end();
			co.alone = 0;
		}
		sched_setaffinity(target, sizeof(want), &want);
		return;
	}
	/* The kernel may have written the one CPU (rval bytes): the thread's own mask over it. */
	size_t len = rval > 0 && (uint64_t)rval < sizeof(co.own) ? (size_t)rval : sizeof(co.own);
	struct iovec local = { &co.own, len }, remote = { (void *)(uintptr_t)p->sc.args[2], len };
	if (process_vm_writev(p->tid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		manifest_warn(mf, "affinity", "cannot show %d its own CPUs: %s", (int)p->tid, strerror(errno));
}

/*
 * The next wait status, polled for up to BUSY_WAIT_US: waitpid's result, 0
 * when none came. *tried says whether it polled at all (no clock is read
 * when co-location or the option rules it out).
 */
static pid_t busy_wait(int *status, bool *tried)
{
	*tried = false;
	if (!opts->busy_wait || co.pinned) {
		busy.skipped++;
		return 0;
	}
	uint64_t t0 = monotonic_us();
	if (!busy_cpu_free(t0, proc_count())) {
		busy.skipped++;
		return 0;
	}
	*tried = true;
	pid_t tid;
	do
		tid = waitpid(-1, status, __WALL | WNOHANG);
	while (tid == 0 && monotonic_us() - t0 < BUSY_WAIT_US);
	if (tid == 0)
		busy.slept++;
	else if (tid > 0)
		busy.caught++;
	return tid;
}

/* Stops by kind, for -v: what the seccomp filter and skipped exits save. */
static unsigned long n_entry_stops, n_exit_stops;

static void report_stops(void)
{
	info("syscall stops: %lu at entry, %lu at exit", n_entry_stops, n_exit_stops);
	info("exit stops skipped for opens of missing paths: %lu, for first reads of files present: %lu",
	     syscalls_known_missing(), syscalls_known_present());
	info("busy-waiting: %lu stops caught polling, %lu waits slept after %d us of it, %lu slept at once",
	     busy.caught, busy.slept, BUSY_WAIT_US, busy.skipped);
	if (co.on)
		info("co-location: the command run on the tracer's CPU %lu time%s, given its CPUs back %lu time%s "
		     "for two runnable at once", co.pins, co.pins == 1 ? "" : "s", co.contended,
		     co.contended == 1 ? "" : "s");
}

/* Wait for the next stop of any tracee and classify it. Returns NULL when none is left. */
static struct event *next_event(void)
{
	static struct event ev;
	int status;
	bool polled = false;

	for (;;) {
		if (opts->before_wait)
			opts->before_wait();
		colocate_update();
		if (status_due)
			status_trace(mf);
		if (events_on)
			events_poll(); /* a SIGUSR1 (--events-tail): it interrupts the wait, or came while a stop was served */
		if (opts->n_attach) {
			if (!detaching && (interrupted || attach_time_up())) {
				result->interrupted_by = interrupted;
				start_detaching();
			}
		} else if (interrupted && !killed_all) {
			killed_all = true;
			result->complete = false;
			result->interrupted_by = interrupted;
			proc_foreach(kill_tracee, NULL);
		}
		bool tried = false;
		pid_t tid = polled ? 0 : busy_wait(&status, &tried);
		if (tid == 0 && tried) {
			polled = true;
			continue; /* a signal may have come while it polled: the checks above again, then sleep */
		}
		if (tid == 0)
			tid = waitpid(-1, &status, __WALL);
		polled = false;
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				return NULL;
			die_errno(EXIT_INTERNAL, "waitpid");
		}
		memset(&ev, 0, sizeof(ev));
		co.stops++;
		ev.tid = tid;
		ev.status = status;
		ev.p = proc_lookup(tid);
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			ev.kind = EV_EXITED;
			return &ev;
		}
		if (!WIFSTOPPED(status))
			continue;
		if (!ev.p) {
			colocate_test_back_off();
			ev.p = adopt(tid);
			colocate_added();
		}
		ev.sig = WSTOPSIG(status);
		ev.ptrace_event = (unsigned)status >> 16;
		if (ev.sig == (SIGTRAP | 0x80))
			ev.kind = EV_SYSCALL;
		else if (ev.ptrace_event == PTRACE_EVENT_SECCOMP)
			ev.kind = EV_SECCOMP;
		else if (ev.ptrace_event == PTRACE_EVENT_FORK || ev.ptrace_event == PTRACE_EVENT_VFORK ||
			 ev.ptrace_event == PTRACE_EVENT_CLONE)
			ev.kind = EV_NEW_CHILD;
		else if (ev.ptrace_event == PTRACE_EVENT_EXEC)
			ev.kind = EV_EXEC;
		else if (ev.ptrace_event == PTRACE_EVENT_STOP &&
			 (ev.sig == SIGSTOP || ev.sig == SIGTSTP || ev.sig == SIGTTIN || ev.sig == SIGTTOU))
			ev.kind = EV_GROUP_STOP;
		else if (ev.ptrace_event != 0)
			ev.kind = EV_TRAP;
		else
			ev.kind = EV_SIGNAL;
		return &ev;
	}
}

/* Drop `p` from the table; a call it had in the event log is written as unfinished. */
static void forget(struct proc *p)
{
	if (events_on)
		events_forget(p);
	proc_remove(p);
}

static void record_exit(struct proc *p, int status)
{
	struct mf_exit *e = &p->tg->rec->exit;
	if (p->tg->rec->detached) {
		/* Some threads were let go, but the process ended before the rest were. */
		p->tg->rec->detached = false;
		result->detached--;
	}
	e->exited = true;
	e->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	e->status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
	if (p->tg->tgid == first_pid)
		result->exit = *e;
}

static void interrupt_tracee(struct proc *p, void *ctx)
{
	(void)ctx;
	if (ptrace(PTRACE_INTERRUPT, p->tid, 0L, 0L) < 0 && errno != ESRCH)
		manifest_warn(mf, "ptrace-interrupt", "PTRACE_INTERRUPT on %d: %s", (int)p->tid, strerror(errno));
}

/*
 * The command's process exited and daemons are not followed, or an attach
 * session ended: stop every tracee still running, so that each is let go
 * at its next stop (detach_tracee).
 */
static void start_detaching(void)
{
	detaching = true;
	proc_foreach(interrupt_tracee, NULL);
}

static void on_exited(struct event *ev)
{
	struct proc *p = ev->p;
	if (!p) {
		/* Killed before its first stop: its parent's event may still come. */
		add_tombstone((struct tombstone){ .tid = ev->tid, .unknown = true, .status = ev->status });
		return;
	}
	/* The leader reports last, with the status of the whole group. */
	if (ev->tid == p->tg->tgid)
		record_exit(p, ev->status);
	if (ev->tid == first_pid && first_pidfd >= 0) {
		close(first_pidfd);
		first_pidfd = -1;
	}
	if (p->flags & PROC_ADOPTED)
		add_tombstone((struct tombstone){ ev->tid, ev->tid == p->tg->tgid ? p->tg->rec : NULL, false, 0 });
	bool attached_exited = ev->tid == p->tg->tgid && p->tg->attached;
	forget(p);
	if (ev->tid == first_pid && !opts->follow_daemons && !killed_all && !detaching)
		start_detaching();
	/* Every attached process has exited: let go of the children they left. */
	if (attached_exited && --attached_alive == 0 && !detaching)
		start_detaching();
}

static bool get_syscall_info(struct proc *p, struct __ptrace_syscall_info *info)
{
	/*
	 * The kernel fills only the part of `info` this stop has; the rest reads
	 * as zeros (and valgrind, which does not know this request, sees it set).
	 */
	memset(info, 0, sizeof(*info));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, p->tid, (void *)sizeof(*info), info) > 0)
		return true;
	if (errno == EIO || errno == EINVAL)
		die(EXIT_INTERNAL, "this kernel lacks PTRACE_GET_SYSCALL_INFO: Linux 5.3 or newer is needed");
	/*
	 * Gone (killed, or a sibling thread exec'd): only a watched syscall
	 * waiting for its result loses something; at an entry the call never ran.
	 */
	if (errno == ESRCH) {
		if (p->flags & PROC_IN_SYSCALL)
			manifest_warn(mf, "vanished", "process %d vanished before the result of its %s was read",
				      (int)p->tid, p->sc.se ? p->sc.se->name : "syscall");
	} else {
		manifest_warn(mf, "syscall-info", "cannot read the syscall of %d: %s", (int)p->tid, strerror(errno));
	}
	return false;
}

/* A watched syscall's entry, from a seccomp stop or a syscall-enter stop. */
static void syscall_entered(struct proc *p, uint32_t arch, uint64_t nr, const uint64_t *args)
{
	const struct sysent *se = syscalls_lookup(arch, nr);
	if (p->flags & PROC_EVENT)
		events_forget(p); /* its exit never came */
	p->flags &= ~(PROC_IN_SYSCALL | PROC_EXEC_SEEN | PROC_NO_EXIT);
	/* First: the log reads the arguments before the manifest's handler may change the mappings. */
	if (se && events_on && events_entry(p, se, arch, nr, args))
		p->flags |= PROC_EVENT;
	if (se && syscalls_entry(p, se, args))
		p->flags |= PROC_IN_SYSCALL;
}

/*
 * A seccomp stop that fingerprint's filter did not ask for: a filter the
 * command installed later returned SECCOMP_RET_TRACE (the newest filter's
 * data wins over ours). Untraced, the kernel fails such a call with ENOSYS,
 * as there is no tracer to ask; so it does here: the call is skipped
 * (number -1, its result left at the -ENOSYS the entry put there) and
 * nothing is recorded, as nothing happened.
 */
static void foreign_trace(struct proc *p, pid_t tid, const struct __ptrace_syscall_info *si)
{
	if (p->flags & PROC_EVENT)
		events_forget(p);
	p->flags &= ~(PROC_IN_SYSCALL | PROC_EXEC_SEEN | PROC_NO_EXIT);
	if (ptrace(PTRACE_POKEUSER, tid, (void *)offsetof(struct user_regs_struct, orig_rax), (void *)-1L) < 0 &&
	    errno != ESRCH)
		manifest_warn(mf, "syscall-skip", "cannot fail syscall %llu of process %d (its own seccomp filter's "
			      "SECCOMP_RET_TRACE) with ENOSYS: %s", (unsigned long long)si->seccomp.nr, (int)tid,
			      strerror(errno));
	if (verbosity >= 2)
		info("process %d: syscall %llu stopped by its own seccomp filter (data %#x): failed with ENOSYS",
		     (int)tid, (unsigned long long)si->seccomp.nr, (unsigned)si->seccomp.ret_data);
}

static void on_syscall_stop(struct event *ev)
{
	struct proc *p = ev->p;
	struct __ptrace_syscall_info info;

	if (test_vanish && (p->flags & PROC_IN_SYSCALL) && strcmp(p->sc.path, test_vanish) == 0)
		kill(p->tg->tgid, SIGKILL);
	if (get_syscall_info(p, &info)) {
		if (info.op == PTRACE_SYSCALL_INFO_EXIT)
			n_exit_stops++;
		else
			n_entry_stops++;
		p->sc.ip = info.instruction_pointer;
		p->sc.sp = info.stack_pointer;
		if (info.op == PTRACE_SYSCALL_INFO_SECCOMP && info.seccomp.ret_data != SECCOMP_FP_DATA) {
			foreign_trace(p, ev->tid, &info);
		} else if (info.op == PTRACE_SYSCALL_INFO_SECCOMP) {
			syscall_entered(p, info.arch, info.seccomp.nr, info.seccomp.args);
		} else if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
			syscall_entered(p, info.arch, info.entry.nr, info.entry.args);
		} else if (info.op == PTRACE_SYSCALL_INFO_EXIT) {
			/* A known exec's exit is seen only for the log (or without seccomp): the manifest skips it. */
			if ((p->flags & PROC_IN_SYSCALL) && !(opts->seccomp && (p->flags & PROC_NO_EXIT))) {
				p->flags &= ~PROC_IN_SYSCALL;
				syscalls_exit(p, info.exit.rval, info.exit.is_error);
			}
			if (p->flags & PROC_EVENT)
				events_exit(p, info.exit.rval, info.exit.is_error);
		}
	}
	resume(p, ev->tid, 0);
	syscalls_resumed(p, false);
}

/* The bookkeeping of a fork, vfork or clone event; the parent stays stopped. Returns the child, or NULL. */
static struct proc *note_new_child(struct event *ev)
{
	unsigned long msg = 0;
	struct proc *parent = ev->p;

	if (ptrace(PTRACE_GETEVENTMSG, ev->tid, 0L, &msg) == 0 && msg > 0) {
		pid_t tid = (pid_t)msg;
		struct proc *child = proc_lookup(tid);
		struct tombstone t;
		if (killed_all)
			kill(tid, SIGKILL);
		if (!child && take_tombstone(tid, &t)) {
			/* It came and went before this event: only its parent is news. */
			if (t.rec)
				t.rec->ppid = parent->tg->tgid;
			if (t.unknown && ev->ptrace_event != PTRACE_EVENT_CLONE) {
				struct mf_process *rec = manifest_add_process(mf, tid, parent->tg->tgid);
				rec->threads = 1;
				rec->binary = parent->tg->binary;
				inherit_record(rec, parent->tg);
				rec->exit = (struct mf_exit){ true, WIFEXITED(t.status) ? WEXITSTATUS(t.status) : 0,
							      WIFSIGNALED(t.status) ? WTERMSIG(t.status) : 0 };
			}
			return NULL;
		}
		bool thread = ev->ptrace_event == PTRACE_EVENT_CLONE && tgid_of(tid) == parent->tg->tgid;
		if (!child && thread) {
			child = proc_new(tid, parent->tg, NULL);
			parent->tg->rec->threads++;
		} else if (!child) {
			child = proc_new(tid, NULL, parent->tg);
			start_group(child, parent->tg->tgid, parent->tg);
		} else if (child->tg == parent->tg) {
			child->flags &= ~PROC_ADOPTED; /* an adopted thread: nothing more to learn */
		} else {
			/* Adopted before this event: now we know its parent for sure. */
			child->flags &= ~PROC_ADOPTED;
			child->tg->rec->ppid = parent->tg->tgid;
			tgroup_set_parent(child->tg, parent->tg);
			if (!child->tg->binary) {
				child->tg->binary = child->tg->rec->binary = parent->tg->binary;
				child->tg->exe = parent->tg->exe;
			}
			if (!child->tg->cwd)
				tgroup_set_cwd(child->tg, parent->tg->cwd);
			inherit_record(child->tg->rec, parent->tg);
		}
		return child;
	}
	return NULL;
}

static void on_new_child(struct event *ev)
{
	colocate_test_back_off(); /* a race gives it seldom */
	struct proc *child = note_new_child(ev);
	colocate_added();
	colocate_born(child, ev->tid);
	resume(ev->p, ev->tid, 0);
}

/* The proc that exec'd, at ev->tid: a non-leader thread that exec'd takes over the leader's tid. */
static struct proc *exec_rekey(struct event *ev)
{
	unsigned long former = 0;
	struct proc *p = ev->p;

	if (p && p->tg->refs == 1 && p->tid == p->tg->tgid)
		return p; /* a process of one thread: no other thread can have exec'd */
	if (ptrace(PTRACE_GETEVENTMSG, ev->tid, 0L, &former) == 0 && (pid_t)former != ev->tid) {
		struct proc *execer = proc_lookup((pid_t)former);
		if (execer) {
			if (p && p != execer)
				forget(p);
			proc_rekey(execer, ev->tid);
			p = execer;
		}
	}
	return p;
}

static void on_exec(struct event *ev)
{
	struct proc *p = exec_rekey(ev);
	struct __ptrace_syscall_info info;
	struct exec_start at = { 0, 0, 0 };
	memset(&info, 0, sizeof(info));
	/* Where the kernel starts the new image: its stack holds argv and envp. */
	if (ptrace(PTRACE_GET_SYSCALL_INFO, ev->tid, (void *)sizeof(info), &info) > 0)
		at = (struct exec_start){ info.instruction_pointer, info.stack_pointer, info.arch };
	/* With callers on, the unwinder places the loader from the entry (no maps read for its opens). */
	if (!mf->callers)
		at.entry = 0;
	syscalls_exec_done(p, &at);
	if (p->flags & PROC_EVENT)
		events_exec(p);
	resume(p, ev->tid, 0);
	syscalls_resumed(p, true);
}

/*
 * Let the stopped tracee of `ev` run on untraced (with the signal it was
 * about to get, at a signal-delivery-stop; a group-stop stays a stop) and
 * mark its process as left running.
 */
static void detach_tracee(struct event *ev)
{
	struct proc *p = ev->kind == EV_EXEC ? exec_rekey(ev) : ev->p;
	struct mf_process *rec = p->tg->rec;
	if (ev->kind == EV_NEW_CHILD) /* the child is detached at its own first stop, with its creator's mask */
		colocate_born(note_new_child(ev), ev->tid);
	if (ptrace(PTRACE_DETACH, ev->tid, 0L, ev->kind == EV_SIGNAL ? (long)ev->sig : 0L) < 0) {
		if (errno == ESRCH)
			return; /* killed meanwhile: its exit comes next */
		manifest_warn(mf, "ptrace-detach", "cannot detach from %d: %s", (int)ev->tid, strerror(errno));
	}
	if (!rec->exit.exited && !rec->detached) {
		rec->detached = true;
		result->detached++;
	}
	/* Its parent's fork event may still come: it must not recreate it. */
	if (p->flags & PROC_ADOPTED)
		add_tombstone((struct tombstone){ ev->tid, ev->tid == p->tg->tgid ? rec : NULL, false, 0 });
	forget(p);
}

/*
 * Attach mode: a thread seized while running reached its first stop (or
 * ended); once every one has, each stops at syscalls from now on: say so.
 */
static void attach_stopped(struct proc *p)
{
	p->flags &= ~PROC_ATTACHING;
	if (--attaching == 0)
		warn("attached to %zu process%s; SIGINT or SIGTERM to detach", opts->n_attach,
		     opts->n_attach == 1 ? "" : "es");
}

static bool dispatch_event(struct event *ev)
{
	if (!ev)
		return false;
	if (ev->p && (ev->p->flags & PROC_ATTACHING))
		attach_stopped(ev->p);
	/* Cut short: whatever still stops (a child forked during the kill) dies too, unread. */
	if (killed_all && ev->kind != EV_EXITED) {
		kill(ev->p->tg->tgid, SIGKILL);
		if (ev->kind == EV_SYSCALL || ev->kind == EV_SECCOMP) {
			resume(ev->p, ev->tid, 0);
			return true;
		}
	} else if (detaching && ev->kind != EV_EXITED) {
		detach_tracee(ev);
		return true;
	}
	switch (ev->kind) {
	case EV_EXITED:
		on_exited(ev);
		break;
	case EV_SYSCALL:
	case EV_SECCOMP:
		on_syscall_stop(ev);
		break;
	case EV_NEW_CHILD:
		on_new_child(ev);
		break;
	case EV_EXEC:
		on_exec(ev);
		break;
	case EV_GROUP_STOP:
		/* It stays stopped until SIGCONT (the launch never stops its child). */
		if (ptrace(PTRACE_LISTEN, ev->tid, 0L, 0L) < 0 && errno != ESRCH)
			manifest_warn(mf, "ptrace-listen", "PTRACE_LISTEN on %d: %s", (int)ev->tid, strerror(errno));
		break;
	case EV_TRAP:
		resume(ev->p, ev->tid, 0);
		break;
	case EV_SIGNAL:
		resume(ev->p, ev->tid, ev->sig);
		break;
	}
	return true;
}

/*
 * What the launch thread or the launched child tells the tracer, through
 * a pipe: the child's pid (LAUNCH_READY), or the step that failed.
 */
enum launch_stage { LAUNCH_READY, LAUNCH_NO_NEW_PRIVS, LAUNCH_SECCOMP, LAUNCH_CLONE, LAUNCH_EXEC };

struct launch_msg {
	int stage;
	int err; /* an errno, or the child's pid */
};

/*
 * Find the command as execvp would, but in the tracer, so that its search
 * is not recorded as the program's own probes. Returns 0 with the path in
 * `out`, -ENOENT when it is nowhere, -EACCES when found but not executable.
 */
static int find_command(const char *name, char *out, size_t outsz)
{
	const char *path = getenv("PATH");
	int err = -ENOENT;
	struct stat st;

	if (strchr(name, '/')) {
		snprintf(out, outsz, "%s", name);
		return 0; /* the exec itself reports what is wrong with it */
	}
	if (!path)
		path = "/bin:/usr/bin";
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		int n = (int)(end - p);
		/* An empty PATH element means the current directory. */
		if (snprintf(out, outsz, "%.*s/%s", n ? n : 1, n ? p : ".", name) < (int)outsz &&
		    stat(out, &st) == 0 && !S_ISDIR(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			err = -EACCES;
		}
		if (!*end)
			break;
		p = end;
	}
	return err;
}

/* The kernel's struct sigaction (rt_sigaction), for the signals glibc's wrapper refuses to touch. */
struct kernel_sigaction {
	unsigned long handler, flags, restorer;
	uint64_t mask;
};

#define GLIBC_SIGNALS 8 /* room for 32 to SIGRTMIN - 1 (2 with glibc 2.36) */

/*
 * In the child, before anything else: fingerprint's own signal handlers
 * (inherited with every signal blocked) go back to the default. The
 * signals glibc keeps for itself, from 32 to SIGRTMIN - 1, which its first
 * pthread_create gives handlers, get what they had before fingerprint
 * started a thread (`reserved`): a caller's SIG_IGN passes to the command.
 */
static void child_reset_signals(const unsigned long *reserved)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig >= 32 && sig < SIGRTMIN && sig - 32 < GLIBC_SIGNALS) {
			struct kernel_sigaction k = { .handler = reserved[sig - 32] };
			syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof(k.mask));
		} else if (sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) {
			sigaction(sig, &dfl, NULL);
		}
	}
}

/*
 * The launch: a thread of fingerprint's own (launcher_main) clones the
 * child with CLONE_VM: it shares fingerprint's memory until its exec (no
 * page tables copied, no page copied on write: on these virtual machines
 * a fork of the tracer cost about 2 ms of every run) and runs on a stack
 * of its own. It puts the signal handlers back, sends its pid and waits
 * for a word; the main thread seizes it, then says the word; it sets
 * no_new_privs, the seccomp filter and the command's signal mask, and
 * execs. No thread waits in vfork, which nothing but SIGKILL interrupts:
 * a SIGSTOP to fingerprint then stops it at once, and a SIGCONT cannot
 * let the child run on untraced. The child uses the launch thread's
 * thread-local data (errno), so that thread does nothing meanwhile but
 * pause. The child calls no function that takes a lock or allocates (what
 * it needs is made before), and no thread loads a library (dlopen) until
 * its exec, since the child binds its calls to libc lazily. Each side
 * closes its copies of the other's pipe ends: the main thread's read of
 * `ready` ends however the child ends, and the child's read of `go`
 * however fingerprint does. Under valgrind and in a sanitizer build the
 * child is a fork (clone_vm_ok).
 */
#define LAUNCH_STACK (256 * 1024)

static struct launcher {
	int ready[2]; /* launch thread or child -> tracer: struct launch_msg */
	int go[2];    /* tracer -> child: one byte, once it is seized */
	int err[2];   /* child -> tracer: what failed before or at the exec (closed by the exec) */
	sigset_t mask;  /* the command's: the tracer's at the launch */
	unsigned long reserved[GLIBC_SIGNALS]; /* SIG_DFL or SIG_IGN: glibc's signals before any thread */
	char **sh_argv; /* the fallback for a file without #! (ENOEXEC), made beforehand */
	char *stack;    /* the child's until its exec (kept: when it is done with it is not known) */
	unsigned pause_ms; /* FINGERPRINT_TEST_LAUNCH_PAUSE_MS (tests): the child waits so long before its pid */
} launcher;

static void launch_tell(int fd, int stage, int err)
{
	struct launch_msg m = { stage, err };
	if (write(fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
		_exit(EXIT_INTERNAL);
}

static int child_main(void *arg)
{
	const struct launcher *l = arg;
	char go;
	ssize_t n;

	/* Its copies of the tracer's ends: with go[1] open here, the read below would never see the tracer gone. */
	close(l->go[1]);
	close(l->ready[0]);
	close(l->err[0]);
	/* Signals stay blocked (thread_start) until the exec, but for SIGKILL, SIGSTOP and glibc's own. */
	child_reset_signals(l->reserved);
	if (l->pause_ms) {
		struct timespec t = { l->pause_ms / 1000, (long)(l->pause_ms % 1000) * 1000000 };
		while (nanosleep(&t, &t) < 0 && errno == EINTR)
			;
	}
	launch_tell(l->ready[1], LAUNCH_READY, (int)getpid());
	do
		n = read(l->go[0], &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(EXIT_INTERNAL); /* the tracer is gone */
	/*
	 * setuid and setgid bits and file capabilities never take effect under
	 * tracing: the seccomp filter needs no_new_privs, and --no-seccomp must
	 * not run the command with other privileges than the default does.
	 */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		launch_tell(l->err[1], LAUNCH_NO_NEW_PRIVS, errno);
		_exit(EXIT_INTERNAL);
	}
	int r = opts->seccomp ? seccomp_install() : 0;
	if (r < 0) {
		launch_tell(l->err[1], LAUNCH_SECCOMP, -r);
		_exit(EXIT_INTERNAL);
	}
	sigprocmask(SIG_SETMASK, &l->mask, NULL);
	execv(command_path, opts->argv);
	if (errno == ENOEXEC) {
		/* Like execvp: a file without #! and not ELF runs as a shell script. */
		execv("/bin/sh", l->sh_argv);
		errno = ENOEXEC;
	}
	int err = errno;
	launch_tell(l->err[1], LAUNCH_EXEC, err);
	_exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/*
 * Whether the child may be a CLONE_VM one: not under valgrind (its
 * preload library is in LD_PRELOAD), which cannot run it, nor in a
 * sanitizer build, where ASan cannot tell the child's stack.
 */
static bool clone_vm_ok(void)
{
#if defined(FP_SANITIZERS) || defined(__SANITIZE_ADDRESS__)
	return false;
#else
	const char *p = getenv("LD_PRELOAD");
	return !p || !strstr(p, "/vgpreload_");
#endif
}

/*
 * The launch thread. It outlives the command: a command's parent death
 * signal (PR_SET_PDEATHSIG) comes when the thread that made it ends, so
 * it ends with fingerprint, as a forking tracer's main thread would.
 */
static void *launcher_main(void *arg)
{
	struct launcher *l = arg;
	pid_t r;
	if (clone_vm_ok()) {
		r = clone(child_main, l->stack + LAUNCH_STACK, CLONE_VM | SIGCHLD, l);
	} else if ((r = fork()) == 0) {
		_exit(child_main(l));
	}
	if (r < 0)
		launch_tell(l->ready[1], LAUNCH_CLONE, errno);
	close(l->ready[1]);
	close(l->go[0]);
	close(l->err[1]);
	while (r > 0)
		pause(); /* every signal is blocked here (thread_start) */
	return NULL;
}

/* One message from `fd`: false at its end (every writer gone) with none. */
static bool launch_read(int fd, struct launch_msg *m)
{
	ssize_t n;
	do
		n = read(fd, m, sizeof(*m));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*m);
}

/* The launch's first word: the child's pid, or fingerprint dies of clone's failure. */
static pid_t launch_wait_ready(int fd)
{
	struct launch_msg m;
	if (!launch_read(fd, &m))
		die(EXIT_INTERNAL, "the command's process did not start");
	if (m.stage == LAUNCH_READY)
		return (pid_t)m.err;
	errno = m.err;
	die_errno(EXIT_INTERNAL, "clone");
}

static pid_t launch(int *errfd)
{
	struct launcher *l = &launcher;
	int r = find_command(opts->argv[0], command_path, sizeof(command_path));

	if (r < 0) {
		result->start = r == -ENOENT ? START_NOT_FOUND : START_CANNOT_EXEC;
		result->start_errno = -r;
		return -1;
	}
	if (pipe2(l->ready, O_CLOEXEC) < 0 || pipe2(l->go, O_CLOEXEC) < 0 || pipe2(l->err, O_CLOEXEC) < 0)
		die_errno(EXIT_INTERNAL, "pipe");
	const char *pause_ms = getenv("FINGERPRINT_TEST_LAUNCH_PAUSE_MS");
	l->pause_ms = pause_ms ? (unsigned)atoi(pause_ms) : 0;
	l->stack = mmap(NULL, LAUNCH_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (l->stack == MAP_FAILED)
		die_errno(EXIT_INTERNAL, "mmap");
	mprotect(l->stack, 4096, PROT_NONE); /* a guard page below it */
	size_t argc = 0;
	while (opts->argv[argc])
		argc++;
	l->sh_argv = xcalloc(argc + 2, sizeof(*l->sh_argv));
	l->sh_argv[0] = "sh";
	l->sh_argv[1] = command_path;
	memcpy(l->sh_argv + 2, opts->argv + 1, argc * sizeof(*l->sh_argv)); /* with the NULL */
	sigprocmask(SIG_SETMASK, NULL, &l->mask);
	for (int sig = 32; sig < SIGRTMIN && sig - 32 < GLIBC_SIGNALS; sig++) {
		struct kernel_sigaction k = { .handler = (unsigned long)SIG_DFL };
		syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof(k.mask));
		l->reserved[sig - 32] = k.handler == (unsigned long)SIG_IGN ? k.handler : (unsigned long)SIG_DFL;
	}
	pthread_t t;
	if ((errno = thread_start(&t, NULL, launcher_main, l)) != 0)
		die_errno(EXIT_INTERNAL, "cannot start the launch thread");
	pthread_detach(t);
	pid_t pid = launch_wait_ready(l->ready[0]);
	close(l->ready[0]);
	/*
	 * The child has its own dispositions now: the command keeps the SIGPIPE
	 * disposition it was given. A child gone before its word, and later a
	 * closed standard output (-o -), are then an EPIPE error, not death.
	 */
	signal(SIGPIPE, SIG_IGN);
	long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
		       PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
	if (opts->seccomp)
		options |= PTRACE_O_TRACESECCOMP;
	if (ptrace(PTRACE_SEIZE, pid, 0L, options) < 0) {
		int err = errno, status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			die(EXIT_INTERNAL, "the command's process did not start");
		kill(pid, SIGKILL);
		errno = err;
		die_errno(EXIT_INTERNAL, "cannot trace the command (ptrace)%s",
			  err == EPERM ? " (ptrace may be restricted: see /proc/sys/kernel/yama/ptrace_scope)" : "");
	}
	first_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* Without the filter nothing would stop the exec: a first stop, after which every call stops. */
	if (!opts->seccomp && ptrace(PTRACE_INTERRUPT, pid, 0L, 0L) < 0 && errno != ESRCH)
		die_errno(EXIT_INTERNAL, "cannot stop the command (ptrace)");
	/* A child gone since: its end comes to the wait loop. */
	if (write(l->go[1], "", 1) < 0 && errno != EPIPE)
		die_errno(EXIT_INTERNAL, "cannot start the command");
	close(l->go[1]);
	*errfd = l->err[0];
	return pid;
}

/* After the trace: why the command did not start, if it did not. */
static void read_launch_error(int fd)
{
	struct launch_msg m;
	bool got = launch_read(fd, &m);
	close(fd);
	free(launcher.sh_argv);
	launcher.sh_argv = NULL;
	if (!got)
		return;
	errno = m.err;
	if (m.stage == LAUNCH_SECCOMP)
		die_errno(EXIT_INTERNAL, "cannot install the seccomp filter (try --no-seccomp)");
	if (m.stage == LAUNCH_NO_NEW_PRIVS)
		die_errno(EXIT_INTERNAL, "cannot set no_new_privs for the command");
	result->start = m.err == ENOENT ? START_NOT_FOUND : START_CANNOT_EXEC;
	result->start_errno = m.err;
}

/* The ptrace options of attach mode: launch's, less seccomp and PTRACE_O_EXITKILL (the service outlives us). */
static const long attach_options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
				   PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;

size_t tracer_check_attach(pid_t *pids, size_t n)
{
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		pid_t tgid = tgid_of(pids[i]);
		if (tgid < 0)
			die(EXIT_USAGE, "-p: no process %d", (int)pids[i]);
		if (tgid == getpid())
			die(EXIT_USAGE, "-p: %d is fingerprint itself", (int)pids[i]);
		bool dup = false;
		for (size_t j = 0; j < kept; j++)
			dup = dup || pids[j] == tgid;
		if (!dup)
			pids[kept++] = tgid;
	}
	return kept;
}

/* Seize thread `tid` of the process of `leader` (NULL: tid is the leader). Returns its proc, or NULL. */
static struct proc *seize_thread(pid_t tid, struct proc *leader)
{
	if (ptrace(PTRACE_SEIZE, tid, 0L, attach_options) < 0) {
		int err = errno;
		if (err == ESRCH && leader)
			return NULL; /* the thread ended meanwhile */
		/* Created by a thread seized already, so traced already: adopted at its first stop. */
		if (err == EPERM && leader && status_field(tid, "TracerPid") == getpid())
			return NULL;
		errno = err;
		if (!leader)
			die_errno(err == ESRCH ? EXIT_USAGE : EXIT_INTERNAL, "cannot attach to process %d%s", (int)tid,
				  err == EPERM ? " (ptrace may be restricted: see /proc/sys/kernel/yama/ptrace_scope)" : "");
		manifest_warn(mf, "attach", "cannot attach to thread %d of process %d: %s", (int)tid,
			      (int)leader->tid, strerror(err));
		return NULL;
	}
	struct proc *p;
	if (leader) {
		p = proc_new(tid, leader->tg, NULL);
		leader->tg->rec->threads++;
	} else {
		pid_t ppid = status_field(tid, "PPid");
		p = proc_new(tid, NULL, NULL);
		p->tg->attached = true;
		start_group(p, ppid > 0 ? ppid : 0, NULL);
	}
	p->flags |= PROC_ATTACHING;
	attaching++;
	return p;
}

/*
 * Seize every thread of process `pid` (its leader first), re-reading
 * /proc/PID/task until no new thread appears, then record what the
 * process runs as the exec-time code would: binary, argv, environment,
 * cwd and the objects mapped now.
 */
static void attach_process(pid_t pid)
{
	char dir[64];
	struct proc *leader = seize_thread(pid, NULL);
	bool found_new = true;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	while (found_new) {
		found_new = false;
		DIR *d = opendir(dir);
		if (!d)
			break; /* it exited meanwhile: its exit comes next */
		for (struct dirent *de; (de = readdir(d));) {
			pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
			if (tid > 0 && !proc_lookup(tid) && seize_thread(tid, leader))
				found_new = true;
		}
		closedir(d);
	}
	syscalls_exec_done(leader, &(struct exec_start){ 0, 0, 0 });
	leader->flags &= ~PROC_EXEC_SEEN;
	attached_alive++;
}

/* Every `us` microseconds a SIGALRM (on_wake), 0: none (but co-location's). */
static void wake_timer(long us)
{
	wake_base_us = us;
	wake_timer_apply(co.pinned && proc_count() > 1 ? COLOCATE_CHECK_US : 0);
}

/* Attach to every process of opts->attach, then stop each thread once so that it stops at syscalls from now on. */
static void attach_all(void)
{
	for (size_t i = 0; i < opts->n_attach; i++)
		attach_process(opts->attach[i]);
	proc_foreach(interrupt_tracee, NULL);
	clock_gettime(CLOCK_MONOTONIC, &attach_deadline);
	attach_deadline.tv_sec += (time_t)opts->duration_s;
	attach_deadline.tv_nsec += (long)((opts->duration_s - (double)(time_t)opts->duration_s) * 1e9);
	if (attach_deadline.tv_nsec >= 1000000000) {
		attach_deadline.tv_sec++;
		attach_deadline.tv_nsec -= 1000000000;
	}
	wake_timer(100000);
}

void tracer_run(const struct tracer_opts *o, struct manifest *m, struct trace_result *res)
{
	int errfd;

	mf = m;
	opts = o;
	result = res;
	memset(res, 0, sizeof(*res));
	res->complete = true;
	syscalls_init(m, opts->n_attach > 0, opts->seccomp);

	test_vanish = getenv("FINGERPRINT_TEST_VANISH");
	test_unpin_at_fork = getenv("FINGERPRINT_TEST_UNPIN_AT_FORK") != NULL;
	if (o->n_attach) {
		first_pid = o->attach[0];
		signal(SIGPIPE, SIG_IGN);
		attach_all();
		while (dispatch_event(next_event()))
			;
		wake_timer(0);
		report_stops();
		return;
	}
	co.on = o->colocate;
	syscalls_watch_affinity(co.on);
	first_pid = launch(&errfd);
	if (first_pid < 0)
		return;
	struct proc *p = proc_new(first_pid, NULL, NULL);
	start_group(p, getpid(), NULL);

	if (status_enabled())
		wake_timer(250000);
	while (dispatch_event(next_event()))
		;
	colocate_end();
	wake_timer(0);
	report_stops();
	read_launch_error(errfd);
	if (!res->exit.exited)
		res->complete = false;
}
