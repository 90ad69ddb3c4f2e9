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

struct proc *proc_new(pid_t tid, struct tgroup *group, const struct tgroup *parent)
{
	struct proc *p = xcalloc(1, sizeof(*p));
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
		}
	}
	p->tg->refs++;
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
	if (--p->tg->refs == 0) {
		unwind_map_free(p->tg->umap);
		free(p->tg->loader_opens);
		free(p->tg->libs_seen);
		free(p->tg->cwd);
		free(p->tg);
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
