#include <ctype.h>
#include "strbuf.h"
#include "wordstat.h"

unsigned long word_len_hist[64];

static int flush_word(struct strbuf *w, struct table *t, struct stats *st)
{
	if (w->len == 0)
		return 0;
	st->words++;
	word_len_hist[w->len < 63 ? w->len : 63]++;
	if (table_add(t, w->buf) < 0)
		return -1;
	strbuf_reset(w);
	return 0;
}

int words_read(FILE *in, struct table *t, struct stats *st)
{
	struct strbuf w;
	int c, ret = 0;

	strbuf_init(&w);
	while ((c = getc(in)) != EOF) {
		st->chars++;
		if (c == '\n')
			st->lines++;
		if (isalnum(c) || c == '\'') {
			if (strbuf_addch(&w, (char)tolower(c)) < 0) {
				ret = -1;
				break;
			}
		} else if (flush_word(&w, t, st) < 0) {
			ret = -1;
			break;
		}
	}
	if (ret == 0 && flush_word(&w, t, st) < 0)
		ret = -1;
	if (ferror(in))
		ret = -1;
	strbuf_free(&w);
	return ret;
}
