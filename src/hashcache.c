#include "config.h"
#include "hashcache.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cachedir.h"
#include "util.h"

/*
 * The file: a header line, then one line per file,
 *   DEV INO SIZE MTIME_S.MTIME_NS CTIME_S.CTIME_NS SHA256 CHECK
 * in decimal (nanoseconds nine digits), the digest in lowercase hex and
 * CHECK the FNV-1a 64 of everything before its space, in 16 hex digits. A
 * line that does not parse or check, and a last line without its newline
 * (a truncated file), is ignored; so is the whole file when its header is
 * not this one.
 */
#define CACHE_FILE "sha256-v1"
#define CACHE_HEADER "fingerprint sha256 cache 1\n"
#define CACHE_MAX_ENTRIES 100000     /* the oldest go first; about 14 MB */
#define CACHE_MAX_BYTES (32 << 20)   /* a larger file is not ours: ignored, then replaced */
#define HEX_LEN 64
#define CHECK_LEN 17                 /* " " and 16 hex digits */

/* Compared with memcmp: eight 64-bit fields, no padding; (dev, ino) first, the lookup id. */
struct cache_key {
	uint64_t dev, ino;
	int64_t size, mtime_s, mtime_ns, ctime_s, ctime_ns;
};
#define ID_LEN (2 * sizeof(uint64_t))

struct entry {
	struct cache_key k;
	char hex[HEX_LEN + 1];
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

struct hashcache {
	int dirfd;
	struct buf file;       /* the file as it was at open, read but not parsed */
	struct cache_key *want; /* the files this run asks about (dev and ino only) */
	size_t n_want, want_cap;
	bool scanned;          /* `loaded` and `byid` are built: no more wants */
	struct entries loaded; /* the file's records of wanted files; never grown after the scan */
	struct map byid;       /* (dev, ino) -> the last loaded entry with it */
	struct entries used;   /* found or added by this run: saved last, as the newest */
	size_t bad;
	bool dirty;
};

static void key_of(const struct stat *st, struct cache_key *k)
{
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = st->st_size;
	k->mtime_s = st->st_mtim.tv_sec;
	k->mtime_ns = st->st_mtim.tv_nsec;
	k->ctime_s = st->st_ctim.tv_sec;
	k->ctime_ns = st->st_ctim.tv_nsec;
}

static void entries_add(struct entries *es, const struct cache_key *k, const char *hex)
{
	xgrow(&es->v, &es->cap, es->n + 1, sizeof(*es->v));
	struct entry *e = &es->v[es->n++];
	e->k = *k;
	memcpy(e->hex, hex, HEX_LEN);
	e->hex[HEX_LEN] = '\0';
}

static uint64_t fnv64(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;
	while (n--)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3u;
	return h;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

static bool parse_u64(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (s >= end || !is_digit(*s))
		return false;
	for (; s < end && is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

static bool parse_i64(const char **p, const char *end, int64_t *out)
{
	bool neg = *p < end && **p == '-';
	uint64_t u;
	if (neg)
		(*p)++;
	if (!parse_u64(p, end, &u) || u > INT64_MAX)
		return false;
	*out = neg ? -(int64_t)u : (int64_t)u;
	return true;
}

static bool expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

/* S.NNNNNNNNN, nine digits of nanoseconds. */
static bool parse_time(const char **p, const char *end, int64_t *s, int64_t *ns)
{
	if (!parse_i64(p, end, s) || !expect(p, end, '.'))
		return false;
	const char *start = *p;
	uint64_t v;
	if (!parse_u64(p, end, &v) || *p - start != 9)
		return false;
	*ns = (int64_t)v;
	return true;
}

/* One line, [s, end) without its newline, into `e`; false when it is not a valid record. */
static bool parse_line(const char *s, const char *end, struct entry *e)
{
	size_t len = (size_t)(end - s);
	uint64_t check = 0;
	if (len <= CHECK_LEN + HEX_LEN || end[-CHECK_LEN] != ' ')
		return false;
	for (const char *h = end - CHECK_LEN + 1; h < end; h++) {
		if (!is_hex(*h))
			return false;
		check = check << 4 | (uint64_t)(is_digit(*h) ? *h - '0' : *h - 'a' + 10);
	}
	if (fnv64(s, len - CHECK_LEN) != check)
		return false;
	end -= CHECK_LEN;
	struct cache_key *k = &e->k;
	if (!parse_u64(&s, end, &k->dev) || !expect(&s, end, ' ') || !parse_u64(&s, end, &k->ino) ||
	    !expect(&s, end, ' ') || !parse_i64(&s, end, &k->size) || k->size < 0 || !expect(&s, end, ' ') ||
	    !parse_time(&s, end, &k->mtime_s, &k->mtime_ns) || !expect(&s, end, ' ') ||
	    !parse_time(&s, end, &k->ctime_s, &k->ctime_ns) || !expect(&s, end, ' ') || end - s != HEX_LEN)
		return false;
	for (int i = 0; i < HEX_LEN; i++)
		if (!is_hex(s[i]))
			return false;
	memcpy(e->hex, s, HEX_LEN);
	e->hex[HEX_LEN] = '\0';
	return true;
}

static size_t format_line(const struct entry *e, char *line, size_t size)
{
	const struct cache_key *k = &e->k;
	int n = snprintf(line, size, "%" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 ".%09" PRId64 " %" PRId64 ".%09" PRId64 " %s",
			 k->dev, k->ino, k->size, k->mtime_s, k->mtime_ns, k->ctime_s, k->ctime_ns, e->hex);
	n += snprintf(line + n, size - (size_t)n, " %016" PRIx64 "\n", fnv64(line, (size_t)n));
	return (size_t)n;
}

/*
 * Read the cache file in `dirfd` into `b`: the offset of its first record,
 * or 0 when there is none to use (no file, or not this format: counted in
 * *bad, to be replaced at the next save).
 */
static size_t read_file(int dirfd, struct buf *b, size_t *bad)
{
	const size_t hlen = strlen(CACHE_HEADER);
	int r = cachedir_read(dirfd, CACHE_FILE, b, CACHE_MAX_BYTES);
	if (r < 0 || b->len < hlen || memcmp(b->data, CACHE_HEADER, hlen) != 0) {
		if (r != -ENOENT)
			(*bad)++;
		b->len = 0;
		return 0;
	}
	return hlen;
}

/*
 * Append the valid records of [p, end) to `out`, counting the others in
 * *bad; with `want`, only those of a (dev, ino) in it, and only those are
 * checked: the rest is skipped after reading their first two numbers (a
 * full cache holds 100,000 records, and a run asks about a few hundred).
 */
static void scan(const char *p, const char *end, const struct map *want, struct entries *out, size_t *bad)
{
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct entry e;
		if (!nl) {
			(*bad)++; /* truncated */
			break;
		}
		if (want) {
			const char *q = p;
			uint64_t id[2];
			if (!parse_u64(&q, nl, &id[0]) || !expect(&q, nl, ' ') || !parse_u64(&q, nl, &id[1])) {
				(*bad)++;
				p = nl + 1;
				continue;
			}
			if (!map_get(want, id, ID_LEN)) {
				p = nl + 1;
				continue;
			}
		}
		if (parse_line(p, nl, &e))
			entries_add(out, &e.k, e.hex);
		else
			(*bad)++;
		p = nl + 1;
	}
}

/* Append the valid records of the cache file in `dirfd` to `out`; count the others in *bad. */
static void load(int dirfd, struct entries *out, size_t *bad)
{
	struct buf b = { 0 };
	size_t start = read_file(dirfd, &b, bad);
	if (start)
		scan(b.data + start, b.data + b.len, NULL, out, bad);
	buf_free(&b);
}

struct hashcache *hashcache_open(void)
{
	int fd = cachedir_open("hash cache");
	if (fd < 0)
		return NULL;
	struct hashcache *c = xcalloc(1, sizeof(*c));
	c->dirfd = fd;
	if (read_file(fd, &c->file, &c->bad) == 0)
		c->dirty = c->bad > 0; /* repaired at close */
	return c;
}

void hashcache_want(struct hashcache *c, const struct stat *st)
{
	if (c->scanned)
		return;
	xgrow(&c->want, &c->want_cap, c->n_want + 1, sizeof(*c->want));
	key_of(st, &c->want[c->n_want++]);
}

/* Parse the records of the wanted files, once, at the first lookup. */
static void scan_wanted(struct hashcache *c)
{
	struct map want = { 0 };
	const size_t hlen = strlen(CACHE_HEADER);
	c->scanned = true;
	for (size_t i = 0; i < c->n_want; i++)
		*map_slot(&want, &c->want[i], ID_LEN, NULL) = &c->want[i];
	if (c->file.len > hlen && want.size > 0)
		scan(c->file.data + hlen, c->file.data + c->file.len, &want, &c->loaded, &c->bad);
	for (size_t i = 0; i < c->loaded.n; i++)
		*map_slot(&c->byid, &c->loaded.v[i].k, ID_LEN, NULL) = &c->loaded.v[i];
	c->dirty = c->dirty || c->bad > 0; /* repaired at close */
	map_free(&want);
	buf_free(&c->file);
}

const char *hashcache_get(struct hashcache *c, const struct stat *st)
{
	struct cache_key k;
	if (!c->scanned)
		scan_wanted(c);
	key_of(st, &k);
	struct entry *e = map_get(&c->byid, &k, ID_LEN);
	if (!e || memcmp(&e->k, &k, sizeof(k)) != 0)
		return NULL;
	entries_add(&c->used, &k, e->hex);
	return e->hex;
}

void hashcache_put(struct hashcache *c, const struct stat *st, const char *hex)
{
	struct cache_key k;
	key_of(st, &k);
	entries_add(&c->used, &k, hex);
	c->dirty = true;
}

size_t hashcache_bad_records(const struct hashcache *c)
{
	return c->bad;
}

/*
 * What other runs saved since this one loaded, then this run's records:
 * one record per (dev, ino), the newest wins; at most CACHE_MAX_ENTRIES,
 * dropping the oldest.
 */
static void save(struct hashcache *c)
{
	struct entries now = { 0 };
	struct map last = { 0 }, mine = { 0 };
	struct buf out = { 0 };
	size_t ignored = 0, keep = 0, skip;
	char line[256];

	load(c->dirfd, &now, &ignored);
	for (size_t i = 0; i < c->used.n; i++)
		*map_slot(&mine, &c->used.v[i].k, ID_LEN, NULL) = &c->used.v[i];
	for (size_t i = 0; i < now.n; i++)
		*map_slot(&last, &now.v[i].k, ID_LEN, NULL) = &now.v[i];
	for (size_t i = 0; i < now.n; i++)
		keep += !map_get(&mine, &now.v[i].k, ID_LEN) && map_get(&last, &now.v[i].k, ID_LEN) == &now.v[i];
	skip = keep + mine.size > CACHE_MAX_ENTRIES ? keep + mine.size - CACHE_MAX_ENTRIES : 0;

	buf_append(&out, CACHE_HEADER, strlen(CACHE_HEADER));
	for (int pass = 0; pass < 2; pass++) {
		const struct entries *es = pass == 0 ? &now : &c->used;
		const struct map *newest = pass == 0 ? &last : &mine;
		for (size_t i = 0; i < es->n; i++) {
			const struct entry *e = &es->v[i];
			if ((pass == 0 && map_get(&mine, &e->k, ID_LEN)) || map_get(newest, &e->k, ID_LEN) != e)
				continue;
			if (skip > 0) {
				skip--;
				continue;
			}
			buf_append(&out, line, format_line(e, line, sizeof(line)));
		}
	}
	cachedir_replace(c->dirfd, CACHE_FILE, out.data, out.len);
	buf_free(&out);
	map_free(&last);
	map_free(&mine);
	free(now.v);
}

void hashcache_close(struct hashcache *c)
{
	if (!c)
		return;
	if (c->dirty)
		save(c);
	close(c->dirfd);
	free(c->loaded.v);
	free(c->used.v);
	free(c->want);
	buf_free(&c->file);
	map_free(&c->byid);
	free(c);
}
