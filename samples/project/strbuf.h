/* strbuf: a growable NUL-terminated byte buffer. */
#ifndef WORDSTAT_STRBUF_H
#define WORDSTAT_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len, cap;
};

void strbuf_init(struct strbuf *sb);
int strbuf_addch(struct strbuf *sb, char c);
void strbuf_reset(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);

#endif
