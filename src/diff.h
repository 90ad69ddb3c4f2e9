/*
 * diff.c: `fingerprint diff OLD NEW`: a semantic comparison of two
 * manifests (added, removed and changed entries, and what changed), not a
 * comparison of their text.
 */
#ifndef FP_DIFF_H
#define FP_DIFF_H

#include <stddef.h>

enum diff_kind { DIFF_ADDED, DIFF_REMOVED, DIFF_CHANGED };

/* One field that differs in a changed entry. */
struct diff_field {
	const char *name;      /* "sha256", "needed", "access", ... */
	char *old_value, *new_value; /* owned; NULL for "none" */
};

/* One difference. Strings are owned by the manifests compared, fields by the change. */
struct diff_change {
	const char *section;   /* "binaries", "files", "env", ... */
	enum diff_kind kind;
	char *key;             /* owned: the path (NAME for env, the argv for cmdlines, the field for run and host) */
	const char *binary;    /* env and cmdlines: whose; NULL otherwise */
	struct diff_field *fields;
	size_t n_fields;
};

/* Run `fingerprint diff` (argv[0] is "diff"). Returns 0 equal, 1 different, 2 on error. */
int diff_main(int argc, char **argv);

#endif
