#include "config.h"
#include "crypto.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static struct crypto fns;
static const struct crypto *loaded;
static char error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *h = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(error, sizeof(error), "cannot load %s: %s", CRYPTO_SONAME, dlerror());
		return;
	}
	struct {
		void **slot;
		const char *name;
	} want[] = {
		{ (void **)&fns.md_ctx_new, "EVP_MD_CTX_new" },
		{ (void **)&fns.md_ctx_free, "EVP_MD_CTX_free" },
		{ (void **)&fns.sha256, "EVP_sha256" },
		{ (void **)&fns.digest_init_ex, "EVP_DigestInit_ex" },
		{ (void **)&fns.digest_update, "EVP_DigestUpdate" },
		{ (void **)&fns.digest_final_ex, "EVP_DigestFinal_ex" },
		{ (void **)&fns.encode_block, "EVP_EncodeBlock" },
		{ (void **)&fns.decode_block, "EVP_DecodeBlock" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!(*want[i].slot = dlsym(h, want[i].name))) {
			snprintf(error, sizeof(error), "%s has no %s", CRYPTO_SONAME, want[i].name);
			return; /* the handle stays open: the process ends soon, and nothing else uses it */
		}
	}
	loaded = &fns;
}

const struct crypto *crypto(void)
{
	pthread_once(&once, load);
	return loaded;
}

const char *crypto_error(void)
{
	return error;
}
