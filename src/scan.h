/* scan.c: `fingerprint scan`: ELF files -> ldso + elfinfo -> manifest, nothing executed. */
#ifndef FP_SCAN_H
#define FP_SCAN_H

/* Run `fingerprint scan` (argv[0] is "scan"). Returns the exit status. */
int scan_main(int argc, char **argv);

#endif
