#include "config.h"
#include "manifest_json.h"
#include "diff.h"
#include "elfinfo.h"
#include "provenance.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

size_t manifest_json_utf8_seq(const unsigned char *s, size_t avail)
{
	if (avail == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
		return 0; /* overlong, surrogate */
	if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
		return 0;
	return n;
}

/* The same in a NUL-terminated string (a NUL stops any sequence). */
static size_t utf8_seq(const unsigned char *s)
{
	return manifest_json_utf8_seq(s, 4);
}

/*
 * A JSON string for bytes that may not be UTF-8: invalid bytes are written as
 * the four characters \xHH (and a backslash as \\ only then, so the bytes stay
 * recoverable); valid text is unchanged.
 */
static cJSON *jstr_n(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	bool valid = true;
	for (size_t i = 0; i < len;) {
		size_t n = u[i] ? utf8_seq(u + i) : 0;
		if (!n || i + n > len) {
			valid = false;
			break;
		}
		i += n;
	}
	if (valid)
		return cJSON_CreateString(s);
	struct buf b = { 0 };
	for (size_t i = 0; i < len;) {
		size_t n = u[i] ? utf8_seq(u + i) : 0;
		if (n && i + n <= len && u[i] != '\\') {
			buf_append(&b, s + i, n);
			i += n;
		} else if (u[i] == '\\') {
			buf_append(&b, "\\\\", 2);
			i++;
		} else {
			char esc[5];
			snprintf(esc, sizeof(esc), "\\x%02x", u[i]);
			buf_append(&b, esc, 4);
			i++;
		}
	}
	cJSON *j = cJSON_CreateString(b.data ? b.data : "");
	buf_free(&b);
	return j;
}

static cJSON *jstr(const char *s)
{
	return s ? jstr_n(s, strlen(s)) : cJSON_CreateNull();
}

static void add_str(cJSON *obj, const char *key, const char *s)
{
	cJSON_AddItemToObject(obj, key, jstr(s));
}

/* Add `item` under a key that may not be UTF-8 (a path), escaped like any string. */
static void add_item_escaped_key(cJSON *obj, const char *key, cJSON *item)
{
	cJSON *k = jstr(key);
	cJSON_AddItemToObject(obj, cJSON_GetStringValue(k), item);
	cJSON_Delete(k);
}

/* A JSON array of the strings in a NUL-separated blob. */
static cJSON *blob_array(const char *blob, size_t len)
{
	cJSON *a = cJSON_CreateArray();
	for (const char *s = blob, *end = blob + len; s < end; s += strlen(s) + 1)
		cJSON_AddItemToArray(a, jstr_n(s, strnlen(s, end - s)));
	return a;
}

static cJSON *strv_array(char *const *v)
{
	cJSON *a = cJSON_CreateArray();
	for (; v && *v; v++)
		cJSON_AddItemToArray(a, jstr(*v));
	return a;
}

static cJSON *strset_array(const struct strset *s)
{
	const char **v = strset_sorted(s);
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < s->n; i++)
		cJSON_AddItemToArray(a, jstr(v[i]));
	free(v);
	return a;
}

static cJSON *exit_json(const struct mf_exit *e)
{
	if (!e->exited)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	if (e->signal) {
		cJSON_AddNumberToObject(o, "signal", e->signal);
		char name[32] = "SIG";
		const char *abbrev = sigabbrev_np(e->signal);
		snprintf(name + 3, sizeof(name) - 3, "%s", abbrev ? abbrev : "UNKNOWN");
		add_str(o, "signal_name", name);
	} else {
		cJSON_AddNumberToObject(o, "status", e->status);
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

	cJSON_AddItemToObject(o, "command", strv_array(r->command));
	add_str(o, "cwd", r->cwd);
	add_str(o, "start", when);
	cJSON_AddNumberToObject(o, "duration_s", (double)(long long)(r->duration_s * 1000 + 0.5) / 1000);
	if (r->scan) {
		add_str(o, "mode", "scan");
		add_str(o, "root", r->root);
	} else {
		add_str(o, "mode", "trace");
		cJSON_AddItemToObject(o, "exit", exit_json(&r->exit));
	}
	cJSON_AddBoolToObject(o, "complete", r->complete);
	if (r->has_rank)
		cJSON_AddNumberToObject(o, "rank", (double)r->rank);
	if (!r->scan)
		cJSON_AddBoolToObject(o, "seccomp", r->seccomp);
	if (m->packages_lookup)
		add_str(o, "packages", m->packages_lookup);
	cJSON *w = cJSON_AddArrayToObject(o, "warnings");
	for (size_t i = 0; i < m->nwarnings; i++) {
		cJSON *e = cJSON_CreateObject();
		add_str(e, "kind", m->warnings[i].kind);
		cJSON_AddNumberToObject(e, "count", (double)m->warnings[i].count);
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
		cJSON_AddItemToArray(a, jstr(v[i]));
	return a;
}

static cJSON *elf_json(const struct elfinfo *e)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "class", e->elfclass);
	add_str(o, "machine", e->machine);
	add_str(o, "type", elfinfo_type_name(e->type));
	add_str(o, "interp", e->interp);
	add_str(o, "soname", e->soname);
	cJSON_AddItemToObject(o, "needed", strv_n_array(e->needed, e->n_needed));
	add_str(o, "rpath", e->rpath);
	add_str(o, "runpath", e->runpath);
	add_str(o, "build_id", e->build_id);
	cJSON *req = cJSON_AddObjectToObject(o, "requires_versions");
	for (size_t i = 0; i < e->n_requires; i++)
		add_item_escaped_key(req, e->requires[i].file,
				      strv_n_array(e->requires[i].versions, e->requires[i].n_versions));
	cJSON_AddItemToObject(o, "provides_versions", strv_n_array(e->provides, e->n_provides));
	cJSON_AddBoolToObject(o, "stripped", e->stripped);
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
		cJSON_AddItemToObject(o, "elf", elf_json(f->elf));
	} else if (f->elf_error) {
		cJSON_AddNullToObject(o, "elf");
		add_str(o, "elf_error", f->elf_error);
	}
	if (f->sha256 || f->hash_failed)
		add_str(o, "sha256", f->sha256);
}

static cJSON *package_json(const struct mf_package *p)
{
	if (!p)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	add_str(o, "name", p->name);
	add_str(o, "version", p->version);
	add_str(o, "arch", p->arch);
	return o;
}

/* "package": the owner, or null; absent when ownership was not looked up. */
static void add_package(cJSON *o, const struct manifest *m, const struct mf_package *p)
{
	if (m->packages_known)
		cJSON_AddItemToObject(o, "package", package_json(p));
}

/* [{"host": ..., "rank": N}]: "host" null when unknown, "rank" left out when none. */
static cJSON *places_json(const struct prov_places *set)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; set && i < set->n; i++) {
		cJSON *o = cJSON_CreateObject();
		add_str(o, "host", set->v[i].host);
		if (set->v[i].rank >= 0)
			cJSON_AddNumberToObject(o, "rank", (double)set->v[i].rank);
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
	cJSON_AddItemToObject(o, "seen_on", places_json(e ? &e->seen : NULL));
	if (!e || e->n_variants < 2)
		return;
	cJSON *a = cJSON_AddArrayToObject(o, "variants");
	for (size_t k = 0; k < e->n_variants; k++) {
		cJSON *v = cJSON_CreateObject();
		add_str(v, "sha256", e->variants[k].sha256);
		cJSON_AddItemToObject(v, "seen_on", places_json(&e->variants[k].seen));
		cJSON_AddItemToArray(a, v);
	}
}

static cJSON *binaries_json(const struct manifest *m)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < m->n_binaries; i++) {
		const struct mf_binary *b = m->sorted_binaries[i];
		cJSON *o = cJSON_CreateObject();
		add_str(o, "path", b->path);
		if (b->target)
			add_str(o, "target", b->target);
		add_package(o, m, b->package);
		cJSON_AddNumberToObject(o, "exec_count", (double)b->exec_count);
		add_facts(o, &b->facts);
		add_provenance(o, m, PROV_BINARIES, b->path);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* "opened": the files whose openers name library `path` as their module (files are sorted). */
static void add_opened(cJSON *o, const struct manifest *m, const char *path)
{
	cJSON *a = NULL;
	for (size_t i = 0; i < m->n_files; i++) {
		const struct mf_file *f = m->sorted_files[i];
		for (size_t k = 0; k < f->n_opened_by; k++) {
			if (f->opened_by[k].module && strcmp(f->opened_by[k].module, path) == 0) {
				if (!a)
					a = cJSON_AddArrayToObject(o, "opened");
				cJSON_AddItemToArray(a, jstr(f->path));
				break;
			}
		}
	}
}

static cJSON *libraries_json(const struct manifest *m)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < m->n_libraries; i++) {
		const struct mf_library *l = m->sorted_libraries[i];
		cJSON *o = cJSON_CreateObject();
		add_str(o, "path", l->path);
		if (l->target)
			add_str(o, "target", l->target);
		add_package(o, m, l->package);
		if (l->how)
			add_str(o, "how", l->how);
		if (l->found_via) {
			add_str(o, "found_via", l->found_via);
			add_str(o, "found_dir", l->found_dir);
		}
		cJSON_AddItemToObject(o, "loaded_by", strset_array(&l->loaded_by));
		if (m->callers)
			add_opened(o, m, l->path);
		add_facts(o, &l->facts);
		add_provenance(o, m, PROV_LIBRARIES, l->path);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static int cmp_nullable(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) : (a != NULL) - (b != NULL);
}

static int cmp_opener(const void *pa, const void *pb)
{
	const struct mf_opener *a = pa, *b = pb;
	int r = cmp_nullable(a->binary, b->binary);
	if (!r)
		r = cmp_nullable(a->module, b->module);
	if (!r)
		r = cmp_nullable(a->function, b->function);
	if (!r)
		r = cmp_nullable(a->for_lib, b->for_lib);
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
		add_str(e, "binary", v[k].binary);
		if (m->callers && (v[k].module || v[k].unknown))
			add_str(e, "module", v[k].module);
		if (v[k].function)
			add_str(e, "function", v[k].function);
		if (v[k].for_lib)
			add_str(e, "for", v[k].for_lib);
		cJSON_AddItemToArray(a, e);
	}
	free(v);
	return a;
}

static cJSON *files_json(const struct manifest *m)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < m->n_files; i++) {
		const struct mf_file *f = m->sorted_files[i];
		cJSON *o = cJSON_CreateObject();
		add_str(o, "path", f->path);
		if (f->target)
			add_str(o, "target", f->target);
		if (f->type)
			add_str(o, "type", f->type);
		add_package(o, m, f->package);
		add_str(o, "access", manifest_access_name(f->access));
		if (f->access & ACCESS_CREATED)
			cJSON_AddTrueToObject(o, "created");
		if (f->sha256 || f->hash_failed)
			add_str(o, "sha256", f->sha256);
		cJSON_AddItemToObject(o, "opened_by", openers_json(m, f));
		add_provenance(o, m, PROV_FILES, f->path);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *missing_json(const struct manifest *m)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < m->n_missing; i++) {
		const struct mf_missing *p = m->sorted_missing[i];
		cJSON *o = cJSON_CreateObject();
		add_str(o, "path", p->path);
		cJSON_AddItemToObject(o, "probed_by", strset_array(&p->probed_by));
		if (p->tried.n) {
			cJSON *t = cJSON_AddArrayToObject(o, "tried");
			for (size_t k = 0; k < p->tried.n; k++)
				cJSON_AddItemToArray(t, jstr(p->tried.v[k]));
		}
		add_provenance(o, m, PROV_MISSING, p->path);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* {"binary": [env strings]} and {"binary": [[argv], ...]}, keys and values sorted. */
static void per_binary_json(const struct manifest *m, cJSON **env, cJSON **cmdlines)
{
	*env = cJSON_CreateObject();
	*cmdlines = cJSON_CreateObject();
	for (size_t i = 0; i < m->n_binaries; i++) {
		const struct mf_binary *b = m->sorted_binaries[i];
		if (b->env.size) {
			size_t *slots = map_sorted_slots(&b->env);
			cJSON *a = cJSON_CreateArray();
			for (size_t k = 0; k < b->env.size; k++)
				cJSON_AddItemToArray(a, jstr(b->env.keys[slots[k]]));
			free(slots);
			add_item_escaped_key(*env, b->path, a);
		}
		if (b->cmdlines.size) {
			size_t *slots = map_sorted_slots(&b->cmdlines);
			cJSON *a = cJSON_CreateArray();
			for (size_t k = 0; k < b->cmdlines.size; k++)
				cJSON_AddItemToArray(a, blob_array(b->cmdlines.keys[slots[k]],
								   b->cmdlines.lens[slots[k]]));
			free(slots);
			add_item_escaped_key(*cmdlines, b->path, a);
		}
	}
}

static cJSON *processes_json(const struct manifest *m)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct mf_process *p = m->procs[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "pid", p->pid);
		cJSON_AddNumberToObject(o, "ppid", p->ppid);
		add_str(o, "binary", p->binary);
		cJSON_AddItemToObject(o, "argv", p->argv ? blob_array(p->argv, p->argv_len) : cJSON_CreateNull());
		add_str(o, "cwd", p->cwd);
		cJSON_AddItemToObject(o, "exit", exit_json(&p->exit));
		cJSON_AddNumberToObject(o, "threads", p->threads);
		cJSON_AddItemToArray(a, o);
	}
	return a;
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

/* The manifest as JSON: one run (`run`), or a merged manifest's `n_runs` kept runs. */
static cJSON *manifest_to_json(const struct manifest *m, const struct run_info *run, char *const *runs,
			       size_t n_runs)
{
	cJSON *root = cJSON_CreateObject();
	add_str(root, "schema", "fingerprint/1");
	cJSON *tool = cJSON_AddObjectToObject(root, "tool");
	add_str(tool, "name", PACKAGE_NAME);
	add_str(tool, "version", PACKAGE_VERSION);
	if (run) {
		cJSON_AddItemToObject(root, "run", run_json(m, run));
		cJSON_AddItemToObject(root, "host", host_json());
	} else {
		cJSON_AddItemToObject(root, "run", runs_json(runs, n_runs));
	}
	cJSON_AddItemToObject(root, "binaries", binaries_json(m));
	cJSON_AddItemToObject(root, "libraries", libraries_json(m));
	cJSON_AddItemToObject(root, "files", files_json(m));
	cJSON_AddItemToObject(root, "missing", missing_json(m));
	if (m->packages_known) {
		cJSON *pkgs = cJSON_AddArrayToObject(root, "packages");
		for (size_t i = 0; i < m->n_packages; i++)
			cJSON_AddItemToArray(pkgs, package_json(m->sorted_packages[i]));
		cJSON *un = cJSON_AddArrayToObject(root, "unpackaged");
		for (size_t i = 0; i < m->n_unpackaged; i++)
			cJSON_AddItemToArray(un, jstr(m->unpackaged[i]));
	}
	cJSON *env, *cmdlines;
	per_binary_json(m, &env, &cmdlines);
	cJSON_AddItemToObject(root, "env", env);
	cJSON_AddItemToObject(root, "cmdlines", cmdlines);
	if (run)
		cJSON_AddItemToObject(root, "processes", processes_json(m));
	return root;
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
	/* A device, FIFO or other non-regular target is written in place, never replaced. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		return o->fd < 0 ? -errno : 0;
	}
	autofree char *dcopy = xstrdup(path), *bcopy = xstrdup(path);
	const char *dir = dirname(dcopy), *base = basename(bcopy);
	size_t n = strlen(dir) + strlen(base) + 16;
	o->tmp = xmalloc(n);
	snprintf(o->tmp, n, "%s/.%s.XXXXXX", dir, base);
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		int err = errno;
		free(o->tmp);
		o->tmp = NULL;
		return -err;
	}
	/* mkostemp makes it 0600; give it the mode a plain file would get. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(o->fd, 0666 & ~mask);
	return 0;
}

void json_out_discard(struct json_out *o)
{
	if (o->tmp) {
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
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
static int write_root(struct json_out *o, cJSON *root)
{
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		die(EXIT_INTERNAL, "out of memory while writing the manifest");

	int r = write_all(o->fd, text, strlen(text));
	if (r == 0)
		r = write_all(o->fd, "\n", 1);
	cJSON_free(text);
	if (r == 0 && o->tmp && fsync(o->fd) < 0)
		r = -errno;
	if (o->fd > STDERR_FILENO && close(o->fd) < 0 && r == 0)
		r = -errno;
	o->fd = -1;
	if (r == 0 && o->tmp && rename(o->tmp, o->path) < 0)
		r = -errno;
	if (r < 0) {
		json_out_discard(o);
		return r;
	}
	free(o->tmp);
	o->tmp = NULL;
	free(o->path);
	o->path = NULL;
	return 0;
}

int manifest_json_write(struct json_out *o, const struct manifest *m, const struct run_info *run)
{
	return write_root(o, manifest_to_json(m, run, NULL, 0));
}

int manifest_json_write_merged(struct json_out *o, const struct manifest *m, char *const *runs, size_t n_runs)
{
	return write_root(o, manifest_to_json(m, NULL, runs, n_runs));
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
		cJSON_AddNumberToObject(sum, kinds[k], (double)counts[k]);
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		die(EXIT_INTERNAL, "out of memory while writing the report");
	int r = fputs(text, f) < 0 || fputc('\n', f) < 0 ? -1 : 0;
	cJSON_free(text);
	return r;
}
