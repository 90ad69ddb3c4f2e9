#include "config.h"
#include "check.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "elfinfo.h"
#include "hash.h"
#include "ldso.h"
#include "manifest.h"
#include "manifest_json.h"
#include "trace_filter.h"
#include "util.h"

/* The value of a soname the loader would not find. */
static const char unresolved[] = "";

/* One loader closure: how each soname resolved, for the objects it reached. */
struct closure_names {
	struct map names; /* soname -> interned path, or unresolved */
};

struct check {
	struct manifest *m;
	const struct check_opts *o;
	struct closure_names **closures;
	size_t n_closures;
	struct map reached;   /* "dev:ino" of an object -> struct closure_names * */
	struct map provides;  /* found path -> struct elfinfo * (or the map itself when unreadable) */
	struct closure_names *cur;
	unsigned long problems;
};

static void problem(struct check *c, const char *fmt, ...) FP_PRINTF(2, 3);

static void problem(struct check *c, const char *fmt, ...)
{
	va_list ap;
	char *line;
	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		die(EXIT_INTERNAL, "out of memory");
	va_end(ap);
	fput_text(stdout, line); /* paths with control characters or bytes that are not UTF-8 as \xHH */
	putchar('\n');
	free(line);
	c->problems++;
}

/* "dev:ino" of manifest path `path` on this host (inside the root), interned; NULL when absent. */
static const char *identity(struct check *c, const char *path)
{
	char buf[PATH_MAX], id[64];
	struct stat st;
	if (stat(manifest_host_path(c->m, path, buf), &st) < 0)
		return NULL;
	snprintf(id, sizeof(id), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return manifest_intern(c->m, id);
}

static const struct elfinfo *provides_of(struct check *c, const char *path);

static void add_name(struct check *c, const char *name, const char *found)
{
	name = manifest_intern(c->m, name);
	void **slot = map_slot(&c->cur->names, name, strlen(name), NULL);
	if (!*slot)
		*slot = (void *)found;
}

/*
 * Each soname once, as the loader resolves it. A later need of a name that an
 * object already answers to (its soname: the PT_INTERP loader, a library
 * also named by path) gets no callback, so found objects' sonames are noted.
 */
static void on_dep(const struct ldso_dep *dep, void *ctx)
{
	struct check *c = ctx;
	const char *found = dep->path ? manifest_intern(c->m, dep->path) : unresolved;
	add_name(c, dep->needed, found);
	const struct elfinfo *e = dep->path ? provides_of(c, found) : NULL;
	if (e && e->soname)
		add_name(c, e->soname, found);
	const char *id = dep->path ? identity(c, dep->path) : NULL;
	if (id && !map_get(&c->reached, id, strlen(id)))
		*map_slot(&c->reached, id, strlen(id), NULL) = c->cur;
}

/* The first LD_LIBRARY_PATH the binary ran with (from the manifest's env), or NULL. */
static const char *recorded_library_path(struct check *c, const char *binary)
{
	const struct mf_binary *b = binary ? strmap_get(&c->m->binaries, binary) : NULL;
	const char *best = NULL;
	MAP_FOREACH(b ? &b->env : &(struct map){ 0 }, i) {
		const char *e = b->env.keys[i];
		if (strncmp(e, "LD_LIBRARY_PATH=", 16) == 0 && (!best || strcmp(e, best) < 0))
			best = e;
	}
	return best ? best + 16 : NULL;
}

/* Resolve the closure of `path` as the loader would with `library_path`, remembering every soname. */
static void resolve(struct check *c, const char *path, const char *library_path)
{
	const char *id = identity(c, path);
	if (!id || map_get(&c->reached, id, strlen(id)))
		return;
	struct ldso *l = ldso_new(c->m->root, library_path);
	if (!l)
		die(EXIT_INTERNAL, "out of memory");
	c->cur = xcalloc(1, sizeof(*c->cur));
	c->closures = xrealloc(c->closures, (c->n_closures + 1) * sizeof(*c->closures));
	c->closures[c->n_closures++] = c->cur;
	*map_slot(&c->reached, id, strlen(id), NULL) = c->cur;
	char err[512];
	ldso_closure(l, path, on_dep, c, err, sizeof(err)); /* an unreadable object is reported by its own check */
	ldso_free(l);
}

/* The version names the library at `path` defines (VERDEF), or NULL when it cannot be read. */
static const struct elfinfo *provides_of(struct check *c, const char *path)
{
	void **slot = map_slot(&c->provides, path, strlen(path), NULL);
	if (!*slot) {
		char buf[PATH_MAX], err[256];
		struct elfinfo *e = xcalloc(1, sizeof(*e));
		if (elfinfo_read(manifest_host_path(c->m, path, buf), e, err, sizeof(err)) < 0) {
			free(e);
			*slot = &c->provides; /* unreadable */
		} else {
			*slot = e;
		}
	}
	return *slot == &c->provides ? NULL : *slot;
}

static bool has_version(const struct elfinfo *e, const char *v)
{
	for (size_t i = 0; i < e->n_provides; i++)
		if (strcmp(e->provides[i], v) == 0)
			return true;
	return false;
}

/* Each needed soname of object `path` resolves, to a library defining every version asked of it. */
static void check_needs(struct check *c, const char *path, const struct mf_facts *f)
{
	const struct elfinfo *e = f->elf;
	const char *id = identity(c, path);
	const struct closure_names *cl = id ? map_get(&c->reached, id, strlen(id)) : NULL;
	if (!e || !cl)
		return;
	for (size_t i = 0; i < e->n_needed; i++) {
		const char *found = map_get(&cl->names, e->needed[i], strlen(e->needed[i]));
		if (!found || found == unresolved) {
			problem(c, "unresolved soname: %s (needed by %s)", e->needed[i], path);
			continue;
		}
		for (size_t k = 0; k < e->n_requires; k++) {
			const struct elf_verneed *vn = &e->requires[k];
			if (strcmp(vn->file, e->needed[i]) != 0)
				continue;
			const struct elfinfo *lib = provides_of(c, found);
			for (size_t v = 0; lib && v < vn->n_versions; v++)
				if (!has_version(lib, vn->versions[v]))
					problem(c, "missing version %s in %s (needed by %s)", vn->versions[v], found, path);
		}
	}
}

/* Present, and with the recorded content unless --no-hash. Returns false when missing. */
static bool check_present(struct check *c, const char *path, const char *sha256)
{
	char buf[PATH_MAX], hex[HASH_HEX_LEN + 1];
	const char *host = manifest_host_path(c->m, path, buf);
	struct stat st;
	if (stat(host, &st) < 0) {
		problem(c, "missing: %s", path);
		return false;
	}
	if (!sha256 || c->o->no_hash || !S_ISREG(st.st_mode))
		return true;
	int r = hash_file(host, hex, NULL);
	if (r < 0)
		problem(c, "unreadable: %s (%s)", path, strerror(-r));
	else if (strcmp(hex, sha256) != 0)
		problem(c, "changed: %s (sha256 %s, now %s)", path, sha256, hex);
	return true;
}

/*
 * A file the run only wrote or created, that was gone when the run ended
 * (its own temporaries), or that is not a file of the filesystem, need not
 * be here.
 */
static bool needs_file(const struct mf_file *f)
{
	static const char *const virt[] = { "/proc/", "/sys/", "/dev/" };
	if (!(f->access & ACCESS_READ) || (f->access & ACCESS_CREATED))
		return false;
	if (f->type && (strcmp(f->type, "per-process") == 0 || strcmp(f->type, "gone") == 0))
		return false;
	for (size_t i = 0; i < sizeof(virt) / sizeof(virt[0]); i++)
		if (strncmp(f->path, virt[i], strlen(virt[i])) == 0)
			return false;
	return true;
}

static void free_check(struct check *c)
{
	for (size_t i = 0; i < c->n_closures; i++) {
		map_free(&c->closures[i]->names);
		free(c->closures[i]);
	}
	free(c->closures);
	map_free(&c->reached);
	MAP_FOREACH(&c->provides, i) {
		if (c->provides.vals[i] != &c->provides) {
			elfinfo_free(c->provides.vals[i]);
			free(c->provides.vals[i]);
		}
	}
	map_free(&c->provides);
}

int check_main(int argc, char **argv)
{
	struct check_opts o;
	struct mf_origin og;
	char err[1024], root[PATH_MAX];
	struct manifest *m;

	cli_parse_check(argc, argv, &o);
	if (o.root) {
		struct stat st;
		if (!realpath(o.root, root) || stat(root, &st) < 0 || !S_ISDIR(st.st_mode))
			die(EXIT_USAGE, "--root '%s' is not a directory", o.root);
	}
	if (manifest_json_read(o.file, &m, &og, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "%s: %s", o.file, err);
	m->root = o.root && strcmp(root, "/") != 0 ? root : NULL;
	if (og.trace != TRACE_ALL && verbosity >= 1) {
		char names[128];
		fprintf(stderr, "%s: note: %s recorded only %s (-e trace): what other calls used is not checked\n",
			program_name, o.file, og.trace ? trace_filter_format(og.trace, ", ", names, sizeof(names))
						      : "processes and exec");
	}
	struct check c = { .m = m, .o = &o };

	/* Presence and content first; then the loader's view of what is present. */
	for (size_t i = 0; i < m->n_binaries; i++)
		if (check_present(&c, m->sorted_binaries[i]->path, m->sorted_binaries[i]->facts.sha256) &&
		    m->sorted_binaries[i]->facts.elf)
			resolve(&c, m->sorted_binaries[i]->path, recorded_library_path(&c, m->sorted_binaries[i]->path));
	for (size_t i = 0; i < m->n_libraries; i++) {
		const struct mf_library *l = m->sorted_libraries[i];
		if (check_present(&c, l->path, l->facts.sha256) && l->facts.elf) {
			/* dlopen'd, or loaded by no binary the manifest has: its own closure. */
			const char **by = l->loaded_by.n ? strset_sorted(&l->loaded_by) : NULL;
			resolve(&c, l->path, recorded_library_path(&c, by ? by[0] : NULL));
			free(by);
		}
	}
	for (size_t i = 0; i < m->n_files; i++)
		if (needs_file(m->sorted_files[i]))
			check_present(&c, m->sorted_files[i]->path, m->sorted_files[i]->sha256);
	for (size_t i = 0; i < m->n_binaries; i++)
		check_needs(&c, m->sorted_binaries[i]->path, &m->sorted_binaries[i]->facts);
	for (size_t i = 0; i < m->n_libraries; i++)
		check_needs(&c, m->sorted_libraries[i]->path, &m->sorted_libraries[i]->facts);

	if (verbosity >= 1)
		printf("%s: %zu binaries, %zu libraries, %zu files checked%s: %lu problem%s\n", o.file, m->n_binaries,
		       m->n_libraries, m->n_files, m->root ? " (in the root)" : "", c.problems,
		       c.problems == 1 ? "" : "s");
	int status = c.problems ? 1 : 0;
	if (fflush(stdout) != 0 || ferror(stdout))
		die_errno(EXIT_USAGE, "cannot write the report");
	free_check(&c);
	mf_origin_free(&og);
	manifest_free(m);
	return status;
}
