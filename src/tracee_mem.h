/* tracee_mem.c: bounded reads of strings and arrays from a tracee's memory. */
#ifndef FP_TRACEE_MEM_H
#define FP_TRACEE_MEM_H

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

/* Read exactly `len` bytes at `addr`. Returns 0 or -errno. */
int tracee_read(pid_t pid, uint64_t addr, void *out, size_t len);

#endif
