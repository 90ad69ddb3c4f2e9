/*
 * Unit tests of unwind.c's snapshot updates without a tracee: the dynamic
 * loader placed from an entry point (unwind_place_loader), then executable
 * mmaps of it (unwind_mapped) over exactly its span (replaced), far from it
 * (added), partly over it and inside it (what lies outside the new span is
 * kept, at its file offsets; nothing freed twice: run under the sanitizers
 * or valgrind to see that); the same at a
 * MAP_FIXED's entry with other threads running (unwind_mapped_early), done
 * only over nothing or the object's own mappings.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "unwind.h"

#include "check.h"

/* The loader this test runs under, from /proc/self/maps. */
static int find_loader(char *path, size_t size)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	int found = -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');
		if (p && strstr(p, "/ld-linux")) {
			p[strcspn(p, "\n")] = '\0';
			snprintf(path, size, "%s", p);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* The ELF header of `path`, its executable PT_LOAD and the end of its last PT_LOAD's file contents; 0 or -1. */
static int load_layout(const char *path, Elf64_Ehdr *eh, Elf64_Phdr *text, uint64_t *span)
{
	Elf64_Phdr ph;
	FILE *f = fopen(path, "rb");
	memset(text, 0, sizeof(*text));
	*span = 0;
	if (!f || fread(eh, sizeof(*eh), 1, f) != 1) {
		if (f)
			fclose(f);
		return -1;
	}
	for (int i = 0; i < eh->e_phnum; i++) {
		if (fseek(f, (long)(eh->e_phoff + (uint64_t)i * eh->e_phentsize), SEEK_SET) == 0 &&
		    fread(&ph, sizeof(ph), 1, f) == 1 && ph.p_type == PT_LOAD) {
			if (ph.p_flags & PF_X)
				*text = ph;
			if (ph.p_vaddr + ph.p_filesz > *span)
				*span = ph.p_vaddr + ph.p_filesz;
		}
	}
	fclose(f);
	return text->p_filesz > 0 ? 0 : -1;
}

int main(void)
{
	char ld[4096];
	Elf64_Ehdr eh;
	Elf64_Phdr text;
	uint64_t span; /* the end of the last PT_LOAD's file contents */
	if (find_loader(ld, sizeof(ld)) < 0) {
		printf("SKIP: no ld-linux in /proc/self/maps (a static build?)\n");
		return 77;
	}
	CHECK(load_layout(ld, &eh, &text, &span) == 0, "cannot read the executable PT_LOAD of %s", ld);
	if (failures)
		return 1;

	const uint64_t base = 0x7f0000000000ULL, page = 4096;
	struct tgroup g;
	memset(&g, 0, sizeof(g));

	unwind_place_loader(&g, ld, 0);
	CHECK(g.umap == NULL, "no entry point: nothing placed");
	unwind_place_loader(&g, ld, base + eh.e_entry + 1);
	CHECK(g.umap == NULL, "an entry point off the loader's e_entry by a byte: nothing placed");
	unwind_place_loader(&g, ld, base + eh.e_entry);
	CHECK(g.umap != NULL, "the loader placed from its entry point");

	/* Its own code mapped again where it is: the same span, replaced. */
	unwind_mapped(&g, ld, base + (text.p_vaddr & ~(page - 1)), text.p_offset & ~(page - 1));
	CHECK(g.umap != NULL, "the same object over exactly its own span keeps the snapshot");
	/* Far away: added. */
	unwind_mapped(&g, ld, base + 0x10000000 + (text.p_vaddr & ~(page - 1)), text.p_offset & ~(page - 1));
	CHECK(g.umap != NULL, "an object mapped far from the others keeps the snapshot");
	/*
	 * Loaded again from the middle of its own code (as a smaller object
	 * where an unloaded one was): the old mappings partly over the new span
	 * keep what lies outside it, at their own file offsets.
	 */
	const uint64_t tstart = base + (text.p_vaddr & ~(page - 1)), toff = text.p_offset & ~(page - 1);
	uint64_t mid = (text.p_vaddr + text.p_filesz / 2) & ~(page - 1), off = 1;
	CHECK(mid > text.p_vaddr, "the loader's code is too small for this test");
	unwind_mapped(&g, ld, base + mid + (text.p_vaddr & ~(page - 1)), toff);
	CHECK(g.umap != NULL && unwind_map_file_at(g.umap, tstart, &off) && off == toff,
	      "an object partly over another: the other's code below it kept, at its offset");
	CHECK(g.umap != NULL && unwind_map_file_at(g.umap, base + mid + (text.p_vaddr & ~(page - 1)), &off) && off == toff,
	      "an object partly over another: its own code where it was mapped");
	/*
	 * Loaded again lower down, its span ending in the middle of the code of
	 * the one placed: that code above the new span is kept, at its offsets.
	 */
	unwind_invalidate(&g);
	unwind_place_loader(&g, ld, base + eh.e_entry);
	CHECK(g.umap != NULL, "the loader placed again");
	uint64_t down = (span - (text.p_vaddr + text.p_filesz / 2) + page - 1) & ~(page - 1);
	unwind_mapped(&g, ld, base - down + (text.p_vaddr & ~(page - 1)), toff);
	uint64_t last = ((tstart + text.p_filesz + page - 1) & ~(page - 1)) - page;
	CHECK(g.umap != NULL && unwind_map_file_at(g.umap, last, &off) && off == toff + (last - tstart),
	      "an object ending partly over another: the other's code above it kept, at its offset");
	/*
	 * A smaller object (this test program) inside the loader's code: the
	 * code is kept on both sides of it, each part at its offsets.
	 */
	char self[4096];
	ssize_t sn = readlink("/proc/self/exe", self, sizeof(self) - 1);
	Elf64_Ehdr seh;
	Elf64_Phdr stext;
	uint64_t sspan;
	self[sn > 0 ? sn : 0] = '\0';
	if (sn > 0 && load_layout(self, &seh, &stext, &sspan) == 0 && sspan + 3 * page <= text.p_filesz) {
		unwind_invalidate(&g);
		unwind_place_loader(&g, ld, base + eh.e_entry);
		uint64_t sbase = tstart + page;
		unwind_mapped(&g, self, sbase + (stext.p_vaddr & ~(page - 1)), stext.p_offset & ~(page - 1));
		const char *at;
		CHECK(g.umap != NULL && unwind_map_file_at(g.umap, tstart, &off) && off == toff,
		      "an object inside another's code: the code below it kept");
		CHECK(g.umap != NULL && (at = unwind_map_file_at(g.umap, last, &off)) && strcmp(at, ld) == 0 &&
			      off == toff + (last - tstart),
		      "an object inside another's code: the code above it kept, at its offset");
		CHECK(g.umap != NULL && (at = unwind_map_file_at(g.umap, sbase + (stext.p_vaddr & ~(page - 1)), NULL)) &&
			      strcmp(at, self) == 0,
		      "an object inside another's code: its own code where it was mapped");
	} else {
		printf("note: %s is not small enough to map inside the loader's code: that case not checked\n", self);
	}
	unwind_invalidate(&g);
	/* No snapshot: nothing to update. */
	unwind_mapped(&g, ld, base + (text.p_vaddr & ~(page - 1)), text.p_offset & ~(page - 1));
	CHECK(g.umap == NULL, "without a snapshot, a mapping makes none");
	/*
	 * At a MAP_FIXED's entry while other threads run (unwind_mapped_early):
	 * done only over nothing or the object's own mappings; otherwise the
	 * snapshot is left as it was (the exit will patch it).
	 */
	CHECK(!unwind_mapped_early(&g, ld, base + (text.p_vaddr & ~(page - 1)), text.p_offset & ~(page - 1)) &&
		      g.umap == NULL,
	      "early, without a snapshot: not done (a snapshot read meanwhile would miss it)");
	unwind_place_loader(&g, ld, base + eh.e_entry);
	CHECK(unwind_mapped_early(&g, ld, base + (text.p_vaddr & ~(page - 1)), text.p_offset & ~(page - 1)),
	      "early, the object over its own span: done");
	CHECK(unwind_mapped_early(&g, ld, base + 0x30000000 + (text.p_vaddr & ~(page - 1)), text.p_offset & ~(page - 1)),
	      "early, where nothing is mapped: done");
	/* Another file's code over the loader's span (a plugin where an unloaded one was): not done, snapshot kept. */
	char other[4096];
	const char *tmpdir = getenv("TMPDIR");
	snprintf(other, sizeof(other), "%s/test_unwind_map.%d", tmpdir && *tmpdir ? tmpdir : "/tmp", (int)getpid());
	int ofd = open(other, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *in = fopen(ld, "rb"), *out = ofd >= 0 ? fdopen(ofd, "wb") : NULL;
	char buf[65536];
	size_t n;
	int copied = in && out;
	while (copied && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		copied = fwrite(buf, 1, n, out) == n;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		copied = 0;
	if (copied) {
		struct unwind_map *before = g.umap;
		CHECK(!unwind_mapped_early(&g, other, base + (text.p_vaddr & ~(page - 1)), text.p_offset & ~(page - 1)) &&
			      g.umap == before,
		      "early, another file over the loader's span: not done, the snapshot kept");
		unwind_mapped(&g, other, base + (text.p_vaddr & ~(page - 1)), text.p_offset & ~(page - 1));
		CHECK(g.umap == before, "at the exit, the other file replaces the loader's span");
		CHECK(unwind_mapped_early(&g, other, base + (text.p_vaddr & ~(page - 1)), text.p_offset & ~(page - 1)),
		      "early, over its own span again: done");
	}
	if (ofd >= 0)
		unlink(other);
	CHECK(!unwind_mapped_early(&g, ld, base + mid + (text.p_vaddr & ~(page - 1)), text.p_offset & ~(page - 1)) &&
		      g.umap != NULL,
	      "early, partly over an object: not done, the snapshot kept");
	unwind_invalidate(&g);
	/* An offset that starts no segment: dropped. */
	unwind_place_loader(&g, ld, base + eh.e_entry);
	unwind_mapped(&g, ld, base + 0x20000000, (text.p_offset & ~(page - 1)) + 7 * page + page / 2);
	CHECK(g.umap == NULL, "an offset no segment starts at drops the snapshot");

	unwind_map_free(g.umap);
	unwind_cleanup();
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
