#include "config.h"
#include "tracee_mem.h"
#include "util.h"

#include <elf.h>
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

/* tracee_read_string; with `data`, the `len` bytes at `page` too, in the first read when it can be. */
static int read_string(pid_t pid, uint64_t addr, char *out, size_t outsz, uint64_t page, size_t len, void *data,
		       size_t *page_got)
{
	size_t got = 0;
	if (page_got)
		*page_got = 0;
	if (addr == 0)
		return -EFAULT;
	/* The NUL may be the last byte of `out`: a path of PATH_MAX - 1 characters fits. */
	while (got < outsz) {
		/* Never cross a page boundary in one read: the next page may be unmapped. */
		size_t chunk = page_size() - ((addr + got) & (page_size() - 1));
		if (chunk > outsz - got)
			chunk = outsz - got;
		ssize_t n = -1;
		if (data && got == 0) {
			struct iovec local[2] = { { out, chunk }, { data, len } };
			struct iovec remote[2] = { { (void *)(uintptr_t)addr, chunk }, { (void *)(uintptr_t)page, len } };
			n = process_vm_readv(pid, local, 2, remote, 2, 0);
			if (n > (ssize_t)chunk) {
				*page_got = ((size_t)n - chunk) & ~(size_t)4095;
				n = (ssize_t)chunk;
			}
		}
		if (n <= 0)
			n = read_some(pid, addr + got, out + got, chunk);
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

int tracee_read_string(pid_t pid, uint64_t addr, char *out, size_t outsz)
{
	return read_string(pid, addr, out, outsz, 0, 0, NULL, NULL);
}

int tracee_read_string_and_page(pid_t pid, uint64_t addr, char *out, size_t outsz, uint64_t page, size_t len,
				void *data, size_t *got)
{
	return read_string(pid, addr, out, outsz, page, len, data, got);
}

/* Pointer `i` of a block of `word`-byte pointers. */
static uint64_t word_at(const unsigned char *blk, size_t i, unsigned word)
{
	if (word == 8) {
		uint64_t v;
		memcpy(&v, blk + i * 8, 8);
		return v;
	}
	uint32_t v;
	memcpy(&v, blk + i * 4, 4);
	return v;
}

/* Enough for argc, argv[], envp[] and auxv of nearly any exec; a longer block is read from /proc. */
#define EXEC_BLOCK 16384
#define EXEC_STRINGS_MAX (64u << 20)

int tracee_exec_strings(pid_t pid, uint64_t sp, unsigned word, struct buf *b, size_t *argv_len)
{
	unsigned char blk[EXEC_BLOCK];
	if (!sp || (word != 8 && word != 4))
		return -EINVAL;
	ssize_t got = read_some(pid, sp, blk, sizeof(blk)); /* may stop at the top of the stack */
	if (got < 0)
		return (int)got;
	size_t nw = (size_t)got / word, i;
	uint64_t argc = nw ? word_at(blk, 0, word) : 0;
	if (argc == 0 || nw < 2 || argc > nw - 2 || word_at(blk, 1 + argc, word) != 0)
		return -EINVAL;
	size_t env0 = argc + 2;
	for (i = env0; i < nw && word_at(blk, i, word) != 0; i++)
		;
	size_t envc = i - env0;
	uint64_t execfn = 0; /* AT_EXECFN: the file name, copied just above the env strings */
	for (i++; i + 1 < nw && word_at(blk, i, word) != AT_NULL; i += 2)
		if (word_at(blk, i, word) == AT_EXECFN)
			execfn = word_at(blk, i + 1, word);
	uint64_t start = word_at(blk, 1, word);
	if (i + 1 >= nw || start < sp || execfn <= start || execfn - start > EXEC_STRINGS_MAX)
		return -EINVAL;

	size_t len = execfn - start;
	xgrow(&b->data, &b->cap, len + 1, 1);
	if (execfn <= sp + (uint64_t)got) {
		memcpy(b->data, blk + (start - sp), len);
	} else {
		int r = tracee_read(pid, start, b->data, len);
		if (r < 0)
			return r;
	}
	/* Each argv and envp pointer must be where the string before it ends. */
	size_t at = 0;
	*argv_len = 0;
	for (uint64_t k = 0; k < argc + envc; k++) {
		uint64_t ptr = word_at(blk, k < argc ? 1 + k : env0 + (k - argc), word);
		const char *nul = ptr == start + at ? memchr(b->data + at, '\0', len - at) : NULL;
		if (!nul)
			return -EINVAL;
		at = (size_t)(nul - b->data) + 1;
		if (k + 1 == argc)
			*argv_len = at;
	}
	b->len = at;
	b->data[at] = '\0';
	return 0;
}
