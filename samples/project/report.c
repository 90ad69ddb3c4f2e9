#include <stdlib.h>
#include "wordstat.h"

void report_print(FILE *out, const struct table *t, const struct stats *st)
{
	struct entry **v = table_sorted(t);

	fprintf(out, "lines %lu\n", st->lines);
	fprintf(out, "words %lu\n", st->words);
	fprintf(out, "chars %lu\n", st->chars);
	fprintf(out, "distinct %lu\n", (unsigned long)t->nentries);
	fprintf(out, "mean-length %.2f\n", st->mean_len);
	fprintf(out, "stddev-length %.2f\n", st->stddev_len);
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL && i < 5; i++)
		fprintf(out, "top %s %lu\n", v[i]->word, v[i]->count);
	free(v);
}
