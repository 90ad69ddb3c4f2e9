#include "config.h"
#include "syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "elfinfo.h"
#include "events.h"
#include "manifest.h"
#include "maps.h"
#include "path.h"
#include "proc.h"
#include "trace_filter.h"
#include "tracee_mem.h"
#include "tracer.h"
#include "unwind.h"

static struct manifest *mf;
static char raw[PATH_MAX];  /* the path as the tracee passed it */
static char base[PATH_MAX]; /* the directory of a dirfd */
static bool raw_linked;      /* raw went through the tracee's own /proc link (own_proc_link) */
static int stale_pidfd = -1; /* a pidfd used: closed after the tracee's resume */

#define SEN(x) sys_##x
#define HANDLER(x) static bool sys_##x(struct proc *p, const struct sysent *se __attribute__((unused)), \
				       const uint64_t *a)
HANDLER(open);
HANDLER(openat);
HANDLER(openat2);
HANDLER(creat);
HANDLER(open_by_handle_at);
HANDLER(io_uring_setup);
HANDLER(execve);
HANDLER(execveat);
HANDLER(mmap);
HANDLER(chdir);
HANDLER(fchdir);
HANDLER(newroot);
HANDLER(chroot);
HANDLER(unshare);
HANDLER(creds);
HANDLER(setuids);
HANDLER(setgids);
HANDLER(prctl);
HANDLER(ptrace);
HANDLER(getaffinity);
HANDLER(setaffinity);

static const struct sysent table_x86_64[] = {
#include "sysent_x86_64.h"
};
static const struct sysent table_i386[] = {
#include "sysent_i386.h"
};

const struct sysent *syscalls_table(enum sc_abi abi, size_t *n)
{
	if (abi == ABI_I386) {
		*n = sizeof(table_i386) / sizeof(table_i386[0]);
		return table_i386;
	}
	*n = sizeof(table_x86_64) / sizeof(table_x86_64[0]);
	return table_x86_64;
}

/*
 * The rows -e trace left out, by ABI and number: unwatched although the
 * table has them. All false (everything watched) until syscalls_choose().
 */
static bool off_x86_64[sizeof(table_x86_64) / sizeof(table_x86_64[0])];
static bool off_i386[sizeof(table_i386) / sizeof(table_i386[0])];
static bool *const off[ABI_COUNT] = { [ABI_X86_64] = off_x86_64, [ABI_I386] = off_i386 };
/* mmap left out: no stop says when code is mapped, so the unwinder's maps may be stale at any open. */
static bool mmap_unwatched;

/* sched_getaffinity and sched_setaffinity: off unless the tracer co-locates. */
static bool affinity_watched;

void syscalls_watch_affinity(bool on)
{
	affinity_watched = on;
}

void syscalls_choose(trace_set set)
{
	for (int abi = 0; abi < ABI_COUNT; abi++) {
		size_t n;
		const struct sysent *t = syscalls_table((enum sc_abi)abi, &n);
		for (size_t nr = 0; nr < n; nr++) {
			/*
			 * chdir, fchdir, setns, pivot_root, chroot, unshare, ptrace and the
			 * SC_CREDS and SC_PRCTL calls are not choosable: the cwd, same_view,
			 * surely_opens and refusal detection need them.
			 */
			int call = t[nr].entry ? trace_filter_lookup(t[nr].name) : -1;
			/* open_by_handle_at, and io_uring_setup (a ring's opens are openat's), go with openat. */
			if (call < 0 && (t[nr].family == SC_OPEN || t[nr].family == SC_URING))
				call = TRACE_OPENAT;
			off[abi][nr] = call >= 0 && !(set & TRACE_BIT(call));
		}
	}
	mmap_unwatched = !(set & TRACE_BIT(TRACE_MMAP));
}

bool syscalls_watched(enum sc_abi abi, size_t nr)
{
	size_t n;
	const struct sysent *t = syscalls_table(abi, &n);
	return nr < n && t[nr].entry && !off[abi][nr] && (t[nr].family != SC_AFFINITY || affinity_watched);
}

const struct sysent *syscalls_lookup(uint32_t arch, uint64_t nr)
{
	size_t n;
	enum sc_abi abi;
	if (arch == AUDIT_ARCH_X86_64)
		abi = ABI_X86_64;
	else if (arch == AUDIT_ARCH_I386)
		abi = ABI_I386;
	else
		return NULL;
	const struct sysent *t = syscalls_table(abi, &n);
	return syscalls_watched(abi, nr) ? &t[nr] : NULL;
}

/*
 * Successful chdir, fchdir, setns and pivot_root seen so far. A cwd read
 * when the count was N still holds while it is N: a process sharing it
 * (CLONE_FS) can change it only by a call seen here. Not so when attached to processes already
 * running, whose cwd may be shared with one not traced: then it is read
 * again at each exec, as the record of the new image.
 */
static unsigned cwd_changes;
static bool cwd_counted;

/*
 * A chroot, pivot_root, setns, unshare(CLONE_NEWNS or CLONE_NEWUSER) or a
 * write to /proc/.../attr/ (note_context_write) was seen (at its entry,
 * whatever its result). Until then a thread keeps the root and namespaces
 * it was made with (a clone with CLONE_NEWNS makes a new thread),
 * so same_view looks once per thread; after, at each check. (Attached,
 * there is no check: known_outcome.) As for the cwd (cwd_changes), a child
 * made with CLONE_UNTRACED and CLONE_FS could change a traced one's root
 * unseen (under seccomp its chroot fails: the filter finds no tracer for
 * it).
 */
static bool views_changed;

/*
 * Some thread may not be allowed what the tracer is: a setgroups, capset or
 * landlock_restrict_self, a set*id to other ids than the tracer's, or a
 * prctl that changes the capabilities of the next exec, was seen (at its
 * entry); or, from the start, the tracer has capabilities the command
 * loses at its exec (tracer_caps_kept). The tracer's own check then no
 * longer tells whether an open will succeed (surely_opens).
 */
static bool creds_changed;

/* Opens have an exit stop whatever their outcome: attached, or --no-seccomp (see syscalls_init). */
static bool no_outcomes;

/* The tracer's user and group ids, when its real, effective and saved ones are one; else -1. */
static uint32_t my_uid = UINT32_MAX, my_gid = UINT32_MAX;

/*
 * The tracer's security context (/proc/self/attr/current: AppArmor's
 * profile, SELinux's domain) when context_state > 0. With one, a thread's
 * is compared with it, again after each exec. context_state: 0, no
 * security module gives one; -1, the tracer's cannot be read (too long):
 * no thread is taken to share it.
 */
static char lsm_context[256];
static int context_state;

/* Read /proc/`dir`/attr/current into buf: its length, or -errno (-E2BIG: longer than buf). */
static int read_lsm_context(const char *dir, char *buf, size_t size)
{
	char f[64];
	snprintf(f, sizeof(f), "/proc/%s/attr/current", dir);
	int fd = open(f, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, size - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	if ((size_t)n == size - 1)
		return -E2BIG;
	buf[n] = '\0';
	return (int)n;
}

/* The capability set `name` ("CapEff") in /proc/self/status text `st`, or all bits when not found. */
static uint64_t cap_set(const char *st, const char *name)
{
	const char *at = strstr(st, name);
	unsigned long long v;
	return at && sscanf(at + strlen(name), ":%llx", &v) == 1 ? (uint64_t)v : UINT64_MAX;
}

/*
 * Whether the command keeps at its exec the capabilities the tracer has
 * (no_new_privs: none are gained). As root, those of the bounding set; as
 * another user, only the ambient ones: a tracer given file capabilities
 * (setcap) would find readable what its command cannot read.
 */
static bool tracer_caps_kept(uid_t euid)
{
	struct buf st = { 0 };
	bool kept = false;
	if (proc_read_file(getpid(), "status", &st) > 0) {
		uint64_t eff = cap_set(st.data, "CapEff");
		kept = (eff & ~cap_set(st.data, euid == 0 ? "CapBnd" : "CapAmb")) == 0;
	}
	buf_free(&st);
	return kept;
}

void syscalls_init(struct manifest *m, bool attach, bool seccomp)
{
	mf = m;
	cwd_counted = !attach;
	/*
	 * Without seccomp every call stops at its exit anyway, and a command's
	 * own filter may fail a call after its entry stop.
	 */
	no_outcomes = attach || !seccomp;
	int r = read_lsm_context("self", lsm_context, sizeof(lsm_context));
	context_state = r > 0 ? 1 : r == -E2BIG ? -1 : 0;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) == 0 && ru == eu && eu == su)
		my_uid = (uint32_t)ru;
	if (getresgid(&rg, &eg, &sg) == 0 && rg == eg && eg == sg)
		my_gid = (uint32_t)rg;
	if (!no_outcomes && !tracer_caps_kept(geteuid()))
		creds_changed = true;
}

/* Count a failed read of tracee state; never fatal. */
static void read_failed(struct proc *p, const char *what, int err)
{
	if (err == -ESRCH || err == -ENOENT)
		manifest_warn(mf, "vanished", "process %d vanished while its %s was read", (int)p->tid, what);
	else if (err == -ENAMETOOLONG)
		manifest_warn(mf, "path-too-long", "process %d: %s longer than PATH_MAX", (int)p->tid, what);
	else
		manifest_warn(mf, "unreadable", "process %d: cannot read its %s: %s", (int)p->tid, what,
			      strerror(-err));
}

/*
 * The same for a read at a syscall's entry: a process gone there (killed, or
 * a thread ended by a sibling's exec) never runs the call, so nothing is lost.
 */
static void entry_read_failed(struct proc *p, const char *what, int err)
{
	if (err != -ESRCH && err != -ENOENT)
		read_failed(p, what, err);
}

/* Whether the cwd known for g is still its cwd (see cwd_changes). */
static bool cwd_current(const struct tgroup *g)
{
	return g->cwd && cwd_counted && g->cwd_gen == cwd_changes;
}

/* Read the cwd of p's process from /proc: 0, or -errno (the cwd is then unknown). */
static int read_cwd(struct proc *p)
{
	int r = path_of_cwd(p->tid, base, sizeof(base));
	tgroup_set_cwd(p->tg, r < 0 ? NULL : base);
	p->tg->cwd_gen = cwd_changes;
	return r < 0 ? r : 0;
}

/* The cwd of p's process, read from /proc when not known (or maybe changed since); NULL when unreadable. */
static const char *cwd_of(struct proc *p)
{
	struct tgroup *g = p->tg;
	int r;
	/* Attached to: kept until the process's own chdir or exec, as the exec reads it again. */
	bool stale = !g->cwd || (cwd_counted && g->cwd_gen != cwd_changes);
	if (stale && (r = read_cwd(p)) < 0) {
		entry_read_failed(p, "cwd", r);
		return NULL;
	}
	return g->cwd;
}

/*
 * The path of p's descriptor `fd` into `base`: its length, or -errno. The
 * first of a process is named from a duplicate, as most processes name one
 * descriptor only (the loader's mmap of libc) and /proc entries for the
 * process would cost more to build; later ones from /proc/PID/fd, cheaper
 * once the entries are there.
 */
static int fd_path(struct proc *p, int fd)
{
	if (p->tg->fds_named++ > 0)
		return path_of_fd(p->tid, fd, base, sizeof(base));
	int r = path_of_fd_dup(p->tid, p->pidfd, fd, base, sizeof(base));
	if (p->pidfd >= 0) {
		if (stale_pidfd >= 0)
			close(stale_pidfd);
		stale_pidfd = proc_take_pidfd(p); /* closed once p runs again (syscalls_resumed) */
	}
	return r;
}

/* fd_path, less the " (deleted)" the kernel adds for a file unlinked since (as maps_parse_line drops it). */
static int fd_path_file(struct proc *p, int fd)
{
	static const char deleted[] = " (deleted)";
	const size_t dl = sizeof(deleted) - 1;
	int n = fd_path(p, fd);
	if (n > 0 && (size_t)n > dl && strcmp(base + n - dl, deleted) == 0)
		base[n -= (int)dl] = '\0';
	return n;
}

#define PIDFDS_AHEAD_MAX 64 /* open at once: a wide tree of processes must not use up descriptors */
/* Stops after its exec by which a process names its first descriptor, if it is dynamically linked. */
#define PIDFD_AHEAD_STOPS 16

void syscalls_resumed(struct proc *p, bool execd)
{
	if (stale_pidfd >= 0)
		close(stale_pidfd);
	stale_pidfd = -1;
	/* Unused so far: a static program, or another thread named the first. */
	if (p->pidfd >= 0 && execd)
		p->pidfd_stops = 0; /* kept from the image before: the new one has its stops */
	else if (p->pidfd >= 0 && (p->tg->fds_named > 0 || ++p->pidfd_stops > PIDFD_AHEAD_STOPS))
		proc_drop_pidfd(p);
	/* Most processes name one descriptor, the loader's mmap of libc, soon after their exec. */
	if (execd && p->pidfd < 0 && p->tg->fds_named == 0 && proc_pidfds() < PIDFDS_AHEAD_MAX && path_dup_works()) {
		int r = path_pidfd(p->tid);
		if (r >= 0)
			proc_keep_pidfd(p, r);
	}
}

/*
 * raw (relative to *dir when relative) goes through /proc: when it is p's
 * own cwd or root link (/proc/self/cwd/x), the path that means the same
 * without it, with *dir set to go with it; else raw itself. NULL when p's
 * cwd is needed and cannot be read.
 */
static const char *own_proc_link(struct proc *p, const char **dir)
{
	static char joined[2 * PATH_MAX + 2], linked[PATH_MAX + 2];
	const char *path = raw, *rest;
	if (raw[0] != '/') {
		snprintf(joined, sizeof(joined), "%s/%s", *dir, raw);
		path = joined;
	}
	switch (path_proc_link(path, p->tg->tgid, p->tid, &rest)) {
	case PROC_LINK_CWD:
		if (!(*dir = cwd_of(p)))
			return NULL;
		snprintf(linked, sizeof(linked), ".%s", rest);
		return linked;
	case PROC_LINK_ROOT:
		snprintf(linked, sizeof(linked), "/%s", rest);
		return linked;
	default:
		return raw;
	}
}

/*
 * Read the path argument at `addr` and resolve it against `dirfd` into
 * p->sc.path. An empty path names dirfd itself when `empty_ok`.
 */
static bool read_path(struct proc *p, int dirfd, uint64_t addr, bool empty_ok)
{
	const char *dir = NULL;
	int r;
	if (mf->callers && p->sc.se->family == SC_OPEN && p->sc.sp) {
		/* The page at the stack pointer too (and the next, near its end): naming the caller starts there. */
		uint64_t page = p->sc.sp & ~4095ULL;
		size_t got;
		r = tracee_read_string_and_page(p->tid, addr, raw, sizeof(raw), page, unwind_seed_len(p->sc.sp),
						unwind_seed_buffer(), &got);
		if (got)
			unwind_seed_page(p->tid, p->sc.sp, page, got);
	} else {
		r = tracee_read_string(p->tid, addr, raw, sizeof(raw));
	}
	if (r < 0) {
		entry_read_failed(p, "path argument", r);
		return false;
	}
	if (raw[0] == '\0') {
		if (!empty_ok)
			return false; /* the kernel fails it with ENOENT: nothing was probed */
		strcpy(raw, ".");
	}
	if (raw[0] != '/') {
		if (dirfd == AT_FDCWD) {
			dir = cwd_of(p);
		} else if ((r = fd_path(p, dirfd)) >= 0) {
			dir = base;
		} else if (r != -EBADF) {
			entry_read_failed(p, "directory fd", r);
		}
		if (!dir)
			return false;
	}
	const char *path = raw;
	if (path_under_proc(raw[0] == '/' ? raw : dir) && !(path = own_proc_link(p, &dir)))
		return false;
	raw_linked = path != raw;
	r = path_resolve(p->sc.path, sizeof(p->sc.path), dir, path);
	if (r < 0) {
		read_failed(p, "resolved path", r);
		return false;
	}
	p->sc.path_len = r;
	return true;
}

/* The access open(2) `flags` ask for. */
static unsigned open_access(uint64_t flags)
{
	switch (flags & O_ACCMODE) {
	case O_WRONLY: return ACCESS_WRITE;
	case O_RDWR: return ACCESS_READ | ACCESS_WRITE;
	default: return ACCESS_READ;
	}
}

/* The open family: the path at arg `addr`, relative to `dirfd`, with open(2) `flags`. */
static bool decode_open(struct proc *p, int dirfd, uint64_t addr, uint64_t flags)
{
	if (!read_path(p, dirfd, addr, false))
		return false;
	p->sc.access = open_access(flags);
	/* Whether O_CREAT will create it: only checked when asked to create. */
	if ((flags & O_CREAT) && ((flags & O_EXCL) || (access(p->sc.path, F_OK) < 0 && errno == ENOENT)))
		p->sc.access |= ACCESS_CREATED;
	return true;
}

static bool record_open(struct proc *p, const char *path, bool at_entry);

/*
 * An open of a path already in files with at least this access (ACCESS_CREATED
 * included, so one that may create the file was seen creating it before):
 * whatever it returns adds no path or access, only perhaps an opener, which
 * the stack at the entry names as well as at the exit. Record it now and skip
 * the exit stop (half the stops of a program reopening its files). The cost:
 * a new opener is recorded even if its open fails. A stack that cannot be
 * walked now (a thread killed at this stop by a sibling's exec, say) waits
 * for the exit instead, which such a thread never reaches.
 */
static bool known_open(struct proc *p)
{
	const struct mf_file *f = manifest_find_file(mf, p->sc.path, (size_t)p->sc.path_len);
	if (!f || (f->access & p->sc.access) != p->sc.access)
		return false;
	return record_open(p, p->sc.path, true);
}

/* Whether /proc/TID/`name` is the file `mine` (a namespace, the root). */
static bool same_proc_file(pid_t tid, const char *name, const struct stat *mine)
{
	char f[48];
	struct stat st;
	snprintf(f, sizeof(f), "/proc/%d/%s", (int)tid, name);
	return stat(f, &st) == 0 && st.st_dev == mine->st_dev && st.st_ino == mine->st_ino;
}

/*
 * Whether thread `tid` sees files as the tracer does, now: the same root,
 * mount namespace and user namespace (three stats of /proc/TID), and the
 * same security context when there is a security module to say one.
 */
static bool view_is_mine(pid_t tid)
{
	static struct stat root, mnt, user;
	static int mine; /* read: 1, unreadable: -1 */
	static bool userns; /* a kernel without user namespaces has no ns/user */
	char ctx[sizeof(lsm_context)], dir[24];
	if (!mine) {
		mine = stat("/", &root) == 0 && stat("/proc/self/ns/mnt", &mnt) == 0 ? 1 : -1;
		userns = stat("/proc/self/ns/user", &user) == 0;
	}
	if (mine < 0 || !same_proc_file(tid, "root", &root) || !same_proc_file(tid, "ns/mnt", &mnt) ||
	    (userns && !same_proc_file(tid, "ns/user", &user)))
		return false;
	if (context_state == 0)
		return true;
	snprintf(dir, sizeof(dir), "%d", (int)tid);
	return context_state > 0 && read_lsm_context(dir, ctx, sizeof(ctx)) > 0 && strcmp(ctx, lsm_context) == 0;
}

/*
 * view_is_mine for `p`, kept per thread while no view can have changed
 * (views_changed) and, with a security module, until the thread's exec.
 */
static bool same_view(struct proc *p)
{
	bool keep = !views_changed;
	if (keep && p->same_view)
		return p->same_view > 0;
	bool same = view_is_mine(p->tid);
	if (keep)
		p->same_view = same ? 1 : -1;
	return same;
}

static unsigned long n_known_missing, n_known_present; /* exits skipped so, for -v */

/* Whether absolute `path` may name something else for each process (/proc/self, /dev/fd, /dev/stdin...). */
static bool per_process(const char *path)
{
	return strncmp(path, "/proc/", 6) == 0 || strncmp(path, "/dev/", 5) == 0;
}

/* O_LARGEFILE as the kernel reads it (glibc's is 0 on x86_64, where the kernel implies it). */
#define KERNEL_O_LARGEFILE 0100000
/*
 * The flags of a read-only open that cannot make it fail when its file is
 * readable (below); O_NONBLOCK only for a directory (on a file, a lease may
 * refuse it: EWOULDBLOCK).
 */
#define PLAIN_OPEN_FLAGS (O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_DIRECTORY | O_NOFOLLOW | O_PATH | KERNEL_O_LARGEFILE)

static bool is_i386(const struct sysent *se)
{
	size_t n;
	const struct sysent *t = syscalls_table(ABI_I386, &n);
	return se >= t && se < t + n;
}

/*
 * Whether the file system of device `dev` (where `check` is) opens its
 * files as their mode and an access check say: a disk or memory file
 * system. Not a pseudo one (sysfs, tracefs: a file the mode lets root read
 * may have no read operation), FUSE (the daemon decides at the open), a
 * network one, or an automount point. Looked up once per block device
 * (statfs), at each check for an anonymous one (tmpfs, overlayfs, Btrfs:
 * its number is reused by the next such mount once it is gone).
 */
static bool plain_fs(dev_t dev, const char *check)
{
	static struct fs_seen { dev_t dev; bool plain; } seen[32];
	static size_t n_seen;
	struct statfs sf;
	bool keep = major(dev) != 0;
	for (size_t i = 0; keep && i < n_seen; i++)
		if (seen[i].dev == dev)
			return seen[i].plain;
	if (statfs(check, &sf) < 0)
		return false;
	bool plain;
	switch ((unsigned long)sf.f_type) {
	case EXT4_SUPER_MAGIC: /* ext2, ext3 too */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case TMPFS_MAGIC:
	case OVERLAYFS_SUPER_MAGIC:
	case F2FS_SUPER_MAGIC:
	case SQUASHFS_MAGIC:
	case EROFS_SUPER_MAGIC_V1:
	case ISOFS_SUPER_MAGIC:
		plain = true;
		break;
	default:
		plain = false;
	}
	if (keep && n_seen < sizeof(seen) / sizeof(seen[0]))
		seen[n_seen++] = (struct fs_seen){ dev, plain };
	return plain;
}

/*
 * Whether a read-only open of an existing `st` (checked at `check`, as the
 * thread names it) cannot fail: a regular file or directory (no device,
 * FIFO or socket, which may refuse or block; O_DIRECTORY: a directory) on
 * a plain_fs, with no flag that could refuse it (O_NOATIME, O_DIRECT...),
 * not too big for an i386 open without O_LARGEFILE, that the tracer can
 * open for reading itself (an open, not an access check: Landlock, an LSM
 * and fscrypt refuse at the open), and the thread would be allowed the same: launched under the tracer with
 * its credentials, no set*id to other ids, setgroups, capset, capability
 * prctl or Landlock seen since, and the tracer's root, namespaces and
 * security context (same_view). Left out, as for any open recorded at its
 * entry: a file removed meanwhile, and failures no check sees (EMFILE,
 * ENOMEM, EINTR, a fanotify permission denial).
 */
static bool surely_opens(struct proc *p, uint64_t flags, const struct stat *st, const char *check)
{
	if (creds_changed || (flags & O_ACCMODE) != O_RDONLY || (flags & ~(uint64_t)(PLAIN_OPEN_FLAGS | O_ACCMODE)))
		return false;
	if (!S_ISDIR(st->st_mode) && (!S_ISREG(st->st_mode) || (flags & (O_DIRECTORY | O_NONBLOCK))))
		return false;
	if (is_i386(p->sc.se) && !(flags & KERNEL_O_LARGEFILE) && st->st_size > INT32_MAX)
		return false; /* EOVERFLOW */
	/* The view first: in another root or namespace the tracer's open would be of another file. */
	if (!same_view(p) || !plain_fs(st->st_dev, check))
		return false;
	int fd = open(check, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (int)(flags & (O_DIRECTORY | O_NOFOLLOW)));
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * An open that cannot create, `plain` (not an openat2 with resolve rules or
 * that the kernel refuses: openat2_plain), whose outcome the tracer can
 * tell at the entry (launched with seccomp: no_outcomes), for the path as
 * passed, from the thread's own cwd or dirfd (through /proc/TID), not
 * under /proc or /dev (where /proc/self and /dev/fd would be the
 * tracer's; a symlink elsewhere into them is followed as the tracer's,
 * the one case the check gets wrong):
 * - the kernel finds the path absent for the tracer as it would for the
 *   thread (not following a last symlink under O_NOFOLLOW: ENOENT or
 *   ENOTDIR), with the thread's root and namespaces the tracer's: the
 *   open fails the same way, a probe for missing (a search path's, which
 *   every compiler and loader run repeats);
 * - or the open surely succeeds (surely_opens): a first read of a file,
 *   recorded as its exit would.
 * It is recorded now and the exit stop skipped: a stop saved for a stat
 * (a missing path), or for a stat, an open and a close (a file; its file
 * system's type once per block device). A file made or removed between
 * the check and the open is the race the open itself would have run.
 */
static bool known_outcome(struct proc *p, int dirfd, uint64_t flags, bool plain)
{
	char rel[PATH_MAX + 48];
	const char *check = raw;
	struct stat st;
	/* Any bit of O_TMPFILE but O_DIRECTORY: a temporary file, or EINVAL. */
	/* Nor a path through the tracee's own /proc link: raw, read from here, would be fingerprint's. */
	if (no_outcomes || !plain || (flags & O_CREAT) || (flags & (O_TMPFILE & ~O_DIRECTORY)) ||
	    p->sc.path_len <= 0 || per_process(p->sc.path) || raw_linked)
		return false;
	if (raw[0] != '/') {
		int n = dirfd == AT_FDCWD ? snprintf(rel, sizeof(rel), "/proc/%d/cwd/%s", (int)p->tid, raw)
					  : snprintf(rel, sizeof(rel), "/proc/%d/fd/%d/%s", (int)p->tid, dirfd, raw);
		if (n < 0 || (size_t)n >= sizeof(rel))
			return false;
		check = rel;
	}
	if (fstatat(AT_FDCWD, check, &st, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) == 0) {
		if (!surely_opens(p, flags, &st, check) || !record_open(p, p->sc.path, true))
			return false;
		n_known_present++;
		return true;
	}
	/* Absent: the root and namespace checks only now, as most opens find their file. */
	if ((errno != ENOENT && errno != ENOTDIR) || !same_view(p))
		return false;
	manifest_add_missing(mf, p->sc.path, p->tg->binary);
	n_known_missing++;
	return true;
}

/*
 * A write to /proc/.../attr/ (AppArmor's change_profile, SELinux's
 * setcon): the thread's security context may change without an exec.
 */
static void note_context_write(struct proc *p)
{
	if ((p->sc.access & ACCESS_WRITE) && strncmp(p->sc.path, "/proc/", 6) == 0 && strstr(p->sc.path, "/attr/"))
		views_changed = true;
}

/* The open family's entry: true when its exit must be seen. `plain`: see known_outcome. */
static bool open_entry(struct proc *p, int dirfd, uint64_t addr, uint64_t flags, bool plain)
{
	if (!decode_open(p, dirfd, addr, flags))
		return false;
	note_context_write(p);
	return !known_open(p) && !known_outcome(p, dirfd, flags, plain);
}

unsigned long syscalls_known_missing(void)
{
	return n_known_missing;
}

unsigned long syscalls_known_present(void)
{
	return n_known_present;
}

HANDLER(open) { return open_entry(p, AT_FDCWD, a[0], a[1], true); }
HANDLER(openat) { return open_entry(p, (int)a[0], a[1], a[2], true); }
HANDLER(creat) { return open_entry(p, AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, true); }

/* The open flags the kernel knows (others fail an openat2 with EINVAL; open and openat ignore them). */
#define KNOWN_OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | \
			  O_ASYNC | O_DIRECT | KERNEL_O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | \
			  O_SYNC | O_PATH | O_TMPFILE)

/*
 * Whether an openat2 with `how` (`size` bytes of it passed, at most
 * sizeof(how) read) is what open(2) with how.flags would be: no resolve
 * rules, and nothing for which the kernel fails it with EINVAL or E2BIG
 * where open(2) would go on: a size below the first version's or beyond
 * what was read (its tail must be zeros), unknown flags, a mode without
 * O_CREAT or O_TMPFILE, O_PATH with other flags than O_DIRECTORY,
 * O_NOFOLLOW and O_CLOEXEC.
 */
static bool openat2_plain(const struct open_how *how, uint64_t size)
{
	const uint64_t path_ok = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	return size >= 24 /* OPEN_HOW_SIZE_VER0 */ && size <= sizeof(*how) && how->resolve == 0 &&
	       !(how->flags & ~(uint64_t)KNOWN_OPEN_FLAGS) &&
	       (how->mode == 0 || (how->flags & O_CREAT) || (how->flags & O_TMPFILE) == O_TMPFILE) &&
	       (!(how->flags & O_PATH) || !(how->flags & ~path_ok));
}

HANDLER(openat2)
{
	struct open_how how = { 0 };
	size_t size = a[3] < sizeof(how) ? a[3] : sizeof(how);
	int r = tracee_read(p->tid, a[2], &how, size);
	if (r < 0) {
		entry_read_failed(p, "open_how", r);
		return false;
	}
	return open_entry(p, (int)a[0], a[1], how.flags, openat2_plain(&how, a[3]));
}

/*
 * open_by_handle_at: a file handle (from name_to_handle_at) names the file,
 * not a path; the descriptor it returns does, at the exit.
 */
HANDLER(open_by_handle_at)
{
	p->sc.access = open_access(a[2]);
	return true;
}

/* The exit says whether the ring was set up. */
HANDLER(io_uring_setup) { (void)p; (void)a; return true; }

/*
 * The exec family: the path is kept for PTRACE_EVENT_EXEC (it names a
 * symlink or script as run). The exit stop only reports a failure (a probe
 * for `missing`), so it is skipped for a path already run: like a known
 * open, a later failure of it adds nothing.
 */
static bool exec_entry(struct proc *p, int dirfd, uint64_t addr, bool empty_ok)
{
	if (!read_path(p, dirfd, addr, empty_ok))
		return false;
	const struct mf_binary *b = manifest_find_binary(mf, p->sc.path, (size_t)p->sc.path_len);
	if (b && b->exec_count > 0)
		p->flags |= PROC_NO_EXIT;
	return true;
}

HANDLER(execve) { return exec_entry(p, AT_FDCWD, a[0], false); }
HANDLER(execveat) { return exec_entry(p, (int)a[0], a[1], (a[4] & AT_EMPTY_PATH) != 0); }

static void mapped(struct tgroup *g, const char *path);

/*
 * An executable mapping of a file. Its descriptor names the object, so it is
 * recorded here, with no exit stop and no maps rescan, unless another thread
 * of the process may be unwound before the mapping exists (callers on and
 * several threads, and not a MAP_FIXED into the object's own reservation):
 * then the object is recorded at the exit, where the unwinder's snapshot of
 * the maps is patched, once the mapping is there. A descriptor that cannot
 * be read falls back to the rescan at the exit.
 */
HANDLER(mmap)
{
	if (!(a[2] & PROT_EXEC) || (a[3] & MAP_ANONYMOUS) || (int)a[4] < 0)
		return false;
	int n = fd_path_file(p, (int)a[4]);
	if (n <= 0)
		return true;
	if (mf->callers && p->tg->refs > 1) {
		/* Other threads run: patched now only where none of them can be (the loader's reservation). */
		if (!(a[3] & MAP_FIXED) || !unwind_mapped_early(p->tg, base, a[0], a[5])) {
			memcpy(p->sc.path, base, (size_t)n + 1);
			p->sc.path_len = n;
			p->sc.args[5] = a[5];
			return true;
		}
	} else if (a[3] & MAP_FIXED) {
		/* The loader maps an object's code MAP_FIXED into the span it reserved: the address is known now. */
		unwind_mapped(p->tg, base, a[0], a[5]);
	} else {
		unwind_invalidate(p->tg);
	}
	mapped(p->tg, base);
	return false;
}

HANDLER(chdir) { (void)p; (void)a; return true; }
HANDLER(fchdir) { (void)p; (void)a; return true; }

/* pivot_root, setns: a new cwd (the exit, as chdir's) and perhaps a new root or mount namespace. */
HANDLER(newroot)
{
	(void)p;
	(void)a;
	views_changed = true;
	return true;
}

HANDLER(chroot)
{
	(void)p;
	(void)a;
	views_changed = true;
	return false;
}

HANDLER(unshare)
{
	(void)p;
	if (a[0] & (CLONE_NEWNS | CLONE_NEWUSER))
		views_changed = true;
	return false;
}

/* setgroups, capset, landlock_restrict_self: always a change. */
HANDLER(creds) { (void)p; (void)a; creds_changed = true; return false; }

/*
 * Whether a set*uid or set*gid call with these arguments leaves a thread
 * that has the tracer's `id` (a uid or gid) with it: each argument is -1
 * (unchanged) or that id. A shell's no-op setresuid(-1, 0, -1) as root, say.
 */
static bool ids_kept(const struct sysent *se, const uint64_t *a, uint32_t id)
{
	if (id == UINT32_MAX)
		return false;
	for (unsigned i = 0; i < se->nargs; i++)
		if ((uint32_t)a[i] != UINT32_MAX && (uint32_t)a[i] != id)
			return false;
	return true;
}

/* The set*uid and set*gid calls (32-bit ids): a change from the tracer's ids sets creds_changed. */
HANDLER(setuids)
{
	(void)p;
	creds_changed |= !ids_kept(se, a, my_uid);
	return false;
}

HANDLER(setgids)
{
	(void)p;
	creds_changed |= !ids_kept(se, a, my_gid);
	return false;
}

/* prctl: only the options that change the capabilities of the next exec stop here (SC_PRCTL). */
HANDLER(prctl)
{
	(void)p;
	static const int opts[] = PRCTL_CAPS_OPTIONS;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if ((int)a[0] == opts[i])
			creds_changed = true;
	return false;
}

/* A request that would make the caller a tracer (of its parent, or of a pid): its result is wanted. */
HANDLER(ptrace)
{
	long request = (long)a[0];
	if (request != PTRACE_TRACEME && request != PTRACE_ATTACH && request != PTRACE_SEIZE)
		return false;
	p->sc.args[0] = a[0];
	p->sc.args[1] = a[1];
	return true;
}

/* sched_getaffinity and sched_setaffinity: the tracer's (co-location), nothing recorded. */
HANDLER(getaffinity) { return tracer_affinity_entry(p, a); }
HANDLER(setaffinity) { return tracer_affinity_entry(p, a); }

bool syscalls_entry(struct proc *p, const struct sysent *se, const uint64_t *args)
{
	p->sc.se = se;
	p->sc.path_len = 0;
	p->sc.access = 0;
	return se->entry(p, se, args);
}

/*
 * A library mapped by g's process for the first time since its exec: the
 * loader's opens still waiting were made while loading it.
 */
static void library_seen(struct tgroup *g, const char *lib)
{
	for (size_t i = 0; i < g->n_libs_seen; i++)
		if (g->libs_seen[i] == lib)
			return;
	xgrow(&g->libs_seen, &g->libs_seen_cap, g->n_libs_seen + 1, sizeof(*g->libs_seen));
	g->libs_seen[g->n_libs_seen++] = lib;
	for (size_t i = 0; i < g->n_loader_opens; i++) {
		struct loader_open *lo = &g->loader_opens[i];
		lo->file->opened_by[lo->opener].for_lib = lib;
	}
	g->n_loader_opens = 0;
}

/* An object mapped executable in g's process: a library, unless it is the process's own executable. */
static void mapped(struct tgroup *g, const char *path)
{
	if (!g->exe || strcmp(path, g->exe) != 0)
		library_seen(g, manifest_add_library(mf, path, g->binary)->path);
}

static void add_library(const char *path, void *ctx)
{
	mapped(ctx, path);
}

/* Add every object mapped executable in p's process, but its own executable. */
static void scan_libraries(struct proc *p)
{
	unwind_invalidate(p->tg);
	int r = maps_scan_exec(p->tid, add_library, p->tg);
	if (r < 0)
		read_failed(p, "maps", r);
}

/*
 * The objects mapped executable right after an exec of one program file:
 * the program and its interpreter (PT_INTERP), nothing of the process's own
 * yet. Another exec of the same file, unchanged, maps the same: they are
 * taken from here instead of reading /proc/PID/maps again.
 */
#define EXEC_IMAGE_MAX 4
struct exec_image {
	struct file_version v;
	unsigned n; /* > EXEC_IMAGE_MAX: not kept, scan again */
	const char *objs[EXEC_IMAGE_MAX]; /* interned */
};
static struct map exec_images; /* interned exe path -> struct exec_image (owned) */

struct image_scan {
	struct tgroup *g;
	struct exec_image *im;
};

static void add_image_object(const char *path, void *ctx)
{
	struct image_scan *s = ctx;
	mapped(s->g, path);
	if (s->im->n < EXEC_IMAGE_MAX)
		s->im->objs[s->im->n] = manifest_intern(mf, path);
	s->im->n++;
}

/*
 * Add the objects p's process mapped at its exec (as scan_libraries), from
 * exec_images when its program g->exe, found as `st` (NULL: not found), is
 * known; with callers on, let the unwinder place the loader from `entry`
 * (the new image's first instruction, or 0).
 */
static void scan_exec_image(struct proc *p, const struct stat *st, uint64_t entry)
{
	struct tgroup *g = p->tg;
	if (!g->exe || !st) {
		scan_libraries(p);
		return;
	}
	void **slot = map_slot(&exec_images, g->exe, strlen(g->exe), NULL); /* g->exe is interned */
	struct exec_image *im = *slot;
	unwind_invalidate(g);
	if (!(im && im->n <= EXEC_IMAGE_MAX && file_version_is(&im->v, st))) {
		if (!im)
			*slot = im = xmalloc(sizeof(*im));
		im->n = 0;
		file_version_of(st, &im->v);
		struct image_scan s = { g, im };
		int r = maps_scan_exec(p->tid, add_image_object, &s);
		if (r < 0) {
			read_failed(p, "maps", r);
			im->n = EXEC_IMAGE_MAX + 1;
		}
	} else {
		for (unsigned i = 0; i < im->n; i++)
			mapped(g, im->objs[i]);
	}
	for (unsigned i = 0; mf->callers && i < im->n && i < EXEC_IMAGE_MAX; i++)
		unwind_place_loader(g, im->objs[i], entry);
}

/*
 * Record a successful open of `path` by `p`, naming the calling object when
 * callers are on. Returns true; false, recording nothing, when `at_entry`
 * and the caller cannot be named (the exit stop will tell).
 */
static bool record_open(struct proc *p, const char *path, bool at_entry)
{
	struct mf_opener by = { .binary = p->tg->binary };
	if (mf->callers) {
		struct caller c;
		/* A library mapped (or unmapped and another mapped in its place) since the last snapshot. */
		if (mmap_unwatched)
			unwind_invalidate(p->tg);
		int r = unwind_caller(p->tid, p->tg, p->sc.ip, p->sc.sp, &c);
		if (events_on)
			events_caller(p, &c, r == 0); /* the event log names the same caller */
		if (r == 0) {
			by.module = manifest_intern(mf, c.module);
			by.function = c.function ? manifest_intern(mf, c.function) : NULL;
			by.loader = c.loader;
			if (c.replaced)
				manifest_warn(mf, "object-replaced",
					      "%s was replaced or removed after process %d mapped it: "
					      "the opens it makes are named by the file alone, with no function",
					      c.module, (int)p->tid);
		} else if (at_entry) {
			return false;
		} else {
			by.unknown = true;
			manifest_warn(mf, "unwind", "cannot name the caller of an open of %s in process %d: %s", path,
				      (int)p->tid, r == -ENOENT ? "a frame outside any mapped file" : strerror(-r));
		}
	}
	struct mf_file *f = manifest_add_file(mf, path, p->sc.access, &by);
	if (by.module && by.loader) {
		/* Which library this was for is known once the loader maps it. */
		struct tgroup *g = p->tg;
		for (size_t i = 0; i < f->n_opened_by; i++) {
			const struct mf_opener *o = &f->opened_by[i];
			if (o->binary == by.binary && o->module == by.module && !o->for_lib) {
				xgrow(&g->loader_opens, &g->loader_opens_cap, g->n_loader_opens + 1,
				      sizeof(*g->loader_opens));
				g->loader_opens[g->n_loader_opens++] = (struct loader_open){ f, i };
				break;
			}
		}
	}
	return true;
}

/*
 * A tracee's ptrace(TRACEME, ATTACH or SEIZE) failed with EPERM: when it
 * asked to trace itself or one of our tracees, the reason is that
 * fingerprint traces it already (the kernel allows one tracer). Counted in
 * the warnings, and said once on standard error: the nested tracer (strace,
 * gdb) reports only "Operation not permitted".
 */
static void nested_tracer_refused(struct proc *p)
{
	static bool said;
	long request = (long)p->sc.args[0];
	pid_t target = request == PTRACE_TRACEME ? p->tid : (pid_t)p->sc.args[1];
	const char *who = p->tg->binary ? p->tg->binary : "a process";
	char what[64];

	if (request != PTRACE_TRACEME && !proc_lookup(target))
		return; /* not ours: refused for another reason */
	if (request == PTRACE_TRACEME)
		snprintf(what, sizeof(what), "ptrace(PTRACE_TRACEME)");
	else
		snprintf(what, sizeof(what), "ptrace(%s, %d)", request == PTRACE_ATTACH ? "PTRACE_ATTACH" : "PTRACE_SEIZE",
			 (int)target);
	manifest_warn(mf, "nested-ptrace", "%s (process %d): %s failed with EPERM: process %d is traced by fingerprint, "
		      "and the kernel allows one tracer", who, (int)p->tid, what, (int)target);
	if (!said) {
		said = true;
		if (request == PTRACE_TRACEME)
			warn("warning: %s (process %d) cannot be traced by its parent: fingerprint is its tracer, and "
			     "the kernel allows one", who, (int)p->tid);
		else
			warn("warning: %s (process %d) cannot trace process %d: fingerprint is its tracer, and the "
			     "kernel allows one", who, (int)p->tid, (int)target);
	}
}

/* open_by_handle_at returned `fd`: the file is recorded by the path of that descriptor. */
static void record_handle_open(struct proc *p, int fd)
{
	int r = fd_path_file(p, fd);
	if (r < 0)
		read_failed(p, "path of a descriptor opened by handle", r);
	else
		record_open(p, base, false);
}

static void refresh_cwd(struct proc *p)
{
	int r = read_cwd(p);
	if (r < 0)
		read_failed(p, "cwd", r);
}

void syscalls_exit(struct proc *p, int64_t rval, bool is_error)
{
	const char *path = p->sc.path_len > 0 ? p->sc.path : NULL;
	bool probe = is_error && (rval == -ENOENT || rval == -ENOTDIR);

	switch (p->sc.se->family) {
	case SC_OPEN:
		if (!path && !is_error && p->sc.se->entry == SEN(open_by_handle_at))
			record_handle_open(p, (int)rval);
		else if (path && !is_error)
			record_open(p, path, false);
		else if (path && probe)
			manifest_add_missing(mf, path, p->tg->binary);
		break;
	case SC_EXEC:
		/* A success was recorded at PTRACE_EVENT_EXEC. */
		if (path && probe)
			manifest_add_missing(mf, path, p->tg->binary);
		break;
	case SC_MMAP:
		if (is_error)
			break;
		if (path) { /* named at the entry (several threads): no rescan */
			unwind_mapped(p->tg, path, (uint64_t)rval, p->sc.args[5]);
			mapped(p->tg, path);
		} else {
			scan_libraries(p);
		}
		break;
	case SC_CHDIR:
		if (!is_error) {
			cwd_changes++;
			refresh_cwd(p);
		}
		break;
	case SC_PTRACE:
		if (is_error && rval == -EPERM)
			nested_tracer_refused(p);
		break;
	case SC_AFFINITY:
		tracer_affinity_exit(p, p->sc.se->entry == SEN(setaffinity), rval, is_error);
		break;
	case SC_URING:
		if (!is_error)
			manifest_warn(mf, "io-uring", "%s (process %d) set up an io_uring: files it opens through the ring "
				      "(IORING_OP_OPENAT) are not seen, so not recorded", p->tg->binary ? p->tg->binary :
				      "a process", (int)p->tg->tgid);
		break;
	}
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * The kernel ran `exe` for an exec of `path`: a symlink, or a #! script
 * whose interpreter (as its #! line names it) is exec'd too. When that
 * interpreter is itself a script, or binfmt_misc ran something else, the
 * program that really ran is recorded as well.
 */
static void record_interpreter(const char *path, const char *exe)
{
	char *interp, *args;
	if (elfinfo_script(path, &interp, &args) == 0) {
		manifest_add_binary(mf, interp);
		if (!same_file(interp, exe))
			manifest_add_binary(mf, exe);
		free(interp);
		free(args);
	} else if (!same_file(path, exe)) {
		manifest_add_binary(mf, exe);
	}
}

static struct buf procbuf;

/* The argument strings `argv` (len bytes, NUL-separated) of the image process record `rec` runs, binary `b`. */
static void set_argv(struct mf_process *rec, struct mf_binary *b, const char *argv, size_t len)
{
	manifest_add_cmdline(mf, b, argv, len);
	free(rec->argv);
	rec->argv = xmalloc(len + 1);
	memcpy(rec->argv, argv, len);
	rec->argv[len] = '\0';
	rec->argv_len = len;
}

/*
 * Paths exec'd that ran the program file found there (not a script): the
 * file's version and /proc/PID/exe then. Another exec of the path finding
 * the same version there ran the same program: /proc is not read again.
 */
struct exec_path {
	struct file_version v;
	const char *exe; /* interned */
};
static struct map exec_paths; /* interned binary path -> struct exec_path (owned) */

/*
 * The program p's process runs after its exec of `path` (interned; NULL
 * when the exec was not seen at its entry), interned, or NULL when
 * unreadable. *st gets the program file's status, and *found whether it
 * could be taken.
 */
static const char *exe_of_exec(struct proc *p, const char *path, struct stat *st, bool *found)
{
	struct stat at_path;
	bool there = path && stat(path, &at_path) == 0;
	struct exec_path *ep = there ? strmap_get(&exec_paths, path) : NULL;
	if (ep && file_version_is(&ep->v, &at_path)) {
		*st = at_path;
		*found = true;
		return ep->exe;
	}

	char buf[PATH_MAX];
	int n = path_of_exe(p->tid, buf, sizeof(buf));
	*found = false;
	if (n <= 0) {
		if (n < 0)
			read_failed(p, "exe", n);
		return NULL;
	}
	const char *exe = manifest_intern(mf, buf);
	*found = stat(exe, st) == 0;
	if (there && *found && st->st_dev == at_path.st_dev && st->st_ino == at_path.st_ino) {
		void **slot = map_slot(&exec_paths, path, strlen(path), NULL);
		if (!*slot)
			*slot = xmalloc(sizeof(*ep));
		ep = *slot;
		file_version_of(st, &ep->v);
		ep->exe = exe;
	}
	return exe;
}

void syscalls_exec_done(struct proc *p, const struct exec_start *at)
{
	struct tgroup *g = p->tg;
	struct mf_process *rec = g->rec;
	/* A path through /proc/self or /dev/fd (a program running itself again,
	 * fexecve) names the file in fingerprint's own process: the program is
	 * recorded by the file the kernel ran (/proc/PID/exe) instead. */
	bool pending = (p->flags & PROC_IN_SYSCALL) && p->sc.se && p->sc.se->family == SC_EXEC &&
		       p->sc.path_len > 0 && !path_per_process(p->sc.path);
	struct mf_binary *b = pending ? manifest_add_binary(mf, p->sc.path) : NULL;
	struct stat st;
	bool found;
	const char *exe = exe_of_exec(p, b ? b->path : NULL, &st, &found);

	if (!b && !exe)
		return;
	if (!b)
		b = manifest_add_binary(mf, exe);
	p->flags |= PROC_EXEC_SEEN;
	g->binary = b->path;
	g->exe = exe;
	/* The same path running the same program again: its interpreter is recorded already. */
	if (g->exe && b->ran_as != g->exe && strcmp(g->exe, b->path) != 0) {
		record_interpreter(b->path, g->exe);
		b->ran_as = g->exe;
	}

	size_t argv_len;
	if (tracee_exec_strings(p->tid, at->sp, at->arch == AUDIT_ARCH_I386 ? 4 : 8, &procbuf, &argv_len) == 0) {
		set_argv(rec, b, procbuf.data, argv_len);
		manifest_add_env(mf, b, procbuf.data + argv_len, procbuf.len - argv_len);
	} else {
		ssize_t n = proc_read_file(p->tid, "cmdline", &procbuf);
		if (n >= 0)
			set_argv(rec, b, procbuf.data, (size_t)n);
		else
			read_failed(p, "cmdline", (int)n);
		n = proc_read_file(p->tid, "environ", &procbuf);
		if (n >= 0)
			manifest_add_env(mf, b, procbuf.data, n);
		else
			read_failed(p, "environ", (int)n);
	}

	g->n_libs_seen = g->n_loader_opens = 0; /* a new image */
	if (!cwd_current(g))
		refresh_cwd(p);
	free(rec->cwd);
	rec->cwd = g->cwd ? xstrdup(g->cwd) : NULL;
	rec->binary = g->binary;
	if (context_state)
		p->same_view = 0; /* an exec may change its security context */
	scan_exec_image(p, found ? &st : NULL, at->entry);
}
