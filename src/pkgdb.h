/*
 * pkgdb.c: which installed Debian package owns a path, from the dpkg
 * database (status, diversions, info/NAME[:ARCH].list), read once after the
 * run. Knows nothing of the manifest.
 *
 * Use: pkgdb_open(), pkgdb_want() for every path of interest, pkgdb_load()
 * (one pass over the file lists, matching only the wanted paths), then
 * pkgdb_owner() per path, and pkgdb_free().
 */
#ifndef FP_PKGDB_H
#define FP_PKGDB_H

#include <stddef.h>

/* An installed package: strings owned by the database. */
struct pkgdb_pkg {
	const char *name;
	const char *version;  /* as dpkg-query's ${Version}, epoch included */
	const char *arch;     /* the status entry's Architecture: "amd64", "all", ... */
};

struct pkgdb;

/*
 * Open the dpkg database under `root` (NULL for "/"): read the installed
 * packages from var/lib/dpkg/status and the diversions. Returns a database
 * owned by the caller (pkgdb_free), or NULL with the reason it was not
 * looked up ("no package database", "an rpm database, and ...", "cannot
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

/* Free the database and everything it returned. */
void pkgdb_free(struct pkgdb *db);

#endif
