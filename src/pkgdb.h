/*
 * pkgdb.c: which installed package owns a path, from the dpkg database
 * (status, diversions, info/NAME[:ARCH].list), read once after the run, or,
 * on a root without one, from its rpm database through librpm (pkgdb_rpm.c,
 * when configure found librpm). Knows nothing of the manifest.
 *
 * Use: pkgdb_open(), pkgdb_want() for every path of interest, pkgdb_load()
 * (one pass over the file lists, matching only the wanted paths), then
 * pkgdb_owner() per path, and pkgdb_free().
 */
#ifndef FP_PKGDB_H
#define FP_PKGDB_H

#include <stdbool.h>
#include <stddef.h>

/* An installed package: strings owned by the database. */
struct pkgdb_pkg {
	const char *name;
	const char *version;  /* as dpkg-query's ${Version} or rpm's %{EVR}, epoch included */
	const char *arch;     /* dpkg's Architecture ("amd64", "all") or rpm's ("x86_64", "noarch") */
};

struct pkgdb;

/*
 * Open the dpkg database under `root` (NULL for "/"): read the installed
 * packages from var/lib/dpkg/status and the diversions; without one, the
 * rpm database (usr/lib/sysimage/rpm or var/lib/rpm). Returns a database
 * owned by the caller (pkgdb_free), or NULL with the reason it was not
 * looked up ("no package database", "an rpm database, and this fingerprint
 * was built without librpm", "cannot open the rpm database ...", "cannot
 * read ...") written to `why`.
 */
struct pkgdb *pkgdb_open(const char *root, char *why, size_t whylen);

/*
 * Ask for the owner of `path` (absolute, as seen inside the root). The
 * string is not copied: it must stay valid until pkgdb_free().
 */
void pkgdb_want(struct pkgdb *db, const char *path);

/*
 * Read the file list of every installed package once, noting the owners of
 * the wanted paths. Returns the number of lists that could not be read; the
 * first reason goes to `err` (`errlen` bytes).
 */
size_t pkgdb_load(struct pkgdb *db, char *err, size_t errlen);

/*
 * The package owning `path` (a wanted path, after pkgdb_load), or NULL when
 * none does. A path several packages list (a directory, a file shared by
 * Multi-Arch: same packages) gets the first by name, then arch. The result
 * is owned by the database.
 */
const struct pkgdb_pkg *pkgdb_owner(const struct pkgdb *db, const char *path);

/*
 * Answer pkgdb_load from the persistent owners cache when it knows every
 * wanted path and the dpkg database has not changed since (off by default).
 */
void pkgdb_use_cache(struct pkgdb *db, bool on);
/* Whether pkgdb_load's answers came from that cache. */
bool pkgdb_from_cache(const struct pkgdb *db);

/* Which database answers: "dpkg" or "rpm". */
const char *pkgdb_kind(const struct pkgdb *db);

/* Free the database and everything it returned. */
void pkgdb_free(struct pkgdb *db);

#endif
