#include "config.h"
#include "tracee_mem.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static size_t page_size(void)
{
	static size_t ps;
	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

/* Read up to len bytes; returns bytes read (> 0) or -errno. */
static ssize_t read_some(pid_t pid, uint64_t addr, void *out, size_t len)
{
	struct iovec local = { out, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n > 0)
		return n;
	if (n == 0)
		return -EFAULT;
	if (errno == EFAULT || errno == ESRCH)
		return -errno;

	/* process_vm_readv refused (ENOSYS, EPERM): try /proc/PID/mem. */
	char file[64];
	snprintf(file, sizeof(file), "/proc/%d/mem", (int)pid);
	autoclose int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = pread(fd, out, len, (off_t)addr);
	if (n < 0)
		return -errno;
	return n > 0 ? n : -EFAULT;
}

int tracee_read(pid_t pid, uint64_t addr, void *out, size_t len)
{
	char *p = out;
	while (len > 0) {
		ssize_t n = read_some(pid, addr, p, len);
		if (n < 0)
			return (int)n;
		p += n;
		addr += n;
		len -= n;
	}
	return 0;
}

int tracee_read_string(pid_t pid, uint64_t addr, char *out, size_t outsz)
{
	size_t got = 0;
	if (addr == 0)
		return -EFAULT;
	/* The NUL may be the last byte of `out`: a path of PATH_MAX - 1 characters fits. */
	while (got < outsz) {
		/* Never cross a page boundary in one read: the next page may be unmapped. */
		size_t chunk = page_size() - ((addr + got) & (page_size() - 1));
		if (chunk > outsz - got)
			chunk = outsz - got;
		ssize_t n = read_some(pid, addr + got, out + got, chunk);
		if (n < 0)
			return (int)n;
		char *nul = memchr(out + got, '\0', n);
		if (nul)
			return (int)(nul - out);
		got += n;
	}
	out[outsz - 1] = '\0';
	return -ENAMETOOLONG;
}
