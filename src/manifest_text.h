/*
 * manifest_text.c: how the bytes of paths, arguments and environment
 * entries (which need not be UTF-8) are written as manifest text, read back,
 * and ordered. Used by manifest_json.c and manifest_json_read.c; no cJSON.
 *
 * A string is written as it is when it is valid UTF-8 holding neither of
 * the two-character sequences \\ and \x. Any other is escaped: each
 * backslash as \\ and each byte that is not part of valid UTF-8 (a NUL
 * included) as \xHH (lowercase hex). Decoding: \\ is a backslash, \xHH the
 * byte, any other backslash itself; so every text stands for one byte
 * string, and every byte string has one text.
 */
#ifndef FP_MANIFEST_TEXT_H
#define FP_MANIFEST_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* True when the `len` bytes at `s` are written escaped. */
bool manifest_text_needs_escape(const char *s, size_t len);
/* The text written for the `len` bytes at `s`: malloc'd, owned by the caller. */
char *manifest_text_escape(const char *s, size_t len);

/*
 * The bytes text `s` stands for (malloc'd, NUL-terminated, owned by the
 * caller); NULL when `s` is not a text manifest_text_escape writes (an
 * escape it would not write, \x00), with *why saying so.
 */
char *manifest_text_unescape(const char *s, const char **why);
/*
 * The bytes the base64 string `b64` gives for text `text` (malloc'd, owned
 * by the caller); NULL with *why when `b64` is not base64 as b64_encode
 * writes it, holds a NUL byte or is not the bytes of `text`.
 */
char *manifest_text_from_b64(const char *text, const char *b64, const char **why);

/*
 * The order of the texts written for `a` and `b` (strcmp of the texts; NULL
 * first): byte order unless one is escaped (0xff is written \xff, before
 * 'e'). Arrays are written in this order, so a reader of the JSON sees them
 * sorted.
 */
int manifest_text_cmp(const char *a, const char *b);
/* Sort `n` strings in byte order into text order (nothing moves when none is escaped). */
void manifest_text_sort_strings(const char **v, size_t n);
/* The same for `n` pointers to model entries (mf_binary, mf_file, ...), which begin with their path. */
void manifest_text_sort_entries(void *v, size_t n);

/* A list of strings (an argv): `len` bytes of NUL-terminated strings (the last one's NUL may be missing). */
struct mf_strlist {
	const char *data;
	size_t len;
};
/* True when a string of the list is escaped. */
bool manifest_text_list_escaped(const char *data, size_t len);
/* Sort `n` lists in byte order into text order, item by item, a shorter list first on a common prefix. */
void manifest_text_sort_lists(struct mf_strlist *v, size_t n);

#endif
