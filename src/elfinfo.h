/*
 * elfinfo.c: ELF facts of one file through libelf (soname, needed,
 * rpath/runpath, interp, build-id, symbol versions), and the #! line of
 * scripts. Never runs ldd, readelf, objdump or file.
 */
#ifndef FP_ELFINFO_H
#define FP_ELFINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum elf_type {
	ELF_TYPE_EXECUTABLE,     /* ET_EXEC with PT_INTERP */
	ELF_TYPE_PIE,            /* ET_DYN that is a program (DF_1_PIE, or PT_INTERP without a soname) */
	ELF_TYPE_SHARED_LIBRARY, /* ET_DYN otherwise */
	ELF_TYPE_STATIC,         /* ET_EXEC without PT_INTERP, or static-pie */
	ELF_TYPE_OTHER,          /* ET_REL, ET_CORE, ... */
};

/* The versions one needed file is asked for (an entry of VERNEED). */
struct elf_verneed {
	char *file;        /* the soname, e.g. "libc.so.6" */
	char **versions;   /* e.g. "GLIBC_2.34", in file order */
	size_t n_versions;
};

struct elfinfo {
	int elfclass;          /* 32 or 64 */
	uint16_t e_machine;    /* EM_* */
	const char *machine;   /* "x86_64", "i386", "aarch64", ... (static string) */
	enum elf_type type;
	char *interp;          /* PT_INTERP, or NULL */
	char *soname;          /* DT_SONAME, or NULL */
	char **needed;         /* DT_NEEDED, in order */
	size_t n_needed;
	char *rpath, *runpath; /* DT_RPATH / DT_RUNPATH as written (with $ORIGIN), or NULL */
	char *build_id;        /* lowercase hex of NT_GNU_BUILD_ID, or NULL */
	struct elf_verneed *requires;  /* VERNEED, in file order */
	size_t n_requires;
	char **provides;       /* VERDEF names (the first, the file's own name, excluded) */
	size_t n_provides;
	bool stripped;         /* no .symtab */
	bool nodeflib;         /* DF_1_NODEFLIB: skip the default directories */
};

/* Check libelf's version, once, from any thread; fatal when out of date. Every user of libelf calls it first. */
void elfinfo_init(void);

/*
 * Read the ELF facts of the file at `path` into `out` (zeroed first; free
 * with elfinfo_free). Returns 0; -ENOEXEC when the file is not ELF;
 * -EINVAL when it is ELF but malformed or truncated, with `err` (of
 * `errsz` bytes) saying why (libelf's elf_errmsg); or -errno when it cannot
 * be opened or read.
 */
int elfinfo_read(const char *path, struct elfinfo *out, char *err, size_t errsz);

void elfinfo_free(struct elfinfo *e);

/*
 * Read the "#!" line of the file at `path`: `*interp` and `*args` (NULL
 * when none) are set to malloc'd strings owned by the caller. Returns 0,
 * -ENOEXEC when the file does not start with "#!", or -errno.
 */
int elfinfo_script(const char *path, char **interp, char **args);

/* The name for an ELF type: "executable", "pie", "shared-library", "static", "other". */
const char *elfinfo_type_name(enum elf_type t);

#endif
