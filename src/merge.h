/*
 * merge.c: `fingerprint merge A.json B.json... -o ALL.json`: the union of
 * manifests (one per host or rank of a job), each entry with the hosts and
 * ranks it was seen on and, where they recorded different sha256s, the
 * variants side by side, reported on stderr as conflicts.
 */
#ifndef FP_MERGE_H
#define FP_MERGE_H

/*
 * Run `fingerprint merge` (argv[0] is "merge"). Returns 0 (conflicts are
 * reported but are not a failure), 1 with --strict when there are
 * conflicts; dies with 2 when an input cannot be read, the output cannot
 * be created or on usage errors, 125 when writing it fails.
 */
int merge_main(int argc, char **argv);

#endif
