/* wordstat: count words on standard input and print a short report. */
#include <stdio.h>
#include <stdlib.h>
#include "strbuf.h"
#include "table.h"
#include "wordstat.h"

int main(void)
{
	struct table t;
	struct stats st = { 0 };

	if (table_init(&t, 257) < 0) {
		fprintf(stderr, "wordstat: out of memory\n");
		return 1;
	}
	if (words_read(stdin, &t, &st) < 0) {
		fprintf(stderr, "wordstat: read error\n");
		table_free(&t);
		return 1;
	}
	stats_finish(&st, word_len_hist, 64);
	report_print(stdout, &t, &st);
	table_free(&t);
	return 0;
}
