#include <stdlib.h>
#include <string.h>
#include "table.h"

static unsigned long hash(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

int table_init(struct table *t, size_t nslots)
{
	t->slots = calloc(nslots, sizeof *t->slots);
	t->nslots = nslots;
	t->nentries = 0;
	return t->slots == NULL ? -1 : 0;
}

int table_add(struct table *t, const char *word)
{
	struct entry **slot = &t->slots[hash(word) % t->nslots];
	struct entry *e;

	for (e = *slot; e != NULL; e = e->next)
		if (strcmp(e->word, word) == 0) {
			e->count++;
			return 0;
		}
	e = malloc(sizeof *e);
	if (e == NULL || (e->word = strdup(word)) == NULL) {
		free(e);
		return -1;
	}
	e->count = 1;
	e->next = *slot;
	*slot = e;
	t->nentries++;
	return 0;
}

static int by_count(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a;
	const struct entry *y = *(struct entry *const *)b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->word, y->word);
}

struct entry **table_sorted(const struct table *t)
{
	struct entry **v = malloc((t->nentries + 1) * sizeof *v);
	size_t n = 0;

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < t->nslots; i++)
		for (struct entry *e = t->slots[i]; e != NULL; e = e->next)
			v[n++] = e;
	qsort(v, n, sizeof *v, by_count);
	v[n] = NULL;
	return v;
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nslots; i++) {
		struct entry *e = t->slots[i];

		while (e != NULL) {
			struct entry *next = e->next;

			free(e->word);
			free(e);
			e = next;
		}
	}
	free(t->slots);
	t->slots = NULL;
}
