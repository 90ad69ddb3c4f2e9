/* manifest_json.c: the only file that speaks cJSON: writing manifests. */
#ifndef FP_MANIFEST_JSON_H
#define FP_MANIFEST_JSON_H

#include <stdbool.h>
#include <time.h>

#include "manifest.h"

/* What the manifest says about the run itself (its `run` section). */
struct run_info {
	char *const *command;
	const char *cwd;
	struct timespec start;   /* CLOCK_REALTIME */
	double duration_s;
	struct mf_exit exit;
	bool complete;
	bool seccomp;
	bool scan;          /* a static scan: no exit, no seccomp */
	const char *root;   /* scan --root, or NULL */
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

/* Remove the temporary file (the run produced no manifest). */
void json_out_discard(struct json_out *o);

/*
 * Write the finalised manifest `m` with `run` and rename it into place.
 * Returns 0, or -errno (the temporary is removed, an earlier file at the
 * path stays intact).
 */
int manifest_json_write(struct json_out *o, const struct manifest *m, const struct run_info *run);

#endif
