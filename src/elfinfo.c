#include "config.h"
#include "elfinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#ifndef DF_1_PIE
#define DF_1_PIE 0x08000000
#endif

const char *elfinfo_type_name(enum elf_type t)
{
	switch (t) {
	case ELF_TYPE_EXECUTABLE: return "executable";
	case ELF_TYPE_PIE: return "pie";
	case ELF_TYPE_SHARED_LIBRARY: return "shared-library";
	case ELF_TYPE_STATIC: return "static";
	default: return "other";
	}
}

static const char *machine_name(uint16_t m)
{
	switch (m) {
	case EM_X86_64: return "x86_64";
	case EM_386: return "i386";
	case EM_AARCH64: return "aarch64";
	case EM_ARM: return "arm";
	case EM_PPC64: return "ppc64";
	case EM_PPC: return "ppc";
	case EM_S390: return "s390";
	case EM_RISCV: return "riscv";
	case EM_MIPS: return "mips";
	case EM_SPARCV9: return "sparc64";
	case EM_LOONGARCH: return "loongarch";
	default: return "unknown";
	}
}

/* State while reading one file. */
struct reader {
	Elf *elf;
	const char *path;
	bool big_endian;
	size_t nphdr;
	uint64_t file_size;
	char *err;
	size_t errsz;
};

static int elf_fail(struct reader *r, const char *what)
{
	snprintf(r->err, r->errsz, "%s: %s: %s", r->path, what, elf_errmsg(-1));
	return -EINVAL;
}

/* The file offset of virtual address `addr` through the PT_LOAD headers, or -1. */
static int64_t vaddr_to_offset(struct reader *r, uint64_t addr)
{
	for (size_t i = 0; i < r->nphdr; i++) {
		GElf_Phdr mem;
		GElf_Phdr *ph = gelf_getphdr(r->elf, (int)i, &mem);
		if (ph && ph->p_type == PT_LOAD && addr >= ph->p_vaddr && addr - ph->p_vaddr < ph->p_filesz)
			return (int64_t)(addr - ph->p_vaddr + ph->p_offset);
	}
	return -1;
}

/* Raw bytes [off, off+len) of the file, bounds-checked by libelf; NULL when outside it. */
static const unsigned char *raw_chunk(struct reader *r, int64_t off, size_t len)
{
	if (off < 0 || len == 0)
		return NULL;
	Elf_Data *d = elf_getdata_rawchunk(r->elf, off, len, ELF_T_BYTE);
	return d && d->d_size == len ? d->d_buf : NULL;
}

static uint32_t rd32(const struct reader *r, const unsigned char *p)
{
	return r->big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
			     : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t rd16(const struct reader *r, const unsigned char *p)
{
	return r->big_endian ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

/* The dynamic string table. */
struct strtab {
	const char *data;
	size_t size;
};

static char *strtab_dup(const struct strtab *s, uint64_t off)
{
	if (!s->data || off >= s->size)
		return NULL;
	return xstrndup(s->data + off, s->size - off);
}

static void add_str(char ***v, size_t *n, char *s)
{
	if (!s)
		return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

/*
 * VERNEED: a chain of Verneed records (vn_version, vn_cnt, vn_file,
 * vn_aux, vn_next), each with vn_cnt Vernaux (vna_hash, vna_flags,
 * vna_other, vna_name, vna_next). Same layout for ELF32 and ELF64.
 */
static void read_verneed(struct reader *r, struct elfinfo *e, const struct strtab *st, uint64_t addr, uint64_t count)
{
	int64_t off = vaddr_to_offset(r, addr);
	for (uint64_t i = 0; i < count && off >= 0 && i < 4096; i++) {
		const unsigned char *vn = raw_chunk(r, off, 16);
		if (!vn)
			return;
		struct elf_verneed need = { .file = strtab_dup(st, rd32(r, vn + 4)) };
		uint16_t cnt = rd16(r, vn + 2);
		int64_t aoff = off + rd32(r, vn + 8);
		for (uint16_t k = 0; k < cnt; k++) {
			const unsigned char *va = raw_chunk(r, aoff, 16);
			if (!va)
				break;
			add_str(&need.versions, &need.n_versions, strtab_dup(st, rd32(r, va + 8)));
			uint32_t next = rd32(r, va + 12);
			if (!next)
				break;
			aoff += next;
		}
		if (need.file) {
			e->requires = xrealloc(e->requires, (e->n_requires + 1) * sizeof(*e->requires));
			e->requires[e->n_requires++] = need;
		} else {
			for (size_t k = 0; k < need.n_versions; k++)
				free(need.versions[k]);
			free(need.versions);
		}
		uint32_t next = rd32(r, vn + 12);
		if (!next)
			return;
		off += next;
	}
}

/*
 * VERDEF: Verdef records (vd_version, vd_flags, vd_ndx, vd_cnt, vd_hash,
 * vd_aux, vd_next) whose first Verdaux (vda_name, vda_next) names the
 * version. The VER_FLG_BASE entry is the file itself and is skipped.
 */
static void read_verdef(struct reader *r, struct elfinfo *e, const struct strtab *st, uint64_t addr, uint64_t count)
{
	int64_t off = vaddr_to_offset(r, addr);
	for (uint64_t i = 0; i < count && off >= 0 && i < 65536; i++) {
		const unsigned char *vd = raw_chunk(r, off, 20);
		if (!vd)
			return;
		const unsigned char *va = raw_chunk(r, off + rd32(r, vd + 12), 8);
		if (va && !(rd16(r, vd + 2) & VER_FLG_BASE))
			add_str(&e->provides, &e->n_provides, strtab_dup(st, rd32(r, va)));
		uint32_t next = rd32(r, vd + 16);
		if (!next)
			return;
		off += next;
	}
}

static int read_dynamic(struct reader *r, struct elfinfo *e, const GElf_Phdr *dyn)
{
	Elf_Data *d = elf_getdata_rawchunk(r->elf, dyn->p_offset, dyn->p_filesz, ELF_T_DYN);
	if (!d)
		return elf_fail(r, "cannot read PT_DYNAMIC");
	uint64_t strtab = 0, strsz = 0, verneed = 0, verneednum = 0, verdef = 0, verdefnum = 0, flags1 = 0;
	size_t n = d->d_size / gelf_fsize(r->elf, ELF_T_DYN, 1, EV_CURRENT);
	GElf_Dyn mem;

	for (size_t i = 0; i < n; i++) {
		GElf_Dyn *dy = gelf_getdyn(d, (int)i, &mem);
		if (!dy || dy->d_tag == DT_NULL)
			break;
		switch (dy->d_tag) {
		case DT_STRTAB: strtab = dy->d_un.d_ptr; break;
		case DT_STRSZ: strsz = dy->d_un.d_val; break;
		case DT_VERNEED: verneed = dy->d_un.d_ptr; break;
		case DT_VERNEEDNUM: verneednum = dy->d_un.d_val; break;
		case DT_VERDEF: verdef = dy->d_un.d_ptr; break;
		case DT_VERDEFNUM: verdefnum = dy->d_un.d_val; break;
		case DT_FLAGS_1: flags1 = dy->d_un.d_val; break;
		}
	}
	struct strtab st = { NULL, 0 };
	if (strtab && strsz) {
		const unsigned char *s = raw_chunk(r, vaddr_to_offset(r, strtab), strsz);
		if (!s)
			return elf_fail(r, "DT_STRTAB is outside the file");
		st.data = (const char *)s;
		st.size = strsz;
	}
	for (size_t i = 0; i < n; i++) {
		GElf_Dyn *dy = gelf_getdyn(d, (int)i, &mem);
		if (!dy || dy->d_tag == DT_NULL)
			break;
		switch (dy->d_tag) {
		case DT_NEEDED: add_str(&e->needed, &e->n_needed, strtab_dup(&st, dy->d_un.d_val)); break;
		case DT_SONAME: free(e->soname); e->soname = strtab_dup(&st, dy->d_un.d_val); break;
		case DT_RPATH: free(e->rpath); e->rpath = strtab_dup(&st, dy->d_un.d_val); break;
		case DT_RUNPATH: free(e->runpath); e->runpath = strtab_dup(&st, dy->d_un.d_val); break;
		}
	}
	if (verneed && verneednum)
		read_verneed(r, e, &st, verneed, verneednum);
	if (verdef && verdefnum)
		read_verdef(r, e, &st, verdef, verdefnum);
	e->nodeflib = (flags1 & DF_1_NODEFLIB) != 0;
	return (flags1 & DF_1_PIE) ? 1 : 0;
}

static void read_build_id(struct reader *r, struct elfinfo *e, const GElf_Phdr *note)
{
	Elf_Data *d = elf_getdata_rawchunk(r->elf, note->p_offset, note->p_filesz, ELF_T_NHDR);
	if (!d)
		return;
	GElf_Nhdr nh;
	size_t off = 0, name_off, desc_off;
	while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((char *)d->d_buf + name_off, "GNU", 4) == 0 && nh.n_descsz > 0) {
			const unsigned char *id = (const unsigned char *)d->d_buf + desc_off;
			free(e->build_id);
			e->build_id = xmalloc(2 * nh.n_descsz + 1);
			hex_encode(id, nh.n_descsz, e->build_id);
			return;
		}
	}
}

static bool has_symtab(Elf *elf)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr mem;
		GElf_Shdr *sh = gelf_getshdr(scn, &mem);
		if (sh && sh->sh_type == SHT_SYMTAB)
			return true;
	}
	return false;
}

static int read_elf(struct reader *r, struct elfinfo *e)
{
	GElf_Ehdr ehmem;
	GElf_Ehdr *eh = gelf_getehdr(r->elf, &ehmem);
	if (!eh)
		return elf_fail(r, "cannot read the ELF header");
	e->elfclass = gelf_getclass(r->elf) == ELFCLASS32 ? 32 : 64;
	e->e_machine = eh->e_machine;
	e->machine = machine_name(eh->e_machine);
	r->big_endian = eh->e_ident[EI_DATA] == ELFDATA2MSB;
	if (elf_getphdrnum(r->elf, &r->nphdr) < 0)
		return elf_fail(r, "cannot read the program headers");
	/* libelf maps a truncated file without complaint: check the tables fit. */
	if (eh->e_phoff > r->file_size || (uint64_t)r->nphdr * eh->e_phentsize > r->file_size - eh->e_phoff ||
	    eh->e_shoff > r->file_size || (uint64_t)eh->e_shnum * eh->e_shentsize > r->file_size - eh->e_shoff) {
		snprintf(r->err, r->errsz, "%s: truncated ELF file (%llu bytes)", r->path,
			 (unsigned long long)r->file_size);
		return -EINVAL;
	}

	int pie = 0;
	bool has_dynamic = false;
	for (size_t i = 0; i < r->nphdr; i++) {
		GElf_Phdr mem;
		GElf_Phdr *ph = gelf_getphdr(r->elf, (int)i, &mem);
		if (!ph)
			return elf_fail(r, "cannot read a program header");
		if (ph->p_type == PT_INTERP) {
			const unsigned char *s = raw_chunk(r, (int64_t)ph->p_offset, ph->p_filesz);
			if (!s)
				return elf_fail(r, "PT_INTERP is outside the file");
			free(e->interp);
			e->interp = xstrndup((const char *)s, ph->p_filesz);
		} else if (ph->p_type == PT_DYNAMIC && !has_dynamic) {
			has_dynamic = true;
			if ((pie = read_dynamic(r, e, ph)) < 0)
				return pie;
		} else if (ph->p_type == PT_NOTE && !e->build_id) {
			read_build_id(r, e, ph);
		}
	}
	if (eh->e_type == ET_EXEC)
		e->type = e->interp ? ELF_TYPE_EXECUTABLE : ELF_TYPE_STATIC;
	else if (eh->e_type != ET_DYN)
		e->type = ELF_TYPE_OTHER;
	else if (pie)
		e->type = e->interp ? ELF_TYPE_PIE : ELF_TYPE_STATIC;
	else
		e->type = e->interp && !e->soname ? ELF_TYPE_PIE : ELF_TYPE_SHARED_LIBRARY;
	e->stripped = !has_symtab(r->elf);
	return 0;
}

static void elf_init(void)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		die(EXIT_INTERNAL, "libelf is out of date: %s", elf_errmsg(-1));
}

void elfinfo_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, elf_init);
}

int elfinfo_read(const char *path, struct elfinfo *e, char *err, size_t errsz)
{
	memset(e, 0, sizeof(*e));
	if (errsz)
		err[0] = '\0';
	elfinfo_init();
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -ENOEXEC; /* a device or FIFO is never read */
	struct reader r = { .path = path, .err = err, .errsz = errsz, .file_size = (uint64_t)st.st_size };
	/*
	 * Read, not mapped: only the headers and the few sections wanted are
	 * read, where a mapping takes a page fault per page touched and its
	 * unmapping a TLB shootdown of the tracer's CPU (the command's too,
	 * when co-located) while the command runs.
	 */
	r.elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!r.elf)
		return elf_fail(&r, "cannot open as ELF");
	int ret = elf_kind(r.elf) == ELF_K_ELF ? read_elf(&r, e) : -ENOEXEC;
	elf_end(r.elf);
	if (ret < 0)
		elfinfo_free(e);
	return ret;
}

void elfinfo_free(struct elfinfo *e)
{
	free(e->interp);
	free(e->soname);
	free(e->rpath);
	free(e->runpath);
	free(e->build_id);
	for (size_t i = 0; i < e->n_needed; i++)
		free(e->needed[i]);
	free(e->needed);
	for (size_t i = 0; i < e->n_requires; i++) {
		free(e->requires[i].file);
		for (size_t k = 0; k < e->requires[i].n_versions; k++)
			free(e->requires[i].versions[k]);
		free(e->requires[i].versions);
	}
	free(e->requires);
	for (size_t i = 0; i < e->n_provides; i++)
		free(e->provides[i]);
	free(e->provides);
	memset(e, 0, sizeof(*e));
}

int elfinfo_script(const char *path, char **interp, char **args)
{
	char line[256];
	*interp = *args = NULL;
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, line, sizeof(line) - 1);
	if (n < 0)
		return -errno;
	if (n < 2 || line[0] != '#' || line[1] != '!')
		return -ENOEXEC;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	/* As the kernel splits it: the interpreter, then one optional argument string. */
	char *p = line + 2;
	p += strspn(p, " \t");
	size_t il = strcspn(p, " \t");
	if (il == 0)
		return -ENOEXEC;
	*interp = xstrndup(p, il);
	p += il;
	p += strspn(p, " \t");
	size_t al = strlen(p);
	while (al > 0 && (p[al - 1] == ' ' || p[al - 1] == '\t'))
		al--;
	if (al > 0)
		*args = xstrndup(p, al);
	return 0;
}
