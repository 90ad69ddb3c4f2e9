#include "config.h"
#include "unwind_libs.h"

#include <dlfcn.h>
#include <pthread.h>

#include "unwind.h"
#include "util.h"

/* dl_load, or a warning saying why not and what `then` follows. */
static bool load(const char *soname, int mode, const struct dl_want *w, size_t n, const char *then)
{
	char why[512];
	if (dl_load(soname, mode, w, n, why, sizeof(why)))
		return true;
	warn("warning: %s: %s", why, then);
	return false;
}

static struct dw_fns dw;
static const struct dw_fns *dw_loaded;
static pthread_once_t dw_once = PTHREAD_ONCE_INIT;
static char dw_why[512]; /* why not loaded, told by the unwinder's first call (dw_fns) */
static bool dw_told;

static void dw_load(void)
{
	const struct dl_want w[] = {
		{ (void **)&dw.getcfi_elf, "dwarf_getcfi_elf" },
		{ (void **)&dw.cfi_end, "dwarf_cfi_end" },
		{ (void **)&dw.cfi_addrframe, "dwarf_cfi_addrframe" },
		{ (void **)&dw.frame_info, "dwarf_frame_info" },
		{ (void **)&dw.frame_cfa, "dwarf_frame_cfa" },
		{ (void **)&dw.frame_register, "dwarf_frame_register" },
	};
	if (dl_load(LIBDW_SONAME, RTLD_LOCAL, w, sizeof(w) / sizeof(w[0]), dw_why, sizeof(dw_why)))
		dw_loaded = &dw;
}

void unwind_preload(void)
{
	pthread_once(&dw_once, dw_load);
}

const struct dw_fns *dw_fns(void)
{
	pthread_once(&dw_once, dw_load);
	if (!dw_loaded && !dw_told) {
		dw_told = true;
		warn("warning: %s: callers are found by whole stack walks", dw_why);
	}
	return dw_loaded;
}

static struct unw_fns unw;
static const struct unw_fns *unw_loaded;
static pthread_once_t unw_once = PTHREAD_ONCE_INIT;

/*
 * libunwind-x86_64 first, global: libunwind-ptrace uses its functions
 * without naming it among the libraries it needs.
 */
static void unw_load(void)
{
	const struct dl_want w[] = {
		{ (void **)&unw.create_addr_space, "_Ux86_64_create_addr_space" },
		{ (void **)&unw.destroy_addr_space, "_Ux86_64_destroy_addr_space" },
		{ (void **)&unw.set_caching_policy, "_Ux86_64_set_caching_policy" },
		{ (void **)&unw.flush_cache, "_Ux86_64_flush_cache" },
		{ (void **)&unw.init_remote, "_Ux86_64_init_remote" },
		{ (void **)&unw.get_reg, "_Ux86_64_get_reg" },
		{ (void **)&unw.step, "_Ux86_64_step" },
		{ (void **)&unw.search_unwind_table, "_Ux86_64_dwarf_search_unwind_table" },
	};
	const struct dl_want upt[] = { { (void **)&unw.upt_accessors, "_UPT_accessors" } };
	const char *then = "callers that need a whole stack walk go unnamed";
	if (load(UNWIND_X86_64_SONAME, RTLD_GLOBAL, w, sizeof(w) / sizeof(w[0]), then) &&
	    load(UNWIND_SONAME, RTLD_LOCAL, upt, 1, then))
		unw_loaded = &unw;
}

const struct unw_fns *unw_fns(void)
{
	pthread_once(&unw_once, unw_load);
	return unw_loaded;
}
