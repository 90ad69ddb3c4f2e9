/*
 * Unit tests of seccomp.c: the filter, run in a small classic-BPF
 * interpreter, traps exactly the watched calls of each ABI (mmap only with
 * PROT_EXEC, prctl only with a capability option), for several -e trace
 * choices, and allows every call of another architecture and the x32
 * numbers. Every jump of the program stays inside it, and it always returns.
 */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "seccomp.h"
#include "syscalls.h"
#include "trace_filter.h"

#include "check.h"

/* Run `prog` on `d`: its return value, or 0xdead when the program is malformed. */
static unsigned run(const struct sock_fprog *prog, const struct seccomp_data *d)
{
	unsigned a = 0, pc = 0;
	while (pc < prog->len) {
		const struct sock_filter *f = &prog->filter[pc];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k + 4 > sizeof(*d))
				return 0xdead;
			memcpy(&a, (const char *)d + f->k, 4);
			pc++;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += 1 + (a == f->k ? f->jt : f->jf);
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += 1 + (a >= f->k ? f->jt : f->jf);
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += 1 + ((a & f->k) ? f->jt : f->jf);
			break;
		case BPF_RET | BPF_K:
			return f->k;
		default:
			return 0xdead;
		}
	}
	return 0xdead; /* ran off the end */
}

static const int caps_opts[] = PRCTL_CAPS_OPTIONS;

/* What the filter must return for call `nr` of `abi` with these arguments. */
static unsigned expected(enum sc_abi abi, unsigned nr, unsigned arg0, unsigned arg2)
{
	size_t n;
	const struct sysent *t = syscalls_table(abi, &n);
	if (!syscalls_watched(abi, nr))
		return SECCOMP_RET_ALLOW;
	if (t[nr].family == SC_MMAP && !(arg2 & PROT_EXEC))
		return SECCOMP_RET_ALLOW;
	if (t[nr].family == SC_PRCTL) {
		bool caps = false;
		for (size_t i = 0; i < sizeof(caps_opts) / sizeof(caps_opts[0]); i++)
			caps = caps || arg0 == (unsigned)caps_opts[i];
		if (!caps)
			return SECCOMP_RET_ALLOW;
	}
	return SECCOMP_RET_TRACE | SECCOMP_FP_DATA;
}

static void check_all(const char *what)
{
	struct sock_fprog prog;
	CHECK(seccomp_build(&prog) == 0, "%s: the filter does not fit", what);
	const unsigned arg0s[] = { PR_SET_NAME, PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_CAP_AMBIENT };
	const unsigned arg2s[] = { PROT_READ, PROT_READ | PROT_EXEC };
	const struct { enum sc_abi abi; unsigned arch; } abis[] = {
		{ ABI_X86_64, AUDIT_ARCH_X86_64 }, { ABI_I386, AUDIT_ARCH_I386 } };
	unsigned trapped = 0;
	for (size_t a = 0; a < 2; a++) {
		size_t n;
		syscalls_table(abis[a].abi, &n);
		for (unsigned nr = 0; nr < n + 16; nr++) {
			for (size_t i = 0; i < 4; i++) {
				for (size_t j = 0; j < 2; j++) {
					struct seccomp_data d = { .nr = (int)nr, .arch = abis[a].arch };
					d.args[0] = arg0s[i];
					d.args[2] = arg2s[j];
					unsigned got = run(&prog, &d), want = expected(abis[a].abi, nr, arg0s[i], arg2s[j]);
					CHECK(got == want, "%s: arch %#x nr %u arg0 %u arg2 %u: %#x, want %#x", what, abis[a].arch, nr,
					      arg0s[i], arg2s[j], got, want);
					trapped += got != SECCOMP_RET_ALLOW;
				}
			}
			/* x32 numbers and another architecture: never trapped. */
			struct seccomp_data x32 = { .nr = (int)(nr | 0x40000000u), .arch = AUDIT_ARCH_X86_64 };
			struct seccomp_data arm = { .nr = (int)nr, .arch = AUDIT_ARCH_AARCH64 };
			CHECK(run(&prog, &x32) == SECCOMP_RET_ALLOW, "%s: x32 nr %u trapped", what, nr);
			CHECK(run(&prog, &arm) == SECCOMP_RET_ALLOW, "%s: aarch64 nr %u trapped", what, nr);
		}
	}
	CHECK(trapped > 0, "%s: nothing trapped", what);
	printf("%s: %u instructions, %u trapped cases\n", what, prog.len, trapped);
}

int main(void)
{
	check_all("all calls");
	syscalls_choose(TRACE_BIT(TRACE_EXECVE));
	check_all("-e trace=execve");
	syscalls_choose(TRACE_ALL & ~TRACE_BIT(TRACE_MMAP));
	check_all("-e trace=!mmap");
	syscalls_choose(0);
	check_all("-e trace=none");
	syscalls_watch_affinity(true);
	syscalls_choose(TRACE_ALL);
	check_all("all calls, affinity watched");
	if (failures)
		fprintf(stderr, "test_seccomp: %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
