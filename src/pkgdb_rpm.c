#include "config.h"
#include "pkgdb_rpm.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmts.h>

#include "util.h"

/*
 * librpm is loaded when a root has an rpm database, not at start: it and the
 * eight libraries it needs cost every run about 10 ms of dynamic linking.
 * The functions used, typed by librpm's own headers:
 */
#define RPM_FUNCTIONS(X)                                                                                        \
	X(rpmlogSetCallback) X(rpmlogRecPriority) X(rpmlogRecMessage) X(rpmReadConfigFiles) X(rpmPushMacro)     \
	X(rpmtsCreate) X(rpmtsSetVSFlags) X(rpmtsSetRootDir) X(rpmtsOpenDB) X(rpmtsInitIterator)               \
	X(rpmdbNextIterator) X(headerGetString) X(headerGetAsString) X(rpmdbFreeIterator) X(rpmtsFree)         \
	X(rpmFreeMacros) X(rpmFreeRpmrc)

#define RPM_POINTER(f) __typeof__(&f) f;
static struct {
	RPM_FUNCTIONS(RPM_POINTER)
} R;
static void *librpm;

/* Load librpm (once; it stays loaded). FINGERPRINT_TEST_LIBRPM names another file, for the tests. */
static bool load_librpm(char *why, size_t whylen)
{
	if (librpm)
		return true;
	const char *name = getenv("FINGERPRINT_TEST_LIBRPM");
	if (!name || !name[0])
		name = LIBRPM_SONAME;
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, whylen, "cannot load %s: %s", name, dlerror());
		return false;
	}
#define RPM_RESOLVE(f)                                                                          \
	if (!(*(void **)&R.f = dlsym(h, #f))) {                                                 \
		snprintf(why, whylen, "cannot load %s: it has no %s", name, #f);                \
		dlclose(h);                                                                     \
		return false;                                                                   \
	}
	RPM_FUNCTIONS(RPM_RESOLVE)
	librpm = h;
	return true;
}

struct rpmq {
	rpmts ts;
};

/* Where rpm keeps its database: the newer place first (Fedora 36+, openSUSE), then the historic one. */
static const char *const db_dirs[] = { "/usr/lib/sysimage/rpm", "/var/lib/rpm" };

/* A database file of any backend librpm may have: sqlite, ndb, Berkeley DB. */
static const char *const db_files[] = { "rpmdb.sqlite", "Packages.db", "Packages" };

const char *rpmq_find(const char *root, bool *dir_only)
{
	char p[PATH_MAX];
	struct stat st;
	*dir_only = false;
	for (size_t i = 0; i < sizeof(db_dirs) / sizeof(db_dirs[0]); i++) {
		if (snprintf(p, sizeof(p), "%s%s", root ? root : "", db_dirs[i]) >= (int)sizeof(p) ||
		    stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		*dir_only = true;
		for (size_t k = 0; k < sizeof(db_files) / sizeof(db_files[0]); k++) {
			if (snprintf(p, sizeof(p), "%s%s/%s", root ? root : "", db_dirs[i], db_files[k]) <
				    (int)sizeof(p) && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
				*dir_only = false;
				return db_dirs[i];
			}
		}
	}
	return NULL;
}

/* librpm's messages: the first error is kept for `why` (the root cause), none reaches stderr. */
static char last_error[256];

static int quiet_log(rpmlogRec rec, rpmlogCallbackData data)
{
	(void)data;
	if (R.rpmlogRecPriority(rec) <= RPMLOG_ERR && !last_error[0]) {
		snprintf(last_error, sizeof(last_error), "%s", R.rpmlogRecMessage(rec));
		size_t n = strlen(last_error);
		while (n && (last_error[n - 1] == '\n' || last_error[n - 1] == ' '))
			last_error[--n] = '\0';
	}
	return 0;
}

struct rpmq *rpmq_open(const char *root, const char *dbpath, char *why, size_t whylen)
{
	if (!load_librpm(why, whylen))
		return NULL;
	last_error[0] = '\0';
	R.rpmlogSetCallback(quiet_log, NULL);
	if (R.rpmReadConfigFiles(NULL, NULL) != 0) {
		snprintf(why, whylen, "cannot read the rpm configuration%s%s", last_error[0] ? ": " : "", last_error);
		R.rpmlogSetCallback(NULL, NULL);
		return NULL;
	}
	/* The database of the root, not %_dbpath's (Debian's points at ~/.rpmdb). */
	R.rpmPushMacro(NULL, "_dbpath", NULL, dbpath, RMIL_CMDLINE);

	struct rpmq *q = xcalloc(1, sizeof(*q));
	q->ts = R.rpmtsCreate();
	/* Installed headers are trusted as rpm -qf trusts them: no digest or signature checks. */
	R.rpmtsSetVSFlags(q->ts, _RPMVSF_NODIGESTS | _RPMVSF_NOSIGNATURES);
	if (R.rpmtsSetRootDir(q->ts, root && root[0] ? root : "/") != 0 || R.rpmtsOpenDB(q->ts, O_RDONLY) != 0) {
		snprintf(why, whylen, "cannot open the rpm database %s%s%s%s", root ? root : "", dbpath,
			 last_error[0] ? ": " : "", last_error);
		rpmq_close(q);
		return NULL;
	}
	return q;
}

void rpmq_owners(struct rpmq *q, const char *path, rpmq_owner_fn *fn, void *ctx)
{
	rpmdbMatchIterator mi = R.rpmtsInitIterator(q->ts, RPMDBI_INSTFILENAMES, path, 0);
	for (Header h; mi && (h = R.rpmdbNextIterator(mi));) {
		const char *name = R.headerGetString(h, RPMTAG_NAME);
		const char *arch = R.headerGetString(h, RPMTAG_ARCH);
		char *evr = R.headerGetAsString(h, RPMTAG_EVR);
		if (name && evr)
			fn(ctx, name, evr, arch ? arch : "(none)");
		free(evr);
	}
	R.rpmdbFreeIterator(mi);
}

void rpmq_close(struct rpmq *q)
{
	if (!q)
		return;
	R.rpmtsFree(q->ts);
	free(q);
	R.rpmFreeMacros(NULL);
	R.rpmFreeRpmrc();
	R.rpmlogSetCallback(NULL, NULL);
}
