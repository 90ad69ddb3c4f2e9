#include "config.h"
#include "provenance.h"

#include <string.h>

struct prov *prov_new(void)
{
	return xcalloc(1, sizeof(struct prov));
}

void prov_free(struct prov *p)
{
	if (!p)
		return;
	for (int s = 0; s < PROV_SECTIONS; s++) {
		MAP_FOREACH(&p->entries[s], i) {
			struct prov_entry *e = p->entries[s].vals[i];
			for (size_t k = 0; k < e->n_variants; k++)
				free(e->variants[k].seen.v);
			free(e->variants);
			free(e->seen.v);
			free(e);
		}
		map_free(&p->entries[s]);
	}
	free(p);
}

struct prov_entry *prov_entry(struct prov *p, enum prov_section s, const char *path)
{
	void **slot = map_slot(&p->entries[s], path, strlen(path), NULL);
	if (!*slot)
		*slot = xcalloc(1, sizeof(struct prov_entry));
	return *slot;
}

const struct prov_entry *prov_lookup(const struct prov *p, enum prov_section s, const char *path)
{
	return strmap_get(&p->entries[s], path);
}

/* strcmp with NULL before every string. */
static int cmp_nullable(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) : (a != NULL) - (b != NULL);
}

static int cmp_place(const struct prov_place *a, const char *host, long rank)
{
	int r = cmp_nullable(a->host, host);
	return r ? r : (a->rank > rank) - (a->rank < rank);
}

void prov_places_add(struct prov_places *set, const char *host, long rank)
{
	size_t lo = 0, hi = set->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = cmp_place(&set->v[mid], host, rank);
		if (r == 0)
			return;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	xgrow(&set->v, &set->cap, set->n + 1, sizeof(*set->v));
	memmove(&set->v[lo + 1], &set->v[lo], (set->n - lo) * sizeof(*set->v));
	set->v[lo] = (struct prov_place){ host, rank };
	set->n++;
}

/* The variant of `sha256` in `e`, inserted in order when absent. */
static struct prov_variant *variant_of(struct prov_entry *e, const char *sha256)
{
	size_t k = 0;
	while (k < e->n_variants) {
		int r = cmp_nullable(e->variants[k].sha256, sha256);
		if (r == 0)
			return &e->variants[k];
		if (r > 0)
			break;
		k++;
	}
	xgrow(&e->variants, &e->variants_cap, e->n_variants + 1, sizeof(*e->variants));
	memmove(&e->variants[k + 1], &e->variants[k], (e->n_variants - k) * sizeof(*e->variants));
	e->variants[k] = (struct prov_variant){ .sha256 = sha256 };
	e->n_variants++;
	return &e->variants[k];
}

void prov_seen(struct prov_entry *e, const char *sha256, const char *host, long rank)
{
	prov_places_add(&e->seen, host, rank);
	prov_places_add(&variant_of(e, sha256)->seen, host, rank);
}

size_t prov_digests(const struct prov_entry *e)
{
	size_t n = 0;
	for (size_t k = 0; k < e->n_variants; k++)
		n += e->variants[k].sha256 != NULL;
	return n;
}
