/* cli.c: the command line: options, --help, --version. */
#ifndef FP_CLI_H
#define FP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "trace_filter.h"

struct cli_opts {
	const char *output;   /* "-" for standard output; %h, %p, %r and %% expanded */
	long rank;            /* the MPI or batch rank from the environment; -1 when none */
	bool seccomp;
	bool keep_secrets;
	int hash_mode;        /* enum hash_mode */
	bool hash_cache;      /* the persistent hash cache (--no-hash-cache, --no-cache turn it off) */
	bool owner_cache;     /* the persistent package owners cache (--no-cache turns it off) */
	unsigned hash_jobs;   /* --hash-jobs; 0: automatic */
	bool callers;         /* caller attribution (--callers=on|off) */
	bool packages;        /* look up owning packages (--no-packages turns it off) */
	bool status;          /* the live status line may be drawn (--no-status: never) */
	bool follow_daemons;  /* wait for every process; --no-follow-daemons: only the command's (and no seccomp) */
	bool busy_wait;       /* poll for each stop a moment before sleeping (--no-busy-wait turns it off) */
	bool colocate;       /* run the command on the tracer's CPU while one thread at a time may run (--no-colocate turns it off) */
	char **command;       /* NULL-terminated, never empty; NULL with -p */
	pid_t *attach;        /* -p: the processes to attach to (owned), NULL when none */
	size_t n_attach;
	double duration_s;    /* --duration (with -p), 0 when not given */
	trace_set trace;      /* -e trace=SPEC, --trace: the calls watched; TRACE_ALL by default */
	const char *events;   /* --events FILE ("-": standard output), or NULL */
	size_t events_tail;   /* --events-tail N: keep the last N events; 0: all */
};

struct scan_opts {
	const char *output;           /* %h, %p, %r and %% expanded */
	long rank;                    /* as in cli_opts */
	const char *root;             /* NULL for "/" */
	const char *ld_library_path;  /* NULL for none */
	int hash_mode;                /* enum hash_mode */
	bool hash_cache;              /* as in cli_opts */
	bool owner_cache;             /* as in cli_opts */
	unsigned hash_jobs;           /* as in cli_opts */
	bool packages;                /* look up owning packages */
	char **paths;                 /* NULL-terminated, never empty */
};

struct diff_opts {
	const char *old_file, *new_file;
	const char **ignore;          /* --ignore globs (owned array of borrowed strings) */
	size_t n_ignore;
	bool all;                     /* --all: compare run, host and processes too */
	bool json;                    /* --format=json */
};

struct show_opts {
	const char *file;             /* the manifest; "-" for standard input */
	bool dot;                     /* --dot: a Graphviz graph instead of the summary */
	bool apt;                     /* --apt: the apt-get line for the package set */
};

/* Parse the arguments of `fingerprint show` (argv[0] is "show"); like cli_parse. */
void cli_parse_show(int argc, char **argv, struct show_opts *o);

struct merge_opts {
	const char *output;           /* "-" for standard output */
	bool strict;                  /* --strict: exit 1 when there are conflicts */
	char **inputs;                /* NULL-terminated, never empty */
};

/* Parse the arguments of `fingerprint merge` (argv[0] is "merge"); like cli_parse. */
void cli_parse_merge(int argc, char **argv, struct merge_opts *o);

struct events_opts {
	const char *file;             /* the event log; "-" (the default) for standard input */
};

/* Parse the arguments of `fingerprint events` (argv[0] is "events"); like cli_parse. */
void cli_parse_events(int argc, char **argv, struct events_opts *o);

/* Parse the arguments of `fingerprint diff` (argv[0] is "diff"); like cli_parse. */
void cli_parse_diff(int argc, char **argv, struct diff_opts *o);

struct check_opts {
	const char *file;
	const char *root;             /* --root DIR, or NULL */
	bool no_hash;                 /* --no-hash: presence only */
};

/* Parse the arguments of `fingerprint check` (argv[0] is "check"); like cli_parse. */
void cli_parse_check(int argc, char **argv, struct check_opts *o);

/* Parse the arguments of `fingerprint scan` (argv[0] is "scan"); like cli_parse. */
void cli_parse_scan(int argc, char **argv, struct scan_opts *o);

/*
 * Parse argv into `o`. Prints --help/--version and exits 0; dies with
 * EXIT_USAGE and a one-line message on bad usage.
 */
void cli_parse(int argc, char **argv, struct cli_opts *o);

#endif
