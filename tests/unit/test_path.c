/* Unit tests of path.c: lexical normalisation and /proc fd/cwd lookups. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "path.h"

#include "check.h"


/* path_resolve must give `want` (or the negative errno `want_err`). */
static void expect(const char *base, const char *path, const char *want, int line)
{
	char out[PATH_MAX];
	int n;

	memset(out, 'X', sizeof out);
	n = path_resolve(out, sizeof out, base, path);
	if (n < 0 || strcmp(out, want) != 0 || (size_t)n != strlen(want)) {
		failures++;
		fprintf(stderr, "line %d: path_resolve(base=%s%s%s, \"%s\") = %d \"%s\", want %zu \"%s\"\n",
			line, base ? "\"" : "", base ? base : "NULL", base ? "\"" : "", path,
			n, n >= 0 ? out : "", strlen(want), want);
	}
}

static void expect_err(const char *base, const char *path, size_t outsz, int want_err, int line)
{
	char out[PATH_MAX + 16];
	int n;

	n = path_resolve(out, outsz, base, path);
	if (n != -want_err) {
		failures++;
		fprintf(stderr, "line %d: path_resolve(base=%s, \"%s\", outsz %zu) = %d, want -errno \"%s\" (%d)\n",
			line, base ? base : "NULL", path, outsz, n, strerror(want_err), -want_err);
	}
}

#define EXPECT(base, path, want) expect(base, path, want, __LINE__)
#define EXPECT_ERR(base, path, outsz, err) expect_err(base, path, outsz, err, __LINE__)

static void test_normalise(void)
{
	EXPECT(NULL, "/", "/");
	EXPECT(NULL, "/a/b", "/a/b");
	EXPECT(NULL, "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6");
	/* "." components */
	EXPECT(NULL, "/a/./b", "/a/b");
	EXPECT(NULL, "/./a/.", "/a");
	EXPECT(NULL, "/.", "/");
	EXPECT(NULL, "/././.", "/");
	/* ".." components */
	EXPECT(NULL, "/a/../b", "/b");
	EXPECT(NULL, "/a/b/c/../../d", "/a/d");
	EXPECT(NULL, "/a/..", "/");
	EXPECT(NULL, "/a/b/..", "/a");
	EXPECT(NULL, "/usr/lib/gcc/x86_64-linux-gnu/12/../../../../include/stdio.h", "/usr/include/stdio.h");
	/* ".." never goes above "/" */
	EXPECT(NULL, "/..", "/");
	EXPECT(NULL, "/../..", "/");
	EXPECT(NULL, "/../../a/../../b", "/b");
	/* repeated slashes fold */
	EXPECT(NULL, "//", "/");
	EXPECT(NULL, "//a", "/a");
	EXPECT(NULL, "/a//b///c", "/a/b/c");
	EXPECT(NULL, "///a/.//./b", "/a/b");
	/* trailing slash dropped, except for "/" */
	EXPECT(NULL, "/a/b/", "/a/b");
	EXPECT(NULL, "/a/b//", "/a/b");
	EXPECT(NULL, "/a/b/.", "/a/b");
	EXPECT(NULL, "/a/b/./", "/a/b");
	/* names that only look like dots */
	EXPECT(NULL, "/a/.../b", "/a/.../b");
	EXPECT(NULL, "/a/..b/.c/c./c..", "/a/..b/.c/c./c..");
	EXPECT(NULL, "/.hidden/..x", "/.hidden/..x");
	/* other bytes pass through */
	EXPECT(NULL, "/with space/caf\303\251", "/with space/caf\303\251");
}

static void test_base(void)
{
	EXPECT("/home/u", "x", "/home/u/x");
	EXPECT("/home/u", "x/y", "/home/u/x/y");
	EXPECT("/home/u", "./x", "/home/u/x");
	EXPECT("/home/u", ".", "/home/u");
	EXPECT("/home/u", "..", "/home");
	EXPECT("/home/u", "../v/w", "/home/v/w");
	EXPECT("/home/u", "../../../../..", "/");
	EXPECT("/home/u", "x/", "/home/u/x");
	EXPECT("/home/u/", "x", "/home/u/x");
	EXPECT("/home//u/./", "x", "/home/u/x");
	EXPECT("/home/u/../v", "x", "/home/v/x");
	EXPECT("/", "x", "/x");
	EXPECT("/", "..", "/");
	EXPECT("/", ".", "/");
	/* an absolute path ignores the base, even a NULL or relative one */
	EXPECT("/home/u", "/etc/passwd", "/etc/passwd");
	EXPECT(NULL, "/etc/passwd", "/etc/passwd");
	EXPECT("relative", "/etc/passwd", "/etc/passwd");
}

static void test_errors(void)
{
	EXPECT_ERR(NULL, "relative", PATH_MAX, EINVAL);
	EXPECT_ERR(NULL, "./x", PATH_MAX, EINVAL);
	EXPECT_ERR(NULL, "..", PATH_MAX, EINVAL);
	EXPECT_ERR("/home/u", "", PATH_MAX, EINVAL);
	EXPECT_ERR(NULL, "", PATH_MAX, EINVAL);
	EXPECT_ERR("relative/base", "x", PATH_MAX, EINVAL);
	EXPECT_ERR("", "x", PATH_MAX, EINVAL);
}

static void test_overflow(void)
{
	char out[64];
	char *longpath;
	int n;

	/* "/abc" needs 5 bytes with its NUL */
	EXPECT_ERR(NULL, "/abc", 4, ENAMETOOLONG);
	EXPECT_ERR(NULL, "/abc", 1, ENAMETOOLONG);
	EXPECT_ERR("/home/u", "abc", 10, ENAMETOOLONG); /* "/home/u/abc" is 11 + 1 */
	memset(out, 'X', sizeof out);
	n = path_resolve(out, 5, NULL, "/abc");
	CHECK(n == 4 && strcmp(out, "/abc") == 0, "exact fit: got %d \"%.5s\"", n, out);
	CHECK(out[5] == 'X', "wrote past outsz");

	memset(out, 'X', sizeof out);
	n = path_resolve(out, 12, "/home/u", "abc");
	CHECK(n == 11 && strcmp(out, "/home/u/abc") == 0, "exact fit with base: got %d", n);
	CHECK(out[12] == 'X', "wrote past outsz with base");

	/* the limit applies to the result, not the input */
	memset(out, 'X', sizeof out);
	n = path_resolve(out, 3, NULL, "/a/b/../../c");
	CHECK(n == 2 && strcmp(out, "/c") == 0,
	      "\"/a/b/../../c\" normalises to \"/c\", which fits in 3 bytes: got %d", n);
	CHECK(out[3] == 'X', "wrote past outsz (short result)");

	memset(out, 'X', sizeof out);
	n = path_resolve(out, 10, NULL, "/abcdefghijklmnop");
	CHECK(n == -ENAMETOOLONG, "got %d", n);
	CHECK(out[10] == 'X', "wrote past outsz on overflow");

	longpath = malloc(2 * PATH_MAX);
	CHECK(longpath != NULL, "malloc");
	if (longpath != NULL) {
		char *big = malloc(PATH_MAX);

		for (int i = 0; i < 2 * PATH_MAX - 1; i += 2) {
			longpath[i] = '/';
			longpath[i + 1] = 'a';
		}
		longpath[2 * PATH_MAX - 1] = '\0';
		if (big != NULL) {
			n = path_resolve(big, PATH_MAX, NULL, longpath);
			CHECK(n == -ENAMETOOLONG, "a %d-byte result into PATH_MAX: got %d", 2 * PATH_MAX - 1, n);
		}
		free(big);
		free(longpath);
	}
}

static void test_proc(void)
{
	char want[PATH_MAX], got[PATH_MAX], tmpl[] = "/tmp/fp-test-path-XXXXXX";
	int fd, n, p[2];

	fd = mkstemp(tmpl);
	CHECK(fd >= 0, "mkstemp");
	if (fd >= 0) {
		CHECK(realpath(tmpl, want) != NULL, "realpath");
		n = path_of_fd(getpid(), fd, got, sizeof got);
		CHECK(n > 0 && strcmp(got, want) == 0 && (size_t)n == strlen(want),
		      "path_of_fd = %d \"%s\", want \"%s\"", n, n > 0 ? got : "", want);
		n = path_of_fd(getpid(), fd, got, 4);
		CHECK(n < 0, "path_of_fd into a 4-byte buffer should fail, got %d", n);
		close(fd);
		unlink(tmpl);
	}
	CHECK(pipe(p) == 0, "pipe");
	n = path_of_fd(getpid(), p[0], got, sizeof got);
	CHECK(n == -ENOENT, "path_of_fd of a pipe should be -ENOENT, got %d", n);
	close(p[0]);
	close(p[1]);
	n = path_of_fd(getpid(), 1000000, got, sizeof got);
	CHECK(n < 0, "path_of_fd of a closed fd should fail, got %d", n);

	CHECK(getcwd(want, sizeof want) != NULL, "getcwd");
	n = path_of_cwd(getpid(), got, sizeof got);
	CHECK(n > 0 && strcmp(got, want) == 0, "path_of_cwd = %d \"%s\", want \"%s\"", n, n > 0 ? got : "", want);
}

/* path_proc_link(path, 100, 101) must give `want`, with *rest == `rest` when not PROC_LINK_NONE (case `index`). */
static void expect_link(const char *path, enum path_proc_link want, const char *rest, int index)
{
	const char *got_rest = NULL;
	enum path_proc_link got = path_proc_link(path, 100, 101, &got_rest);
	if (got != want || (want != PROC_LINK_NONE && (!got_rest || strcmp(got_rest, rest) != 0))) {
		failures++;
		fprintf(stderr, "case %d: path_proc_link(\"%s\", 100, 101) = %d rest \"%s\", want %d \"%s\"\n", index, path,
			(int)got, got_rest ? got_rest : "(unset)", (int)want, rest ? rest : "");
	}
}

static void test_proc_link(void)
{
	static const struct {
		const char *path;
		enum path_proc_link want;
		const char *rest;
	} cases[] = {
		{ "/proc/self/cwd/x", PROC_LINK_CWD, "/x" },
		{ "/proc/self/cwd", PROC_LINK_CWD, "" },
		{ "/proc/self/root/etc/issue", PROC_LINK_ROOT, "/etc/issue" },
		{ "//proc//self///root", PROC_LINK_ROOT, "" },
		{ "/proc/thread-self/cwd/../a", PROC_LINK_CWD, "/../a" },
		{ "/proc/100/cwd/x", PROC_LINK_CWD, "/x" },
		{ "/proc/101/root/x", PROC_LINK_ROOT, "/x" },
		{ "/proc/100/task/101/cwd/x", PROC_LINK_CWD, "/x" },
		{ "/proc/self/task/100/root", PROC_LINK_ROOT, "" },
		/* Another process's links, other entries, near misses. */
		{ "/proc/1/root/etc/issue", PROC_LINK_NONE, NULL },
		{ "/proc/1000/cwd", PROC_LINK_NONE, NULL },
		{ "/proc/10/cwd", PROC_LINK_NONE, NULL },
		{ "/proc/100/task/7/cwd", PROC_LINK_NONE, NULL },
		{ "/proc/thread-self/task/101/cwd", PROC_LINK_NONE, NULL },
		{ "/proc/self/cwdx/y", PROC_LINK_NONE, NULL },
		{ "/proc/self/exe", PROC_LINK_NONE, NULL },
		{ "/proc/self/fd/3", PROC_LINK_NONE, NULL },
		{ "/proc/selfx/cwd", PROC_LINK_NONE, NULL },
		{ "/procx/self/cwd", PROC_LINK_NONE, NULL },
		{ "proc/self/cwd", PROC_LINK_NONE, NULL },
		{ "/etc/issue", PROC_LINK_NONE, NULL },
		{ "/proc", PROC_LINK_NONE, NULL },
		{ "/./proc/./self/./cwd/x", PROC_LINK_CWD, "/x" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_link(cases[i].path, cases[i].want, cases[i].rest, (int)i);

	CHECK(path_under_proc("/proc") && path_under_proc("/proc/self") && path_under_proc("//proc//1") &&
	      path_under_proc("/./proc/x"), "path_under_proc: a path under /proc not seen");
	CHECK(!path_under_proc("/procx") && !path_under_proc("/etc/proc") && !path_under_proc("proc/self") &&
	      !path_under_proc("/") && !path_under_proc(""), "path_under_proc: a path not under /proc taken");
}

int main(void)
{
	test_proc_link();
	test_normalise();
	test_base();
	test_errors();
	test_overflow();
	test_proc();
	if (failures)
		fprintf(stderr, "test_path: %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
