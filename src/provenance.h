/*
 * provenance.c: where the entries of a merged manifest were seen (the host
 * and rank of each run) and which sha256 each place recorded. Part of the
 * model: knows nothing of JSON; host names and digests are strings interned
 * by the manifest that owns the provenance (struct manifest's `prov`).
 */
#ifndef FP_PROVENANCE_H
#define FP_PROVENANCE_H

#include <stddef.h>

#include "util.h"

/* One place an entry was seen: a host and the rank of the run there. */
struct prov_place {
	const char *host;  /* interned; NULL when the run named no host */
	long rank;         /* -1 when the run had no rank */
};

/* A set of places, sorted by host (NULL first) then rank (none first), without repeats. */
struct prov_places {
	struct prov_place *v;
	size_t n, cap;
};

/* The places that recorded one sha256 of an entry. */
struct prov_variant {
	const char *sha256;  /* interned; NULL: none recorded (not hashed, or hashing failed) */
	struct prov_places seen;
};

/* The provenance of one entry. */
struct prov_entry {
	struct prov_places seen;        /* every place it was seen on */
	struct prov_variant *variants;  /* its places by digest, sorted by sha256 (NULL first) */
	size_t n_variants, variants_cap;
};

enum prov_section { PROV_BINARIES, PROV_LIBRARIES, PROV_FILES, PROV_MISSING, PROV_SECTIONS };

/* The provenance of a merged manifest: per section, interned path -> struct prov_entry. */
struct prov {
	struct map entries[PROV_SECTIONS];
};

/* Returns a new, empty provenance, owned by the caller (free with prov_free). */
struct prov *prov_new(void);
void prov_free(struct prov *p);

/* The entry of interned `path` in section `s`, created empty when absent (owned by `p`). */
struct prov_entry *prov_entry(struct prov *p, enum prov_section s, const char *path);

/* The entry of `path` in section `s`, or NULL. */
const struct prov_entry *prov_lookup(const struct prov *p, enum prov_section s, const char *path);

/* Add one place (`host` interned or NULL, `rank` or -1) to a set, once. */
void prov_places_add(struct prov_places *set, const char *host, long rank);

/*
 * Record that the run on `host`/`rank` saw the entry with digest `sha256`
 * (interned, or NULL for none): the place joins the entry's places and
 * those of that digest's variant.
 */
void prov_seen(struct prov_entry *e, const char *sha256, const char *host, long rank);

/* How many different non-NULL digests the entry was seen with: two or more is a conflict. */
size_t prov_digests(const struct prov_entry *e);

#endif
