/*
 * show.c: `fingerprint show MANIFEST`: a human summary of one manifest (the
 * process tree, each binary with the libraries it loaded and the files it
 * opened, counts per section), or with --dot a Graphviz graph of binaries,
 * libraries and files. Sorted, so the same manifest always shows the same.
 */
#ifndef FP_SHOW_H
#define FP_SHOW_H

/* Run `fingerprint show` (argv[0] is "show"). Returns 0, or 2 on error. */
int show_main(int argc, char **argv);

#endif
