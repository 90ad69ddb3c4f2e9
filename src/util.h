/* util.c: error helpers, checked allocation, growable arrays, string hash map. */
#ifndef FP_UTIL_H
#define FP_UTIL_H

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exit codes of fingerprint itself (the traced command's own status passes through). */
enum {
	EXIT_USAGE = 2,        /* bad command line */
	EXIT_INTERNAL = 125,   /* fingerprint failed (cannot write the manifest, ptrace refused) */
	EXIT_CANNOT_EXEC = 126,
	EXIT_NOT_FOUND = 127,
};

extern const char *program_name;
extern int verbosity; /* 0 quiet, 1 normal, 2 verbose */

#define FP_PRINTF(a, b) __attribute__((format(printf, a, b)))

_Noreturn void die(int status, const char *fmt, ...) FP_PRINTF(2, 3);
_Noreturn void die_errno(int status, const char *fmt, ...) FP_PRINTF(2, 3);
void warn(const char *fmt, ...) FP_PRINTF(1, 2);
void info(const char *fmt, ...) FP_PRINTF(1, 2); /* only with -v */

/* Checked allocation: these never return NULL (they die with EXIT_INTERNAL). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grow *p (an array of *cap elements of `size` bytes) to hold at least `need`. */
void xgrow(void *p, size_t *cap, size_t need, size_t size);

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
#define autofree __attribute__((cleanup(freep)))
#define autoclose __attribute__((cleanup(closep)))
/* Whether [off, off + len) lies inside [0, total), with no wrap-around for crafted offsets. */
static inline bool span_within(uint64_t total, uint64_t off, uint64_t len) { return off <= total && len <= total - off; }

static inline void *steal_pointer(void *pp)
{
	void **p = pp, *v = *p;
	*p = NULL;
	return v;
}

/* A growable byte buffer; `data` is always NUL-terminated. */
struct buf {
	char *data;
	size_t len, cap;
};
void buf_append(struct buf *b, const void *data, size_t n);
void buf_free(struct buf *b);
/*
 * Read the whole file at `path` into `b` (replacing its contents).
 * Returns the length, or -errno.
 */
ssize_t buf_read_file(struct buf *b, const char *path);
/* The same from an open descriptor, read to its end (not closed). */
ssize_t buf_read_fd(struct buf *b, int fd);

/*
 * A byte-string -> pointer hash map (open addressing, linear probing).
 * Keys are not copied: a key inserted must stay valid as long as the map.
 */
struct map {
	const char **keys;
	size_t *lens;
	void **vals;
	uint32_t *hashes;
	size_t size, cap;
};
uint32_t mem_hash(const void *p, size_t n);
/* Returns the value stored for the key, or NULL. */
void *map_get(const struct map *m, const void *key, size_t len);
/*
 * Returns the address of the key's value slot. When the key is absent it is
 * inserted with a NULL value and *key_out (if not NULL) points to the stored
 * key; the caller must then store a stable key there if `key` is temporary.
 */
void **map_slot(struct map *m, const void *key, size_t len, const char ***key_out);
/* The address of the key's value slot, or NULL when the key is absent (nothing inserted). */
void **map_slot_if(struct map *m, const void *key, size_t len);
void map_free(struct map *m);
static inline void *strmap_get(const struct map *m, const char *s) { return map_get(m, s, strlen(s)); }
/* Write the `n` bytes at `in` as 2n lowercase hex digits and a NUL to `out`. */
void hex_encode(const unsigned char *in, size_t n, char *out);

/*
 * A file's identity and version: equal values (memcmp, padding zeroed) mean
 * the same file, unchanged as far as its inode tells.
 */
struct file_version {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};
void file_version_of(const struct stat *st, struct file_version *v);
/* Whether `st` is the version `v`. */
bool file_version_is(const struct file_version *v, const struct stat *st);

#define MAP_FOREACH(m, i) for (size_t i = 0; i < (m)->cap; i++) if ((m)->keys[i])

/* Sort an array of C strings in place, strcmp order. */
void str_sort(const char **v, size_t n);

/* Length of the valid UTF-8 sequence at `s` (1..4) within `avail` bytes, or 0 when invalid. */
size_t utf8_seq(const unsigned char *s, size_t avail);
/*
 * Write `s` on `f` for a person to read, as one line: control characters
 * and bytes that are not part of valid UTF-8 as \xHH, the rest as it is.
 */
void fput_text(FILE *f, const char *s);

/* The base64 (RFC 4648, padded) of `n` bytes at `p`: NUL-terminated, malloc'd, owned by the caller. */
char *b64_encode(const void *p, size_t n);
/*
 * The bytes `s` encodes (NUL-terminated after *n bytes, malloc'd, owned by
 * the caller), or NULL when `s` is not base64 as b64_encode writes it
 * (alphabet, padding, length, unused bits zero).
 */
char *b64_decode(const char *s, size_t *n);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t monotonic_us(void);

/*
 * pthread_create with every signal blocked in the new thread (they stay the
 * main thread's: SIGINT, SIGCHLD and the tracer's own). Returns its result.
 */
int thread_start(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

/*
 * The CPUs thread_start gives a new thread, or NULL (the default): those of
 * the thread starting it. The tracer sets it while it runs on one CPU.
 */
void thread_start_affinity(const cpu_set_t *mask);

/* One function or variable that dl_load looks up, and where it puts its address. */
struct dl_want {
	void **slot;
	const char *name;
};

/*
 * dlopen `soname` (RTLD_NOW | mode) and fill each slot with dlsym. False
 * when the library or a name is missing, with why in err ("cannot load
 * S: ...", "S has no N"); the handle stays open (nothing else uses it).
 */
bool dl_load(const char *soname, int mode, const struct dl_want *w, size_t n, char *err, size_t errsz);

/*
 * CPUs this process may use: its affinity (at least 1), bounded by the
 * smallest CPU quota of its cgroup and their parents (v1 cpu.cfs_quota_us
 * over cpu.cfs_period_us, or v2 cpu.max), rounded up. `root` prefixes every
 * file read ("" for this machine; a test tree in the unit tests).
 */
int cpus_usable(const char *root);
/* The quota alone, in CPUs rounded up, or 0 when no cgroup limits it. */
int cpus_quota(const char *root);
/*
 * The tasks running now by /proc/loadavg's text ("0.75 0.77 0.69 3/82
 * 1848": 3, the reader included), or -1 when `text` is not that.
 */
int loadavg_running(const char *text);

#endif
