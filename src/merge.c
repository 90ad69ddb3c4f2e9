#include "config.h"
#include "merge.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "elfinfo.h"
#include "manifest.h"
#include "manifest_json.h"
#include "trace_filter.h"
#include "provenance.h"
#include "util.h"

/* The merge in progress: the merged model and the runs of the inputs read so far. */
struct merge {
	struct manifest *out;
	char **runs;          /* owned: each input's kept run texts, in input order */
	size_t n_runs, runs_cap;
	trace_set trace;      /* the union of the inputs' run.trace (absent: all) */
};

/* `s`, a string of an input, interned in the merged manifest; NULL stays NULL. */
static const char *own(struct merge *mg, const char *s)
{
	return s ? manifest_intern(mg->out, s) : NULL;
}

/*
 * Add where the input's entry `path` of section `s` was seen to its merged
 * provenance: a merged input's own places and variants; otherwise the
 * input's host and rank (`here`) with the entry's `sha256`.
 */
static void merge_seen(struct merge *mg, const struct manifest *in, const struct prov_place *here,
		       enum prov_section s, const char *path, const char *sha256)
{
	struct prov_entry *e = prov_entry(mg->out->prov, s, own(mg, path));
	if (!in->prov) {
		prov_seen(e, own(mg, sha256), here->host, here->rank);
		return;
	}
	const struct prov_entry *src = prov_lookup(in->prov, s, path);
	if (!src)
		return;
	for (size_t i = 0; i < src->seen.n; i++)
		prov_places_add(&e->seen, own(mg, src->seen.v[i].host), src->seen.v[i].rank);
	for (size_t k = 0; k < src->n_variants; k++) {
		const struct prov_variant *v = &src->variants[k];
		for (size_t i = 0; i < v->seen.n; i++)
			prov_seen(e, own(mg, v->sha256), own(mg, v->seen.v[i].host), v->seen.v[i].rank);
	}
}

/*
 * The ELF or script facts of the first input that has them, moved from
 * `src`. The sha256 is settled at the end, from the provenance.
 */
static void take_facts(struct merge *mg, struct mf_facts *dst, struct mf_facts *src)
{
	if (!dst->elf && !dst->elf_error && !dst->script_interp) {
		dst->elf = steal_pointer(&src->elf);
		if (dst->elf)
			dst->elf->machine = own(mg, dst->elf->machine); /* interned by the input */
		dst->elf_error = steal_pointer(&src->elf_error);
		dst->script_interp = steal_pointer(&src->script_interp);
		dst->script_args = steal_pointer(&src->script_args);
		dst->setuid = src->setuid;
		dst->setgid = src->setgid;
	}
	dst->hash_failed |= src->hash_failed;
}

/* The package owning an input's entry, as the merged manifest's own; NULL stays NULL. */
static const struct mf_package *own_package(struct merge *mg, const struct mf_package *p)
{
	return p ? manifest_add_package(mg->out, p->name, p->version, p->arch) : NULL;
}

static void merge_strset(struct merge *mg, struct strset *dst, const struct strset *src)
{
	for (size_t i = 0; i < src->n; i++)
		strset_add(dst, own(mg, src->v[i]));
}

static void merge_binaries(struct merge *mg, struct manifest *in, const struct prov_place *here)
{
	for (size_t i = 0; i < in->n_binaries; i++) {
		struct mf_binary *b = in->sorted_binaries[i];
		struct mf_binary *d = manifest_binary(mg->out, b->path);
		if (!d->target)
			d->target = own(mg, b->target);
		if (!d->package)
			d->package = own_package(mg, b->package);
		d->exec_count += b->exec_count;
		take_facts(mg, &d->facts, &b->facts);
		MAP_FOREACH(&b->env, k)
			manifest_add_env(mg->out, d, b->env.keys[k], b->env.lens[k] + 1);
		MAP_FOREACH(&b->cmdlines, k)
			manifest_add_cmdline(mg->out, d, b->cmdlines.keys[k], b->cmdlines.lens[k]);
		merge_seen(mg, in, here, PROV_BINARIES, b->path, b->facts.sha256);
	}
}

static void merge_libraries(struct merge *mg, struct manifest *in, const struct prov_place *here)
{
	for (size_t i = 0; i < in->n_libraries; i++) {
		struct mf_library *l = in->sorted_libraries[i];
		struct mf_library *d = manifest_add_library(mg->out, l->path, NULL);
		if (!d->target)
			d->target = own(mg, l->target);
		if (!d->package)
			d->package = own_package(mg, l->package);
		if (!d->how)
			d->how = own(mg, l->how);
		if (!d->found_via) {
			d->found_via = own(mg, l->found_via);
			d->found_dir = own(mg, l->found_dir);
		}
		merge_strset(mg, &d->loaded_by, &l->loaded_by);
		take_facts(mg, &d->facts, &l->facts);
		merge_seen(mg, in, here, PROV_LIBRARIES, l->path, l->facts.sha256);
	}
}

static void merge_files(struct merge *mg, struct manifest *in, const struct prov_place *here)
{
	for (size_t i = 0; i < in->n_files; i++) {
		struct mf_file *f = in->sorted_files[i];
		bool fresh = !strmap_get(&mg->out->files, f->path);
		struct mf_file *d = manifest_file(mg->out, f->path);
		d->access |= f->access;
		for (size_t k = 0; k < f->n_opened_by; k++) {
			const struct mf_opener *o = &f->opened_by[k];
			struct mf_opener by = { own(mg, o->binary), own(mg, o->module), own(mg, o->function),
						own(mg, o->for_lib), o->unknown, o->loader };
			manifest_add_file(mg->out, f->path, f->access, &by);
		}
		if (fresh) { /* what the path is: as the first input saw it (a regular file has no type) */
			d->target = own(mg, f->target);
			d->type = own(mg, f->type);
		}
		if (!d->package)
			d->package = own_package(mg, f->package);
		d->hash_failed |= f->hash_failed;
		merge_seen(mg, in, here, PROV_FILES, f->path, f->sha256);
	}
}

static void merge_missing(struct merge *mg, struct manifest *in, const struct prov_place *here)
{
	for (size_t i = 0; i < in->n_missing; i++) {
		struct mf_missing *p = in->sorted_missing[i];
		struct mf_missing *d = manifest_add_missing(mg->out, p->path, NULL);
		merge_strset(mg, &d->probed_by, &p->probed_by);
		merge_strset(mg, &d->tried, &p->tried);
		merge_seen(mg, in, here, PROV_MISSING, p->path, NULL);
	}
}

/* Read input `file` and merge it in, or die with exit 2 and one line naming it and the problem. */
static void merge_input(struct merge *mg, const char *file)
{
	char err[1024];
	struct manifest *in;
	struct mf_origin og;
	if (manifest_json_read(file, &in, &og, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "%s: %s", file, err);
	struct prov_place here = { own(mg, og.hostname), og.rank };
	merge_binaries(mg, in, &here);
	merge_libraries(mg, in, &here);
	merge_files(mg, in, &here);
	merge_missing(mg, in, &here);
	mg->out->callers |= in->callers;
	mg->out->traced |= in->traced;
	mg->out->packages_known |= in->packages_known;
	mg->trace |= og.trace;
	xgrow(&mg->runs, &mg->runs_cap, mg->n_runs + og.n_runs, sizeof(*mg->runs));
	for (size_t i = 0; i < og.n_runs; i++)
		mg->runs[mg->n_runs++] = steal_pointer(&og.runs[i]);
	mf_origin_free(&og);
	manifest_free(in);
}

/*
 * The merged entry's sha256 from its provenance: the one digest every
 * place recorded; none (and not failed) when they differ, as "variants"
 * then holds them side by side.
 */
static void settle_digest(const struct merge *mg, enum prov_section s, const char *path, char **sha256,
			  bool *hash_failed)
{
	const struct prov_entry *e = prov_lookup(mg->out->prov, s, path);
	if (!e || e->n_variants == 0)
		return;
	free(*sha256);
	*sha256 = NULL;
	if (e->n_variants == 1 && e->variants[0].sha256)
		*sha256 = xstrdup(e->variants[0].sha256);
	if (e->n_variants > 1 || *sha256)
		*hash_failed = false;
}

static bool is_code(const struct manifest *m, const char *path)
{
	return path && (strmap_get(&m->binaries, path) || strmap_get(&m->libraries, path));
}

/* Sorted views, digests settled, and files dropped that are a binary or library on another host. */
static void merge_finish(struct merge *mg)
{
	struct manifest *m = mg->out;
	struct map targets = { 0 };
	manifest_sort(m);
	for (size_t i = 0; i < m->n_binaries; i++) {
		struct mf_binary *b = m->sorted_binaries[i];
		settle_digest(mg, PROV_BINARIES, b->path, &b->facts.sha256, &b->facts.hash_failed);
		if (b->target)
			*map_slot(&targets, b->target, strlen(b->target), NULL) = (void *)b->target;
	}
	for (size_t i = 0; i < m->n_libraries; i++) {
		struct mf_library *l = m->sorted_libraries[i];
		settle_digest(mg, PROV_LIBRARIES, l->path, &l->facts.sha256, &l->facts.hash_failed);
		if (l->target)
			*map_slot(&targets, l->target, strlen(l->target), NULL) = (void *)l->target;
	}
	size_t n = 0;
	for (size_t i = 0; i < m->n_files; i++) {
		struct mf_file *f = m->sorted_files[i];
		settle_digest(mg, PROV_FILES, f->path, &f->sha256, &f->hash_failed);
		if (is_code(m, f->path) || is_code(m, f->target) || strmap_get(&targets, f->path))
			continue;
		m->sorted_files[n++] = f;
	}
	m->n_files = n;
	map_free(&targets);
}

/* "node1 (ranks 0, 1) and node2 (rank 2)" for a set of places, into `b`. */
static void places_text(struct buf *b, const struct prov_places *set)
{
	for (size_t i = 0; i < set->n;) {
		const struct prov_place *p = &set->v[i];
		const char *host = p->host ? p->host : "an unnamed host";
		size_t k = i;
		while (k < set->n && set->v[k].host == p->host)
			k++;
		if (i)
			buf_append(b, k == set->n ? " and " : ", ", k == set->n ? 5 : 2);
		buf_append(b, host, strlen(host));
		size_t ranked = 0;
		for (size_t j = i; j < k; j++) {
			char num[32];
			if (set->v[j].rank < 0)
				continue;
			int len = snprintf(num, sizeof(num), "%s%ld", ranked++ ? ", " : "", set->v[j].rank);
			if (ranked == 1) {
				bool several = k - j > 1;
				buf_append(b, several ? " (ranks " : " (rank ", several ? 8 : 7);
			}
			buf_append(b, num, (size_t)len);
		}
		if (ranked)
			buf_append(b, ")", 1);
		i = k;
	}
}

/*
 * One line on stderr per entry whose places recorded different sha256s:
 * "conflict: PATH: sha256 1a2b3c4d5e6f on node1 (rank 0); sha256 ... on
 * node2 (rank 1)". Returns how many.
 */
static size_t report_conflicts(const struct merge *mg, enum prov_section s, void *const *entries, size_t n)
{
	size_t conflicts = 0;
	for (size_t i = 0; i < n; i++) {
		const char *path = *(const char *const *)entries[i]; /* every mf_* entry starts with its path */
		const struct prov_entry *e = prov_lookup(mg->out->prov, s, path);
		if (!e || prov_digests(e) < 2)
			continue;
		conflicts++;
		struct buf b = { 0 };
		for (size_t k = 0; k < e->n_variants; k++) {
			const struct prov_variant *v = &e->variants[k];
			if (!v->sha256)
				continue;
			char head[64];
			int len = snprintf(head, sizeof(head), "%ssha256 %.12s on ", b.len ? "; " : "", v->sha256);
			buf_append(&b, head, (size_t)len);
			places_text(&b, &v->seen);
		}
		fprintf(stderr, "%s: conflict: %s: %s\n", program_name, path, b.data);
		buf_free(&b);
	}
	return conflicts;
}

int merge_main(int argc, char **argv)
{
	struct merge_opts o;
	struct merge mg = { 0 };
	struct json_out out;
	cli_parse_merge(argc, argv, &o);

	mg.out = manifest_new();
	mg.out->keep_secrets = true; /* as written: redacted values stay redacted */
	mg.out->prov = prov_new();
	for (char **f = o.inputs; *f; f++)
		merge_input(&mg, *f);
	merge_finish(&mg);
	if (mg.out->packages_known)
		manifest_finalize_packages(mg.out);

	struct manifest *m = mg.out;
	size_t conflicts = report_conflicts(&mg, PROV_BINARIES, (void *const *)m->sorted_binaries, m->n_binaries);
	conflicts += report_conflicts(&mg, PROV_LIBRARIES, (void *const *)m->sorted_libraries, m->n_libraries);
	conflicts += report_conflicts(&mg, PROV_FILES, (void *const *)m->sorted_files, m->n_files);

	int r = json_out_open(&out, o.output);
	if (r < 0) {
		errno = -r;
		die_errno(EXIT_USAGE, "cannot write the manifest to '%s'", o.output);
	}
	r = manifest_json_write_merged(&out, m, mg.runs, mg.n_runs);
	if (r < 0) {
		errno = -r;
		die_errno(EXIT_INTERNAL, "cannot write the manifest to '%s'", o.output);
	}
	if (verbosity >= 1 && mg.trace != TRACE_ALL) {
		char names[128];
		fprintf(stderr, "%s: note: every input recorded only some calls (-e trace): together, %s\n",
			program_name, mg.trace ? trace_filter_format(mg.trace, ", ", names, sizeof(names))
					       : "processes and exec");
	}
	if (verbosity >= 1)
		fprintf(stderr, "%s: %s: %zu runs, %zu binaries, %zu libraries, %zu files, %zu missing, %zu conflicts\n",
			program_name, strcmp(o.output, "-") ? o.output : "(stdout)", mg.n_runs, m->n_binaries,
			m->n_libraries, m->n_files, m->n_missing, conflicts);
	for (size_t i = 0; i < mg.n_runs; i++)
		free(mg.runs[i]);
	free(mg.runs);
	manifest_free(m);
	return conflicts && o.strict ? 1 : 0;
}
