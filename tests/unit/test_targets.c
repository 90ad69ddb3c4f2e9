/*
 * Unit test of the targets manifest_finalize gives: each path's target is
 * what realpath(3) makes of it (of the path itself when it is a symlink, of
 * its directory otherwise), or none when that is the path. The tree has
 * links absolute and relative, through "..", ".", chains, a loop, a
 * dangling link, a file used as a directory, and links met again through
 * other links, where the memo of directories must not mix answers up.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "util.h"

#include "check.h"

static char base[PATH_MAX];

static void at(char *out, const char *rel)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", base, rel) >= PATH_MAX)
		exit(99);
}

static void make_dir(const char *rel)
{
	char p[PATH_MAX];
	at(p, rel);
	if (mkdir(p, 0755) < 0) {
		perror(p);
		exit(99);
	}
}

static void make_file(const char *rel)
{
	char p[PATH_MAX];
	at(p, rel);
	FILE *f = fopen(p, "w");
	if (!f || fclose(f) != 0) {
		perror(p);
		exit(99);
	}
}

/* A link at `rel` to `to`; an `to` starting with '@' is absolute, under the base. */
static void make_link(const char *rel, const char *to)
{
	char p[PATH_MAX], t[PATH_MAX];
	at(p, rel);
	if (to[0] == '@')
		at(t, to + 1);
	else
		snprintf(t, sizeof(t), "%s", to);
	if (symlink(t, p) < 0) {
		perror(p);
		exit(99);
	}
}

/* What the target of `path` must be, by realpath(3): NULL when none. */
static char *expected(const char *path)
{
	char real[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return realpath(path, real) && strcmp(real, path) ? xstrdup(real) : NULL;
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (!realpath(dir, real) || strcmp(real, dir) == 0)
		return NULL;
	char *want = xmalloc(PATH_MAX);
	snprintf(want, PATH_MAX, "%s%s", strcmp(real, "/") ? real : "", slash);
	return want;
}

int main(void)
{
	char tmpl[] = "/tmp/test_targets.XXXXXX";
	if (!mkdtemp(tmpl) || !realpath(tmpl, base)) {
		perror("mkdtemp");
		return 99;
	}
	make_dir("d");
	make_dir("d/real");
	make_dir("d/real/sub");
	make_dir("d/real/sub/deep");
	make_file("d/real/file");
	make_file("d/real/sub/f2");
	make_file("d/real/sub/deep/f3");
	make_link("abs", "@d/real");
	make_link("rel", "d/real");
	make_link("d/up", "../d/real/sub");
	make_link("chain1", "chain2");
	make_link("chain2", "rel");
	make_link("loop1", "loop2");
	make_link("loop2", "loop1");
	make_link("dangling", "nowhere");
	make_link("filelink", "d/real/file");
	make_link("dots", "./d/./real/../real");
	make_link("d/real/self", ".");
	make_link("d/real/sub/back", "..");
	make_link("d/real/sub/deep/root", "/");
	make_link("d/real/sub/deep/tofile", "../f2");
	make_link("slashes", "@d//real///sub/");

	static const char *const rels[] = {
		"d/real/file", "d/real/sub/f2", "d/real/gone",
		"abs/file", "abs/sub/f2", "abs/sub/deep/f3", "rel/file", "rel/sub/deep/f3", "rel/gone",
		"d/up/f2", "d/up/deep/f3", "d/up/back/file", "chain1/file", "chain1/sub/f2", "chain2/sub/back/sub/f2",
		"loop1/x", "loop1", "dangling/x", "dangling", "filelink", "filelink/x", "dots/file", "dots/sub/f2",
		"d/real/self/self/file", "d/real/self", "abs/self/sub/back/self/file", "d/real/sub/deep/root/tmp",
		"d/real/sub/deep/tofile", "abs/sub/deep/tofile", "slashes/f2", "slashes/deep/f3", "abs", "rel",
		"nodir/x",
	};
	size_t n = sizeof(rels) / sizeof(rels[0]);
	struct manifest *m = manifest_new();
	struct mf_opener by = { .binary = manifest_intern(m, "/bin/sh") };
	char *paths[sizeof(rels) / sizeof(rels[0])];
	for (size_t i = 0; i < n; i++) {
		paths[i] = xmalloc(PATH_MAX);
		at(paths[i], rels[i]);
		manifest_add_file(m, paths[i], ACCESS_READ, &by);
	}
	manifest_finalize(m);

	size_t seen = 0;
	for (size_t i = 0; i < m->n_files; i++) {
		const struct mf_file *f = m->sorted_files[i];
		char *want = expected(f->path);
		CHECK((want == NULL) == (f->target == NULL) && (!want || strcmp(want, f->target) == 0),
		      "%s: target %s, realpath says %s", f->path, f->target ? f->target : "(none)",
		      want ? want : "(none)");
		free(want);
		seen++;
	}
	CHECK(seen == n, "%zu of %zu files listed", seen, n);

	manifest_free(m);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", base);
	return failures ? 1 : 0;
}
