/*
 * ldso.c: the glibc dynamic loader's search rules, applied statically:
 * DT_RPATH (only without DT_RUNPATH, inherited from the loading chain),
 * LD_LIBRARY_PATH, DT_RUNPATH (the object's own needs only),
 * /etc/ld.so.cache (parsed directly), the default directories; $ORIGIN,
 * $LIB and $PLATFORM expanded; /etc/ld.so.preload honoured; all inside an
 * optional root directory.
 */
#ifndef FP_LDSO_H
#define FP_LDSO_H

#include <stdbool.h>
#include <stddef.h>

#include "elfinfo.h"

enum ldso_via {
	LDSO_VIA_RPATH,
	LDSO_VIA_LD_LIBRARY_PATH,
	LDSO_VIA_RUNPATH,
	LDSO_VIA_CACHE,
	LDSO_VIA_DEFAULT,
	LDSO_VIA_PATH,      /* the needed name contains a slash: used as is */
	LDSO_VIA_PRELOAD,   /* /etc/ld.so.preload */
};

/* "rpath", "ld_library_path", "runpath", "ld.so.cache", "default-path", "path", "preload". */
const char *ldso_via_name(enum ldso_via v);

struct ldso;  /* opaque: settings and the parsed cache */

/*
 * A new search context. `root` ("/" or NULL for the host, else a directory
 * holding another root filesystem: every path is looked up inside it and
 * reported relative to it, i.e. as the image sees it). `ld_library_path` is
 * a colon-separated list or NULL. Returns NULL only when out of memory; an
 * unreadable cache is treated as empty.
 */
struct ldso *ldso_new(const char *root, const char *ld_library_path);
void ldso_free(struct ldso *l);

/* One resolved or unresolved DT_NEEDED entry of the closure. */
struct ldso_dep {
	const char *needed;      /* the soname asked for */
	const char *needed_by;   /* path of the object that asked */
	const char *path;        /* resolved path as the loader would open it, or NULL when not found */
	enum ldso_via via;       /* how it was found (when path != NULL) */
	const char *dir;         /* the directory it was found in (when path != NULL) */
	const char *const *tried;/* the directories tried in order, NULL-terminated */
};

/*
 * Resolve the DT_NEEDED closure of the ELF file `path` (breadth first, each
 * soname once, as the loader does), plus /etc/ld.so.preload entries and the
 * PT_INTERP loader. Calls fn(dep, ctx) for each dependency. The strings in
 * `dep` live until the call returns. Returns the number of unresolved
 * sonames (0 when all were found), or -errno / -ENOEXEC / -EINVAL (see
 * elfinfo_read) when `path` itself cannot be read, with `err` set.
 */
int ldso_closure(struct ldso *l, const char *path,
		 void (*fn)(const struct ldso_dep *dep, void *ctx), void *ctx,
		 char *err, size_t errsz);

#endif
