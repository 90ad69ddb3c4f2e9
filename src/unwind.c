#include "config.h"
#include "unwind.h"

#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#include "elfinfo.h"
#include "maps.h"
#include "proc.h"
#include "unwind_libs.h"
#include "util.h"

#define MAX_FRAMES 128
#define RULE_SLOTS 256       /* per object: the frame rules of its call sites, direct-mapped */
#define SAME INT32_MIN       /* a register the frame leaves unchanged */
#define DWARF_RBP 6
#define DWARF_RSP 7
#define DWARF_RA 16
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_pcrel 0x10
#define DW_EH_PE_datarel 0x30

struct sym {
	uint64_t addr, size;
	const char *name; /* in the object's mapped file */
};

#define SYM_SCANS 16 /* per object, before its symbols are sorted */
#define SYM_MEMO 16  /* answers kept per object */

struct seg {
	uint64_t vaddr, offset, filesz;
	bool writable;
};

/*
 * One mapped file, loaded once and shared by every process that maps it.
 * At first only its program headers are read (where its segments go);
 * the file itself is mapped when a stack walk first goes through it.
 */
struct uobj {
	const char *path;          /* the key in `objects` */
	struct file_version version; /* the file whose headers were read */
	const unsigned char *data; /* the whole file, mapped read-only (object_data), or NULL */
	size_t size;
	bool data_tried;
	struct seg *segs;
	size_t nsegs;
	uint64_t eh_vaddr, eh_offset, eh_size; /* PT_GNU_EH_FRAME, when eh_size */
	bool has_table;            /* a usable .eh_frame_hdr binary-search table (once data is mapped) */
	uint64_t hdr_vaddr, table_vaddr, fde_count;
	uint64_t text_lo, text_hi; /* vaddr range of the executable segments */
	uint64_t entry;            /* e_entry */
	struct sym *syms;          /* collected and sorted once sym_scans lookups were not enough */
	size_t nsyms, syms_cap;
	unsigned sym_scans;        /* lookups answered by scanning the tables in place */
	struct sym_memo {
		uint64_t v;
		const char *name;
		bool valid;
	} memo[SYM_MEMO];
	bool syms_loaded, skip, loader, bad;
	bool replaced;             /* the file at `path` is no longer the version whose headers were read */
	bool told;                 /* a caller was told (struct caller's replaced) */
	struct uobj *older;        /* earlier versions of the file at `path`, still mapped by some process */
	Elf *elf;                  /* over `data`, for the CFI */
	Dwarf_CFI *cfi;            /* .eh_frame through libdw, opened on first use */
	bool cfi_tried;
	struct rule {              /* the frame rule at a link-time address (frame_rule) */
		uint64_t vaddr;
		int32_t cfa_off;   /* CFA = rsp (or rbp when cfa_rbp) + cfa_off */
		int32_t ra_at;     /* return address saved at CFA + ra_at */
		int32_t rbp_at;    /* caller's rbp saved at CFA + rbp_at, or SAME */
		bool cfa_rbp, usable, valid;
	} *rules;
};

struct umapping {
	uint64_t start, end, offset;
	uint64_t inode; /* of the file mapped, by the maps line; 0 when placed from program headers */
	dev_t dev;      /* the file system of that inode */
	char *path;
	struct uobj *obj; /* resolved on first use */
};

struct unwind_map {
	struct umapping *v;
	size_t n;
	bool partial; /* only the loader, placed at an exec (unwind_place_loader): not for walks */
	uint64_t id; /* unique per snapshot: libunwind's per-IP cache is valid for one snapshot */
};

static struct map objects;          /* path -> struct uobj */
static char **skip_prefixes;
static size_t n_skip;
static unw_addr_space_t addr_space; /* made at the first whole walk */
static bool set_up;
static uint64_t snapshots, cache_for; /* snapshots taken; the one libunwind's cache describes */
/* FINGERPRINT_UNWIND_CHECK (for the tests): verify every direct answer with
 * a full walk, die on a difference, and count both kinds on stderr at the end. */
static bool check_direct;
static unsigned long n_direct, n_walks;

/* The walk in progress. */
static pid_t cur_tid;
static struct unwind_map *cur_map;
static uint64_t cur_ip, cur_sp;
static struct user_regs_struct cur_regs;
static bool have_regs; /* cur_regs read for this walk */
#define PAGE_CACHE 8
static struct {
	uint64_t page;
	bool valid;
	unsigned char data[4096];
} pages[PAGE_CACHE];
static unsigned next_page;
static struct {
	pid_t tid;
	uint64_t sp, page;
	size_t len; /* 0: nothing seeded */
	unsigned char data[UNWIND_SEED_MAX];
} seed; /* unwind_seed_page */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* "libstdc++.so.6" -> matches prefix "libstdc++" (the part before ".so"). */
static bool name_matches(const char *base, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(base, prefix, n) == 0 && (base[n] == '\0' || strncmp(base + n, ".so", 3) == 0 || base[n] == '-');
}

void unwind_skip_add(const char *soname)
{
	char *s = xstrdup(soname), *so = strstr(s, ".so");
	if (so)
		*so = '\0';
	skip_prefixes = xrealloc(skip_prefixes, (n_skip + 1) * sizeof(*skip_prefixes));
	skip_prefixes[n_skip++] = s;
}

static bool is_skipped(const char *path)
{
	static const char *const runtime[] = { "libc", "libpthread", "libstdc++", "libgfortran" };
	const char *base = base_name(path);
	for (size_t i = 0; i < sizeof(runtime) / sizeof(runtime[0]); i++)
		if (name_matches(base, runtime[i]))
			return true;
	for (size_t i = 0; i < n_skip; i++)
		if (name_matches(base, skip_prefixes[i]))
			return true;
	return false;
}

/* The lookup order of symbols: by address, then by name (a total order, so both lookups below agree). */
static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->addr != y->addr)
		return (x->addr > y->addr) - (x->addr < y->addr);
	return ((uintptr_t)x->name > (uintptr_t)y->name) - ((uintptr_t)x->name < (uintptr_t)y->name);
}

/* A function symbol as each_function finds it: its name is looked up only when wanted. */
struct fsym {
	uint64_t addr, size;
	Elf *elf;
	size_t strtab, name_off;
};

static const char *fsym_name(const struct fsym *f)
{
	const char *name = elf_strptr(f->elf, f->strtab, f->name_off);
	return name && *name ? name : NULL;
}

/* Call `fn` for each defined function symbol of .symtab and .dynsym. */
static void each_function(Elf *elf, void (*fn)(const struct fsym *f, void *ctx), void *ctx)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr shmem;
		GElf_Shdr *sh = gelf_getshdr(scn, &shmem);
		if (!sh || (sh->sh_type != SHT_SYMTAB && sh->sh_type != SHT_DYNSYM) || !sh->sh_entsize)
			continue;
		/* load_object took only 64-bit objects of this machine: the table is an Elf64_Sym array as it is. */
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || d->d_type != ELF_T_SYM || !d->d_buf)
			continue;
		const Elf64_Sym *syms = d->d_buf;
		for (size_t i = 0, n = d->d_size / sizeof(*syms); i < n; i++) {
			const Elf64_Sym *y = &syms[i];
			int type = ELF64_ST_TYPE(y->st_info);
			if (y->st_value && y->st_shndx != SHN_UNDEF && (type == STT_FUNC || type == STT_GNU_IFUNC))
				fn(&(struct fsym){ y->st_value, y->st_size, elf, sh->sh_link, y->st_name }, ctx);
		}
	}
}

static void add_sym(const struct fsym *f, void *ctx)
{
	struct uobj *o = ctx;
	const char *name = fsym_name(f);
	if (!name)
		return;
	xgrow(&o->syms, &o->syms_cap, o->nsyms + 1, sizeof(*o->syms));
	o->syms[o->nsyms++] = (struct sym){ f->addr, f->size, name };
}

/* The function symbols, sorted by address. */
static void load_symbols(struct uobj *o, Elf *elf)
{
	each_function(elf, add_sym, o);
	if (o->nsyms > 1)
		qsort(o->syms, o->nsyms, sizeof(*o->syms), cmp_sym);
}

struct sym_scan {
	uint64_t v;
	struct sym best; /* the last symbol in lookup order starting at or before v */
	bool found;
};

static void scan_sym(const struct fsym *f, void *ctx)
{
	struct sym_scan *sc = ctx;
	if (f->addr > sc->v || (sc->found && f->addr < sc->best.addr))
		return;
	struct sym s = { f->addr, f->size, fsym_name(f) }; /* a name only for a candidate */
	if (s.name && (!sc->found || cmp_sym(&s, &sc->best) > 0)) {
		sc->best = s;
		sc->found = true;
	}
}

static void free_object(struct uobj *o)
{
	if (o->cfi)
		dw_fns()->cfi_end(o->cfi); /* loaded, since it made the cfi */
	if (o->elf)
		elf_end(o->elf);
	if (o->data)
		munmap((void *)o->data, o->size);
	free(o->rules);
	free(o->syms);
	free(o->segs);
	free(o);
}

/* Read the .eh_frame_hdr header at file offset `off`: where its search table is. */
static void load_table(struct uobj *o, uint64_t vaddr, uint64_t off, uint64_t size)
{
	if (!span_within(o->size, off, size) || size < 12)
		return;
	const unsigned char *h = o->data + off;
	if (h[0] != 1)
		return;
	uint8_t ptr_enc = h[1], count_enc = h[2], table_enc = h[3];
	/* What every toolchain writes, and what libunwind's search supports. */
	if ((ptr_enc & 0x0f) != DW_EH_PE_sdata4 && (ptr_enc & 0x0f) != DW_EH_PE_udata4)
		return;
	if (count_enc != DW_EH_PE_udata4 || table_enc != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
		return;
	uint32_t count;
	memcpy(&count, h + 8, 4);
	if (12 + (uint64_t)count * 8 > size)
		return;
	o->hdr_vaddr = vaddr;
	o->table_vaddr = vaddr + 12;
	o->fde_count = count;
	o->has_table = true;
}

/*
 * The object at `path`, from its ELF and program headers alone (a few
 * reads, no mapping: most objects a process maps are never walked
 * through). `bad` when it is not a 64-bit x86-64 ELF file with segments.
 */
static struct uobj *load_object(const char *path)
{
	struct uobj *o = xcalloc(1, sizeof(*o));
	struct stat st;
	o->path = path;
	o->skip = is_skipped(path);
	o->loader = strncmp(base_name(path), "ld-linux", 8) == 0 || strncmp(base_name(path), "ld64.so", 7) == 0;
	o->bad = true;

	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 64)
		return o;
	file_version_of(&st, &o->version);
	elfinfo_init(); /* a snapshot may be patched before the first walk */
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr ehmem;
	size_t nph;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehmem) || gelf_getclass(elf) != ELFCLASS64 ||
	    ehmem.e_machine != EM_X86_64 || elf_getphdrnum(elf, &nph) < 0) {
		if (elf)
			elf_end(elf);
		return o;
	}
	o->entry = ehmem.e_entry;
	o->text_lo = UINT64_MAX;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr mem;
		GElf_Phdr *ph = gelf_getphdr(elf, (int)i, &mem);
		if (!ph)
			continue;
		if (!span_within((uint64_t)st.st_size, ph->p_offset, ph->p_filesz) ||
		    !span_within(UINT64_MAX - 4096, ph->p_vaddr, ph->p_memsz) || ph->p_filesz > ph->p_memsz)
			continue; /* crafted or truncated: never read from, nor used to place code */
		if (ph->p_type == PT_LOAD) {
			o->segs = xrealloc(o->segs, (o->nsegs + 1) * sizeof(*o->segs));
			o->segs[o->nsegs++] = (struct seg){ ph->p_vaddr, ph->p_offset, ph->p_filesz, (ph->p_flags & PF_W) != 0 };
			if (ph->p_flags & PF_X) {
				if (ph->p_vaddr < o->text_lo)
					o->text_lo = ph->p_vaddr;
				if (ph->p_vaddr + ph->p_memsz > o->text_hi)
					o->text_hi = ph->p_vaddr + ph->p_memsz;
			}
		} else if (ph->p_type == PT_GNU_EH_FRAME) {
			o->eh_vaddr = ph->p_vaddr;
			o->eh_offset = ph->p_offset;
			o->eh_size = ph->p_filesz;
		}
	}
	elf_end(elf);
	o->bad = o->nsegs == 0;
	return o;
}

/*
 * Map the whole file of `o` for its symbols, frame tables and read-only
 * data, once. False when that fails or the file is no longer the one whose
 * headers were read (replaced since it was mapped): then nothing is read
 * from it, and a walk through it names no caller rather than a wrong one.
 */
static bool object_data(struct uobj *o)
{
	if (o->data_tried || o->bad)
		return o->data != NULL;
	o->data_tried = true;
	struct stat st;
	autoclose int fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	if (!file_version_is(&o->version, &st)) {
		o->replaced = true;
		return false;
	}
	void *data = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (data == MAP_FAILED)
		return false;
	Elf *elf = elf_memory((char *)data, st.st_size);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		munmap(data, st.st_size);
		return false;
	}
	o->data = data;
	o->size = st.st_size;
	o->elf = elf;
	if (o->eh_size)
		load_table(o, o->eh_vaddr, o->eh_offset, o->eh_size);
	return true;
}

/*
 * The object of mapping `mp`: the file at its path, loaded once and shared,
 * unless that is not the file the process mapped. A maps line names the
 * inode mapped; when the path now holds another one (replaced since: an
 * upgrade, a rebuild), the version that inode was read as, or a new load of
 * the path when that is the inode, or else an object that names the module
 * with no function (bad, replaced). A mapping placed from program headers
 * (no inode) gets a new load of a path found replaced.
 */
/*
 * Whether the maps line of `mp` shows a file other than version `v`. Not
 * when it shows another device than v's: a file system such as overlayfs
 * gives its files device and inode numbers of its own, while maps shows
 * those of the file beneath.
 */
static bool other_file(const struct umapping *mp, const struct file_version *v)
{
	return mp->inode && mp->dev == v->dev && mp->inode != v->ino;
}

static struct uobj *object_of(struct umapping *mp)
{
	if (mp->obj)
		return mp->obj;
	void **slot = map_slot_if(&objects, mp->path, strlen(mp->path));
	struct uobj *o = slot ? *slot : NULL;
	if (!o) {
		char *key = xstrdup(mp->path);
		o = load_object(key);
		slot = map_slot(&objects, key, strlen(key), NULL);
		*slot = o;
	}
	if (slot && (mp->inode ? other_file(mp, &o->version) : o->replaced)) {
		struct uobj *x = o->older;
		while (x && !(mp->inode && !other_file(mp, &x->version)))
			x = x->older;
		if (!x) {
			x = load_object(o->path);
			if (mp->inode && (x->version.ino == 0 || other_file(mp, &x->version))) {
				/* Gone from the path: nothing of it to read. */
				x->bad = x->replaced = true;
				x->version.ino = mp->inode;
				x->version.dev = mp->dev;
				x->older = o->older;
				o->older = x;
			} else {
				x->older = o; /* the path's current version */
				*slot = x;
			}
		}
		o = x;
	}
	return mp->obj = o;
}

/* The runtime address minus the link-time address for mapping `mp`, or false. */
static bool bias_of(struct umapping *mp, uint64_t *bias)
{
	struct uobj *o = object_of(mp);
	for (size_t i = 0; !o->bad && i < o->nsegs; i++) {
		const struct seg *s = &o->segs[i];
		if (mp->offset >= (s->offset & ~4095ULL) && mp->offset < s->offset + s->filesz) {
			*bias = mp->start - mp->offset - (s->vaddr - s->offset);
			return true;
		}
	}
	return false;
}

void unwind_map_free(struct unwind_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	free(m);
}

void unwind_invalidate(struct tgroup *g)
{
	unwind_map_free(g->umap);
	g->umap = NULL;
}

/*
 * Append to m the mappings of object o (file `path`) loaded at `base`, as
 * the loader maps its PT_LOADs: page by page, a later one over the last
 * page of the one before. Returns how many were added.
 */
static size_t add_object_mappings(struct unwind_map *m, const char *path, struct uobj *o, uint64_t base)
{
	size_t n0 = m->n;
	m->v = xrealloc(m->v, (m->n + o->nsegs) * sizeof(*m->v));
	for (size_t i = 0; i < o->nsegs; i++) {
		const struct seg *s = &o->segs[i];
		uint64_t start = base + (s->vaddr & ~4095ULL), end = base + ((s->vaddr + s->filesz + 4095) & ~4095ULL);
		if (i + 1 < o->nsegs && end > base + (o->segs[i + 1].vaddr & ~4095ULL))
			end = base + (o->segs[i + 1].vaddr & ~4095ULL);
		if (end <= start || (m->n > n0 && start < m->v[m->n - 1].end))
			continue;
		m->v[m->n++] = (struct umapping){ start, end, s->offset & ~4095ULL, o->version.ino, o->version.dev,
						  xstrdup(path), o };
	}
	return m->n - n0;
}

static int by_start(const void *a, const void *b)
{
	const struct umapping *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

void unwind_place_loader(struct tgroup *g, const char *path, uint64_t entry)
{
	if (g->umap || !entry)
		return;
	struct umapping probe = { .path = (char *)path };
	struct uobj *o = object_of(&probe);
	if (o->bad || !o->loader || entry < o->entry || ((entry - o->entry) & 4095))
		return;
	struct unwind_map *m = xcalloc(1, sizeof(*m));
	m->id = ++snapshots;
	m->partial = true;
	add_object_mappings(m, path, o, entry - o->entry);
	g->umap = m;
}

/* unwind_mapped; `early`: unwind_mapped_early (nothing changed unless true is returned). */
static bool patch_snapshot(struct tgroup *g, const char *path, uint64_t addr, uint64_t offset, bool early)
{
	struct unwind_map *m = g->umap;
	if (!m)
		return !early; /* the next snapshot will show it */
	struct umapping probe = { .path = (char *)path };
	struct uobj *o = object_of(&probe);
	const struct seg *s = NULL;
	for (size_t i = 0; !o->bad && i < o->nsegs && !s; i++)
		if ((o->segs[i].offset & ~4095ULL) == offset)
			s = &o->segs[i];
	uint64_t base = s ? addr - (s->vaddr & ~4095ULL) : 0;
	struct unwind_map add = { 0 };
	if (!s || (addr & 4095) || (base & 4095) || add_object_mappings(&add, path, o, base) == 0) {
		free(add.v);
		if (!early)
			unwind_invalidate(g);
		return false;
	}
	/*
	 * The object's whole span replaces whatever the snapshot had there: an
	 * unloaded object, the loader's reservation. The loader reserved the
	 * span where nothing was mapped, so a mapping partly over it is gone
	 * too (an unloaded object that a smaller one now partly covers): its
	 * parts outside the span are kept. Early, other threads may still run
	 * another file's code there: only this file's own mappings inside the
	 * span may be replaced, else the patch waits for the mmap's exit.
	 */
	uint64_t lo = add.v[0].start, hi = add.v[add.n - 1].end;
	size_t splits = 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct umapping *mp = &m->v[i];
		if (mp->end <= lo || mp->start >= hi)
			continue;
		if (early && (mp->start < lo || mp->end > hi || strcmp(mp->path, path) != 0)) {
			for (size_t j = 0; j < add.n; j++)
				free(add.v[j].path);
			free(add.v);
			return false;
		}
		splits += mp->start < lo && mp->end > hi;
	}
	struct umapping *v = xmalloc((m->n + splits + add.n) * sizeof(*v));
	size_t kept = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct umapping mp = m->v[i];
		if (mp.end <= lo || mp.start >= hi) {
			v[kept++] = mp;
			continue;
		}
		if (mp.start < lo)
			v[kept++] = (struct umapping){ mp.start, lo, mp.offset, mp.inode, mp.dev, mp.path, mp.obj };
		if (mp.end > hi)
			v[kept++] = (struct umapping){ hi, mp.end, mp.offset + (hi - mp.start), mp.inode, mp.dev,
						       mp.start < lo ? xstrdup(mp.path) : mp.path, mp.obj };
		if (mp.start >= lo && mp.end <= hi)
			free(mp.path);
	}
	free(m->v);
	m->v = v;
	m->n = kept;
	memcpy(m->v + m->n, add.v, add.n * sizeof(*add.v));
	m->n += add.n;
	free(add.v);
	qsort(m->v, m->n, sizeof(*m->v), by_start);
	m->id = ++snapshots; /* libunwind's per-IP cache described the old one */
	return true;
}

void *unwind_seed_buffer(void)
{
	seed.len = 0;
	return seed.data;
}

size_t unwind_seed_len(uint64_t sp)
{
	/* The direct rule reads a return address up to a few hundred bytes above sp (__libc_open64's at sp+0x68). */
	return (sp & 4095) > 4096 - 512 ? 8192 : 4096;
}

void unwind_seed_page(pid_t tid, uint64_t sp, uint64_t page, size_t len)
{
	seed.tid = tid;
	seed.sp = sp;
	seed.page = page;
	seed.len = len < sizeof(seed.data) ? len : sizeof(seed.data);
}

void unwind_mapped(struct tgroup *g, const char *path, uint64_t addr, uint64_t offset)
{
	patch_snapshot(g, path, addr, offset, false);
}

bool unwind_mapped_early(struct tgroup *g, const char *path, uint64_t addr, uint64_t offset)
{
	return patch_snapshot(g, path, addr, offset, true);
}

struct snapshot_fill {
	struct unwind_map *m;
	size_t cap;
};

static void snapshot_entry(const struct maps_entry *e, void *ctx)
{
	struct snapshot_fill *s = ctx;
	struct unwind_map *m = s->m;
	if (!e->path)
		return;
	xgrow(&m->v, &s->cap, m->n + 1, sizeof(*m->v));
	m->v[m->n++] = (struct umapping){ e->start, e->end, e->offset, e->inode, e->dev, xstrdup(e->path), NULL };
}

static struct unwind_map *snapshot(pid_t pid)
{
	struct snapshot_fill s = { xcalloc(1, sizeof(*s.m)), 0 };
	if (maps_foreach(pid, snapshot_entry, &s) < 0) {
		free(s.m->v);
		free(s.m);
		return NULL;
	}
	s.m->id = ++snapshots;
	return s.m;
}

/* The file-backed mapping holding `addr` (maps lines are sorted by address). */
static struct umapping *map_find_at(const struct unwind_map *m, uint64_t addr)
{
	size_t lo = 0, hi = m ? m->n : 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct umapping *mp = &m->v[mid];
		if (addr < mp->start)
			hi = mid;
		else if (addr >= mp->end)
			lo = mid + 1;
		else
			return mp;
	}
	return NULL;
}

static struct umapping *mapping_at(uint64_t addr)
{
	return map_find_at(cur_map, addr);
}

const char *unwind_map_file_at(const struct unwind_map *m, uint64_t addr, uint64_t *offset)
{
	const struct umapping *mp = map_find_at(m, addr);
	if (mp && offset)
		*offset = mp->offset + (addr - mp->start);
	return mp ? mp->path : NULL;
}

/* Serve a read from the file when `addr` lies in a read-only segment of a mapped object. */
static bool read_local(uint64_t addr, void *out, size_t len)
{
	struct umapping *mp = mapping_at(addr);
	uint64_t bias;
	if (!mp || !bias_of(mp, &bias) || !object_data(mp->obj))
		return false;
	uint64_t v = addr - bias;
	for (size_t i = 0; i < mp->obj->nsegs; i++) {
		const struct seg *s = &mp->obj->segs[i];
		if (!s->writable && v >= s->vaddr && span_within(s->filesz, v - s->vaddr, len) &&
		    span_within(mp->obj->size, s->offset + (v - s->vaddr), len)) {
			memcpy(out, mp->obj->data + s->offset + (v - s->vaddr), len);
			return true;
		}
	}
	return false;
}

static const unsigned char *remote_page(uint64_t page)
{
	for (unsigned i = 0; i < PAGE_CACHE; i++)
		if (pages[i].valid && pages[i].page == page)
			return pages[i].data;
	unsigned k = next_page++ % PAGE_CACHE;
	struct iovec local = { pages[k].data, 4096 }, remote = { (void *)(uintptr_t)page, 4096 };
	pages[k].valid = process_vm_readv(cur_tid, &local, 1, &remote, 1, 0) == 4096;
	pages[k].page = page;
	return pages[k].valid ? pages[k].data : NULL;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	(void)as;
	(void)arg;
	if (write)
		return -UNW_EINVAL;
	if (read_local(addr, val, sizeof(*val)))
		return 0;
	unsigned char buf[sizeof(*val)];
	for (size_t got = 0; got < sizeof(buf);) {
		uint64_t a = addr + got, page = a & ~4095ULL;
		const unsigned char *p = remote_page(page);
		if (!p)
			return -UNW_EINVAL;
		size_t n = 4096 - (a - page);
		if (n > sizeof(buf) - got)
			n = sizeof(buf) - got;
		memcpy(buf + got, p + (a - page), n);
		got += n;
	}
	memcpy(val, buf, sizeof(buf));
	return 0;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	(void)as;
	(void)arg;
	const struct user_regs_struct *r = &cur_regs;
	if (write)
		return -UNW_EREADONLYREG;
	if (reg == UNW_X86_64_RIP || reg == UNW_X86_64_RSP) {
		*val = reg == UNW_X86_64_RIP ? cur_ip : cur_sp;
		return 0;
	}
	if (!have_regs) {
		if (ptrace(PTRACE_GETREGS, cur_tid, 0L, &cur_regs) < 0)
			return -UNW_EUNSPEC;
		have_regs = true;
	}
	switch (reg) {
	case UNW_X86_64_RAX: *val = r->rax; break;
	case UNW_X86_64_RDX: *val = r->rdx; break;
	case UNW_X86_64_RCX: *val = r->rcx; break;
	case UNW_X86_64_RBX: *val = r->rbx; break;
	case UNW_X86_64_RSI: *val = r->rsi; break;
	case UNW_X86_64_RDI: *val = r->rdi; break;
	case UNW_X86_64_RBP: *val = r->rbp; break;
	case UNW_X86_64_R8: *val = r->r8; break;
	case UNW_X86_64_R9: *val = r->r9; break;
	case UNW_X86_64_R10: *val = r->r10; break;
	case UNW_X86_64_R11: *val = r->r11; break;
	case UNW_X86_64_R12: *val = r->r12; break;
	case UNW_X86_64_R13: *val = r->r13; break;
	case UNW_X86_64_R14: *val = r->r14; break;
	case UNW_X86_64_R15: *val = r->r15; break;
	default: return -UNW_EBADREG;
	}
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg)
{
	(void)as, (void)reg, (void)val, (void)write, (void)arg;
	return -UNW_EBADREG;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need_unwind_info, void *arg)
{
	struct umapping *mp = mapping_at(ip);
	uint64_t bias;
	if (!mp || !bias_of(mp, &bias) || !object_data(mp->obj) || !mp->obj->has_table)
		return -UNW_ENOINFO;
	unw_dyn_info_t di;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = bias + mp->obj->text_lo;
	di.end_ip = bias + mp->obj->text_hi;
	di.u.rti.segbase = bias + mp->obj->hdr_vaddr;
	di.u.rti.table_data = bias + mp->obj->table_vaddr;
	di.u.rti.table_len = mp->obj->fde_count * 8 / sizeof(unw_word_t);
	return unw_fns()->search_unwind_table(as, ip, &di, pi, need_unwind_info, arg); /* called by a walk: loaded */
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as, (void)addr, (void)arg;
	return -UNW_ENOINFO;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len, unw_word_t *off, void *arg)
{
	(void)as, (void)addr, (void)buf, (void)len, (void)off, (void)arg;
	return -UNW_ENOINFO;
}

/*
 * The function at link-time address `v` of `o`. The first lookups each scan
 * the symbol tables (a few thousand entries, in place); only an object asked
 * about many addresses gets them collected and sorted. Answers are memoized.
 */
static const char *function_of(struct uobj *o, uint64_t v)
{
	struct sym_memo *m = &o->memo[(v ^ (v >> 7)) % SYM_MEMO];
	if (m->valid && m->v == v)
		return m->name;
	const struct sym *s = NULL;
	struct sym_scan sc = { v, { 0, 0, NULL }, false };
	object_data(o);
	if (!o->syms_loaded && o->elf && o->sym_scans < SYM_SCANS) {
		o->sym_scans++;
		each_function(o->elf, scan_sym, &sc);
		s = sc.found ? &sc.best : NULL;
	} else {
		if (!o->syms_loaded) {
			o->syms_loaded = true;
			if (o->elf)
				load_symbols(o, o->elf);
		}
		size_t lo = 0, hi = o->nsyms;
		while (lo < hi) { /* the last symbol starting at or before v */
			size_t mid = (lo + hi) / 2;
			if (o->syms[mid].addr <= v)
				lo = mid + 1;
			else
				hi = mid;
		}
		s = lo ? &o->syms[lo - 1] : NULL;
	}
	*m = (struct sym_memo){ v, s && v < s->addr + (s->size ? s->size : 1) ? s->name : NULL, true };
	return m->name;
}

static const char *function_at(struct umapping *mp, uint64_t ip)
{
	uint64_t bias;
	return bias_of(mp, &bias) ? function_of(mp->obj, ip - bias) : NULL;
}

/* Point libunwind at the snapshot `m`; its per-IP cache only holds for one. */
static void use_snapshot(struct unwind_map *m)
{
	cur_map = m;
	if (m && m->id != cache_for) {
		if (addr_space)
			unw_fns()->flush_cache(addr_space, 0, 0);
		cache_for = m->id;
	}
}

/* The answer when the frame at `pc` (a return address unless `exact`) is in mapping `mp`. */
static void name_caller(struct umapping *mp, uint64_t pc, bool exact, struct caller *out)
{
	out->module = mp->path;
	/* A return address points after the call: look the call up. */
	out->function = function_at(mp, exact ? pc : pc - 1);
	out->loader = mp->obj->loader;
	if (mp->obj->replaced && !mp->obj->told)
		out->replaced = mp->obj->told = true;
}

/* Where a register's caller value is, from dwarf_frame_register's answer:
 * SAME (unchanged), or saved at CFA + *at. False for any other rule. */
static bool saved_at(const struct dw_fns *dw, Dwarf_Frame *fr, int reg, int32_t *at)
{
	Dwarf_Op mem[3], *ops;
	size_t n;
	if (dw->frame_register(fr, reg, mem, &ops, &n) != 0)
		return false;
	if (n == 0) {
		*at = SAME;
		return ops == NULL; /* "same value"; ops == mem would be "undefined" */
	}
	if (n > 2 || ops[0].atom != DW_OP_call_frame_cfa || (n == 2 && ops[1].atom != DW_OP_plus_uconst))
		return false;
	int64_t off = n == 2 ? (int64_t)ops[1].number : 0;
	if (off <= INT32_MIN || off > INT32_MAX)
		return false;
	*at = (int32_t)off;
	return true;
}

/*
 * The frame rule at link-time address `v` of `o`, when the CFI there needs
 * only the stack and frame pointers: "CFA = rsp or rbp + N, return address
 * saved at CFA + M, rbp unchanged or saved at CFA + K". It depends on the
 * address alone, so it is cached per (object, address). False for anything
 * else (an expression, a signal frame): the full walk handles those.
 */
static bool frame_rule(struct uobj *o, uint64_t v, struct rule *out)
{
	if (!o->rules)
		o->rules = xcalloc(RULE_SLOTS, sizeof(*o->rules));
	struct rule *r = &o->rules[(v ^ (v >> 8)) % RULE_SLOTS];
	if (!r->valid || r->vaddr != v) {
		*r = (struct rule){ .vaddr = v, .valid = true };
		const struct dw_fns *dw = dw_fns();
		if (!o->cfi_tried && dw) {
			o->cfi_tried = true;
			o->cfi = object_data(o) ? dw->getcfi_elf(o->elf) : NULL;
		}
		Dwarf_Frame *fr;
		if (!o->cfi || dw->cfi_addrframe(o->cfi, v, &fr) != 0)
			return false;
		Dwarf_Op *ops;
		size_t n;
		bool signal;
		struct rule t = *r;
		if (dw->frame_info(fr, NULL, NULL, &signal) == DWARF_RA && !signal &&
		    dw->frame_cfa(fr, &ops, &n) == 0 && n == 1 && ops[0].atom == DW_OP_bregx &&
		    (ops[0].number == DWARF_RSP || ops[0].number == DWARF_RBP) && (int64_t)ops[0].number2 > 0 &&
		    (int64_t)ops[0].number2 < INT32_MAX && saved_at(dw, fr, DWARF_RA, &t.ra_at) && t.ra_at != SAME &&
		    saved_at(dw, fr, DWARF_RBP, &t.rbp_at)) {
			t.cfa_rbp = ops[0].number == DWARF_RBP;
			t.cfa_off = (int32_t)ops[0].number2;
			t.usable = true;
			*r = t;
		}
		free(fr);
	}
	*out = *r;
	return r->usable;
}

static bool read_word(uint64_t addr, uint64_t *val)
{
	return access_mem(NULL, addr, val, 0, NULL) == 0;
}

/*
 * The common case without libunwind: from the syscall up through skipped
 * objects (the C library's wrapper, fopen's layers, opendir, locale loading)
 * while every frame's rule needs only the stack and frame pointers, to the
 * first return address in an object that is not skipped. Anything else is
 * left to the full walk.
 */
static bool direct_caller(struct umapping *mp, struct caller *out)
{
	uint64_t pc = cur_ip, sp = cur_sp, rbp = 0;
	bool have_rbp = false;
	for (int depth = 0; depth < MAX_FRAMES; depth++) {
		uint64_t bias, ra, cfa;
		struct rule r;
		/* Past frame 0, pc is a return address: the call is the byte before it. */
		if (!bias_of(mp, &bias) || !frame_rule(mp->obj, pc - bias - (depth > 0), &r))
			return false;
		if (r.cfa_rbp && !have_rbp) {
			/* Every inner frame left rbp alone: its value is still the register's. */
			if (!have_regs && ptrace(PTRACE_GETREGS, cur_tid, 0L, &cur_regs) < 0)
				return false;
			have_regs = true;
			rbp = cur_regs.rbp;
			have_rbp = true;
		}
		cfa = (r.cfa_rbp ? rbp : sp) + (uint64_t)(int64_t)r.cfa_off;
		if (!read_word(cfa + (uint64_t)(int64_t)r.ra_at, &ra))
			return false;
		if (r.rbp_at != SAME) {
			if (!read_word(cfa + (uint64_t)(int64_t)r.rbp_at, &rbp))
				return false;
			have_rbp = true;
		}
		sp = cfa; /* the caller's stack pointer is the CFA */
		pc = ra;
		if (!(mp = mapping_at(pc)))
			return false;
		if (!object_of(mp)->skip) {
			name_caller(mp, pc, false, out);
			return true;
		}
	}
	return false;
}

/* The full walk with libunwind, from the syscall's frame. */
/*
 * libunwind's address space, made at the first whole walk (libunwind
 * loaded then): its accessors are ours but for put_unwind_info.
 */
static void make_addr_space(const struct unw_fns *u)
{
	static unw_accessors_t acc;
	acc = *u->upt_accessors;
	acc.find_proc_info = find_proc_info;
	acc.get_dyn_info_list_addr = get_dyn_info_list_addr;
	acc.access_mem = access_mem;
	acc.access_reg = access_reg;
	acc.access_fpreg = access_fpreg;
	acc.get_proc_name = get_proc_name;
	addr_space = u->create_addr_space(&acc, 0);
	if (!addr_space)
		die(EXIT_INTERNAL, "libunwind cannot create an address space");
	/* Cached per IP, flushed when the snapshot changes (use_snapshot): without
	 * it every step allocates its unwind info, blocking signals four times. */
	u->set_caching_policy(addr_space, UNW_CACHE_GLOBAL);
}

static int walk(struct caller *out)
{
	const struct unw_fns *u = unw_fns();
	if (!u)
		return -ENOSYS;
	if (!addr_space)
		make_addr_space(u);
	unw_cursor_t cur;
	if (u->init_remote(&cur, addr_space, NULL) < 0)
		return -EINVAL;
	for (int depth = 0; depth < MAX_FRAMES; depth++) {
		unw_word_t pc;
		if (u->get_reg(&cur, UNW_REG_IP, &pc) < 0)
			return -EINVAL;
		struct umapping *mp = mapping_at(pc);
		if (!mp)
			return -ENOENT; /* an anonymous mapping: JIT code, or a corrupt stack */
		if (!object_of(mp)->skip) {
			name_caller(mp, pc, depth == 0, out);
			return 0;
		}
		if (u->step(&cur) <= 0)
			break;
	}
	return -EINVAL;
}

static void setup(void)
{
	set_up = true;
	elfinfo_init();
	check_direct = getenv("FINGERPRINT_UNWIND_CHECK") != NULL;
}

int unwind_caller(pid_t tid, struct tgroup *g, uint64_t ip, uint64_t sp, struct caller *out)
{
	memset(out, 0, sizeof(*out));
	if (!set_up)
		setup();
	cur_ip = ip;
	cur_sp = sp;
	cur_tid = tid;
	have_regs = false;
	for (unsigned i = 0; i < PAGE_CACHE; i++)
		pages[i].valid = false;
	if (seed.len && seed.tid == tid && seed.sp == sp) {
		for (next_page = 0; next_page < seed.len / 4096; next_page++) {
			memcpy(pages[next_page].data, seed.data + 4096 * next_page, 4096);
			pages[next_page].page = seed.page + 4096 * next_page;
			pages[next_page].valid = true;
		}
	}
	seed.len = 0;
	/* The thread's own maps: a leader that called pthread_exit shows none. */
	if (!g->umap)
		g->umap = snapshot(tid);
	use_snapshot(g->umap);
	struct umapping *mp = mapping_at(ip);
	if (cur_map && cur_map->partial && (!mp || object_of(mp)->skip)) {
		/* Not the loader's own call: it needs every mapping. */
		unwind_invalidate(g);
		use_snapshot(g->umap = snapshot(tid));
		mp = mapping_at(ip);
	} else if (!mp && cur_map) {
		/* Mapped since the snapshot without a trapped mmap: look again once. */
		unwind_invalidate(g);
		use_snapshot(g->umap = snapshot(tid));
		mp = mapping_at(ip);
	}
	if (!cur_map)
		return -ESRCH;
	if (!mp)
		return -ENOENT;
	if (!object_of(mp)->skip) {
		name_caller(mp, ip, true, out);
		return 0;
	}
	if (!direct_caller(mp, out)) {
		n_walks++;
		return walk(out);
	}
	n_direct++;
	if (check_direct) {
		struct caller full = { 0 };
		int r = walk(&full);
		/* -ENOSYS: no libunwind to check with (warned). */
		if (r != -ENOSYS && (r < 0 || full.module != out->module || full.function != out->function))
			die(EXIT_INTERNAL, "unwind check: at %#llx the direct rule names %s (%s), the full walk %s (%s)",
			    (unsigned long long)ip, out->module, out->function ? out->function : "?",
			    r < 0 ? "nothing" : full.module, full.function ? full.function : "?");
	}
	return 0;
}

void unwind_cleanup(void)
{
	if (check_direct)
		fprintf(stderr, "fingerprint: unwind check: %lu direct answers confirmed by a full walk, %lu full walks\n",
			n_direct, n_walks);
	check_direct = false;
	size_t n = 0, n_read = 0;
	MAP_FOREACH(&objects, i)
		for (struct uobj *o = objects.vals[i]; o; o = o->older) {
			n++;
			n_read += o->data != NULL;
		}
	if (n)
		info("callers: %zu of %zu objects mapped were read for stack walks, the others' program headers only",
		     n_read, n);
	MAP_FOREACH(&objects, i) {
		for (struct uobj *o = objects.vals[i], *older; o; o = older) {
			older = o->older;
			free_object(o);
		}
		free((void *)objects.keys[i]);
	}
	map_free(&objects);
	if (addr_space)
		unw_fns()->destroy_addr_space(addr_space);
	addr_space = NULL;
	set_up = false;
	for (size_t i = 0; i < n_skip; i++)
		free(skip_prefixes[i]);
	free(skip_prefixes);
	skip_prefixes = NULL;
	n_skip = 0;
}
