#include "config.h"
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* The identity a cached digest is valid for. */
struct hash_key {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

static struct map cache; /* struct hash_key (owned) -> hex digest (owned) */

static void key_of(const struct stat *st, struct hash_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = st->st_size;
	k->mtime = st->st_mtim;
}

static bool same_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int digest_fd(int fd, char hex[HASH_HEX_LEN + 1])
{
	static unsigned char block[1 << 16];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ret = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		die(EXIT_INTERNAL, "libcrypto cannot start a SHA-256 digest");
	for (;;) {
		ssize_t n = read(fd, block, sizeof(block));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, block, (size_t)n))
			die(EXIT_INTERNAL, "libcrypto failed in a SHA-256 digest");
	}
	if (ret == 0) {
		if (!EVP_DigestFinal_ex(ctx, md, &mdlen))
			die(EXIT_INTERNAL, "libcrypto failed in a SHA-256 digest");
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
	}
	EVP_MD_CTX_free(ctx);
	return ret;
}

int hash_file(const char *path, char hex[HASH_HEX_LEN + 1], struct stat *st_out)
{
	struct stat before, after;
	struct hash_key key;

	if (stat(path, &before) < 0)
		return -errno;
	if (!S_ISREG(before.st_mode))
		return -EINVAL;
	key_of(&before, &key);
	const char *cached = map_get(&cache, &key, sizeof(key));
	if (cached) {
		memcpy(hex, cached, HASH_HEX_LEN + 1);
		if (st_out)
			*st_out = before;
		return 0;
	}

	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &before) < 0)
		return -errno;
	if (!S_ISREG(before.st_mode))
		return -EINVAL; /* replaced by something else since the stat */
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	int r = digest_fd(fd, hex);
	if (r < 0)
		return r;
	if (fstat(fd, &after) < 0)
		return -errno;
	if (!same_version(&before, &after))
		return -EAGAIN;

	struct hash_key *k = xmalloc(sizeof(*k));
	key_of(&after, k);
	const char **kslot = NULL;
	void **slot = map_slot(&cache, k, sizeof(*k), &kslot);
	if (*slot == NULL)
		*slot = xstrdup(hex);
	else
		free(k);
	if (st_out)
		*st_out = after;
	return 0;
}

void hash_cache_clear(void)
{
	MAP_FOREACH(&cache, i) {
		free((void *)cache.keys[i]);
		free(cache.vals[i]);
	}
	map_free(&cache);
}
