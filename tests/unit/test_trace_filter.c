/* Unit tests of trace_filter_parse(): -e trace=SPEC into a set of calls, and its errors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "trace_filter.h"

static int failures;

/* SPEC must parse into the calls named (sorted, joined by commas) in `want`. */
static void expect(const char *spec, const char *want)
{
	char err[256] = "", got[256];
	trace_set set = 0;
	if (trace_filter_parse(spec, &set, err, sizeof(err)) < 0) {
		failures++;
		fprintf(stderr, "trace_filter_parse(\"%s\") failed: %s; want {%s}\n", spec, err, want);
		return;
	}
	trace_filter_format(set, ",", got, sizeof(got));
	if (strcmp(got, want) != 0) {
		failures++;
		fprintf(stderr, "trace_filter_parse(\"%s\") = {%s}, want {%s}\n", spec, got, want);
	}
}

/* SPEC must be refused with -EINVAL, the set untouched, and an error containing `msg`. */
static void expect_error(const char *spec, const char *msg)
{
	char err[256] = "";
	trace_set set = 0x5a5;
	int r = trace_filter_parse(spec, &set, err, sizeof(err));
	if (r != -EINVAL || set != 0x5a5 || !strstr(err, msg) || strchr(err, '\n')) {
		failures++;
		fprintf(stderr, "trace_filter_parse(\"%s\") = %d, error \"%s\"; want -EINVAL and \"%s\"\n", spec, r, err,
			msg);
	}
}

int main(void)
{
	/* single names */
	expect("open", "open");
	expect("openat", "openat");
	expect("openat2", "openat2");
	expect("creat", "creat");
	expect("execve", "execve");
	expect("execveat", "execveat");
	expect("mmap", "mmap");
	expect("mmap2", "mmap"); /* the 32-bit ABI's name for it */
	/* lists, in any order, repeats allowed */
	expect("openat,execve", "execve,openat");
	expect("mmap,open,mmap", "mmap,open");
	/* classes */
	expect("%file", "creat,open,openat,openat2");
	expect("%exec", "execve,execveat");
	expect("%mmap", "mmap");
	expect("%file,%exec,%mmap", "creat,execve,execveat,mmap,open,openat,openat2");
	expect("%exec,openat", "execve,execveat,openat");
	expect("all", "creat,execve,execveat,mmap,open,openat,openat2");
	expect("none", "");
	expect("none,open", "open");
	/* a leading ! negates the whole list */
	expect("!mmap", "creat,execve,execveat,open,openat,openat2");
	expect("!%file,mmap", "execve,execveat");
	expect("!all", "");
	expect("!none", "creat,execve,execveat,mmap,open,openat,openat2");

	/* errors name the bad word */
	expect_error("opn", "unknown syscall 'opn'");
	expect_error("open,stat", "unknown syscall 'stat'");
	expect_error("%files", "unknown syscall '%files'");
	expect_error("chdir", "unknown syscall 'chdir'"); /* watched always, not choosable */
	expect_error("OPEN", "unknown syscall 'OPEN'");
	expect_error("!!open", "unknown syscall '!open'");
	expect_error("open,!mmap", "unknown syscall '!mmap'");
	expect_error("a_name_much_longer_than_any_syscall_name_is", "unknown syscall 'a_name_much_longer");
	expect_error("", "no syscall named");
	expect_error("!", "no syscall named");
	expect_error("open,", "an empty name");
	expect_error(",open", "an empty name");
	expect_error("open,,mmap", "an empty name");

	/* names and lookup agree */
	for (int i = 0; i < TRACE_NCALLS; i++)
		if (trace_filter_lookup(trace_filter_name((enum trace_call)i)) != i) {
			failures++;
			fprintf(stderr, "trace_filter_lookup(trace_filter_name(%d)) != %d\n", i, i);
		}
	if (trace_filter_lookup("chdir") != -1 || trace_filter_lookup("") != -1) {
		failures++;
		fprintf(stderr, "trace_filter_lookup accepts a name that is not choosable\n");
	}
	/* formatting truncates instead of overflowing */
	char small[8];
	trace_filter_format(TRACE_ALL, ", ", small, sizeof(small));
	if (strlen(small) >= sizeof(small)) {
		failures++;
		fprintf(stderr, "trace_filter_format overflowed\n");
	}
	return failures ? 1 : 0;
}
