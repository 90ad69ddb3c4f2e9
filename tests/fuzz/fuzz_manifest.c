/*
 * The manifest reader under a fuzzer: every input must give either a
 * manifest or an error line, never a crash, a leak or a hang.
 * `make fuzz` builds this with clang's libFuzzer (-fsanitize=fuzzer,address,
 * undefined) and runs it on the manifests of samples/manifests; with
 * FP_FUZZ_REPLAY it is a plain program that reads each file named on its
 * command line once (the test suite runs it on the seed corpus).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "manifest.h"
#include "manifest_json.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m;
	struct mf_origin og;
	char err[1024];

	if (manifest_json_parse((const char *)data, size, &m, &og, err, sizeof(err)) == 0) {
		manifest_free(m);
		mf_origin_free(&og);
	}
	return 0;
}

#ifdef FP_FUZZ_REPLAY
/* fuzz_replay FILE...: each file through the reader; prints "ok" or the error line per file. */
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct buf b = { 0 };
		struct manifest *m;
		struct mf_origin og;
		char err[1024];
		if (buf_read_file(&b, argv[i]) < 0) {
			fprintf(stderr, "fuzz_replay: cannot read %s\n", argv[i]);
			return 99;
		}
		if (manifest_json_parse(b.data, b.len, &m, &og, err, sizeof(err)) == 0) {
			printf("%s: ok\n", argv[i]);
			manifest_free(m);
			mf_origin_free(&og);
		} else {
			printf("%s: %s\n", argv[i], err);
		}
		buf_free(&b);
	}
	return 0;
}
#endif
