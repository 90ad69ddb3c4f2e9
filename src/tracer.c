#include "config.h"
#include "tracer.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "seccomp.h"
#include "syscalls.h"

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
static volatile sig_atomic_t interrupted;
static bool killed_all;
static char command_path[PATH_MAX];

static void on_fatal_signal(int sig)
{
	if (!interrupted)
		interrupted = sig;
	/* Wake the wait loop: the first process dies and reports (a pidfd never reaches a reused pid). */
	if (first_pidfd >= 0)
		syscall(SYS_pidfd_send_signal, first_pidfd, SIGKILL, NULL, 0);
}

/*
 * Called after the fork, so the command inherits fingerprint's own signal
 * dispositions untouched. A signal ignored when fingerprint started (nohup,
 * a background job) stays ignored.
 */
static void install_signal_handlers(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_fatal_signal }, old;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		/* No SA_RESTART: waitpid returns EINTR. */
		sigaction(sigs[i], &sa, NULL);
	}
	/* A closed standard output (-o -) is an EPIPE error, not death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
}

static void kill_tracee(struct proc *p, void *ctx)
{
	(void)ctx;
	kill(p->tg->tgid, SIGKILL);
}

/* Restart a stopped tracee, delivering `sig` (0 for none). */
static void resume(struct proc *p, pid_t tid, int sig)
{
	bool want_syscall = !opts->seccomp || (p && (p->flags & PROC_IN_SYSCALL));
	if (ptrace(want_syscall ? PTRACE_SYSCALL : PTRACE_CONT, tid, 0L, (long)sig) < 0 && errno != ESRCH)
		manifest_warn(mf, "ptrace-restart", "cannot restart %d: %s", (int)tid, strerror(errno));
}

/* A field ("Tgid", "PPid") of /proc/TID/status, or -errno. */
static pid_t status_field(pid_t tid, const char *field)
{
	static struct buf b;
	char key[16];
	ssize_t n = proc_read_file(tid, "status", &b);
	if (n < 0)
		return (pid_t)n;
	snprintf(key, sizeof(key), "\n%s:", field);
	const char *t = strstr(b.data, key);
	return t ? (pid_t)strtol(t + strlen(key), NULL, 10) : -EINVAL;
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
	pid_t tgid = tgid_of(tid);
	struct proc *leader = tgid > 0 && tgid != tid ? proc_lookup(tgid) : NULL;
	if (leader) {
		struct proc *p = proc_new(tid, leader->tg, NULL);
		p->tg->rec->threads++;
		p->flags |= PROC_ADOPTED;
		return p;
	}
	/* A process: start from its parent, when the parent is known already. */
	pid_t ppid = status_field(tid, "PPid");
	struct proc *parent = ppid > 0 ? proc_lookup(ppid) : NULL;
	struct proc *p = proc_new(tid, NULL, parent ? parent->tg : NULL);
	start_group(p, parent ? ppid : 0, parent ? parent->tg : NULL);
	p->flags |= PROC_ADOPTED;
	return p;
}

/* Wait for the next stop of any tracee and classify it. Returns NULL when none is left. */
static struct event *next_event(void)
{
	static struct event ev;
	int status;

	for (;;) {
		if (interrupted && !killed_all) {
			killed_all = true;
			result->complete = false;
			result->interrupted_by = interrupted;
			proc_foreach(kill_tracee, NULL);
		}
		pid_t tid = waitpid(-1, &status, __WALL);
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				return NULL;
			die_errno(EXIT_INTERNAL, "waitpid");
		}
		memset(&ev, 0, sizeof(ev));
		ev.tid = tid;
		ev.status = status;
		ev.p = proc_lookup(tid);
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			ev.kind = EV_EXITED;
			return &ev;
		}
		if (!WIFSTOPPED(status))
			continue;
		if (!ev.p)
			ev.p = adopt(tid);
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

static void record_exit(struct proc *p, int status)
{
	struct mf_exit *e = &p->tg->rec->exit;
	e->exited = true;
	e->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	e->status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
	if (p->tg->tgid == first_pid)
		result->exit = *e;
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
	proc_remove(p);
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
	if (errno != ESRCH)
		manifest_warn(mf, "syscall-info", "cannot read the syscall of %d: %s", (int)p->tid, strerror(errno));
	return false;
}

/* A watched syscall's entry, from a seccomp stop or a syscall-enter stop. */
static void syscall_entered(struct proc *p, uint32_t arch, uint64_t nr, const uint64_t *args)
{
	const struct sysent *se = syscalls_lookup(arch, nr);
	p->flags &= ~(PROC_IN_SYSCALL | PROC_EXEC_SEEN);
	if (se && syscalls_entry(p, se, args))
		p->flags |= PROC_IN_SYSCALL;
}

static void on_syscall_stop(struct event *ev)
{
	struct proc *p = ev->p;
	struct __ptrace_syscall_info info;

	if (get_syscall_info(p, &info)) {
		p->sc.ip = info.instruction_pointer;
		p->sc.sp = info.stack_pointer;
		if (info.op == PTRACE_SYSCALL_INFO_SECCOMP) {
			syscall_entered(p, info.arch, info.seccomp.nr, info.seccomp.args);
		} else if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
			syscall_entered(p, info.arch, info.entry.nr, info.entry.args);
		} else if (info.op == PTRACE_SYSCALL_INFO_EXIT && (p->flags & PROC_IN_SYSCALL)) {
			p->flags &= ~PROC_IN_SYSCALL;
			syscalls_exit(p, info.exit.rval, info.exit.is_error);
		}
	}
	resume(p, ev->tid, 0);
}

static void on_new_child(struct event *ev)
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
			resume(parent, ev->tid, 0);
			return;
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
			if (!child->tg->binary) {
				child->tg->binary = child->tg->rec->binary = parent->tg->binary;
				child->tg->exe = parent->tg->exe;
			}
			if (!child->tg->cwd)
				tgroup_set_cwd(child->tg, parent->tg->cwd);
			inherit_record(child->tg->rec, parent->tg);
		}
	}
	resume(parent, ev->tid, 0);
}

static void on_exec(struct event *ev)
{
	unsigned long former = 0;
	struct proc *p = ev->p;

	/* A non-leader thread exec'd: it takes over the leader's tid. */
	if (ptrace(PTRACE_GETEVENTMSG, ev->tid, 0L, &former) == 0 && (pid_t)former != ev->tid) {
		struct proc *execer = proc_lookup((pid_t)former);
		if (execer) {
			if (p && p != execer)
				proc_remove(p);
			proc_rekey(execer, ev->tid);
			p = execer;
		}
	}
	p->flags &= ~PROC_STARTUP;
	syscalls_exec_done(p);
	resume(p, ev->tid, 0);
}

static bool dispatch_event(struct event *ev)
{
	if (!ev)
		return false;
	/* Cut short: whatever still stops (a child forked during the kill) dies too. */
	if (killed_all && ev->kind != EV_EXITED)
		kill(ev->p->tg->tgid, SIGKILL);
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
		/* The launch's own stop is lifted; a real one stays stopped until SIGCONT. */
		if (ev->p->flags & PROC_STARTUP)
			resume(ev->p, ev->tid, 0);
		else if (ptrace(PTRACE_LISTEN, ev->tid, 0L, 0L) < 0 && errno != ESRCH)
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

/* What the launched child reports through the pipe when it cannot exec. */
struct launch_error {
	int stage; /* 0 seccomp, 1 exec */
	int err;
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

static _Noreturn void child_main(int errfd)
{
	struct launch_error le;

	raise(SIGSTOP); /* wait for the tracer to seize us */
	if (opts->seccomp) {
		int r = seccomp_install();
		if (r < 0) {
			le = (struct launch_error){ 0, -r };
			if (write(errfd, &le, sizeof(le)) < 0)
				_exit(EXIT_INTERNAL);
			_exit(EXIT_INTERNAL);
		}
	}
	execv(command_path, opts->argv);
	if (errno == ENOEXEC) {
		/* Like execvp: a file without #! and not ELF runs as a shell script. */
		size_t n = 0;
		while (opts->argv[n])
			n++;
		char **sh = calloc(n + 2, sizeof(*sh));
		if (sh) {
			sh[0] = "sh";
			sh[1] = command_path;
			memcpy(sh + 2, opts->argv + 1, n * sizeof(*sh));
			execv("/bin/sh", sh);
		}
		errno = ENOEXEC;
	}
	le = (struct launch_error){ 1, errno };
	if (write(errfd, &le, sizeof(le)) < 0)
		_exit(EXIT_INTERNAL);
	_exit(le.err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

static pid_t launch(int *errfd)
{
	int fds[2];
	int status;
	int r = find_command(opts->argv[0], command_path, sizeof(command_path));

	if (r < 0) {
		result->start = r == -ENOENT ? START_NOT_FOUND : START_CANNOT_EXEC;
		result->start_errno = -r;
		return -1;
	}
	if (pipe2(fds, O_CLOEXEC) < 0)
		die_errno(EXIT_INTERNAL, "pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die_errno(EXIT_INTERNAL, "fork");
	if (pid == 0) {
		close(fds[0]);
		child_main(fds[1]);
	}
	close(fds[1]);
	*errfd = fds[0];

	if (waitpid(pid, &status, WSTOPPED) < 0 || !WIFSTOPPED(status)) {
		kill(pid, SIGKILL);
		die(EXIT_INTERNAL, "the command's process did not start");
	}
	long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
		       PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL;
	if (opts->seccomp)
		options |= PTRACE_O_TRACESECCOMP;
	if (ptrace(PTRACE_SEIZE, pid, 0L, options) < 0) {
		int err = errno;
		kill(pid, SIGKILL);
		errno = err;
		die_errno(EXIT_INTERNAL, "cannot trace the command (ptrace)%s",
			  err == EPERM ? " (ptrace may be restricted: see /proc/sys/kernel/yama/ptrace_scope)" : "");
	}
	first_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	kill(pid, SIGCONT);
	return pid;
}

static void read_launch_error(int fd)
{
	struct launch_error le;
	ssize_t n;
	do
		n = read(fd, &le, sizeof(le));
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n != (ssize_t)sizeof(le))
		return;
	if (le.stage == 0) {
		errno = le.err;
		die_errno(EXIT_INTERNAL, "cannot install the seccomp filter (try --no-seccomp)");
	}
	result->start = le.err == ENOENT ? START_NOT_FOUND : START_CANNOT_EXEC;
	result->start_errno = le.err;
}

void tracer_run(const struct tracer_opts *o, struct manifest *m, struct trace_result *res)
{
	int errfd;

	mf = m;
	opts = o;
	result = res;
	memset(res, 0, sizeof(*res));
	res->complete = true;
	syscalls_init(m);

	first_pid = launch(&errfd);
	if (first_pid < 0)
		return;
	install_signal_handlers();
	struct proc *p = proc_new(first_pid, NULL, NULL);
	p->flags |= PROC_STARTUP;
	start_group(p, getpid(), NULL);

	while (dispatch_event(next_event()))
		;
	read_launch_error(errfd);
	if (!res->exit.exited)
		res->complete = false;
}
