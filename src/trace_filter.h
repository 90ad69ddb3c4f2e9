/*
 * trace_filter.c: the -e trace=SPEC choice of which watched syscalls stop
 * and are recorded, as a small bit set. Pure: no ptrace, no manifest.
 */
#ifndef FP_TRACE_FILTER_H
#define FP_TRACE_FILTER_H

#include <stdbool.h>
#include <stddef.h>

/* The calls a user can choose, in the sorted order of their names. */
enum trace_call {
	TRACE_CREAT,
	TRACE_EXECVE,
	TRACE_EXECVEAT,
	TRACE_MMAP,
	TRACE_OPEN,
	TRACE_OPENAT,
	TRACE_OPENAT2,
	TRACE_NCALLS,
};

/* A set of enum trace_call values: bit 1 << call. */
typedef unsigned trace_set;

#define TRACE_BIT(call) (1u << (call))
#define TRACE_ALL ((trace_set)(TRACE_BIT(TRACE_NCALLS) - 1))

/*
 * Parse SPEC, a comma list of syscall names (open openat openat2 creat
 * execve execveat mmap), classes (%file %exec %mmap), `all` and `none`; a
 * leading `!` negates the whole list. Returns 0 with the set in *out, or
 * -EINVAL with one line in `err` naming the bad word ("unknown syscall
 * 'opn' (...)"; the caller names the option); *out is then untouched.
 */
int trace_filter_parse(const char *spec, trace_set *out, char *err, size_t errsz);

/*
 * The choosable call named `name` (a SPEC name; `mmap2`, the 32-bit ABI's
 * mmap, is mmap), or -1 when the name is not one.
 */
int trace_filter_lookup(const char *name);

/* The name of `call` (a static string). */
const char *trace_filter_name(enum trace_call call);

/*
 * The names of the calls in `set`, sorted, joined by `sep` into `out`
 * (truncated to `outsz`; "" for the empty set). Returns `out`.
 */
char *trace_filter_format(trace_set set, const char *sep, char *out, size_t outsz);

#endif
