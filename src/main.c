/* fingerprint: record what a program depends on when it runs. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "diff.h"
#include "enrich.h"
#include "events.h"
#include "events_read.h"
#include "manifest.h"
#include "manifest_json.h"
#include "merge.h"
#include "scan.h"
#include "show.h"
#include "status.h"
#include "syscalls.h"
#include "tracer.h"
#include "unwind.h"
#include "util.h"

static struct json_out out = { .fd = -1 };

/* Whatever way fingerprint exits, no temporary file is left behind. */
static void discard_output(void)
{
	json_out_discard(&out);
}

/* Async-signal-safe: remove the temporary file (fingerprint quits without a manifest). */
static void remove_tmp(void)
{
	const char *tmp = out.tmp;
	if (tmp)
		unlink(tmp);
}

/*
 * A fatal signal fingerprint does not handle otherwise: remove the
 * temporary file and die of it. One sent by a traced process was meant for
 * the command's process group, or for the command's parent: ignored.
 */
static void on_deadly_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (tracer_signal_from_tracee(si))
		return;
	remove_tmp();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Every signal whose default kills fingerprint and that was not ignored,
 * but SIGKILL, the interrupts (tracer_catch_interrupts) and glibc's own.
 */
static void remove_output_on_deadly_signals(void)
{
	struct sigaction sa = { .sa_sigaction = on_deadly_signal, .sa_flags = SA_SIGINFO | SA_RESTART }, old;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig <= SIGRTMAX; sig++) {
		switch (sig) {
		case SIGKILL: case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: case SIGCONT:
		case SIGCHLD: case SIGURG: case SIGWINCH: case SIGINT: case SIGTERM: case SIGHUP:
			continue;
		}
		if (sig >= 32 && sig < SIGRTMIN)
			continue;
		if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			sigaction(sig, &sa, NULL);
	}
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * Attach mode's run.command: the argv of the first process attached to, as
 * read at attach time, or "[PID]" when it had none. Lives until exit.
 */
static char **attached_command(const struct manifest *m, pid_t pid)
{
	const struct mf_process *rec = NULL;
	for (size_t i = 0; i < m->nprocs && !rec; i++)
		if (m->procs[i]->pid == pid)
			rec = m->procs[i];
	size_t n = 0;
	for (size_t i = 0; rec && i < rec->argv_len; i++)
		n += rec->argv[i] == '\0';
	if (rec && rec->argv_len && rec->argv[rec->argv_len - 1] != '\0')
		n++;
	char **v = xcalloc(n ? n + 1 : 2, sizeof(*v));
	if (!n) {
		char name[32];
		snprintf(name, sizeof(name), "[%d]", (int)pid);
		v[0] = xstrdup(name);
		return v;
	}
	size_t k = 0;
	for (const char *s = rec->argv, *end = rec->argv + rec->argv_len; s < end; s += strnlen(s, end - s) + 1)
		v[k++] = xstrndup(s, end - s);
	return v;
}

int main(int argc, char **argv)
{
	struct cli_opts cli;
	struct tracer_opts topts;
	struct trace_result res;
	struct run_info run = { 0 };
	struct timespec t0;
	char cwd[PATH_MAX];

	if (argc > 1 && strcmp(argv[1], "scan") == 0)
		return scan_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "diff") == 0)
		return diff_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "check") == 0)
		return check_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "show") == 0)
		return show_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "merge") == 0)
		return merge_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "events") == 0)
		return events_read_main(argc - 1, argv + 1);
	cli_parse(argc, argv, &cli);
	if (cli.n_attach)
		cli.n_attach = tracer_check_attach(cli.attach, cli.n_attach);
	if (!getcwd(cwd, sizeof(cwd)))
		die_errno(EXIT_INTERNAL, "cannot read the current directory");

	/* Fail on an unusable output before the command starts. */
	int r = json_out_open(&out, cli.output);
	if (r < 0) {
		errno = -r;
		die_errno(EXIT_USAGE, "cannot write the manifest to '%s'", cli.output);
	}
	atexit(discard_output);
	remove_output_on_deadly_signals();
	tracer_catch_interrupts(remove_tmp, cli.n_attach > 0);
	status_init(cli.status);
	if (cli.events) {
		events_open(cli.events, cli.events_tail, cli.callers);
		if (cli.events_tail)
			events_catch_dump();
	}

	struct manifest *m = manifest_new();
	m->keep_secrets = cli.keep_secrets;
	m->traced = true;
	m->callers = cli.callers;
	m->new_object = enrich_ahead;
	if (cli.callers)
		enrich_ahead_first(unwind_preload);
	topts.seccomp = cli.seccomp;
	topts.follow_daemons = cli.follow_daemons;
	topts.busy_wait = cli.busy_wait;
	topts.colocate = cli.colocate; /* launch mode only: tracer_run ignores it with -p */
	topts.argv = cli.command;
	topts.attach = cli.attach;
	topts.n_attach = cli.n_attach;
	topts.duration_s = cli.duration_s;
	topts.before_wait = enrich_ahead_wake;

	syscalls_choose(cli.trace);

	clock_gettime(CLOCK_REALTIME, &run.start);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	tracer_run(&topts, m, &res);
	run.duration_s = seconds_since(&t0);
	int events_err = events_finish();

	if (res.start == START_NOT_FOUND)
		die(EXIT_NOT_FOUND, "%s: command not found", cli.command[0]);
	if (res.start == START_CANNOT_EXEC) {
		errno = res.start_errno;
		die_errno(EXIT_CANNOT_EXEC, "%s: cannot execute", cli.command[0]);
	}

	char **attached = cli.n_attach ? attached_command(m, cli.attach[0]) : NULL;
	run.command = attached ? attached : cli.command;
	run.attach = cli.attach;
	run.n_attach = cli.n_attach;
	run.cwd = cwd;
	run.exit = res.exit;
	run.complete = res.complete;
	run.seccomp = cli.seccomp;
	run.follow_daemons = cli.follow_daemons;
	run.has_trace = cli.trace != TRACE_ALL;
	run.trace = cli.trace;
	run.has_rank = cli.rank >= 0;
	run.rank = cli.rank;
	run.events_file = cli.events;
	run.events_count = events_count();
	run.events_tail = cli.events_tail;
	/* What comes after the command is time a job waits for: -v says where it goes. */
	struct timespec t_enrich, t_packages, t_write;
	clock_gettime(CLOCK_MONOTONIC, &t_enrich);
	manifest_finalize(m);
	enrich_packages_start(m, cli.packages, cli.owner_cache);
	struct hash_opts hopts = { .jobs = cli.hash_jobs, .cache = cli.hash_cache,
				   .progress = status_enabled() ? status_progress : NULL };
	enrich_manifest(m, (enum hash_mode)cli.hash_mode, &run.start, &hopts);
	status_stop();
	clock_gettime(CLOCK_MONOTONIC, &t_packages);
	enrich_packages(m, cli.packages, cli.owner_cache);
	clock_gettime(CLOCK_MONOTONIC, &t_write);
	r = manifest_json_write(&out, m, &run);
	if (verbosity >= 2)
		fprintf(stderr, "%s: traced for %.3f s; then %.1f ms: ELF facts and hashes %.1f ms, package owners %.1f ms, "
			"writing %.1f ms\n", program_name, run.duration_s, 1e3 * seconds_since(&t_enrich),
			1e3 * (seconds_since(&t_enrich) - seconds_since(&t_packages)),
			1e3 * (seconds_since(&t_packages) - seconds_since(&t_write)), 1e3 * seconds_since(&t_write));
	struct rusage ru;
	if (verbosity >= 2 && getrusage(RUSAGE_SELF, &ru) == 0) /* all of fingerprint's threads, none of the command's */
		fprintf(stderr, "%s: fingerprint's own CPU time: %.1f ms user, %.1f ms system\n", program_name,
			ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3, ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3);
	if (r < 0) {
		errno = -r;
		die_errno(EXIT_INTERNAL, "cannot write the manifest to '%s'", cli.output);
	}
	if (verbosity >= 1)
		fprintf(stderr, "%s: %s: %zu binaries, %zu libraries, %zu files, %zu missing, %zu processes%s%s\n",
			program_name, strcmp(cli.output, "-") ? cli.output : "(stdout)", m->n_binaries,
			m->n_libraries, m->n_files, m->n_missing, m->nprocs,
			res.complete ? "" : " (incomplete)", res.detached ? " (some left running, untraced)" : "");
	manifest_free(m);
	unwind_cleanup();
	if (events_err < 0) {
		errno = -events_err;
		die_errno(EXIT_INTERNAL, "cannot write the event log '%s'", cli.events);
	}

	/* Attach mode: SIGINT or SIGTERM is the way to end the session. */
	if (cli.n_attach) {
		for (char **a = attached; *a; a++)
			free(*a);
		free(attached);
		free(cli.attach);
		return 0;
	}
	/* Interrupted while tracing, or later (the manifest is then complete, but late). */
	if (tracer_interrupted())
		return 128 + tracer_interrupted();
	if (res.exit.signal)
		return 128 + res.exit.signal;
	return res.exit.exited ? res.exit.status : EXIT_INTERNAL;
}
