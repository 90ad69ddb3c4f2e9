#include "config.h"
#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "manifest_json.h"
#include "proc.h"
#include "syscalls.h"
#include "tracee_mem.h"
#include "tracer.h"
#include "unwind.h"
#include "util.h"

bool events_on;

/* The call of a thread being logged, from its entry to its exit. */
struct ev_pending {
	struct timespec ts;     /* CLOCK_REALTIME at the entry */
	struct timespec t0;     /* CLOCK_MONOTONIC at the entry */
	pid_t pid, tid;         /* at the entry (an exec may move the thread to its leader's tid) */
	const char *binary;     /* interned in the manifest, or NULL */
	const char *name;       /* the syscall's name */
	const char *abi;
	bool is_mmap;
	bool walked;            /* the caller is known (or its walk failed) */
	bool has_caller, has_function;
	struct buf caller, caller_function; /* copies: the unwinder's strings go with its snapshot */
	struct buf args;        /* the "args" object, decoded at the entry */
};

static const char *log_path;  /* as given; "-": standard output */
static int log_fd = -1;       /* every event as it ends (no tail) */
static struct buf log_out;    /* events not written to log_fd yet */
static struct buf *ring;      /* --events-tail: the last ring_n events */
static size_t ring_n, ring_next;
static unsigned long n_events;
static bool log_callers;
static bool finished;
static int write_error;       /* the first errno of a failed write, or 0 */
static volatile sig_atomic_t dump_requested;
static struct buf line;       /* the event being formatted */
static char str[PATH_MAX];    /* a string read from the tracee */

static void put(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

static void putf(struct buf *b, const char *fmt, ...) FP_PRINTF(2, 3);

static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_append(b, tmp, n < (int)sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/*
 * `s` as a JSON string. A byte that is not part of valid UTF-8 is written
 * as the code point of the same value (\u00XX), as Latin-1 would read it.
 */
static void put_json_str(struct buf *b, const char *s)
{
	put(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = *p >= 0x80 ? utf8_seq(p, strnlen((const char *)p, 4)) : 1;
		if (*p == '"' || *p == '\\') {
			char e[2] = { '\\', (char)*p };
			buf_append(b, e, 2);
		} else if (*p == '\n') {
			put(b, "\\n");
		} else if (*p == '\t') {
			put(b, "\\t");
		} else if (*p < 0x20 || *p == 0x7f || n == 0) {
			putf(b, "\\u%04x", *p);
			n = 1;
		} else {
			buf_append(b, p, n);
			p += n;
			continue;
		}
		p++;
	}
	put(b, "\"");
}

struct flag_name {
	uint64_t bit;
	const char *name;
};

/* The names of the bits of `v` in `t` joined by '|', the rest in hex; `zero` when v is 0. */
static void put_flags(struct buf *b, uint64_t v, const struct flag_name *t, size_t n, const char *zero)
{
	bool any = false;
	if (v == 0) {
		put(b, zero);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if ((v & t[i].bit) == t[i].bit) {
			putf(b, "%s%s", any ? "|" : "", t[i].name);
			v &= ~t[i].bit;
			any = true;
		}
	}
	if (v)
		putf(b, "%s%#llx", any ? "|" : "", (unsigned long long)v);
}

#define N(t) (sizeof(t) / sizeof((t)[0]))

/* The kernel's values (x86: the same for both ABIs), not libc's (O_LARGEFILE is 0 there). */
static const struct flag_name open_flags[] = {
	{ 020200000, "O_TMPFILE" }, /* __O_TMPFILE|O_DIRECTORY: before O_DIRECTORY */
	{ 04010000, "O_SYNC" },     /* __O_SYNC|O_DSYNC: before O_DSYNC */
	{ 0100, "O_CREAT" }, { 0200, "O_EXCL" }, { 0400, "O_NOCTTY" }, { 01000, "O_TRUNC" },
	{ 02000, "O_APPEND" }, { 04000, "O_NONBLOCK" }, { 010000, "O_DSYNC" }, { 020000, "O_ASYNC" },
	{ 040000, "O_DIRECT" }, { 0100000, "O_LARGEFILE" }, { 0200000, "O_DIRECTORY" },
	{ 0400000, "O_NOFOLLOW" }, { 01000000, "O_NOATIME" }, { 02000000, "O_CLOEXEC" },
	{ 010000000, "O_PATH" },
};

static void put_open_flags(struct buf *b, uint64_t flags)
{
	static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
	put(b, "\"");
	put(b, acc[flags & 3]);
	if (flags & ~(uint64_t)3) {
		put(b, "|");
		put_flags(b, flags & ~(uint64_t)3, open_flags, N(open_flags), "");
	}
	put(b, "\"");
}

/* Whether open(2) `flags` take a mode. */
static bool takes_mode(uint64_t flags)
{
	return (flags & 0100) || (flags & 020200000) == 020200000;
}

static void put_mode(struct buf *b, const char *key, uint64_t mode)
{
	putf(b, ",\"%s\":\"%04llo\"", key, (unsigned long long)mode);
}

static void put_dirfd(struct buf *b, uint64_t fd)
{
	if ((int)fd == AT_FDCWD)
		put(b, "\"dirfd\":\"AT_FDCWD\"");
	else
		putf(b, "\"dirfd\":%d", (int)fd);
}

/* "path": the string at `addr` in the tracee, or null when it cannot be read. */
static void put_path(struct buf *b, pid_t tid, const char *key, uint64_t addr)
{
	putf(b, "\"%s\":", key);
	if (tracee_read_string(tid, addr, str, sizeof(str)) < 0)
		put(b, "null");
	else
		put_json_str(b, str);
}

enum { ARGV_MAX = 256 };

/* "argv": the strings of the NULL-terminated array at `addr` (pointers of `psize` bytes), at most ARGV_MAX. */
static void put_argv(struct buf *b, pid_t tid, uint64_t addr, size_t psize)
{
	put(b, ",\"argv\":[");
	size_t i = 0;
	for (; i < ARGV_MAX; i++) {
		uint64_t ptr = 0;
		if (addr == 0 || tracee_read(tid, addr + i * psize, &ptr, psize) < 0 || ptr == 0)
			break;
		if (tracee_read_string(tid, ptr, str, sizeof(str)) < 0)
			break;
		if (i)
			put(b, ",");
		put_json_str(b, str);
	}
	put(b, "]");
	if (i == ARGV_MAX)
		put(b, ",\"argv_truncated\":true");
}

static const struct flag_name resolve_flags[] = {
	{ 0x01, "RESOLVE_NO_XDEV" }, { 0x02, "RESOLVE_NO_MAGICLINKS" }, { 0x04, "RESOLVE_NO_SYMLINKS" },
	{ 0x08, "RESOLVE_BENEATH" }, { 0x10, "RESOLVE_IN_ROOT" }, { 0x20, "RESOLVE_CACHED" },
};

static void put_how(struct buf *b, pid_t tid, uint64_t addr, uint64_t size)
{
	uint64_t how[3] = { 0, 0, 0 }; /* struct open_how: flags, mode, resolve */
	put(b, ",\"how\":");
	if (size < 24 || tracee_read(tid, addr, how, sizeof(how)) < 0) {
		put(b, "null");
	} else {
		put(b, "{\"flags\":");
		put_open_flags(b, how[0]);
		if (takes_mode(how[0]) || how[1])
			put_mode(b, "mode", how[1]);
		put(b, ",\"resolve\":\"");
		put_flags(b, how[2], resolve_flags, N(resolve_flags), "0");
		put(b, "\"}");
	}
	putf(b, ",\"size\":%llu", (unsigned long long)size);
}

static const struct flag_name at_flags[] = {
	{ 0x100, "AT_SYMLINK_NOFOLLOW" }, { 0x1000, "AT_EMPTY_PATH" },
};

static const struct flag_name prot_flags[] = {
	{ 0x1, "PROT_READ" }, { 0x2, "PROT_WRITE" }, { 0x4, "PROT_EXEC" }, { 0x8, "PROT_SEM" },
	{ 0x01000000, "PROT_GROWSDOWN" }, { 0x02000000, "PROT_GROWSUP" },
};

static const struct flag_name map_flags[] = {
	{ 0x10, "MAP_FIXED" }, { 0x20, "MAP_ANONYMOUS" }, { 0x40, "MAP_32BIT" }, { 0x100, "MAP_GROWSDOWN" },
	{ 0x800, "MAP_DENYWRITE" }, { 0x1000, "MAP_EXECUTABLE" }, { 0x2000, "MAP_LOCKED" },
	{ 0x4000, "MAP_NORESERVE" }, { 0x8000, "MAP_POPULATE" }, { 0x10000, "MAP_NONBLOCK" },
	{ 0x20000, "MAP_STACK" }, { 0x40000, "MAP_HUGETLB" }, { 0x80000, "MAP_SYNC" },
	{ 0x100000, "MAP_FIXED_NOREPLACE" }, { 0x4000000, "MAP_UNINITIALIZED" },
};

static void put_mmap(struct buf *b, const uint64_t *a, bool i386)
{
	static const char *const type[] = { "0", "MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE" };
	if (a[0])
		putf(b, "\"addr\":\"%#llx\"", (unsigned long long)a[0]);
	else
		put(b, "\"addr\":\"NULL\"");
	putf(b, ",\"length\":%llu,\"prot\":\"", (unsigned long long)a[1]);
	put_flags(b, a[2], prot_flags, N(prot_flags), "PROT_NONE");
	put(b, "\",\"flags\":\"");
	uint64_t t = a[3] & 0xf;
	if (t < 4)
		put(b, type[t]);
	else
		putf(b, "%#llx", (unsigned long long)t);
	if (a[3] & ~(uint64_t)0xf) {
		put(b, "|");
		put_flags(b, a[3] & ~(uint64_t)0xf, map_flags, N(map_flags), "");
	}
	putf(b, "\",\"fd\":%d,\"%s\":%llu", (int)a[4], i386 ? "pgoffset" : "offset", (unsigned long long)a[5]);
}

/* The leading arguments of a path call: its dirfd when `at` (the *at calls), then the path. */
static void put_dirfd_path(struct buf *b, pid_t tid, const uint64_t *a, int at)
{
	if (at) {
		put_dirfd(b, a[0]);
		put(b, ",");
	}
	put_path(b, tid, "path", a[at]);
}

/* The "args" object of a call, decoded at its entry. */
static void decode_args(struct buf *b, pid_t tid, const struct sysent *se, const uint64_t *a, bool i386)
{
	const char *n = se->name;
	int at = strncmp(n, "openat", 6) == 0 || strcmp(n, "execveat") == 0; /* a dirfd first */
	b->len = 0;
	put(b, "{");
	if (se->family == SC_MMAP) {
		put_mmap(b, a, i386);
	} else if (se->family == SC_EXEC) {
		put_dirfd_path(b, tid, a, at);
		put_argv(b, tid, a[at + 1], i386 ? 4 : 8);
		if (at) {
			put(b, ",\"flags\":\"");
			put_flags(b, a[4], at_flags, N(at_flags), "0");
			put(b, "\"");
		}
	} else if (strcmp(n, "creat") == 0) {
		put_dirfd_path(b, tid, a, 0);
		put_mode(b, "mode", a[1]);
	} else if (strcmp(n, "open_by_handle_at") == 0) {
		putf(b, "\"mount_fd\":%d,\"flags\":", (int)a[0]);
		put_open_flags(b, a[2]);
	} else if (strcmp(n, "openat2") == 0) {
		put_dirfd_path(b, tid, a, 1);
		put_how(b, tid, a[2], a[3]);
	} else { /* open, openat */
		put_dirfd_path(b, tid, a, at);
		put(b, ",\"flags\":");
		put_open_flags(b, a[at + 1]);
		if (takes_mode(a[at + 1]))
			put_mode(b, "mode", a[at + 2]);
	}
	put(b, "}");
}

static bool write_all(int fd, const char *s, size_t n);

/*
 * Write out what the log holds. Not stdio: a signal the wait loop is woken
 * by (co-location's timer, SIGUSR1) may cut a write to a pipe, and
 * write_all goes on where it stopped.
 */
#define LOG_FLUSH_AT (1 << 16)
static void log_flush(void)
{
	errno = 0;
	if (log_out.len && !write_all(log_fd, log_out.data, log_out.len) && !write_error)
		write_error = errno ? errno : EIO;
	log_out.len = 0;
}

/* Add `text` (one event, without its newline) to the log or the ring. */
static void emit(const struct buf *text)
{
	n_events++;
	if (ring) {
		struct buf *slot = &ring[ring_next];
		ring_next = (ring_next + 1) % ring_n;
		slot->len = 0;
		buf_append(slot, text->data, text->len);
		return;
	}
	buf_append(&log_out, text->data, text->len);
	buf_append(&log_out, "\n", 1);
	if (log_out.len >= LOG_FLUSH_AT)
		log_flush();
}

static const char *errno_name(int e)
{
	static char tmp[16];
	static const char *const restart[] = { "ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND", "ENOIOCTLCMD",
					       "ERESTART_RESTARTBLOCK" };
	const char *s = e > 0 && e < 512 ? strerrorname_np(e) : NULL;
	if (s)
		return s;
	if (e >= 512 && e <= 516)
		return restart[e - 512];
	snprintf(tmp, sizeof(tmp), "E%d", e);
	return tmp;
}

/*
 * Format p's event: `ret` and `err` unless `unfinished`. The caller is
 * walked now if nothing named it yet (one walk per call).
 */
static void write_event(struct proc *p, bool unfinished, int64_t ret, bool is_error)
{
	struct ev_pending *e = p->ev;
	struct tm tm;
	char when[40];

	if (log_callers && !e->walked && !unfinished) {
		struct caller c;
		events_caller(p, &c, unwind_caller(p->tid, p->tg, p->sc.ip, p->sc.sp, &c) == 0);
	}
	gmtime_r(&e->ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	line.len = 0;
	putf(&line, "{\"ts\":\"%s.%09ldZ\",\"pid\":%d,\"tid\":%d,\"binary\":", when, e->ts.tv_nsec, (int)e->pid,
	     (int)e->tid);
	if (e->binary)
		put_json_str(&line, e->binary);
	else
		put(&line, "null");
	putf(&line, ",\"syscall\":\"%s\",\"abi\":\"%s\",\"args\":", e->name, e->abi);
	buf_append(&line, e->args.data, e->args.len);
	if (unfinished) {
		put(&line, ",\"unfinished\":true");
	} else {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long ns = (long long)(now.tv_sec - e->t0.tv_sec) * 1000000000 + (now.tv_nsec - e->t0.tv_nsec);
		if (is_error)
			putf(&line, ",\"ret\":-1,\"errno\":\"%s\"", errno_name((int)-ret));
		else if (e->is_mmap)
			putf(&line, ",\"ret\":\"%#llx\"", (unsigned long long)ret);
		else
			putf(&line, ",\"ret\":%lld", (long long)ret);
		putf(&line, ",\"duration_ns\":%lld", ns < 0 ? 0 : ns);
	}
	if (log_callers) {
		put(&line, ",\"caller\":");
		if (e->has_caller)
			put_json_str(&line, e->caller.data);
		else
			put(&line, "null");
		put(&line, ",\"caller_function\":");
		if (e->has_function)
			put_json_str(&line, e->caller_function.data);
		else
			put(&line, "null");
	}
	put(&line, "}");
	emit(&line);
	p->flags &= ~PROC_EVENT;
}

bool events_entry(struct proc *p, const struct sysent *se, uint32_t arch, uint64_t nr, const uint64_t *args)
{
	if (se->family != SC_OPEN && se->family != SC_EXEC && !(se->family == SC_MMAP && (args[2] & PROT_EXEC)))
		return false;
	struct ev_pending *e = p->ev;
	if (!e)
		e = p->ev = xcalloc(1, sizeof(*e));
	clock_gettime(CLOCK_REALTIME, &e->ts);
	clock_gettime(CLOCK_MONOTONIC, &e->t0);
	e->pid = p->tg->tgid;
	e->tid = p->tid;
	e->binary = p->tg->binary;
	e->name = se->name;
	bool i386 = arch == AUDIT_ARCH_I386;
	e->abi = i386 ? "i386" : (nr & 0x40000000) ? "x32" : "x86_64";
	e->is_mmap = se->family == SC_MMAP;
	e->has_caller = e->has_function = false;
	e->walked = false;
	decode_args(&e->args, p->tid, se, args, i386);
	/*
	 * An open is walked by the manifest's handler when it records the file;
	 * an exec or mmap now, before the mapping changes (the handler then
	 * invalidates the unwinder's snapshot).
	 */
	if (log_callers && se->family != SC_OPEN) {
		struct caller c;
		p->flags |= PROC_EVENT;
		events_caller(p, &c, unwind_caller(p->tid, p->tg, p->sc.ip, p->sc.sp, &c) == 0);
	}
	return true;
}

void events_caller(struct proc *p, const struct caller *c, bool ok)
{
	if (!(p->flags & PROC_EVENT) || !p->ev)
		return;
	struct ev_pending *e = p->ev;
	e->walked = true;
	e->has_caller = ok && c->module;
	e->has_function = ok && c->function;
	if (e->has_caller) {
		e->caller.len = 0;
		put(&e->caller, c->module);
	}
	if (e->has_function) {
		e->caller_function.len = 0;
		put(&e->caller_function, c->function);
	}
}

void events_exit(struct proc *p, int64_t rval, bool is_error)
{
	if ((p->flags & PROC_EVENT) && p->ev)
		write_event(p, false, rval, is_error);
}

void events_exec(struct proc *p)
{
	if ((p->flags & PROC_EVENT) && p->ev && strncmp(p->ev->name, "execve", 6) == 0)
		write_event(p, false, 0, false);
}

void events_forget(struct proc *p)
{
	if (!p->ev)
		return;
	if (p->flags & PROC_EVENT)
		write_event(p, true, 0, false);
	buf_free(&p->ev->args);
	buf_free(&p->ev->caller);
	buf_free(&p->ev->caller_function);
	free(p->ev);
	p->ev = NULL;
}

unsigned long events_count(void)
{
	return n_events;
}

static bool write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

/* Write the ring, oldest first, on `fd`. */
static bool write_ring_fd(int fd)
{
	size_t kept = n_events < ring_n ? (size_t)n_events : ring_n;
	size_t first = (ring_next + ring_n - kept) % ring_n;
	for (size_t i = 0; i < kept; i++) {
		const struct buf *b = &ring[(first + i) % ring_n];
		if (!write_all(fd, b->data, b->len) || !write_all(fd, "\n", 1))
			return false;
	}
	return true;
}

/* Replace the log by the ring, as the manifest is replaced (json_out: a temporary file renamed over it). Returns 0 or -errno. */
static int write_ring(void)
{
	struct json_out o;
	if (strcmp(log_path, "-") == 0)
		fflush(stdout);
	int r = json_out_open(&o, log_path);
	if (r < 0)
		return r;
	errno = 0;
	if (!write_ring_fd(o.fd)) {
		r = errno ? -errno : -EIO;
		json_out_discard(&o);
		return r;
	}
	return json_out_commit(&o);
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (!tracer_signal_from_tracee(si))
		dump_requested = 1;
}

void events_catch_dump(void)
{
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the tracer's wait returns EINTR and polls. */
	sigaction(SIGUSR1, &sa, NULL);
}

void events_poll(void)
{
	if (!dump_requested || !ring)
		return;
	int saved_errno = errno; /* the tracer's interrupted wait reads it next */
	dump_requested = 0;
	int r = write_ring();
	if (r < 0)
		warn("cannot write the last events to '%s': %s", log_path, strerror(-r));
	else
		info("SIGUSR1: wrote the last %lu events to %s", n_events < ring_n ? n_events : (unsigned long)ring_n,
		     log_path);
	errno = saved_errno;
}

static void finish_at_exit(void)
{
	events_finish();
}

void events_open(const char *path, size_t tail, bool callers)
{
	log_path = path;
	log_callers = callers;
	if (tail) {
		ring_n = tail;
		ring = xcalloc(tail, sizeof(*ring));
		/* An empty log from the start: the place is writable, and a reader finds a file. */
		int r = write_ring();
		if (r < 0) {
			errno = -r;
			die_errno(EXIT_USAGE, "cannot write the event log '%s'", path);
		}
	} else if (strcmp(path, "-") == 0) {
		fflush(stdout);
		log_fd = STDOUT_FILENO;
	} else {
		log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (log_fd < 0)
			die_errno(EXIT_USAGE, "cannot write the event log '%s'", path);
	}
	events_on = true;
	atexit(finish_at_exit);
}

int events_finish(void)
{
	if (!events_on || finished)
		return -write_error;
	finished = true;
	if (ring) {
		int r = write_ring();
		if (r < 0 && !write_error)
			write_error = -r;
		for (size_t i = 0; i < ring_n; i++)
			buf_free(&ring[i]);
		free(ring);
		ring = NULL;
	} else if (log_fd >= 0) {
		log_flush();
		if (log_fd != STDOUT_FILENO && close(log_fd) != 0 && !write_error)
			write_error = errno;
		log_fd = -1;
		buf_free(&log_out);
	}
	buf_free(&line);
	return -write_error;
}
