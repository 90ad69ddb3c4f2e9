/*
 * proc.c: the table of traced threads (tid -> struct proc) and the thread
 * groups they share (cwd, binary, manifest record), with O(1) lookup.
 */
#ifndef FP_PROC_H
#define FP_PROC_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct mf_process;
struct sysent;
struct unwind_map;
struct ev_pending;

/* Shared by all threads of one process; reference counted. */
struct tgroup {
	unsigned refs;           /* its threads in the table */
	pid_t tgid;
	struct tgroup *parent;   /* the traced process that made it, while both live (proc.c) */
	unsigned children;       /* live traced processes it made (proc.c) */
	const char *binary;      /* interned path of the last exec, inherited over fork */
	const char *exe;         /* interned /proc/PID/exe at that exec (the interpreter of a script) */
	char *cwd;               /* absolute, owned; NULL when unknown (read /proc on demand) */
	unsigned cwd_gen;        /* the tracer's count of cwd changes when cwd was read (syscalls.c) */
	unsigned fds_named;      /* descriptors of the process named so far (syscalls.c) */
	struct mf_process *rec;  /* owned by the manifest */
	struct unwind_map *umap; /* owned; the mappings as unwind last saw them, NULL when stale */
	/* The dynamic loader's opens waiting to learn which library they were for. */
	struct loader_open { struct mf_file *file; size_t opener; } *loader_opens;
	size_t n_loader_opens, loader_opens_cap;
	const char **libs_seen;  /* libraries mapped since the last exec (interned) */
	size_t n_libs_seen, libs_seen_cap;
	bool attached;           /* attached to while running (fingerprint -p), not created under the tracer */
};

enum proc_flags {
	PROC_IN_SYSCALL = 1 << 0,  /* between a watched entry and its exit stop */
	PROC_EXEC_SEEN = 1 << 2,   /* PTRACE_EVENT_EXEC arrived for the pending exec */
	PROC_ADOPTED = 1 << 3,     /* its first stop came before its parent's fork event */
	PROC_NO_EXIT = 1 << 4,     /* in a watched syscall whose exit stop is not wanted (a known exec) */
	PROC_ATTACHING = 1 << 5,   /* seized while running (-p), its first stop still to come */
	PROC_EVENT = 1 << 6,       /* in a syscall logged by --events, its exit stop wanted */
};

/* A syscall seen at entry, waiting for its result. */
struct pending {
	const struct sysent *se;
	uint64_t args[6];
	unsigned access;      /* ACCESS_* for opens */
	uint64_t ip, sp;      /* user instruction and stack pointers at the last syscall stop */
	int path_len;         /* > 0: `path` holds the resolved absolute path */
	char path[PATH_MAX];
};

struct proc {
	pid_t tid;
	unsigned flags;
	struct tgroup *tg;
	struct pending sc;
	struct ev_pending *ev;  /* --events: the call being logged (events.c owns it), or NULL */
	int pidfd;              /* this thread's, for its first descriptor named (syscalls.c), or -1: proc_keep_pidfd */
	unsigned pidfd_stops;   /* syscall stops since it was kept */
	signed char same_view;  /* syscalls.c: sees files as the tracer (root, namespaces, context), 1; not, -1; not known, 0 */
};

/* Returns the proc of `tid`, or NULL. */
struct proc *proc_lookup(pid_t tid);

/*
 * Create the proc for `tid`. With `group` it joins that thread group (a new
 * thread); otherwise it starts a new group whose cwd is copied from `parent`
 * (may be NULL). Returns the new proc, owned by the table.
 */
struct proc *proc_new(pid_t tid, struct tgroup *group, struct tgroup *parent);

/*
 * Whether `pid` was ever a tid in the table (a process or thread traced in
 * this session, gone since or not). Async-signal-safe.
 */
bool proc_ever_traced(pid_t pid);

/* `g` was made by `parent` (NULL: by none traced), as a fork event says after its first stop. */
void tgroup_set_parent(struct tgroup *g, struct tgroup *parent);

/* Move `p` to a new tid (a non-leader thread exec'd and took the leader's tid). */
void proc_rekey(struct proc *p, pid_t new_tid);

/* Remove `p` from the table and free it (dropping its group reference). */
void proc_remove(struct proc *p);

/* Number of live traced threads. */
size_t proc_count(void);

/*
 * Number of traced threads that may run at once, as far as the table
 * tells: every thread of each process, less one while the process has a
 * traced child (taken to wait for it, as a shell or make waits for its
 * command). One for a shell running commands one after another.
 */
size_t proc_runners(void);

/* Give `p` the pidfd `fd`, closed when p goes or moves to another tid (or another is given). */
void proc_keep_pidfd(struct proc *p, int fd);
/* Take p's pidfd back (the caller closes it): it, or -1 when p keeps none. */
int proc_take_pidfd(struct proc *p);
/* Close p's pidfd, if it keeps one. */
void proc_drop_pidfd(struct proc *p);
/* How many pidfds procs keep. */
size_t proc_pidfds(void);

/* Call fn on every live proc (fn may not add or remove procs). */
void proc_foreach(void (*fn)(struct proc *p, void *ctx), void *ctx);

void tgroup_set_cwd(struct tgroup *g, const char *cwd);

struct buf;
/* Read /proc/PID/NAME (cmdline, environ, status) into `b`. Returns its length or -errno. */
ssize_t proc_read_file(pid_t pid, const char *name, struct buf *b);

#endif
