/* maps.c: parsing /proc/PID/maps and reporting newly mapped objects. */
#ifndef FP_MAPS_H
#define FP_MAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct maps_entry {
	uint64_t start, end, offset;
	bool readable, writable, executable;
	uint64_t inode;
	dev_t dev;        /* of the file's inode (the file system it is on): makedev(major, minor) */
	const char *path; /* points into the parsed line; NULL for anonymous */
};

/*
 * Parse one line of /proc/PID/maps (without or with its trailing newline,
 * which is removed in place). `path` is set only for file-backed mappings
 * whose name starts with '/'; " (deleted)" suffixes are stripped in place.
 * Returns 0, or -EINVAL for a malformed line.
 */
int maps_parse_line(char *line, struct maps_entry *e);

/*
 * Call `fn(entry, ctx)` for each well-formed line of /proc/PID/maps, in
 * order; the entry and its path live until `fn` returns. The file is read
 * whole first, in reads as big as the buffer (stdio reads a /proc file 1
 * KiB, a dozen lines, at a time). Not reentrant. Returns the number of
 * lines passed, or -errno when the maps file cannot be read (-ESRCH: the
 * process vanished).
 */
int maps_foreach(pid_t pid, void (*fn)(const struct maps_entry *e, void *ctx), void *ctx);

/*
 * Call `fn(path, ctx)` once for each distinct file mapped executable in
 * /proc/PID/maps. Returns the number of such files, or -errno when the maps
 * file cannot be read (the process vanished).
 */
int maps_scan_exec(pid_t pid, void (*fn)(const char *path, void *ctx), void *ctx);

#endif
