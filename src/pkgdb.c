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

#include "cachedir.h"
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
	struct map dirs;             /* dpkg_load with the cache: every ancestor of a wanted path -> LISTED_UNDER or not */
	struct map empty_dirs;       /* directories under which no installed package lists a path */
	char stop[PATH_MAX];         /* mark_dirs: the last line's first prefix not in `dirs` */
	size_t stop_len;
	const char *kind;            /* "dpkg" or "rpm" */
	bool use_cache;              /* the persistent owners cache (dpkg) */
	bool from_cache;             /* pkgdb_load answered from it (the status was not parsed) */
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
	/* Only opened here: a hit in the owners cache never reads it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int r = fd < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	if (r == -ENOENT && open_rpm(db, root, why, whylen))
		return db;
	if (r < 0) {
		if (r != -ENOENT)
			snprintf(why, whylen, "cannot read %s: %s", path, strerror(-r));
		pkgdb_free(db);
		return NULL;
	}
	db->kind = "dpkg";
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

#define LISTED_UNDER ((void *)2) /* in `dirs`: a listed path lies under it (else (void *)1) */

/* Put every ancestor directory of the canonical `path` in `dirs` (not yet known to have a listed path under it). */
static void want_dirs(struct pkgdb *db, const char *path, size_t len)
{
	for (size_t i = 1; i < len; i++) {
		if (path[i] != '/')
			continue;
		void **slot = map_slot(&db->dirs, path, i, NULL); /* path is interned: its prefixes stay valid */
		if (!*slot)
			*slot = (void *)1;
	}
}

/*
 * A list line: mark the directories of `dirs` it lies under, shallowest
 * first. `dirs` holds every ancestor of its members, so the first prefix
 * missing from it ends the walk.
 */
static void mark_dirs(struct pkgdb *db, const char *line, size_t len)
{
	char buf[PATH_MAX];
	size_t clen;
	const char *c = canonical(db, line, len, buf, &clen);
	/* Lists go directory by directory: under the previous line's first prefix not in `dirs`, nothing to do. */
	if (db->stop_len && clen > db->stop_len && c[db->stop_len] == '/' && memcmp(c, db->stop, db->stop_len) == 0)
		return;
	for (size_t i = 1; i < clen; i++) {
		if (c[i] != '/')
			continue;
		void **slot = map_slot_if(&db->dirs, c, i);
		if (!slot) {
			memcpy(db->stop, c, i);
			db->stop_len = i;
			return;
		}
		*slot = LISTED_UNDER;
	}
}

/* The shallowest directory above `path` that nothing listed lies under, or 0 (its length). */
static size_t empty_above(const struct pkgdb *db, const char *path, size_t len)
{
	for (size_t i = 1; i < len; i++)
		if (path[i] == '/' && map_get(&db->dirs, path, i) == (void *)1)
			return i;
	return 0;
}

/* Match the lines of one package's file list against the wanted paths. */
static void match_list(struct pkgdb *db, const struct pkg *k, const char *text, size_t n)
{
	char buf[PATH_MAX];
	for (const char *line = text, *end = text + n; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line), clen;
		if (db->dirs.size)
			mark_dirs(db, line, len);
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

/*
 * The owners cache, $XDG_CACHE_HOME/fingerprint/dpkg-owners-v1: the answers
 * of earlier runs, so a job traced again on an unchanged host reads no file
 * list. Its first line is the key: the database's status, info directory
 * and diversions (dpkg replaces one of them on any install, removal, upgrade
 * or diversion) and the root's /usr-merge state; then
 * "PATH\tNAME\tVERSION\tARCH" or "PATH\t" (nobody's) per canonical path, so
 * a hit needs not even the status parsed, and "DIR/\t" for a directory that
 * no installed package lists anything under: every path below it is
 * nobody's (found exactly from the lists, which may leave out a directory's
 * own line). Another key: the file is ignored.
 */
#define OWNERS_FILE "dpkg-owners-v1"
#define OWNERS_MAX_BYTES (16 << 20)
#define OWNERS_MAX 100000 /* paths kept: this run's, then the earlier ones */

struct owners_cache {
	int dirfd;
	char key[PATH_MAX + 256];
	struct buf text;
	struct map paths; /* canonical path -> "NAME\tVERSION\tARCH", or "" for nobody's; into `text` */
	struct map empty; /* "DIR/\t" lines: directories under which nothing is listed (DIR, into `text`) */
};

/* Whether a directory of `dirs` is above the canonical `path`: nothing listed lies under it. */
static bool under_empty(const struct map *dirs, const char *path, size_t len)
{
	for (size_t i = 1; dirs->size && i < len; i++)
		if (path[i] == '/' && map_get(dirs, path, i))
			return true;
	return false;
}

static bool stat_in(const struct pkgdb *db, const char *name, struct stat *st)
{
	char p[PATH_MAX];
	return join(p, db->dir, name) && stat(p, st) == 0;
}

static bool owners_key(const struct pkgdb *db, char *key, size_t n)
{
	struct stat s, i, d = { 0 };
	if (!stat_in(db, "status", &s) || !stat_in(db, "info", &i))
		return false;
	bool div = stat_in(db, "diversions", &d);
	char merged[N_MERGED + 1];
	for (size_t k = 0; k < N_MERGED; k++)
		merged[k] = db->merged[k] ? '1' : '0';
	merged[N_MERGED] = '\0';
	int r = snprintf(key, n, "fingerprint dpkg owners 1 %s %ju:%ju:%jd:%jd.%09ld %ju:%ju:%jd.%09ld %d:%jd:%jd.%09ld %s\n",
			 db->dir, (uintmax_t)s.st_dev, (uintmax_t)s.st_ino, (intmax_t)s.st_size, (intmax_t)s.st_mtim.tv_sec,
			 s.st_mtim.tv_nsec, (uintmax_t)i.st_dev, (uintmax_t)i.st_ino, (intmax_t)i.st_mtim.tv_sec,
			 i.st_mtim.tv_nsec, div, (intmax_t)d.st_size, (intmax_t)d.st_mtim.tv_sec, d.st_mtim.tv_nsec, merged);
	return r > 0 && (size_t)r < n && !strchr(db->dir, '\n');
}

/* Open the cache and, when its key is this database's, index its lines. */
static void owners_read(const struct pkgdb *db, struct owners_cache *oc)
{
	oc->dirfd = cachedir_open("package owner cache");
	if (oc->dirfd < 0 || !owners_key(db, oc->key, sizeof(oc->key)))
		return;
	size_t klen = strlen(oc->key);
	if (cachedir_read(oc->dirfd, OWNERS_FILE, &oc->text, OWNERS_MAX_BYTES) < 0 || oc->text.len < klen ||
	    memcmp(oc->text.data, oc->key, klen) != 0)
		return;
	for (char *line = oc->text.data + klen, *end = oc->text.data + oc->text.len; line < end;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			break; /* truncated */
		*nl = '\0';
		char *tab = strchr(line, '\t');
		if (tab && line[0] == '/' && tab - line > 1 && tab[-1] == '/' && !tab[1]) {
			*map_slot(&oc->empty, line, (size_t)(tab - line - 1), NULL) = line;
		} else if (tab && line[0] == '/') {
			*tab = '\0';
			*map_slot(&oc->paths, line, (size_t)(tab - line), NULL) = tab + 1;
		}
		line = nl + 1;
	}
}

/* The database's package for a cache line's "NAME\tVERSION\tARCH", or NULL when malformed. */
static const struct pkgdb_pkg *cached_pkg(struct pkgdb *db, const char *v)
{
	const char *t1 = strchr(v, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
	if (!t1 || !t2 || t1 == v || t2 == t1 + 1 || !t2[1] || strchr(t2 + 1, '\t'))
		return NULL;
	const char **key = NULL;
	void **slot = map_slot(&db->by_name, v, strlen(v), &key);
	if (!*slot) {
		struct pkg *k = xcalloc(1, sizeof(*k));
		k->pub = (struct pkgdb_pkg){ db_intern(db, v, (size_t)(t1 - v)),
					     db_intern(db, t1 + 1, (size_t)(t2 - t1 - 1)), db_intern(db, t2 + 1, strlen(t2 + 1)) };
		k->qualified = xstrdup(v); /* the whole line: the key of this database's entries */
		*key = k->qualified;
		xgrow(&db->pkgs, &db->pkgs_cap, db->n_pkgs + 1, sizeof(*db->pkgs));
		db->pkgs[db->n_pkgs++] = k;
		*slot = k;
	}
	return &((struct pkg *)*slot)->pub;
}

/*
 * Nobody's, known without the lists: under a directory nothing is listed
 * under (a diversion's destination is owned without being listed).
 */
static bool empty_by_cache(const struct pkgdb *db, const struct owners_cache *oc, const char *path, size_t len)
{
	return under_empty(&oc->empty, path, len) && !map_get(&db->div_to, path, len);
}

/* Every wanted path answered by the cache: the owners are set and true is returned; else nothing changes. */
static bool owners_from_cache(struct pkgdb *db, const struct owners_cache *oc)
{
	if (!oc->paths.size && !oc->empty.size)
		return false;
	MAP_FOREACH(&db->wants, i)
		if (!map_get(&oc->paths, db->wants.keys[i], db->wants.lens[i]) &&
		    !empty_by_cache(db, oc, db->wants.keys[i], db->wants.lens[i]))
			return false; /* asked for the first time */
	MAP_FOREACH(&db->wants, i) {
		const char *v = map_get(&oc->paths, db->wants.keys[i], db->wants.lens[i]);
		((struct want *)db->wants.vals[i])->owner = v && *v ? cached_pkg(db, v) : NULL;
	}
	return true;
}

/* "PATH\tNAME\tVERSION\tARCH\n", or "PATH\t\n" for nobody's. */
static void owners_line(struct buf *out, const char *path, size_t len, const struct pkgdb_pkg *p, const char *text)
{
	if (memchr(path, '\n', len) || memchr(path, '\t', len) ||
	    (p && (strpbrk(p->name, "\t\n") || strpbrk(p->version, "\t\n") || strpbrk(p->arch, "\t\n"))))
		return; /* not representable: asked again next time */
	buf_append(out, path, len);
	buf_append(out, "\t", 1);
	if (p) {
		buf_append(out, p->name, strlen(p->name));
		buf_append(out, "\t", 1);
		buf_append(out, p->version, strlen(p->version));
		buf_append(out, "\t", 1);
		buf_append(out, p->arch, strlen(p->arch));
	} else if (text) {
		buf_append(out, text, strlen(text));
	}
	buf_append(out, "\n", 1);
}

/* This run's answers, then the earlier ones it did not ask again, up to OWNERS_MAX. */
static void owners_save(const struct pkgdb *db, const struct owners_cache *oc)
{
	struct buf out = { 0 };
	size_t n = 0;
	if (oc->dirfd < 0 || !oc->key[0])
		return;
	buf_append(&out, oc->key, strlen(oc->key));
	/* The empty directories, this run's and the earlier ones: the paths under them need no line. */
	for (const struct map *m = &db->empty_dirs; m; m = m == &db->empty_dirs ? &oc->empty : NULL)
		MAP_FOREACH(m, i) {
			if (m == &oc->empty && map_get(&db->empty_dirs, m->keys[i], m->lens[i]))
				continue;
			buf_append(&out, m->keys[i], m->lens[i]);
			buf_append(&out, "/\t\n", 3);
			n++;
		}
	MAP_FOREACH(&db->wants, i) {
		const struct want *w = db->wants.vals[i];
		if (!w->owner && under_empty(&db->empty_dirs, db->wants.keys[i], db->wants.lens[i]))
			continue;
		owners_line(&out, db->wants.keys[i], db->wants.lens[i], w->owner, NULL);
		n++;
	}
	MAP_FOREACH(&oc->paths, i) {
		if (n >= OWNERS_MAX)
			break;
		if (under_empty(&db->empty_dirs, oc->paths.keys[i], oc->paths.lens[i]) && !*(const char *)oc->paths.vals[i])
			continue;
		if (!map_get(&db->wants, oc->paths.keys[i], oc->paths.lens[i])) {
			owners_line(&out, oc->paths.keys[i], oc->paths.lens[i], NULL, oc->paths.vals[i]);
			n++;
		}
	}
	cachedir_replace(oc->dirfd, OWNERS_FILE, out.data, out.len);
	buf_free(&out);
}

static void owners_close(struct owners_cache *oc)
{
	if (oc->dirfd >= 0)
		close(oc->dirfd);
	map_free(&oc->paths);
	map_free(&oc->empty);
	buf_free(&oc->text);
}

void pkgdb_use_cache(struct pkgdb *db, bool on)
{
	db->use_cache = on;
}

static size_t dpkg_load(struct pkgdb *db, char *err, size_t errlen);

size_t pkgdb_load(struct pkgdb *db, char *err, size_t errlen)
{
#if HAVE_LIBRPM
	if (db->rpm) {
		rpm_load(db);
		return 0;
	}
#endif
	if (!db->use_cache)
		return dpkg_load(db, err, errlen);
	struct owners_cache oc = { .dirfd = -1 };
	owners_read(db, &oc);
	size_t failed = 0;
	db->from_cache = owners_from_cache(db, &oc);
	if (!db->from_cache) {
		/* Learn, for the cache, the directories above nobody's paths that nothing is listed under. */
		MAP_FOREACH(&db->wants, i)
			want_dirs(db, db->wants.keys[i], db->wants.lens[i]);
		failed = dpkg_load(db, err, errlen);
		MAP_FOREACH(&db->wants, i) {
			size_t n = ((struct want *)db->wants.vals[i])->owner ||
						   map_get(&db->div_to, db->wants.keys[i], db->wants.lens[i])
					   ? 0
					   : empty_above(db, db->wants.keys[i], db->wants.lens[i]);
			if (n)
				*map_slot(&db->empty_dirs, db->wants.keys[i], n, NULL) = (void *)1;
		}
		if (!failed)
			owners_save(db, &oc);
	}
	owners_close(&oc);
	return failed;
}

/* Read every package's file list once, matching the wanted paths. */
static size_t dpkg_load(struct pkgdb *db, char *err, size_t errlen)
{
	enum { BLOCK = 64 * 1024 };
	char info[PATH_MAX], path[PATH_MAX];
	size_t failed = 0;
	ssize_t got = join(path, db->dir, "status") ? buf_read_file(&db->status, path) : -ENAMETOOLONG;
	if (got < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror((int)-got));
		return 1;
	}
	parse_status(db);
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

bool pkgdb_from_cache(const struct pkgdb *db)
{
	return db->from_cache;
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
	map_free(&db->dirs);
	map_free(&db->empty_dirs);
	free(db->divs);
	buf_free(&db->status);
	buf_free(&db->diversions_text);
	free(db);
}
