#include "config.h"
#include "pkgdb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#if HAVE_LIBRPM
#include "pkgdb_rpm.h"
#endif

#define DPKG_DIR "/var/lib/dpkg"

/* Top-level directories that a merged /usr makes aliases of /usr/DIR. */
static const char *const merged_dirs[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
#define N_MERGED (sizeof(merged_dirs) / sizeof(merged_dirs[0]))

struct pkg {
	struct pkgdb_pkg pub;
	char *qualified; /* "NAME:ARCH", owned */
};

/* A wanted path: its owner so far, and who may own it when a diversion is in the way. */
struct want {
	const struct pkgdb_pkg *owner;
	const char *only_by; /* a diversion's source: only the diverting package (":" local: nobody) */
};

/* A wanted path that is a diversion's destination: the packages listing `from` but `except` own it. */
struct redirect {
	struct want *to;
	const char *except; /* the diverting package, or ":" for a local diversion */
};

struct diversion {
	const char *from, *to, *by; /* canonical paths; `by` is a package name or ":" */
};

struct pkgdb {
	char dir[PATH_MAX];          /* ROOT/var/lib/dpkg */
	bool merged[N_MERGED];       /* ROOT/DIR is a symlink to usr/DIR */
	struct buf status, diversions_text; /* kept: package fields point into them */
	struct pkg **pkgs;
	size_t n_pkgs, pkgs_cap;
	struct map by_name;          /* "NAME:ARCH" and "NAME" -> struct pkg */
	struct diversion *divs;
	size_t n_divs, divs_cap;
	struct map div_from, div_to; /* canonical path -> struct diversion */
	struct map wants;            /* canonical path -> struct want */
	uint64_t tails[1024];        /* bit set of tail_bit() of every wanted path */
	struct map redirects;        /* canonical diversion source -> struct redirect */
	struct map strings;          /* canonical spellings made here (owned) */
	const char *kind;            /* "dpkg" or "rpm" */
#if HAVE_LIBRPM
	struct rpmq *rpm;            /* the rpm database, when kind is "rpm" */
#endif
};

/* The database's own copy of `s` (`len` bytes); the same text gives the same pointer. */
static const char *db_intern(struct pkgdb *db, const char *s, size_t len)
{
	const char **key = NULL;
	void **slot = map_slot(&db->strings, s, len, &key);
	if (*slot == NULL) {
		char *copy = xstrndup(s, len);
		*key = copy;
		*slot = copy;
	}
	return *slot;
}

/*
 * The spelling of `path` (`len` bytes, not necessarily NUL-terminated) used
 * for matching: "/lib/x" becomes "/usr/lib/x" when /lib is merged into
 * /usr. Returns `path` or `buf` (PATH_MAX bytes); *clen gets the length.
 */
static const char *canonical(const struct pkgdb *db, const char *path, size_t len, char *buf, size_t *clen)
{
	*clen = len;
	if (len < 4 || path[0] != '/' || (path[1] != 'b' && path[1] != 's' && path[1] != 'l') || len + 4 >= PATH_MAX)
		return path;
	for (size_t i = 0; i < N_MERGED; i++) {
		size_t n = strlen(merged_dirs[i]);
		if (db->merged[i] && len > n && memcmp(path + 1, merged_dirs[i], n) == 0 &&
		    (len == n + 1 || path[n + 1] == '/')) {
			memcpy(buf, "/usr", 4);
			memcpy(buf + 4, path, len);
			buf[len + 4] = '\0';
			*clen = len + 4;
			return buf;
		}
	}
	return path;
}

/* Like canonical(), but a NUL-terminated result that lives as long as the database. */
static const char *canonical_kept(struct pkgdb *db, const char *path, size_t len, size_t *clen)
{
	char buf[PATH_MAX];
	const char *c = canonical(db, path, len, buf, clen);
	return c == buf || path[len] != '\0' ? db_intern(db, c, *clen) : c;
}

/* `dir`/`name` in `out` (PATH_MAX bytes); false when it does not fit. */
static bool join(char *out, const char *dir, const char *name)
{
	return snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX;
}

/*
 * A cheap filter before hashing a whole list line: a bit chosen by the last
 * (up to) 8 bytes. The /usr-merge spelling never changes the last 8 bytes
 * of a line that has 8, and shorter lines always pass.
 */
static unsigned tail_bit(const char *path, size_t len)
{
	uint64_t x = 0;
	size_t n = len < 8 ? len : 8;
	memcpy(&x, path + len - n, n);
	return (unsigned)((x * 0x9e3779b97f4a7c15u) >> 48);
}

static void tail_add(struct pkgdb *db, const char *path, size_t len)
{
	unsigned b = tail_bit(path, len);
	db->tails[b / 64] |= (uint64_t)1 << (b % 64);
}

static bool tail_maybe(const struct pkgdb *db, const char *path, size_t len)
{
	if (len < 8)
		return true;
	unsigned b = tail_bit(path, len);
	return db->tails[b / 64] >> (b % 64) & 1;
}

/* True when ROOT/DIR is a symlink to usr/DIR (or /usr/DIR). */
static bool is_merged(const char *root, const char *dir)
{
	char link[PATH_MAX], target[PATH_MAX], want[64];
	ssize_t n = join(link, root ? root : "", dir) ? readlink(link, target, sizeof(target) - 1) : -1;
	if (n <= 0)
		return false;
	while (n > 1 && target[n - 1] == '/')
		n--;
	target[n] = '\0';
	snprintf(want, sizeof(want), "usr/%s", dir);
	return strcmp(target, want) == 0 || (target[0] == '/' && strcmp(target + 1, want) == 0);
}

static bool installed_state(const char *status)
{
	const char *word = strrchr(status, ' ');
	word = word ? word + 1 : status;
	return strcmp(word, "installed") == 0 || strcmp(word, "triggers-pending") == 0 ||
	       strcmp(word, "triggers-awaited") == 0;
}

/* One paragraph of the status file, fields pointing into the kept buffer. */
struct paragraph {
	const char *package, *status, *version, *arch;
};

static void add_package(struct pkgdb *db, const struct paragraph *p)
{
	if (!p->package || !p->status || !p->version || !p->arch || !installed_state(p->status))
		return;
	struct pkg *k = xcalloc(1, sizeof(*k));
	k->pub = (struct pkgdb_pkg){ p->package, p->version, p->arch };
	size_t n = strlen(p->package) + strlen(p->arch) + 2;
	k->qualified = xmalloc(n);
	snprintf(k->qualified, n, "%s:%s", p->package, p->arch);
	xgrow(&db->pkgs, &db->pkgs_cap, db->n_pkgs + 1, sizeof(*db->pkgs));
	db->pkgs[db->n_pkgs++] = k;
	void **slot = map_slot(&db->by_name, k->qualified, n - 1, NULL);
	if (!*slot)
		*slot = k;
	slot = map_slot(&db->by_name, p->package, strlen(p->package), NULL);
	if (!*slot)
		*slot = k; /* NAME.list: a package that is not Multi-Arch: same */
}

/* The value of field `name` on `line` ("Name: value"), or NULL when the line is another field. */
static const char *field(char *line, const char *name)
{
	size_t n = strlen(name);
	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	char *v = line + n + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	char *end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return v;
}

static void parse_status(struct pkgdb *db)
{
	struct paragraph p = { 0 };
	for (char *line = db->status.data; line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		const char *v;
		if (line[0] == '\0') {
			add_package(db, &p);
			p = (struct paragraph){ 0 };
		} else if (line[0] != ' ' && line[0] != '\t') {
			if ((v = field(line, "Package")))
				p.package = v;
			else if ((v = field(line, "Status")))
				p.status = v;
			else if ((v = field(line, "Version")))
				p.version = v;
			else if ((v = field(line, "Architecture")))
				p.arch = v;
		}
		line = nl ? nl + 1 : NULL;
	}
	add_package(db, &p);
}

/* The diversions file: three lines each, source, destination, diverting package (":" local). */
static void parse_diversions(struct pkgdb *db)
{
	char *lines[3];
	int k = 0;
	for (char *line = db->diversions_text.data; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		lines[k++] = line;
		line = nl ? nl + 1 : NULL;
		if (k < 3)
			continue;
		k = 0;
		size_t n;
		struct diversion d = {
			.from = canonical_kept(db, lines[0], strlen(lines[0]), &n),
			.to = canonical_kept(db, lines[1], strlen(lines[1]), &n),
			.by = lines[2],
		};
		xgrow(&db->divs, &db->divs_cap, db->n_divs + 1, sizeof(*db->divs));
		db->divs[db->n_divs++] = d;
	}
	/* Indexed once the array stops moving. */
	for (size_t i = 0; i < db->n_divs; i++) {
		struct diversion *d = &db->divs[i];
		*map_slot(&db->div_from, d->from, strlen(d->from), NULL) = d;
		*map_slot(&db->div_to, d->to, strlen(d->to), NULL) = d;
	}
}

/*
 * No dpkg database under `root`: open its rpm database when there is one and
 * librpm is built in (true), else say why nothing is looked up (false).
 */
static bool open_rpm(struct pkgdb *db, const char *root, char *why, size_t whylen)
{
	bool dir_only = false;
#if HAVE_LIBRPM
	const char *dbpath = rpmq_find(root, &dir_only);
	if (dbpath) {
		db->rpm = rpmq_open(root, dbpath, why, whylen);
		db->kind = "rpm";
		return db->rpm != NULL;
	}
	if (dir_only) {
		snprintf(why, whylen, "no package database (an rpm database directory without a database)");
		return false;
	}
#else
	char p[PATH_MAX];
	struct stat st;
	const char *const rpm_dirs[] = { "/var/lib/rpm", "/usr/lib/sysimage/rpm" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s%s", root ? root : "", rpm_dirs[i]);
		dir_only |= stat(p, &st) == 0 && S_ISDIR(st.st_mode);
	}
	if (dir_only) {
		snprintf(why, whylen, "an rpm database, and this fingerprint was built without librpm");
		return false;
	}
#endif
	snprintf(why, whylen, "no package database");
	return false;
}

struct pkgdb *pkgdb_open(const char *root, char *why, size_t whylen)
{
	char path[PATH_MAX];
	struct pkgdb *db = xcalloc(1, sizeof(*db));

	if (snprintf(db->dir, sizeof(db->dir), "%s" DPKG_DIR, root ? root : "") >= (int)sizeof(db->dir) ||
	    !join(path, db->dir, "status")) {
		snprintf(why, whylen, "the root's path is too long");
		pkgdb_free(db);
		return NULL;
	}
	for (size_t i = 0; i < N_MERGED; i++)
		db->merged[i] = is_merged(root, merged_dirs[i]);
	ssize_t r = buf_read_file(&db->status, path);
	if (r == -ENOENT && open_rpm(db, root, why, whylen))
		return db;
	if (r < 0) {
		if (r != -ENOENT)
			snprintf(why, whylen, "cannot read %s: %s", path, strerror((int)-r));
		pkgdb_free(db);
		return NULL;
	}
	db->kind = "dpkg";
	parse_status(db);
	if (join(path, db->dir, "diversions") && buf_read_file(&db->diversions_text, path) > 0)
		parse_diversions(db);
	return db;
}

void pkgdb_want(struct pkgdb *db, const char *path)
{
	size_t len;
	const char *c = canonical_kept(db, path, strlen(path), &len);
	void **slot = map_slot(&db->wants, c, len, NULL);
	if (*slot)
		return;
	struct want *w = xcalloc(1, sizeof(*w));
	*slot = w;
	tail_add(db, c, len);
	const struct diversion *d = map_get(&db->div_from, c, len);
	if (d)
		w->only_by = d->by;
	d = map_get(&db->div_to, c, len);
	if (d) {
		struct redirect *r = xmalloc(sizeof(*r));
		*r = (struct redirect){ w, d->by };
		void **rs = map_slot(&db->redirects, d->from, strlen(d->from), NULL);
		tail_add(db, d->from, strlen(d->from));
		free(*rs);
		*rs = r;
	}
}

static int pkg_cmp(const struct pkgdb_pkg *a, const struct pkgdb_pkg *b)
{
	int r = strcmp(a->name, b->name);
	return r ? r : strcmp(a->arch, b->arch);
}

static void claim(struct want *w, const struct pkgdb_pkg *p)
{
	if (!w->owner || pkg_cmp(p, w->owner) < 0)
		w->owner = p;
}

/* Match the lines of one package's file list against the wanted paths. */
static void match_list(struct pkgdb *db, const struct pkg *k, const char *text, size_t n)
{
	char buf[PATH_MAX];
	for (const char *line = text, *end = text + n; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line), clen;
		if (!tail_maybe(db, line, len)) {
			line = nl ? nl + 1 : end;
			continue;
		}
		const char *c = canonical(db, line, len, buf, &clen);
		struct want *w = map_get(&db->wants, c, clen);
		if (w && (!w->only_by || strcmp(w->only_by, k->pub.name) == 0))
			claim(w, &k->pub);
		if (db->redirects.size) {
			const struct redirect *r = map_get(&db->redirects, c, clen);
			if (r && strcmp(r->except, k->pub.name) != 0)
				claim(r->to, &k->pub);
		}
		line = nl ? nl + 1 : end;
	}
}

/*
 * Match the list file at `path` of package `k`, read in blocks of `cap`
 * bytes through `buf` (lists reach megabytes). Returns 0 or -errno.
 */
static int match_list_file(struct pkgdb *db, const struct pkg *k, const char *path, char *buf, size_t cap)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t have = 0;
	bool skipping = false; /* inside a line longer than the buffer: no path of ours */

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r = read(fd, buf + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		have += (size_t)r;
		char *last = memrchr(buf, '\n', have);
		if (!last) {
			if (have == cap) {
				skipping = true;
				have = 0;
			}
			continue;
		}
		char *from = buf;
		if (skipping) {
			from = memchr(buf, '\n', have) + 1;
			skipping = false;
		}
		if (from <= last)
			match_list(db, k, from, (size_t)(last + 1 - from));
		have -= (size_t)(last + 1 - buf);
		memmove(buf, last + 1, have);
	}
	if (have && !skipping)
		match_list(db, k, buf, have);
	return 0;
}

#if HAVE_LIBRPM
struct rpm_claim {
	struct pkgdb *db;
	struct want *w;
};

/* One package rpm says lists the wanted path: the database's entry for it (one per name, EVR, arch). */
static void rpm_claim(void *ctx, const char *name, const char *evr, const char *arch)
{
	struct rpm_claim *c = ctx;
	struct pkgdb *db = c->db;
	size_t n = strlen(name) + strlen(evr) + strlen(arch) + 3;
	char *key = xmalloc(n);
	snprintf(key, n, "%s\n%s\n%s", name, evr, arch);
	const char **kp = NULL;
	void **slot = map_slot(&db->by_name, key, n - 1, &kp);
	if (!*slot) {
		struct pkg *k = xcalloc(1, sizeof(*k));
		k->pub = (struct pkgdb_pkg){ db_intern(db, name, strlen(name)), db_intern(db, evr, strlen(evr)),
					     db_intern(db, arch, strlen(arch)) };
		k->qualified = steal_pointer(&key);
		*kp = k->qualified;
		xgrow(&db->pkgs, &db->pkgs_cap, db->n_pkgs + 1, sizeof(*db->pkgs));
		db->pkgs[db->n_pkgs++] = k;
		*slot = k;
	}
	free(key);
	claim(c->w, &((struct pkg *)*slot)->pub);
}

/*
 * rpm keeps no per-package list to scan: ask its file index for each wanted
 * path. librpm matches by directory identity (its "fingerprints", resolved
 * inside the root), so a package listing /lib/x owns /usr/lib/x when the
 * root's /lib is a symlink to usr/lib, and the reverse.
 */
static void rpm_load(struct pkgdb *db)
{
	MAP_FOREACH(&db->wants, i) {
		struct rpm_claim c = { db, db->wants.vals[i] };
		rpmq_owners(db->rpm, db->wants.keys[i], rpm_claim, &c);
	}
}
#endif

size_t pkgdb_load(struct pkgdb *db, char *err, size_t errlen)
{
	enum { BLOCK = 64 * 1024 };
	char info[PATH_MAX], path[PATH_MAX];
	size_t failed = 0;

#if HAVE_LIBRPM
	if (db->rpm) {
		rpm_load(db);
		return 0;
	}
#endif

	errno = ENAMETOOLONG;
	DIR *d = join(info, db->dir, "info") ? opendir(info) : NULL;
	if (!d) {
		snprintf(err, errlen, "cannot read %s: %s", info, strerror(errno));
		return 1;
	}
	autofree char *buf = xmalloc(BLOCK);
	for (struct dirent *e; (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		if (n <= 5 || strcmp(e->d_name + n - 5, ".list") != 0)
			continue;
		const struct pkg *k = map_get(&db->by_name, e->d_name, n - 5);
		if (!k)
			continue; /* not installed: its list may be stale */
		int r = join(path, info, e->d_name) ? match_list_file(db, k, path, buf, BLOCK) : -ENAMETOOLONG;
		if (r < 0 && failed++ == 0)
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(-r));
	}
	closedir(d);
	return failed;
}

const struct pkgdb_pkg *pkgdb_owner(const struct pkgdb *db, const char *path)
{
	char buf[PATH_MAX];
	size_t len;
	const char *c = canonical(db, path, strlen(path), buf, &len);
	const struct want *w = map_get(&db->wants, c, len);
	return w ? w->owner : NULL;
}

const char *pkgdb_kind(const struct pkgdb *db)
{
	return db->kind;
}

void pkgdb_free(struct pkgdb *db)
{
	if (!db)
		return;
#if HAVE_LIBRPM
	rpmq_close(db->rpm);
#endif
	for (size_t i = 0; i < db->n_pkgs; i++) {
		free(db->pkgs[i]->qualified);
		free(db->pkgs[i]);
	}
	free(db->pkgs);
	MAP_FOREACH(&db->wants, i)
		free(db->wants.vals[i]);
	MAP_FOREACH(&db->redirects, i)
		free(db->redirects.vals[i]);
	MAP_FOREACH(&db->strings, i)
		free((void *)db->strings.keys[i]);
	map_free(&db->by_name);
	map_free(&db->div_from);
	map_free(&db->div_to);
	map_free(&db->wants);
	map_free(&db->redirects);
	map_free(&db->strings);
	free(db->divs);
	buf_free(&db->status);
	buf_free(&db->diversions_text);
	free(db);
}
