#include "config.h"
#include "proc.h"
#include "unwind.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Open addressing on tid with linear probing and backward-shift deletion. */
static struct proc **slots;
static size_t nslots, nprocs;
static size_t nrunners; /* proc_runners(): the sum of runners_of over live groups */

static size_t runners_of(const struct tgroup *g)
{
	return g->refs - (g->refs && g->children);
}

/* Add `d` (+1 or -1) to g's threads (`threads`) or its children, keeping nrunners. */
static void tgroup_count(struct tgroup *g, bool threads, int d)
{
	nrunners -= runners_of(g);
	if (threads)
		g->refs += d;
	else
		g->children += d;
	nrunners += runners_of(g);
}

static size_t slot_of(pid_t tid)
{
	return ((uint32_t)tid * 2654435761u) & (nslots - 1);
}

static size_t find(pid_t tid)
{
	size_t i = slot_of(tid);
	while (slots[i] && slots[i]->tid != tid)
		i = (i + 1) & (nslots - 1);
	return i;
}

static void insert(struct proc *p)
{
	if ((nprocs + 1) * 2 > nslots) {
		struct proc **old = slots;
		size_t oldn = nslots;
		nslots = nslots ? nslots * 2 : 64;
		slots = xcalloc(nslots, sizeof(*slots));
		for (size_t i = 0; i < oldn; i++)
			if (old[i])
				slots[find(old[i]->tid)] = old[i];
		free(old);
	}
	slots[find(p->tid)] = p;
	nprocs++;
}

static void unlink_slot(size_t i)
{
	slots[i] = NULL;
	nprocs--;
	/* Shift back the entries of the probe run that follows the hole. */
	for (size_t j = (i + 1) & (nslots - 1); slots[j]; j = (j + 1) & (nslots - 1)) {
		size_t home = slot_of(slots[j]->tid);
		bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (!between) {
			slots[i] = slots[j];
			slots[j] = NULL;
			i = j;
		}
	}
}

struct proc *proc_lookup(pid_t tid)
{
	if (!nprocs)
		return NULL;
	return slots[find(tid)];
}

void tgroup_set_cwd(struct tgroup *g, const char *cwd)
{
	free(g->cwd);
	g->cwd = cwd ? xstrdup(cwd) : NULL;
}

/* A group's struct goes once it has neither threads nor live children (whose parent it is). */
static void tgroup_free_if_done(struct tgroup *g)
{
	if (g->refs == 0 && g->children == 0)
		free(g);
}

void tgroup_set_parent(struct tgroup *g, struct tgroup *parent)
{
	struct tgroup *old = g->parent;
	if (old == parent)
		return;
	if (parent)
		tgroup_count(parent, false, 1);
	g->parent = parent;
	if (old) {
		tgroup_count(old, false, -1);
		tgroup_free_if_done(old);
	}
}

/*
 * Every tid ever in the table, a bit each, up to PID_MAX_LIMIT on 64-bit
 * (2^22; the pages of the bits never set are never touched). Written on
 * the tracer's thread only, read by its signal handlers (proc_ever_traced).
 */
#define EVER_PIDS (1u << 22)
static volatile unsigned char ever[EVER_PIDS / 8];

bool proc_ever_traced(pid_t pid)
{
	return pid > 0 && (unsigned)pid < EVER_PIDS && (ever[pid / 8] >> (pid % 8) & 1);
}

struct proc *proc_new(pid_t tid, struct tgroup *group, struct tgroup *parent)
{
	struct proc *p = xcalloc(1, sizeof(*p));
	if (tid > 0 && (unsigned)tid < EVER_PIDS)
		ever[tid / 8] |= (unsigned char)(1u << (tid % 8));
	p->tid = tid;
	p->pidfd = -1;
	if (group) {
		p->tg = group;
	} else {
		p->tg = xcalloc(1, sizeof(*p->tg));
		p->tg->tgid = tid;
		if (parent) {
			p->tg->binary = parent->binary;
			p->tg->exe = parent->exe;
			tgroup_set_cwd(p->tg, parent->cwd);
			p->tg->cwd_gen = parent->cwd_gen;
			tgroup_set_parent(p->tg, parent);
		}
	}
	tgroup_count(p->tg, true, 1);
	insert(p);
	return p;
}

void proc_drop_pidfd(struct proc *p)
{
	int fd = proc_take_pidfd(p);
	if (fd >= 0)
		close(fd);
}

void proc_rekey(struct proc *p, pid_t new_tid)
{
	unlink_slot(find(p->tid));
	p->tid = new_tid;
	proc_drop_pidfd(p); /* the old tid's */
	insert(p);
}

void proc_remove(struct proc *p)
{
	unlink_slot(find(p->tid));
	proc_drop_pidfd(p);
	struct tgroup *g = p->tg;
	tgroup_count(g, true, -1);
	if (g->refs == 0) {
		unwind_map_free(g->umap);
		free(g->loader_opens);
		free(g->libs_seen);
		free(g->cwd);
		g->umap = NULL;
		g->loader_opens = NULL;
		g->libs_seen = NULL;
		g->cwd = NULL;
		tgroup_set_parent(g, NULL);
		tgroup_free_if_done(g);
	}
	free(p);
}

static size_t npidfds; /* kept by procs */

void proc_keep_pidfd(struct proc *p, int fd)
{
	proc_drop_pidfd(p);
	p->pidfd = fd;
	p->pidfd_stops = 0;
	npidfds += fd >= 0;
}

int proc_take_pidfd(struct proc *p)
{
	int fd = p->pidfd;
	npidfds -= fd >= 0;
	p->pidfd = -1;
	return fd;
}

size_t proc_pidfds(void)
{
	return npidfds;
}

size_t proc_count(void)
{
	return nprocs;
}

size_t proc_runners(void)
{
	return nrunners;
}

void proc_foreach(void (*fn)(struct proc *p, void *ctx), void *ctx)
{
	for (size_t i = 0; i < nslots; i++)
		if (slots[i])
			fn(slots[i], ctx);
}

ssize_t proc_read_file(pid_t pid, const char *name, struct buf *b)
{
	char file[64];
	snprintf(file, sizeof(file), "/proc/%d/%s", (int)pid, name);
	return buf_read_file(b, file);
}
