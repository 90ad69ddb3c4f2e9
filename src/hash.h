/* hash.c: SHA-256 of files (OpenSSL libcrypto), each file hashed once. */
#ifndef FP_HASH_H
#define FP_HASH_H

#include <sys/stat.h>

#define HASH_HEX_LEN 64

/*
 * Hash the regular file at `path` with SHA-256, streaming it in blocks.
 * On success writes the lowercase hex digest (HASH_HEX_LEN chars + NUL) to
 * `hex`, the file's stat to `*st` (when not NULL) and returns 0. Results
 * are cached by device, inode, size and mtime, so a file reached by two
 * paths is read once. Returns -ENOENT when it is gone, -EINVAL when it is
 * not a regular file (never opened), -EAGAIN when it changed while being
 * hashed, or another -errno.
 */
int hash_file(const char *path, char hex[HASH_HEX_LEN + 1], struct stat *st);

/* Drop the cache. */
void hash_cache_clear(void);

#endif
