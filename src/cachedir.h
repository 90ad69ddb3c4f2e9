/*
 * cachedir.c: fingerprint's directory of persistent caches,
 * $XDG_CACHE_HOME/fingerprint, else ~/.cache/fingerprint (mode 0700), and
 * its files: read only when they are the user's own and nobody else can
 * write them, replaced whole (a temporary file renamed over the old one).
 * Best effort: every failure only means nothing is cached.
 */
#ifndef FP_CACHEDIR_H
#define FP_CACHEDIR_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

/*
 * Open (creating it) the cache directory; `what` names the cache in the -v
 * message saying why there is none. Returns a descriptor or -1.
 */
int cachedir_open(const char *what);

/*
 * Read the file `name` of the cache directory into `b` (at most `max`
 * bytes). Returns 0, -ENOENT when there is none, or another -errno when it
 * is unusable (a symlink, not a regular file, not the user's own, writable
 * by others, too large): the next save replaces it.
 */
int cachedir_read(int dirfd, const char *name, struct buf *b, size_t max);

/*
 * Replace the file `name` with `len` bytes of `data`: written to a new
 * NAME.tmp.* file (mode 0600, O_EXCL|O_NOFOLLOW) and renamed over it, so
 * readers see the old or the new one; NAME.tmp.* files older than an hour,
 * left by killed runs, are removed first.
 */
void cachedir_replace(int dirfd, const char *name, const char *data, size_t len);

#endif
