/* wordstat: shared declarations of the program's parts. */
#ifndef WORDSTAT_H
#define WORDSTAT_H

#include <stdio.h>
#include "table.h"

struct stats {
	unsigned long words, chars, lines;
	double mean_len, stddev_len;
};

/* Read words from `in` into `t`; lengths of words feed `st`. */
int words_read(FILE *in, struct table *t, struct stats *st);
void stats_finish(struct stats *st, const unsigned long *len_hist, size_t nhist);
extern unsigned long word_len_hist[64];
void report_print(FILE *out, const struct table *t, const struct stats *st);

#endif
