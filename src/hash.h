/*
 * hash.c: SHA-256 of files (OpenSSL libcrypto), each distinct file hashed
 * once, on several threads, with the persistent cache of hashcache.c.
 */
#ifndef FP_HASH_H
#define FP_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define HASH_HEX_LEN 64
#define HASH_AUTO_MAX_JOBS 8  /* threads when not told: one per usable CPU, at most this */
#define HASH_MAX_JOBS 64      /* --hash-jobs at most */

/* One file to hash, and what came of it. */
struct hash_req {
	const char *path;            /* in: the file (borrowed) */
	int result;                  /* out: 0, or -errno as for hash_file */
	char hex[HASH_HEX_LEN + 1];  /* out, when result is 0: the lowercase hex digest */
	struct stat st;              /* out, when result is 0 or stat_ok: the file's stat */
	bool stat_ok;                /* out: st was taken (a regular file or not), whatever the result */
};

struct hash_opts {
	unsigned jobs; /* threads; 0: one per CPU this process may run on, at most HASH_AUTO_MAX_JOBS */
	bool cache;    /* look digests up in, and add them to, the persistent cache */
	/*
	 * NULL, or called on the calling thread (never on another) with how
	 * many of the `total` files are done: as it reads files, and once at
	 * the end.
	 */
	void (*progress)(size_t done, size_t total);
};

struct hash_stats {
	size_t computed;    /* files read and digested */
	size_t cached;      /* digests taken from the persistent cache */
	size_t bad_records; /* records of the cache file ignored as corrupt */
	unsigned jobs;      /* threads that hashed */
	bool cache;         /* a persistent cache was used */
};

/*
 * Hash the `n` files of `reqs` (see hash_file for each result). A file
 * reached by several paths (same device, inode, size, mtime and ctime) is
 * read once; the files not found in the caches are read by `o->jobs`
 * threads. The results do not depend on the number of threads. `o` NULL
 * means one thread and no persistent cache. `stats` may be NULL.
 */
void hash_files(struct hash_req *reqs, size_t n, const struct hash_opts *o, struct hash_stats *stats);

/*
 * Hash the regular file at `path` with SHA-256, streaming it in blocks.
 * On success writes the lowercase hex digest (HASH_HEX_LEN chars + NUL) to
 * `hex`, the file's stat to `*st` (when not NULL) and returns 0. Results
 * are cached in the process by device, inode, size, mtime and ctime, so a
 * file reached by two paths is read once. Returns -ENOENT when it is gone,
 * -EINVAL when it is not a regular file (never opened), -EAGAIN when it
 * changed while being hashed, or another -errno.
 */
int hash_file(const char *path, char hex[HASH_HEX_LEN + 1], struct stat *st);

/* Drop the in-process cache. */
void hash_cache_clear(void);

#endif
