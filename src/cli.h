/* cli.c: the command line: options, --help, --version. */
#ifndef FP_CLI_H
#define FP_CLI_H

#include <stdbool.h>

struct cli_opts {
	const char *output;   /* "-" for standard output */
	bool seccomp;
	bool keep_secrets;
	int hash_mode;        /* enum hash_mode */
	char **command;       /* NULL-terminated, never empty */
};

/*
 * Parse argv into `o`. Prints --help/--version and exits 0; dies with
 * EXIT_USAGE and a one-line message on bad usage.
 */
void cli_parse(int argc, char **argv, struct cli_opts *o);

#endif
