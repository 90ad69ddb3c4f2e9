/*
 * Unit tests of the CPU counting busy-waiting relies on (util.c):
 * loadavg_running on /proc/loadavg's text, good and bad; cpus_quota on
 * fake machine trees (a root prefixed to every file read): no cgroup
 * limit, cgroup v1 (cpu.cfs_quota_us / cpu.cfs_period_us) and v2
 * (cpu.max), a parent's quota smaller than its child's, a quota rounded
 * up, a hierarchy mounted from a subdirectory (a container's view), a
 * controller list with "cpuacct" but not "cpu"; and cpus_usable on this
 * machine, which is never more than its affinity allows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#include "check.h"

static char base[PATH_MAX / 2];

/* Write `text` to root + rel, creating the directories on the way. */
static void put(const char *root, const char *rel, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s%s", root, rel);
	for (char *s = strchr(path + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			CHECK(0, "mkdir %s: %s", path, strerror(errno));
		*s = '/';
	}
	FILE *f = fopen(path, "w");
	CHECK(f != NULL, "cannot write %s", path);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* A fresh machine tree named `name` under base; returns its root (static storage). */
static const char *machine(const char *name)
{
	static char root[PATH_MAX];
	snprintf(root, sizeof(root), "%s/%s", base, name);
	CHECK(mkdir(root, 0755) == 0, "mkdir %s: %s", root, strerror(errno));
	return root;
}

/* A cgroup v1 quota of `quota` us per 100 ms period in directory `dir` of root. */
static void v1_quota(const char *root, const char *dir, const char *quota)
{
	char rel[PATH_MAX];
	snprintf(rel, sizeof(rel), "%s/cpu.cfs_quota_us", dir);
	put(root, rel, quota);
	snprintf(rel, sizeof(rel), "%s/cpu.cfs_period_us", dir);
	put(root, rel, "100000\n");
}

#define V1_MOUNTS \
	"25 1 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n" \
	"30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n" \
	"31 25 0:27 / /sys/fs/cgroup/memory rw,relatime shared:10 - cgroup cgroup rw,memory\n" \
	"32 25 0:28 / /sys/fs/cgroup/unified rw,relatime shared:11 - cgroup2 cgroup2 rw\n"

int main(void)
{
	/* /proc/loadavg */
	CHECK(loadavg_running("0.75 0.77 0.69 3/82 1848\n") == 3, "three running");
	CHECK(loadavg_running("12.00 8.50 4.25 1/1234 99999") == 1, "one running");
	CHECK(loadavg_running("0.00 0.00 0.00 0/5 1") == 0, "none running");
	CHECK(loadavg_running("") == -1, "empty text");
	CHECK(loadavg_running("0.75 0.77 0.69 3 82 1848") == -1, "no slash");
	CHECK(loadavg_running("0.75 0.77 3/82 1848") == -1, "two averages only");
	CHECK(loadavg_running("0.75 0.77 0.69 9/4 1848") == -1, "more running than tasks");
	CHECK(loadavg_running("0.75 0.77 0.69 -1/4 1848") == -1, "negative");

	snprintf(base, sizeof(base), "%s/test_cpus.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(base)) {
		perror(base);
		return 99;
	}
	const char *r;

	/* No limit: v1 quota -1, v2 "max". */
	r = machine("unlimited");
	put(r, "/proc/self/cgroup", "4:cpu,cpuacct:/job\n3:memory:/job\n0::/job\n");
	put(r, "/proc/self/mountinfo", V1_MOUNTS);
	v1_quota(r, "/sys/fs/cgroup/cpu,cpuacct/job", "-1\n");
	put(r, "/sys/fs/cgroup/unified/job/cpu.max", "max 100000\n");
	CHECK(cpus_quota(r) == 0, "no limit: %d", cpus_quota(r));

	/* v1: 1.5 CPUs rounds up to 2; the parent's 1 CPU is smaller. */
	r = machine("v1");
	put(r, "/proc/self/cgroup", "4:cpu,cpuacct:/ci/job\n3:memory:/ci/job\n0::/\n");
	put(r, "/proc/self/mountinfo", V1_MOUNTS);
	v1_quota(r, "/sys/fs/cgroup/cpu,cpuacct/ci/job", "150000\n");
	CHECK(cpus_quota(r) == 2, "v1 1.5 CPUs: %d", cpus_quota(r));
	v1_quota(r, "/sys/fs/cgroup/cpu,cpuacct/ci", "50000\n");
	CHECK(cpus_quota(r) == 1, "v1 parent at half a CPU: %d", cpus_quota(r));

	/* v1 where only cpuacct is listed: not the cpu controller. */
	r = machine("cpuacct");
	put(r, "/proc/self/cgroup", "2:cpuacct:/job\n");
	put(r, "/proc/self/mountinfo", "30 25 0:26 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n");
	v1_quota(r, "/sys/fs/cgroup/cpuacct/job", "100000\n");
	CHECK(cpus_quota(r) == 0, "cpuacct alone limits nothing: %d", cpus_quota(r));

	/* v2: 3 CPUs, the parent 4; then a container's view, mounted from its own cgroup. */
	r = machine("v2");
	put(r, "/proc/self/cgroup", "0::/system.slice/job.scope\n");
	put(r, "/proc/self/mountinfo", "25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
	put(r, "/sys/fs/cgroup/system.slice/job.scope/cpu.max", "300000 100000\n");
	put(r, "/sys/fs/cgroup/system.slice/cpu.max", "400000 100000\n");
	put(r, "/sys/fs/cgroup/cpu.max", "max 100000\n"); /* the top: no limit */
	CHECK(cpus_quota(r) == 3, "v2 three CPUs: %d", cpus_quota(r));
	r = machine("container");
	put(r, "/proc/self/cgroup", "0::/docker/abc/sub\n");
	put(r, "/proc/self/mountinfo", "600 500 0:22 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n");
	put(r, "/sys/fs/cgroup/cpu.max", "100000 100000\n");
	put(r, "/sys/fs/cgroup/sub/cpu.max", "max 100000\n");
	CHECK(cpus_quota(r) == 1, "container limited to one CPU: %d", cpus_quota(r));
	put(r, "/proc/self/cgroup", "0::/other\n"); /* not under what is mounted */
	CHECK(cpus_quota(r) == 0, "a cgroup outside the mount: %d", cpus_quota(r));

	/* A missing tree: no limit, no crash. */
	r = machine("empty");
	CHECK(cpus_quota(r) == 0, "nothing to read: %d", cpus_quota(r));

	/* This machine. */
	cpu_set_t set;
	int n = cpus_usable("");
	CHECK(n >= 1, "cpus_usable %d", n);
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		CHECK(n <= CPU_COUNT(&set), "cpus_usable %d, affinity %d", n, CPU_COUNT(&set));

	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", base);
	return failures ? 1 : 0;
}
