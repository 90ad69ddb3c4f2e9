/*
 * manifest_json_read.c: reading a manifest back into the model, for diff,
 * check, merge and show. The input is untrusted: every key is type-checked
 * and the first problem is reported as one line naming the place
 * ("files[3].opened_by[0].binary: expected a string"), never a crash.
 * With manifest_json.c, the only files that include cJSON.h.
 */
#include "config.h"
#include "manifest_json.h"
#include "elfinfo.h"
#include "manifest_text.h"
#include "provenance.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_PREFIX "fingerprint/"
#define SCHEMA_VERSION 1

/* The reading in progress: the model being filled and the first error. */
struct reader {
	struct manifest *m;
	char *err;
	size_t errsz;
	bool failed;
};

static bool failf(struct reader *r, const char *where, const char *fmt, ...) FP_PRINTF(3, 4);

static bool failf(struct reader *r, const char *where, const char *fmt, ...)
{
	if (r->failed)
		return false;
	r->failed = true;
	int n = snprintf(r->err, r->errsz, "%s%s", where, *where ? ": " : "");
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < r->errsz)
		vsnprintf(r->err + n, r->errsz - n, fmt, ap);
	va_end(ap);
	return false;
}

/* A place name such as "files[3].opened_by" in `buf` (cut short when long). */
static const char *place(char *buf, size_t n, const char *fmt, ...) FP_PRINTF(3, 4);

static const char *place(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return buf;
}

static const char *at_key(char *buf, size_t n, const char *where, const char *key)
{
	return place(buf, n, "%s%s%s", where, *where ? "." : "", key);
}

static const char *at_index(char *buf, size_t n, const char *where, int i)
{
	return place(buf, n, "%s[%d]", where, i);
}

#define WHERE_MAX 512

/*
 * The item under `key` when `is` accepts it; NULL when absent or null (an
 * error when `required`), or when it is of another type (an error naming `what`).
 */
static const cJSON *get_typed(struct reader *r, const cJSON *o, const char *key, const char *where, bool required,
			      cJSON_bool (*is)(const cJSON *), const char *what)
{
	char w[WHERE_MAX];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v || cJSON_IsNull(v)) {
		if (required)
			failf(r, at_key(w, sizeof(w), where, key), "missing (%s is required)", what);
		return NULL;
	}
	if (!is(v))
		return failf(r, at_key(w, sizeof(w), where, key), "expected %s", what), NULL;
	return v;
}

static const cJSON *get_array(struct reader *r, const cJSON *o, const char *key, const char *where, bool required)
{
	return get_typed(r, o, key, where, required, cJSON_IsArray, "an array");
}

static const cJSON *get_object(struct reader *r, const cJSON *o, const char *key, const char *where, bool required)
{
	return get_typed(r, o, key, where, required, cJSON_IsObject, "an object");
}

/* The bytes text `s` (the value at `where`) stands for (manifest_text.h): malloc'd; NULL after an error. */
static char *unescape(struct reader *r, const char *s, const char *where)
{
	const char *why;
	char *bytes = manifest_text_unescape(s, &why);
	if (!bytes)
		failf(r, where, "%s", why);
	return bytes;
}

/*
 * The bytes of text `text` (at `where`) given exactly by the base64 string
 * `b64` (at `where_b64`), or by `text` alone when `b64` is NULL. Malloc'd
 * (owned by the caller); NULL after an error.
 */
static char *exact(struct reader *r, const char *text, const cJSON *b64, const char *where, const char *where_b64)
{
	if (!b64)
		return unescape(r, text, where);
	if (!cJSON_IsString(b64))
		return failf(r, where_b64, "expected a string (base64)"), NULL;
	const char *why;
	char *bytes = manifest_text_from_b64(text, b64->valuestring, &why);
	if (!bytes)
		failf(r, where_b64, "%s", why);
	return bytes;
}

/* The sibling `key`_b64 of `key` in object `o`, or NULL when absent or null. */
static const cJSON *b64_of(const cJSON *o, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "%s_b64", key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNull(v) ? NULL : v;
}

/*
 * The string under `key`, interned: the bytes it stands for (its `key`_b64
 * when present, see exact()); NULL when absent or null (an error when
 * `required`) or after an error.
 */
static const char *get_str(struct reader *r, const cJSON *o, const char *key, const char *where, bool required)
{
	char w[WHERE_MAX], w64[WHERE_MAX];
	const cJSON *v = get_typed(r, o, key, where, required, cJSON_IsString, "a string");
	if (!v)
		return NULL;
	const cJSON *b64 = b64_of(o, key);
	if (!b64 && !strchr(v->valuestring, '\\'))
		return manifest_intern(r->m, v->valuestring);
	at_key(w, sizeof(w), where, key);
	if (b64)
		place(w64, sizeof(w64), "%s_b64", w);
	autofree char *raw = exact(r, v->valuestring, b64, w, w64);
	return raw ? manifest_intern(r->m, raw) : NULL;
}

/*
 * The base64 list `a64` (at `where64`) beside a list of `n` strings: NULL
 * when absent; an error unless an array of `n` items.
 */
static const cJSON *b64_list(struct reader *r, const cJSON *a64, int n, const char *where64)
{
	if (a64 && (!cJSON_IsArray(a64) || cJSON_GetArraySize(a64) != n))
		failf(r, where64, "expected an array of %d base64 strings, one per item beside it", n);
	return cJSON_IsArray(a64) ? a64 : NULL;
}

/* The bytes of item `i` (`text`) of a list at `where`, with `a64` its base64 list or NULL. Malloc'd; NULL after an error. */
static char *list_item(struct reader *r, const char *text, const cJSON *a64, int i, const char *where, const char *where64)
{
	char w[WHERE_MAX], w64[WHERE_MAX];
	at_index(w, sizeof(w), where, i);
	if (a64)
		at_index(w64, sizeof(w64), where64, i);
	return exact(r, text, a64 ? cJSON_GetArrayItem(a64, i) : NULL, w, w64);
}

/* A non-negative integer under `key`, or `dflt` when absent. */
static double get_count(struct reader *r, const cJSON *o, const char *key, const char *where, double dflt)
{
	char w[WHERE_MAX];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v || cJSON_IsNull(v))
		return dflt;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15)
		return failf(r, at_key(w, sizeof(w), where, key), "expected a non-negative number"), dflt;
	return v->valuedouble;
}

static bool get_bool(struct reader *r, const cJSON *o, const char *key, const char *where)
{
	char w[WHERE_MAX];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v || cJSON_IsNull(v))
		return false;
	if (!cJSON_IsBool(v))
		return failf(r, at_key(w, sizeof(w), where, key), "expected true or false"), false;
	return cJSON_IsTrue(v);
}

/* A rank under `key`: a non-negative integer, or -1 when absent. */
static long get_rank(struct reader *r, const cJSON *o, const char *key, const char *where)
{
	char w[WHERE_MAX];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v || cJSON_IsNull(v))
		return -1;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15 ||
	    v->valuedouble != (double)(long)v->valuedouble)
		return failf(r, at_key(w, sizeof(w), where, key), "expected a non-negative integer"), -1;
	return (long)v->valuedouble;
}

/*
 * A NULL-terminated malloc'd array of the bytes of a string array's items
 * (owned by the caller); `a64` (at `where64`) is its base64 list, or NULL.
 */
static char **strv_of(struct reader *r, const cJSON *a, const char *where, const cJSON *a64, const char *where64,
		      size_t *n)
{
	char w[WHERE_MAX];
	int count = cJSON_GetArraySize(a);
	char **v = xcalloc((size_t)count + 1, sizeof(*v));
	int i = 0;
	const cJSON *e;
	*n = 0;
	a64 = b64_list(r, a64, count, where64);
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e)) {
			failf(r, at_index(w, sizeof(w), where, i), "expected a string");
			break;
		}
		char *s = list_item(r, e->valuestring, a64, i, where, where64);
		if (!s)
			break;
		v[(*n)++] = s;
		i++;
	}
	return v;
}

/* Each string of array `a`, interned, into set `s`. */
static void read_strset(struct reader *r, const cJSON *a, const char *where, struct strset *s)
{
	char w[WHERE_MAX];
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e)) {
			failf(r, at_index(w, sizeof(w), where, i), "expected a string");
			return;
		}
		autofree char *bytes = list_item(r, e->valuestring, NULL, i, where, NULL);
		if (!bytes)
			return;
		strset_add(s, manifest_intern(r->m, bytes));
		i++;
	}
}

static const char *const elf_types[] = { "executable", "pie", "shared-library", "static", "other" };

static struct elfinfo *read_elf(struct reader *r, const cJSON *o, const char *where)
{
	char w[WHERE_MAX];
	struct elfinfo *e = xcalloc(1, sizeof(*e));
	e->elfclass = (int)get_count(r, o, "class", where, 0);
	e->machine = get_str(r, o, "machine", where, false);
	const char *type = get_str(r, o, "type", where, false);
	e->type = ELF_TYPE_OTHER;
	for (size_t i = 0; type && i < sizeof(elf_types) / sizeof(elf_types[0]); i++)
		if (strcmp(type, elf_types[i]) == 0)
			e->type = (enum elf_type)i;
	const char *s;
	if ((s = get_str(r, o, "interp", where, false)))
		e->interp = xstrdup(s);
	if ((s = get_str(r, o, "soname", where, false)))
		e->soname = xstrdup(s);
	if ((s = get_str(r, o, "rpath", where, false)))
		e->rpath = xstrdup(s);
	if ((s = get_str(r, o, "runpath", where, false)))
		e->runpath = xstrdup(s);
	if ((s = get_str(r, o, "build_id", where, false)))
		e->build_id = xstrdup(s);
	const cJSON *a = get_array(r, o, "needed", where, false);
	if (a)
		e->needed = strv_of(r, a, at_key(w, sizeof(w), where, "needed"), NULL, NULL, &e->n_needed);
	a = get_array(r, o, "provides_versions", where, false);
	if (a)
		e->provides = strv_of(r, a, at_key(w, sizeof(w), where, "provides_versions"), NULL, NULL,
				      &e->n_provides);
	const cJSON *req = get_object(r, o, "requires_versions", where, false), *k;
	if (req) {
		e->requires = xcalloc((size_t)cJSON_GetArraySize(req) + 1, sizeof(*e->requires));
		cJSON_ArrayForEach(k, req) {
			char w2[WHERE_MAX];
			place(w2, sizeof(w2), "%s.requires_versions[\"%s\"]", where, k->string);
			if (!cJSON_IsArray(k)) {
				failf(r, w2, "expected an array");
				break;
			}
			char *file = unescape(r, k->string, w2);
			if (!file)
				break;
			struct elf_verneed *vn = &e->requires[e->n_requires++];
			vn->file = file;
			vn->versions = strv_of(r, k, w2, NULL, NULL, &vn->n_versions);
		}
	}
	e->stripped = get_bool(r, o, "stripped", where);
	return e;
}

/* "sha256": a digest (a path listed twice keeps its first), or null (hashing failed). */
static void read_sha256(struct reader *r, const cJSON *o, const char *where, char **sha256, bool *failed)
{
	const char *s = get_str(r, o, "sha256", where, false);
	if (s && !*sha256)
		*sha256 = xstrdup(s);
	else if (!s && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "sha256")))
		*failed = true;
}

/* "elf" (or "script", "elf_error") and "sha256" of a binary or library. */
static void read_facts(struct reader *r, const cJSON *o, const char *where, struct mf_facts *f)
{
	char w[WHERE_MAX];
	const cJSON *elf = get_object(r, o, "elf", where, false);
	if (elf && !f->elf)
		f->elf = read_elf(r, elf, at_key(w, sizeof(w), where, "elf"));
	const char *s = get_str(r, o, "elf_error", where, false);
	if (s && !f->elf_error)
		f->elf_error = xstrdup(s);
	const cJSON *script = get_object(r, o, "script", where, false);
	if (script && !f->script_interp) {
		at_key(w, sizeof(w), where, "script");
		if ((s = get_str(r, script, "interpreter", w, true)))
			f->script_interp = xstrdup(s);
		if ((s = get_str(r, script, "args", w, false)))
			f->script_args = xstrdup(s);
	}
	read_sha256(r, o, where, &f->sha256, &f->hash_failed);
	f->setuid |= get_bool(r, o, "setuid", where);
	f->setgid |= get_bool(r, o, "setgid", where);
}

/* "package": an owner object, or null (no owner); absent when ownership was not looked up. */
static const struct mf_package *read_package(struct reader *r, const cJSON *o, const char *where)
{
	char w[WHERE_MAX];
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "package");
	if (!p)
		return NULL;
	r->m->packages_known = true;
	if (cJSON_IsNull(p))
		return NULL;
	if (!cJSON_IsObject(p))
		return failf(r, at_key(w, sizeof(w), where, "package"), "expected an object or null"), NULL;
	at_key(w, sizeof(w), where, "package");
	const char *name = get_str(r, p, "name", w, true), *version = get_str(r, p, "version", w, true);
	const char *arch = get_str(r, p, "arch", w, true);
	return name && version && arch ? manifest_add_package(r->m, name, version, arch) : NULL;
}

/*
 * Each {"host", "rank"} of array `a` into the entry's places and, when
 * `variant`, into those of digest `sha256`.
 */
static void read_places(struct reader *r, const cJSON *a, const char *where, struct prov_entry *e, const char *sha256,
			bool variant)
{
	char w[WHERE_MAX];
	int i = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, a) {
		at_index(w, sizeof(w), where, i++);
		if (!cJSON_IsObject(p)) {
			failf(r, w, "expected an object");
			return;
		}
		const char *host = get_str(r, p, "host", w, false);
		long rank = get_rank(r, p, "rank", w);
		if (variant)
			prov_seen(e, sha256, host, rank);
		else
			prov_places_add(&e->seen, host, rank);
	}
}

/*
 * A merged manifest's "seen_on" of an entry, and its "variants" when
 * present ([{"sha256", "seen_on"}]); without variants, every place saw the
 * entry's own sha256 (or none).
 */
static void read_provenance(struct reader *r, const cJSON *o, const char *where, enum prov_section s, const char *path)
{
	char w[WHERE_MAX], w2[WHERE_MAX], w3[WHERE_MAX];
	if (!r->m->prov)
		return;
	struct prov_entry *e = prov_entry(r->m->prov, s, path);
	const cJSON *seen = get_array(r, o, "seen_on", where, true);
	const cJSON *variants = get_array(r, o, "variants", where, false), *v;
	int i = 0;
	at_key(w, sizeof(w), where, "variants");
	cJSON_ArrayForEach(v, variants) {
		at_index(w2, sizeof(w2), w, i++);
		if (!cJSON_IsObject(v)) {
			failf(r, w2, "expected an object");
			return;
		}
		const char *sha = get_str(r, v, "sha256", w2, false);
		const cJSON *vseen = get_array(r, v, "seen_on", w2, true);
		if (vseen)
			read_places(r, vseen, at_key(w3, sizeof(w3), w2, "seen_on"), e, sha, true);
	}
	if (seen)
		read_places(r, seen, at_key(w, sizeof(w), where, "seen_on"), e, get_str(r, o, "sha256", where, false),
			    !variants);
}

static void read_binary(struct reader *r, const cJSON *o, const char *where)
{
	const char *path = get_str(r, o, "path", where, true);
	if (!path)
		return;
	struct mf_binary *b = manifest_binary(r->m, path);
	b->target = get_str(r, o, "target", where, false);
	b->package = read_package(r, o, where);
	b->exec_count += (unsigned long)get_count(r, o, "exec_count", where, 0);
	read_facts(r, o, where, &b->facts);
	read_provenance(r, o, where, PROV_BINARIES, path);
}

static void read_library(struct reader *r, const cJSON *o, const char *where)
{
	char w[WHERE_MAX];
	const char *path = get_str(r, o, "path", where, true);
	if (!path)
		return;
	struct mf_library *l = manifest_add_library(r->m, path, NULL);
	l->target = get_str(r, o, "target", where, false);
	l->package = read_package(r, o, where);
	l->how = get_str(r, o, "how", where, false);
	l->found_via = get_str(r, o, "found_via", where, false);
	l->found_dir = get_str(r, o, "found_dir", where, false);
	const cJSON *a = get_array(r, o, "loaded_by", where, false);
	if (a)
		read_strset(r, a, at_key(w, sizeof(w), where, "loaded_by"), &l->loaded_by);
	read_facts(r, o, where, &l->facts);
	read_provenance(r, o, where, PROV_LIBRARIES, path);
}

static unsigned access_of(struct reader *r, const char *s, const char *where)
{
	static const unsigned modes[] = { ACCESS_READ, ACCESS_WRITE, ACCESS_READ | ACCESS_WRITE };
	if (!s)
		return ACCESS_READ;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(s, manifest_access_name(modes[i])) == 0)
			return modes[i];
	char w[WHERE_MAX];
	failf(r, at_key(w, sizeof(w), where, "access"), "'%s' is not read, write or read-write", s);
	return 0;
}

static void read_file(struct reader *r, const cJSON *o, const char *where)
{
	char w[WHERE_MAX], w2[WHERE_MAX];
	const char *path = get_str(r, o, "path", where, true);
	if (!path)
		return;
	unsigned access = access_of(r, get_str(r, o, "access", where, true), where);
	if (get_bool(r, o, "created", where))
		access |= ACCESS_CREATED;
	const cJSON *a = get_array(r, o, "opened_by", where, false), *e;
	struct mf_file *f = NULL;
	int i = 0;
	if (a) {
		at_key(w, sizeof(w), where, "opened_by");
		cJSON_ArrayForEach(e, a) {
			at_index(w2, sizeof(w2), w, i++);
			if (!cJSON_IsObject(e)) {
				failf(r, w2, "expected an object");
				return;
			}
			const cJSON *mod = cJSON_GetObjectItemCaseSensitive(e, "module");
			struct mf_opener by = {
				.binary = get_str(r, e, "binary", w2, false),
				.module = get_str(r, e, "module", w2, false),
				.function = get_str(r, e, "function", w2, false),
				.for_lib = get_str(r, e, "for", w2, false),
				.unknown = mod && cJSON_IsNull(mod),
			};
			if (by.module || by.unknown)
				r->m->callers = true;
			f = manifest_add_file(r->m, path, access, &by);
		}
	}
	if (!f) {
		f = manifest_file(r->m, path);
		f->access |= access;
	}
	f->target = get_str(r, o, "target", where, false);
	f->type = get_str(r, o, "type", where, false);
	f->package = read_package(r, o, where);
	read_sha256(r, o, where, &f->sha256, &f->hash_failed);
	read_provenance(r, o, where, PROV_FILES, path);
}

static void read_missing(struct reader *r, const cJSON *o, const char *where)
{
	char w[WHERE_MAX];
	const char *path = get_str(r, o, "path", where, true);
	if (!path)
		return;
	struct mf_missing *p = manifest_add_missing(r->m, path, NULL);
	const cJSON *a = get_array(r, o, "probed_by", where, false);
	if (a)
		read_strset(r, a, at_key(w, sizeof(w), where, "probed_by"), &p->probed_by);
	if ((a = get_array(r, o, "tried", where, false)))
		read_strset(r, a, at_key(w, sizeof(w), where, "tried"), &p->tried);
	read_provenance(r, o, where, PROV_MISSING, path);
}

/*
 * A JSON array of strings as a NUL-separated blob of their bytes (malloc'd,
 * owned by the caller); `a64` (at `where64`) is its base64 list, or NULL.
 */
static char *blob_of(struct reader *r, const cJSON *a, const char *where, const cJSON *a64, const char *where64,
		     size_t *len)
{
	char w[WHERE_MAX];
	struct buf b = { 0 };
	int i = 0;
	const cJSON *e;
	a64 = b64_list(r, a64, cJSON_GetArraySize(a), where64);
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e)) {
			failf(r, at_index(w, sizeof(w), where, i), "expected a string");
			break;
		}
		if (!a64 && !strchr(e->valuestring, '\\')) {
			buf_append(&b, e->valuestring, strlen(e->valuestring) + 1);
		} else {
			autofree char *s = list_item(r, e->valuestring, a64, i, where, where64);
			if (!s)
				break;
			buf_append(&b, s, strlen(s) + 1);
		}
		i++;
	}
	*len = b.len;
	if (!b.data)
		b.data = xcalloc(1, 1);
	return b.data;
}

/* The binary named by key `k` of env or cmdlines (at `where`), or NULL after an error. */
static struct mf_binary *binary_of_key(struct reader *r, const cJSON *k, const char *where)
{
	autofree char *path = unescape(r, k->string, where);
	return path ? manifest_binary(r->m, manifest_intern(r->m, path)) : NULL;
}

/*
 * "env" and "cmdlines": {binary: [...]}, with "env_b64" and "cmdlines_b64":
 * the same arrays in base64 for the binaries one of whose strings is escaped.
 */
static void read_per_binary(struct reader *r, const cJSON *root)
{
	char w[WHERE_MAX], w2[WHERE_MAX], w64[WHERE_MAX], w64b[WHERE_MAX];
	const cJSON *env = get_object(r, root, "env", "", false), *k, *e;
	const cJSON *env_b64 = get_object(r, root, "env_b64", "", false);
	cJSON_ArrayForEach(k, env) {
		place(w, sizeof(w), "env[\"%s\"]", k->string);
		place(w64, sizeof(w64), "env_b64[\"%s\"]", k->string);
		if (!cJSON_IsArray(k)) {
			failf(r, w, "expected an array");
			return;
		}
		struct mf_binary *b = binary_of_key(r, k, w);
		if (!b)
			return;
		size_t len;
		autofree char *blob = blob_of(r, k, w, cJSON_GetObjectItemCaseSensitive(env_b64, k->string), w64, &len);
		manifest_add_env(r->m, b, blob, len);
	}
	const cJSON *cmd = get_object(r, root, "cmdlines", "", false);
	const cJSON *cmd_b64 = get_object(r, root, "cmdlines_b64", "", false);
	cJSON_ArrayForEach(k, cmd) {
		place(w, sizeof(w), "cmdlines[\"%s\"]", k->string);
		place(w64, sizeof(w64), "cmdlines_b64[\"%s\"]", k->string);
		if (!cJSON_IsArray(k)) {
			failf(r, w, "expected an array");
			return;
		}
		struct mf_binary *b = binary_of_key(r, k, w);
		const cJSON *lists64 = b64_list(r, cJSON_GetObjectItemCaseSensitive(cmd_b64, k->string),
						cJSON_GetArraySize(k), w64);
		if (!b || r->failed)
			return;
		int i = 0;
		cJSON_ArrayForEach(e, k) {
			at_index(w64b, sizeof(w64b), w64, i);
			at_index(w2, sizeof(w2), w, i++);
			if (!cJSON_IsArray(e)) {
				failf(r, w2, "expected an array of strings");
				return;
			}
			size_t len;
			autofree char *blob = blob_of(r, e, w2, cJSON_GetArrayItem(lists64, i - 1), w64b, &len);
			manifest_add_cmdline(r->m, b, blob, len);
		}
	}
}

static struct mf_exit read_exit(struct reader *r, const cJSON *o, const char *key, const char *where)
{
	struct mf_exit x = { 0 };
	char w[WHERE_MAX];
	const cJSON *e = get_object(r, o, key, where, false);
	if (e) {
		at_key(w, sizeof(w), where, key);
		x.exited = true;
		x.status = (int)get_count(r, e, "status", w, 0);
		x.signal = (int)get_count(r, e, "signal", w, 0);
	}
	return x;
}

static void read_processes(struct reader *r, const cJSON *a, const char *where)
{
	char w[WHERE_MAX];
	int i = 0;
	const cJSON *o;
	cJSON_ArrayForEach(o, a) {
		at_index(w, sizeof(w), where, i++);
		if (!cJSON_IsObject(o)) {
			failf(r, w, "expected an object");
			return;
		}
		struct mf_process *p = manifest_add_process(r->m, (pid_t)get_count(r, o, "pid", w, 0),
							    (pid_t)get_count(r, o, "ppid", w, 0));
		p->binary = get_str(r, o, "binary", w, false);
		const cJSON *argv = get_array(r, o, "argv", w, false);
		if (argv) {
			char w2[WHERE_MAX];
			char w64[WHERE_MAX];
			p->argv = blob_of(r, argv, at_key(w2, sizeof(w2), w, "argv"), b64_of(o, "argv"),
					  at_key(w64, sizeof(w64), w, "argv_b64"), &p->argv_len);
		}
		const char *cwd = get_str(r, o, "cwd", w, false);
		p->cwd = cwd ? xstrdup(cwd) : NULL;
		p->threads = (unsigned)get_count(r, o, "threads", w, 1);
		p->exit = read_exit(r, o, "exit", w);
		p->detached = get_bool(r, o, "detached", w);
		if (p->detached && p->exit.exited)
			failf(r, w, "a detached process has no exit (it was left running)");
	}
}

/* A warning of a run read back: counts of the same kind add up (a merged manifest has several runs). */
static void add_warning(struct manifest *m, const char *kind, const char *msg, unsigned long count)
{
	for (size_t i = 0; i < m->nwarnings; i++) {
		if (strcmp(m->warnings[i].kind, kind) == 0) {
			m->warnings[i].count += count;
			return;
		}
	}
	manifest_warn(m, kind, "%s", msg ? msg : "");
	m->warnings[m->nwarnings - 1].count = count;
}

/* The fields of one run object (at `where`: "run" or "run[2]") into `og`, its warnings into the model. */
static void read_run(struct reader *r, const cJSON *run, const char *where, struct mf_origin *og)
{
	char w[WHERE_MAX], w2[WHERE_MAX];
	const cJSON *a;
	og->mode = get_str(r, run, "mode", where, true);
	if (og->mode && strcmp(og->mode, "trace") != 0 && strcmp(og->mode, "scan") != 0)
		failf(r, at_key(w, sizeof(w), where, "mode"), "'%s' is not trace or scan", og->mode);
	og->cwd = get_str(r, run, "cwd", where, false);
	og->start = get_str(r, run, "start", where, false);
	og->root = get_str(r, run, "root", where, false);
	og->duration_s = get_count(r, run, "duration_s", where, 0);
	og->complete = get_bool(r, run, "complete", where);
	/* Absent in manifests older than --no-follow-daemons: they followed every process. */
	og->follow_daemons = !cJSON_GetObjectItemCaseSensitive(run, "follow_daemons") ||
			     get_bool(r, run, "follow_daemons", where);
	og->trace = TRACE_ALL;
	if ((a = get_array(r, run, "trace", where, false))) {
		const cJSON *e;
		int i = 0;
		og->trace = 0;
		cJSON_ArrayForEach(e, a) {
			at_index(w, sizeof(w), at_key(w2, sizeof(w2), where, "trace"), i++);
			int call = cJSON_IsString(e) ? trace_filter_lookup(e->valuestring) : -1;
			if (call < 0) {
				failf(r, w, "expected the name of a syscall fingerprint traces");
				break;
			}
			og->trace |= TRACE_BIT(call);
		}
	}
	const char *packages = get_str(r, run, "packages", where, false);
	if (!r->m->packages_lookup)
		r->m->packages_lookup = packages; /* a merged manifest: the first run's */
	og->exit = read_exit(r, run, "exit", where);
	og->rank = get_rank(r, run, "rank", where);
	const cJSON *ev = get_object(r, run, "events", where, false);
	if (ev) {
		char we[WHERE_MAX];
		at_key(we, sizeof(we), where, "events");
		og->events_file = get_str(r, ev, "file", we, true);
		if (!cJSON_GetObjectItemCaseSensitive(ev, "count"))
			failf(r, at_key(w, sizeof(w), we, "count"), "missing (a number is required)");
		og->events_count = get_count(r, ev, "count", we, 0);
		og->events_tail = get_count(r, ev, "tail", we, 0);
		if (cJSON_GetObjectItemCaseSensitive(ev, "tail") && og->events_tail < 1)
			failf(r, at_key(w, sizeof(w), we, "tail"), "expected at least 1 event");
	}
	if ((a = get_array(r, run, "attached", where, false))) {
		const cJSON *e;
		int i = 0;
		cJSON_ArrayForEach(e, a) {
			at_index(w, sizeof(w), at_key(w2, sizeof(w2), where, "attached"), i++);
			if (!cJSON_IsNumber(e) || e->valuedouble < 1 || e->valuedouble > INT_MAX ||
			    e->valuedouble != (double)(long)e->valuedouble) {
				failf(r, w, "expected a process id");
				break;
			}
		}
		og->n_attached = (size_t)i;
		if (i == 0)
			failf(r, at_key(w, sizeof(w), where, "attached"), "an empty list (attached to nothing)");
	}
	if ((a = get_array(r, run, "command", where, false))) {
		char w64[WHERE_MAX];
		char **v = strv_of(r, a, at_key(w, sizeof(w), where, "command"), b64_of(run, "command"),
				   at_key(w64, sizeof(w64), where, "command_b64"), &og->n_command);
		og->command = xcalloc(og->n_command + 1, sizeof(*og->command));
		for (size_t i = 0; i < og->n_command; i++) {
			og->command[i] = manifest_intern(r->m, v[i]);
			free(v[i]);
		}
		free(v);
	}
	if ((a = get_array(r, run, "warnings", where, false))) {
		const cJSON *e;
		int i = 0;
		cJSON_ArrayForEach(e, a) {
			at_index(w, sizeof(w), at_key(w2, sizeof(w2), where, "warnings"), i++);
			if (!cJSON_IsObject(e)) {
				failf(r, w, "expected an object");
				break;
			}
			const char *kind = get_str(r, e, "kind", w, true), *msg = get_str(r, e, "message", w, false);
			if (kind)
				add_warning(r->m, kind, msg, (unsigned long)get_count(r, e, "count", w, 1));
		}
	}
}

static void read_host(struct reader *r, const cJSON *host, const char *where, struct mf_origin *og)
{
	og->hostname = get_str(r, host, "hostname", where, false);
	og->kernel = get_str(r, host, "kernel", where, false);
	og->machine = get_str(r, host, "machine", where, false);
	og->os = get_str(r, host, "os", where, false);
}

/* Keep run object `run` as compact text in og->runs (for merge to write back). */
static void keep_run(struct mf_origin *og, const cJSON *run)
{
	char *text = cJSON_PrintUnformatted(run);
	if (!text)
		die(EXIT_INTERNAL, "out of memory while reading a manifest");
	og->runs[og->n_runs++] = xstrdup(text);
	cJSON_free(text);
}

/*
 * A merged manifest's "run": a list of run objects, each with its "host"
 * and "processes". The first fills `og`; every one is kept in og->runs,
 * its processes join the model's.
 */
static void read_runs(struct reader *r, const cJSON *runs, struct mf_origin *og)
{
	char w[WHERE_MAX], w2[WHERE_MAX];
	int i = 0;
	const cJSON *run;
	if (cJSON_GetArraySize(runs) == 0) {
		failf(r, "run", "an empty list (a merged manifest has one run per input)");
		return;
	}
	r->m->prov = prov_new();
	og->runs = xcalloc((size_t)cJSON_GetArraySize(runs), sizeof(*og->runs));
	cJSON_ArrayForEach(run, runs) {
		struct mf_origin other = { 0 }, *dst = i == 0 ? og : &other;
		at_index(w, sizeof(w), "run", i++);
		if (!cJSON_IsObject(run)) {
			failf(r, w, "expected an object");
			return;
		}
		read_run(r, run, w, dst);
		const cJSON *host = get_object(r, run, "host", w, false);
		if (host)
			read_host(r, host, at_key(w2, sizeof(w2), w, "host"), dst);
		const cJSON *procs = get_array(r, run, "processes", w, false);
		if (procs)
			read_processes(r, procs, at_key(w2, sizeof(w2), w, "processes"));
		if (dst != og)
			og->trace |= other.trace;
		free(other.command);
		keep_run(og, run);
	}
}

static void read_origin(struct reader *r, const cJSON *root, struct mf_origin *og)
{
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "run");
	const cJSON *host = get_object(r, root, "host", "", false);
	const cJSON *tool = get_object(r, root, "tool", "", false);
	og->rank = -1;
	og->trace = TRACE_ALL;
	if (cJSON_IsArray(runs)) {
		read_runs(r, runs, og);
	} else {
		const cJSON *run = get_object(r, root, "run", "", true);
		if (!run)
			return;
		read_run(r, run, "run", og);
		if (host)
			read_host(r, host, "host", og);
		/* Kept with its host and processes inside, as a merged manifest holds it. */
		cJSON *copy = cJSON_Duplicate(run, true);
		const cJSON *procs = cJSON_GetObjectItemCaseSensitive(root, "processes");
		if (!copy || (host && !cJSON_AddItemToObject(copy, "host", cJSON_Duplicate(host, true))) ||
		    (cJSON_IsArray(procs) && !cJSON_AddItemToObject(copy, "processes", cJSON_Duplicate(procs, true))))
			die(EXIT_INTERNAL, "out of memory while reading a manifest");
		og->runs = xcalloc(1, sizeof(*og->runs));
		keep_run(og, copy);
		cJSON_Delete(copy);
	}
	if (tool)
		og->tool_version = get_str(r, tool, "version", "tool", false);
	r->m->traced = og->mode && strcmp(og->mode, "trace") == 0;
}

/* Each object of the array `key` of `root`, through `fn`. */
static void read_section(struct reader *r, const cJSON *root, const char *key,
			 void (*fn)(struct reader *, const cJSON *, const char *))
{
	char w[WHERE_MAX];
	const cJSON *a = get_array(r, root, key, "", true), *o;
	int i = 0;
	cJSON_ArrayForEach(o, a) {
		if (r->failed)
			return;
		at_index(w, sizeof(w), key, i++);
		if (!cJSON_IsObject(o)) {
			failf(r, w, "expected an object");
			return;
		}
		fn(r, o, w);
	}
}

/* The schema string: ours, a newer one, or not a manifest at all. */
static bool check_schema(struct reader *r, const cJSON *root)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "schema");
	if (!cJSON_IsString(s))
		return failf(r, "", "not a fingerprint manifest (no \"schema\": \"%s%d\")", SCHEMA_PREFIX, SCHEMA_VERSION);
	const char *v = s->valuestring;
	if (strncmp(v, SCHEMA_PREFIX, strlen(SCHEMA_PREFIX)) != 0)
		return failf(r, "schema", "'%s' is not a fingerprint manifest schema", v);
	char *end;
	long n = strtol(v + strlen(SCHEMA_PREFIX), &end, 10);
	if (*end || end == v + strlen(SCHEMA_PREFIX) || n < 1)
		return failf(r, "schema", "'%s' is not a fingerprint manifest schema", v);
	if (n > SCHEMA_VERSION)
		return failf(r, "schema", "%s is newer than this fingerprint reads (%s%d); upgrade fingerprint", v,
			     SCHEMA_PREFIX, SCHEMA_VERSION);
	return true;
}

/* Line and column of byte offset `off` of `text`. */
static void line_col(const char *text, size_t off, unsigned long *line, unsigned long *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

int manifest_json_parse(const char *text, size_t len, struct manifest **out, struct mf_origin *origin, char *err,
			size_t errsz)
{
	struct reader r = { .err = err, .errsz = errsz };
	unsigned long line, col;
	*out = NULL;
	memset(origin, 0, sizeof(*origin));
	if (memchr(text, '\0', len)) {
		line_col(text, (size_t)((const char *)memchr(text, '\0', len) - text), &line, &col);
		snprintf(err, errsz, "line %lu, column %lu: a NUL byte: not a JSON text", line, col);
		return -EINVAL;
	}
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq((const unsigned char *)text + i, len - i);
		if (!n) {
			line_col(text, i, &line, &col);
			snprintf(err, errsz, "line %lu, column %lu: invalid UTF-8 (byte 0x%02x)", line, col,
				 (unsigned char)text[i]);
			return -EINVAL;
		}
		i += n;
	}
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	size_t rest = root && end >= text && end <= text + len ? (size_t)(end - text) : len;
	while (root && rest < len && strchr(" \t\r\n", text[rest]))
		rest++;
	if (root && rest < len) {
		cJSON_Delete(root);
		line_col(text, rest, &line, &col);
		snprintf(err, errsz, "line %lu, column %lu: text after the JSON value", line, col);
		return -EINVAL;
	}
	if (!root) {
		size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
		line_col(text, off, &line, &col);
		snprintf(err, errsz, "line %lu, column %lu: malformed JSON (or nested deeper than %d levels)", line, col,
			 CJSON_NESTING_LIMIT);
		return -EINVAL;
	}
	r.m = manifest_new();
	r.m->keep_secrets = true; /* as written: redacted values stay redacted, nothing more */
	if (!cJSON_IsObject(root)) {
		failf(&r, "", "not a fingerprint manifest (the top level is not an object)");
	} else if (check_schema(&r, root)) {
		read_origin(&r, root, origin);
		read_section(&r, root, "binaries", read_binary);
		read_section(&r, root, "libraries", read_library);
		read_section(&r, root, "files", read_file);
		read_section(&r, root, "missing", read_missing);
		if (!r.failed)
			read_per_binary(&r, root);
		const cJSON *procs = get_array(&r, root, "processes", "", false);
		if (procs && !r.failed)
			read_processes(&r, procs, "processes");
	}
	cJSON_Delete(root);
	if (r.failed) {
		mf_origin_free(origin);
		manifest_free(r.m);
		return -EINVAL;
	}
	manifest_sort(r.m);
	if (r.m->packages_known)
		manifest_finalize_packages(r.m);
	*out = r.m;
	return 0;
}

int manifest_json_read(const char *file, struct manifest **out, struct mf_origin *origin, char *err, size_t errsz)
{
	struct buf b = { 0 };
	*out = NULL;
	memset(origin, 0, sizeof(*origin));
	ssize_t n = strcmp(file, "-") == 0 ? buf_read_fd(&b, 0) : buf_read_file(&b, file);
	if (n < 0) {
		buf_free(&b);
		snprintf(err, errsz, "%s", strerror((int)-n));
		return (int)n;
	}
	if (n == 0) {
		buf_free(&b);
		snprintf(err, errsz, "empty file: not a fingerprint manifest");
		return -EINVAL;
	}
	int r = manifest_json_parse(b.data, b.len, out, origin, err, errsz);
	buf_free(&b);
	return r;
}

void mf_origin_free(struct mf_origin *og)
{
	free(og->command);
	for (size_t i = 0; i < og->n_runs; i++)
		free(og->runs[i]);
	free(og->runs);
	memset(og, 0, sizeof(*og));
}
