/*
 * syscalls.c: per-ABI tables of the watched syscalls and their decoders.
 * An entry handler reads the arguments it needs and says whether the
 * syscall's result is wanted; the family's exit handler records it.
 */
#ifndef FP_SYSCALLS_H
#define FP_SYSCALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace_filter.h"

struct proc;
struct manifest;

enum sc_family {
	SC_OPEN = 1,
	SC_EXEC,
	SC_MMAP,  /* watched only with PROT_EXEC in arg 2 */
	SC_CHDIR,
	SC_PTRACE, /* only the requests that make the caller a tracer */
	SC_AFFINITY, /* sched_getaffinity, sched_setaffinity: for co-location (tracer.c), nothing recorded */
	SC_ROOT,  /* chroot, unshare: a thread's root or namespaces may change (no exit stop) */
	SC_CREDS, /* set*id, setgroups, capset, landlock_restrict_self: what it may open may change (no exit stop) */
	SC_PRCTL, /* prctl, watched only with one of PRCTL_CAPS_OPTIONS in arg 0: the same, from its next exec */
	SC_URING, /* io_uring_setup: what a ring opens is not seen, which the manifest's warnings say */
};

/* The prctl options that change the capabilities of the next exec (<sys/prctl.h>). */
#define PRCTL_CAPS_OPTIONS { PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_CAP_AMBIENT }

struct sysent {
	unsigned char nargs;
	unsigned char family;
	/* Returns true when the exit stop (the result) is wanted. */
	bool (*entry)(struct proc *p, const struct sysent *se, const uint64_t *args);
	const char *name;
};

enum sc_abi { ABI_X86_64, ABI_I386, ABI_COUNT };

/* The table of `abi` (indexed by syscall number, unwatched rows empty); *n its length. */
const struct sysent *syscalls_table(enum sc_abi abi, size_t *n);

/*
 * Watch only the choosable calls in `set` (-e trace; chdir, fchdir, setns,
 * pivot_root, chroot, unshare, ptrace, prctl and the SC_CREDS calls stay
 * watched, as fork, clone and exec events do). Call before the seccomp
 * filter is built and the trace starts; by default all are watched.
 */
void syscalls_choose(trace_set set);

/*
 * Whether sched_getaffinity and sched_setaffinity are watched (the tracer
 * co-locates the command: tracer_affinity_entry); by default not. Call before
 * the seccomp filter is built.
 */
void syscalls_watch_affinity(bool on);

/* Whether `nr` of `abi` is watched: in the table and chosen (O(1)). */
bool syscalls_watched(enum sc_abi abi, size_t nr);

/* The watched entry for `nr` of the ABI with AUDIT_ARCH value `arch`, or NULL (unwatched or not chosen). */
const struct sysent *syscalls_lookup(uint32_t arch, uint64_t nr);

/*
 * Set the manifest handlers record into (owned by the caller). `attach`:
 * processes were attached to while running, so one that shares its cwd
 * (CLONE_FS) with a process not traced may see it change unseen.
 * `seccomp`: the command runs under the filter (not --no-seccomp), where an
 * open whose outcome the tracer can tell at its entry skips its exit stop.
 */
void syscalls_init(struct manifest *m, bool attach, bool seccomp);

/* Run the entry handler of a watched syscall; returns whether the exit is wanted. */
bool syscalls_entry(struct proc *p, const struct sysent *se, const uint64_t *args);

/* Record the result of the pending syscall of `p` (rval < 0 with is_error: -errno). */
void syscalls_exit(struct proc *p, int64_t rval, bool is_error);

/* Where a new image starts, from PTRACE_GET_SYSCALL_INFO at its exec stop; zeros when unknown (attach). */
struct exec_start {
	uint64_t entry; /* its first instruction (the interpreter's entry point); 0 with callers off */
	uint64_t sp;    /* its stack: argc, argv[], envp[], auxv */
	uint32_t arch;  /* AUDIT_ARCH_* */
};

/*
 * A successful exec replaced the image of `p` (PTRACE_EVENT_EXEC, already
 * moved to its new tid): record the binary, argv, environment and the
 * objects mapped at start.
 */
void syscalls_exec_done(struct proc *p, const struct exec_start *at);

/*
 * `p` was resumed: do what needs no stopped tracee while it runs (the
 * tracer would only wait otherwise). After an exec (`execd`), open the
 * pidfd its first descriptor naming will use; close one no longer needed.
 */
void syscalls_resumed(struct proc *p, bool execd);

/* Opens of a missing path whose exit stop was skipped so far (for -v). */
unsigned long syscalls_known_missing(void);
/* First reads of a file present whose exit stop was skipped so far (for -v). */
unsigned long syscalls_known_present(void);

#endif
