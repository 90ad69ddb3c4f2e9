#include "config.h"
#include "cachedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_MAX_AGE_S 3600 /* a temporary file this old was left by a killed run */

/* The user's own, and nobody else may write it. */
static bool own_private(const struct stat *st)
{
	return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

int cachedir_open(const char *what)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char base[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	int n;

	/* The XDG base directory rules: a relative XDG_CACHE_HOME is ignored. */
	if (xdg && xdg[0] == '/')
		n = snprintf(base, sizeof(base), "%s", xdg);
	else if (home && home[0] == '/')
		n = snprintf(base, sizeof(base), "%s/.cache", home);
	else
		return -1;
	if (n < 0 || (size_t)n >= sizeof(base) || (size_t)snprintf(dir, sizeof(dir), "%s/fingerprint", base) >= sizeof(dir))
		return -1;
	mkdir(base, 0700);
	mkdir(dir, 0700);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		info("no %s: %s: %s", what, dir, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !own_private(&st)) {
		info("no %s: %s is not yours alone", what, dir);
		close(fd);
		return -1;
	}
	return fd;
}

int cachedir_read(int dirfd, const char *name, struct buf *b, size_t max)
{
	autoclose int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return -errno; /* ENOENT, or ELOOP for a symlink */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || !own_private(&st) || (size_t)st.st_size > max)
		return -EPERM;
	ssize_t r = buf_read_fd(b, fd);
	return r < 0 ? (int)r : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Remove the NAME.tmp.* files of runs killed before their rename. */
static void remove_stale_temps(int dirfd, const char *prefix)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;
	time_t now = time(NULL);

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime < now - TMP_MAX_AGE_S)
			unlinkat(dirfd, de->d_name, 0);
	}
	closedir(d);
}

void cachedir_replace(int dirfd, const char *name, const char *data, size_t len)
{
	char prefix[NAME_MAX], tmp[NAME_MAX + 32];
	int fd = -1;
	struct timespec t;

	snprintf(prefix, sizeof(prefix), "%s.tmp.", name);
	remove_stale_temps(dirfd, prefix);
	clock_gettime(CLOCK_REALTIME, &t);
	for (unsigned i = 0; fd < 0 && i < 16; i++) {
		snprintf(tmp, sizeof(tmp), "%s%ld.%lx", prefix, (long)getpid(), (unsigned long)t.tv_nsec + i);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
		if (fd < 0 && errno != EEXIST)
			return;
	}
	if (fd < 0)
		return;
	bool ok = write_all(fd, data, len) == 0;
	if (close(fd) < 0)
		ok = false;
	if (!ok || renameat(dirfd, tmp, dirfd, name) < 0) {
		info("cache %s not saved: %s", name, strerror(errno));
		unlinkat(dirfd, tmp, 0);
	}
}
