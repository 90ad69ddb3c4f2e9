/*
 * crypto.c: OpenSSL's libcrypto (SHA-256 and base64), loaded when first
 * needed. Linking it would cost every run its relocation at startup (about
 * 0.8 ms, more than the rest of fingerprint's libraries together), and a
 * run whose files are all in the hash cache never uses it.
 */
#ifndef FP_CRYPTO_H
#define FP_CRYPTO_H

#include <openssl/evp.h>

struct crypto {
	__typeof__(EVP_MD_CTX_new) *md_ctx_new;
	__typeof__(EVP_MD_CTX_free) *md_ctx_free;
	__typeof__(EVP_sha256) *sha256;
	__typeof__(EVP_DigestInit_ex) *digest_init_ex;
	__typeof__(EVP_DigestUpdate) *digest_update;
	__typeof__(EVP_DigestFinal_ex) *digest_final_ex;
	__typeof__(EVP_EncodeBlock) *encode_block;
	__typeof__(EVP_DecodeBlock) *decode_block;
};

/*
 * libcrypto's functions, loaded by the first call (from any thread), or NULL
 * when it cannot be loaded: crypto_error() then says why, in one line.
 */
const struct crypto *crypto(void);
const char *crypto_error(void);

#endif
