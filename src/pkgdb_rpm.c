#include "config.h"
#include "pkgdb_rpm.h"

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
	if (rpmlogRecPriority(rec) <= RPMLOG_ERR && !last_error[0]) {
		snprintf(last_error, sizeof(last_error), "%s", rpmlogRecMessage(rec));
		size_t n = strlen(last_error);
		while (n && (last_error[n - 1] == '\n' || last_error[n - 1] == ' '))
			last_error[--n] = '\0';
	}
	return 0;
}

struct rpmq *rpmq_open(const char *root, const char *dbpath, char *why, size_t whylen)
{
	last_error[0] = '\0';
	rpmlogSetCallback(quiet_log, NULL);
	if (rpmReadConfigFiles(NULL, NULL) != 0) {
		snprintf(why, whylen, "cannot read the rpm configuration%s%s", last_error[0] ? ": " : "", last_error);
		rpmlogSetCallback(NULL, NULL);
		return NULL;
	}
	/* The database of the root, not %_dbpath's (Debian's points at ~/.rpmdb). */
	rpmPushMacro(NULL, "_dbpath", NULL, dbpath, RMIL_CMDLINE);

	struct rpmq *q = xcalloc(1, sizeof(*q));
	q->ts = rpmtsCreate();
	/* Installed headers are trusted as rpm -qf trusts them: no digest or signature checks. */
	rpmtsSetVSFlags(q->ts, _RPMVSF_NODIGESTS | _RPMVSF_NOSIGNATURES);
	if (rpmtsSetRootDir(q->ts, root && root[0] ? root : "/") != 0 || rpmtsOpenDB(q->ts, O_RDONLY) != 0) {
		snprintf(why, whylen, "cannot open the rpm database %s%s%s%s", root ? root : "", dbpath,
			 last_error[0] ? ": " : "", last_error);
		rpmq_close(q);
		return NULL;
	}
	return q;
}

void rpmq_owners(struct rpmq *q, const char *path, rpmq_owner_fn *fn, void *ctx)
{
	rpmdbMatchIterator mi = rpmtsInitIterator(q->ts, RPMDBI_INSTFILENAMES, path, 0);
	for (Header h; mi && (h = rpmdbNextIterator(mi));) {
		const char *name = headerGetString(h, RPMTAG_NAME);
		const char *arch = headerGetString(h, RPMTAG_ARCH);
		char *evr = headerGetAsString(h, RPMTAG_EVR);
		if (name && evr)
			fn(ctx, name, evr, arch ? arch : "(none)");
		free(evr);
	}
	rpmdbFreeIterator(mi);
}

void rpmq_close(struct rpmq *q)
{
	if (!q)
		return;
	rpmtsFree(q->ts);
	free(q);
	rpmFreeMacros(NULL);
	rpmFreeRpmrc();
	rpmlogSetCallback(NULL, NULL);
}
