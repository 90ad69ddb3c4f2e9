#include "config.h"
#include "crypto.h"

#include <dlfcn.h>
#include <pthread.h>

#include "util.h"

static struct crypto fns;
static const struct crypto *loaded;
static char error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	const struct dl_want want[] = {
		{ (void **)&fns.md_ctx_new, "EVP_MD_CTX_new" },
		{ (void **)&fns.md_ctx_free, "EVP_MD_CTX_free" },
		{ (void **)&fns.sha256, "EVP_sha256" },
		{ (void **)&fns.digest_init_ex, "EVP_DigestInit_ex" },
		{ (void **)&fns.digest_update, "EVP_DigestUpdate" },
		{ (void **)&fns.digest_final_ex, "EVP_DigestFinal_ex" },
		{ (void **)&fns.encode_block, "EVP_EncodeBlock" },
		{ (void **)&fns.decode_block, "EVP_DecodeBlock" },
	};
	if (dl_load(CRYPTO_SONAME, RTLD_LOCAL, want, sizeof(want) / sizeof(want[0]), error, sizeof(error)))
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
