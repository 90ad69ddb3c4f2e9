/*
 * Unit tests of ldso.c: ld.so.cache parsing (against ldconfig -p, hand-made
 * caches, truncated and corrupt caches), $ORIGIN/$LIB/$PLATFORM, RPATH vs
 * RUNPATH vs LD_LIBRARY_PATH, wrong-class skipping, ld.so.preload, --root
 * with absolute symlinks, and the directories tried for a missing library.
 * Fixture libraries are built with gcc in a temporary directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ldso.h"

#include "check.h"
static char tmp[PATH_MAX];


/* ---- helpers ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	if (st != 0)
		fprintf(stderr, "command failed (%d): %s\n", st, cmd);
	return st;
}

#define MUST(cmd) do { \
	if ((cmd) != 0) { \
		fprintf(stderr, "%s:%d: harness failure: %s\n", __FILE__, __LINE__, #cmd); \
		exit(99); \
	} \
} while (0)

static const char *T(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *T(const char *fmt, ...)
{
	static char bufs[16][PATH_MAX];
	static int k;
	char *b = bufs[k++ % 16];
	int n = snprintf(b, PATH_MAX, "%s/", tmp);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b + n, PATH_MAX - n, fmt, ap);
	va_end(ap);
	return b;
}

static const char *F(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *F(const char *fmt, ...)
{
	static char bufs[4][4096];
	static int k;
	char *b = bufs[k++ % 4];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, 4096, fmt, ap);
	va_end(ap);
	return b;
}

/* A shared library SONAME at PATH, needing the -l/-L/-Wl flags in EXTRA; no libc. */
static void lib(const char *path, const char *soname, const char *extra)
{
	MUST(sh("mkdir -p \"$(dirname '%s')\" && gcc -shared -fPIC -nostdlib -o '%s' '%s/empty.c' -Wl,-soname,'%s' -Wl,--no-as-needed %s",
		path, path, tmp, soname, extra ? extra : ""));
}

/* An executable at PATH with an interpreter, linked with EXTRA; no libc. */
static void prog(const char *path, const char *extra)
{
	MUST(sh("mkdir -p \"$(dirname '%s')\" && gcc -nostdlib -fPIE -pie -o '%s' '%s/start.c' "
		"-Wl,--dynamic-linker=/lib64/ld-linux-x86-64.so.2 -Wl,--no-as-needed %s",
		path, path, tmp, extra ? extra : ""));
}

struct rec {
	char *needed, *needed_by, *path, *dir, *tried;
	enum ldso_via via;
};
struct recs {
	struct rec r[256];
	size_t n;
};

static void collect(const struct ldso_dep *d, void *ctx)
{
	struct recs *rs = ctx;
	if (rs->n >= 256)
		return;
	struct rec *r = &rs->r[rs->n++];
	r->needed = strdup(d->needed);
	r->needed_by = strdup(d->needed_by);
	r->path = d->path ? strdup(d->path) : NULL;
	r->dir = d->dir && d->path ? strdup(d->dir) : NULL;
	r->via = d->via;
	size_t len = 1;
	for (size_t i = 0; d->tried[i]; i++)
		len += strlen(d->tried[i]) + 1;
	r->tried = calloc(1, len);
	for (size_t i = 0; d->tried[i]; i++) {
		if (i)
			strcat(r->tried, ":");
		strcat(r->tried, d->tried[i]);
	}
}

static void recs_free(struct recs *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->r[i].needed);
		free(rs->r[i].needed_by);
		free(rs->r[i].path);
		free(rs->r[i].dir);
		free(rs->r[i].tried);
	}
	rs->n = 0;
}

static int run(struct recs *rs, const char *root, const char *llp, const char *path)
{
	char err[512] = "";
	recs_free(rs);
	struct ldso *l = ldso_new(root, llp);
	CHECK(l != NULL, "ldso_new");
	int r = ldso_closure(l, path, collect, rs, err, sizeof(err));
	CHECK(r >= 0, "ldso_closure(%s) = %d: %s", path, r, err);
	ldso_free(l);
	return r;
}

static const struct rec *find(const struct recs *rs, const char *needed)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].needed, needed) == 0)
			return &rs->r[i];
	return NULL;
}

/* The dep NEEDED must be found at PATH via VIA (path NULL: must be missing). */
static void expect(const struct recs *rs, const char *needed, const char *path, enum ldso_via via, int line)
{
	const struct rec *r = find(rs, needed);
	if (!r) {
		failures++;
		fprintf(stderr, "line %d: %s not reported\n", line, needed);
		return;
	}
	bool ok = path ? r->path && strcmp(r->path, path) == 0 && r->via == via : !r->path;
	if (!ok) {
		failures++;
		fprintf(stderr, "line %d: %s: got %s via %s (tried %s), want %s via %s\n", line, needed,
			r->path ? r->path : "(missing)", ldso_via_name(r->via), r->tried,
			path ? path : "(missing)", ldso_via_name(via));
	}
}
#define EXPECT(rs, needed, path, via) expect(rs, needed, path, via, __LINE__)

/* ---- ld.so.cache ---- */

/* Every soname of some x86-64 entries of `ldconfig -p` resolves to ldconfig's first path. */
static void test_cache_vs_ldconfig(void)
{
	FILE *p = popen("/sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null", "r");
	char line[1024], names[8][256], paths[8][PATH_MAX];
	size_t n = 0;
	if (!p)
		return;
	while (fgets(line, sizeof(line), p) && n < 8) {
		char name[256], flags[256], path[PATH_MAX];
		if (sscanf(line, " %255s (%255[^)]) => %4095s", name, flags, path) != 3)
			continue;
		if (strcmp(flags, "libc6,x86-64") != 0 || !strstr(name, ".so.") || strstr(name, "ld-linux"))
			continue;
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup |= strcmp(names[i], name) == 0;
		/* spread the sample over the cache */
		if (dup || (rand() % 20) != 0)
			continue;
		strcpy(names[n], name);
		strcpy(paths[n++], path);
	}
	pclose(p);
	if (n == 0) {
		fprintf(stderr, "no x86-64 entries in ldconfig -p: cache comparison skipped\n");
		return;
	}
	char flags[4096] = "";
	for (size_t i = 0; i < n; i++) {
		char f[512];
		lib(T("cache/stub%zu.so", i), names[i], NULL);
		snprintf(f, sizeof(f), " '%s'", T("cache/stub%zu.so", i));
		strcat(flags, f);
	}
	prog(T("cache/prog"), flags);
	struct recs rs = { 0 };
	run(&rs, "/", NULL, T("cache/prog"));
	for (size_t i = 0; i < n; i++)
		EXPECT(&rs, names[i], paths[i], LDSO_VIA_CACHE);
	fprintf(stderr, "%zu sonames compared with ldconfig -p\n", n);
	recs_free(&rs);
}

static void put32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }
static void put64(FILE *f, uint64_t v) { fwrite(&v, 8, 1, f); }

/*
 * Write a cache with the entries {flags, key, value} to `path`: format 0
 * the new one alone, 1 the old one followed by the new one, 2 the old alone.
 */
static void write_cache(const char *path, int format, size_t n, const uint32_t *fl, const char **key, const char **val)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "harness failure: cannot write %s: %s\n", path, strerror(errno));
		exit(99);
	}
	uint32_t ko[16], vo[16], blob = 0;
	for (size_t i = 0; i < n; i++) {
		ko[i] = blob;
		blob += (uint32_t)strlen(key[i]) + 1;
		vo[i] = blob;
		blob += (uint32_t)strlen(val[i]) + 1;
	}
	size_t old_end = 16 + 12 * n, newat = format == 1 ? (old_end + 7) & ~(size_t)7 : 0;
	size_t new_strings = 48 + 24 * n;
	if (format >= 1) {
		fwrite("ld.so-1.7.0\0", 12, 1, f);
		put32(f, (uint32_t)n);
		size_t base = format == 1 ? newat + new_strings - old_end : 0;
		for (size_t i = 0; i < n; i++) {
			put32(f, fl[i]);
			put32(f, (uint32_t)(base + ko[i]));
			put32(f, (uint32_t)(base + vo[i]));
		}
		for (size_t i = old_end; i < newat; i++)
			fputc(0, f);
	}
	if (format <= 1) {
		fwrite("glibc-ld.so.cache1.1", 20, 1, f);
		put32(f, (uint32_t)n);
		put32(f, blob);
		fputc(2, f); /* little endian */
		fputc(0, f); fputc(0, f); fputc(0, f);
		put32(f, 0); put32(f, 0); put32(f, 0); put32(f, 0);
		for (size_t i = 0; i < n; i++) {
			put32(f, fl[i]);
			put32(f, (uint32_t)(new_strings + ko[i]));
			put32(f, (uint32_t)(new_strings + vo[i]));
			put32(f, 0);
			put64(f, 0);
		}
	}
	for (size_t i = 0; i < n; i++) {
		fwrite(key[i], strlen(key[i]) + 1, 1, f);
		fwrite(val[i], strlen(val[i]) + 1, 1, f);
	}
	fclose(f);
}

/*
 * A root with /lib -> /usr/lib (absolute symlink), /lib64 -> usr/lib64, an
 * interpreter, a program needing libfpdef.so.1 (in the default
 * directories) and libfpcached.so.1 (only where the cache says).
 */
static void make_root(void)
{
	MUST(sh("mkdir -p '%s/usr/lib/x86_64-linux-gnu' '%s/usr/lib64' '%s/etc' '%s/opt/c' '%s/usr/bin' && "
		"ln -sfn /usr/lib '%s/lib' && ln -sfn usr/lib64 '%s/lib64'",
		T("root"), T("root"), T("root"), T("root"), T("root"), T("root"), T("root")));
	lib(T("root/usr/lib64/ld-linux-x86-64.so.2"), "ld-linux-x86-64.so.2", NULL);
	lib(T("root/usr/lib/x86_64-linux-gnu/libfpdef.so.1"), "libfpdef.so.1", NULL);
	lib(T("root/opt/c/libfpcached.so.1"), "libfpcached.so.1", NULL);
	lib(T("root/opt/c/libfppre.so"), "libfppre.so", NULL);
	prog(T("root/usr/bin/prog"), T("root/usr/lib/x86_64-linux-gnu/libfpdef.so.1"));
	/* relink with the cached one too, by soname only */
	MUST(sh("cd '%s/opt/c' && gcc -nostdlib -fPIE -pie -o '%s/usr/bin/prog' '%s/start.c' "
		"-Wl,--dynamic-linker=/lib64/ld-linux-x86-64.so.2 -Wl,--no-as-needed "
		"'%s/usr/lib/x86_64-linux-gnu/libfpdef.so.1' libfpcached.so.1",
		T("root"), T("root"), tmp, T("root")));
}

static void test_root_and_cache(void)
{
	struct recs rs = { 0 };
	char cache[PATH_MAX];
	make_root();
	strcpy(cache, T("root/etc/ld.so.cache"));

	/* no cache at all: the cached library is missing, the rest resolves inside the root */
	int r = run(&rs, T("root"), NULL, "/usr/bin/prog");
	CHECK(r == 1, "unresolved = %d, want 1", r);
	EXPECT(&rs, "/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2", LDSO_VIA_PATH);
	EXPECT(&rs, "libfpdef.so.1", "/lib/x86_64-linux-gnu/libfpdef.so.1", LDSO_VIA_DEFAULT);
	EXPECT(&rs, "libfpcached.so.1", NULL, LDSO_VIA_CACHE);

	/* a new-format cache: the i386 entry first must be passed over */
	uint32_t fl[] = { 0x0003, 0x0303, 0x0303 };
	const char *key[] = { "libfpcached.so.1", "libfpcached.so.1", "libzzz.so.1" };
	const char *val[] = { "/wrong/libfpcached.so.1", "/opt/c/libfpcached.so.1", "/opt/c/libzzz.so.1" };
	write_cache(cache, 0, 3, fl, key, val);
	r = run(&rs, T("root"), NULL, "/usr/bin/prog");
	CHECK(r == 0, "unresolved = %d, want 0", r);
	EXPECT(&rs, "libfpcached.so.1", "/opt/c/libfpcached.so.1", LDSO_VIA_CACHE);

	/* the old format alone, then followed by the new one */
	for (int format = 2; format >= 1; format--) {
		write_cache(cache, format, 3, fl, key, val);
		r = run(&rs, T("root"), NULL, "/usr/bin/prog");
		CHECK(r == 0, "format %d: unresolved = %d, want 0", format, r);
		EXPECT(&rs, "libfpcached.so.1", "/opt/c/libfpcached.so.1", LDSO_VIA_CACHE);
	}

	/* every truncation of it, and garbage: treated as empty (or still good), never a crash */
	struct stat st;
	MUST(stat(cache, &st));
	MUST(sh("cp '%s' '%s.good'", cache, cache));
	for (off_t len = 0; len < st.st_size; len += 1 + len / 8) {
		MUST(sh("head -c %lld '%s.good' > '%s'", (long long)len, cache, cache));
		r = run(&rs, T("root"), NULL, "/usr/bin/prog");
		CHECK(r == 0 || r == 1, "truncated to %lld: unresolved = %d", (long long)len, r);
		EXPECT(&rs, "libfpdef.so.1", "/lib/x86_64-linux-gnu/libfpdef.so.1", LDSO_VIA_DEFAULT);
	}
	/* a huge nlibs, a string offset past the end (first key of the new entries), random bytes */
	FILE *f = fopen(cache, "r+b");
	fseek(f, 12, SEEK_SET);
	put32(f, 0xfffffff0u);
	fclose(f);
	run(&rs, T("root"), NULL, "/usr/bin/prog");
	EXPECT(&rs, "libfpcached.so.1", NULL, LDSO_VIA_CACHE);
	MUST(sh("cp '%s.good' '%s' && printf '\\377\\377\\377\\177' | dd of='%s' bs=1 seek=%d conv=notrunc 2>/dev/null",
		cache, cache, cache, 56 + 48 + 4));
	run(&rs, T("root"), NULL, "/usr/bin/prog");
	EXPECT(&rs, "libfpdef.so.1", "/lib/x86_64-linux-gnu/libfpdef.so.1", LDSO_VIA_DEFAULT);
	EXPECT(&rs, "libfpcached.so.1", NULL, LDSO_VIA_CACHE);
	MUST(sh("head -c 20000 /dev/urandom > '%s'", cache));
	run(&rs, T("root"), NULL, "/usr/bin/prog");

	/* ld.so.preload: comments, colons and white space; searched like a need of the program */
	MUST(sh("rm -f '%s' && printf '# a comment libnot.so\\n  libfpdef.so.1:/opt/c/libfppre.so\\tlibfpnone.so # x\\n' > '%s'",
		cache, T("root/etc/ld.so.preload")));
	r = run(&rs, T("root"), NULL, "/usr/bin/prog");
	CHECK(r == 2, "unresolved = %d, want 2 (libfpnone.so and libfpcached.so.1)", r);
	CHECK(!find(&rs, "libnot.so"), "a commented-out preload was loaded");
	EXPECT(&rs, "libfpdef.so.1", "/lib/x86_64-linux-gnu/libfpdef.so.1", LDSO_VIA_PRELOAD);
	EXPECT(&rs, "/opt/c/libfppre.so", "/opt/c/libfppre.so", LDSO_VIA_PRELOAD);
	EXPECT(&rs, "libfpnone.so", NULL, LDSO_VIA_PRELOAD);
	size_t n_def = 0;
	for (size_t i = 0; i < rs.n; i++)
		n_def += strcmp(rs.r[i].needed, "libfpdef.so.1") == 0;
	CHECK(n_def == 1, "libfpdef.so.1 reported %zu times, want once", n_def);
	recs_free(&rs);
}

/* ---- search order ---- */

static void test_origin(void)
{
	struct recs rs = { 0 };
	lib(T("app/lib/libfpa.so.1"), "libfpa.so.1", NULL);
	lib(T("app/x/lib/x86_64-linux-gnu/x86_64/libfpb.so.1"), "libfpb.so.1", NULL);
	prog(T("app/bin/prog"), F("-L'%s/app/lib' -L'%s/app/x/lib/x86_64-linux-gnu/x86_64' -l:libfpa.so.1 -l:libfpb.so.1 "
				  "-Wl,--disable-new-dtags -Wl,-rpath,'$ORIGIN/../lib:${ORIGIN}/../x/$LIB/${PLATFORM}'", tmp, tmp));
	run(&rs, "/", NULL, T("app/bin/prog"));
	EXPECT(&rs, "libfpa.so.1", T("app/bin/../lib/libfpa.so.1"), LDSO_VIA_RPATH);
	EXPECT(&rs, "libfpb.so.1", T("app/bin/../x/lib/x86_64-linux-gnu/x86_64/libfpb.so.1"), LDSO_VIA_RPATH);
	const struct rec *r = find(&rs, "libfpa.so.1");
	CHECK(r && r->dir && strcmp(r->dir, T("app/bin/../lib")) == 0, "dir %s", r && r->dir ? r->dir : "-");

	/* through a symlink the loader's $ORIGIN is the real directory */
	MUST(sh("mkdir -p '%s' && ln -sfn '%s' '%s'", T("elsewhere"), T("app/bin/prog"), T("elsewhere/prog")));
	run(&rs, "/", NULL, T("elsewhere/prog"));
	EXPECT(&rs, "libfpa.so.1", T("app/bin/../lib/libfpa.so.1"), LDSO_VIA_RPATH);
	recs_free(&rs);
}

static void test_precedence(void)
{
	struct recs rs = { 0 };
	char flags[4 * PATH_MAX];
	lib(T("prec/a/libfpp.so.1"), "libfpp.so.1", NULL);
	lib(T("prec/b/libfpp.so.1"), "libfpp.so.1", NULL);
	lib(T("prec/a/libfpleaf.so.1"), "libfpleaf.so.1", NULL);
	lib(T("prec/a/libfpmid.so.1"), "libfpmid.so.1", F("-L'%s/prec/a' -l:libfpleaf.so.1", tmp));
	lib(T("prec/a/libfpwall.so.1"), "libfpwall.so.1",
	    F("-L'%s/prec/a' -l:libfpleaf.so.1 -Wl,--enable-new-dtags -Wl,-rpath,/nonexistent/fp", tmp));
	char A_copy[PATH_MAX], B_copy[PATH_MAX];
	strcpy(A_copy, T("prec/a"));
	strcpy(B_copy, T("prec/b"));

	/* DT_RPATH beats LD_LIBRARY_PATH and is inherited by libfpmid */
	snprintf(flags, sizeof(flags), "-L'%s' -l:libfpp.so.1 -l:libfpmid.so.1 -Wl,--disable-new-dtags -Wl,-rpath,'%s'", A_copy, A_copy);
	prog(T("prec/rpath"), flags);
	run(&rs, "/", B_copy, T("prec/rpath"));
	EXPECT(&rs, "libfpp.so.1", T("prec/a/libfpp.so.1"), LDSO_VIA_RPATH);
	EXPECT(&rs, "libfpleaf.so.1", T("prec/a/libfpleaf.so.1"), LDSO_VIA_RPATH);

	/* DT_RUNPATH loses to LD_LIBRARY_PATH and is not inherited */
	snprintf(flags, sizeof(flags), "-L'%s' -l:libfpp.so.1 -l:libfpmid.so.1 -Wl,--enable-new-dtags -Wl,-rpath,'%s'", A_copy, A_copy);
	prog(T("prec/runpath"), flags);
	int r = run(&rs, "/", B_copy, T("prec/runpath"));
	EXPECT(&rs, "libfpp.so.1", T("prec/b/libfpp.so.1"), LDSO_VIA_LD_LIBRARY_PATH);
	EXPECT(&rs, "libfpmid.so.1", T("prec/a/libfpmid.so.1"), LDSO_VIA_RUNPATH);
	EXPECT(&rs, "libfpleaf.so.1", NULL, LDSO_VIA_RUNPATH);
	CHECK(r == 1, "unresolved = %d, want 1", r);
	const struct rec *leaf = find(&rs, "libfpleaf.so.1");
	CHECK(leaf && strstr(leaf->tried, B_copy) && !strstr(leaf->tried, A_copy),
	      "leaf tried %s: want LD_LIBRARY_PATH, not the program's RUNPATH", leaf ? leaf->tried : "-");

	/* a library with a DT_RUNPATH of its own does not see the program's DT_RPATH */
	snprintf(flags, sizeof(flags), "-L'%s' -l:libfpwall.so.1 -Wl,--disable-new-dtags -Wl,-rpath,'%s'", A_copy, A_copy);
	prog(T("prec/wall"), flags);
	run(&rs, "/", NULL, T("prec/wall"));
	EXPECT(&rs, "libfpwall.so.1", T("prec/a/libfpwall.so.1"), LDSO_VIA_RPATH);
	EXPECT(&rs, "libfpleaf.so.1", NULL, LDSO_VIA_RPATH);

	/* a 32-bit file of the right name is skipped, as the loader does */
	if (sh("mkdir -p '%s' && gcc -m32 -shared -nostdlib -o '%s' '%s/empty.c' -Wl,-soname,libfpp.so.1 2>/dev/null",
	       T("prec/c"), T("prec/c/libfpp.so.1"), tmp) == 0) {
		snprintf(flags, sizeof(flags), "-L'%s' -l:libfpp.so.1 -Wl,--disable-new-dtags -Wl,-rpath,'%s:%s'",
			 A_copy, T("prec/c"), A_copy);
		prog(T("prec/class"), flags);
		run(&rs, "/", NULL, T("prec/class"));
		EXPECT(&rs, "libfpp.so.1", T("prec/a/libfpp.so.1"), LDSO_VIA_RPATH);
		const struct rec *p = find(&rs, "libfpp.so.1");
		CHECK(p && strncmp(p->tried, T("prec/c"), strlen(T("prec/c"))) == 0, "tried %s", p ? p->tried : "-");
	} else {
		fprintf(stderr, "gcc -m32 unavailable: wrong-class check skipped\n");
	}

	/* a needed name with a slash is used as a path */
	lib(T("prec/abs/libfpabs.so"), T("prec/abs/libfpabs.so"), NULL);
	snprintf(flags, sizeof(flags), "'%s'", T("prec/abs/libfpabs.so"));
	prog(T("prec/slash"), flags);
	run(&rs, "/", NULL, T("prec/slash"));
	EXPECT(&rs, T("prec/abs/libfpabs.so"), T("prec/abs/libfpabs.so"), LDSO_VIA_PATH);
	recs_free(&rs);
}

/* A missing library: its RUNPATH directory and the default directories were tried, in order. */
static void test_missing_tried(void)
{
	struct recs rs = { 0 };
	char flags[4 * PATH_MAX];
	lib(T("miss/lib/libfpgone.so.1"), "libfpgone.so.1", NULL);
	snprintf(flags, sizeof(flags), "-L'%s' -l:libfpgone.so.1 -Wl,--enable-new-dtags -Wl,-rpath,'%s'",
		 T("miss/lib"), T("miss/lib"));
	prog(T("miss/prog"), flags);
	MUST(unlink(T("miss/lib/libfpgone.so.1")));
	int r = run(&rs, "/", NULL, T("miss/prog"));
	CHECK(r == 1, "unresolved = %d, want 1", r);
	const struct rec *g = find(&rs, "libfpgone.so.1");
	char want[PATH_MAX * 2];
	snprintf(want, sizeof(want), "%s:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib:/usr/lib", T("miss/lib"));
	CHECK(g && !g->path && strcmp(g->tried, want) == 0, "tried %s, want %s", g ? g->tried : "-", want);
	CHECK(g && strcmp(g->needed_by, T("miss/prog")) == 0, "needed_by %s", g ? g->needed_by : "-");
	recs_free(&rs);
}

static void test_bad_input(void)
{
	char err[512];
	struct ldso *l = ldso_new(NULL, NULL);
	struct recs rs = { 0 };
	int r = ldso_closure(l, T("nonexistent"), collect, &rs, err, sizeof(err));
	CHECK(r == -ENOENT && strstr(err, "nonexistent"), "r = %d, err %s", r, err);
	r = ldso_closure(l, T("empty.c"), collect, &rs, err, sizeof(err));
	CHECK(r == -ENOEXEC, "r = %d, err %s", r, err);
	CHECK(rs.n == 0, "deps reported for a bad file");
	ldso_free(l);
}

int main(void)
{
	if (system("gcc --version > /dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: gcc is needed to build fixture libraries\n");
		return 77;
	}
	snprintf(tmp, sizeof(tmp), "%s/test_ldso.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		return 99;
	MUST(sh("echo 'int fp_empty;' > '%s/empty.c' && echo 'void _start(void) { for (;;) ; }' > '%s/start.c'", tmp, tmp));
	srand(1);
	test_cache_vs_ldconfig();
	test_root_and_cache();
	test_origin();
	test_precedence();
	test_missing_tried();
	test_bad_input();
	if (failures == 0)
		sh("rm -rf '%s'", tmp);
	else
		fprintf(stderr, "fixtures kept in %s\n", tmp);
	fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
