#include "config.h"
#include "scan.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "enrich.h"
#include "ldso.h"
#include "manifest.h"
#include "manifest_json.h"
#include "path.h"
#include "util.h"

struct scan_ctx {
	struct manifest *m;
	const char *binary;  /* interned path of the file being scanned */
	const char *interp;  /* its PT_INTERP, or NULL */
};

/* `p` normalised like every manifest path (the loader keeps $ORIGIN/../lib as is), interned. */
static const char *normalised(struct manifest *m, const char *p)
{
	char buf[PATH_MAX];
	if (!p)
		return NULL;
	return manifest_intern(m, path_resolve(buf, sizeof(buf), "/", p) >= 0 ? buf : p);
}

static void on_dep(const struct ldso_dep *dep, void *ctx)
{
	struct scan_ctx *s = ctx;
	struct manifest *m = s->m;

	if (!dep->path) {
		struct mf_missing *p = manifest_add_missing(m, dep->needed, manifest_intern(m, dep->needed_by));
		for (const char *const *t = dep->tried; t && *t; t++)
			strset_add(&p->tried, normalised(m, *t));
		return;
	}
	struct mf_library *l = manifest_add_library(m, normalised(m, dep->path), s->binary);
	if (!l->found_via) {
		l->found_via = ldso_via_name(dep->via);
		l->found_dir = normalised(m, dep->dir);
	}
	if (!l->how) {
		if (s->interp && strcmp(dep->needed, s->interp) == 0)
			l->how = "interp";
		else if (dep->via == LDSO_VIA_PRELOAD)
			l->how = "preload";
		else
			l->how = "needed";
	}
}

/* The path of FILE as the manifest names it: absolute and normalised (inside the root). */
static int scan_path(const char *file, const char *root, char *out)
{
	char cwd[PATH_MAX];
	if (file[0] == '/' || root)
		return path_resolve(out, PATH_MAX, "/", file);
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return path_resolve(out, PATH_MAX, cwd, file);
}

/* Scan one file into s->m; returns false (after a one-line error) when it cannot be read. */
static bool scan_one(struct ldso *l, struct scan_ctx *s, const char *file, const char *root)
{
	char path[PATH_MAX], hbuf[PATH_MAX], err[512];
	struct stat st;
	struct elfinfo e;

	int r = scan_path(file, root, path);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", program_name, file, strerror(-r));
		return false;
	}
	const char *host = manifest_host_path(s->m, path, hbuf);
	if (stat(host, &st) < 0) {
		fprintf(stderr, "%s: %s: %s\n", program_name, file, strerror(errno));
		return false;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: %s: is a directory\n", program_name, file);
		return false;
	}
	/* Read the facts first: a non-ELF or truncated file is reported here, once. */
	r = elfinfo_read(host, &e, err, sizeof(err));
	if (r < 0) {
		if (r == -ENOEXEC)
			fprintf(stderr, "%s: %s: not an ELF file\n", program_name, file);
		else if (r == -EINVAL)
			fprintf(stderr, "%s: %s\n", program_name, err[0] ? err : file);
		else
			fprintf(stderr, "%s: %s: %s\n", program_name, file, strerror(-r));
		return false;
	}
	s->binary = manifest_binary(s->m, path)->path;
	s->interp = e.interp ? manifest_intern(s->m, e.interp) : NULL;
	elfinfo_free(&e);
	r = ldso_closure(l, path, on_dep, s, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", program_name, err[0] ? err : file);
		return false;
	}
	return true;
}

int scan_main(int argc, char **argv)
{
	struct scan_opts o;
	struct json_out out;
	struct run_info run = { 0 };
	struct timespec t0, t1;
	char cwd[PATH_MAX], root[PATH_MAX];
	int failed = 0;

	cli_parse_scan(argc, argv, &o);
	if (!getcwd(cwd, sizeof(cwd)))
		die_errno(EXIT_INTERNAL, "cannot read the current directory");
	if (o.root) {
		struct stat st;
		if (!realpath(o.root, root) || stat(root, &st) < 0 || !S_ISDIR(st.st_mode))
			die(EXIT_USAGE, "--root '%s' is not a directory", o.root);
		if (strcmp(root, "/") == 0)
			o.root = NULL;
	}
	int r = json_out_open(&out, o.output);
	if (r < 0) {
		errno = -r;
		die_errno(EXIT_USAGE, "cannot write the manifest to '%s'", o.output);
	}

	struct manifest *m = manifest_new();
	m->root = o.root ? root : NULL;
	struct ldso *l = ldso_new(m->root, o.ld_library_path);
	if (!l)
		die(EXIT_INTERNAL, "out of memory");
	clock_gettime(CLOCK_REALTIME, &run.start);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct scan_ctx s = { .m = m };
	for (char **p = o.paths; *p; p++)
		if (!scan_one(l, &s, *p, m->root))
			failed++;
	ldso_free(l);

	manifest_finalize(m);
	enrich_packages_start(m, o.packages, o.owner_cache);
	struct hash_opts hopts = { .jobs = o.hash_jobs, .cache = o.hash_cache };
	enrich_manifest(m, o.hash_mode == HASH_NONE ? HASH_NONE : HASH_ELF, NULL, &hopts);
	enrich_packages(m, o.packages, o.owner_cache);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	run.command = argv - 1; /* "fingerprint scan ..." */
	run.cwd = cwd;
	run.duration_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	run.complete = failed == 0;
	run.scan = true;
	run.root = m->root;
	run.has_rank = o.rank >= 0;
	run.rank = o.rank;
	r = manifest_json_write(&out, m, &run);
	if (r < 0) {
		errno = -r;
		die_errno(EXIT_INTERNAL, "cannot write the manifest to '%s'", o.output);
	}
	if (verbosity >= 1)
		fprintf(stderr, "%s: %s: %zu binaries, %zu libraries, %zu unresolved%s\n", program_name,
			strcmp(o.output, "-") ? o.output : "(stdout)", m->n_binaries, m->n_libraries, m->n_missing,
			failed ? " (some files could not be scanned)" : "");
	manifest_free(m);
	return failed ? 1 : 0;
}
