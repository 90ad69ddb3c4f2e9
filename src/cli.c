#include "config.h"
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "enrich.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTION]... [--] COMMAND [ARG]...\n"
		"Run COMMAND under ptrace, follow its whole process tree and write a JSON\n"
		"manifest of the binaries, libraries, files, environment and command lines\n"
		"it used.\n"
		"\n"
		"  -o, --output=FILE   write the manifest to FILE (default: fingerprint.json);\n"
		"                      '-' writes it to standard output\n"
		"      --no-seccomp    stop on every syscall instead of filtering with\n"
		"                      seccomp-bpf (slower; same manifest)\n"
		"      --hash=WHAT     sha256 of: all (binaries, libraries and files read;\n"
		"                      the default), elf (binaries and libraries), none\n"
		"      --keep-secrets  keep environment values whose names look secret\n"
		"                      (TOKEN, SECRET, PASSWORD, ...) instead of redacting them\n"
		"  -q, --quiet         print only errors\n"
		"  -v, --verbose       print what the tracer does\n"
		"  -h, --help          display this help and exit\n"
		"  -V, --version       output version information and exit\n"
		"\n"
		"Exit status is COMMAND's, or 128+N when signal N killed it; 127 when COMMAND\n"
		"is not found, 126 when it cannot be executed, 2 for usage errors and 125 when\n"
		"fingerprint itself fails.\n"
		"\n"
		"Example: %s -o deps.json -- mpirun -np 4 ./solver input.dat\n",
		program_name, program_name);
}

static void version(void)
{
	printf("%s %s\n"
	       "License: MIT.\n"
	       "This is free software: you are free to change and redistribute it.\n"
	       "There is NO WARRANTY, to the extent permitted by law.\n",
	       PACKAGE_NAME, PACKAGE_VERSION);
}

enum { OPT_NO_SECCOMP = 256, OPT_KEEP_SECRETS, OPT_HASH };

static _Noreturn void bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", program_name);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", program_name);
	exit(EXIT_USAGE);
}

void cli_parse(int argc, char **argv, struct cli_opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
		{ "keep-secrets", no_argument, NULL, OPT_KEEP_SECRETS },
		{ "hash", required_argument, NULL, OPT_HASH },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->output = "fingerprint.json";
	o->seccomp = true;
	o->hash_mode = HASH_ALL;
	opterr = 0;
	/* '+': stop at the first non-option, which starts the command. */
	while ((c = getopt_long(argc, argv, "+:o:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (optarg[0] == '\0')
				bad_usage("%s-o needs a file name", "");
			o->output = optarg;
			break;
		case OPT_NO_SECCOMP: o->seccomp = false; break;
		case OPT_KEEP_SECRETS: o->keep_secrets = true; break;
		case OPT_HASH:
			if (strcmp(optarg, "all") == 0)
				o->hash_mode = HASH_ALL;
			else if (strcmp(optarg, "elf") == 0)
				o->hash_mode = HASH_ELF;
			else if (strcmp(optarg, "none") == 0)
				o->hash_mode = HASH_NONE;
			else
				bad_usage("invalid --hash value '%s' (all, elf or none)", optarg);
			break;
		case 'q': verbosity = 0; break;
		case 'v': verbosity = 2; break;
		case 'h': usage(stdout); exit(0);
		case 'V': version(); exit(0);
		case ':':
			bad_usage("option '%s' requires an argument", argv[optind - 1]);
		default:
			if (optopt)
				bad_usage("invalid option -- '%c'", (char[]){ (char)optopt, '\0' });
			bad_usage("unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		bad_usage("%sno command given", "");
	if (argv[optind][0] == '\0')
		bad_usage("%sthe command is an empty string", "");
	o->command = argv + optind;
}
