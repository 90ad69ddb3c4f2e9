/*
 * hashcache.c: the persistent cache of SHA-256 digests, shared by every
 * fingerprint run of the user: $XDG_CACHE_HOME/fingerprint/sha256-v1, else
 * ~/.cache/fingerprint/sha256-v1. A digest is found by the file's device
 * and inode and used only when its size, mtime and ctime (both to the
 * nanosecond) are exactly those recorded. Best effort: whatever goes wrong
 * (no HOME, a directory that cannot be made, a corrupt file, a full disk)
 * only means nothing is cached; nothing here is ever fatal.
 */
#ifndef FP_HASHCACHE_H
#define FP_HASHCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

struct hashcache;

/*
 * Open the cache and read its file; its records are parsed at the first
 * hashcache_get, only those of the files named by hashcache_want before it.
 * Returns NULL when there is none to
 * use: HOME unset and no absolute XDG_CACHE_HOME, the directory cannot be
 * made, or it (or the file) is not the user's own or is writable by others.
 * Free with hashcache_close.
 */
struct hashcache *hashcache_open(void);

/* Ask for the record of the file of stat `st` (before the first hashcache_get; ignored after). */
void hashcache_want(struct hashcache *c, const struct stat *st);

/*
 * The digest recorded for the file of stat `st`, wanted before (64 hex
 * digits, owned by the cache), or NULL when there is none or its key
 * differs in anything.
 */
const char *hashcache_get(struct hashcache *c, const struct stat *st);

/* Record `hex` as the digest of the file of stat `st`, saved at close. */
void hashcache_put(struct hashcache *c, const struct stat *st, const char *hex);

/*
 * How many records of the file were found corrupt (a bad header counts as
 * one): of the wanted files, or a truncated or unreadable line.
 */
size_t hashcache_bad_records(const struct hashcache *c);

/*
 * Save the cache when this run added to it or found it corrupt (merged with
 * what other runs saved meanwhile, written to a temporary file and renamed
 * over it), and free it. NULL is accepted.
 */
void hashcache_close(struct hashcache *c);

#endif
