#include "config.h"
#include "manifest.h"
#include "elfinfo.h"
#include "path.h"
#include "provenance.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct manifest *manifest_new(void)
{
	return xcalloc(1, sizeof(struct manifest));
}

static void facts_free(struct mf_facts *f)
{
	if (f->elf) {
		elfinfo_free(f->elf);
		free(f->elf);
	}
	free(f->elf_error);
	free(f->script_interp);
	free(f->script_args);
	free(f->sha256);
}

static void strset_free(struct strset *s)
{
	free(s->v);
}

void strset_add(struct strset *s, const char *interned)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == interned)
			return;
	xgrow(&s->v, &s->cap, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = interned;
}

/* The interned copy of the first `len` bytes of `s`. */
static const char *manifest_intern_n(struct manifest *m, const char *s, size_t len)
{
	const char **key = NULL;
	void **slot = map_slot(&m->strings, s, len, &key);
	if (*slot == NULL) {
		char *copy = xstrndup(s, len);
		*key = copy;
		*slot = copy;
	}
	return *slot;
}

const char *manifest_intern(struct manifest *m, const char *s)
{
	return manifest_intern_n(m, s, strlen(s));
}

/* Returns the entry for `path` in `set`, creating it with `size` zeroed bytes when new. */
static void *entry_for(struct manifest *m, struct map *set, const char *path, size_t size, bool *created)
{
	void *e = strmap_get(set, path);
	if (created)
		*created = e == NULL;
	if (e)
		return e;
	const char *ipath = manifest_intern(m, path);
	e = xcalloc(1, size);
	*(const char **)e = ipath; /* every mf_* entry starts with its path */
	*map_slot(set, ipath, strlen(ipath), NULL) = e;
	return e;
}

struct mf_binary *manifest_binary(struct manifest *m, const char *path)
{
	bool created;
	struct mf_binary *b = entry_for(m, &m->binaries, path, sizeof(struct mf_binary), &created);
	if (created && m->new_object)
		m->new_object(b->path);
	return b;
}

struct mf_binary *manifest_add_binary(struct manifest *m, const char *path)
{
	struct mf_binary *b = manifest_binary(m, path);
	b->exec_count++;
	return b;
}

struct mf_library *manifest_add_library(struct manifest *m, const char *path, const char *binary)
{
	bool created;
	struct mf_library *l = entry_for(m, &m->libraries, path, sizeof(*l), &created);
	if (created && m->new_object)
		m->new_object(l->path);
	if (binary)
		strset_add(&l->loaded_by, binary);
	return l;
}

struct mf_file *manifest_add_file(struct manifest *m, const char *path, unsigned access, const struct mf_opener *by)
{
	struct mf_file *f = entry_for(m, &m->files, path, sizeof(*f), NULL);
	f->access |= access;
	for (size_t i = 0; i < f->n_opened_by; i++) {
		const struct mf_opener *o = &f->opened_by[i];
		if (o->binary == by->binary && o->module == by->module && o->function == by->function &&
		    o->for_lib == by->for_lib && o->unknown == by->unknown)
			return f;
	}
	xgrow(&f->opened_by, &f->opened_by_cap, f->n_opened_by + 1, sizeof(*f->opened_by));
	f->opened_by[f->n_opened_by++] = *by;
	return f;
}

struct mf_file *manifest_file(struct manifest *m, const char *path)
{
	return entry_for(m, &m->files, path, sizeof(struct mf_file), NULL);
}

const struct mf_binary *manifest_find_binary(const struct manifest *m, const char *path, size_t len)
{
	return map_get(&m->binaries, path, len);
}

const struct mf_file *manifest_find_file(const struct manifest *m, const char *path, size_t len)
{
	return map_get(&m->files, path, len);
}

struct mf_missing *manifest_add_missing(struct manifest *m, const char *path, const char *binary)
{
	struct mf_missing *p = entry_for(m, &m->missing, path, sizeof(*p), NULL);
	if (binary)
		strset_add(&p->probed_by, binary);
	return p;
}

bool manifest_env_is_secret(const char *entry)
{
	static const char *const words[] = {
		"TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "API_KEY", "PRIVATE_KEY", "CREDENTIAL",
	};
	const char *eq = strchr(entry, '=');
	size_t n = eq ? (size_t)(eq - entry) : strlen(entry);
	char name[256];
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	for (size_t i = 0; i < n; i++)
		name[i] = (char)toupper((unsigned char)entry[i]);
	name[n] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(name, words[i]))
			return true;
	return false;
}

void manifest_add_env(struct manifest *m, struct mf_binary *b, const char *blob, size_t len)
{
	struct buf redacted = { 0 };
	/* An exec storm runs one binary with one environment again and again: merge it once. */
	if (b->last_env.data && b->last_env.len == len && memcmp(b->last_env.data, blob, len) == 0)
		return;
	b->last_env.len = 0;
	buf_append(&b->last_env, blob, len);
	for (const char *s = blob, *end = blob + len; s < end; s += strlen(s) + 1) {
		const char *entry = s, *eq = strchr(s, '=');
		/* An entry without '=' (possible with a hand-built envp) has no value to hide: kept as it is. */
		if (!m->keep_secrets && eq && manifest_env_is_secret(s)) {
			redacted.len = 0;
			buf_append(&redacted, s, (size_t)(eq - s));
			buf_append(&redacted, "=<redacted>", 11);
			entry = redacted.data;
		}
		const char *ientry = manifest_intern(m, entry);
		*map_slot(&b->env, ientry, strlen(ientry), NULL) = (void *)ientry;
	}
	buf_free(&redacted);
}

void manifest_add_cmdline(struct manifest *m, struct mf_binary *b, const char *blob, size_t len)
{
	(void)m;
	const char **key = NULL;
	void **slot = map_slot(&b->cmdlines, blob, len, &key);
	if (*slot == NULL) {
		char *copy = xmalloc(len + 1); /* NUL-terminated even when the last argument was not */
		memcpy(copy, blob, len);
		copy[len] = '\0';
		*key = copy;
		*slot = copy;
	}
}

struct mf_process *manifest_add_process(struct manifest *m, pid_t pid, pid_t ppid)
{
	struct mf_process *p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->ppid = ppid;
	xgrow(&m->procs, &m->procs_cap, m->nprocs + 1, sizeof(*m->procs));
	m->procs[m->nprocs++] = p;
	return p;
}

void manifest_warn(struct manifest *m, const char *kind, const char *fmt, ...)
{
	for (size_t i = 0; i < m->nwarnings; i++) {
		if (strcmp(m->warnings[i].kind, kind) == 0) {
			m->warnings[i].count++;
			return;
		}
	}
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xgrow(&m->warnings, &m->warnings_cap, m->nwarnings + 1, sizeof(*m->warnings));
	m->warnings[m->nwarnings++] = (struct mf_warning){ kind, 1, xstrdup(msg) };
	info("warning: %s", msg);
}

const char **strset_sorted(const struct strset *s)
{
	const char **v = xmalloc(s->n * sizeof(*v));
	memcpy(v, s->v, s->n * sizeof(*v));
	str_sort(v, s->n);
	return v;
}

const char *manifest_host_path(const struct manifest *m, const char *path, char *buf)
{
	if (!m->root)
		return path;
	snprintf(buf, PATH_MAX, "%s%s", m->root, path);
	return buf;
}

static const struct map *sorting_map;

static int cmp_map_keys(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	size_t li = sorting_map->lens[i], lj = sorting_map->lens[j];
	int r = memcmp(sorting_map->keys[i], sorting_map->keys[j], li < lj ? li : lj);
	return r ? r : (li > lj) - (li < lj);
}

size_t *map_sorted_slots(const struct map *mp)
{
	size_t *v = xmalloc(mp->size * sizeof(*v));
	size_t k = 0;
	MAP_FOREACH(mp, i)
		v[k++] = i;
	sorting_map = mp;
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_map_keys);
	sorting_map = NULL;
	return v;
}

/* What real_path remembers of a path it could not resolve. */
static const char unresolvable[] = "";

/*
 * What realpath(3) makes of the absolute path `path` (its first `len`
 * bytes), interned, or NULL where realpath fails (a component missing, not
 * a directory, too many links). `known` maps each path asked (a prefix of
 * another, a link's target) to its answer, so a directory is looked at once
 * however many paths go through it: an lstat, and a readlink when it is a
 * link, where realpath reads every component of every path again.
 */
static const char *real_path(struct manifest *m, struct map *known, const char *path, size_t len, int links)
{
	size_t cut = len;
	while (cut > 0 && path[cut - 1] != '/')
		cut--;
	if (cut <= 1 && cut == len)
		return manifest_intern(m, "/");
	const char *hit = map_get(known, path, len);
	if (hit)
		return hit == unresolvable ? NULL : hit;

	const char *parent = real_path(m, known, path, cut > 1 ? cut - 1 : 1, links), *name = path + cut, *res = NULL;
	size_t nlen = len - cut;
	char cand[PATH_MAX], target[PATH_MAX];
	struct stat st;
	if (!parent)
		;
	else if (nlen == 0 || (nlen == 1 && name[0] == '.'))
		res = parent;
	else if (nlen == 2 && name[0] == '.' && name[1] == '.') {
		size_t up = (size_t)(strrchr(parent, '/') - parent);
		res = manifest_intern_n(m, parent, up ? up : 1); /* the parent of "/x" is "/" */
	}
	else if ((size_t)snprintf(cand, sizeof(cand), "%s/%.*s", parent[1] ? parent : "", (int)nlen, name) >= sizeof(cand))
		;
	else if (lstat(cand, &st) < 0)
		;
	else if (!S_ISLNK(st.st_mode))
		res = manifest_intern(m, cand);
	else if (links < 40) {
		ssize_t t = readlink(cand, target, sizeof(target) - 1);
		int n = t <= 0 ? -1
			: target[0] == '/' ? snprintf(cand, sizeof(cand), "%.*s", (int)t, target)
					   : snprintf(cand, sizeof(cand), "%s/%.*s", parent[1] ? parent : "", (int)t, target);
		if (n > 0 && (size_t)n < sizeof(cand))
			res = real_path(m, known, cand, (size_t)n, links + 1);
	}

	const char **key = NULL;
	void **slot = map_slot(known, path, len, &key); /* only now: the calls above may have grown the map */
	if (!*slot) {
		*key = manifest_intern_n(m, path, len);
		*slot = (void *)(res ? res : unresolvable);
	}
	return res;
}

/*
 * The fully resolved path of `path` (interned) when it differs from `path`
 * (a symlink, or a directory on the way is one), else NULL. Directories are
 * resolved once each through `known` (real_path); only the last component
 * is looked at per path. *st: its lstat, or st_mode 0 when not taken.
 */
static const char *resolved_target(struct manifest *m, struct map *known, const char *path, struct stat *st)
{
	char real[PATH_MAX];
	const char *slash = strrchr(path, '/');
	st->st_mode = 0;
	if (!slash || slash[1] == '\0' || m->root || path_per_process(path))
		return NULL; /* a host realpath means nothing inside another root, or for /proc/self */
	if (lstat(path, st) < 0)
		st->st_mode = 0;
	else if (S_ISLNK(st->st_mode)) {
		const char *r = real_path(m, known, path, strlen(path), 0);
		return r && strcmp(r, path) ? r : NULL;
	}

	size_t dlen = slash > path ? (size_t)(slash - path) : 1;
	const char *rdir = real_path(m, known, path, dlen, 0);
	if (!rdir || (strncmp(rdir, path, dlen) == 0 && rdir[dlen] == '\0'))
		return NULL;
	snprintf(real, sizeof(real), "%s%s", strcmp(rdir, "/") ? rdir : "", slash);
	return manifest_intern(m, real);
}

/* What `path` is, NULL for a regular file; `lst`, its lstat when taken (st_mode 0 if not), spares a stat. */
static const char *file_type(const char *path, const struct stat *lst)
{
	struct stat st = *lst;
	if ((!st.st_mode || S_ISLNK(st.st_mode)) && stat(path, &st) < 0)
		return "gone";
	switch (st.st_mode & S_IFMT) {
	case S_IFREG: return NULL;
	case S_IFDIR: return "directory";
	case S_IFIFO: return "fifo";
	case S_IFCHR: return "char-device";
	case S_IFBLK: return "block-device";
	case S_IFSOCK: return "socket";
	default: return "other";
	}
}

static int cmp_entry_path(const void *a, const void *b)
{
	return strcmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

/* Build the path-sorted array of the entries of `set`. */
static void *sorted_entries(const struct map *set, size_t *n)
{
	void **v = xmalloc(set->size * sizeof(*v));
	size_t k = 0;
	MAP_FOREACH(set, i)
		v[k++] = set->vals[i];
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_entry_path);
	*n = k;
	return v;
}

static bool is_object(struct manifest *m, const char *p)
{
	return p && (strmap_get(&m->binaries, p) || strmap_get(&m->libraries, p));
}

void manifest_finalize(struct manifest *m)
{
	struct map object_targets = { 0 }, known = { 0 };

	struct stat st;
	m->sorted_binaries = sorted_entries(&m->binaries, &m->n_binaries);
	for (size_t i = 0; i < m->n_binaries; i++) {
		struct mf_binary *b = m->sorted_binaries[i];
		b->target = resolved_target(m, &known, b->path, &st);
		if (b->target)
			*map_slot(&object_targets, b->target, strlen(b->target), NULL) = (void *)b->target;
	}
	m->sorted_libraries = sorted_entries(&m->libraries, &m->n_libraries);
	for (size_t i = 0; i < m->n_libraries; i++) {
		struct mf_library *l = m->sorted_libraries[i];
		l->target = resolved_target(m, &known, l->path, &st);
		if (l->target)
			*map_slot(&object_targets, l->target, strlen(l->target), NULL) = (void *)l->target;
	}

	size_t nfiles;
	struct mf_file **files = sorted_entries(&m->files, &nfiles);
	m->sorted_files = xmalloc(nfiles * sizeof(*files));
	m->n_files = 0;
	for (size_t i = 0; i < nfiles; i++) {
		struct mf_file *f = files[i];
		f->target = resolved_target(m, &known, f->path, &st);
		if (is_object(m, f->path) || is_object(m, f->target) || strmap_get(&object_targets, f->path) ||
		    (f->target && strmap_get(&object_targets, f->target)))
			continue;
		f->type = path_per_process(f->path) ? "per-process" : file_type(f->path, &st);
		m->sorted_files[m->n_files++] = f;
	}
	free(files);
	map_free(&object_targets);
	map_free(&known);
	m->sorted_missing = sorted_entries(&m->missing, &m->n_missing);
}

const char *manifest_access_name(unsigned access)
{
	switch (access & (ACCESS_READ | ACCESS_WRITE)) {
	case ACCESS_WRITE: return "write";
	case ACCESS_READ | ACCESS_WRITE: return "read-write";
	default: return "read";
	}
}

void manifest_sort(struct manifest *m)
{
	m->sorted_binaries = sorted_entries(&m->binaries, &m->n_binaries);
	m->sorted_libraries = sorted_entries(&m->libraries, &m->n_libraries);
	m->sorted_files = sorted_entries(&m->files, &m->n_files);
	m->sorted_missing = sorted_entries(&m->missing, &m->n_missing);
}

const struct mf_package *manifest_add_package(struct manifest *m, const char *name, const char *version,
					      const char *arch)
{
	/* By version too: rpm installs several versions of one package side by side (kernels), and merged runs may differ. */
	char key[768];
	snprintf(key, sizeof(key), "%s:%s:%s", name, arch, version);
	const char *ikey = manifest_intern(m, key);
	void **slot = map_slot(&m->packages, ikey, strlen(ikey), NULL);
	if (!*slot) {
		struct mf_package *p = xmalloc(sizeof(*p));
		*p = (struct mf_package){ manifest_intern(m, name), manifest_intern(m, version), manifest_intern(m, arch) };
		*slot = p;
	}
	return *slot;
}

static int cmp_package(const void *a, const void *b)
{
	const struct mf_package *p = *(const struct mf_package *const *)a, *q = *(const struct mf_package *const *)b;
	int r = strcmp(p->name, q->name);
	if (!r)
		r = strcmp(p->arch, q->arch);
	return r ? r : strcmp(p->version, q->version);
}

/* Paths a container gets from its runtime, not from a recipe. */
static bool runtime_path(const char *path)
{
	static const char *const dirs[] = { "/proc", "/sys", "/dev" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		size_t n = strlen(dirs[i]);
		if (strncmp(path, dirs[i], n) == 0 && (path[n] == '/' || path[n] == '\0'))
			return true;
	}
	return false;
}

static void add_unpackaged(struct manifest *m, size_t *cap, const char *path, const struct mf_package *p)
{
	if (p || runtime_path(path))
		return;
	xgrow(&m->unpackaged, cap, m->n_unpackaged + 1, sizeof(*m->unpackaged));
	m->unpackaged[m->n_unpackaged++] = path;
}

void manifest_finalize_packages(struct manifest *m)
{
	size_t cap = 0;

	m->sorted_packages = xmalloc((m->packages.size + 1) * sizeof(*m->sorted_packages));
	m->n_packages = 0;
	MAP_FOREACH(&m->packages, i)
		m->sorted_packages[m->n_packages++] = m->packages.vals[i];
	if (m->n_packages > 1)
		qsort(m->sorted_packages, m->n_packages, sizeof(*m->sorted_packages), cmp_package);

	for (size_t i = 0; i < m->n_binaries; i++)
		add_unpackaged(m, &cap, m->sorted_binaries[i]->path, m->sorted_binaries[i]->package);
	for (size_t i = 0; i < m->n_libraries; i++)
		add_unpackaged(m, &cap, m->sorted_libraries[i]->path, m->sorted_libraries[i]->package);
	for (size_t i = 0; i < m->n_files; i++) {
		const struct mf_file *f = m->sorted_files[i];
		if (!f->type || strcmp(f->type, "per-process") != 0)
			add_unpackaged(m, &cap, f->path, f->package);
	}
	str_sort(m->unpackaged, m->n_unpackaged);
}

void manifest_free(struct manifest *m)
{
	if (!m)
		return;
	MAP_FOREACH(&m->binaries, i) {
		struct mf_binary *b = m->binaries.vals[i];
		map_free(&b->env);
		buf_free(&b->last_env);
		MAP_FOREACH(&b->cmdlines, j)
			free((void *)b->cmdlines.keys[j]);
		map_free(&b->cmdlines);
		facts_free(&b->facts);
		free(b);
	}
	MAP_FOREACH(&m->libraries, i) {
		struct mf_library *l = m->libraries.vals[i];
		strset_free(&l->loaded_by);
		facts_free(&l->facts);
		free(l);
	}
	MAP_FOREACH(&m->files, i) {
		struct mf_file *f = m->files.vals[i];
		free(f->opened_by);
		free(f->sha256);
		free(f);
	}
	MAP_FOREACH(&m->missing, i) {
		struct mf_missing *p = m->missing.vals[i];
		strset_free(&p->probed_by);
		strset_free(&p->tried);
		free(p);
	}
	map_free(&m->binaries);
	map_free(&m->libraries);
	map_free(&m->files);
	map_free(&m->missing);
	MAP_FOREACH(&m->packages, i)
		free(m->packages.vals[i]);
	map_free(&m->packages);
	free(m->sorted_packages);
	free(m->unpackaged);
	for (size_t i = 0; i < m->nprocs; i++) {
		free(m->procs[i]->argv);
		free(m->procs[i]->cwd);
		free(m->procs[i]);
	}
	free(m->procs);
	for (size_t i = 0; i < m->nwarnings; i++)
		free(m->warnings[i].message);
	free(m->warnings);
	MAP_FOREACH(&m->strings, i)
		free((void *)m->strings.keys[i]);
	map_free(&m->strings);
	free(m->sorted_binaries);
	free(m->sorted_libraries);
	free(m->sorted_files);
	free(m->sorted_missing);
	prov_free(m->prov);
	free(m);
}
