/*
 * Unit tests of hashcache.c: a digest is found only by its exact key
 * (device, inode, size, mtime, ctime), and only when wanted before the
 * first lookup; a corrupt record is counted when wanted, and not otherwise;
 * a file saved holds at most 100,000 records, the oldest dropped first;
 * one record per device and inode; two caches open at once both get saved
 * (the second merges the first's).
 */
#include "config.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "hashcache.h"

#define CAP 100000

static char dir[] = "/tmp/fp-test-hashcache.XXXXXX";
static char file[256];

static struct stat fake(unsigned long ino)
{
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_dev = 0xfe01;
	st.st_ino = ino;
	st.st_size = 4096;
	st.st_mtim.tv_sec = 1700000000;
	st.st_mtim.tv_nsec = 5;
	st.st_ctim.tv_sec = 1700000001;
	st.st_ctim.tv_nsec = 7;
	return st;
}

static const char *hex_of(unsigned long n)
{
	static char hex[65];
	snprintf(hex, sizeof(hex), "%064lx", n);
	return hex;
}

static bool has(struct hashcache *c, const struct stat *st, unsigned long n)
{
	const char *got = hashcache_get(c, st);
	return got && strcmp(got, hex_of(n)) == 0;
}

static bool has_ino(struct hashcache *c, unsigned long ino)
{
	struct stat st = fake(ino);
	return has(c, &st, ino);
}

/* Ask `c` for the records of these inodes (0 ends the list). */
static void want(struct hashcache *c, ...)
{
	va_list ap;
	va_start(ap, c);
	for (unsigned long ino; (ino = va_arg(ap, unsigned long)) != 0;) {
		struct stat st = fake(ino);
		hashcache_want(c, &st);
	}
	va_end(ap);
}

static long lines(void)
{
	FILE *f = fopen(file, "r");
	long n = 0;
	int ch;
	if (!f)
		return -1;
	while ((ch = getc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 99;
	}
	setenv("XDG_CACHE_HOME", dir, 1);
	snprintf(file, sizeof(file), "%s/fingerprint/sha256-v1", dir);

	struct hashcache *c = hashcache_open();
	struct stat st;
	CHECK(c != NULL, "no cache under %s", dir);
	if (!c)
		return 1;
	for (unsigned long ino = 1; ino <= CAP + 10; ino++) {
		struct stat st = fake(ino);
		hashcache_put(c, &st, hex_of(ino));
	}
	hashcache_close(c);
	CHECK(lines() == CAP + 1, "%ld lines, want the header and %d records", lines(), CAP);

	c = hashcache_open();
	want(c, 1UL, 10UL, 11UL, 5000UL, (unsigned long)CAP + 10, 500UL, 0UL);
	st = fake(500);
	st.st_dev++;
	hashcache_want(c, &st);
	CHECK(!has_ino(c, 1) && !has_ino(c, 10), "the oldest records are dropped first");
	CHECK(hashcache_bad_records(c) == 0, "%zu bad records in a file just saved", hashcache_bad_records(c));
	CHECK(has_ino(c, 11) && has_ino(c, 5000) && has_ino(c, CAP + 10), "the newest records are kept");

	CHECK(!has_ino(c, 12), "found a record not wanted before the first lookup");
	/* The key must match in everything. */
	st = fake(500);
	st.st_size++;
	CHECK(!hashcache_get(c, &st), "found with another size");
	st = fake(500);
	st.st_mtim.tv_nsec++;
	CHECK(!hashcache_get(c, &st), "found with another mtime (ns)");
	st = fake(500);
	st.st_ctim.tv_nsec++;
	CHECK(!hashcache_get(c, &st), "found with another ctime (ns)");
	st = fake(500);
	st.st_ctim.tv_sec--;
	CHECK(!hashcache_get(c, &st), "found with another ctime (s)");
	st = fake(500);
	st.st_dev++;
	CHECK(!hashcache_get(c, &st), "found on another device");
	hashcache_close(c);

	/* Two runs at once: both add a record, both are saved. */
	struct hashcache *c1 = hashcache_open(), *c2 = hashcache_open();
	st = fake(CAP + 101);
	hashcache_put(c1, &st, hex_of(CAP + 101));
	st = fake(CAP + 102);
	hashcache_put(c2, &st, hex_of(CAP + 102));
	hashcache_close(c1);
	hashcache_close(c2);
	c = hashcache_open();
	want(c, (unsigned long)CAP + 101, (unsigned long)CAP + 102, 11UL, 12UL, 13UL, 0UL);
	CHECK(has_ino(c, CAP + 101) && has_ino(c, CAP + 102), "a record of one of two concurrent runs is lost");
	CHECK(!has_ino(c, 11) && !has_ino(c, 12) && has_ino(c, 13), "the cap holds after a merge");

	/* A file changed in place: its new record replaces the old one. */
	st = fake(13);
	st.st_ctim.tv_sec += 100;
	hashcache_put(c, &st, hex_of(99));
	hashcache_close(c);
	CHECK(lines() == CAP + 1, "%ld lines after replacing a record", lines());
	c = hashcache_open();
	want(c, 13UL, 0UL);
	CHECK(has(c, &st, 99), "the new record of a changed file");
	CHECK(!has_ino(c, 13), "the old record of a changed file is still found");
	hashcache_close(c);

	/* A corrupt record (its check broken) counts only when wanted. */
	FILE *f = fopen(file, "a");
	CHECK(f && fprintf(f, "65025 7 4096 1700000000.000000005 1700000001.000000007 %s 0000000000000000\n",
			    hex_of(7)) > 0 && fclose(f) == 0, "cannot append to %s", file);
	c = hashcache_open();
	want(c, 13UL, 0UL);
	CHECK(has(c, &st, 99) && hashcache_bad_records(c) == 0, "a corrupt record not wanted was counted");
	hashcache_close(c);
	c = hashcache_open();
	want(c, 7UL, 0UL);
	CHECK(!has_ino(c, 7) && hashcache_bad_records(c) == 1, "a corrupt record wanted: %zu bad",
	      hashcache_bad_records(c));
	hashcache_close(c);

	unlink(file);
	snprintf(file, sizeof(file), "%s/fingerprint", dir);
	CHECK(rmdir(file) == 0, "%s holds more than the cache file", file);
	rmdir(dir);
	return failures ? 1 : 0;
}
