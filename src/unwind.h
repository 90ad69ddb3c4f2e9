/*
 * unwind.c: caller attribution. Walks a stopped tracee thread's stack with
 * libunwind-ptrace (through our own accessors: instruction and stack pointer
 * from the syscall stop, the other registers only when a walk needs them,
 * memory through process_vm_readv, read-only segments of mapped files
 * served from a per-object cache shared by all processes, each file read
 * only once a walk goes through it) and names the
 * first frame's object that is not in the skip set (the C library and the
 * language runtimes' I/O layers), with its function from .symtab/.dynsym.
 */
#ifndef FP_UNWIND_H
#define FP_UNWIND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct tgroup;
struct unwind_map;

struct caller {
	const char *module;    /* path of the calling object (as maps names it), or NULL: not walkable */
	const char *function;  /* its function, or NULL when no symbol names it */
	bool loader;           /* the calling object is the dynamic loader */
	bool replaced;         /* its file was replaced after it was mapped, so no function is named in it;
	                        * set for the first caller named in each such file */
};

/*
 * Load what frame rules need (libdw) now, from any thread, so that the
 * first caller named through the C library waits less for it (the load
 * takes about 1 ms), or not at all; the unwinder's first use tells a
 * failure, as without.
 */
void unwind_preload(void);

/* Add SONAME prefixes ("libfoo.so", or "libfoo") to the skip set. Call before tracing. */
void unwind_skip_add(const char *soname);

/*
 * Name the caller of the syscall `tid` (of thread group `g`) is stopped in,
 * with user instruction pointer `ip` and stack pointer `sp` (from the stop's
 * syscall info; the other registers are read only when the walk needs them).
 * Strings in `out` are owned by the unwinder and live until unwind_cleanup().
 * Returns 0, or -errno / -EINVAL when the stack cannot be walked (out->module NULL).
 */
int unwind_caller(pid_t tid, struct tgroup *g, uint64_t ip, uint64_t sp, struct caller *out);

/*
 * g's process has just exec'd, its first instruction at `entry` (where the
 * kernel started it: the interpreter's entry point). When `path`, an object
 * the exec mapped, is the dynamic loader and g has no snapshot, place the
 * loader's segments from its ELF headers (base = entry - e_entry): the
 * loader's own opens are then named without reading /proc/PID/maps. A call
 * from anywhere else still takes a snapshot.
 */
void unwind_place_loader(struct tgroup *g, const char *path, uint64_t entry);
/*
 * g's process maps `path` executable at `addr` from file offset `offset`
 * (an mmap, at its entry with MAP_FIXED or at its exit): update g's snapshot,
 * if it has one, to the object's whole span as the loader maps it, instead
 * of reading /proc/PID/maps again; when that cannot be done, forget it.
 */
void unwind_mapped(struct tgroup *g, const char *path, uint64_t addr, uint64_t offset);
/*
 * The same at the entry of a MAP_FIXED mmap while other threads of g run:
 * done (true) only when g has a snapshot whose mappings in the span are all
 * of `path` (the loader's reservation) or none, so no thread can return
 * into it before the mapping exists; false changes nothing.
 */
bool unwind_mapped_early(struct tgroup *g, const char *path, uint64_t addr, uint64_t offset);
/*
 * The stack pages read with a syscall's arguments: unwind_seed_buffer() is
 * where to read them (UNWIND_SEED_MAX bytes; whatever was seeded before is
 * forgotten), unwind_seed_page() says it holds the `len` bytes (whole
 * pages) at `page` of thread `tid`, so that the next walk of `tid` from
 * `sp` starts with them instead of reading them. unwind_seed_len() is how
 * much to read from sp's page: the next page too when sp is near its end,
 * where the first frames' return addresses lie beyond it.
 */
#define UNWIND_SEED_MAX 8192
void *unwind_seed_buffer(void);
size_t unwind_seed_len(uint64_t sp);
void unwind_seed_page(pid_t tid, uint64_t sp, uint64_t page, size_t len);
/* The mappings of `g` changed (exec, mmap): forget its snapshot. */
void unwind_invalidate(struct tgroup *g);

/* Free a thread group's snapshot (when the group goes away). */
void unwind_map_free(struct unwind_map *m);
/*
 * The file that snapshot `m` has mapped at `addr`, and in *offset its file
 * offset there; NULL when nothing is (the path is the snapshot's own).
 */
const char *unwind_map_file_at(const struct unwind_map *m, uint64_t addr, uint64_t *offset);

/* Release every cache; with -v, say how many of the objects mapped were read for stack walks. */
void unwind_cleanup(void);

#endif
