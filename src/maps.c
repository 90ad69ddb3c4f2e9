#include "config.h"
#include "maps.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

static int parse_hex(const char **p, uint64_t *v)
{
	char *end;
	errno = 0;
	*v = strtoull(*p, &end, 16);
	if (end == *p || errno)
		return -EINVAL;
	*p = end;
	return 0;
}

int maps_parse_line(char *line, struct maps_entry *e)
{
	const char *p = line;
	size_t n = strlen(line);

	if (n && line[n - 1] == '\n')
		line[--n] = '\0';
	memset(e, 0, sizeof(*e));
	/* start-end perms offset dev inode [path] */
	if (parse_hex(&p, &e->start) < 0 || *p++ != '-' || parse_hex(&p, &e->end) < 0 || *p++ != ' ')
		return -EINVAL;
	if (strlen(p) < 5 || p[4] != ' ')
		return -EINVAL;
	e->readable = p[0] == 'r';
	e->writable = p[1] == 'w';
	e->executable = p[2] == 'x';
	p += 5;
	if (parse_hex(&p, &e->offset) < 0 || *p != ' ')
		return -EINVAL;
	char *end;
	unsigned long major = strtoul(p + 1, &end, 16), minor;
	if (end == p + 1 || *end != ':')
		return -EINVAL;
	p = end + 1;
	minor = strtoul(p, &end, 16);
	if (end == p || *end != ' ')
		return -EINVAL;
	e->dev = makedev(major, minor);
	p = end + 1;
	e->inode = strtoull(p, &end, 10);
	if (end == p)
		return -EINVAL;
	p = end;
	while (*p == ' ')
		p++;
	if (*p == '/') {
		static const char deleted[] = " (deleted)";
		size_t len = strlen(p), dl = sizeof(deleted) - 1;
		if (len > dl && strcmp(p + len - dl, deleted) == 0)
			line[(p - line) + len - dl] = '\0';
		e->path = p;
	}
	return 0;
}

int maps_foreach(pid_t pid, void (*fn)(const struct maps_entry *e, void *ctx), void *ctx)
{
	static struct buf b; /* kept: the next read needs no allocation */
	ssize_t n = proc_read_file(pid, "maps", &b);
	if (n < 0)
		return n == -ENOENT ? -ESRCH : (int)n;
	int count = 0;
	for (char *line = b.data, *end; *line; line = end) {
		end = strchr(line, '\n');
		end = end ? end + 1 : line + strlen(line);
		char keep = *end;
		*end = '\0'; /* the newline itself goes in maps_parse_line */
		struct maps_entry e;
		if (maps_parse_line(line, &e) == 0) {
			fn(&e, ctx);
			count++;
		}
		*end = keep;
	}
	return count;
}

struct scan_exec {
	void (*fn)(const char *path, void *ctx);
	void *ctx;
	char *last; /* the file of the last executable mapping reported */
	int count;
};

static void scan_exec_entry(const struct maps_entry *e, void *ctx)
{
	struct scan_exec *s = ctx;
	if (!e->executable || !e->path)
		return;
	/* Segments of one object are adjacent: report each file once in a row. */
	if (s->last && strcmp(s->last, e->path) == 0)
		return;
	free(s->last);
	s->last = xstrdup(e->path);
	s->fn(e->path, s->ctx);
	s->count++;
}

int maps_scan_exec(pid_t pid, void (*fn)(const char *path, void *ctx), void *ctx)
{
	struct scan_exec s = { fn, ctx, NULL, 0 };
	int r = maps_foreach(pid, scan_exec_entry, &s);
	free(s.last);
	return r < 0 ? r : s.count;
}
