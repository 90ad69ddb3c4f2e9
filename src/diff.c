#include "config.h"
#include "diff.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "elfinfo.h"
#include "manifest.h"
#include "manifest_json.h"
#include "trace_filter.h"
#include "util.h"

struct diff {
	struct diff_change *v;
	size_t n, cap;
	const struct diff_opts *o;
};

static bool ignored(const struct diff *d, const char *path)
{
	for (size_t i = 0; path && i < d->o->n_ignore; i++)
		if (fnmatch(d->o->ignore[i], path, 0) == 0)
			return true;
	return false;
}

static struct diff_change *add_change(struct diff *d, const char *section, enum diff_kind kind, const char *key,
				      const char *binary)
{
	xgrow(&d->v, &d->cap, d->n + 1, sizeof(*d->v));
	struct diff_change *c = &d->v[d->n++];
	*c = (struct diff_change){ section, kind, xstrdup(key), binary, NULL, 0 };
	return c;
}

static bool same(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

/* Note field `name` of change `*c` (created on the first difference) when `a` and `b` differ. */
static void compare_field(struct diff *d, struct diff_change **c, const char *section, const char *key,
			  const char *name, const char *a, const char *b)
{
	if (same(a, b))
		return;
	if (!*c)
		*c = add_change(d, section, DIFF_CHANGED, key, NULL);
	struct diff_change *ch = *c;
	ch->fields = xrealloc(ch->fields, (ch->n_fields + 1) * sizeof(*ch->fields));
	ch->fields[ch->n_fields++] = (struct diff_field){ name, a ? xstrdup(a) : NULL, b ? xstrdup(b) : NULL };
}

/* "[a, b]" for a string list (malloc'd). */
static char *list_text(char *const *v, size_t n)
{
	struct buf b = { 0 };
	buf_append(&b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_append(&b, ", ", 2);
		buf_append(&b, v[i], strlen(v[i]));
	}
	buf_append(&b, "]", 1);
	buf_append(&b, "", 1); /* the terminating NUL */
	return b.data;
}

static void compare_facts(struct diff *d, struct diff_change **c, const char *section, const char *key,
			  const struct mf_facts *a, const struct mf_facts *b)
{
	compare_field(d, c, section, key, "sha256", a->sha256, b->sha256);
	const struct elfinfo *ea = a->elf, *eb = b->elf;
	compare_field(d, c, section, key, "build_id", ea ? ea->build_id : NULL, eb ? eb->build_id : NULL);
	compare_field(d, c, section, key, "soname", ea ? ea->soname : NULL, eb ? eb->soname : NULL);
	autofree char *na = ea ? list_text(ea->needed, ea->n_needed) : NULL;
	autofree char *nb = eb ? list_text(eb->needed, eb->n_needed) : NULL;
	compare_field(d, c, section, key, "needed", na, nb);
	compare_field(d, c, section, key, "setuid", a->setuid ? "true" : "false", b->setuid ? "true" : "false");
	compare_field(d, c, section, key, "setgid", a->setgid ? "true" : "false", b->setgid ? "true" : "false");
}

/* "name version arch" of a package (malloc'd), or NULL for none. */
static char *package_text(const struct mf_package *p)
{
	if (!p)
		return NULL;
	size_t n = strlen(p->name) + strlen(p->version) + strlen(p->arch) + 3;
	char *s = xmalloc(n);
	snprintf(s, n, "%s %s %s", p->name, p->version, p->arch);
	return s;
}

static void compare_package(struct diff *d, struct diff_change **c, const char *section, const char *key,
			    const struct mf_package *a, const struct mf_package *b)
{
	autofree char *ta = package_text(a), *tb = package_text(b);
	compare_field(d, c, section, key, "package", ta, tb);
}

static void compare_binary(struct diff *d, const void *pa, const void *pb)
{
	const struct mf_binary *a = pa, *b = pb;
	struct diff_change *c = NULL;
	compare_field(d, &c, "binaries", a->path, "target", a->target, b->target);
	compare_facts(d, &c, "binaries", a->path, &a->facts, &b->facts);
	compare_package(d, &c, "binaries", a->path, a->package, b->package);
}

static void compare_library(struct diff *d, const void *pa, const void *pb)
{
	const struct mf_library *a = pa, *b = pb;
	struct diff_change *c = NULL;
	compare_field(d, &c, "libraries", a->path, "target", a->target, b->target);
	compare_facts(d, &c, "libraries", a->path, &a->facts, &b->facts);
	compare_package(d, &c, "libraries", a->path, a->package, b->package);
}

static void compare_file(struct diff *d, const void *pa, const void *pb)
{
	const struct mf_file *a = pa, *b = pb;
	struct diff_change *c = NULL;
	compare_field(d, &c, "files", a->path, "target", a->target, b->target);
	compare_field(d, &c, "files", a->path, "sha256", a->sha256, b->sha256);
	compare_field(d, &c, "files", a->path, "access", manifest_access_name(a->access), manifest_access_name(b->access));
	compare_package(d, &c, "files", a->path, a->package, b->package);
}

/*
 * Walk two path-sorted entry arrays together (every mf_* entry starts with
 * its path): entries on one side only are added or removed, entries on both
 * are compared by `cmp` (NULL: presence only).
 */
static void walk_section(struct diff *d, const char *section, void *const *a, size_t na, void *const *b, size_t nb,
			 void (*cmp)(struct diff *, const void *, const void *))
{
	size_t i = 0, k = 0;
	while (i < na || k < nb) {
		const char *pa = i < na ? *(const char *const *)a[i] : NULL;
		const char *pb = k < nb ? *(const char *const *)b[k] : NULL;
		int order = !pa ? 1 : !pb ? -1 : strcmp(pa, pb);
		if (order < 0) {
			if (!ignored(d, pa))
				add_change(d, section, DIFF_REMOVED, pa, NULL);
			i++;
		} else if (order > 0) {
			if (!ignored(d, pb))
				add_change(d, section, DIFF_ADDED, pb, NULL);
			k++;
		} else {
			if (cmp && !ignored(d, pa))
				cmp(d, a[i], b[k]);
			i++;
			k++;
		}
	}
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The keys of a map as sorted C strings (with `blobs`, NUL-separated strings joined by spaces). */
static char **sorted_keys(const struct map *mp, bool blobs, size_t *n)
{
	char **v = xmalloc((mp->size + 1) * sizeof(*v));
	*n = 0;
	MAP_FOREACH(mp, i) {
		char *s = xmalloc(mp->lens[i] + 1);
		memcpy(s, mp->keys[i], mp->lens[i]);
		s[mp->lens[i]] = '\0';
		for (size_t k = 0; blobs && k + 1 < mp->lens[i]; k++)
			if (s[k] == '\0')
				s[k] = ' ';
		v[(*n)++] = s;
	}
	qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* "NAME=value" entries of one binary's environment, by NAME. */
static void compare_env(struct diff *d, const char *binary, const struct map *ma, const struct map *mb)
{
	size_t na = 0, nb = 0, i = 0, k = 0;
	char **a = ma ? sorted_keys(ma, false, &na) : NULL, **b = mb ? sorted_keys(mb, false, &nb) : NULL;
	while (i < na || k < nb) {
		const char *ea = i < na ? strchr(a[i], '=') : NULL, *eb = k < nb ? strchr(b[k], '=') : NULL;
		size_t la = ea ? (size_t)(ea - a[i]) : i < na ? strlen(a[i]) : 0;
		size_t lb = eb ? (size_t)(eb - b[k]) : k < nb ? strlen(b[k]) : 0;
		int order = i >= na ? 1 : k >= nb ? -1 : strncmp(a[i], b[k], la < lb ? la : lb);
		if (order == 0 && i < na && k < nb)
			order = (la > lb) - (la < lb);
		if (order < 0) {
			add_change(d, "env", DIFF_REMOVED, a[i++], binary);
		} else if (order > 0) {
			add_change(d, "env", DIFF_ADDED, b[k++], binary);
		} else {
			if (strcmp(a[i], b[k]) != 0) {
				autofree char *name = xstrndup(a[i], la);
				struct diff_change *c = add_change(d, "env", DIFF_CHANGED, name, binary);
				c->fields = xmalloc(sizeof(*c->fields));
				c->fields[c->n_fields++] = (struct diff_field){ "value", xstrdup(ea ? ea + 1 : ""),
										 xstrdup(eb ? eb + 1 : "") };
			}
			i++;
			k++;
		}
	}
	free_strv(a, na);
	free_strv(b, nb);
}

static void compare_cmdlines(struct diff *d, const char *binary, const struct map *ma, const struct map *mb)
{
	size_t na = 0, nb = 0, i = 0, k = 0;
	char **a = ma ? sorted_keys(ma, true, &na) : NULL, **b = mb ? sorted_keys(mb, true, &nb) : NULL;
	while (i < na || k < nb) {
		int order = i >= na ? 1 : k >= nb ? -1 : strcmp(a[i], b[k]);
		if (order < 0)
			add_change(d, "cmdlines", DIFF_REMOVED, a[i++], binary);
		else if (order > 0)
			add_change(d, "cmdlines", DIFF_ADDED, b[k++], binary);
		else
			i++, k++;
	}
	free_strv(a, na);
	free_strv(b, nb);
}

/* env and cmdlines, binary by binary (the union of both manifests' binaries). */
static void walk_per_binary(struct diff *d, const struct manifest *ma, const struct manifest *mb, bool env)
{
	size_t i = 0, k = 0;
	while (i < ma->n_binaries || k < mb->n_binaries) {
		const struct mf_binary *a = i < ma->n_binaries ? ma->sorted_binaries[i] : NULL;
		const struct mf_binary *b = k < mb->n_binaries ? mb->sorted_binaries[k] : NULL;
		int order = !a ? 1 : !b ? -1 : strcmp(a->path, b->path);
		const char *path = order <= 0 ? a->path : b->path;
		const struct mf_binary *xa = order <= 0 ? a : NULL, *xb = order >= 0 ? b : NULL;
		if (!ignored(d, path)) {
			if (env)
				compare_env(d, path, xa ? &xa->env : NULL, xb ? &xb->env : NULL);
			else
				compare_cmdlines(d, path, xa ? &xa->cmdlines : NULL, xb ? &xb->cmdlines : NULL);
		}
		i += order <= 0;
		k += order >= 0;
	}
}

static char *exit_text(const struct mf_exit *e)
{
	char buf[64];
	if (!e->exited)
		snprintf(buf, sizeof(buf), "running");
	else if (e->signal)
		snprintf(buf, sizeof(buf), "signal %d", e->signal);
	else
		snprintf(buf, sizeof(buf), "status %d", e->status);
	return xstrdup(buf);
}

/* --all: the run, the host and the processes (as a multiset of "pid ppid: binary argv -> exit"). */
static void compare_volatile(struct diff *d, const struct manifest *ma, const struct mf_origin *oa,
			     const struct manifest *mb, const struct mf_origin *ob)
{
	struct diff_change *c = NULL;
	autofree char *ca = list_text((char *const *)oa->command, oa->n_command);
	autofree char *cb = list_text((char *const *)ob->command, ob->n_command);
	autofree char *xa = exit_text(&oa->exit), *xb = exit_text(&ob->exit);
	compare_field(d, &c, "run", "run", "mode", oa->mode, ob->mode);
	compare_field(d, &c, "run", "run", "command", ca, cb);
	compare_field(d, &c, "run", "run", "cwd", oa->cwd, ob->cwd);
	compare_field(d, &c, "run", "run", "exit", xa, xb);
	compare_field(d, &c, "run", "run", "complete", oa->complete ? "true" : "false", ob->complete ? "true" : "false");
	compare_field(d, &c, "run", "run", "start", oa->start, ob->start);
	char da[32], db[32];
	snprintf(da, sizeof(da), "%.3f", oa->duration_s);
	snprintf(db, sizeof(db), "%.3f", ob->duration_s);
	compare_field(d, &c, "run", "run", "duration_s", da, db);
	compare_field(d, &c, "run", "run", "tool_version", oa->tool_version, ob->tool_version);
	c = NULL;
	compare_field(d, &c, "host", "host", "hostname", oa->hostname, ob->hostname);
	compare_field(d, &c, "host", "host", "kernel", oa->kernel, ob->kernel);
	compare_field(d, &c, "host", "host", "machine", oa->machine, ob->machine);
	compare_field(d, &c, "host", "host", "os", oa->os, ob->os);

	const struct manifest *ms[2] = { ma, mb };
	char **lines[2];
	for (int s = 0; s < 2; s++) {
		lines[s] = xmalloc((ms[s]->nprocs + 1) * sizeof(char *));
		for (size_t i = 0; i < ms[s]->nprocs; i++) {
			const struct mf_process *p = ms[s]->procs[i];
			struct buf b = { 0 };
			char ids[64];
			snprintf(ids, sizeof(ids), "pid %d ppid %d: ", (int)p->pid, (int)p->ppid);
			buf_append(&b, ids, strlen(ids));
			const char *bin = p->binary ? p->binary : "(no exec)";
			buf_append(&b, bin, strlen(bin));
			for (const char *arg = p->argv, *end = p->argv + p->argv_len; arg && arg < end;
			     arg += strlen(arg) + 1) {
				buf_append(&b, " ", 1);
				buf_append(&b, arg, strlen(arg));
			}
			autofree char *x = exit_text(&p->exit);
			buf_append(&b, " -> ", 4);
			buf_append(&b, x, strlen(x) + 1);
			lines[s][i] = b.data;
		}
		qsort(lines[s], ms[s]->nprocs, sizeof(char *), cmp_str);
	}
	size_t i = 0, k = 0;
	while (i < ma->nprocs || k < mb->nprocs) {
		int order = i >= ma->nprocs ? 1 : k >= mb->nprocs ? -1 : strcmp(lines[0][i], lines[1][k]);
		if (order < 0)
			add_change(d, "processes", DIFF_REMOVED, lines[0][i++], NULL);
		else if (order > 0)
			add_change(d, "processes", DIFF_ADDED, lines[1][k++], NULL);
		else
			i++, k++;
	}
	free_strv(lines[0], ma->nprocs);
	free_strv(lines[1], mb->nprocs);
}

static void print_text(const struct diff *d, const struct diff_opts *o)
{
	const char *section = NULL;
	size_t counts[3] = { 0 };
	printf("--- %s\n+++ %s\n", o->old_file, o->new_file);
	for (size_t i = 0; i < d->n; i++) {
		const struct diff_change *c = &d->v[i];
		if (!section || strcmp(section, c->section) != 0) {
			section = c->section;
			printf("%s:\n", section);
		}
		counts[c->kind]++;
		/* One line each: control characters and bytes that are not UTF-8 as \xHH. */
		printf("%c ", "+-~"[c->kind]);
		if (c->binary) {
			fput_text(stdout, c->binary);
			fputs(": ", stdout);
		}
		fput_text(stdout, c->key);
		for (size_t k = 0; k < c->n_fields; k++) {
			printf("%s %s ", k ? ";" : ":", c->fields[k].name);
			fput_text(stdout, c->fields[k].old_value ? c->fields[k].old_value : "(none)");
			fputs(" -> ", stdout);
			fput_text(stdout, c->fields[k].new_value ? c->fields[k].new_value : "(none)");
		}
		putchar('\n');
	}
	printf("%zu added, %zu removed, %zu changed\n", counts[DIFF_ADDED], counts[DIFF_REMOVED], counts[DIFF_CHANGED]);
}

static void free_diff(struct diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		for (size_t k = 0; k < d->v[i].n_fields; k++) {
			free(d->v[i].fields[k].old_value);
			free(d->v[i].fields[k].new_value);
		}
		free(d->v[i].fields);
		free(d->v[i].key);
	}
	free(d->v);
}

/* Read one manifest or die with exit 2 and a line naming the file and the problem. */
static struct manifest *load(const char *file, struct mf_origin *og)
{
	char err[1024];
	struct manifest *m;
	if (manifest_json_read(file, &m, og, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "%s: %s", file, err);
	return m;
}

/*
 * A manifest of a run that recorded only some calls (-e trace): one line
 * on stderr, so that an entry only other calls would show, absent from it,
 * is not taken for a change.
 */
static void note_narrowed(const char *file, trace_set set)
{
	char names[128];
	if (set == TRACE_ALL)
		return;
	fprintf(stderr, "%s: note: %s recorded only %s (-e trace): entries that other calls would show are absent "
		"from it, not removed\n", program_name, file,
		set ? trace_filter_format(set, ", ", names, sizeof(names)) : "processes and exec");
}

int diff_main(int argc, char **argv)
{
	struct diff_opts o;
	struct mf_origin oa, ob;
	cli_parse_diff(argc, argv, &o);
	struct manifest *a = load(o.old_file, &oa), *b = load(o.new_file, &ob);
	struct diff d = { .o = &o };
	note_narrowed(o.old_file, oa.trace);
	note_narrowed(o.new_file, ob.trace);

	walk_section(&d, "binaries", (void *const *)a->sorted_binaries, a->n_binaries,
		     (void *const *)b->sorted_binaries, b->n_binaries, compare_binary);
	walk_section(&d, "libraries", (void *const *)a->sorted_libraries, a->n_libraries,
		     (void *const *)b->sorted_libraries, b->n_libraries, compare_library);
	walk_section(&d, "files", (void *const *)a->sorted_files, a->n_files, (void *const *)b->sorted_files,
		     b->n_files, compare_file);
	walk_section(&d, "missing", (void *const *)a->sorted_missing, a->n_missing,
		     (void *const *)b->sorted_missing, b->n_missing, NULL);
	walk_per_binary(&d, a, b, true);
	walk_per_binary(&d, a, b, false);
	if (o.all)
		compare_volatile(&d, a, &oa, b, &ob);

	if (o.json) {
		if (manifest_json_print_diff(stdout, o.old_file, o.new_file, d.v, d.n) < 0)
			die_errno(EXIT_USAGE, "cannot write the report");
	} else if (d.n) {
		print_text(&d, &o);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		die_errno(EXIT_USAGE, "cannot write the report");
	int status = d.n ? 1 : 0;
	free_diff(&d);
	mf_origin_free(&oa);
	mf_origin_free(&ob);
	manifest_free(a);
	manifest_free(b);
	free(o.ignore);
	return status;
}
