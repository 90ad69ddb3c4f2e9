/*
 * ldso_closure against ldd: for the dynamically linked executables under
 * /usr/bin (sorted by name; scripts, setuid/setgid and static files
 * skipped), the set of resolved paths (symlinks resolved) must equal what
 * ldd prints, the interpreter included and linux-vdso excluded. Only the
 * test runs ldd, to know the answer; the tool never does.
 * FP_LDD_MAX (default 80, 0 for all) bounds the number of programs;
 * FP_LDD_DIR (default /usr/bin) picks another directory.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfinfo.h"
#include "ldso.h"
#include "util.h"

#define MIN_PROGRAMS 50

struct set {
	char **v;
	size_t n, cap;
};

static void set_add(struct set *s, const char *path)
{
	char real[PATH_MAX];
	const char *p = realpath(path, real) ? real : path;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], p) == 0)
			return;
	xgrow(&s->v, &s->cap, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = xstrdup(p);
}

static bool set_has(const struct set *s, const char *p)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], p) == 0)
			return true;
	return false;
}

static void set_free(struct set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void on_dep(const struct ldso_dep *d, void *ctx)
{
	struct set *s = ctx;
	if (d->path)
		set_add(s, d->path);
	else
		set_add(&s[1], d->needed);
}

/* ldd's answer: paths in s[0], names "not found" in s[1]. Returns false when ldd failed. */
static bool ldd(const char *path, struct set *s)
{
	char cmd[PATH_MAX + 64], line[PATH_MAX + 256];
	if (strchr(path, '\''))
		return false;
	snprintf(cmd, sizeof(cmd), "ldd '%s' 2>/dev/null", path);
	FILE *p = popen(cmd, "r");
	if (!p)
		return false;
	while (fgets(line, sizeof(line), p)) {
		char *l = line + strspn(line, " \t");
		l[strcspn(l, "\n")] = '\0';
		char *arrow = strstr(l, " => ");
		if (arrow) {
			char *r = arrow + 4;
			if (strncmp(r, "not found", 9) == 0) {
				*arrow = '\0';
				set_add(&s[1], l);
				continue;
			}
			l = r;
		}
		if (l[0] != '/')
			continue; /* linux-vdso.so.1, "statically linked" */
		char *paren = strstr(l, " (");
		if (paren)
			*paren = '\0';
		set_add(&s[0], l);
	}
	return pclose(p) == 0;
}

/* Whether `path` is a program this test uses. */
static bool eligible(const char *path)
{
	struct stat st;
	struct elfinfo ei;
	char err[256];
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & (S_ISUID | S_ISGID)) ||
	    access(path, X_OK) < 0)
		return false;
	if (elfinfo_read(path, &ei, err, sizeof(err)) < 0)
		return false; /* scripts and anything else not ELF */
	bool ok = (ei.type == ELF_TYPE_EXECUTABLE || ei.type == ELF_TYPE_PIE) && ei.n_needed > 0 && ei.interp;
	elfinfo_free(&ei);
	return ok;
}

static int cmp_dirent(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(void)
{
	const char *dir = getenv("FP_LDD_DIR") ? getenv("FP_LDD_DIR") : "/usr/bin";
	const char *llp = getenv("LD_LIBRARY_PATH");
	long max = getenv("FP_LDD_MAX") ? strtol(getenv("FP_LDD_MAX"), NULL, 10) : 80;
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, cmp_dirent);
	if (n < 0) {
		fprintf(stderr, "SKIP: cannot list %s: %s\n", dir, strerror(errno));
		return 77;
	}
	if (system("ldd --version > /dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: no ldd to compare with\n");
		return 77;
	}
	struct ldso *l = ldso_new("/", llp);
	int compared = 0, mismatched = 0;
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX], err[512];
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		free(ents[i]);
		if ((max > 0 && compared >= max) || !eligible(path))
			continue;
		struct set want[2] = { { 0 } }, got[2] = { { 0 } };
		if (!ldd(path, want)) {
			fprintf(stderr, "%s: ldd failed, not compared\n", path);
			set_free(&want[0]);
			set_free(&want[1]);
			continue;
		}
		int r = ldso_closure(l, path, on_dep, got, err, sizeof(err));
		compared++;
		bool bad = r < 0;
		if (r < 0)
			fprintf(stderr, "MISMATCH %s: ldso_closure failed: %s\n", path, err);
		for (int k = 0; k < 2; k++) {
			const char *what = k ? "not found" : "path";
			for (size_t j = 0; j < want[k].n; j++)
				if (!set_has(&got[k], want[k].v[j])) {
					fprintf(stderr, "MISMATCH %s: ldd has %s %s, ldso does not\n", path, what, want[k].v[j]);
					bad = true;
				}
			for (size_t j = 0; j < got[k].n; j++)
				if (!set_has(&want[k], got[k].v[j])) {
					fprintf(stderr, "MISMATCH %s: ldso has %s %s, ldd does not\n", path, what, got[k].v[j]);
					bad = true;
				}
			set_free(&want[k]);
			set_free(&got[k]);
		}
		mismatched += bad;
	}
	free(ents);
	ldso_free(l);
	fprintf(stderr, "%d programs compared with ldd, %d mismatched\n", compared, mismatched);
	if (compared < MIN_PROGRAMS) {
		fprintf(stderr, "SKIP: only %d dynamically linked programs in %s (want %d)\n", compared, dir, MIN_PROGRAMS);
		return mismatched ? 1 : 77;
	}
	return mismatched ? 1 : 0;
}
