/*
 * manifest_text.c: how the bytes of paths, arguments and environment
 * entries are written as manifest text and read back (manifest_text.h),
 * and the order of such texts. Knows nothing of cJSON.
 */
#include "config.h"
#include "manifest_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Whether one of the 8 bytes of `w` is zero. */
static bool has_zero_byte(uint64_t w)
{
	return ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL) != 0;
}

bool manifest_text_needs_escape(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	/* Eight bytes at a time while none is NUL, a backslash or not ASCII: almost every string, whole. */
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, u + i, 8);
		if ((w & 0x8080808080808080ULL) || has_zero_byte(w) || has_zero_byte(w ^ 0x5c5c5c5c5c5c5c5cULL))
			break;
	}
	while (i < len) {
		if (u[i] != 0 && u[i] < 0x80 && u[i] != '\\') {
			i++; /* ASCII, as almost every byte is: no call */
			continue;
		}
		size_t n = u[i] ? utf8_seq(u + i, len - i) : 0;
		if (!n || (u[i] == '\\' && i + 1 < len && (u[i + 1] == '\\' || u[i + 1] == 'x')))
			return true;
		i += n;
	}
	return false;
}

char *manifest_text_escape(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	if (!manifest_text_needs_escape(s, len))
		return xstrndup(s, len);
	struct buf b = { 0 };
	for (size_t i = 0; i < len;) {
		size_t n = u[i] ? utf8_seq(u + i, len - i) : 0;
		if (u[i] == '\\') {
			buf_append(&b, "\\\\", 2);
			i++;
		} else if (n) {
			buf_append(&b, s + i, n);
			i += n;
		} else {
			char esc[5];
			snprintf(esc, sizeof(esc), "\\x%02x", u[i]);
			buf_append(&b, esc, 4);
			i++;
		}
	}
	return b.data;
}

char *manifest_text_unescape(const char *s, const char **why)
{
	if (!strchr(s, '\\'))
		return xstrdup(s);
	struct buf b = { 0 };
	*why = NULL;
	for (const char *p = s; *p && !*why;) {
		static const char hex[] = "0123456789abcdef";
		const char *hi, *lo;
		if (*p != '\\' || (p[1] != '\\' && p[1] != 'x')) {
			buf_append(&b, p++, 1); /* a backslash before anything else is itself */
		} else if (p[1] == '\\') {
			buf_append(&b, p, 1);
			p += 2;
		} else if (p[2] && p[3] && (hi = strchr(hex, p[2])) && (lo = strchr(hex, p[3]))) {
			char c = (char)((hi - hex) << 4 | (lo - hex));
			if (c == '\0')
				*why = "\\x00: a NUL byte";
			buf_append(&b, &c, 1);
			p += 4;
		} else {
			*why = "\\x not followed by two lowercase hex digits";
		}
	}
	if (!*why) {
		autofree char *again = manifest_text_escape(b.data, b.len);
		if (strcmp(again, s) != 0)
			*why = "not escaped as fingerprint writes it (\\xHH only for bytes that are not UTF-8)";
	}
	if (*why) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

char *manifest_text_from_b64(const char *text, const char *b64, const char **why)
{
	size_t n;
	char *raw = b64_decode(b64, &n);
	*why = !raw ? "not base64 (RFC 4648, padded)" : memchr(raw, '\0', n) ? "a NUL byte in the decoded value" : NULL;
	if (!*why) {
		autofree char *again = manifest_text_escape(raw, n);
		if (strcmp(again, text) != 0)
			*why = "does not match the text beside it";
	}
	if (*why) {
		free(raw);
		return NULL;
	}
	return raw;
}

int manifest_text_cmp(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	size_t la = strlen(a), lb = strlen(b);
	if (!manifest_text_needs_escape(a, la) && !manifest_text_needs_escape(b, lb))
		return strcmp(a, b);
	autofree char *ta = manifest_text_escape(a, la), *tb = manifest_text_escape(b, lb);
	return strcmp(ta, tb);
}

static int cmp_str(const void *a, const void *b)
{
	return manifest_text_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* Entries of the model (mf_binary, mf_file, ...) begin with their path. */
static int cmp_entry(const void *a, const void *b)
{
	return manifest_text_cmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

/* True when one of the `n` strings is escaped: only then do byte order and text order differ. */
static bool any_escaped(const char *const *v, size_t n, size_t stride)
{
	for (size_t i = 0; i < n; i++) {
		const char *k = *(const char *const *)((const char *)v + i * stride);
		if (k && manifest_text_needs_escape(k, strlen(k)))
			return true;
	}
	return false;
}

void manifest_text_sort_strings(const char **v, size_t n)
{
	if (any_escaped(v, n, sizeof(*v)))
		qsort(v, n, sizeof(*v), cmp_str);
}

void manifest_text_sort_entries(void *v, size_t n)
{
	const char **paths = xmalloc((n ? n : 1) * sizeof(*paths));
	for (size_t i = 0; i < n; i++)
		paths[i] = **((const char *const *const *)v + i);
	bool escaped = any_escaped(paths, n, sizeof(*paths));
	free(paths);
	if (escaped)
		qsort(v, n, sizeof(void *), cmp_entry);
}

bool manifest_text_list_escaped(const char *data, size_t len)
{
	for (const char *s = data, *end = data + len; s < end; s += strnlen(s, end - s) + 1)
		if (manifest_text_needs_escape(s, strnlen(s, end - s)))
			return true;
	return false;
}

/* Lists item by item, a shorter list first on a common prefix. */
static int cmp_list(const void *pa, const void *pb)
{
	const struct mf_strlist *a = pa, *b = pb;
	const char *x = a->data, *y = b->data, *xe = x + a->len, *ye = y + b->len;
	for (; x < xe && y < ye; x += strnlen(x, xe - x) + 1, y += strnlen(y, ye - y) + 1) {
		autofree char *tx = xstrndup(x, strnlen(x, xe - x)), *ty = xstrndup(y, strnlen(y, ye - y));
		int r = manifest_text_cmp(tx, ty);
		if (r)
			return r;
	}
	return (x < xe) - (y < ye);
}

void manifest_text_sort_lists(struct mf_strlist *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (manifest_text_list_escaped(v[i].data, v[i].len)) {
			qsort(v, n, sizeof(*v), cmp_list);
			return;
		}
	}
}
