/*
 * enrich.c: what is learnt about the recorded objects after the run, off
 * the hot path: ELF facts (elfinfo), #! lines, how each library was loaded,
 * content hashes (hash) and the packages that own them (pkgdb).
 */
#ifndef FP_ENRICH_H
#define FP_ENRICH_H

#include <time.h>

#include "hash.h"
#include "manifest.h"

enum hash_mode {
	HASH_ALL,   /* binaries, libraries and every regular file that was read */
	HASH_ELF,   /* binaries and libraries only */
	HASH_NONE,
};

/*
 * Fill the facts of every binary and library of the finalised manifest `m`
 * and the hashes `mode` asks for, all hashed at once by hash_files with
 * the options `ho` (NULL: one thread, no persistent cache). Files that
 * changed during the run (an mtime after `run_start`, not written by the
 * run itself) or vanished get no hash and a warning. With `run_start` NULL
 * (a static scan) nothing counts as changed. Never fatal. How many digests
 * were computed and how many came from the cache is printed with -v, or
 * always when the environment variable FINGERPRINT_HASH_STATS is set (not
 * to "0").
 */
void enrich_manifest(struct manifest *m, enum hash_mode mode, const struct timespec *run_start,
		     const struct hash_opts *ho);

/*
 * Have the ELF facts of the binary or library `path` (interned, kept until
 * enrich_manifest) read now, on a thread of their own, while the command
 * runs: the manifest's new_object hook of a traced run. enrich_manifest
 * takes them when the file has not changed since, and stops the thread.
 */
void enrich_ahead(const char *path);
/*
 * Wake the thread for what enrich_ahead queued since the last call, and
 * start it the first time: called once the traced threads run again (the
 * wake costs a system call, the start more, and a stopped tracee would wait
 * for them). enrich_manifest wakes it too.
 */
void enrich_ahead_wake(void);
/*
 * Have `fn` run on that thread when it starts, before any file: at the
 * tracer's first wait after the first object is recorded (the command's
 * first exec, or the first process attached), so never while the launched
 * child still shares fingerprint's memory. Call before tracing.
 */
void enrich_ahead_first(void (*fn)(void));

/* Read the ELF facts or the #! line of `path` into `f`; counts a warning when unreadable. */
void enrich_facts(struct manifest *m, const char *path, struct mf_facts *f);

/*
 * Look up the installed package owning every binary, library and file of
 * the finalised manifest `m` (a path's own owner, else its target's), read
 * from the package database under m->root once, and fill the manifest's
 * packages, unpackaged and packages_lookup. With `lookup` false (for
 * --no-packages) only packages_lookup is set. Never fatal: an unreadable
 * database is said so in packages_lookup, an unreadable file list is a
 * warning. `cache`: answer from the persistent owners cache when it can.
 */
void enrich_packages(struct manifest *m, bool lookup, bool cache);

/*
 * Start enrich_packages' lookup now, on a thread of its own, so that it
 * runs alongside enrich_manifest: call it after manifest_finalize, with
 * the same arguments as the enrich_packages that follows, which then waits
 * for it. Between the two, only the facts, hashes and warnings of `m` may
 * change, not its paths. Without a thread, enrich_packages does it all.
 */
void enrich_packages_start(struct manifest *m, bool lookup, bool cache);

#endif
