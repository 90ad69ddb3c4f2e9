#include "config.h"
#include "ldso.h"

#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/*
 * The loader modelled is glibc 2.36 as Debian 12 builds it. What it does
 * that this file does not: glibc-hwcaps and legacy hwcap subdirectories
 * (DIR/glibc-hwcaps/x86-64-v3, DIR/tls, DIR/x86_64) are not searched and
 * cache entries carrying hwcap bits are used only when no plain entry
 * exists; a non-ELF file found in a search directory is skipped (the
 * loader stops with "invalid ELF header"); secure (setuid) mode is not
 * modelled.
 */

#define CACHE_OLD_MAGIC "ld.so-1.7.0"
#define CACHE_NEW_MAGIC "glibc-ld.so.cache1.1"
#define CACHE_OLD_HEADER 16u   /* magic[11], pad, uint32 nlibs */
#define CACHE_OLD_ENTRY 12u    /* int32 flags, uint32 key, value */
#define CACHE_NEW_HEADER 48u   /* magic+version[20], nlibs, len_strings, flags, pad[3], ext, unused[3] */
#define CACHE_NEW_ENTRY 24u    /* int32 flags, uint32 key, value, osversion, uint64 hwcap */
#define MAX_SYMLINKS 40
#define NAME_MISSING ((void *)(uintptr_t)-1)

struct cache_ent {
	uint32_t flags;
	const char *key, *value;
	uint64_t hwcap;
};

struct ldso {
	char *root;             /* NULL for the host, else without trailing slash */
	char *llp;              /* LD_LIBRARY_PATH, or NULL */
	char *preload;          /* ROOT/etc/ld.so.preload contents, or NULL */
	struct buf cache;       /* ROOT/etc/ld.so.cache contents */
	struct cache_ent *ents; /* entries pointing into `cache`, in file order */
	size_t n_ents;
};

/* What the loader of one ABI uses: Debian multiarch names, cache flags. */
struct abi {
	int elfclass;
	uint16_t machine;
	const char *triplet;   /* Debian multiarch directory */
	const char *libdir;    /* upstream $LIB when the root is not multiarch */
	const char *platform;  /* AT_PLATFORM, NULL for the machine name */
	uint32_t cache_ids[3]; /* ld.so.cache flags accepted, 0-terminated */
};

static const struct abi abis[] = {
	{ 64, EM_X86_64, "x86_64-linux-gnu", "lib64", "x86_64", { 0x0303 } },
	{ 32, EM_X86_64, "x86_64-linux-gnux32", "libx32", "x86_64", { 0x0803 } },
	{ 32, EM_386, "i386-linux-gnu", "lib", "i686", { 0x0003, 0x0001 } },
	{ 64, EM_AARCH64, "aarch64-linux-gnu", "lib64", "aarch64", { 0x0a03 } },
	{ 32, EM_ARM, "arm-linux-gnueabihf", "lib", NULL, { 0x0903, 0x0b03, 0x0003 } },
	{ 64, EM_PPC64, "powerpc64le-linux-gnu", "lib64", NULL, { 0x0503 } },
	{ 64, EM_S390, "s390x-linux-gnu", "lib64", NULL, { 0x0403 } },
	{ 64, EM_RISCV, "riscv64-linux-gnu", "lib64", NULL, { 0x1003 } },
};
static const struct abi abi_generic = { 0, 0, NULL, "lib", NULL, { 0x0003, 0x0001 } };

const char *ldso_via_name(enum ldso_via v)
{
	switch (v) {
	case LDSO_VIA_RPATH: return "rpath";
	case LDSO_VIA_LD_LIBRARY_PATH: return "ld_library_path";
	case LDSO_VIA_RUNPATH: return "runpath";
	case LDSO_VIA_CACHE: return "ld.so.cache";
	case LDSO_VIA_DEFAULT: return "default-path";
	case LDSO_VIA_PATH: return "path";
	case LDSO_VIA_PRELOAD: return "preload";
	}
	return "unknown";
}

/* ---- paths inside the root ---- */

/*
 * Resolve the image path `img` inside the root the way the kernel would
 * inside a chroot: symlinks followed (absolute ones from the root), ".."
 * applied after them. Writes the image's own view of the result to `res`
 * (PATH_MAX bytes). Components that do not exist are appended as they are.
 * Returns 0, -ELOOP or -ENAMETOOLONG.
 */
static int root_walk(const struct ldso *l, const char *img, char *res)
{
	char rest[2 * PATH_MAX], tmp[2 * PATH_MAX], host[PATH_MAX], target[PATH_MAX];
	size_t rlen = 0;
	int links = 0;

	if (snprintf(rest, sizeof(rest), "%s", img) >= (int)sizeof(rest))
		return -ENAMETOOLONG;
	res[0] = '\0';
	const char *p = rest;
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		const char *comp = p;
		p += n;
		if (n == 1 && comp[0] == '.')
			continue;
		if (n == 2 && comp[0] == '.' && comp[1] == '.') {
			while (rlen > 0 && res[rlen - 1] != '/')
				rlen--;
			if (rlen > 0)
				rlen--;
			res[rlen] = '\0';
			continue;
		}
		size_t before = rlen;
		if (rlen + 1 + n >= PATH_MAX)
			return -ENAMETOOLONG;
		res[rlen++] = '/';
		memcpy(res + rlen, comp, n);
		rlen += n;
		res[rlen] = '\0';
		if (snprintf(host, sizeof(host), "%s%s", l->root, res) >= (int)sizeof(host))
			return -ENAMETOOLONG;
		struct stat st;
		if (lstat(host, &st) < 0 || !S_ISLNK(st.st_mode))
			continue;
		if (++links > MAX_SYMLINKS)
			return -ELOOP;
		ssize_t tl = readlink(host, target, sizeof(target) - 1);
		if (tl <= 0)
			continue;
		target[tl] = '\0';
		rlen = target[0] == '/' ? 0 : before;
		res[rlen] = '\0';
		if (snprintf(tmp, sizeof(tmp), "%s/%s", target, p) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
		memcpy(rest, tmp, strlen(tmp) + 1);
		p = rest;
	}
	if (rlen == 0)
		strcpy(res, "/");
	return 0;
}

/* The host path of the image path `img` (PATH_MAX bytes). Returns 0 or -errno. */
static int host_path(const struct ldso *l, const char *img, char *out)
{
	if (!l->root) {
		if (strlen(img) >= PATH_MAX)
			return -ENAMETOOLONG;
		strcpy(out, img);
		return 0;
	}
	char res[PATH_MAX];
	int r = root_walk(l, img, res);
	if (r < 0)
		return r;
	if (snprintf(out, PATH_MAX, "%s%s", l->root, res) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static bool is_dir_in_root(const struct ldso *l, const char *img)
{
	char host[PATH_MAX];
	struct stat st;
	return host_path(l, img, host) == 0 && stat(host, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The directory part of `path` as a new string: "/" for "/x", "." for "x". */
static char *dir_of(const char *path)
{
	const char *s = strrchr(path, '/');
	if (!s)
		return xstrdup(".");
	if (s == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(s - path));
}

/* ---- /etc/ld.so.cache ---- */

static uint32_t get32(const unsigned char *p, bool swap)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap32(v) : v;
}

static uint64_t get64(const unsigned char *p, bool swap)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap64(v) : v;
}

/* A NUL-terminated string at `off` of the `size` bytes at `base`, or NULL. */
static const char *cache_str(const unsigned char *base, size_t size, uint32_t off)
{
	if (off >= size || !memchr(base + off, '\0', size - off))
		return NULL;
	return (const char *)base + off;
}

/*
 * Fill l->ents from the `n` entries of `esize` bytes at `ents`, whose string
 * offsets count from `strings` (of `ssize` bytes). Any bad offset makes the
 * whole cache empty, as the loader's own checks would reject it.
 */
static void cache_fill(struct ldso *l, const unsigned char *ents, uint64_t n, size_t esize,
		       const unsigned char *strings, size_t ssize, bool swap)
{
	l->ents = xcalloc(n ? n : 1, sizeof(*l->ents));
	for (uint64_t i = 0; i < n; i++) {
		const unsigned char *e = ents + i * esize;
		struct cache_ent *c = &l->ents[i];
		c->flags = get32(e, swap);
		c->key = cache_str(strings, ssize, get32(e + 4, swap));
		c->value = cache_str(strings, ssize, get32(e + 8, swap));
		c->hwcap = esize == CACHE_NEW_ENTRY ? get64(e + 16, swap) : 0;
		if (!c->key || !c->value) {
			free(l->ents);
			l->ents = NULL;
			return;
		}
	}
	l->n_ents = (size_t)n;
}

static void cache_parse(struct ldso *l)
{
	const unsigned char *p = (const unsigned char *)l->cache.data;
	size_t size = l->cache.len;
	size_t new_at = SIZE_MAX;

	if (size >= CACHE_OLD_HEADER && memcmp(p, CACHE_OLD_MAGIC, strlen(CACHE_OLD_MAGIC)) == 0) {
		uint64_t n = get32(p + 12, false);
		uint64_t end = CACHE_OLD_HEADER + n * CACHE_OLD_ENTRY;
		if (end > size)
			return;
		uint64_t aligned = (end + 7) & ~(uint64_t)7;
		if (aligned + CACHE_NEW_HEADER <= size &&
		    memcmp(p + aligned, CACHE_NEW_MAGIC, strlen(CACHE_NEW_MAGIC)) == 0) {
			new_at = (size_t)aligned;
		} else {
			cache_fill(l, p + CACHE_OLD_HEADER, n, CACHE_OLD_ENTRY, p + end, size - end, false);
			return;
		}
	} else if (size >= CACHE_NEW_HEADER && memcmp(p, CACHE_NEW_MAGIC, strlen(CACHE_NEW_MAGIC)) == 0) {
		new_at = 0;
	} else {
		return;
	}

	const unsigned char *h = p + new_at;
	size_t hsize = size - new_at;
	/* flags bits 0-1: 0 unknown, 1 invalid, 2 little-endian, 3 big-endian */
	unsigned endian = h[28] & 3;
	bool host_le = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
	if (endian == 1)
		return;
	bool swap = endian != 0 && (endian == 2) != host_le;
	uint64_t n = get32(h + 20, swap);
	if (CACHE_NEW_HEADER + n * CACHE_NEW_ENTRY > hsize)
		return;
	cache_fill(l, h + CACHE_NEW_HEADER, n, CACHE_NEW_ENTRY, h, hsize, swap);
}

/*
 * The cache's path for `name` among the entries whose flags are in `ids`:
 * the first plain entry in file order (the loader's binary search lands on
 * the same run of equal keys and takes the first that fits), else the
 * first hwcap entry. NULL when none.
 */
static const char *cache_lookup(const struct ldso *l, const uint32_t *ids, const char *name)
{
	const char *hw = NULL;
	for (size_t i = 0; i < l->n_ents; i++) {
		const struct cache_ent *e = &l->ents[i];
		if (strcmp(e->key, name) != 0)
			continue;
		bool ok = false;
		for (size_t k = 0; k < 3 && ids[k]; k++)
			ok |= e->flags == ids[k];
		if (!ok)
			continue;
		if (e->hwcap == 0)
			return e->value;
		if (!hw)
			hw = e->value;
	}
	return hw;
}

/* ---- the context ---- */

static char *read_in_root(const struct ldso *l, const char *img, struct buf *b)
{
	char host[PATH_MAX];
	if (host_path(l, img, host) < 0 || buf_read_file(b, host) < 0)
		return NULL;
	return b->data;
}

struct ldso *ldso_new(const char *root, const char *ld_library_path)
{
	struct ldso *l = xcalloc(1, sizeof(*l));
	if (root && strcmp(root, "/") != 0 && root[0] != '\0') {
		size_t n = strlen(root);
		while (n > 1 && root[n - 1] == '/')
			n--;
		l->root = xstrndup(root, n);
	}
	if (ld_library_path)
		l->llp = xstrdup(ld_library_path);
	if (!read_in_root(l, "/etc/ld.so.cache", &l->cache))
		buf_free(&l->cache);
	else
		cache_parse(l);
	struct buf pre = { 0 };
	if (read_in_root(l, "/etc/ld.so.preload", &pre))
		l->preload = steal_pointer(&pre.data);
	buf_free(&pre);
	return l;
}

void ldso_free(struct ldso *l)
{
	if (!l)
		return;
	free(l->root);
	free(l->llp);
	free(l->preload);
	free(l->ents);
	buf_free(&l->cache);
	free(l);
}

/* ---- the closure ---- */

struct obj {
	char *path;        /* as the loader opened it, in the image's view */
	char *origin;      /* $ORIGIN, or NULL when unknown */
	struct elfinfo ei;
	int loader;        /* index of the object that loaded it; -1 for main and interp */
	bool expand;       /* its DT_NEEDED entries are to be loaded */
	dev_t dev;
	ino_t ino;
};

struct closure {
	struct ldso *l;
	const struct abi *abi;
	int elfclass;
	uint16_t machine;
	char libdir[64];        /* $LIB */
	const char *platform;   /* $PLATFORM */
	char *sysdirs[4];
	size_t n_sysdirs;
	struct obj *objs;
	size_t n_objs, cap_objs;
	struct map names;       /* name -> obj index + 1, or NAME_MISSING */
	char **owned;           /* keys of `names` */
	size_t n_owned, cap_owned;
	char **tried;           /* the current lookup's directories, NULL-terminated */
	size_t n_tried, cap_tried;
	void (*fn)(const struct ldso_dep *, void *);
	void *ctx;
	int unresolved;
};

/* A candidate the loader accepted. */
struct found {
	char *path, *dir;
	enum ldso_via via;
	struct elfinfo ei;
	struct stat st;
};

static void name_add(struct closure *c, const char *name, void *val)
{
	const char **key;
	void **slot = map_slot(&c->names, name, strlen(name), &key);
	if (*slot)
		return;
	xgrow(&c->owned, &c->cap_owned, c->n_owned + 1, sizeof(*c->owned));
	char *own = xstrdup(name);
	c->owned[c->n_owned++] = own;
	*key = own;
	*slot = val;
}

static void *obj_ref(size_t i)
{
	return (void *)(uintptr_t)(i + 1);
}

static void tried_reset(struct closure *c)
{
	for (size_t i = 0; i < c->n_tried; i++)
		free(c->tried[i]);
	c->n_tried = 0;
	if (c->tried)
		c->tried[0] = NULL;
}

/* Add `dir` to the directories tried; false when it was tried already. */
static bool tried_add(struct closure *c, const char *dir)
{
	for (size_t i = 0; i < c->n_tried; i++)
		if (strcmp(c->tried[i], dir) == 0)
			return false;
	xgrow(&c->tried, &c->cap_tried, c->n_tried + 2, sizeof(*c->tried));
	c->tried[c->n_tried++] = xstrdup(dir);
	c->tried[c->n_tried] = NULL;
	return true;
}

/*
 * Whether the file at image path `p` is ELF of the closure's class and
 * machine, as the loader's open_verify requires. On success fills f->ei
 * and f->st.
 */
static bool accept(struct closure *c, const char *p, struct found *f)
{
	char host[PATH_MAX], err[256];
	if (host_path(c->l, p, host) < 0)
		return false;
	if (elfinfo_read(host, &f->ei, err, sizeof(err)) < 0)
		return false;
	if (f->ei.elfclass != c->elfclass || f->ei.e_machine != c->machine || stat(host, &f->st) < 0) {
		elfinfo_free(&f->ei);
		return false;
	}
	return true;
}

static bool try_file(struct closure *c, const char *dir, const char *path, enum ldso_via via, struct found *f)
{
	if (!accept(c, path, f))
		return false;
	f->path = xstrdup(path);
	f->dir = xstrdup(dir);
	f->via = via;
	return true;
}

static bool try_dir(struct closure *c, const char *dir, const char *name, enum ldso_via via, struct found *f)
{
	char path[PATH_MAX];
	if (!tried_add(c, dir))
		return false;
	const char *sep = strcmp(dir, "/") == 0 ? "" : "/";
	if (snprintf(path, sizeof(path), "%s%s%s", dir, sep, name) >= (int)sizeof(path))
		return false;
	return try_file(c, dir, path, via, f);
}

/* Length of the dynamic string token `ref` at `s` (after the '$'), or 0. */
static size_t dst_len(const char *s, size_t n, const char *ref)
{
	size_t rl = strlen(ref);
	if (n > 0 && s[0] == '{')
		return n >= rl + 2 && memcmp(s + 1, ref, rl) == 0 && s[rl + 1] == '}' ? rl + 2 : 0;
	if (n < rl || memcmp(s, ref, rl) != 0)
		return 0;
	return n == rl || s[rl] == '/' ? rl : 0;
}

/*
 * Expand $ORIGIN, $LIB and $PLATFORM (also in braces) in the `n` bytes at
 * `in` into `out` (PATH_MAX bytes). `origin` is the requesting object's
 * directory. Returns false when $ORIGIN is unknown or the result too long:
 * the loader then drops the element. Unknown tokens stay as written.
 */
static bool dst_expand(const struct closure *c, const char *origin, const char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		const char *repl = NULL;
		size_t tl = 0;
		if (in[i] == '$') {
			const char *s = in + i + 1;
			size_t left = n - i - 1;
			if ((tl = dst_len(s, left, "ORIGIN"))) {
				if (!origin)
					return false;
				repl = origin;
			} else if ((tl = dst_len(s, left, "PLATFORM"))) {
				repl = c->platform;
			} else if ((tl = dst_len(s, left, "LIB"))) {
				repl = c->libdir;
			}
		}
		if (!repl) {
			repl = in + i;
			tl = 0;
		}
		size_t rl = tl ? strlen(repl) : 1;
		if (o + rl >= PATH_MAX)
			return false;
		memcpy(out + o, repl, rl);
		o += rl;
		i += tl ? tl + 1 : 1;
	}
	out[o] = '\0';
	return true;
}

/*
 * Search the directories of the path list `list` (split on `seps`,
 * each element expanded against `origin`). An empty element means the
 * current directory, unless `drop_empty` (LD_LIBRARY_PATH).
 */
static bool search_list(struct closure *c, const char *list, const char *seps, bool drop_empty,
			const char *origin, const char *name, enum ldso_via via, struct found *f)
{
	char dir[PATH_MAX];
	for (const char *p = list; p;) {
		size_t n = strcspn(p, seps);
		const char *elem = p;
		p = p[n] ? p + n + 1 : NULL;
		if (n == 0 && drop_empty)
			continue;
		if (!dst_expand(c, origin, elem, n, dir))
			continue;
		size_t dl = strlen(dir);
		while (dl > 1 && dir[dl - 1] == '/')
			dir[--dl] = '\0';
		if (dl == 0)
			strcpy(dir, ".");
		if (try_dir(c, dir, name, via, f))
			return true;
	}
	return false;
}

/* DT_RPATH counts only in an object without DT_RUNPATH. */
static const char *obj_rpath(const struct obj *o)
{
	return o->ei.runpath ? NULL : o->ei.rpath;
}

/* The loader's search for `name` needed by object `li` (_dl_map_object). */
static bool lookup(struct closure *c, size_t li, const char *name, struct found *f)
{
	const struct obj *ld = &c->objs[li];
	char path[PATH_MAX];

	tried_reset(c);
	if (strchr(name, '/')) {
		if (!dst_expand(c, ld->origin, name, strlen(name), path))
			return false;
		autofree char *dir = dir_of(path);
		return try_file(c, dir, path, LDSO_VIA_PATH, f);
	}
	if (!ld->ei.runpath) {
		bool did_main = false;
		for (int i = (int)li; i >= 0; i = c->objs[i].loader) {
			const struct obj *o = &c->objs[i];
			if (!obj_rpath(o))
				continue;
			if (search_list(c, obj_rpath(o), ":", false, o->origin, name, LDSO_VIA_RPATH, f))
				return true;
			did_main |= i == 0;
		}
		if (!did_main && obj_rpath(&c->objs[0]) &&
		    search_list(c, obj_rpath(&c->objs[0]), ":", false, c->objs[0].origin, name, LDSO_VIA_RPATH, f))
			return true;
	}
	if (c->l->llp && c->l->llp[0] &&
	    search_list(c, c->l->llp, ":;", true, c->objs[0].origin, name, LDSO_VIA_LD_LIBRARY_PATH, f))
		return true;
	if (ld->ei.runpath &&
	    search_list(c, ld->ei.runpath, ":", false, ld->origin, name, LDSO_VIA_RUNPATH, f))
		return true;

	const char *cached = cache_lookup(c->l, c->abi->cache_ids, name);
	if (cached && ld->ei.nodeflib) {
		for (size_t i = 0; i < c->n_sysdirs && cached; i++) {
			size_t dl = strlen(c->sysdirs[i]);
			if (strncmp(cached, c->sysdirs[i], dl) == 0 && cached[dl] == '/')
				cached = NULL;
		}
	}
	if (cached) {
		autofree char *dir = dir_of(cached);
		if (try_file(c, dir, cached, LDSO_VIA_CACHE, f))
			return true;
	}
	if (!ld->ei.nodeflib)
		for (size_t i = 0; i < c->n_sysdirs; i++)
			if (try_dir(c, c->sysdirs[i], name, LDSO_VIA_DEFAULT, f))
				return true;
	return false;
}

/* $ORIGIN of an object the loader opened as `path`: its directory, made absolute. */
static char *origin_of(const struct closure *c, const char *path)
{
	char buf[PATH_MAX];
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		if (c->l->root)
			strcpy(cwd, "");
		else if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		if (snprintf(buf, sizeof(buf), "%s/%s", cwd, path) >= (int)sizeof(buf))
			return NULL;
		path = buf;
	}
	return dir_of(path);
}

/* $ORIGIN of the main program: the loader takes it from /proc/self/exe, symlinks resolved. */
static char *main_origin(const struct closure *c, const char *path)
{
	char res[PATH_MAX];
	if (c->l->root) {
		if (root_walk(c->l, path, res) < 0)
			return NULL;
	} else if (!realpath(path, res)) {
		return NULL;
	}
	return dir_of(res);
}

static ssize_t obj_find(const struct closure *c, const struct stat *st)
{
	for (size_t i = 0; i < c->n_objs; i++)
		if (c->objs[i].dev == st->st_dev && c->objs[i].ino == st->st_ino)
			return (ssize_t)i;
	return -1;
}

/* A new object, taking over `path` and `ei`. The caller registers its names. */
static size_t obj_add(struct closure *c, char *path, struct elfinfo *ei, const struct stat *st,
		      int loader, bool expand)
{
	xgrow(&c->objs, &c->cap_objs, c->n_objs + 1, sizeof(*c->objs));
	size_t i = c->n_objs++;
	struct obj *o = &c->objs[i];
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->ei = *ei;
	memset(ei, 0, sizeof(*ei));
	o->loader = loader;
	o->expand = expand;
	o->dev = st->st_dev;
	o->ino = st->st_ino;
	o->origin = loader < 0 ? NULL : origin_of(c, path);
	return i;
}

/* A loaded object answers to the path it was opened as and to its soname. */
static void obj_names(struct closure *c, size_t i)
{
	name_add(c, c->objs[i].path, obj_ref(i));
	if (c->objs[i].ei.soname)
		name_add(c, c->objs[i].ei.soname, obj_ref(i));
}

/*
 * Load `name` for object `li` unless a loaded object answers to it; report
 * it. Returns the new object's index, or -1.
 */
static ssize_t load(struct closure *c, size_t li, const char *name, bool preload)
{
	if (map_get(&c->names, name, strlen(name)))
		return -1;
	struct found f = { 0 };
	struct ldso_dep d = { .needed = name, .needed_by = c->objs[li].path };
	ssize_t ni = -1;
	if (lookup(c, li, name, &f)) {
		d.path = f.path;
		d.dir = f.dir;
		d.via = preload ? LDSO_VIA_PRELOAD : f.via;
		ssize_t old = obj_find(c, &f.st);
		if (old >= 0) {
			name_add(c, name, obj_ref((size_t)old));
			elfinfo_free(&f.ei);
		} else {
			ni = (ssize_t)obj_add(c, xstrdup(f.path), &f.ei, &f.st, (int)li, true);
			obj_names(c, (size_t)ni);
			name_add(c, name, obj_ref((size_t)ni));
		}
	} else {
		name_add(c, name, NAME_MISSING);
		c->unresolved++;
	}
	static const char *const none[] = { NULL };
	d.tried = c->tried ? (const char *const *)c->tried : none;
	c->fn(&d, c->ctx);
	free(f.path);
	free(f.dir);
	return ni;
}

/* The PT_INTERP loader: it is loaded before anything, under its path and soname. */
static void load_interp(struct closure *c)
{
	const char *interp = c->objs[0].ei.interp;
	struct found f = { 0 };
	autofree char *dir = dir_of(interp);
	static const char *const none[] = { NULL };
	struct ldso_dep d = { .needed = interp, .needed_by = c->objs[0].path, .via = LDSO_VIA_PATH, .tried = none };
	char host[PATH_MAX], err[256];
	if (host_path(c->l, interp, host) == 0 && elfinfo_read(host, &f.ei, err, sizeof(err)) == 0) {
		if (stat(host, &f.st) == 0 && obj_find(c, &f.st) < 0)
			obj_names(c, obj_add(c, xstrdup(interp), &f.ei, &f.st, -1, false));
		elfinfo_free(&f.ei);
		d.path = interp;
		d.dir = dir;
	} else {
		c->unresolved++;
	}
	c->fn(&d, c->ctx);
}

/* /etc/ld.so.preload: names separated by white space or ':', '#' comments. */
static void load_preloads(struct closure *c)
{
	if (!c->l->preload)
		return;
	autofree char *text = xstrdup(c->l->preload);
	for (char *h = strchr(text, '#'); h; h = strchr(h, '#'))
		while (*h && *h != '\n')
			*h++ = ' ';
	char *save = NULL;
	for (char *tok = strtok_r(text, " \t\n:", &save); tok; tok = strtok_r(NULL, " \t\n:", &save))
		load(c, 0, tok, true);
}

static void sysdir_add(struct closure *c, const char *a, const char *b)
{
	char d[PATH_MAX];
	snprintf(d, sizeof(d), "%s%s", a, b);
	c->sysdirs[c->n_sysdirs++] = xstrdup(d);
}

/*
 * Pick the ABI, the default directories and $LIB for the main file's class
 * and machine: Debian's multiarch layout when the root has it, else the
 * upstream one (/lib64:/usr/lib64 on x86_64).
 */
static void closure_setup(struct closure *c)
{
	const struct abi *a = &abi_generic;
	for (size_t i = 0; i < sizeof(abis) / sizeof(abis[0]); i++)
		if (abis[i].elfclass == c->elfclass && abis[i].machine == c->machine)
			a = &abis[i];
	c->abi = a;
	c->platform = a->platform ? a->platform : c->objs[0].ei.machine;
	char md[PATH_MAX];
	snprintf(md, sizeof(md), "/usr/lib/%s", a->triplet ? a->triplet : "");
	if (a->triplet && (is_dir_in_root(c->l, md) || is_dir_in_root(c->l, md + 4))) {
		snprintf(c->libdir, sizeof(c->libdir), "lib/%s", a->triplet);
		sysdir_add(c, "/lib/", a->triplet);
		sysdir_add(c, "/usr/lib/", a->triplet);
		sysdir_add(c, "/lib", "");
		sysdir_add(c, "/usr/lib", "");
	} else {
		snprintf(c->libdir, sizeof(c->libdir), "%s", a->libdir);
		sysdir_add(c, "/", a->libdir);
		sysdir_add(c, "/usr/", a->libdir);
	}
}

static void closure_free(struct closure *c)
{
	for (size_t i = 0; i < c->n_objs; i++) {
		free(c->objs[i].path);
		free(c->objs[i].origin);
		elfinfo_free(&c->objs[i].ei);
	}
	free(c->objs);
	for (size_t i = 0; i < c->n_owned; i++)
		free(c->owned[i]);
	free(c->owned);
	map_free(&c->names);
	tried_reset(c);
	free(c->tried);
	for (size_t i = 0; i < c->n_sysdirs; i++)
		free(c->sysdirs[i]);
}

int ldso_closure(struct ldso *l, const char *path,
		 void (*fn)(const struct ldso_dep *dep, void *ctx), void *ctx,
		 char *err, size_t errsz)
{
	struct closure c = { .l = l, .fn = fn, .ctx = ctx };
	struct found f = { 0 };
	char host[PATH_MAX];
	int r = host_path(l, path, host);
	if (r == 0)
		r = elfinfo_read(host, &f.ei, err, errsz);
	if (r == 0 && stat(host, &f.st) < 0)
		r = -errno;
	if (r < 0) {
		if (errsz && (r != -EINVAL || !err[0]))
			snprintf(err, errsz, "%s: %s", path, r == -ENOEXEC ? "not an ELF file" : strerror(-r));
		elfinfo_free(&f.ei);
		return r;
	}
	c.elfclass = f.ei.elfclass;
	c.machine = f.ei.e_machine;
	bool dynamic = f.ei.interp || f.ei.type == ELF_TYPE_SHARED_LIBRARY;
	obj_add(&c, xstrdup(path), &f.ei, &f.st, -1, true);
	/* The main map answers to its soname but not to its path (its l_name is ""). */
	if (c.objs[0].ei.soname)
		name_add(&c, c.objs[0].ei.soname, obj_ref(0));
	c.objs[0].origin = main_origin(&c, path);
	closure_setup(&c);

	if (c.objs[0].ei.interp)
		load_interp(&c);
	if (dynamic)
		load_preloads(&c);
	for (size_t i = 0; i < c.n_objs; i++) {
		if (!c.objs[i].expand)
			continue;
		/* load() may move c.objs: index, never keep a pointer */
		for (size_t k = 0; k < c.objs[i].ei.n_needed; k++)
			load(&c, i, c.objs[i].ei.needed[k], false);
	}
	r = c.unresolved;
	closure_free(&c);
	return r;
}
