#include "config.h"
#include "trace_filter.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const names[TRACE_NCALLS] = {
	[TRACE_CREAT] = "creat",
	[TRACE_EXECVE] = "execve",
	[TRACE_EXECVEAT] = "execveat",
	[TRACE_MMAP] = "mmap",
	[TRACE_OPEN] = "open",
	[TRACE_OPENAT] = "openat",
	[TRACE_OPENAT2] = "openat2",
};

static const struct {
	const char *name;
	trace_set set;
} classes[] = {
	{ "%file", TRACE_BIT(TRACE_OPEN) | TRACE_BIT(TRACE_OPENAT) | TRACE_BIT(TRACE_OPENAT2) | TRACE_BIT(TRACE_CREAT) },
	{ "%exec", TRACE_BIT(TRACE_EXECVE) | TRACE_BIT(TRACE_EXECVEAT) },
	{ "%mmap", TRACE_BIT(TRACE_MMAP) },
	{ "all", TRACE_ALL },
	{ "none", 0 },
};

int trace_filter_lookup(const char *name)
{
	for (int i = 0; i < TRACE_NCALLS; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	if (strcmp(name, "mmap2") == 0)
		return TRACE_MMAP;
	return -1;
}

const char *trace_filter_name(enum trace_call call)
{
	return call < TRACE_NCALLS ? names[call] : "?";
}

char *trace_filter_format(trace_set set, const char *sep, char *out, size_t outsz)
{
	size_t len = 0;
	if (outsz)
		out[0] = '\0';
	for (int i = 0; i < TRACE_NCALLS; i++) {
		if (!(set & TRACE_BIT(i)))
			continue;
		int n = snprintf(out + len, outsz > len ? outsz - len : 0, "%s%s", len ? sep : "", names[i]);
		if (n < 0 || (size_t)n >= (outsz > len ? outsz - len : 0))
			break;
		len += (size_t)n;
	}
	return out;
}

/* One word of a SPEC: a name or a class; -EINVAL when it is neither. */
static int word_set(const char *w, size_t len, trace_set *set)
{
	char name[32];
	if (len >= sizeof(name))
		return -EINVAL;
	memcpy(name, w, len);
	name[len] = '\0';
	int call = trace_filter_lookup(name);
	if (call >= 0) {
		*set = TRACE_BIT(call);
		return 0;
	}
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (strcmp(name, classes[i].name) == 0) {
			*set = classes[i].set;
			return 0;
		}
	}
	return -EINVAL;
}

int trace_filter_parse(const char *spec, trace_set *out, char *err, size_t errsz)
{
	static const char choices[] = "open, openat, openat2, creat, execve, execveat, mmap, %file, %exec, %mmap, "
				      "all or none";
	bool negate = spec[0] == '!';
	const char *s = spec + negate;
	trace_set set = 0;

	if (*s == '\0') {
		snprintf(err, errsz, "no syscall named (%s)", choices);
		return -EINVAL;
	}
	for (;;) {
		size_t len = strcspn(s, ",");
		trace_set one;
		if (len == 0) {
			snprintf(err, errsz, "an empty name in the list");
			return -EINVAL;
		}
		if (word_set(s, len, &one) < 0) {
			snprintf(err, errsz, "unknown syscall '%.*s' (%s)", (int)len, s, choices);
			return -EINVAL;
		}
		set |= one;
		if (!s[len])
			break;
		s += len + 1;
	}
	*out = negate ? TRACE_ALL & ~set : set;
	return 0;
}
