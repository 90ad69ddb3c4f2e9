#include "config.h"
#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "syscalls.h"

#define MAX_INSNS 256

struct prog {
	struct sock_filter insn[MAX_INSNS];
	unsigned short len;
};

static int emit(struct prog *pr, struct sock_filter f)
{
	if (pr->len >= MAX_INSNS)
		return -E2BIG;
	pr->insn[pr->len++] = f;
	return 0;
}

#define LOAD(off) ((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off)))
#define RET(v) ((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (v)))
#define NR_OFF offsetof(struct seccomp_data, nr)
/* The low 32 bits of an argument (x86 is little-endian). */
#define ARG_LO_OFF(i) (offsetof(struct seccomp_data, args) + 8 * (i))

/*
 * The checks of one ABI: every watched number (as -e trace chose) traps; mmap-like calls trap
 * only when PROT_EXEC is set in their third argument, prctl only with one of
 * PRCTL_CAPS_OPTIONS in its first. Ends with ALLOW.
 */
static int emit_abi(struct prog *pr, enum sc_abi abi)
{
	size_t n;
	const struct sysent *t = syscalls_table(abi, &n);
	int r = 0;

	r |= emit(pr, LOAD(NR_OFF));
	for (size_t nr = 0; nr < n; nr++) {
		if (!syscalls_watched(abi, nr) || t[nr].family == SC_MMAP || t[nr].family == SC_PRCTL)
			continue;
		r |= emit(pr, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1));
		r |= emit(pr, RET(SECCOMP_RET_TRACE | SECCOMP_FP_DATA));
	}
	for (size_t nr = 0; nr < n; nr++) {
		if (!syscalls_watched(abi, nr) || t[nr].family != SC_MMAP)
			continue;
		r |= emit(pr, LOAD(NR_OFF));
		r |= emit(pr, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 3));
		r |= emit(pr, LOAD(ARG_LO_OFF(2)));
		r |= emit(pr, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1));
		r |= emit(pr, RET(SECCOMP_RET_TRACE | SECCOMP_FP_DATA));
	}
	static const int opts[] = PRCTL_CAPS_OPTIONS;
	const unsigned n_opts = sizeof(opts) / sizeof(opts[0]);
	for (size_t nr = 0; nr < n; nr++) {
		if (!syscalls_watched(abi, nr) || t[nr].family != SC_PRCTL)
			continue;
		r |= emit(pr, LOAD(NR_OFF));
		r |= emit(pr, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, n_opts + 2));
		r |= emit(pr, LOAD(ARG_LO_OFF(0)));
		/* Option i matches: on to the RET TRACE after the last; the last failing: past it. */
		for (unsigned i = 0; i < n_opts; i++)
			r |= emit(pr, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)opts[i],
								   n_opts - 1 - i, i + 1 == n_opts ? 1 : 0));
		r |= emit(pr, RET(SECCOMP_RET_TRACE | SECCOMP_FP_DATA));
	}
	r |= emit(pr, RET(SECCOMP_RET_ALLOW));
	return r || pr->len > 255 ? -E2BIG : 0; /* seccomp_install jumps over a whole part: 8 bits */
}

int seccomp_build(struct sock_fprog *out)
{
	static struct prog pr, x64_part, i386_part;

	pr.len = x64_part.len = i386_part.len = 0;
	if (emit_abi(&i386_part, ABI_I386) < 0 || emit_abi(&x64_part, ABI_X86_64) < 0)
		return -E2BIG;
	/* arch == x86_64 ? (fall through to its checks) : (skip them) */
	emit(&pr, LOAD(offsetof(struct seccomp_data, arch)));
	emit(&pr, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, x64_part.len));
	for (unsigned i = 0; i < x64_part.len; i++)
		emit(&pr, x64_part.insn[i]);
	/* Here the arch is not x86_64 (the accumulator still holds it). */
	emit(&pr, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, i386_part.len));
	for (unsigned i = 0; i < i386_part.len; i++)
		emit(&pr, i386_part.insn[i]);
	if (emit(&pr, RET(SECCOMP_RET_ALLOW)) < 0)
		return -E2BIG;
	*out = (struct sock_fprog){ .len = pr.len, .filter = pr.insn };
	return 0;
}

int seccomp_install(void)
{
	struct sock_fprog fprog;
	if (seccomp_build(&fprog) < 0)
		return -E2BIG;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) == 0)
		return 0;
	/* Without seccomp(2) (Linux < 3.17, valgrind): the older prctl, same filter and mode. */
	if (errno != ENOSYS || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) < 0)
		return -errno;
	return 0;
}
