#include "config.h"
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "enrich.h"
#include "hash.h"
#include "trace_filter.h"
#include "unwind.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTION]... [--] COMMAND [ARG]...\n"
		"  or:  %s [OPTION]... -p PID[,PID]...\n"
		"  or:  %s scan [OPTION]... FILE...\n"
		"  or:  %s diff [OPTION]... OLD.json NEW.json\n"
		"  or:  %s check [OPTION]... MANIFEST\n"
		"  or:  %s show [OPTION]... MANIFEST\n"
		"  or:  %s merge [OPTION]... MANIFEST... -o ALL.json\n"
		"  or:  %s events [FILE]\n"
		"Run COMMAND under ptrace, follow its whole process tree and write a JSON\n"
		"manifest of the binaries, libraries, files, environment and command lines\n"
		"it used. With -p, attach to running processes instead. 'scan' resolves\n"
		"the libraries of ELF files without running them; 'diff' compares two\n"
		"manifests; 'check' tells whether this host has what a manifest needs;\n"
		"'show' summarises one, or draws it as a graph; 'merge' makes one of many,\n"
		"saying where each entry was seen; 'events' prints an event log (--events)\n"
		"strace-style. Each has its own --help ('%s diff --help').\n"
		"To trace a program named like a subcommand, write '-- scan'.\n"
		"\n"
		"  -o, --output=FILE   write the manifest to FILE (default: fingerprint.json);\n"
		"                      '-' writes it to standard output. In FILE, %%h is the\n"
		"                      host name (up to the first dot), %%p fingerprint's pid,\n"
		"                      %%r the MPI or batch rank (OMPI_COMM_WORLD_RANK,\n"
		"                      PMIX_RANK, PMI_RANK or SLURM_PROCID; 0 when none) and\n"
		"                      %%%% a percent sign\n"
		"  -p, --attach=PID[,PID]...  trace these running processes (every thread,\n"
		"                      and the children they start from now on) instead of\n"
		"                      a COMMAND, without seccomp; on SIGINT, SIGTERM or\n"
		"                      SIGHUP, when all of them have exited, or after\n"
		"                      --duration, detach and leave them running\n"
		"      --duration=SECONDS  with -p: detach after SECONDS (may be fractional)\n"
		"  -e, --trace=SPEC    -e trace=SPEC, or -e SPEC: watch and record only\n"
		"                      these calls, a comma list of open, openat, openat2,\n"
		"                      creat, execve, execveat, mmap, the classes %%file\n"
		"                      (the open calls), %%exec, %%mmap, all or none; a\n"
		"                      leading '!' takes the others ('-e trace=!mmap');\n"
		"                      openat brings open_by_handle_at and io_uring_setup.\n"
		"                      The last one given wins. Processes, their binaries,\n"
		"                      argv and env are recorded whatever SPEC says\n"
		"      --no-seccomp    stop on every syscall instead of filtering with\n"
		"                      seccomp-bpf (slower; same manifest)\n"
		"      --no-follow-daemons  stop when COMMAND's own process exits, leaving\n"
		"                      the processes still running (daemons) to run on\n"
		"                      untraced; implies --no-seccomp. By default\n"
		"                      fingerprint waits for every process it traces\n"
		"      --no-busy-wait  sleep until each stop comes; by default the tracer\n"
		"                      first polls for it up to 50 us while a CPU is free\n"
		"                      (waking from a sleep takes longer)\n"
		"      --no-colocate   let the command run on any CPU; by default, while\n"
		"                      one of its threads at a time may run (one thread,\n"
		"                      or a shell waiting for each command) and a CPU is\n"
		"                      free, it runs on the tracer's (a stop then wakes no\n"
		"                      other CPU; the command still sees its own CPUs)\n"
		"      --hash=WHAT     sha256 of: all (binaries, libraries and files read;\n"
		"                      the default), elf (binaries and libraries), none\n"
		"      --hash-jobs=N   hash on N threads (default: one per CPU, at most 8)\n"
		"      --no-hash-cache  neither use nor update the cache of hashes\n"
		"                      ($XDG_CACHE_HOME or ~/.cache, /fingerprint/)\n"
		"      --no-cache      neither use nor update any cache there (hashes,\n"
		"                      package owners)\n"
		"      --callers=on|off  name the library whose code made each open (on)\n"
		"      --caller-skip=SONAME[,SONAME]...\n"
		"                      also look past these libraries' frames (as past the\n"
		"                      C library, libstdc++ and libgfortran)\n"
		"      --no-packages   do not look up the Debian package owning each path\n"
		"      --events=FILE   log each open, exec and executable mmap as one JSON\n"
		"                      object per line (time, process, arguments, result,\n"
		"                      duration, caller); '-' for standard output; %%h,\n"
		"                      %%p, %%r and %%%% as in -o\n"
		"      --events-tail=N  with --events: keep only the last N events, written\n"
		"                      at the end and whenever fingerprint gets SIGUSR1\n"
		"      --keep-secrets  keep environment values whose names look secret\n"
		"                      (TOKEN, SECRET, PASSWORD, ...) instead of redacting them\n"
		"      --no-status     no live status line (drawn on standard error while\n"
		"                      tracing and hashing when it is a terminal)\n"
		"  -q, --quiet         print only errors (and no status line)\n"
		"  -v, --verbose       print what the tracer does\n"
		"  -h, --help          display this help and exit\n"
		"  -V, --version       output version information and exit\n"
		"\n"
		"Exit status is COMMAND's, or 128+N when signal N killed it; 127 when COMMAND\n"
		"is not found, 126 when it cannot be executed, 2 for usage errors and 125 when\n"
		"fingerprint itself fails. SIGINT, SIGTERM or SIGHUP to fingerprint kills\n"
		"COMMAND's tree and writes what was seen (\"complete\": false), exit 128+N;\n"
		"a second one within a second quits at once, writing nothing. Signals sent\n"
		"by the traced processes (kill 0 in COMMAND) are theirs: fingerprint ignores\n"
		"them. With -p, exit status is 0 once the manifest is written, however the\n"
		"session ended.\n"
		"\n"
		"Examples: %s -o deps.json -- mpirun -np 4 ./solver input.dat\n"
		"  %s -p $(pgrep -d, nginx) -o nginx.json   (Ctrl-C to detach and write)\n"
		"  mpirun -np 64 %s -o deps-%%h-%%r.json -- ./solver   (one manifest\n"
		"  per rank, then '%s merge deps-*.json -o deps.json')\n",
		program_name, program_name, program_name, program_name, program_name, program_name, program_name,
		program_name, program_name, program_name, program_name, program_name, program_name);
}

static void version(void)
{
	printf("%s %s\n"
	       "License: MIT.\n"
	       "This is free software: you are free to change and redistribute it.\n"
	       "There is NO WARRANTY, to the extent permitted by law.\n",
	       PACKAGE_NAME, PACKAGE_VERSION);
}

enum {
	OPT_NO_SECCOMP = 256, OPT_KEEP_SECRETS, OPT_HASH, OPT_ROOT, OPT_LD_LIBRARY_PATH, OPT_CALLERS, OPT_CALLER_SKIP,
	OPT_ALL, OPT_IGNORE, OPT_FORMAT, OPT_NO_HASH, OPT_NO_PACKAGES, OPT_DOT, OPT_APT, OPT_STRICT,
	OPT_NO_HASH_CACHE, OPT_NO_CACHE, OPT_HASH_JOBS, OPT_NO_FOLLOW_DAEMONS, OPT_DURATION, OPT_TRACE,
	OPT_EVENTS, OPT_EVENTS_TAIL, OPT_NO_STATUS, OPT_NO_BUSY_WAIT, OPT_NO_COLOCATE,
};

static _Noreturn void bad_usage(const char *fmt, ...) FP_PRINTF(1, 2);

static _Noreturn void bad_usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", program_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", program_name);
	exit(EXIT_USAGE);
}

static const char *output_arg(const char *arg)
{
	if (arg[0] == '\0')
		bad_usage("%s-o needs a file name", "");
	return arg;
}

static const char *const rank_vars[] = { "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID" };

/*
 * The MPI or batch rank of this process: the value of the first of
 * rank_vars that is set. Returns it; -1 when none is set; -2 when it is not
 * a non-negative integer (`*var` names the variable then).
 */
static long env_rank(const char **var)
{
	for (size_t i = 0; i < sizeof(rank_vars) / sizeof(rank_vars[0]); i++) {
		const char *v = getenv(rank_vars[i]);
		if (!v)
			continue;
		*var = rank_vars[i];
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		return v[0] >= '0' && v[0] <= '9' && *end == '\0' && errno == 0 ? n : -2;
	}
	return -1;
}

/*
 * The argument `pattern` of option `opt` (-o, --events) with %h (the host
 * name up to its first dot), %p (fingerprint's pid), %r (the rank, 0 when
 * none) and %% expanded; any other % is a usage error. Returns `pattern`
 * itself or b's text (b static: it lives until exit).
 */
static const char *output_expand(struct buf *bp, const char *opt, const char *pattern, long rank,
				 const char *rank_var)
{
	struct buf b = *bp;
	if (!strchr(pattern, '%'))
		return pattern;
	b.len = 0;
	for (const char *s = pattern; *s; s++) {
		char piece[HOST_NAME_MAX + 1];
		if (*s != '%') {
			buf_append(&b, s, 1);
			continue;
		}
		switch (*++s) {
		case '%': snprintf(piece, sizeof(piece), "%%"); break;
		case 'p': snprintf(piece, sizeof(piece), "%ld", (long)getpid()); break;
		case 'h': {
			struct utsname u;
			if (uname(&u) < 0)
				die_errno(EXIT_INTERNAL, "cannot read the host name");
			snprintf(piece, sizeof(piece), "%.*s", (int)strcspn(u.nodename, "."), u.nodename);
			break;
		}
		case 'r':
			if (rank == -2)
				bad_usage("%s '%s': %s='%s' is not a rank (a non-negative integer)", opt, pattern, rank_var,
					  getenv(rank_var));
			snprintf(piece, sizeof(piece), "%ld", rank < 0 ? 0 : rank);
			break;
		case '\0':
			bad_usage("%s '%s': a '%%' at the end (write %%%% for a percent sign)", opt, pattern);
		default:
			bad_usage("%s '%s': unknown '%%%c' (%%h host, %%p pid, %%r rank, %%%% a percent sign)", opt,
				  pattern, *s);
		}
		buf_append(&b, piece, strlen(piece));
	}
	*bp = b;
	return b.data;
}

/* Expand -o and --events of the trace command (output_expand). */
static void expand_outputs(struct cli_opts *o, const char *rank_var)
{
	static struct buf out_b, events_b;
	o->output = output_expand(&out_b, "-o", o->output, o->rank, rank_var);
	if (o->events)
		o->events = output_expand(&events_b, "--events", o->events, o->rank, rank_var);
}

static int parse_hash_mode(const char *s)
{
	if (strcmp(s, "all") == 0)
		return HASH_ALL;
	if (strcmp(s, "elf") == 0)
		return HASH_ELF;
	if (strcmp(s, "none") == 0)
		return HASH_NONE;
	bad_usage("invalid --hash value '%s' (all, elf or none)", s);
}

static unsigned parse_hash_jobs(const char *s)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || n < 1 || n > HASH_MAX_JOBS)
		bad_usage("invalid --hash-jobs value '%s' (1 to %d)", s, HASH_MAX_JOBS);
	return (unsigned)n;
}

/* The -p list: process ids separated by commas, appended to o->attach. */
static void parse_attach(const char *arg, struct cli_opts *o)
{
	const char *s = arg;
	for (;;) {
		size_t len = strcspn(s, ",");
		char *end;
		errno = 0;
		long n = strtol(s, &end, 10);
		if (len == 0 || s[0] < '0' || s[0] > '9' || end != s + len || errno || n < 1 || n > INT_MAX)
			bad_usage("-p '%s': '%.*s' is not a process id", arg, (int)len, s);
		o->attach = xrealloc(o->attach, (o->n_attach + 1) * sizeof(*o->attach));
		o->attach[o->n_attach++] = (pid_t)n;
		if (!s[len])
			break;
		s += len + 1;
	}
}

static double parse_duration(const char *s)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (s[0] < '0' || s[0] > '9' || *end || errno || !(d > 0) || d > 1e9)
		bad_usage("invalid --duration value '%s' (seconds, more than 0)", s);
	return d;
}

/*
 * -e EXPR (EXPR is trace=SPEC, or a bare SPEC as in `strace -e open`) or
 * --trace=SPEC (`qualified` false): the chosen set of calls.
 */
static trace_set parse_trace(const char *arg, bool qualified)
{
	const char *spec = arg, *eq = strchr(arg, '=');
	char err[256];
	trace_set set;
	if (qualified && eq) {
		if ((size_t)(eq - arg) != strlen("trace") || strncmp(arg, "trace", 5) != 0)
			bad_usage("-e '%s': unknown qualifier '%.*s' (only trace=)", arg, (int)(eq - arg), arg);
		spec = eq + 1;
	}
	if (trace_filter_parse(spec, &set, err, sizeof(err)) < 0)
		bad_usage("%s '%s': %s", qualified ? "-e" : "--trace", arg, err);
	return set;
}

static size_t parse_events_tail(const char *s)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || n < 1 || n > 10000000)
		bad_usage("invalid --events-tail value '%s' (1 to 10000000 events)", s);
	return (size_t)n;
}

/* The getopt error for the option just rejected. */
static _Noreturn void bad_option(char **argv, int c)
{
	if (c == ':')
		bad_usage("option '%s' requires an argument", argv[optind - 1]);
	if (optopt)
		bad_usage("invalid option -- '%c'", optopt);
	bad_usage("unrecognized option '%s'", argv[optind - 1]);
}

static void scan_usage(void)
{
	printf("Usage: %s scan [OPTION]... FILE...\n"
	       "Resolve the DT_NEEDED closure of each ELF FILE as the glibc loader would\n"
	       "(nothing is executed) and write a manifest of the binaries and libraries,\n"
	       "with ELF facts, hashes and, for each library, the rule that found it.\n"
	       "\n"
	       "  -o, --output=FILE        write the manifest to FILE (default:\n"
	       "                           fingerprint.json); '-' for standard output;\n"
	       "                           %%h, %%p, %%r and %%%% as in '%s --help'\n"
	       "      --root=DIR           resolve inside the root filesystem DIR (an\n"
	       "                           unpacked image); FILEs are paths in it\n"
	       "      --ld-library-path=P  the LD_LIBRARY_PATH to apply (default: the\n"
	       "                           caller's LD_LIBRARY_PATH)\n"
	       "      --hash=WHAT          all or elf (the same here: sha256 of every\n"
	       "                           object), or none\n"
	       "      --hash-jobs=N        hash on N threads (default: one per CPU, at most 8)\n"
	       "      --no-hash-cache      neither use nor update the cache of hashes\n"
	       "      --no-cache           neither that nor the cache of package owners\n"
	       "      --no-packages        do not look up the package owning each path\n"
	       "                           (from DIR's dpkg or rpm database with --root)\n"
	       "  -q, --quiet              print only errors\n"
	       "  -v, --verbose            say what takes time (hashing, package owners)\n"
	       "  -h, --help               display this help and exit\n"
	       "\n"
	       "Exit status: 0 when every FILE was scanned, 1 when some could not be read\n"
	       "(the others are still scanned and written), 2 for usage errors, 125 when\n"
	       "the manifest cannot be written.\n",
	       program_name, program_name);
}

void cli_parse_scan(int argc, char **argv, struct scan_opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "ld-library-path", required_argument, NULL, OPT_LD_LIBRARY_PATH },
		{ "hash", required_argument, NULL, OPT_HASH },
		{ "hash-jobs", required_argument, NULL, OPT_HASH_JOBS },
		{ "no-hash-cache", no_argument, NULL, OPT_NO_HASH_CACHE },
		{ "no-cache", no_argument, NULL, OPT_NO_CACHE },
		{ "no-packages", no_argument, NULL, OPT_NO_PACKAGES },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->output = "fingerprint.json";
	o->hash_mode = HASH_ALL;
	o->hash_cache = true;
	o->owner_cache = true;
	o->packages = true;
	o->ld_library_path = getenv("LD_LIBRARY_PATH");
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->output = output_arg(optarg); break;
		case OPT_ROOT: o->root = optarg; break;
		case OPT_LD_LIBRARY_PATH: o->ld_library_path = optarg; break;
		case OPT_HASH: o->hash_mode = parse_hash_mode(optarg); break;
		case OPT_HASH_JOBS: o->hash_jobs = parse_hash_jobs(optarg); break;
		case OPT_NO_HASH_CACHE: o->hash_cache = false; break;
		case OPT_NO_CACHE: o->hash_cache = o->owner_cache = false; break;
		case OPT_NO_PACKAGES: o->packages = false; break;
		case 'q': verbosity = 0; break;
		case 'v': verbosity = 2; break;
		case 'h': scan_usage(); exit(0);
		case 'V': version(); exit(0);
		default: bad_option(argv, c);
		}
	}
	if (optind >= argc)
		bad_usage("%sscan: no file given", "");
	o->paths = argv + optind;
	const char *rank_var = NULL;
	static struct buf out_b;
	o->rank = env_rank(&rank_var);
	o->output = output_expand(&out_b, "-o", o->output, o->rank, rank_var);
}

static void diff_usage(void)
{
	printf("Usage: %s diff [OPTION]... OLD.json NEW.json\n"
	       "Compare two manifests entry by entry: what was added to, removed from or\n"
	       "changed in binaries, libraries, files, missing, env and cmdlines. An entry\n"
	       "changed when its sha256, build_id, soname, needed list, access mode or\n"
	       "symlink target differs; the report says which. Pids, times, processes,\n"
	       "run and host are left out unless --all.\n"
	       "\n"
	       "      --all            compare run, host and the process tree too\n"
	       "      --ignore=GLOB    leave out paths matching GLOB (fnmatch, '*' matches\n"
	       "                       '/' too: '/tmp/*', '*.pyc'); repeatable\n"
	       "      --format=FORMAT  text (the default: '+' added, '-' removed, '~' changed,\n"
	       "                       grouped by section, then a count) or json\n"
	       "  -h, --help           display this help and exit\n"
	       "\n"
	       "Exit status: 0 when the manifests are equal (nothing is printed in text\n"
	       "format), 1 when they differ, 2 when a manifest cannot be read or on usage\n"
	       "errors, like diff(1).\n",
	       program_name);
}

void cli_parse_diff(int argc, char **argv, struct diff_opts *o)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, OPT_ALL },
		{ "ignore", required_argument, NULL, OPT_IGNORE },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ALL: o->all = true; break;
		case OPT_IGNORE:
			o->ignore = xrealloc(o->ignore, (o->n_ignore + 1) * sizeof(*o->ignore));
			o->ignore[o->n_ignore++] = optarg;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "text") && strcmp(optarg, "json"))
				bad_usage("invalid --format '%s' (text or json)", optarg);
			o->json = strcmp(optarg, "json") == 0;
			break;
		case 'h': diff_usage(); exit(0);
		case 'V': version(); exit(0);
		default: bad_option(argv, c);
		}
	}
	if (argc - optind != 2)
		bad_usage("%sdiff: two manifests are needed (OLD.json NEW.json)", "");
	o->old_file = argv[optind];
	o->new_file = argv[optind + 1];
}

static void check_usage(void)
{
	printf("Usage: %s check [OPTION]... MANIFEST\n"
	       "Tell whether this host can run what MANIFEST recorded: every binary,\n"
	       "library and file the run read is present with the recorded sha256; each\n"
	       "needed soname of every binary and library resolves under the glibc\n"
	       "loader's rules (with the LD_LIBRARY_PATH the binary ran with); and the\n"
	       "library found defines every symbol version asked of it. One line per\n"
	       "problem ('missing: PATH', 'changed: PATH ...', 'unresolved soname: ...',\n"
	       "'missing version V in LIB ...'), then a summary line.\n"
	       "\n"
	       "      --root=DIR   check the root filesystem DIR (an unpacked image) instead\n"
	       "                   of /\n"
	       "      --no-hash    check presence only, not content\n"
	       "  -q, --quiet      print the problems only, no summary\n"
	       "  -h, --help       display this help and exit\n"
	       "\n"
	       "Exit status: 0 when nothing is missing, 1 when something is, 2 when the\n"
	       "manifest cannot be read or on usage errors.\n",
	       program_name);
}

void cli_parse_check(int argc, char **argv, struct check_opts *o)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "no-hash", no_argument, NULL, OPT_NO_HASH },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":qhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT: o->root = optarg; break;
		case OPT_NO_HASH: o->no_hash = true; break;
		case 'q': verbosity = 0; break;
		case 'h': check_usage(); exit(0);
		case 'V': version(); exit(0);
		default: bad_option(argv, c);
		}
	}
	if (argc - optind != 1)
		bad_usage("%scheck: one manifest is needed", "");
	o->file = argv[optind];
}

static void show_usage(void)
{
	printf("Usage: %s show [OPTION]... MANIFEST\n"
	       "Summarise the manifest MANIFEST ('-' for standard input) for a human: the\n"
	       "run, the count of each section (binaries, libraries, files, missing,\n"
	       "processes, warnings), the process tree (binary, argv and exit status,\n"
	       "children indented under their parent) and each binary with the libraries\n"
	       "it loaded and the files it opened, then the packages that own them and\n"
	       "the paths no package owns. Everything is sorted and no pid or time is\n"
	       "shown, so two runs of the same job show the same.\n"
	       "\n"
	       "      --dot     write a Graphviz graph instead: binaries -> libraries they\n"
	       "                loaded and files they opened, libraries -> files their code\n"
	       "                opened (render with 'dot -Tsvg')\n"
	       "      --apt     print the apt-get line that installs the same packages at\n"
	       "                the same versions instead\n"
	       "  -h, --help    display this help and exit\n"
	       "\n"
	       "Exit status: 0; 1 for --apt when package ownership was not looked up; 2\n"
	       "when the manifest cannot be read or on usage errors.\n"
	       "\n"
	       "Example: %s show --dot deps.json | dot -Tsvg > deps.svg\n",
	       program_name, program_name);
}

void cli_parse_show(int argc, char **argv, struct show_opts *o)
{
	static const struct option longopts[] = {
		{ "dot", no_argument, NULL, OPT_DOT },
		{ "apt", no_argument, NULL, OPT_APT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DOT: o->dot = true; break;
		case OPT_APT: o->apt = true; break;
		case 'h': show_usage(); exit(0);
		case 'V': version(); exit(0);
		default: bad_option(argv, c);
		}
	}
	if (o->dot && o->apt)
		bad_usage("show: --dot and --apt cannot be combined");
	if (argc - optind != 1)
		bad_usage("%sshow: one manifest is needed (MANIFEST, or '-' for standard input)", "");
	o->file = argv[optind];
}

static void merge_usage(void)
{
	printf("Usage: %s merge [OPTION]... MANIFEST... -o ALL.json\n"
	       "Merge manifests (one per host or rank of a job, or merged ones) into one:\n"
	       "the union of their binaries, libraries, files, missing, env and cmdlines.\n"
	       "Each entry gets \"seen_on\": the hosts (host.hostname) and ranks (run.rank)\n"
	       "of the runs that saw it; \"run\" becomes the list of the inputs' runs, each\n"
	       "with its host and processes. When the runs recorded different sha256s for\n"
	       "one path, the entry has no sha256 but \"variants\": each digest with where\n"
	       "it was seen, and a line on standard error names the conflict.\n"
	       "\n"
	       "  -o, --output=FILE   write the manifest to FILE (default: fingerprint.json);\n"
	       "                      '-' for standard output. It may be one of the inputs.\n"
	       "      --strict        exit 1 when there is a conflict (still writing FILE)\n"
	       "  -q, --quiet         no summary line (conflicts are still reported)\n"
	       "  -h, --help          display this help and exit\n"
	       "\n"
	       "Exit status: 0 when merged (conflicts too, unless --strict: then 1), 2 when\n"
	       "an input cannot be read, FILE cannot be created or on usage errors, 125\n"
	       "when writing FILE fails. FILE is written atomically, or not at all.\n"
	       "\n"
	       "Example: mpirun -np 64 %s -o deps-%%h-%%r.json -- ./solver\n"
	       "         %s merge deps-*.json -o deps.json\n",
	       program_name, program_name, program_name);
}

void cli_parse_merge(int argc, char **argv, struct merge_opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->output = "fingerprint.json";
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->output = output_arg(optarg); break;
		case OPT_STRICT: o->strict = true; break;
		case 'q': verbosity = 0; break;
		case 'h': merge_usage(); exit(0);
		case 'V': version(); exit(0);
		default: bad_option(argv, c);
		}
	}
	if (optind >= argc)
		bad_usage("merge: no manifest given");
	o->inputs = argv + optind;
}

static void events_usage(void)
{
	printf("Usage: %s events [FILE]\n"
	       "Print the event log FILE (written by '%s --events FILE'; '-' or none\n"
	       "for standard input) the way strace does, one line per event:\n"
	       "  [pid TID] openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = 3 <0.000012>\n"
	       "A failed call ends '= -1 ENOENT (No such file or directory)', one still\n"
	       "running when its thread went away '<unfinished ...>'.\n"
	       "\n"
	       "  -h, --help    display this help and exit\n"
	       "\n"
	       "Exit status: 0; 2 when FILE cannot be read or is not an event log (one line\n"
	       "names the file and the line), when writing fails, or on usage errors.\n",
	       program_name, program_name);
}

void cli_parse_events(int argc, char **argv, struct events_opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': events_usage(); exit(0);
		case 'V': version(); exit(0);
		default: bad_option(argv, c);
		}
	}
	if (argc - optind > 1)
		bad_usage("events: one event log at most (FILE, or '-' for standard input)");
	o->file = optind < argc ? argv[optind] : "-";
}

void cli_parse(int argc, char **argv, struct cli_opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
		{ "no-follow-daemons", no_argument, NULL, OPT_NO_FOLLOW_DAEMONS },
		{ "no-busy-wait", no_argument, NULL, OPT_NO_BUSY_WAIT },
		{ "no-colocate", no_argument, NULL, OPT_NO_COLOCATE },
		{ "attach", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "trace", required_argument, NULL, OPT_TRACE },
		{ "keep-secrets", no_argument, NULL, OPT_KEEP_SECRETS },
		{ "hash", required_argument, NULL, OPT_HASH },
		{ "hash-jobs", required_argument, NULL, OPT_HASH_JOBS },
		{ "no-hash-cache", no_argument, NULL, OPT_NO_HASH_CACHE },
		{ "no-cache", no_argument, NULL, OPT_NO_CACHE },
		{ "callers", required_argument, NULL, OPT_CALLERS },
		{ "caller-skip", required_argument, NULL, OPT_CALLER_SKIP },
		{ "no-packages", no_argument, NULL, OPT_NO_PACKAGES },
		{ "events", required_argument, NULL, OPT_EVENTS },
		{ "events-tail", required_argument, NULL, OPT_EVENTS_TAIL },
		{ "no-status", no_argument, NULL, OPT_NO_STATUS },
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
	o->hash_cache = true;
	o->owner_cache = true;
	o->callers = true;
	o->packages = true;
	o->follow_daemons = true;
	o->busy_wait = true;
	o->colocate = true;
	o->trace = TRACE_ALL;
	o->status = true;
	opterr = 0;
	/* '+': stop at the first non-option, which starts the command. */
	while ((c = getopt_long(argc, argv, "+:o:p:e:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->output = output_arg(optarg); break;
		case 'p': parse_attach(optarg, o); break;
		case OPT_DURATION: o->duration_s = parse_duration(optarg); break;
		case 'e': o->trace = parse_trace(optarg, true); break;
		case OPT_TRACE: o->trace = parse_trace(optarg, false); break;
		case OPT_NO_SECCOMP: o->seccomp = false; break;
		case OPT_NO_FOLLOW_DAEMONS: o->follow_daemons = false; break;
		case OPT_NO_BUSY_WAIT: o->busy_wait = false; break;
		case OPT_NO_COLOCATE: o->colocate = false; break;
		case OPT_KEEP_SECRETS: o->keep_secrets = true; break;
		case OPT_HASH: o->hash_mode = parse_hash_mode(optarg); break;
		case OPT_HASH_JOBS: o->hash_jobs = parse_hash_jobs(optarg); break;
		case OPT_NO_HASH_CACHE: o->hash_cache = false; break;
		case OPT_NO_CACHE: o->hash_cache = o->owner_cache = false; break;
		case OPT_CALLERS:
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				bad_usage("invalid --callers value '%s' (on or off)", optarg);
			o->callers = strcmp(optarg, "on") == 0;
			break;
		case OPT_NO_PACKAGES: o->packages = false; break;
		case OPT_EVENTS:
			if (optarg[0] == '\0')
				bad_usage("--events needs a file name");
			o->events = optarg;
			break;
		case OPT_EVENTS_TAIL: o->events_tail = parse_events_tail(optarg); break;
		case OPT_NO_STATUS: o->status = false; break;
		case OPT_CALLER_SKIP:
			for (char *s = strtok(optarg, ","); s; s = strtok(NULL, ","))
				unwind_skip_add(s);
			break;
		case 'q': verbosity = 0; break;
		case 'v': verbosity = 2; break;
		case 'h': usage(stdout); exit(0);
		case 'V': version(); exit(0);
		default: bad_option(argv, c);
		}
	}
	/* A process left running keeps its seccomp filter: untraced, its watched syscalls would fail (ENOSYS). */
	if (!o->follow_daemons)
		o->seccomp = false;
	if (o->duration_s > 0 && !o->n_attach)
		bad_usage("--duration needs -p");
	if (o->events_tail && !o->events)
		bad_usage("--events-tail needs --events");
	if (o->events && strcmp(o->events, "-") == 0 && strcmp(o->output, "-") == 0)
		die(EXIT_USAGE, "--events - and -o - cannot both write to standard output");
	if (o->n_attach) {
		if (optind < argc)
			bad_usage("-p and a command ('%s') cannot be combined", argv[optind]);
		if (!o->follow_daemons)
			bad_usage("-p and --no-follow-daemons cannot be combined");
		/* A seccomp filter cannot be added to a running process. */
		o->seccomp = false;
	} else if (optind >= argc) {
		bad_usage("%sno command given", "");
	}
	if (o->n_attach) {
		const char *rank_var = NULL;
		o->rank = env_rank(&rank_var);
		expand_outputs(o, rank_var);
		return;
	}
	if (argv[optind][0] == '\0')
		bad_usage("%sthe command is an empty string", "");
	o->command = argv + optind;
	const char *rank_var = NULL;
	o->rank = env_rank(&rank_var);
	expand_outputs(o, rank_var);
}
