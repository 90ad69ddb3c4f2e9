/*
 * check.c: `fingerprint check MANIFEST`: can this host run what the
 * manifest recorded? Every binary, library and file read is present (with
 * the recorded sha256), every needed soname resolves under the glibc
 * loader's rules, and the library found defines every symbol version asked.
 */
#ifndef FP_CHECK_H
#define FP_CHECK_H

/* Run `fingerprint check` (argv[0] is "check"). Returns 0 (runnable), 1 (problems) or 2 (error). */
int check_main(int argc, char **argv);

#endif
