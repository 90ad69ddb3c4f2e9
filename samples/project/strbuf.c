#include <stdlib.h>
#include "strbuf.h"

void strbuf_init(struct strbuf *sb)
{
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

int strbuf_addch(struct strbuf *sb, char c)
{
	if (sb->len + 2 > sb->cap) {
		size_t cap = sb->cap ? 2 * sb->cap : 16;
		char *p = realloc(sb->buf, cap);

		if (p == NULL)
			return -1;
		sb->buf = p;
		sb->cap = cap;
	}
	sb->buf[sb->len++] = c;
	sb->buf[sb->len] = '\0';
	return 0;
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf != NULL)
		sb->buf[0] = '\0';
}

void strbuf_free(struct strbuf *sb)
{
	free(sb->buf);
	strbuf_init(sb);
}
