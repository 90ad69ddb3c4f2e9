/*
 * pkgdb_rpm.h: the rpm side of pkgdb.c, over librpm. Only pkgdb.c uses it,
 * and only when configure found librpm (HAVE_LIBRPM).
 *
 * The database is the one under ROOT/usr/lib/sysimage/rpm or ROOT/var/lib/rpm
 * (whichever holds one), opened read-only; the rpm configuration's own
 * %_dbpath is not used, since Debian's librpm points it at ~/.rpmdb.
 */
#ifndef FP_PKGDB_RPM_H
#define FP_PKGDB_RPM_H

#include <stdbool.h>
#include <stddef.h>

struct rpmq;

/*
 * The rpm database directory of `root` (NULL for "/"), as a path inside the
 * root ("/var/lib/rpm"), or NULL when the root has none. `*dir_only` is set
 * when a database directory exists but holds no database file.
 */
const char *rpmq_find(const char *root, bool *dir_only);

/* Open the database at `dbpath` (from rpmq_find) under `root`; NULL and the reason in `why`. */
struct rpmq *rpmq_open(const char *root, const char *dbpath, char *why, size_t whylen);

/* Called once per package owning a path: name, "[EPOCH:]VERSION-RELEASE", arch (all borrowed). */
typedef void rpmq_owner_fn(void *ctx, const char *name, const char *evr, const char *arch);

/* Report every installed package that lists `path` (as spelled in the database). */
void rpmq_owners(struct rpmq *q, const char *path, rpmq_owner_fn *fn, void *ctx);

void rpmq_close(struct rpmq *q);

#endif
