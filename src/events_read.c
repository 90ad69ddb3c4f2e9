#include "config.h"
#include "events_read.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

struct reader {
	const char *file;
	size_t line;
	char *text;  /* the line (getline's buffer) */
	cJSON *ev;   /* its event, or NULL; both freed before dying on a bad line */
};

static _Noreturn void bad_line(const struct reader *r, const char *what, const char *key) FP_PRINTF(2, 0);

static _Noreturn void bad_line(const struct reader *r, const char *what, const char *key)
{
	cJSON_Delete(r->ev);
	free(r->text);
	if (key)
		die(EXIT_USAGE, "%s: line %zu: %s: %s", r->file, r->line, key, what);
	die(EXIT_USAGE, "%s: line %zu: %s", r->file, r->line, what);
}

/* `s` in double quotes as C would write it: control characters and bytes that are not UTF-8 as \xHH. */
static void put_quoted(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = *p < 0x20 || *p == 0x7f ? 0 : utf8_seq(p, strnlen((const char *)p, 4));
		if (*p == '"' || *p == '\\') {
			printf("\\%c", *p++);
		} else if (*p == '\n') {
			fputs("\\n", stdout);
			p++;
		} else if (*p == '\t') {
			fputs("\\t", stdout);
			p++;
		} else if (n) {
			fwrite(p, 1, n, stdout);
			p += n;
		} else {
			printf("\\x%02x", *p++);
		}
	}
	putchar('"');
}

static bool is_integer(const cJSON *v)
{
	return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble);
}

/* One argument value: a path or argv element quoted, a number, a name (flags, AT_FDCWD) as it is. */
static void put_value(const struct reader *r, const cJSON *v, const char *key, bool quote)
{
	if (cJSON_IsNull(v))
		fputs("NULL", stdout);
	else if (cJSON_IsString(v) && quote)
		put_quoted(v->valuestring);
	else if (cJSON_IsString(v))
		fputs(v->valuestring, stdout);
	else if (is_integer(v))
		printf("%.0f", v->valuedouble);
	else if (cJSON_IsBool(v))
		fputs(cJSON_IsTrue(v) ? "true" : "false", stdout);
	else
		bad_line(r, "expected a string, an integer or null", key);
}

static void put_args(const struct reader *r, const cJSON *args)
{
	const cJSON *a;
	bool first = true;
	bool truncated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(args, "argv_truncated"));
	cJSON_ArrayForEach(a, args) {
		if (!a->string || strcmp(a->string, "argv_truncated") == 0)
			continue;
		if (!first)
			fputs(", ", stdout);
		first = false;
		if (cJSON_IsArray(a)) {
			const cJSON *e;
			bool f = true;
			putchar('[');
			cJSON_ArrayForEach(e, a) {
				if (!cJSON_IsString(e))
					bad_line(r, "expected strings", "args.argv");
				fputs(f ? "" : ", ", stdout);
				f = false;
				put_quoted(e->valuestring);
			}
			fputs(truncated ? ", ...]" : "]", stdout);
		} else if (cJSON_IsObject(a)) {
			const cJSON *e;
			bool f = true;
			putchar('{');
			cJSON_ArrayForEach(e, a) {
				printf("%s%s=", f ? "" : ", ", e->string ? e->string : "");
				f = false;
				put_value(r, e, "args", false);
			}
			putchar('}');
		} else {
			put_value(r, a, "args", strcmp(a->string, "path") == 0);
		}
	}
}

/* The message of errno name `name` ("No such file or directory"), or NULL. */
static const char *errno_message(const char *name)
{
	for (int e = 1; e < 512; e++) {
		const char *n = strerrorname_np(e);
		if (n && strcmp(n, name) == 0)
			return strerror(e);
	}
	return NULL;
}

static void print_event(const struct reader *r, const cJSON *ev)
{
	if (!cJSON_IsObject(ev))
		bad_line(r, "expected a JSON object (one event per line)", NULL);
	const cJSON *tid = cJSON_GetObjectItemCaseSensitive(ev, "tid");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(ev, "syscall");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(ev, "args");
	const cJSON *ret = cJSON_GetObjectItemCaseSensitive(ev, "ret");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(ev, "errno");
	const cJSON *dur = cJSON_GetObjectItemCaseSensitive(ev, "duration_ns");
	bool unfinished = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "unfinished"));

	if (!is_integer(tid) || tid->valuedouble < 1)
		bad_line(r, tid ? "expected a thread id" : "missing", "tid");
	if (!cJSON_IsString(name) || !name->valuestring[0])
		bad_line(r, name ? "expected a syscall name" : "missing", "syscall");
	if (!cJSON_IsObject(args))
		bad_line(r, args ? "expected an object" : "missing", "args");
	if (!unfinished) {
		if (!ret || !(is_integer(ret) || cJSON_IsString(ret)))
			bad_line(r, ret ? "expected an integer or a string" : "missing (or \"unfinished\": true)", "ret");
		if (err && !cJSON_IsString(err))
			bad_line(r, "expected a name such as ENOENT", "errno");
		if (!dur || !is_integer(dur) || dur->valuedouble < 0)
			bad_line(r, dur ? "expected a non-negative integer" : "missing", "duration_ns");
	}
	printf("[pid %.0f] %s(", tid->valuedouble, name->valuestring);
	put_args(r, args);
	if (unfinished) {
		fputs(" <unfinished ...>\n", stdout);
		return;
	}
	fputs(") = ", stdout);
	put_value(r, ret, "ret", false);
	if (err) {
		const char *msg = errno_message(err->valuestring);
		printf(msg ? " %s (%s)" : " %s", err->valuestring, msg);
	}
	printf(" <%.6f>\n", dur->valuedouble / 1e9);
}

int events_read_main(int argc, char **argv)
{
	struct events_opts o;
	struct reader r = { 0 };
	size_t cap = 0;
	ssize_t n;

	cli_parse_events(argc, argv, &o);
	r.file = o.file;
	FILE *f = strcmp(o.file, "-") == 0 ? stdin : fopen(o.file, "re");
	if (!f)
		die_errno(EXIT_USAGE, "%s", o.file);
	while ((n = getline(&r.text, &cap, f)) > 0) {
		r.line++;
		if (r.text[n - 1] == '\n')
			r.text[--n] = '\0';
		if ((size_t)n != strlen(r.text))
			bad_line(&r, "a NUL byte (not an event log)", NULL);
		r.ev = cJSON_ParseWithLength(r.text, (size_t)n);
		if (!r.ev)
			bad_line(&r, "malformed JSON (an event log has one JSON object per line)", NULL);
		print_event(&r, r.ev);
		cJSON_Delete(r.ev);
		r.ev = NULL;
	}
	if (ferror(f))
		die_errno(EXIT_USAGE, "%s: cannot read", o.file);
	free(r.text);
	if (f != stdin)
		fclose(f);
	if (fflush(stdout) != 0 || ferror(stdout))
		die_errno(EXIT_USAGE, "cannot write the events");
	return 0;
}
