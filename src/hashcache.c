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
	struct entries loaded; /* the file as it was at open; never grown after */
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

/* Append the valid records of the cache file in `dirfd` to `out`; count the others in *bad. */
static void load(int dirfd, struct entries *out, size_t *bad)
{
	struct buf b = { 0 };
	const size_t hlen = strlen(CACHE_HEADER);
	int r = cachedir_read(dirfd, CACHE_FILE, &b, CACHE_MAX_BYTES);

	if (r < 0 || b.len < hlen || memcmp(b.data, CACHE_HEADER, hlen) != 0) {
		if (r != -ENOENT)
			(*bad)++; /* replaced at the next save */
		buf_free(&b);
		return;
	}
	const char *p = b.data + hlen, *end = b.data + b.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct entry e;
		if (!nl) {
			(*bad)++; /* truncated */
			break;
		}
		if (parse_line(p, nl, &e))
			entries_add(out, &e.k, e.hex);
		else
			(*bad)++;
		p = nl + 1;
	}
	buf_free(&b);
}

struct hashcache *hashcache_open(void)
{
	int fd = cachedir_open("hash cache");
	if (fd < 0)
		return NULL;
	struct hashcache *c = xcalloc(1, sizeof(*c));
	c->dirfd = fd;
	load(fd, &c->loaded, &c->bad);
	for (size_t i = 0; i < c->loaded.n; i++)
		*map_slot(&c->byid, &c->loaded.v[i].k, ID_LEN, NULL) = &c->loaded.v[i];
	c->dirty = c->bad > 0; /* repaired at close */
	return c;
}

const char *hashcache_get(struct hashcache *c, const struct stat *st)
{
	struct cache_key k;
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
	map_free(&c->byid);
	free(c);
}
