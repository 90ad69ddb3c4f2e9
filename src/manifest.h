/*
 * manifest.c: the in-memory model of one run: binaries, libraries, files,
 * missing probes, environments, command lines, processes and warnings.
 * Sets are deduplicated by path; manifest_finalize() gives the deterministic
 * sorted order the writer uses. Knows nothing of ptrace or JSON.
 */
#ifndef FP_MANIFEST_H
#define FP_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

enum {
	ACCESS_READ = 1,
	ACCESS_WRITE = 2,
	ACCESS_CREATED = 4,
};

/* A small set of interned strings (deduplicated by pointer). */
struct strset {
	const char **v;
	size_t n, cap;
};

struct elfinfo;
struct prov;

/* What enrich learns about a binary or library after the run. */
struct mf_facts {
	struct elfinfo *elf;   /* owned; NULL when not ELF or unreadable */
	char *elf_error;       /* owned; why an ELF file could not be read */
	char *script_interp;   /* owned; the #! interpreter of a script */
	char *script_args;     /* owned; its argument string, or NULL */
	char *sha256;          /* owned hex digest; NULL when not hashed */
	bool hash_failed;      /* hashing was asked for but failed (written as null) */
	bool setuid, setgid;   /* the set-user-ID and set-group-ID mode bits */
};

/* The installed package that owns a path (pkgdb); strings interned. */
struct mf_package {
	const char *name, *version, *arch;
};

struct mf_binary {
	const char *path, *target;
	const struct mf_package *package; /* NULL: no owner (or not looked up) */
	unsigned long exec_count;
	const char *ran_as;  /* interned: the last program an exec of it ran, whose interpreter is recorded */
	struct mf_facts facts;
	struct map env;      /* interned "NAME=value" -> non-NULL */
	struct buf last_env; /* the environment blob merged last: the same again is skipped */
	struct map cmdlines; /* argv blob (NUL-separated, owned) -> non-NULL */
};

struct mf_library {
	const char *path, *target;
	const struct mf_package *package;
	struct strset loaded_by;
	struct mf_facts facts;
	const char *how;        /* "needed", "dlopen" or "interp"; NULL when unknown */
	const char *found_via;  /* scan: the loader rule that found it */
	const char *found_dir;  /* scan: the directory it was found in */
};

/* Who opened a file: the process's binary and, with callers on, the calling object. */
struct mf_opener {
	const char *binary;    /* interned */
	const char *module;    /* interned path of the calling object; NULL when callers are off or unknown */
	const char *function;  /* interned, or NULL */
	const char *for_lib;   /* the dynamic loader's opens: the library it was loading, or NULL */
	bool unknown;          /* callers on, but the stack could not be walked */
	bool loader;           /* module is the dynamic loader */
};

struct mf_file {
	const char *path, *target, *type;
	const struct mf_package *package;
	unsigned access;
	struct mf_opener *opened_by;
	size_t n_opened_by, opened_by_cap;
	char *sha256;       /* owned hex digest; NULL when not hashed */
	bool hash_failed;
};

struct mf_missing {
	const char *path;
	struct strset probed_by;
	struct strset tried;    /* scan: the directories tried for an unresolved soname, in order */
};

/* How a process ended; `exited` false means it was still running when the trace ended. */
struct mf_exit {
	bool exited;
	int status; /* exit status when signal == 0 */
	int signal; /* terminating signal, or 0 */
};

struct mf_process {
	pid_t pid, ppid;
	const char *binary; /* interned, NULL before any exec seen */
	char *argv;         /* NUL-separated blob, owned */
	size_t argv_len;
	char *cwd;          /* owned */
	unsigned threads;
	struct mf_exit exit;
	bool detached;      /* left running when the trace ended (--no-follow-daemons); exit not known */
};

struct mf_warning {
	const char *kind;
	unsigned long count;
	char *message; /* the first occurrence, owned */
};

struct manifest {
	struct map strings; /* intern pool */
	struct map binaries, libraries, files, missing; /* path -> mf_* */
	struct mf_process **procs;
	size_t nprocs, procs_cap;
	struct mf_warning *warnings;
	size_t nwarnings, warnings_cap;
	bool keep_secrets;
	bool traced;        /* a traced run (scan writes no env, cmdlines, processes) */
	bool callers;       /* caller attribution on: openers carry their module */
	const char *root;   /* scan --root: paths are inside this directory; NULL for "/" */
	void (*new_object)(const char *path); /* called with each binary and library path recorded (interned); or NULL */
	struct prov *prov;  /* a merged manifest: where each entry was seen (provenance.h); else NULL */

	/* Package ownership (enrich_packages): run.packages, and whether owners were looked up. */
	const char *packages_lookup; /* "dpkg", or "not looked up: REASON"; interned */
	bool packages_known;
	struct map packages;         /* "NAME:ARCH" -> mf_package (owned) */

	/* Filled by manifest_finalize(): sorted views, owned arrays of borrowed pointers. */
	struct mf_binary **sorted_binaries;
	struct mf_library **sorted_libraries;
	struct mf_file **sorted_files;
	struct mf_missing **sorted_missing;
	size_t n_binaries, n_libraries, n_files, n_missing;
	/* Filled by manifest_finalize_packages(). */
	struct mf_package **sorted_packages;  /* by name, then arch */
	const char **unpackaged;              /* sorted paths no package owns */
	size_t n_packages, n_unpackaged;
};

/* Returns a new, empty manifest, owned by the caller (free with manifest_free). */
struct manifest *manifest_new(void);
void manifest_free(struct manifest *m);

/* Returns the manifest's own copy of `s`; the same string gives the same pointer. */
const char *manifest_intern(struct manifest *m, const char *s);

/* Count one successful exec of `path`; returns its entry (owned by the manifest). */
struct mf_binary *manifest_add_binary(struct manifest *m, const char *path);
/* The entry of `path` in binaries, created with exec_count 0 when absent (scan). */
struct mf_binary *manifest_binary(struct manifest *m, const char *path);
/* Returns the library's entry (owned by the manifest). */
struct mf_library *manifest_add_library(struct manifest *m, const char *path, const char *binary);
/*
 * Record an open of `path`; `by` (strings interned) is added to its openers
 * once. Returns the file's entry (owned by the manifest).
 */
struct mf_file *manifest_add_file(struct manifest *m, const char *path, unsigned access, const struct mf_opener *by);
/* The entry of `path` in files, created empty (no access, no opener) when absent. */
struct mf_file *manifest_file(struct manifest *m, const char *path);
/* The entry of `path` (`len` bytes) in files, or NULL: never creates one. */
const struct mf_file *manifest_find_file(const struct manifest *m, const char *path, size_t len);
/* The same in binaries. */
const struct mf_binary *manifest_find_binary(const struct manifest *m, const char *path, size_t len);
/* Returns the missing entry (owned by the manifest). */
struct mf_missing *manifest_add_missing(struct manifest *m, const char *path, const char *binary);
/* Add an interned string to a set, once (order of first insertion kept). */
void strset_add(struct strset *s, const char *interned);
/* `blob` holds NUL-terminated strings back to back, `len` bytes in all. */
void manifest_add_env(struct manifest *m, struct mf_binary *b, const char *blob, size_t len);
void manifest_add_cmdline(struct manifest *m, struct mf_binary *b, const char *blob, size_t len);

/* Returns a new process record owned by the manifest. */
struct mf_process *manifest_add_process(struct manifest *m, pid_t pid, pid_t ppid);

/* Count a tracee-side failure of kind `kind` (a static string); the first message is kept. */
void manifest_warn(struct manifest *m, const char *kind, const char *fmt, ...) FP_PRINTF(3, 4);

/* True when the NAME of "NAME=value" looks like it holds a secret. */
bool manifest_env_is_secret(const char *name_eq_value);

/*
 * Resolve symlink targets and file types (once per path), drop files that are
 * binaries or libraries, and build the sorted views. Call once, after tracing.
 */
void manifest_finalize(struct manifest *m);

/* "read", "write" or "read-write" for ACCESS_* bits (ACCESS_CREATED is not part of the name). */
const char *manifest_access_name(unsigned access);

/* Build the sorted views only, touching no file (a manifest read back from JSON). */
void manifest_sort(struct manifest *m);

/*
 * The entry of package NAME:ARCH (created when new, strings interned);
 * owned by the manifest.
 */
const struct mf_package *manifest_add_package(struct manifest *m, const char *name, const char *version,
					      const char *arch);

/*
 * After the owners of the finalised entries are set: build the sorted
 * packages and the sorted `unpackaged` paths (entries without an owner,
 * leaving out /proc, /sys and /dev and per-process files).
 */
void manifest_finalize_packages(struct manifest *m);

/*
 * The host path of manifest path `path` (inside m->root when set) in `buf`
 * of PATH_MAX bytes; returns `path` itself when there is no root.
 */
const char *manifest_host_path(const struct manifest *m, const char *path, char *buf);

/* A sorted (strcmp) copy of a set's strings; the caller frees the array only. */
const char **strset_sorted(const struct strset *s);
/*
 * The slot indices of a map's keys (mp->size of them), in byte order of the
 * keys (shorter first on a common prefix); the caller frees the array.
 */
size_t *map_sorted_slots(const struct map *mp);

#endif
