/* tracee_mem.c: bounded reads of strings and arrays from a tracee's memory. */
#ifndef FP_TRACEE_MEM_H
#define FP_TRACEE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Read a NUL-terminated string at `addr` in process `pid` into `out` (of
 * `outsz` bytes). Uses process_vm_readv page by page (so a string ending just
 * before an unmapped page is read), falling back to /proc/PID/mem.
 * Returns the string length, -ENAMETOOLONG when no NUL was found within
 * outsz - 1 bytes, or -errno (-EFAULT, -ESRCH, ...).
 */
int tracee_read_string(pid_t pid, uint64_t addr, char *out, size_t outsz);

/*
 * The same, reading in its first process_vm_readv also the `len` bytes
 * (whole pages) at `page` (page-aligned) into `data`: the stack pages a
 * caller lookup will want, for one system call less. *got: how many of
 * them came, in whole pages (a page past the top of the stack does not).
 */
int tracee_read_string_and_page(pid_t pid, uint64_t addr, char *out, size_t outsz, uint64_t page, size_t len,
				void *data, size_t *got);

/* Read exactly `len` bytes at `addr`. Returns 0 or -errno. */
int tracee_read(pid_t pid, uint64_t addr, void *out, size_t len);

struct buf;

/*
 * The argument and environment strings of a process stopped at its
 * PTRACE_EVENT_EXEC, read from the new stack at `sp` (argc, argv[], envp[],
 * auxv, as the kernel laid them out; `word` is 8, or 4 for i386) instead of
 * /proc/PID/cmdline and environ: one or two reads in place of eight calls.
 * On success `b` holds the argv strings then the env strings, each
 * NUL-terminated as in those files, and *argv_len is the length of the first
 * part. Returns 0, or -errno (-EINVAL: not the layout expected, read /proc).
 */
int tracee_exec_strings(pid_t pid, uint64_t sp, unsigned word, struct buf *b, size_t *argv_len);

#endif
