#include "config.h"
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9: a pidfd of a thread, not only of a thread-group leader */
#endif

/* Append component [s, s+n) to out (length *len), applying "." and ".." rules. */
static int push_component(char *out, size_t outsz, size_t *len, const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '.'))
		return 0;
	if (n == 2 && s[0] == '.' && s[1] == '.') {
		while (*len > 1 && out[*len - 1] != '/')
			(*len)--;
		if (*len > 1)
			(*len)--; /* drop the slash too, unless it is the root */
		out[*len] = '\0';
		return 0;
	}
	size_t need = *len + (*len > 1) + n + 1;
	if (need > outsz)
		return -ENAMETOOLONG;
	if (*len > 1)
		out[(*len)++] = '/';
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

static int push_path(char *out, size_t outsz, size_t *len, const char *p)
{
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		int r = push_component(out, outsz, len, p, e - p);
		if (r < 0)
			return r;
		p = e;
	}
	return 0;
}

bool path_per_process(const char *path)
{
	static const char *const prefixes[] = { "/proc/", "/dev/fd/" };
	static const char *const names[] = { "/proc", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/fd" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(path, names[i]) == 0)
			return true;
	return false;
}

/* The next component of *p but "." (slashes before it skipped): its start, its length in *n, *p moved past it. */
static const char *next_component(const char **p, size_t *n)
{
	const char *s = *p, *e;
	for (;;) {
		while (*s == '/')
			s++;
		e = s;
		while (*e && *e != '/')
			e++;
		if (e - s != 1 || *s != '.')
			break;
		s = e;
	}
	*n = (size_t)(e - s);
	*p = e;
	return s;
}

static bool component_is(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(s, want, n) == 0;
}

/* Whether [s, s+n) is the decimal `pid`. */
static bool component_is_pid(const char *s, size_t n, pid_t pid)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", (int)pid);
	return pid > 0 && len > 0 && n == (size_t)len && memcmp(s, buf, n) == 0;
}

bool path_under_proc(const char *path)
{
	size_t n;
	if (path[0] != '/')
		return false;
	const char *s = next_component(&path, &n);
	return n == 4 && memcmp(s, "proc", 4) == 0;
}

enum path_proc_link path_proc_link(const char *path, pid_t tgid, pid_t tid, const char **rest)
{
	const char *p = path, *s;
	size_t n;
	if (path[0] != '/')
		return PROC_LINK_NONE;
	s = next_component(&p, &n);
	if (!component_is(s, n, "proc"))
		return PROC_LINK_NONE;
	s = next_component(&p, &n);
	bool own = component_is(s, n, "self") || component_is_pid(s, n, tgid) || component_is_pid(s, n, tid);
	if (!own && !component_is(s, n, "thread-self"))
		return PROC_LINK_NONE;
	s = next_component(&p, &n);
	if (own && component_is(s, n, "task")) {
		s = next_component(&p, &n);
		if (!component_is_pid(s, n, tid) && !component_is_pid(s, n, tgid))
			return PROC_LINK_NONE;
		s = next_component(&p, &n);
	}
	enum path_proc_link kind = component_is(s, n, "cwd") ? PROC_LINK_CWD :
				   component_is(s, n, "root") ? PROC_LINK_ROOT : PROC_LINK_NONE;
	if (kind != PROC_LINK_NONE)
		*rest = p;
	return kind;
}

int path_resolve(char *out, size_t outsz, const char *base, const char *path)
{
	/* Work in a buffer of its own: ".." may shorten a long intermediate to fit `out`. */
	char work[2 * PATH_MAX + 2];
	size_t len = 1;
	int r;

	if (path == NULL || path[0] == '\0')
		return -EINVAL;
	if (path[0] != '/' && (base == NULL || base[0] != '/'))
		return -EINVAL;
	work[0] = '/';
	work[1] = '\0';
	if (path[0] != '/' && (r = push_path(work, sizeof(work), &len, base)) < 0)
		return r;
	if ((r = push_path(work, sizeof(work), &len, path)) < 0)
		return r;
	if (len + 1 > outsz)
		return -ENAMETOOLONG;
	memcpy(out, work, len + 1);
	return (int)len;
}

static int read_link(int dirfd, const char *link, char *out, size_t outsz)
{
	ssize_t n = readlinkat(dirfd, link, out, outsz);
	if (n < 0)
		return -errno;
	if ((size_t)n >= outsz)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return (int)n;
}

/* pidfd_open or pidfd_getfd refused whatever the process (no such call, or a container's seccomp policy): neither is tried again. */
static bool no_dup;

/* Whether err, from a pidfd call, means no process will be served. */
static bool refused_for_all(int err)
{
	return err == ENOSYS || err == EPERM;
}

bool path_dup_works(void)
{
	return !no_dup;
}

int path_pidfd(pid_t tid)
{
	static bool no_thread_pidfd; /* before Linux 6.9: leaders only */
	int pfd = -1;
	if (no_dup)
		return -ENOSYS;
	if (!no_thread_pidfd && (pfd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD)) < 0 && errno == EINVAL)
		no_thread_pidfd = true;
	if (pfd < 0 && no_thread_pidfd)
		pfd = (int)syscall(SYS_pidfd_open, tid, 0);
	if (pfd < 0 && refused_for_all(errno))
		no_dup = true;
	return pfd < 0 ? -errno : pfd;
}

/* Descriptor `fd` of thread `pid` (through `pidfd` when >= 0), duplicated into this process (to close), or -errno. */
static int dup_tracee_fd(pid_t pid, int pidfd, int fd)
{
	int pfd = pidfd >= 0 ? pidfd : path_pidfd(pid), r;
	if (pfd < 0)
		return pfd;
	r = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	if (r < 0 && refused_for_all(errno))
		no_dup = true;
	if (r < 0)
		r = -errno;
	if (pfd != pidfd)
		close(pfd);
	return r;
}

/* A link read into `out`: not a path (a socket, a pipe, an anonymous inode) is -ENOENT. */
static int fd_link(int dirfd, const char *link, char *out, size_t outsz)
{
	int n = read_link(dirfd, link, out, outsz);
	return n > 0 && out[0] != '/' ? -ENOENT : n;
}

int path_of_fd(pid_t pid, int fd, char *out, size_t outsz)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
	return fd_link(AT_FDCWD, link, out, outsz);
}

int path_of_fd_dup(pid_t pid, int pidfd, int fd, char *out, size_t outsz)
{
	int dup = dup_tracee_fd(pid, pidfd, fd);
	if (dup == -EBADF)
		return -EBADF;
	if (dup < 0)
		return path_of_fd(pid, fd, out, outsz);
	/* Our own fd directory, opened once: a name in it is then one lookup, not four and a symlink. */
	static int self_fds = -2;
	if (self_fds == -2)
		self_fds = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char link[64];
	snprintf(link, sizeof(link), self_fds >= 0 ? "%d" : "/proc/self/fd/%d", dup);
	int n = fd_link(self_fds >= 0 ? self_fds : AT_FDCWD, link, out, outsz);
	close(dup);
	return n;
}

static int proc_link(pid_t pid, const char *name, char *out, size_t outsz)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/%d/%s", (int)pid, name);
	return read_link(AT_FDCWD, link, out, outsz);
}

int path_of_cwd(pid_t pid, char *out, size_t outsz)
{
	return proc_link(pid, "cwd", out, outsz);
}

int path_of_exe(pid_t pid, char *out, size_t outsz)
{
	return proc_link(pid, "exe", out, outsz);
}
