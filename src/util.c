#include "config.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
	for (;;) {
		/* A page at least per read: a /proc file gives whole lines only up to the size asked. */
		xgrow(&b->data, &b->cap, b->len + 4096 + 1, 1);
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

uint64_t monotonic_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static const cpu_set_t *thread_mask;

void thread_start_affinity(const cpu_set_t *mask)
{
	thread_mask = mask;
}

int thread_start(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(t, attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0 && thread_mask)
		pthread_setaffinity_np(*t, sizeof(*thread_mask), thread_mask);
	return r;
}

bool dl_load(const char *soname, int mode, const struct dl_want *w, size_t n, char *err, size_t errsz)
{
	void *h = dlopen(soname, RTLD_NOW | mode);
	if (!h) {
		snprintf(err, errsz, "cannot load %s: %s", soname, dlerror());
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!(*w[i].slot = dlsym(h, w[i].name))) {
			snprintf(err, errsz, "%s has no %s", soname, w[i].name);
			return false;
		}
	}
	return true;
}

int loadavg_running(const char *text)
{
	int running, total;
	char slash;
	if (sscanf(text, "%*f %*f %*f %d%c%d", &running, &slash, &total) != 3 || slash != '/' || running < 0 ||
	    total < running)
		return -1;
	return running;
}

/* The first line of file `name` in directory root + dir, without its newline, in buf (size > 1): false when unreadable. */
static bool read_line_at(const char *root, const char *dir, const char *name, char *buf, size_t size)
{
	char full[PATH_MAX];
	int len = snprintf(full, sizeof(full), "%s%s/%s", root, dir, name);
	if (len < 0 || (size_t)len >= sizeof(full))
		return false;
	autoclose int fd = open(full, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
	if (n <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

/* The CPU quota set in cgroup directory `dir` (under root), in CPUs rounded up, or 0 when none. */
static int quota_in(const char *root, const char *dir, bool v2)
{
	char text[64];
	long long quota = -1, period = 0;
	if (v2) {
		if (!read_line_at(root, dir, "cpu.max", text, sizeof(text)) ||
		    sscanf(text, "%lld %lld", &quota, &period) != 2)
			return 0; /* "max 100000": no limit */
	} else if (!read_line_at(root, dir, "cpu.cfs_quota_us", text, sizeof(text)) || sscanf(text, "%lld", &quota) != 1 ||
		   !read_line_at(root, dir, "cpu.cfs_period_us", text, sizeof(text)) || sscanf(text, "%lld", &period) != 1) {
		return 0;
	}
	if (quota <= 0 || period <= 0) /* -1: no limit */
		return 0;
	long long cpus = quota / period + (quota % period != 0);
	return cpus > INT_MAX ? INT_MAX : (int)cpus;
}

/*
 * The smallest quota from the cgroup `cg` (its path in /proc/self/cgroup)
 * up to the root of the hierarchy mounted at `mnt` from `mroot`.
 */
static int quota_up(const char *root, const char *cg, const char *mroot, const char *mnt, bool v2)
{
	size_t rl = strcmp(mroot, "/") == 0 ? 0 : strlen(mroot);
	if (rl && (strncmp(cg, mroot, rl) != 0 || (cg[rl] && cg[rl] != '/')))
		return 0; /* outside what is mounted here */
	char dir[PATH_MAX];
	size_t top = strlen(mnt);
	if ((size_t)snprintf(dir, sizeof(dir), "%s%s", mnt, cg + rl) >= sizeof(dir))
		return 0;
	int best = 0;
	for (;;) {
		int q = quota_in(root, dir, v2);
		if (q && (!best || q < best))
			best = q;
		char *slash = strrchr(dir, '/');
		if (strlen(dir) <= top || !slash || (size_t)(slash - dir) < top)
			break;
		*slash = '\0';
	}
	return best;
}

int cpus_quota(const char *root)
{
	char path[PATH_MAX], line[4096], cg_v1[PATH_MAX] = "", cg_v2[PATH_MAX] = "";
	bool have_v1 = false, have_v2 = false;
	snprintf(path, sizeof(path), "%s/proc/self/cgroup", root);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) { /* "4:cpu,cpuacct:/a/b" (v1) or "0::/a/b" (v2) */
		line[strcspn(line, "\n")] = '\0';
		char *ctl = strchr(line, ':'), *cg = ctl ? strchr(ctl + 1, ':') : NULL;
		if (!cg)
			continue;
		*cg++ = '\0';
		*ctl++ = '\0';
		if (strcmp(line, "0") == 0 && !*ctl) {
			have_v2 = snprintf(cg_v2, sizeof(cg_v2), "%s", cg) < (int)sizeof(cg_v2);
			continue;
		}
		for (char *save, *c = strtok_r(ctl, ",", &save); c; c = strtok_r(NULL, ",", &save))
			if (strcmp(c, "cpu") == 0)
				have_v1 = snprintf(cg_v1, sizeof(cg_v1), "%s", cg) < (int)sizeof(cg_v1);
	}
	fclose(f);

	int best = 0;
	snprintf(path, sizeof(path), "%s/proc/self/mountinfo", root);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		/* "35 25 0:30 / /sys/fs/cgroup/cpu rw,relatime shared:14 - cgroup cgroup rw,cpu" */
		char mroot[PATH_MAX], mnt[PATH_MAX], type[64], opts[1024];
		char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", mroot, mnt) != 2 ||
		    sscanf(sep + 3, "%63s %*s %1023s", type, opts) != 2)
			continue;
		int q = 0;
		if (have_v2 && strcmp(type, "cgroup2") == 0) {
			q = quota_up(root, cg_v2, mroot, mnt, true);
		} else if (have_v1 && strcmp(type, "cgroup") == 0) {
			bool cpu = false;
			for (char *save, *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
				cpu = cpu || strcmp(o, "cpu") == 0;
			if (cpu)
				q = quota_up(root, cg_v1, mroot, mnt, false);
		}
		if (q && (!best || q < best))
			best = q;
	}
	if (f)
		fclose(f);
	return best;
}

int cpus_usable(const char *root)
{
	int n = 0;
	for (int count = 1024; count <= 1024 * 64 && n == 0; count *= 4) { /* more than 1024 CPUs: a bigger set */
		cpu_set_t *set = CPU_ALLOC(count);
		size_t size = CPU_ALLOC_SIZE(count);
		if (!set)
			break;
		if (sched_getaffinity(0, size, set) == 0)
			n = CPU_COUNT_S(size, set);
		CPU_FREE(set);
		if (n == 0 && errno != EINVAL)
			break;
	}
	if (n <= 0) {
		long online = sysconf(_SC_NPROCESSORS_ONLN);
		n = online > 0 && online < INT_MAX ? (int)online : 1;
	}
	int q = cpus_quota(root);
	return q && q < n ? q : n;
}
