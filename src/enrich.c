#include "config.h"
#include "enrich.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "elfinfo.h"
#include "hash.h"
#include "pkgdb.h"
#include "status.h"
#include "util.h"

/*
 * ELF facts read ahead: while the command runs, a thread reads the facts of
 * each binary and library as soon as it is recorded (the manifest's
 * new_object hook), on the core the tracer leaves idle, and after the run
 * goes on with those not read yet while the tracer's thread does the rest.
 * enrich_facts takes them when the file is still the version read (device,
 * inode, size, mtime, ctime), and reads the file itself otherwise.
 */
enum ahead_state { AHEAD_QUEUED, AHEAD_READING, AHEAD_DONE, AHEAD_TAKEN };

struct ahead {
	const char *path; /* interned by the manifest */
	enum ahead_state state;
	bool ok;          /* `e` and `version` hold the facts read */
	struct file_version version;
	struct elfinfo e;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* an entry queued or done, or stop */
	pthread_t thread;
	bool running, stop;
	bool unwoken;     /* entries queued since the thread was last woken (enrich_ahead_wake) */
	struct ahead **q; /* in the order recorded; `next` is the worker's next */
	size_t n, cap, next;
	struct map by_path; /* path -> struct ahead */
	size_t used, reread; /* facts taken as read ahead; read again, the file having changed */
	void (*first)(void); /* run first on the thread (enrich_ahead_first) */
} ahead = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void read_ahead(struct ahead *a)
{
	struct stat st;
	/* The version first: a change after it, even during the read, shows at the end. */
	if (stat(a->path, &st) == 0 && S_ISREG(st.st_mode)) {
		file_version_of(&st, &a->version);
		a->ok = elfinfo_read(a->path, &a->e, NULL, 0) == 0;
	}
}

static void *ahead_main(void *arg)
{
	(void)arg;
	if (ahead.first)
		ahead.first();
	pthread_mutex_lock(&ahead.lock);
	for (;;) {
		while (!ahead.stop && ahead.next == ahead.n)
			pthread_cond_wait(&ahead.cond, &ahead.lock);
		if (ahead.next == ahead.n)
			break; /* stopped, and nothing left */
		struct ahead *a = ahead.q[ahead.next++];
		if (a->state != AHEAD_QUEUED)
			continue; /* taken after the run before its turn */
		a->state = AHEAD_READING;
		pthread_mutex_unlock(&ahead.lock);
		read_ahead(a);
		pthread_mutex_lock(&ahead.lock);
		a->state = AHEAD_DONE;
		pthread_cond_broadcast(&ahead.cond);
	}
	pthread_mutex_unlock(&ahead.lock);
	return NULL;
}

void enrich_ahead(const char *path)
{
	pthread_mutex_lock(&ahead.lock);
	if (!ahead.stop && !map_get(&ahead.by_path, path, strlen(path))) {
		struct ahead *a = xcalloc(1, sizeof(*a));
		a->path = path;
		*map_slot(&ahead.by_path, path, strlen(path), NULL) = a;
		xgrow(&ahead.q, &ahead.cap, ahead.n + 1, sizeof(*ahead.q));
		ahead.q[ahead.n++] = a;
		ahead.unwoken = true;
	}
	pthread_mutex_unlock(&ahead.lock);
}

void enrich_ahead_first(void (*fn)(void))
{
	ahead.first = fn;
}

void enrich_ahead_wake(void)
{
	if (!ahead.unwoken) /* read without the lock: only this thread sets it */
		return;
	pthread_mutex_lock(&ahead.lock);
	if (!ahead.running && !ahead.stop) {
		/*
		 * Started here, with every stop resumed, not at the first entry
		 * queued (the first exec's stop): a thread's stack and clone cost
		 * that tracee 100-200 us. Every signal blocked in the thread: the
		 * tracer's thread takes them all (its waits are interrupted).
		 */
		elfinfo_init();
		ahead.running = thread_start(&ahead.thread, NULL, ahead_main, NULL) == 0;
		if (!ahead.running)
			ahead.stop = true; /* no thread: every file is read after the run, as without */
	}
	ahead.unwoken = false;
	pthread_cond_broadcast(&ahead.cond);
	pthread_mutex_unlock(&ahead.lock);
}

/* The facts of `path` read ahead into `e`, when the file is still the version `st` they were read from. */
static bool take_ahead(const char *path, const struct stat *st, struct elfinfo *e)
{
	bool got = false;
	pthread_mutex_lock(&ahead.lock);
	struct ahead *a = ahead.n ? map_get(&ahead.by_path, path, strlen(path)) : NULL;
	while (a && a->state == AHEAD_READING)
		pthread_cond_wait(&ahead.cond, &ahead.lock);
	if (a && a->state == AHEAD_DONE && a->ok) {
		got = file_version_is(&a->version, st);
		if (got) {
			*e = a->e;
			ahead.used++;
		} else {
			elfinfo_free(&a->e);
			ahead.reread++;
		}
		a->ok = false;
	}
	if (a)
		a->state = AHEAD_TAKEN;
	pthread_mutex_unlock(&ahead.lock);
	return got;
}

/* Stop the thread (once it has read what it was given) and drop what was not taken. */
static void ahead_stop(void)
{
	pthread_mutex_lock(&ahead.lock);
	ahead.stop = true;
	pthread_cond_broadcast(&ahead.cond);
	pthread_mutex_unlock(&ahead.lock);
	if (ahead.running)
		pthread_join(ahead.thread, NULL);
	ahead.running = false;
	for (size_t i = 0; i < ahead.n; i++) {
		if (ahead.q[i]->ok)
			elfinfo_free(&ahead.q[i]->e);
		free(ahead.q[i]);
	}
	free(ahead.q);
	map_free(&ahead.by_path);
	ahead.q = NULL;
	ahead.n = ahead.cap = ahead.next = 0;
}

/* The facts of `path`; `known`, NULL or its stat taken moments ago (by the hashing), spares taking another. */
static void facts_of(struct manifest *m, const char *path, struct mf_facts *f, const struct stat *known)
{
	char err[512], hbuf[PATH_MAX];
	struct elfinfo e;
	const char *host = manifest_host_path(m, path, hbuf);
	struct stat st;
	bool have_st = known ? (st = *known, true) : stat(host, &st) == 0;

	/* The file an exec runs (symlinks followed): under tracing its setuid/setgid bits did not apply. */
	if (have_st && S_ISREG(st.st_mode)) {
		f->setuid = (st.st_mode & S_ISUID) != 0;
		f->setgid = (st.st_mode & S_ISGID) != 0;
	}
	int r = have_st && !m->root && take_ahead(path, &st, &e) ? 0 : elfinfo_read(host, &e, err, sizeof(err));

	if (r == 0) {
		f->elf = xmalloc(sizeof(*f->elf));
		*f->elf = e;
		return;
	}
	if (r == -ENOEXEC && elfinfo_script(host, &f->script_interp, &f->script_args) == 0)
		return;
	if (r == -ENOEXEC)
		snprintf(err, sizeof(err), "%s: neither ELF nor a #! script", path);
	else if (r != -EINVAL)
		snprintf(err, sizeof(err), "%s: %s", path, strerror(-r));
	f->elf_error = xstrdup(err);
	manifest_warn(m, "elf-unreadable", "%s", err);
}

void enrich_facts(struct manifest *m, const char *path, struct mf_facts *f)
{
	facts_of(m, path, f, NULL);
}

static bool after(const struct timespec *t, const struct timespec *start)
{
	return t->tv_sec > start->tv_sec || (t->tv_sec == start->tv_sec && t->tv_nsec >= start->tv_nsec);
}

static bool written_by_run(const struct manifest *m, const char *path)
{
	const struct mf_file *f = strmap_get(&m->files, path);
	return f && (f->access & (ACCESS_WRITE | ACCESS_CREATED));
}

/* The files to hash, in the order their results are taken. */
struct hashing {
	struct hash_req *reqs;
	char **host;   /* owned host paths (under --root), else NULL */
	size_t n, cap, next;
};

static void hashing_want(struct hashing *h, const struct manifest *m, const char *path)
{
	char buf[PATH_MAX];
	const char *host = manifest_host_path(m, path, buf);

	size_t cap = h->cap;
	xgrow(&h->reqs, &h->cap, h->n + 1, sizeof(*h->reqs));
	if (h->cap != cap)
		h->host = xrealloc(h->host, h->cap * sizeof(*h->host));
	h->host[h->n] = host == path ? NULL : xstrdup(host);
	h->reqs[h->n] = (struct hash_req){ .path = host == path ? path : h->host[h->n] };
	h->n++;
}

static void hashing_free(struct hashing *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->host[i]);
	free(h->host);
	free(h->reqs);
}

/* The next result, for `path`: the owned digest, or NULL after counting a warning. */
static char *hashing_take(struct hashing *h, struct manifest *m, const char *path, const struct timespec *run_start)
{
	const struct hash_req *r = &h->reqs[h->next++];

	if (r->result == 0 && run_start && after(&r->st.st_mtim, run_start) && !written_by_run(m, path)) {
		manifest_warn(m, "changed-during-run", "%s was modified while the command ran: not hashed", path);
		return NULL;
	}
	if (r->result == 0)
		return xstrdup(r->hex);
	if (r->result == -ENOENT)
		manifest_warn(m, "vanished-before-hash", "%s no longer exists: not hashed", path);
	else if (r->result == -EAGAIN)
		manifest_warn(m, "changed-during-hash", "%s changed while it was hashed: not hashed", path);
	else
		manifest_warn(m, "unhashable", "%s: cannot hash: %s", path, strerror(-r->result));
	return NULL;
}

/* The stat the hashing took of the file whose result is taken next, if it took one. */
static const struct stat *hashed_stat(const struct hashing *h)
{
	return h->next < h->n && h->reqs[h->next].stat_ok ? &h->reqs[h->next].st : NULL;
}

static void take_facts_hash(struct hashing *h, struct manifest *m, const char *path, struct mf_facts *f,
			    const struct timespec *run_start)
{
	f->sha256 = hashing_take(h, m, path, run_start);
	f->hash_failed = f->sha256 == NULL;
}

/* A file whose content is hashed: read, and a regular file (not gone, not special). */
static bool file_hashed(const struct mf_file *f)
{
	return (f->access & ACCESS_READ) && !f->type;
}

/* Say how the hashing since `t0` went: on standard error when FINGERPRINT_HASH_STATS is set, else with -v. */
static void report_hash_stats(const struct hash_stats *s, const struct timespec *t0)
{
	const char *want = getenv("FINGERPRINT_HASH_STATS");
	char line[200];
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	snprintf(line, sizeof(line), "hashes: %zu computed, %zu cached, %zu bad cache records, %u threads, %.1f ms%s",
		 s->computed, s->cached, s->bad_records, s->jobs,
		 (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6,
		 s->cache ? "" : " (no cache)");
	if (want && *want && strcmp(want, "0") != 0) {
		status_erase();
		fprintf(stderr, "%s: %s\n", program_name, line);
	}
	else
		info("%s", line);
}

/* The ELF facts that decide what a process of binary `b` loads: its own, or its interpreter's. */
static const struct elfinfo *loader_elf(struct manifest *m, struct map *interps, const struct mf_binary *b)
{
	if (b->facts.elf || !b->facts.script_interp)
		return b->facts.elf;
	struct mf_facts *f = strmap_get(interps, b->facts.script_interp);
	if (!f) {
		f = xcalloc(1, sizeof(*f));
		enrich_facts(m, b->facts.script_interp, f);
		const char *key = manifest_intern(m, b->facts.script_interp);
		*map_slot(interps, key, strlen(key), NULL) = f;
	}
	return f->elf;
}

/* A file's identity, from a stat taken once: `known` tells whether it was tried, `ok` whether it worked. */
struct file_id {
	bool known, ok;
	dev_t dev;
	ino_t ino;
};

static const struct file_id *file_id_of(struct manifest *m, const char *path, struct file_id *id)
{
	char hbuf[PATH_MAX];
	struct stat st;
	if (!id->known) {
		id->known = true;
		id->ok = stat(manifest_host_path(m, path, hbuf), &st) == 0;
		id->dev = id->ok ? st.st_dev : 0;
		id->ino = id->ok ? st.st_ino : 0;
	}
	return id;
}

static bool same_id(const struct file_id *a, const struct file_id *b)
{
	return a->ok && b->ok && a->dev == b->dev && a->ino == b->ino;
}

static bool strset_has(const struct strset *s, const char *interned)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == interned)
			return true;
	return false;
}

/* The soname a library answers to: DT_SONAME, else its file name. */
static const char *soname_of(const struct mf_library *l)
{
	if (l->facts.elf && l->facts.elf->soname)
		return l->facts.elf->soname;
	const char *slash = strrchr(l->path, '/');
	return slash ? slash + 1 : l->path;
}

/*
 * Mark the libraries in the DT_NEEDED closure of `elf`, among those that
 * processes of `binary` loaded, as "needed". `bysoname` maps a soname to
 * the array (NULL-terminated) of libraries answering to it.
 */
static void mark_needed(const struct map *bysoname, const char *binary, const struct elfinfo *elf)
{
	const struct elfinfo **queue = NULL;
	size_t head = 0, n = 0, cap = 0;
	struct map seen = { 0 };

	xgrow(&queue, &cap, 1, sizeof(*queue));
	queue[n++] = elf;
	while (head < n) {
		const struct elfinfo *e = queue[head++];
		for (size_t i = 0; i < e->n_needed; i++) {
			const char *so = e->needed[i];
			if (map_get(&seen, so, strlen(so)))
				continue;
			*map_slot(&seen, so, strlen(so), NULL) = (void *)so;
			struct mf_library **cands = strmap_get(bysoname, so);
			for (; cands && *cands; cands++) {
				struct mf_library *l = *cands;
				if (!strset_has(&l->loaded_by, binary))
					continue;
				if (!l->how || strcmp(l->how, "dlopen") == 0)
					l->how = "needed";
				if (l->facts.elf) {
					xgrow(&queue, &cap, n + 1, sizeof(*queue));
					queue[n++] = l->facts.elf;
				}
			}
		}
	}
	map_free(&seen);
	free(queue);
}

static void classify_libraries(struct manifest *m)
{
	struct map bysoname = { 0 }, interps = { 0 };

	for (size_t i = 0; i < m->n_libraries; i++) {
		struct mf_library *l = m->sorted_libraries[i];
		const char *so = soname_of(l);
		void **slot = map_slot(&bysoname, so, strlen(so), NULL);
		size_t k = 0;
		struct mf_library **v = *slot;
		while (v && v[k])
			k++;
		v = xrealloc(v, (k + 2) * sizeof(*v));
		v[k] = l;
		v[k + 1] = NULL;
		*slot = v;
	}
	/* Each library stat'ed once, when some binary that loaded it has an interpreter. */
	struct file_id *lib_ids = xcalloc(m->n_libraries + 1, sizeof(*lib_ids));
	for (size_t i = 0; i < m->n_binaries; i++) {
		struct mf_binary *b = m->sorted_binaries[i];
		const struct elfinfo *e = loader_elf(m, &interps, b);
		if (!e)
			continue;
		struct file_id interp = { 0 };
		for (size_t k = 0; e->interp && k < m->n_libraries; k++) {
			struct mf_library *l = m->sorted_libraries[k];
			if (strset_has(&l->loaded_by, b->path) &&
			    same_id(file_id_of(m, e->interp, &interp), file_id_of(m, l->path, &lib_ids[k])))
				l->how = "interp";
		}
		mark_needed(&bysoname, b->path, e);
	}
	free(lib_ids);
	for (size_t i = 0; i < m->n_libraries; i++) {
		struct mf_library *l = m->sorted_libraries[i];
		if (!l->how)
			l->how = "dlopen";
	}
	MAP_FOREACH(&bysoname, i)
		free(bysoname.vals[i]);
	map_free(&bysoname);
	MAP_FOREACH(&interps, i) {
		struct mf_facts *f = interps.vals[i];
		if (f->elf)
			elfinfo_free(f->elf);
		free(f->elf);
		free(f->elf_error);
		free(f->script_interp);
		free(f->script_args);
		free(f);
	}
	map_free(&interps);
}

void enrich_manifest(struct manifest *m, enum hash_mode mode, const struct timespec *run_start,
		     const struct hash_opts *ho)
{
	struct hashing h = { 0 };
	struct hash_stats stats;

	/* Everything to hash at once, so that it is read on all threads. */
	for (size_t i = 0; mode != HASH_NONE && i < m->n_binaries; i++)
		hashing_want(&h, m, m->sorted_binaries[i]->path);
	for (size_t i = 0; mode != HASH_NONE && i < m->n_libraries; i++)
		hashing_want(&h, m, m->sorted_libraries[i]->path);
	for (size_t i = 0; mode == HASH_ALL && i < m->n_files; i++)
		if (file_hashed(m->sorted_files[i]))
			hashing_want(&h, m, m->sorted_files[i]->path);
	if (mode != HASH_NONE) {
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		hash_files(h.reqs, h.n, ho, &stats);
		report_hash_stats(&stats, &t0);
	}

	for (size_t i = 0; i < m->n_binaries; i++) {
		struct mf_binary *b = m->sorted_binaries[i];
		facts_of(m, b->path, &b->facts, hashed_stat(&h));
		if (mode != HASH_NONE)
			take_facts_hash(&h, m, b->path, &b->facts, run_start);
	}
	for (size_t i = 0; i < m->n_libraries; i++) {
		struct mf_library *l = m->sorted_libraries[i];
		facts_of(m, l->path, &l->facts, hashed_stat(&h));
		if (mode != HASH_NONE)
			take_facts_hash(&h, m, l->path, &l->facts, run_start);
	}
	classify_libraries(m);
	if (ahead.n)
		info("ELF facts: %zu of %zu objects read while the command ran, %zu read again (changed since)", ahead.used,
		     m->n_binaries + m->n_libraries, ahead.reread);
	ahead_stop();
	for (size_t i = 0; mode == HASH_ALL && i < m->n_files; i++) {
		struct mf_file *f = m->sorted_files[i];
		if (!(f->access & ACCESS_READ))
			continue; /* only written: an output, not a dependency */
		if (f->type && strcmp(f->type, "gone") == 0) {
			manifest_warn(m, "vanished-before-hash", "%s no longer exists: not hashed", f->path);
			f->hash_failed = true;
		} else if (file_hashed(f)) {
			f->sha256 = hashing_take(&h, m, f->path, run_start);
			f->hash_failed = f->sha256 == NULL;
		} /* a directory, device or FIFO is never read for hashing */
	}
	hashing_free(&h);
}

/* The owner of a path, else of its symlink target, as the manifest's own package entry. */
static const struct mf_package *owner(struct manifest *m, const struct pkgdb *db, const char *path, const char *target)
{
	const struct pkgdb_pkg *p = pkgdb_owner(db, path);
	if (!p && target)
		p = pkgdb_owner(db, target);
	return p ? manifest_add_package(m, p->name, p->version, p->arch) : NULL;
}

static void want(struct pkgdb *db, const char *path, const char *target)
{
	pkgdb_want(db, path);
	if (target)
		pkgdb_want(db, target);
}

/*
 * The package lookup proper: open the database, ask for every path of the
 * finalised manifest and load the answers. It reads only the manifest's
 * paths and targets, so it can run on a thread of its own while the hashes
 * and ELF facts are taken (enrich_packages_start).
 */
static struct owners_job {
	struct manifest *m;
	bool cache, started;
	pthread_t thread;
	uint64_t took_us; /* the lookup's own time (on its thread, alongside the hashes) */
	struct pkgdb *db; /* NULL: `why` says why */
	char why[512], err[512];
	size_t failed;
} owners_job;

static void owners_lookup(struct owners_job *j)
{
	struct manifest *m = j->m;
	j->db = pkgdb_open(m->root, j->why, sizeof(j->why));
	if (!j->db)
		return;
	uint64_t t0 = monotonic_us();
	for (size_t i = 0; i < m->n_binaries; i++)
		want(j->db, m->sorted_binaries[i]->path, m->sorted_binaries[i]->target);
	for (size_t i = 0; i < m->n_libraries; i++)
		want(j->db, m->sorted_libraries[i]->path, m->sorted_libraries[i]->target);
	for (size_t i = 0; i < m->n_files; i++)
		want(j->db, m->sorted_files[i]->path, m->sorted_files[i]->target);
	pkgdb_use_cache(j->db, j->cache);
	j->failed = pkgdb_load(j->db, j->err, sizeof(j->err));
	j->took_us = monotonic_us() - t0;
}

static void *owners_main(void *arg)
{
	owners_lookup(arg);
	return NULL;
}

void enrich_packages_start(struct manifest *m, bool lookup, bool cache)
{
	if (!lookup || owners_job.started)
		return;
	owners_job = (struct owners_job){ .m = m, .cache = cache };
	owners_job.started = thread_start(&owners_job.thread, NULL, owners_main, &owners_job) == 0;
}

void enrich_packages(struct manifest *m, bool lookup, bool cache)
{
	struct owners_job *j = &owners_job;

	if (!lookup) {
		m->packages_lookup = "not looked up: --no-packages";
		return;
	}
	enrich_packages_start(m, lookup, cache);
	if (j->started)
		pthread_join(j->thread, NULL);
	else
		owners_lookup(j); /* no thread: looked up here */
	j->started = false;
	uint64_t t0 = monotonic_us();
	if (!j->db) {
		char msg[sizeof(j->why) + 32];
		snprintf(msg, sizeof(msg), "not looked up: %.*s", (int)sizeof(j->why), j->why);
		m->packages_lookup = manifest_intern(m, msg);
		return;
	}
	struct pkgdb *db = j->db;
	bool cached = pkgdb_from_cache(db);
	if (j->failed)
		manifest_warn(m, "package-list-unreadable", "%s (%zu package lists unreadable)", j->err, j->failed);

	for (size_t i = 0; i < m->n_binaries; i++) {
		struct mf_binary *b = m->sorted_binaries[i];
		b->package = owner(m, db, b->path, b->target);
	}
	for (size_t i = 0; i < m->n_libraries; i++) {
		struct mf_library *l = m->sorted_libraries[i];
		l->package = owner(m, db, l->path, l->target);
	}
	for (size_t i = 0; i < m->n_files; i++) {
		struct mf_file *f = m->sorted_files[i];
		f->package = owner(m, db, f->path, f->target);
	}
	m->packages_lookup = pkgdb_kind(db); /* a static string */
	pkgdb_free(db);
	j->db = NULL;
	m->packages_known = true;
	manifest_finalize_packages(m);
	info("package owners looked up in %.1f ms%s", (double)(j->took_us + monotonic_us() - t0) / 1e3,
	     cached ? " (from the cache)" : "");
}
