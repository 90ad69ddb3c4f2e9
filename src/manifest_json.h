/*
 * manifest_json.c and manifest_json_read.c: the only files that speak
 * cJSON: writing manifests, and reading them back into the model.
 */
#ifndef FP_MANIFEST_JSON_H
#define FP_MANIFEST_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "manifest.h"
#include "trace_filter.h"

/* What the manifest says about the run itself (its `run` section). */
struct run_info {
	char *const *command;
	const char *cwd;
	struct timespec start;   /* CLOCK_REALTIME */
	double duration_s;
	struct mf_exit exit;
	bool complete;
	bool seccomp;
	bool follow_daemons; /* false: processes still running when the command exited were detached */
	const pid_t *attach; /* attach mode (-p): the processes attached to, written as "attached" */
	size_t n_attach;
	bool scan;          /* a static scan: no exit, no seccomp */
	const char *root;   /* scan --root, or NULL */
	bool has_rank;      /* the MPI or batch rank is known: written as "rank" */
	long rank;
	bool has_trace;     /* -e trace narrowed the calls watched: written as "trace" */
	trace_set trace;
	const char *events_file;     /* --events FILE, or NULL: written as "events" */
	unsigned long events_count;  /* the events logged */
	size_t events_tail;          /* --events-tail N, or 0 */
};

/* An output destination opened before the command starts. */
struct json_out {
	char *path;     /* the final path; NULL for standard output */
	char *tmp;      /* the temporary file renamed over `path`; NULL when written in place */
	int fd;
};

/*
 * Prepare to write to `path` ("-" for standard output): create the temporary
 * file in the same directory (or open a non-regular target such as a device
 * in place). Returns 0, or -errno with nothing left behind.
 */
int json_out_open(struct json_out *o, const char *path);

/* Remove the temporary file (the run produced no manifest) and release `o`. */
void json_out_discard(struct json_out *o);

/*
 * What was written to o->fd is complete: rename the temporary file into
 * place, not synced to disk (close a file written in place). `o` is
 * released either way.
 * Returns 0, or -errno (the temporary is removed, an earlier file at the
 * path stays intact). Any file, not only a manifest.
 */
int json_out_commit(struct json_out *o);

/*
 * Write the finalised manifest `m` with `run` and rename it into place;
 * `o` is released either way. Returns 0, or -errno (the temporary is
 * removed, an earlier file at the path stays intact).
 */
int manifest_json_write(struct json_out *o, const struct manifest *m, const struct run_info *run);

/*
 * Write the merged manifest `m` (with m->prov) the same way: "run" is the
 * list of `runs` (the run texts its inputs' mf_origin kept, in order), each
 * entry has "seen_on" (and "variants" when its places disagree on the
 * sha256), and there is no top-level "host" or "processes" (each run holds
 * its own).
 */
int manifest_json_write_merged(struct json_out *o, const struct manifest *m, char *const *runs, size_t n_runs);

/* What a manifest read back says of its run, host and tool (strings interned in its manifest). */
struct mf_origin {
	const char *mode;        /* "trace" or "scan" */
	const char **command;    /* owned array (NULL-terminated) of interned strings */
	size_t n_command;
	const char *cwd, *start, *root;
	double duration_s;
	bool complete;
	bool follow_daemons;     /* run.follow_daemons; true when absent */
	size_t n_attached;       /* run.attached: how many processes were attached to (0: launched) */
	struct mf_exit exit;
	const char *hostname, *kernel, *machine, *os;
	const char *tool_version;
	long rank;               /* run.rank; -1 when the run had none */
	const char *events_file; /* run.events.file, or NULL when the run kept no event log */
	double events_count;     /* run.events.count */
	double events_tail;      /* run.events.tail, 0 when absent */
	/*
	 * run.trace: the calls recorded, TRACE_ALL when absent (every call). Of
	 * a merged manifest: the union of its runs' (so all when one has none).
	 */
	trace_set trace;
	/*
	 * Every run of the manifest (one, or a merged manifest's list), each as
	 * the compact JSON text of its run object with its "host" and
	 * "processes" inside: what merge writes back, untouched. Owned.
	 * The fields above describe the first run.
	 */
	char **runs;
	size_t n_runs;
};

/*
 * Read the manifest in `file` ("-" for standard input) into a new model
 * (sorted, owned by the caller: manifest_free) and `origin` (free with
 * mf_origin_free). Returns 0; -EINVAL when it is not a readable manifest,
 * with one line in `err` saying where and what ("files[3].path: expected a
 * string", "line 4, column 2: malformed JSON", a newer schema); or -errno
 * when it cannot be read (`err` says strerror).
 */
int manifest_json_read(const char *file, struct manifest **out, struct mf_origin *origin, char *err, size_t errsz);

/* The same from `len` bytes of text (the fuzz harness's entry point). */
int manifest_json_parse(const char *text, size_t len, struct manifest **out, struct mf_origin *origin, char *err,
			size_t errsz);

void mf_origin_free(struct mf_origin *og);

struct diff_change;

/* The report of `fingerprint diff --format=json` on `f`. Returns 0, or -1 on a write error. */
int manifest_json_print_diff(FILE *f, const char *old_file, const char *new_file, const struct diff_change *v,
			     size_t n);

#endif
