/* Unit tests of maps.c: /proc/PID/maps line parsing and the executable scan. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "maps.h"

#include "check.h"


struct want {
	const char *line;
	uint64_t start, end, offset, inode;
	const char *perms; /* "rwx" subset, e.g. "r-x" */
	const char *path;  /* NULL: no path */
};

static const struct want good[] = {
	{ "55d0c0a00000-55d0c0a02000 r-xp 00002000 08:01 1234567                    /usr/bin/cat\n",
	  0x55d0c0a00000, 0x55d0c0a02000, 0x2000, 1234567, "r-x", "/usr/bin/cat" },
	{ "7f3a1c028000-7f3a1c1bd000 r-xp 00028000 fd:01 3416521                    /usr/lib/x86_64-linux-gnu/libc.so.6",
	  0x7f3a1c028000, 0x7f3a1c1bd000, 0x28000, 3416521, "r-x", "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	{ "7f3a1c1bd000-7f3a1c215000 r--p 001bd000 fd:01 3416521                    /usr/lib/x86_64-linux-gnu/libc.so.6\n",
	  0x7f3a1c1bd000, 0x7f3a1c215000, 0x1bd000, 3416521, "r--", "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	{ "7f3a1c219000-7f3a1c21b000 rw-p 00218000 fd:01 3416521                    /usr/lib/x86_64-linux-gnu/libc.so.6\n",
	  0x7f3a1c219000, 0x7f3a1c21b000, 0x218000, 3416521, "rw-", "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	/* anonymous, with and without trailing blanks */
	{ "7f3a1c21b000-7f3a1c228000 rw-p 00000000 00:00 0 \n",
	  0x7f3a1c21b000, 0x7f3a1c228000, 0, 0, "rw-", NULL },
	{ "7f3a1c21b000-7f3a1c228000 rw-p 00000000 00:00 0\n",
	  0x7f3a1c21b000, 0x7f3a1c228000, 0, 0, "rw-", NULL },
	{ "7f3a1c21b000-7f3a1c228000 rw-p 00000000 00:00 0",
	  0x7f3a1c21b000, 0x7f3a1c228000, 0, 0, "rw-", NULL },
	{ "55d0c1e5b000-55d0c1e7c000 rw-p 00000000 00:00 0                          [heap]\n",
	  0x55d0c1e5b000, 0x55d0c1e7c000, 0, 0, "rw-", NULL },
	{ "7ffd4b9e4000-7ffd4ba05000 rw-p 00000000 00:00 0                          [stack]\n",
	  0x7ffd4b9e4000, 0x7ffd4ba05000, 0, 0, "rw-", NULL },
	{ "7ffd4bbf3000-7ffd4bbf5000 r-xp 00000000 00:00 0                          [vdso]\n",
	  0x7ffd4bbf3000, 0x7ffd4bbf5000, 0, 0, "r-x", NULL },
	{ "7ffd4bbef000-7ffd4bbf3000 r--p 00000000 00:00 0                          [vvar]\n",
	  0x7ffd4bbef000, 0x7ffd4bbf3000, 0, 0, "r--", NULL },
	{ "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n",
	  0xffffffffff600000ULL, 0xffffffffff601000ULL, 0, 0, "--x", NULL },
	{ "7f0000000000-7f0000001000 rw-p 00000000 00:00 0                          [anon:glibc malloc]\n",
	  0x7f0000000000, 0x7f0000001000, 0, 0, "rw-", NULL },
	/* a path with spaces */
	{ "7f11a0000000-7f11a0010000 r-xp 00000000 08:02 42                         /opt/my app/lib foo.so\n",
	  0x7f11a0000000, 0x7f11a0010000, 0, 42, "r-x", "/opt/my app/lib foo.so" },
	/* deleted files: the suffix goes */
	{ "7f11a0000000-7f11a0010000 r-xp 00001000 08:02 43                         /tmp/plugin.so (deleted)\n",
	  0x7f11a0000000, 0x7f11a0010000, 0x1000, 43, "r-x", "/tmp/plugin.so" },
	{ "7f11a0000000-7f11a0010000 r-xp 00000000 08:02 44                         /tmp/my lib.so (deleted)",
	  0x7f11a0000000, 0x7f11a0010000, 0, 44, "r-x", "/tmp/my lib.so" },
	/* shared, writable, executable; big offset and inode; shared memory */
	{ "7f11a0000000-7f11a0010000 rwxs 7fffffff000 103:05 18446744073709551 /dev/shm/x\n",
	  0x7f11a0000000, 0x7f11a0010000, 0x7fffffff000ULL, 18446744073709551ULL, "rwx", "/dev/shm/x" },
	/* an unusual but legal name: parenthesis without " (deleted)" */
	{ "00400000-00401000 r-xp 00000000 08:01 7 /usr/bin/weird (name)\n",
	  0x400000, 0x401000, 0, 7, "r-x", "/usr/bin/weird (name)" },
	/* nothing readable */
	{ "7f11a0000000-7f11a0010000 ---p 00000000 00:00 0 \n",
	  0x7f11a0000000, 0x7f11a0010000, 0, 0, "---", NULL },
};

static const char *const bad[] = {
	"",
	"\n",
	"hello world",
	"55d0c0a00000",
	"55d0c0a00000-",
	"55d0c0a00000 55d0c0a02000 r-xp 00000000 08:01 1 /usr/bin/cat",
	"zzzz-55d0c0a02000 r-xp 00000000 08:01 1 /usr/bin/cat",
	"55d0c0a00000-zzzz r-xp 00000000 08:01 1 /usr/bin/cat",
	"55d0c0a00000-55d0c0a02000",
	"55d0c0a00000-55d0c0a02000 r-xp",
	"55d0c0a00000-55d0c0a02000 r-xp 00000000",
	"55d0c0a00000-55d0c0a02000 r-xp 00000000 08:01",
	"55d0c0a00000-55d0c0a02000 r-xp zzzz 08:01 1 /usr/bin/cat",
	"55d0c0a00000-55d0c0a02000 r-xp 00000000 0801 1 /usr/bin/cat",
	"55d0c0a00000-55d0c0a02000 r-xp 00000000 08: 1 /usr/bin/cat",
	"55d0c0a00000-55d0c0a02000 r-xp 00000000 :01 1 /usr/bin/cat",
};

static void test_good(void)
{
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		const struct want *w = &good[i];
		struct maps_entry e;
		char *line = strdup(w->line);
		int r;

		if (line == NULL)
			abort();
		memset(&e, 0x5a, sizeof e);
		r = maps_parse_line(line, &e);
		CHECK(r == 0, "line %zu \"%s\": returned %d", i, w->line, r);
		if (r != 0) {
			free(line);
			continue;
		}
		CHECK(e.start == w->start && e.end == w->end, "line %zu: range %#llx-%#llx",
		      i, (unsigned long long)e.start, (unsigned long long)e.end);
		CHECK(e.offset == w->offset, "line %zu: offset %#llx, want %#llx",
		      i, (unsigned long long)e.offset, (unsigned long long)w->offset);
		CHECK(e.inode == w->inode, "line %zu: inode %llu, want %llu",
		      i, (unsigned long long)e.inode, (unsigned long long)w->inode);
		CHECK(e.readable == (w->perms[0] == 'r') && e.writable == (w->perms[1] == 'w') &&
		      e.executable == (w->perms[2] == 'x'),
		      "line %zu: perms r=%d w=%d x=%d, want %s", i, e.readable, e.writable, e.executable, w->perms);
		if (w->path == NULL) {
			CHECK(e.path == NULL, "line %zu: path should be NULL, got \"%s\"", i, e.path);
		} else {
			CHECK(e.path != NULL && strcmp(e.path, w->path) == 0,
			      "line %zu: path \"%s\", want \"%s\"", i, e.path ? e.path : "(null)", w->path);
			CHECK(e.path == NULL || (e.path >= line && e.path < line + strlen(w->line)),
			      "line %zu: path should point into the line", i);
		}
		CHECK(strchr(line, '\n') == NULL, "line %zu: trailing newline not removed", i);
		free(line);
	}
}

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct maps_entry e;
		char *line = strdup(bad[i]);
		int r;

		if (line == NULL)
			abort();
		r = maps_parse_line(line, &e);
		CHECK(r == -EINVAL, "malformed line \"%s\": returned %d, want -EINVAL", bad[i], r);
		free(line);
	}
}

struct seen {
	char self[PATH_MAX];
	int self_count, libc_count, total, nonabs;
	char paths[256][PATH_MAX / 16];
	int npaths, dups;
};

static void on_exec_file(const char *path, void *ctx)
{
	struct seen *s = ctx;

	s->total++;
	if (path[0] != '/')
		s->nonabs++;
	if (strcmp(path, s->self) == 0)
		s->self_count++;
	if (strstr(path, "/libc.so") != NULL || strstr(path, "/libc-") != NULL)
		s->libc_count++;
	for (int i = 0; i < s->npaths; i++)
		if (strncmp(s->paths[i], path, sizeof s->paths[i] - 1) == 0)
			s->dups++;
	if (s->npaths < 256) {
		snprintf(s->paths[s->npaths], sizeof s->paths[0], "%s", path);
		s->npaths++;
	}
}

static void test_scan(void)
{
	static struct seen s;
	ssize_t n;
	int r, status;
	pid_t pid;

	n = readlink("/proc/self/exe", s.self, sizeof s.self - 1);
	CHECK(n > 0, "readlink /proc/self/exe");
	if (n <= 0)
		return;
	s.self[n] = '\0';
	r = maps_scan_exec(getpid(), on_exec_file, &s);
	CHECK(r >= 2, "maps_scan_exec(self) = %d, want at least the program and libc", r);
	CHECK(r == s.total, "returned %d but called back %d times", r, s.total);
	CHECK(s.self_count == 1, "the program itself (%s) reported %d times, want once", s.self, s.self_count);
	CHECK(s.libc_count == 1, "libc reported %d times, want once", s.libc_count);
	CHECK(s.dups == 0, "%d files reported more than once", s.dups);
	CHECK(s.nonabs == 0, "%d reported paths are not absolute ([vdso] and such must be skipped)", s.nonabs);

	/* a process that is gone */
	pid = fork();
	if (pid == 0)
		_exit(0);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/waitpid");
	memset(&s, 0, sizeof s);
	r = maps_scan_exec(pid, on_exec_file, &s);
	CHECK(r < 0, "maps_scan_exec of a reaped process = %d, want -errno", r);
	CHECK(s.total == 0, "callbacks for a reaped process");
}

/*
 * The device of a maps line, in the encoding of st_dev: as written, and for
 * this program's own file, the same device and inode as a stat of it (but
 * on overlayfs, where maps shows the file beneath).
 */
static void test_dev(void)
{
	static const struct {
		const char *line;
		unsigned major, minor;
	} devs[] = {
		{ "7f3a1c028000-7f3a1c1bd000 r-xp 00028000 fd:01 3416521 /usr/lib/libc.so.6", 0xfd, 1 },
		{ "7f11a0000000-7f11a0010000 rwxs 00000000 103:05 42 /dev/shm/x", 0x103, 5 },
		{ "7f3a1c21b000-7f3a1c228000 rw-p 00000000 00:00 0", 0, 0 },
	};
	for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
		char line[256];
		struct maps_entry e;
		snprintf(line, sizeof(line), "%s", devs[i].line);
		CHECK(maps_parse_line(line, &e) == 0 && e.dev == makedev(devs[i].major, devs[i].minor),
		      "line %zu: device %u:%u, want %u:%u", i, major(e.dev), minor(e.dev), devs[i].major, devs[i].minor);
	}

	char exe[PATH_MAX], line[PATH_MAX + 128];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;
	FILE *f = fopen("/proc/self/maps", "r");
	if (n > 0)
		exe[n] = '\0';
	/* The file by its name: under valgrind /proc/self/exe is memcheck, its readlink this program. */
	CHECK(n > 0 && f && stat(exe, &st) == 0, "cannot read this program's maps or stat it");
	if (n <= 0 || !f) {
		if (f)
			fclose(f);
		return;
	}
	bool seen = false;
	while (!seen && fgets(line, sizeof(line), f)) {
		struct maps_entry e;
		struct statfs fs;
		if (maps_parse_line(line, &e) == 0 && e.path && strcmp(e.path, exe) == 0) {
			seen = true;
			if (e.dev != st.st_dev && statfs(exe, &fs) == 0 && fs.f_type == OVERLAYFS_SUPER_MAGIC) {
				printf("%s is on overlayfs: maps shows the file beneath it, not compared\n", exe);
				break;
			}
			CHECK(e.dev == st.st_dev && e.inode == st.st_ino, "%s: maps shows %u:%u inode %llu, stat %u:%u inode %llu",
			      exe, major(e.dev), minor(e.dev), (unsigned long long)e.inode, major(st.st_dev), minor(st.st_dev),
			      (unsigned long long)st.st_ino);
		}
	}
	fclose(f);
	CHECK(seen, "%s is not in /proc/self/maps", exe);
}

int main(void)
{
	test_good();
	test_dev();
	test_bad();
	test_scan();
	if (failures)
		fprintf(stderr, "test_maps: %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
