#include "config.h"
#include "manifest_json.h"
#include "diff.h"
#include "elfinfo.h"
#include "manifest_text.h"
#include "provenance.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* A JSON string for `len` bytes that may not be UTF-8, as manifest_text_escape writes them. */
static cJSON *jstr_n(const char *s, size_t len)
{
	autofree char *text = manifest_text_escape(s, len);
	return cJSON_CreateString(text);
}

/*
 * The JSON string of `s` (null for NULL), escaped when it must be. With
 * `ref`, a string written as it is points at `s` (not copied, not freed
 * with the tree): for strings of the model or the run, which outlive the
 * tree (it is printed and deleted before they are freed).
 */
static cJSON *jtext(const char *s, bool ref)
{
	if (!s)
		return cJSON_CreateNull();
	size_t len = strlen(s);
	if (manifest_text_needs_escape(s, len))
		return jstr_n(s, len);
	return ref ? cJSON_CreateStringReference(s) : cJSON_CreateString(s);
}

static cJSON *jstr(const char *s)
{
	return jtext(s, false);
}

static cJSON *jref(const char *s)
{
	return jtext(s, true);
}


/* A JSON string of the base64 of `s`, or NULL when `s` is written as it is (no "_b64" is needed). */
static cJSON *jb64_n(const char *s, size_t len)
{
	if (!manifest_text_needs_escape(s, len))
		return NULL;
	autofree char *b = b64_encode(s, len);
	return cJSON_CreateString(b);
}

/*
 * An integer, as the same digits cJSON prints for it, but written as they
 * are: cJSON prints every number with "%1.15g" and reads it back to check,
 * a few microseconds each (thousands for a big process tree).
 */
static cJSON *jint(long long v)
{
	char s[24], *p = s + sizeof(s);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	*--p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	return cJSON_CreateRaw(p);
}

/* The keys of add_int, add_str, add_ref and add_exact are string literals: not copied. */
static void add_int(cJSON *obj, const char *key, long long v)
{
	cJSON_AddItemToObjectCS(obj, key, jint(v));
}

static void add_str(cJSON *obj, const char *key, const char *s)
{
	cJSON_AddItemToObjectCS(obj, key, jstr(s));
}

/* As add_str, for a string of the model or the run (jref). */
static void add_ref(cJSON *obj, const char *key, const char *s)
{
	cJSON_AddItemToObjectCS(obj, key, jref(s));
}

/*
 * `key`: the text of `s`, a path or another string of the model or the run
 * that came from the traced programs; and when that text is escaped,
 * `key`_b64: the exact bytes.
 */
static void add_exact(cJSON *obj, const char *key, const char *s)
{
	add_ref(obj, key, s);
	cJSON *b = s ? jb64_n(s, strlen(s)) : NULL;
	if (b) {
		char k[64];
		snprintf(k, sizeof(k), "%s_b64", key);
		cJSON_AddItemToObject(obj, k, b);
	}
}

/* Add `item` under a key that may not be UTF-8 (a path), escaped like any string. */
static void add_item_escaped_key(cJSON *obj, const char *key, cJSON *item)
{
	cJSON *k = jstr(key);
	cJSON_AddItemToObject(obj, cJSON_GetStringValue(k), item);
	cJSON_Delete(k);
}

/* A JSON array of the strings in a NUL-separated blob (the last one may lack its NUL). */
static cJSON *blob_array(const char *blob, size_t len)
{
	cJSON *a = cJSON_CreateArray();
	for (const char *s = blob, *end = blob + len; s < end; s += strnlen(s, end - s) + 1)
		cJSON_AddItemToArray(a, jstr_n(s, strnlen(s, end - s)));
	return a;
}

/* The base64 of every string of a NUL-separated blob. */
static cJSON *blob_b64_all(const char *blob, size_t len)
{
	cJSON *a = cJSON_CreateArray();
	for (const char *s = blob, *end = blob + len; s < end; s += strnlen(s, end - s) + 1) {
		autofree char *b = b64_encode(s, strnlen(s, end - s));
		cJSON_AddItemToArray(a, cJSON_CreateString(b));
	}
	return a;
}

/* The base64 of every string of the blob, or NULL when each is written as it is. */
static cJSON *blob_b64(const char *blob, size_t len)
{
	return manifest_text_list_escaped(blob, len) ? blob_b64_all(blob, len) : NULL;
}

/* `key`: the argv (or other string list) in `blob`, and `key`_b64 when one of its strings is escaped. */
static void add_argv(cJSON *obj, const char *key, const char *blob, size_t len)
{
	cJSON_AddItemToObject(obj, key, blob_array(blob, len));
	cJSON *b = blob_b64(blob, len);
	if (b) {
		char k[64];
		snprintf(k, sizeof(k), "%s_b64", key);
		cJSON_AddItemToObject(obj, k, b);
	}
}

/* A NUL-separated blob of the strings of `v` (NULL-terminated), in `b`. */
static void strv_blob(char *const *v, struct buf *b)
{
	for (; v && *v; v++)
		buf_append(b, *v, strlen(*v) + 1);
}

static cJSON *strset_array(const struct strset *s)
{
	const char **v = strset_sorted(s);
	manifest_text_sort_strings(v, s->n);
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < s->n; i++)
		cJSON_AddItemToArray(a, jref(v[i]));
	free(v);
	return a;
}

static cJSON *exit_json(const struct mf_exit *e)
{
	if (!e->exited)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	if (e->signal) {
		add_int(o, "signal", e->signal);
		char name[32] = "SIG";
		const char *abbrev = sigabbrev_np(e->signal);
		snprintf(name + 3, sizeof(name) - 3, "%s", abbrev ? abbrev : "UNKNOWN");
		add_str(o, "signal_name", name);
	} else {
		add_int(o, "status", e->status);
	}
	return o;
}

static cJSON *run_json(const struct manifest *m, const struct run_info *r)
{
	cJSON *o = cJSON_CreateObject();
	char when[32];
	struct tm tm;
	gmtime_r(&r->start.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);

	struct buf cmd = { 0 };
	strv_blob(r->command, &cmd);
	add_argv(o, "command", cmd.data, cmd.len);
	buf_free(&cmd);
	add_exact(o, "cwd", r->cwd);
	add_str(o, "start", when);
	cJSON_AddNumberToObject(o, "duration_s", (double)(long long)(r->duration_s * 1000 + 0.5) / 1000);
	if (r->scan) {
		add_str(o, "mode", "scan");
		add_str(o, "root", r->root);
	} else {
		add_str(o, "mode", "trace");
		cJSON_AddItemToObjectCS(o, "exit", exit_json(&r->exit));
	}
	cJSON_AddBoolToObject(o, "complete", r->complete);
	if (r->has_rank)
		add_int(o, "rank", r->rank);
	if (!r->scan) {
		cJSON_AddBoolToObject(o, "seccomp", r->seccomp);
		cJSON_AddBoolToObject(o, "follow_daemons", r->follow_daemons);
	}
	if (!r->scan && r->has_trace) {
		cJSON *a = cJSON_AddArrayToObject(o, "trace");
		for (int i = 0; i < TRACE_NCALLS; i++)
			if (r->trace & TRACE_BIT(i))
				cJSON_AddItemToArray(a, cJSON_CreateString(trace_filter_name((enum trace_call)i)));
	}
	if (r->n_attach) {
		cJSON *a = cJSON_AddArrayToObject(o, "attached");
		for (size_t i = 0; i < r->n_attach; i++)
			cJSON_AddItemToArray(a, jint(r->attach[i]));
	}
	if (r->events_file) {
		cJSON *e = cJSON_AddObjectToObject(o, "events");
		add_exact(e, "file", r->events_file);
		add_int(e, "count", (long long)r->events_count);
		if (r->events_tail)
			add_int(e, "tail", (long long)r->events_tail);
	}
	if (m->packages_lookup)
		add_str(o, "packages", m->packages_lookup);
	cJSON *w = cJSON_AddArrayToObject(o, "warnings");
	for (size_t i = 0; i < m->nwarnings; i++) {
		cJSON *e = cJSON_CreateObject();
		add_str(e, "kind", m->warnings[i].kind);
		add_int(e, "count", (long long)m->warnings[i].count);
		add_str(e, "message", m->warnings[i].message);
		cJSON_AddItemToArray(w, e);
	}
	return o;
}

static cJSON *host_json(void)
{
	cJSON *o = cJSON_CreateObject();
	struct utsname u;
	if (uname(&u) == 0) {
		add_str(o, "hostname", u.nodename);
		add_str(o, "kernel", u.release);
		add_str(o, "machine", u.machine);
	}
	struct buf b = { 0 };
	const char *os = NULL;
	if (buf_read_file(&b, "/etc/os-release") > 0 || buf_read_file(&b, "/usr/lib/os-release") > 0) {
		char *line = strstr(b.data, "PRETTY_NAME=");
		if (line && (line == b.data || line[-1] == '\n')) {
			line += 12;
			line[strcspn(line, "\n")] = '\0';
			size_t n = strlen(line);
			if (n >= 2 && (line[0] == '"' || line[0] == '\'') && line[n - 1] == line[0]) {
				line[n - 1] = '\0';
				line++;
			}
			os = line;
		}
	}
	add_str(o, "os", os);
	buf_free(&b);
	return o;
}

static cJSON *strv_n_array(char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, jref(v[i]));
	return a;
}

static cJSON *elf_json(const struct elfinfo *e)
{
	cJSON *o = cJSON_CreateObject();
	add_int(o, "class", e->elfclass);
	add_ref(o, "machine", e->machine);
	add_ref(o, "type", elfinfo_type_name(e->type));
	add_ref(o, "interp", e->interp);
	add_ref(o, "soname", e->soname);
	cJSON_AddItemToObjectCS(o, "needed", strv_n_array(e->needed, e->n_needed));
	add_ref(o, "rpath", e->rpath);
	add_ref(o, "runpath", e->runpath);
	add_ref(o, "build_id", e->build_id);
	cJSON *req = cJSON_CreateObject();
	cJSON_AddItemToObjectCS(o, "requires_versions", req);
	for (size_t i = 0; i < e->n_requires; i++)
		add_item_escaped_key(req, e->requires[i].file,
				      strv_n_array(e->requires[i].versions, e->requires[i].n_versions));
	cJSON_AddItemToObjectCS(o, "provides_versions", strv_n_array(e->provides, e->n_provides));
	cJSON_AddItemToObjectCS(o, "stripped", cJSON_CreateBool(e->stripped));
	return o;
}

/* The facts of a binary or library: "elf" (or "script"), and "sha256" when hashing was asked for. */
static void add_facts(cJSON *o, const struct mf_facts *f)
{
	if (f->script_interp) {
		cJSON *s = cJSON_AddObjectToObject(o, "script");
		add_str(s, "interpreter", f->script_interp);
		add_str(s, "args", f->script_args);
	} else if (f->elf) {
		cJSON_AddItemToObjectCS(o, "elf", elf_json(f->elf));
	} else if (f->elf_error) {
		cJSON_AddNullToObject(o, "elf");
		add_str(o, "elf_error", f->elf_error);
	}
	if (f->sha256 || f->hash_failed)
		add_ref(o, "sha256", f->sha256);
	if (f->setuid)
		cJSON_AddTrueToObject(o, "setuid");
	if (f->setgid)
		cJSON_AddTrueToObject(o, "setgid");
}

static cJSON *package_json(const struct mf_package *p)
{
	if (!p)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	add_ref(o, "name", p->name);
	add_ref(o, "version", p->version);
	add_ref(o, "arch", p->arch);
	return o;
}

/* "package": the owner, or null; absent when ownership was not looked up. */
static void add_package(cJSON *o, const struct manifest *m, const struct mf_package *p)
{
	if (m->packages_known)
		cJSON_AddItemToObjectCS(o, "package", package_json(p));
}

/* [{"host": ..., "rank": N}]: "host" null when unknown, "rank" left out when none. */
static cJSON *places_json(const struct prov_places *set)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; set && i < set->n; i++) {
		cJSON *o = cJSON_CreateObject();
		add_str(o, "host", set->v[i].host);
		if (set->v[i].rank >= 0)
			add_int(o, "rank", set->v[i].rank);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/*
 * A merged manifest's provenance of one entry: "seen_on", and "variants"
 * ([{"sha256", "seen_on"}] by digest, null for none recorded) when its
 * places did not all record the same sha256.
 */
static void add_provenance(cJSON *o, const struct manifest *m, enum prov_section s, const char *path)
{
	if (!m->prov)
		return;
	const struct prov_entry *e = prov_lookup(m->prov, s, path);
	cJSON_AddItemToObjectCS(o, "seen_on", places_json(e ? &e->seen : NULL));
	if (!e || e->n_variants < 2)
		return;
	cJSON *a = cJSON_AddArrayToObject(o, "variants");
	for (size_t k = 0; k < e->n_variants; k++) {
		cJSON *v = cJSON_CreateObject();
		add_str(v, "sha256", e->variants[k].sha256);
		cJSON_AddItemToObjectCS(v, "seen_on", places_json(&e->variants[k].seen));
		cJSON_AddItemToArray(a, v);
	}
}

static cJSON *binary_json(const struct manifest *m, size_t i)
{
	const struct mf_binary *b = m->sorted_binaries[i];
	cJSON *o = cJSON_CreateObject();
	add_exact(o, "path", b->path);
	if (b->target)
		add_exact(o, "target", b->target);
	add_package(o, m, b->package);
	add_int(o, "exec_count", (long long)b->exec_count);
	add_facts(o, &b->facts);
	add_provenance(o, m, PROV_BINARIES, b->path);
	return o;
}

/*
 * Each library's "opened" list: the files, in the order written, whose
 * openers name it as their module. Made in one pass over the files before
 * the libraries are written (looking through every file for each library
 * took libraries x files steps).
 */
struct path_list {
	const char **v;
	size_t n, cap;
};
static struct path_list *opened_lists; /* by index in sorted_libraries, while write_manifest runs */

static struct path_list *opened_lists_make(const struct manifest *m)
{
	if (!m->callers || !m->n_libraries)
		return NULL;
	struct path_list *lists = xcalloc(m->n_libraries, sizeof(*lists));
	struct map index = { 0 }; /* library path -> its index + 1 */
	for (size_t i = 0; i < m->n_libraries; i++) {
		const char *p = m->sorted_libraries[i]->path;
		*map_slot(&index, p, strlen(p), NULL) = (void *)(uintptr_t)(i + 1);
	}
	for (size_t i = 0; i < m->n_files; i++) {
		const struct mf_file *f = m->sorted_files[i];
		for (size_t k = 0; k < f->n_opened_by; k++) {
			const char *module = f->opened_by[k].module;
			uintptr_t at = module ? (uintptr_t)strmap_get(&index, module) : 0;
			if (!at)
				continue;
			struct path_list *l = &lists[at - 1];
			if (l->n && l->v[l->n - 1] == f->path)
				continue; /* another opener of this file in the same library */
			xgrow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
			l->v[l->n++] = f->path;
		}
	}
	map_free(&index);
	return lists;
}

static void opened_lists_free(struct path_list *lists, size_t n)
{
	for (size_t i = 0; lists && i < n; i++)
		free(lists[i].v);
	free(lists);
}

/* "opened" of library `i`, when it opened any file. */
static void add_opened(cJSON *o, size_t i)
{
	const struct path_list *l = &opened_lists[i];
	if (!l->n)
		return;
	cJSON *a = cJSON_CreateArray();
	cJSON_AddItemToObjectCS(o, "opened", a);
	for (size_t k = 0; k < l->n; k++)
		cJSON_AddItemToArray(a, jref(l->v[k]));
}

static cJSON *library_json(const struct manifest *m, size_t i)
{
	const struct mf_library *l = m->sorted_libraries[i];
	cJSON *o = cJSON_CreateObject();
	add_exact(o, "path", l->path);
	if (l->target)
		add_exact(o, "target", l->target);
	add_package(o, m, l->package);
	if (l->how)
		add_ref(o, "how", l->how);
	if (l->found_via) {
		add_ref(o, "found_via", l->found_via);
		add_ref(o, "found_dir", l->found_dir);
	}
	cJSON_AddItemToObjectCS(o, "loaded_by", strset_array(&l->loaded_by));
	if (opened_lists)
		add_opened(o, i);
	add_facts(o, &l->facts);
	add_provenance(o, m, PROV_LIBRARIES, l->path);
	return o;
}

static int cmp_opener(const void *pa, const void *pb)
{
	const struct mf_opener *a = pa, *b = pb;
	int r = manifest_text_cmp(a->binary, b->binary);
	if (!r)
		r = manifest_text_cmp(a->module, b->module);
	if (!r)
		r = manifest_text_cmp(a->function, b->function);
	if (!r)
		r = manifest_text_cmp(a->for_lib, b->for_lib);
	return r ? r : (int)a->unknown - (int)b->unknown;
}

/* The openers of a file, sorted, without repeats. */
static cJSON *openers_json(const struct manifest *m, const struct mf_file *f)
{
	struct mf_opener *v = xmalloc(f->n_opened_by * sizeof(*v));
	memcpy(v, f->opened_by, f->n_opened_by * sizeof(*v));
	qsort(v, f->n_opened_by, sizeof(*v), cmp_opener);
	cJSON *a = cJSON_CreateArray();
	for (size_t k = 0; k < f->n_opened_by; k++) {
		if (k && cmp_opener(&v[k - 1], &v[k]) == 0)
			continue;
		cJSON *e = cJSON_CreateObject();
		add_ref(e, "binary", v[k].binary);
		if (m->callers && (v[k].module || v[k].unknown))
			add_ref(e, "module", v[k].module);
		if (v[k].function)
			add_ref(e, "function", v[k].function);
		if (v[k].for_lib)
			add_ref(e, "for", v[k].for_lib);
		cJSON_AddItemToArray(a, e);
	}
	free(v);
	return a;
}

static cJSON *file_json(const struct manifest *m, size_t i)
{
	const struct mf_file *f = m->sorted_files[i];
	cJSON *o = cJSON_CreateObject();
	add_exact(o, "path", f->path);
	if (f->target)
		add_exact(o, "target", f->target);
	if (f->type)
		add_ref(o, "type", f->type);
	add_package(o, m, f->package);
	add_ref(o, "access", manifest_access_name(f->access));
	if (f->access & ACCESS_CREATED)
		cJSON_AddTrueToObject(o, "created");
	if (f->sha256 || f->hash_failed)
		add_ref(o, "sha256", f->sha256);
	cJSON_AddItemToObjectCS(o, "opened_by", openers_json(m, f));
	add_provenance(o, m, PROV_FILES, f->path);
	return o;
}

static cJSON *missing_one_json(const struct manifest *m, size_t i)
{
	const struct mf_missing *p = m->sorted_missing[i];
	cJSON *o = cJSON_CreateObject();
	add_exact(o, "path", p->path);
	cJSON_AddItemToObjectCS(o, "probed_by", strset_array(&p->probed_by));
	if (p->tried.n) {
		cJSON *t = cJSON_CreateArray();
		cJSON_AddItemToObjectCS(o, "tried", t);
		for (size_t k = 0; k < p->tried.n; k++)
			cJSON_AddItemToArray(t, jref(p->tried.v[k]));
	}
	add_provenance(o, m, PROV_MISSING, p->path);
	return o;
}

/*
 * {"binary": [env strings]} and {"binary": [[argv], ...]}, keys and values
 * sorted; and in env_b64 and cmdlines_b64, for each binary one of whose
 * strings is escaped, the same arrays in base64.
 */
static void per_binary_json(const struct manifest *m, cJSON *root)
{
	cJSON *env = cJSON_CreateObject(), *cmdlines = cJSON_CreateObject();
	cJSON *env_b64 = cJSON_CreateObject(), *cmdlines_b64 = cJSON_CreateObject();
	for (size_t i = 0; i < m->n_binaries; i++) {
		const struct mf_binary *b = m->sorted_binaries[i];
		if (b->env.size) {
			size_t *slots = map_sorted_slots(&b->env);
			const char **v = xmalloc(b->env.size * sizeof(*v));
			for (size_t k = 0; k < b->env.size; k++)
				v[k] = b->env.keys[slots[k]];
			free(slots);
			manifest_text_sort_strings(v, b->env.size);
			struct buf blob = { 0 };
			cJSON *a = cJSON_CreateArray();
			for (size_t k = 0; k < b->env.size; k++) {
				cJSON_AddItemToArray(a, jref(v[k]));
				buf_append(&blob, v[k], strlen(v[k]) + 1);
			}
			free(v);
			add_item_escaped_key(env, b->path, a);
			cJSON *a64 = blob_b64(blob.data, blob.len);
			if (a64)
				add_item_escaped_key(env_b64, b->path, a64);
			buf_free(&blob);
		}
		if (b->cmdlines.size) {
			size_t *slots = map_sorted_slots(&b->cmdlines);
			struct mf_strlist *v = xmalloc(b->cmdlines.size * sizeof(*v));
			bool any = false;
			for (size_t k = 0; k < b->cmdlines.size; k++) {
				v[k] = (struct mf_strlist){ b->cmdlines.keys[slots[k]], b->cmdlines.lens[slots[k]] };
				any = any || manifest_text_list_escaped(v[k].data, v[k].len);
			}
			free(slots);
			manifest_text_sort_lists(v, b->cmdlines.size);
			cJSON *a = cJSON_CreateArray(), *a64 = cJSON_CreateArray();
			for (size_t k = 0; k < b->cmdlines.size; k++) {
				const char *argv = v[k].data;
				size_t len = v[k].len;
				cJSON_AddItemToArray(a, blob_array(argv, len));
				if (any) /* every list of the binary, those written as they are too */
					cJSON_AddItemToArray(a64, blob_b64_all(argv, len));
			}
			free(v);
			add_item_escaped_key(cmdlines, b->path, a);
			if (any)
				add_item_escaped_key(cmdlines_b64, b->path, a64);
			else
				cJSON_Delete(a64);
		}
	}
	cJSON_AddItemToObjectCS(root, "env", env);
	if (env_b64->child)
		cJSON_AddItemToObjectCS(root, "env_b64", env_b64);
	else
		cJSON_Delete(env_b64);
	cJSON_AddItemToObjectCS(root, "cmdlines", cmdlines);
	if (cmdlines_b64->child)
		cJSON_AddItemToObjectCS(root, "cmdlines_b64", cmdlines_b64);
	else
		cJSON_Delete(cmdlines_b64);
}

static cJSON *process_json(const struct manifest *m, size_t i)
{
	const struct mf_process *p = m->procs[i];
	cJSON *o = cJSON_CreateObject();
	add_int(o, "pid", p->pid);
	add_int(o, "ppid", p->ppid);
	add_ref(o, "binary", p->binary);
	if (p->argv)
		add_argv(o, "argv", p->argv, p->argv_len);
	else
		cJSON_AddNullToObject(o, "argv");
	add_exact(o, "cwd", p->cwd);
	cJSON_AddItemToObjectCS(o, "exit", exit_json(&p->exit));
	if (p->detached)
		cJSON_AddTrueToObject(o, "detached");
	add_int(o, "threads", p->threads);
	return o;
}

/* A merged manifest's "run": the run objects as the reader kept them (each with its host and processes). */
static cJSON *runs_json(char *const *runs, size_t n_runs)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n_runs; i++) {
		cJSON *r = cJSON_Parse(runs[i]);
		if (!r)
			die(EXIT_INTERNAL, "a run kept for merging is not JSON: %.60s", runs[i]);
		cJSON_AddItemToArray(a, r);
	}
	return a;
}

/* A malloc'd copy of an array of `n` pointers (owned by the caller). */
static void *ptrs_copy(const void *v, size_t n)
{
	void *copy = xmalloc((n ? n : 1) * sizeof(void *));
	if (n)
		memcpy(copy, v, n * sizeof(void *));
	return copy;
}


/*
 * Create the temporary file next to `path`: ".BASE.PID.tmp" (a name a test
 * can predict), else ".BASE.PID.RANDOM.tmp". O_EXCL|O_NOFOLLOW: whatever
 * already has the name, a symlink included, is never opened or followed.
 * Mode 0644 minus the umask, like a manifest written in place would get.
 */
static int create_tmp(struct json_out *o, const char *dir, const char *base)
{
	size_t n = strlen(dir) + 256;
	autofree char *name = xmalloc(n);
	for (int attempt = 0; attempt < 100; attempt++) {
		uint32_t rnd = 0;
		if (attempt == 0)
			snprintf(name, n, "%s/.%.200s.%ld.tmp", dir, base, (long)getpid());
		else if (getrandom(&rnd, sizeof(rnd), 0) == sizeof(rnd))
			snprintf(name, n, "%s/.%.200s.%ld.%08" PRIx32 ".tmp", dir, base, (long)getpid(), rnd);
		else
			return -errno;
		int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
		if (fd >= 0) {
			o->tmp = steal_pointer(&name);
			o->fd = fd;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int json_out_open(struct json_out *o, const char *path)
{
	struct stat st;
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (strcmp(path, "-") == 0) {
		o->fd = STDOUT_FILENO;
		return 0;
	}
	o->path = xstrdup(path);
	/*
	 * A character device or FIFO (/dev/stdout, /dev/null, a named pipe) is
	 * written in place, even through a symlink; anything else is replaced
	 * by a rename, a symlink itself rather than what it points to. A block
	 * device is neither.
	 */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		if (S_ISBLK(st.st_mode))
			return -ENOTSUP;
		if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
			o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
			return o->fd < 0 ? -errno : 0;
		}
	}
	autofree char *dcopy = xstrdup(path), *bcopy = xstrdup(path);
	return create_tmp(o, dirname(dcopy), basename(bcopy));
}

/* Forget the temporary file's name before freeing it: a signal handler may read o->tmp at any time. */
static void forget_tmp(struct json_out *o)
{
	char *tmp = o->tmp;
	o->tmp = NULL;
	atomic_signal_fence(memory_order_seq_cst);
	free(tmp);
}

void json_out_discard(struct json_out *o)
{
	if (o->tmp) {
		unlink(o->tmp);
		forget_tmp(o);
	}
	free(o->path);
	o->path = NULL;
	if (o->fd > STDERR_FILENO)
		close(o->fd);
	o->fd = -1;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += w;
		n -= w;
	}
	return 0;
}

/* Write `root` (deleted) to `o` and rename it into place; as manifest_json_write. */
/*
 * No fsync: the rename makes the replacement atomic (a reader, or a run
 * killed half way, sees the old file or the whole new one), as for a
 * compiler's output; durability across a power cut is the caller's `sync
 * FILE`. An fsync here cost every run 0.8 to 1.2 ms on this machine's disk
 * and now and then 4 to 15 ms, more on a busy or network file system.
 */
int json_out_commit(struct json_out *o)
{
	int r = 0;
	if (o->fd > STDERR_FILENO && close(o->fd) < 0)
		r = -errno;
	o->fd = -1;
	if (r == 0 && o->tmp && rename(o->tmp, o->path) < 0)
		r = -errno;
	if (r < 0) {
		json_out_discard(o);
		return r;
	}
	forget_tmp(o);
	free(o->path);
	o->path = NULL;
	return 0;
}

/*
 * The manifest written as it is made: one top-level member, or one element
 * of a long array (binaries, libraries, files, missing, processes), built as
 * a cJSON tree, printed, indented to its depth and freed before the next.
 * The text is the one cJSON_Print gives of the whole tree (tabs, ":\t",
 * ", " between elements), never held whole: a run of two million missing
 * paths once held a tree and a text of about a gigabyte at the end.
 */
struct json_stream {
	int fd;
	int err;         /* the first -errno of a write */
	size_t members;  /* of the top-level object, so far */
	struct buf out;  /* text not yet written */
};

static void js_flush(struct json_stream *s)
{
	if (!s->err && s->out.len)
		s->err = write_all(s->fd, s->out.data, s->out.len);
	s->out.len = 0;
}

static void js_put(struct json_stream *s, const char *t, size_t n)
{
	buf_append(&s->out, t, n);
	if (s->out.len >= 1 << 16)
		js_flush(s);
}

/* `v` as cJSON_Print prints it `depth` levels down (each line after the first `depth` tabs further in), freed. */
static void js_value(struct json_stream *s, cJSON *v, size_t depth)
{
	char *text = cJSON_Print(v);
	cJSON_Delete(v);
	if (!text)
		die(EXIT_INTERNAL, "out of memory while writing the manifest");
	const char *p = text, *nl;
	while ((nl = strchr(p, '\n'))) {
		js_put(s, p, (size_t)(nl - p) + 1);
		for (size_t k = 0; k < depth; k++)
			js_put(s, "\t", 1);
		p = nl + 1;
	}
	js_put(s, p, strlen(p));
	cJSON_free(text);
}

/* The start of a member of the top-level object; `key` is a plain name (nothing to escape). */
static void js_key(struct json_stream *s, const char *key)
{
	if (s->members++)
		js_put(s, ",\n", 2);
	js_put(s, "\t\"", 2);
	js_put(s, key, strlen(key));
	js_put(s, "\":\t", 3);
}

/* Each member of `obj`, in order; `obj` is freed. */
static void js_members(struct json_stream *s, cJSON *obj)
{
	cJSON *c;
	while ((c = obj->child)) {
		cJSON_DetachItemViaPointer(obj, c);
		js_key(s, c->string);
		js_value(s, c, 1);
	}
	cJSON_Delete(obj);
}

/* A member whose value is the array of `n` elements made by `elem`, each printed and freed in turn. */
static void js_array(struct json_stream *s, const char *key, const struct manifest *m, size_t n,
		     cJSON *(*elem)(const struct manifest *, size_t))
{
	js_key(s, key);
	js_put(s, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			js_put(s, ", ", 2);
		js_value(s, elem(m, i), 2);
	}
	js_put(s, "]", 1);
}

/* The manifest as JSON to `o`: one run (`run`), or a merged manifest's `n_runs` kept runs. */
static int write_manifest(struct json_out *o, const struct manifest *model, const struct run_info *run,
			  char *const *runs, size_t n_runs)
{
	/*
	 * What is written: the model with its sorted arrays (in byte order) in
	 * the order of their texts instead, which differs when a path is escaped.
	 */
	struct manifest view = *model;
	const struct manifest *m = &view;
	view.sorted_binaries = ptrs_copy(model->sorted_binaries, model->n_binaries);
	view.sorted_libraries = ptrs_copy(model->sorted_libraries, model->n_libraries);
	view.sorted_files = ptrs_copy(model->sorted_files, model->n_files);
	view.sorted_missing = ptrs_copy(model->sorted_missing, model->n_missing);
	view.unpackaged = ptrs_copy(model->unpackaged, model->n_unpackaged);
	manifest_text_sort_entries(view.sorted_binaries, view.n_binaries);
	manifest_text_sort_entries(view.sorted_libraries, view.n_libraries);
	manifest_text_sort_entries(view.sorted_files, view.n_files);
	manifest_text_sort_entries(view.sorted_missing, view.n_missing);
	manifest_text_sort_strings(view.unpackaged, view.n_unpackaged);

	struct json_stream s = { .fd = o->fd };
	js_put(&s, "{\n", 2);
	cJSON *head = cJSON_CreateObject();
	add_str(head, "schema", "fingerprint/1");
	cJSON *tool = cJSON_AddObjectToObject(head, "tool");
	add_str(tool, "name", PACKAGE_NAME);
	add_str(tool, "version", PACKAGE_VERSION);
	if (run) {
		cJSON_AddItemToObjectCS(head, "run", run_json(m, run));
		cJSON_AddItemToObjectCS(head, "host", host_json());
	} else {
		cJSON_AddItemToObjectCS(head, "run", runs_json(runs, n_runs));
	}
	js_members(&s, head);
	js_array(&s, "binaries", m, m->n_binaries, binary_json);
	opened_lists = opened_lists_make(m);
	js_array(&s, "libraries", m, m->n_libraries, library_json);
	opened_lists_free(opened_lists, m->n_libraries);
	opened_lists = NULL;
	js_array(&s, "files", m, m->n_files, file_json);
	js_array(&s, "missing", m, m->n_missing, missing_one_json);
	cJSON *tail = cJSON_CreateObject();
	if (m->packages_known) {
		cJSON *pkgs = cJSON_AddArrayToObject(tail, "packages");
		for (size_t i = 0; i < m->n_packages; i++)
			cJSON_AddItemToArray(pkgs, package_json(m->sorted_packages[i]));
		cJSON *un = cJSON_AddArrayToObject(tail, "unpackaged");
		for (size_t i = 0; i < m->n_unpackaged; i++)
			cJSON_AddItemToArray(un, jref(m->unpackaged[i]));
	}
	per_binary_json(m, tail);
	js_members(&s, tail);
	if (run)
		js_array(&s, "processes", m, m->nprocs, process_json);
	js_put(&s, "\n}\n", 3);
	js_flush(&s);
	buf_free(&s.out);
	free(view.sorted_binaries);
	free(view.sorted_libraries);
	free(view.sorted_files);
	free(view.sorted_missing);
	free(view.unpackaged);
	if (s.err) {
		json_out_discard(o);
		return s.err;
	}
	return json_out_commit(o);
}

int manifest_json_write(struct json_out *o, const struct manifest *m, const struct run_info *run)
{
	return write_manifest(o, m, run, NULL, 0);
}

int manifest_json_write_merged(struct json_out *o, const struct manifest *m, char *const *runs, size_t n_runs)
{
	return write_manifest(o, m, NULL, runs, n_runs);
}

int manifest_json_print_diff(FILE *f, const char *old_file, const char *new_file, const struct diff_change *v,
			     size_t n)
{
	static const char *const kinds[] = { "added", "removed", "changed" };
	size_t counts[3] = { 0 };
	cJSON *root = cJSON_CreateObject();
	add_str(root, "old", old_file);
	add_str(root, "new", new_file);
	cJSON_AddBoolToObject(root, "equal", n == 0);
	cJSON *a = cJSON_AddArrayToObject(root, "changes");
	for (size_t i = 0; i < n; i++) {
		const struct diff_change *c = &v[i];
		cJSON *o = cJSON_CreateObject();
		add_str(o, "section", c->section);
		add_str(o, "change", kinds[c->kind]);
		if (c->binary)
			add_str(o, "binary", c->binary);
		add_str(o, "key", c->key);
		if (c->n_fields) {
			cJSON *fields = cJSON_AddObjectToObject(o, "fields");
			for (size_t k = 0; k < c->n_fields; k++) {
				cJSON *fo = cJSON_CreateObject();
				add_str(fo, "old", c->fields[k].old_value);
				add_str(fo, "new", c->fields[k].new_value);
				cJSON_AddItemToObject(fields, c->fields[k].name, fo);
			}
		}
		counts[c->kind]++;
		cJSON_AddItemToArray(a, o);
	}
	cJSON *sum = cJSON_AddObjectToObject(root, "summary");
	for (int k = 0; k < 3; k++)
		add_int(sum, kinds[k], (long long)counts[k]);
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		die(EXIT_INTERNAL, "out of memory while writing the report");
	int r = fputs(text, f) < 0 || fputc('\n', f) < 0 ? -1 : 0;
	cJSON_free(text);
	return r;
}
