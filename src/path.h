/* path.c: dirfd and cwd resolution and lexical normalisation, in one place. */
#ifndef FP_PATH_H
#define FP_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Join `path` onto `base` (when `path` is relative) and normalise the result
 * lexically: no "." components, ".." removes the previous component (never
 * above "/"), repeated slashes fold, no trailing slash except for "/" itself.
 * `base` must be absolute when `path` is relative; it is ignored otherwise.
 * Writes into `out` (of `outsz` bytes, NUL-terminated).
 * Returns the length written, -EINVAL when `path` is empty or relative with no
 * absolute base, or -ENAMETOOLONG when the result does not fit (or the
 * joined input exceeds 2 * PATH_MAX).
 */
int path_resolve(char *out, size_t outsz, const char *base, const char *path);

/*
 * Whether the absolute `path` means something else in each process
 * (/proc/..., /dev/fd/..., /dev/stdin): resolved, stat'ed or read from
 * fingerprint, it would describe fingerprint itself.
 */
bool path_per_process(const char *path);

/* Whether the absolute `path`'s first component (slashes and "." aside) is "proc": /proc, //proc/x, /./proc. */
bool path_under_proc(const char *path);

enum path_proc_link { PROC_LINK_NONE, PROC_LINK_CWD, PROC_LINK_ROOT };

/*
 * Whether the absolute `path` goes through the calling process's own cwd or
 * root link in /proc: /proc/self/cwd, /proc/thread-self/root,
 * /proc/TGID/cwd, /proc/TID/task/TID/root... (`tgid` and `tid` name the
 * caller). For that process it means its working directory or its root
 * followed by *rest, which is set to the part after the link ("" or
 * "/..."); resolved from fingerprint it would mean fingerprint's.
 * A link of another process (/proc/1/root) gives PROC_LINK_NONE.
 */
enum path_proc_link path_proc_link(const char *path, pid_t tgid, pid_t tid, const char **rest);

/*
 * Read the target of the symlink /proc/PID/fd/FD (the path of an open file
 * descriptor of a tracee) into `out`. Returns the length, or -errno.
 * A target that is not a path (pipe:[123], anon_inode:...) gives -ENOENT.
 */
int path_of_fd(pid_t pid, int fd, char *out, size_t outsz);

/*
 * The same, from a duplicate of the descriptor (pidfd_getfd) named through
 * this process's /proc/self/fd (opened once, O_PATH, and kept: each name is
 * then one lookup in it), so that no /proc entry of PID is built: a
 * process's first lookup there builds several (PID, fd, FD), which costs
 * more than duplicating. Falls back to path_of_fd when pidfd_getfd is
 * missing (Linux < 5.6) or refused, or PID is a thread other than its
 * group's leader and the kernel has no PIDFD_THREAD (< 6.9). -EBADF when
 * the tracee has no such descriptor. `pidfd`: path_pidfd(pid)'s, used and
 * left open, or -1 to open one here.
 */
int path_of_fd_dup(pid_t pid, int pidfd, int fd, char *out, size_t outsz);

/*
 * A pidfd of thread `tid` (PIDFD_THREAD; of its process before Linux 6.9,
 * when `tid` leads it), to close; or -errno. -ENOSYS at once once pidfd
 * calls were found refused for every process (ENOSYS, EPERM).
 */
int path_pidfd(pid_t tid);
/* False once pidfd_open or pidfd_getfd was refused for every process: path_of_fd_dup then reads /proc. */
bool path_dup_works(void);

/* Read /proc/PID/cwd (or /proc/PID/exe) into `out`. Returns the length or -errno. */
int path_of_cwd(pid_t pid, char *out, size_t outsz);
int path_of_exe(pid_t pid, char *out, size_t outsz);

#endif
