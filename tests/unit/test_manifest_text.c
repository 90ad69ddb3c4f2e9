/*
 * Unit tests of manifest_text_needs_escape() and manifest_text_escape():
 * each special byte (NUL, a backslash before '\\' or 'x', a byte that is not
 * UTF-8) at every offset of strings of every length up to 40, so that it
 * falls in each lane of the eight-byte fast path and in the tail after it;
 * and bytes that need no escape there (valid UTF-8, a lone backslash).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "manifest_text.h"

struct special {
	const char *bytes;
	size_t len;
	bool escaped;
	const char *text; /* what manifest_text_escape writes for it, among 'a's */
};

static const struct special specials[] = {
	{ "\0", 1, true, "\\x00" },                  /* NUL */
	{ "\\x", 2, true, "\\\\x" },                 /* reads as an escape */
	{ "\\\\", 2, true, "\\\\\\\\" },              /* reads as an escaped backslash */
	{ "\xff", 1, true, "\\xff" },                /* never UTF-8 */
	{ "\xc3", 1, true, "\\xc3" },                /* a sequence cut short by the next byte */
	{ "\x80", 1, true, "\\x80" },                /* a continuation byte alone */
	{ "\\a", 2, false, "\\a" },                  /* a backslash before anything else stays */
	{ "\xc3\xa9", 2, false, "\xc3\xa9" },         /* e acute */
	{ "\xe2\x82\xac", 3, false, "\xe2\x82\xac" }, /* the euro sign */
};

int main(void)
{
	char s[64], e[192];

	for (size_t len = 0; len <= 40; len++) {
		memset(s, 'a', sizeof(s));
		CHECK(!manifest_text_needs_escape(s, len), "%zu plain bytes", len);
		/* A backslash last, with nothing after it, reads as itself. */
		if (len) {
			s[len - 1] = '\\';
			CHECK(!manifest_text_needs_escape(s, len), "%zu bytes ending in a backslash", len);
		}
		for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
			const struct special *sp = &specials[k];
			for (size_t at = 0; at + sp->len <= len; at++) {
				memset(s, 'a', sizeof(s));
				memcpy(s + at, sp->bytes, sp->len);
				bool got = manifest_text_needs_escape(s, len);
				CHECK(got == sp->escaped, "special %zu at %zu of %zu: %d", k, at, len, got);

				/* The text: the 'a's as they are, the special as its escape. */
				size_t tl = strlen(sp->text);
				memset(e, 'a', at);
				memcpy(e + at, sp->text, tl);
				memset(e + at + tl, 'a', len - at - sp->len);
				e[len - sp->len + tl] = '\0';
				char *t = manifest_text_escape(s, len);
				CHECK(strcmp(t, e) == 0, "special %zu at %zu of %zu: '%s', want '%s'", k, at, len, t, e);
				free(t);
			}
		}
	}
	return failures ? 1 : 0;
}
