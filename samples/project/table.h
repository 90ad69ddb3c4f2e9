/* table: a chained hash table counting occurrences of strings. */
#ifndef WORDSTAT_TABLE_H
#define WORDSTAT_TABLE_H

#include <stddef.h>

struct entry {
	char *word;
	unsigned long count;
	struct entry *next;
};

struct table {
	struct entry **slots;
	size_t nslots, nentries;
};

int table_init(struct table *t, size_t nslots);
int table_add(struct table *t, const char *word);
/* Returns a malloc'd array of the entries sorted by count then word. */
struct entry **table_sorted(const struct table *t);
void table_free(struct table *t);

#endif
