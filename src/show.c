#include "config.h"
#include "show.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "manifest.h"
#include "manifest_json.h"
#include "trace_filter.h"
#include "util.h"

/* Deeper processes are indented as at this depth, with the depth written out. */
#define MAX_INDENT 32

/* Ascending indices into one of the manifest's sorted arrays. */
struct idx_list {
	size_t *v;
	size_t n, cap;
};

/*
 * A program: a binary of the manifest, or a path that only a loaded_by, an
 * opened_by or a process names (a manifest edited by hand).
 */
struct show_prog {
	const char *path;
	const struct mf_binary *b;   /* NULL when not in binaries */
	struct idx_list libs;        /* into sorted_libraries */
	struct idx_list files;       /* into sorted_files */
};

struct show {
	const struct manifest *m;
	struct show_prog *progs;     /* sorted by path */
	size_t n_progs;
	struct idx_list *lib_files;  /* per library: the files whose opened_by names it as module */
	struct map prog_index;       /* path -> index + 1 */
	struct map lib_index;        /* library path -> index + 1 */
};

/* Append `i` unless it is already the last index (lists are built in ascending order). */
static void idx_push(struct idx_list *l, size_t i)
{
	if (l->n && l->v[l->n - 1] == i)
		return;
	xgrow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = i;
}

/* Keys must be interned strings of the manifest (they are not copied). */
static void index_put(struct map *mp, const char *path, size_t i)
{
	*map_slot(mp, path, strlen(path), NULL) = (void *)(uintptr_t)(i + 1);
}

/* Returns the index + 1 of `path`, or 0 when absent. */
static size_t index_get(const struct map *mp, const char *path)
{
	return path ? (size_t)(uintptr_t)strmap_get(mp, path) : 0;
}

static void add_name(struct map *names, const char *path)
{
	if (path)
		*map_slot(names, path, strlen(path), NULL) = (void *)path;
}

/* The programs (every binary and every path named as one), and who used what. */
static void show_build(struct show *s, const struct manifest *m)
{
	struct map names = { 0 };
	memset(s, 0, sizeof(*s));
	s->m = m;
	for (size_t i = 0; i < m->n_binaries; i++)
		add_name(&names, m->sorted_binaries[i]->path);
	for (size_t i = 0; i < m->n_libraries; i++)
		for (size_t k = 0; k < m->sorted_libraries[i]->loaded_by.n; k++)
			add_name(&names, m->sorted_libraries[i]->loaded_by.v[k]);
	for (size_t i = 0; i < m->n_files; i++)
		for (size_t k = 0; k < m->sorted_files[i]->n_opened_by; k++)
			add_name(&names, m->sorted_files[i]->opened_by[k].binary);
	for (size_t i = 0; i < m->nprocs; i++)
		add_name(&names, m->procs[i]->binary);

	const char **v = xmalloc((names.size + 1) * sizeof(*v));
	MAP_FOREACH(&names, i)
		v[s->n_progs++] = names.vals[i];
	str_sort(v, s->n_progs);
	s->progs = xcalloc(s->n_progs + 1, sizeof(*s->progs));
	for (size_t i = 0; i < s->n_progs; i++) {
		s->progs[i].path = v[i];
		index_put(&s->prog_index, v[i], i);
	}
	free(v);
	map_free(&names);

	for (size_t i = 0; i < m->n_binaries; i++)
		s->progs[index_get(&s->prog_index, m->sorted_binaries[i]->path) - 1].b = m->sorted_binaries[i];
	for (size_t i = 0; i < m->n_libraries; i++) {
		const struct mf_library *l = m->sorted_libraries[i];
		index_put(&s->lib_index, l->path, i);
		for (size_t k = 0; k < l->loaded_by.n; k++)
			idx_push(&s->progs[index_get(&s->prog_index, l->loaded_by.v[k]) - 1].libs, i);
	}
	s->lib_files = xcalloc(m->n_libraries + 1, sizeof(*s->lib_files));
	for (size_t i = 0; i < m->n_files; i++) {
		const struct mf_file *f = m->sorted_files[i];
		for (size_t k = 0; k < f->n_opened_by; k++) {
			idx_push(&s->progs[index_get(&s->prog_index, f->opened_by[k].binary) - 1].files, i);
			size_t lib = index_get(&s->lib_index, f->opened_by[k].module);
			if (lib)
				idx_push(&s->lib_files[lib - 1], i);
		}
	}
}

static void show_free(struct show *s)
{
	for (size_t i = 0; i < s->n_progs; i++) {
		free(s->progs[i].libs.v);
		free(s->progs[i].files.v);
	}
	for (size_t i = 0; i < s->m->n_libraries; i++)
		free(s->lib_files[i].v);
	free(s->progs);
	free(s->lib_files);
	map_free(&s->prog_index);
	map_free(&s->lib_index);
}

/*
 * The length of the UTF-8 character at `p` (1..4) that text output shows as
 * it is, or 0 for a control character or a byte that is not part of valid
 * UTF-8 (shown as \xHH).
 */
static size_t shown_as_is(const unsigned char *p)
{
	if (*p < 0x20 || *p == 0x7f)
		return 0;
	return utf8_seq(p, strnlen((const char *)p, 4));
}

/* Control characters and bytes that are not UTF-8 as \xHH, so that one entry stays one line of text. */
static void put_text(const char *s)
{
	fput_text(stdout, s);
}

/* One argument as a shell would read it back (control characters as \xHH). */
static void put_arg(const char *a)
{
	if (*a && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./:=,+@%^") == strlen(a)) {
		fputs(a, stdout);
		return;
	}
	putchar('\'');
	for (const char *q = a, *quote; *q; q = quote + 1) {
		quote = strchr(q, '\'');
		autofree char *part = xstrndup(q, quote ? (size_t)(quote - q) : strlen(q));
		put_text(part);
		if (!quote)
			break;
		fputs("'\\''", stdout);
	}
	putchar('\'');
}

/* `blob` holds NUL-terminated arguments back to back, `len` bytes in all. */
static void put_argv(const char *blob, size_t len)
{
	for (const char *a = blob, *end = blob + len; a && a < end; a += strlen(a) + 1) {
		if (a != blob)
			putchar(' ');
		put_arg(a);
	}
}

static void put_exit(const struct mf_exit *e)
{
	if (!e->exited) {
		fputs("still running", stdout);
	} else if (e->signal) {
		const char *abbrev = sigabbrev_np(e->signal);
		if (abbrev)
			printf("killed by SIG%s", abbrev);
		else
			printf("killed by signal %d", e->signal);
	} else {
		printf("exit %d", e->status);
	}
}

/* A process node of the tree; `seen` once it is printed or queued. */
struct proc_node {
	const struct mf_process *p;
	bool seen;
};

/* Siblings: by binary, argv, exit, then pid (which only orders identical lines). */
static int cmp_sibling(const struct mf_process *a, const struct mf_process *b)
{
	int r = (a->binary != NULL) - (b->binary != NULL);
	if (!r && a->binary)
		r = strcmp(a->binary, b->binary);
	if (!r && a->argv && b->argv)
		r = memcmp(a->argv, b->argv, a->argv_len < b->argv_len ? a->argv_len : b->argv_len);
	if (!r)
		r = (a->argv_len > b->argv_len) - (a->argv_len < b->argv_len);
	if (!r)
		r = (a->exit.exited - b->exit.exited) * 2 + (a->exit.signal > b->exit.signal) -
		    (a->exit.signal < b->exit.signal);
	if (!r)
		r = (a->exit.status > b->exit.status) - (a->exit.status < b->exit.status);
	if (!r)
		r = (a->pid > b->pid) - (a->pid < b->pid);
	return r;
}

static int cmp_node_sibling(const void *x, const void *y)
{
	return cmp_sibling((*(struct proc_node *const *)x)->p, (*(struct proc_node *const *)y)->p);
}

static int cmp_node_ppid(const void *x, const void *y)
{
	const struct mf_process *a = (*(struct proc_node *const *)x)->p, *b = (*(struct proc_node *const *)y)->p;
	if (a->ppid != b->ppid)
		return a->ppid < b->ppid ? -1 : 1;
	return cmp_sibling(a, b);
}

static int cmp_pid(const void *x, const void *y)
{
	pid_t a = *(const pid_t *)x, b = *(const pid_t *)y;
	return (a > b) - (a < b);
}

struct proc_tree {
	struct proc_node **by_ppid;  /* children of one pid are adjacent, in sibling order */
	size_t n;
	struct { struct proc_node *node; size_t depth; } *stack;
};

static void print_process(const struct mf_process *p, size_t depth)
{
	printf("  %*s", (int)(2 * (depth < MAX_INDENT ? depth : MAX_INDENT)), "");
	if (depth > MAX_INDENT)
		printf("[depth %zu] ", depth);
	put_text(p->binary ? p->binary : "(no exec)");
	if (p->argv && p->argv_len) {
		fputs(": ", stdout);
		put_argv(p->argv, p->argv_len);
	}
	fputs(" (", stdout);
	if (p->detached)
		fputs("left running, untraced", stdout);
	else
		put_exit(&p->exit);
	fputs(")\n", stdout);
}

/* Print `root` and its descendants, depth first without recursion (a chain can be long). */
static void print_subtree(struct proc_tree *t, struct proc_node *root)
{
	size_t sp = 0;
	root->seen = true;
	t->stack[sp].node = root;
	t->stack[sp++].depth = 0;
	while (sp) {
		struct proc_node *node = t->stack[--sp].node;
		size_t depth = t->stack[sp].depth;
		pid_t pid = node->p->pid;
		print_process(node->p, depth);
		size_t lo = 0, hi = t->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (t->by_ppid[mid]->p->ppid < pid)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (hi = lo; hi < t->n && t->by_ppid[hi]->p->ppid == pid; hi++)
			;
		for (size_t k = hi; k-- > lo;) {
			if (t->by_ppid[k]->seen)
				continue;
			t->by_ppid[k]->seen = true;
			t->stack[sp].node = t->by_ppid[k];
			t->stack[sp++].depth = depth + 1;
		}
	}
}

/*
 * The process tree: the processes whose parent is not in the manifest are the
 * roots; children are indented under their parent. Processes in a parent
 * cycle (only a hand-edited manifest has one) are shown as roots at the end.
 */
static void print_processes(const struct manifest *m)
{
	struct proc_tree t = { .n = m->nprocs };
	struct proc_node *nodes = xcalloc(t.n + 1, sizeof(*nodes));
	struct proc_node **order = xmalloc((t.n + 1) * sizeof(*order));
	pid_t *pids = xmalloc((t.n + 1) * sizeof(*pids));
	t.by_ppid = xmalloc((t.n + 1) * sizeof(*t.by_ppid));
	t.stack = xmalloc((t.n + 1) * sizeof(*t.stack));
	for (size_t i = 0; i < t.n; i++) {
		nodes[i].p = m->procs[i];
		order[i] = t.by_ppid[i] = &nodes[i];
		pids[i] = m->procs[i]->pid;
	}
	qsort(order, t.n, sizeof(*order), cmp_node_sibling);
	qsort(t.by_ppid, t.n, sizeof(*t.by_ppid), cmp_node_ppid);
	qsort(pids, t.n, sizeof(*pids), cmp_pid);

	printf("processes:\n");
	if (!t.n)
		printf("  (none)\n");
	for (size_t i = 0; i < t.n; i++) {
		const struct mf_process *p = order[i]->p;
		if (!order[i]->seen && (p->ppid == p->pid || !bsearch(&p->ppid, pids, t.n, sizeof(*pids), cmp_pid)))
			print_subtree(&t, order[i]);
	}
	for (size_t i = 0; i < t.n; i++)
		if (!order[i]->seen)
			print_subtree(&t, order[i]);
	free(nodes);
	free(order);
	free(pids);
	free(t.by_ppid);
	free(t.stack);
}

/* "    file PATH (read, created, TYPE, via LIBRARY...)": how program `prog` used file `f`. */
static void print_file(const struct show *s, const char *prog, const struct mf_file *f)
{
	const char *last = NULL;
	fputs("    file ", stdout);
	put_text(f->path);
	printf(" (%s%s", manifest_access_name(f->access), f->access & ACCESS_CREATED ? ", created" : "");
	if (f->type)
		printf(", %s", f->type);
	for (size_t k = 0; k < f->n_opened_by; k++) {
		const struct mf_opener *o = &f->opened_by[k];
		if (strcmp(o->binary, prog) != 0 || !index_get(&s->lib_index, o->module) ||
		    (last && strcmp(last, o->module) == 0))
			continue;
		fputs(", via ", stdout);
		put_text(o->module);
		last = o->module;
	}
	fputs(")\n", stdout);
}

/* Each program with the libraries it loaded and the files it opened. */
static void print_binaries(const struct show *s)
{
	const struct manifest *m = s->m;
	printf("binaries:\n");
	if (!s->n_progs)
		printf("  (none)\n");
	for (size_t i = 0; i < s->n_progs; i++) {
		const struct show_prog *pr = &s->progs[i];
		fputs("  ", stdout);
		put_text(pr->path);
		if (pr->b && pr->b->target) {
			fputs(" -> ", stdout);
			put_text(pr->b->target);
		}
		if (!pr->b)
			fputs(" (not in binaries)", stdout);
		else if (pr->b->exec_count)
			printf(" (%lu exec%s)", pr->b->exec_count, pr->b->exec_count == 1 ? "" : "s");
		putchar('\n');
		for (size_t k = 0; k < pr->libs.n; k++) {
			const struct mf_library *l = m->sorted_libraries[pr->libs.v[k]];
			fputs("    library ", stdout);
			put_text(l->path);
			if (l->how)
				printf(" (%s)", l->how);
			putchar('\n');
		}
		for (size_t k = 0; k < pr->files.n; k++)
			print_file(s, pr->path, m->sorted_files[pr->files.v[k]]);
	}
}

/* The packages owning what the run used, and what no package owns. */
static void print_packages(const struct manifest *m)
{
	if (!m->packages_known) {
		if (m->packages_lookup) {
			fputs("\npackages: ", stdout);
			put_text(m->packages_lookup);
			putchar('\n');
		}
		return;
	}
	printf("\npackages: %zu\n", m->n_packages);
	for (size_t i = 0; i < m->n_packages; i++) {
		const struct mf_package *p = m->sorted_packages[i];
		fputs("  ", stdout);
		put_text(p->name);
		putchar(' ');
		put_text(p->version);
		putchar(' ');
		put_text(p->arch);
		putchar('\n');
	}
	printf("unpackaged: %zu\n", m->n_unpackaged);
	for (size_t i = 0; i < m->n_unpackaged; i++) {
		fputs("  ", stdout);
		put_text(m->unpackaged[i]);
		putchar('\n');
	}
}

/* Debian's name for the architecture of `machine` (uname -m), or NULL. */
static const char *debian_arch(const char *machine)
{
	static const char *const names[][2] = {
		{ "x86_64", "amd64" }, { "aarch64", "arm64" }, { "i686", "i386" }, { "i386", "i386" },
		{ "ppc64le", "ppc64el" }, { "s390x", "s390x" }, { "riscv64", "riscv64" }, { "armv7l", "armhf" },
	};
	for (size_t i = 0; machine && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(machine, names[i][0]) == 0)
			return names[i][1];
	return NULL;
}

/*
 * --apt: the apt-get line that installs the same package set, each pinned to
 * its version; a package of another architecture than the host's is named
 * NAME:ARCH. Returns false (after a message) when ownership was not looked up
 * or came from rpm.
 */
static bool print_apt(const struct manifest *m, const char *file, const struct mf_origin *og)
{
	if (!m->packages_known) {
		fprintf(stderr, "%s: %s: package ownership was not looked up (%s)\n", program_name, file,
			m->packages_lookup ? m->packages_lookup : "no run.packages");
		return false;
	}
	if (m->packages_lookup && strcmp(m->packages_lookup, "rpm") == 0) {
		fprintf(stderr, "%s: %s: the packages are rpm packages: there is no apt-get line for them\n",
			program_name, file);
		return false;
	}
	const char *native = debian_arch(og->machine);
	fputs("apt-get install -y", stdout);
	for (size_t i = 0; i < m->n_packages; i++) {
		const struct mf_package *p = m->sorted_packages[i];
		bool foreign = strcmp(p->arch, "all") != 0 && (!native || strcmp(p->arch, native) != 0);
		char word[1024];
		snprintf(word, sizeof(word), "%s%s%s=%s", p->name, foreign ? ":" : "", foreign ? p->arch : "", p->version);
		putchar(' ');
		put_arg(word);
	}
	putchar('\n');
	return true;
}

static void print_summary(const struct show *s, const char *file, const struct mf_origin *og)
{
	const struct manifest *m = s->m;
	fputs("manifest: ", stdout);
	put_text(file);
	printf("\nrun: %s:", og->n_attached ? "attach" : og->mode);
	for (size_t i = 0; i < og->n_command; i++) {
		putchar(' ');
		put_arg(og->command[i]);
	}
	if (m->traced) {
		fputs(" (", stdout);
		put_exit(&og->exit);
		if (!og->follow_daemons)
			fputs(", daemons not followed", stdout);
		fputs(og->complete ? ")" : ", incomplete)", stdout);
	}
	if (m->traced && og->trace != TRACE_ALL) {
		char names[128];
		printf("\ntraced: only %s (-e trace): what other calls used is not recorded",
		       og->trace ? trace_filter_format(og->trace, ", ", names, sizeof(names)) : "processes and exec");
	}
	if (og->events_file) {
		fputs("\nevents: ", stdout);
		put_text(og->events_file);
		printf(" (%.0f calls", og->events_count);
		if (og->events_tail)
			printf("; --events-tail %.0f", og->events_tail);
		fputs(")", stdout);
	}
	printf("\ncounts: %zu binaries, %zu libraries, %zu files, %zu missing, %zu processes, %zu warnings\n",
	       m->n_binaries, m->n_libraries, m->n_files, m->n_missing, m->nprocs, m->nwarnings);
	for (size_t i = 0; i < m->nwarnings; i++) {
		fputs("warning: ", stdout);
		put_text(m->warnings[i].kind);
		printf(" (%lu): ", m->warnings[i].count);
		put_text(m->warnings[i].message);
		putchar('\n');
	}
	putchar('\n');
	print_processes(m);
	putchar('\n');
	print_binaries(s);
	print_packages(m);
}

/*
 * A DOT string: quotes and backslashes escaped (a backslash is doubled so
 * that Graphviz's label escapes, \n \l \N ..., never apply), control
 * characters and bytes that are not UTF-8 shown as \xHH, UTF-8 as it is.
 */
static void put_dot_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = shown_as_is(p);
		if (*p == '"')
			fputs("\\\"", stdout);
		else if (*p == '\\')
			fputs("\\\\", stdout);
		else if (!n)
			printf("\\\\x%02x", *p);
		else
			fwrite(p, 1, n, stdout);
		p += n ? n : 1;
	}
	putchar('"');
}

/* Binaries -> libraries -> files: nodes b<i>, l<i>, f<i> in sorted order, then the edges. */
static void print_dot(const struct show *s)
{
	const struct manifest *m = s->m;
	printf("digraph fingerprint {\n"
	       "\trankdir=LR;\n"
	       "\tnode [shape=box, fontsize=10];\n");
	for (size_t i = 0; i < s->n_progs; i++) {
		printf("\tb%zu [label=", i);
		put_dot_string(s->progs[i].path);
		printf(", style=%s];\n", s->progs[i].b ? "bold" : "dashed");
	}
	for (size_t i = 0; i < m->n_libraries; i++) {
		printf("\tl%zu [label=", i);
		put_dot_string(m->sorted_libraries[i]->path);
		printf(", shape=ellipse];\n");
	}
	for (size_t i = 0; i < m->n_files; i++) {
		printf("\tf%zu [label=", i);
		put_dot_string(m->sorted_files[i]->path);
		printf(", shape=note];\n");
	}
	for (size_t i = 0; i < s->n_progs; i++) {
		for (size_t k = 0; k < s->progs[i].libs.n; k++)
			printf("\tb%zu -> l%zu;\n", i, s->progs[i].libs.v[k]);
		for (size_t k = 0; k < s->progs[i].files.n; k++)
			printf("\tb%zu -> f%zu;\n", i, s->progs[i].files.v[k]);
	}
	for (size_t i = 0; i < m->n_libraries; i++)
		for (size_t k = 0; k < s->lib_files[i].n; k++)
			printf("\tl%zu -> f%zu;\n", i, s->lib_files[i].v[k]);
	printf("}\n");
}

int show_main(int argc, char **argv)
{
	struct show_opts o;
	struct mf_origin og;
	struct manifest *m;
	struct show s;
	char err[1024];

	cli_parse_show(argc, argv, &o);
	if (manifest_json_read(o.file, &m, &og, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "%s: %s", o.file, err);
	show_build(&s, m);
	int status = 0;
	if (o.apt)
		status = print_apt(m, o.file, &og) ? 0 : 1;
	else if (o.dot)
		print_dot(&s);
	else
		print_summary(&s, o.file, &og);
	if (fflush(stdout) != 0 || ferror(stdout))
		die_errno(EXIT_USAGE, "cannot write the summary");
	show_free(&s);
	mf_origin_free(&og);
	manifest_free(m);
	return status;
}
