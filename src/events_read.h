/* events_read.c: `fingerprint events`, an event log (--events) printed strace-style. */
#ifndef FP_EVENTS_READ_H
#define FP_EVENTS_READ_H

/*
 * The subcommand (argv[0] is "events"). Returns the exit status: 0; dies
 * with EXIT_USAGE naming the file and line when the log cannot be read or
 * is not an event log, or when writing fails.
 */
int events_read_main(int argc, char **argv);

#endif
