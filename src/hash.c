#include "config.h"
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "hashcache.h"
#include "util.h"

#define BLOCK_SIZE (1 << 16)
#define WORKER_STACK (256 * 1024)
/*
 * A digest goes to the persistent cache only when the file's ctime is this
 * many seconds older than the start of its hashing. The kernel stamps ctime
 * from a coarse clock (a tick, up to a second or two on some filesystems):
 * a file changed again within the tick of its last change would keep its
 * key, so a digest of a file that recent could outlive its content.
 */
#define SETTLE_S 2

static struct map cache; /* in the process: struct file_version (owned) -> hex digest (owned) */

static void cache_add(const struct stat *st, const char *hex)
{
	struct file_version *k = xmalloc(sizeof(*k));
	file_version_of(st, k);
	void **slot = map_slot(&cache, k, sizeof(*k), NULL);
	if (*slot == NULL)
		*slot = xstrdup(hex);
	else
		free(k);
}

static bool same_version(const struct stat *a, const struct stat *b)
{
	struct file_version va;
	file_version_of(a, &va);
	return file_version_is(&va, b);
}

static bool settled(const struct stat *st, const struct timespec *start)
{
	time_t s = st->st_ctim.tv_sec + SETTLE_S;
	return s < start->tv_sec || (s == start->tv_sec && st->st_ctim.tv_nsec < start->tv_nsec);
}

/* Digest `fd` to its end, reading through `block` (BLOCK_SIZE bytes). Returns 0 or -errno. */
static int digest_fd(int fd, unsigned char *block, char hex[HASH_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ret = 0;
	const struct crypto *c = crypto();
	if (!c)
		return -ELIBACC; /* hash_files said why */
	EVP_MD_CTX *ctx = c->md_ctx_new();

	if (!ctx || !c->digest_init_ex(ctx, c->sha256(), NULL)) {
		c->md_ctx_free(ctx);
		return -ENOMEM; /* libcrypto cannot start a digest: not fatal in a worker thread */
	}
	for (;;) {
		ssize_t n = read(fd, block, BLOCK_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		if (!c->digest_update(ctx, block, (size_t)n)) {
			ret = -EIO;
			break;
		}
	}
	if (ret == 0 && !c->digest_final_ex(ctx, md, &mdlen))
		ret = -EIO;
	if (ret == 0 && mdlen != HASH_HEX_LEN / 2)
		ret = -EIO;
	if (ret == 0)
		hex_encode(md, mdlen, hex);
	c->md_ctx_free(ctx);
	return ret;
}

/* A file to read, and whether its digest may be cached across runs. */
struct work {
	struct hash_req *req;
	bool settled;
};

/* Read and digest w->req->path; sets its result, hex and st. */
static void hash_one(struct work *w, unsigned char *block)
{
	struct hash_req *r = w->req;
	struct stat before, after;
	struct timespec start;
	autoclose int fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	r->result = 0;
	if (fd < 0 || fstat(fd, &before) < 0) {
		r->result = -errno;
		return;
	}
	if (!S_ISREG(before.st_mode)) {
		r->result = -EINVAL; /* replaced by something else since the stat */
		return;
	}
	clock_gettime(CLOCK_REALTIME, &start);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	r->result = digest_fd(fd, block, r->hex);
	if (r->result < 0)
		return;
	if (fstat(fd, &after) < 0)
		r->result = -errno;
	else if (!same_version(&before, &after))
		r->result = -EAGAIN;
	if (r->result < 0)
		return;
	r->st = after;
	w->settled = settled(&after, &start);
}

/* The files to read, taken in turn by the threads. */
struct pool {
	struct work *w;
	size_t n;
	atomic_size_t next;
	atomic_size_t done;
	void (*progress)(size_t done, size_t total);  /* called by the calling thread's worker only */
	size_t before, total;  /* requests settled without reading, of all of them */
};

struct worker {
	struct pool *pool;
	unsigned char *block;
	pthread_t tid;
	bool reports;  /* the calling thread: it calls pool->progress */
};

static void *work_through(void *arg)
{
	struct worker *me = arg;
	struct pool *p = me->pool;
	for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->n;) {
		hash_one(&p->w[i], me->block);
		size_t done = atomic_fetch_add(&p->done, 1) + 1;
		if (me->reports && p->progress)
			p->progress(p->before + done, p->total);
	}
	return NULL;
}

/* One per CPU this process may run on, at most HASH_AUTO_MAX_JOBS. */
static unsigned auto_jobs(void)
{
	cpu_set_t set;
	long n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > HASH_AUTO_MAX_JOBS ? HASH_AUTO_MAX_JOBS : (unsigned)n;
}

/*
 * Work through `p` on `jobs` threads, this one among them (fewer when a
 * thread cannot be started). Returns how many threads hashed.
 */
static unsigned run_pool(struct pool *p, unsigned jobs)
{
	struct worker ws[HASH_MAX_JOBS];
	unsigned char *blocks = xmalloc((size_t)jobs * BLOCK_SIZE);
	unsigned started = 1;
	pthread_attr_t attr;

	ws[0] = (struct worker){ .pool = p, .block = blocks, .reports = true };
	if (jobs > 1 && pthread_attr_init(&attr) == 0) {
		pthread_attr_setstacksize(&attr, WORKER_STACK);
		for (; started < jobs; started++) {
			ws[started] = (struct worker){ .pool = p, .block = blocks + (size_t)started * BLOCK_SIZE };
			if (thread_start(&ws[started].tid, &attr, work_through, &ws[started]) != 0)
				break;
		}
		pthread_attr_destroy(&attr);
	}
	work_through(&ws[0]);
	for (unsigned i = 1; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	free(blocks);
	return started;
}

void hash_files(struct hash_req *reqs, size_t n, const struct hash_opts *o, struct hash_stats *stats)
{
	struct hash_stats s = { 0 };
	struct file_version *keys = xcalloc(n, sizeof(*keys));
	size_t *from = xmalloc((n ? n : 1) * sizeof(*from)); /* the request whose result request i takes */
	struct work *work = xcalloc(n, sizeof(*work));
	struct map reading = { 0 }; /* key -> 1 + the request that reads it */
	struct hashcache *hc = o && o->cache && n > 0 ? hashcache_open() : NULL;
	size_t nw = 0;

	/* Stat each file, in order, and find what need not be read. */
	for (size_t i = 0; i < n; i++) {
		struct hash_req *r = &reqs[i];
		const char *hex;
		from[i] = i;
		r->result = 0;
		r->stat_ok = stat(r->path, &r->st) == 0;
		if (!r->stat_ok) {
			r->result = -errno;
			continue;
		}
		if (!S_ISREG(r->st.st_mode)) {
			r->result = -EINVAL;
			continue;
		}
		file_version_of(&r->st, &keys[i]);
		if ((hex = map_get(&cache, &keys[i], sizeof(keys[i])))) {
			memcpy(r->hex, hex, HASH_HEX_LEN + 1);
			continue;
		}
		void **slot = map_slot(&reading, &keys[i], sizeof(keys[i]), NULL);
		if (*slot) {
			from[i] = (size_t)(uintptr_t)*slot - 1;
			continue;
		}
		*slot = (void *)(uintptr_t)(i + 1);
		work[nw++].req = r;
		if (hc)
			hashcache_want(hc, &r->st);
	}
	/* Then what the persistent cache has (its records of these files only are parsed). */
	size_t kept = 0;
	for (size_t j = 0; j < nw; j++) {
		struct hash_req *r = work[j].req;
		const char *hex;
		if (hc && (hex = hashcache_get(hc, &r->st))) {
			memcpy(r->hex, hex, HASH_HEX_LEN + 1);
			cache_add(&r->st, r->hex);
			s.cached++;
			continue;
		}
		work[kept++].req = r;
	}
	nw = kept;

	/* Loaded here, before the threads: they only ever see it loaded or not. */
	if (nw > 0 && !crypto())
		warn("warning: %s: files are not hashed", crypto_error());
	if (nw > 0) {
		unsigned jobs = !o ? 1 : o->jobs ? o->jobs : auto_jobs();
		struct pool p = { .w = work, .n = nw, .progress = o ? o->progress : NULL, .before = n - nw, .total = n };
		if (jobs > HASH_MAX_JOBS)
			jobs = HASH_MAX_JOBS;
		if (jobs > nw)
			jobs = (unsigned)nw;
		atomic_init(&p.next, 0);
		atomic_init(&p.done, 0);
		s.jobs = run_pool(&p, jobs);
	}
	if (o && o->progress)
		o->progress(n, n);

	/* Record the new digests, in order, and give copies to the other paths of the same file. */
	for (size_t i = 0; i < nw; i++) {
		struct hash_req *r = work[i].req;
		if (r->result < 0)
			continue;
		s.computed++;
		cache_add(&r->st, r->hex);
		if (hc && work[i].settled)
			hashcache_put(hc, &r->st, r->hex);
	}
	for (size_t i = 0; i < n; i++) {
		if (from[i] == i)
			continue;
		reqs[i].result = reqs[from[i]].result;
		memcpy(reqs[i].hex, reqs[from[i]].hex, sizeof(reqs[i].hex));
		reqs[i].st = reqs[from[i]].st;
	}

	s.cache = hc != NULL;
	s.bad_records = hc ? hashcache_bad_records(hc) : 0;
	hashcache_close(hc);
	map_free(&reading);
	free(work);
	free(from);
	free(keys);
	if (stats)
		*stats = s;
}

int hash_file(const char *path, char hex[HASH_HEX_LEN + 1], struct stat *st)
{
	struct hash_req r = { .path = path };

	hash_files(&r, 1, NULL, NULL);
	if (r.result < 0)
		return r.result;
	memcpy(hex, r.hex, HASH_HEX_LEN + 1);
	if (st)
		*st = r.st;
	return 0;
}

void hash_cache_clear(void)
{
	MAP_FOREACH(&cache, i) {
		free((void *)cache.keys[i]);
		free(cache.vals[i]);
	}
	map_free(&cache);
}
