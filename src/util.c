#include "config.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "status.h"

const char *program_name = "fingerprint";
int verbosity = 1;

static void vmessage(const char *fmt, va_list ap, int err)
{
	status_erase();
	fprintf(stderr, "%s: ", program_name);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap, 0);
	va_end(ap);
	exit(status);
}

void die_errno(int status, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap, err);
	va_end(ap);
	exit(status);
}

void warn(const char *fmt, ...)
{
	va_list ap;
	if (verbosity < 1)
		return;
	va_start(ap, fmt);
	vmessage(fmt, ap, 0);
	va_end(ap);
}

void info(const char *fmt, ...)
{
	va_list ap;
	if (verbosity < 2)
		return;
	va_start(ap, fmt);
	vmessage(fmt, ap, 0);
	va_end(ap);
}

static void *checked(void *p)
{
	if (p == NULL)
		die(EXIT_INTERNAL, "out of memory");
	return p;
}

void *xmalloc(size_t n) { return checked(malloc(n ? n : 1)); }
void *xcalloc(size_t n, size_t size) { return checked(calloc(n ? n : 1, size ? size : 1)); }
void *xrealloc(void *p, size_t n) { return checked(realloc(p, n ? n : 1)); }
char *xstrdup(const char *s) { return checked(strdup(s)); }
char *xstrndup(const char *s, size_t n) { return checked(strndup(s, n)); }

void xgrow(void *p, size_t *cap, size_t need, size_t size)
{
	void **arr = p;
	size_t c = *cap;
	if (need <= c)
		return;
	if (c < 8)
		c = 8;
	while (c < need) {
		if (c > SIZE_MAX / 2 / size)
			die(EXIT_INTERNAL, "out of memory");
		c *= 2;
	}
	*arr = xrealloc(*arr, c * size);
	*cap = c;
}

void buf_append(struct buf *b, const void *data, size_t n)
{
	xgrow(&b->data, &b->cap, b->len + n + 1, 1);
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

ssize_t buf_read_file(struct buf *b, const char *path)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return buf_read_fd(b, fd);
}

ssize_t buf_read_fd(struct buf *b, int fd)
{
	b->len = 0;
	xgrow(&b->data, &b->cap, 4096, 1);
	for (;;) {
		if (b->cap - b->len < 2)
			xgrow(&b->data, &b->cap, b->cap * 2, 1);
		ssize_t r = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		b->len += r;
	}
	b->data[b->len] = '\0';
	return b->len;
}

uint32_t mem_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u;
	while (n--)
		h = (h ^ *s++) * 16777619u;
	return h;
}

static size_t map_find(const struct map *m, const void *key, size_t len, uint32_t h)
{
	size_t mask = m->cap - 1, i = h & mask;
	while (m->keys[i] && (m->hashes[i] != h || m->lens[i] != len || memcmp(m->keys[i], key, len) != 0))
		i = (i + 1) & mask;
	return i;
}

void *map_get(const struct map *m, const void *key, size_t len)
{
	if (m->size == 0)
		return NULL;
	size_t i = map_find(m, key, len, mem_hash(key, len));
	return m->keys[i] ? m->vals[i] : NULL;
}

void **map_slot_if(struct map *m, const void *key, size_t len)
{
	if (m->size == 0)
		return NULL;
	size_t i = map_find(m, key, len, mem_hash(key, len));
	return m->keys[i] ? &m->vals[i] : NULL;
}

static void map_rehash(struct map *m, size_t cap)
{
	struct map n = {
		.keys = xcalloc(cap, sizeof(*n.keys)),
		.lens = xcalloc(cap, sizeof(*n.lens)),
		.vals = xcalloc(cap, sizeof(*n.vals)),
		.hashes = xcalloc(cap, sizeof(*n.hashes)),
		.size = m->size,
		.cap = cap,
	};
	MAP_FOREACH(m, i) {
		size_t j = map_find(&n, m->keys[i], m->lens[i], m->hashes[i]);
		n.keys[j] = m->keys[i];
		n.lens[j] = m->lens[i];
		n.vals[j] = m->vals[i];
		n.hashes[j] = m->hashes[i];
	}
	map_free(m);
	*m = n;
}

void **map_slot(struct map *m, const void *key, size_t len, const char ***key_out)
{
	if ((m->size + 1) * 4 >= m->cap * 3)
		map_rehash(m, m->cap ? m->cap * 2 : 16);
	uint32_t h = mem_hash(key, len);
	size_t i = map_find(m, key, len, h);
	if (!m->keys[i]) {
		m->keys[i] = key;
		m->lens[i] = len;
		m->hashes[i] = h;
		m->vals[i] = NULL;
		m->size++;
		if (key_out)
			*key_out = &m->keys[i];
	}
	return &m->vals[i];
}

void map_free(struct map *m)
{
	free(m->keys);
	free(m->lens);
	free(m->vals);
	free(m->hashes);
	memset(m, 0, sizeof(*m));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void str_sort(const char **v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
}

/* libcrypto for base64: only non-UTF-8 names need it, and a run cannot go on without it then. */
static const struct crypto *b64_crypto(void)
{
	const struct crypto *c = crypto();
	if (!c)
		die(EXIT_INTERNAL, "%s (for base64)", crypto_error());
	return c;
}

char *b64_encode(const void *p, size_t n)
{
	if (n > (size_t)INT_MAX / 4 * 3 - 3)
		die(EXIT_INTERNAL, "a string of %zu bytes is too long for base64", n);
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	b64_crypto()->encode_block((unsigned char *)out, p, (int)n);
	return out;
}

char *b64_decode(const char *s, size_t *n)
{
	size_t len = strlen(s);
	*n = 0;
	if (len % 4 || len > (size_t)INT_MAX)
		return NULL;
	size_t pad = len && s[len - 1] == '=' ? 1 + (len > 1 && s[len - 2] == '=') : 0;
	for (size_t i = 0; i < len - pad; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '+' || s[i] == '/'))
			return NULL;
	char *out = xmalloc(len / 4 * 3 + 1);
	int r = b64_crypto()->decode_block((unsigned char *)out, (const unsigned char *)s, (int)len);
	if (r < 0 || (size_t)r != len / 4 * 3) {
		free(out);
		return NULL;
	}
	*n = (size_t)r - pad;
	out[*n] = '\0';
	/* Only one text per byte string: the unused bits of the last group must be zero. */
	autofree char *again = b64_encode(out, *n);
	if (strcmp(again, s) != 0) {
		free(out);
		*n = 0;
		return NULL;
	}
	return out;
}

size_t utf8_seq(const unsigned char *s, size_t avail)
{
	if (avail == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
		return 0; /* overlong, surrogate */
	if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
		return 0;
	return n;
}

void fput_text(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = *p < 0x20 || *p == 0x7f ? 0 : utf8_seq(p, strnlen((const char *)p, 4));
		if (n) {
			fwrite(p, 1, n, f);
			p += n;
		} else {
			fprintf(f, "\\x%02x", *p++);
		}
	}
}

#ifdef FP_SANITIZERS
/*
 * --enable-sanitizers: the runtime options are compiled in rather than set in
 * ASAN_OPTIONS or UBSAN_OPTIONS, which every traced command would inherit and
 * record in its manifest's env. A report (a memory error, undefined behaviour
 * or a leak at exit) ends fingerprint with status 86, which is none of its own
 * (1 differences, 2 usage, 125-127) and none a test fixture exits with, so a
 * test expecting "differences found" or a usage error cannot take it for one.
 */
__attribute__((used)) const char *__asan_default_options(void);
__attribute__((used)) const char *__ubsan_default_options(void);
const char *__asan_default_options(void) { return "exitcode=86"; }
const char *__ubsan_default_options(void) { return "exitcode=86:print_stacktrace=1"; }
/*
 * librpm 4.18's sqlite backend does not close its sqlite handle when a
 * database fails to open (tests/packages-rpm.test opens a corrupt one): that
 * memory is the library's, reachable only through a handle it dropped.
 */
__attribute__((used)) const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libsqlite3.so\n"; }
__attribute__((used)) const char *__lsan_default_options(void);
const char *__lsan_default_options(void) { return "print_suppressions=0"; }
#endif

void file_version_of(const struct stat *st, struct file_version *v)
{
	memset(v, 0, sizeof(*v));
	v->dev = st->st_dev;
	v->ino = st->st_ino;
	v->size = st->st_size;
	v->mtime = st->st_mtim;
	v->ctime = st->st_ctim;
}

bool file_version_is(const struct file_version *v, const struct stat *st)
{
	struct file_version w;
	file_version_of(st, &w);
	return memcmp(v, &w, sizeof(w)) == 0;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}
