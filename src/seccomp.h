/* seccomp.c: the BPF filter built from the watched-syscall tables. */
#ifndef FP_SECCOMP_H
#define FP_SECCOMP_H

/*
 * Install, in the calling process, a filter that returns SECCOMP_RET_TRACE
 * (with SECCOMP_FP_DATA) for the watched syscalls (those syscalls_choose()
 * kept; mmap only with PROT_EXEC) and ALLOW otherwise.
 * Sets no_new_privs first. Returns 0 or -errno. It neither allocates nor
 * takes a lock: the launch calls it in a child that shares the tracer's
 * memory (tracer.c).
 */
int seccomp_install(void);

struct sock_fprog;

/*
 * Build that filter into *out, whose instructions are static storage (the
 * next call rebuilds them). Returns 0, or -E2BIG when it does not fit.
 */
int seccomp_build(struct sock_fprog *out);

/*
 * The data of the filter's SECCOMP_RET_TRACE (PTRACE_EVENT_SECCOMP's
 * ret_data). A stop with other data comes from a filter the command
 * installed itself, which asked a tracer it does not have: see tracer.c.
 */
#define SECCOMP_FP_DATA 0x4650u /* "FP" */

#endif
