/*
 * unwind_libs.c: libdw (frame rules from .eh_frame) and libunwind (whole
 * stack walks) for the unwinder, loaded when first needed (libdw, with
 * callers on, by unwind_preload on the read-ahead thread once the command
 * has exec'd). Linked, they would cost every run their loading at startup
 * (about 1.9 ms here, libdw and its compression libraries most of it); a
 * run with --callers=off never uses them, and a whole walk is rare (a
 * frame rule answers).
 */
#ifndef FP_UNWIND_LIBS_H
#define FP_UNWIND_LIBS_H

#include <elfutils/libdw.h>
#include <libunwind-ptrace.h>

struct dw_fns {
	__typeof__(dwarf_getcfi_elf) *getcfi_elf;
	__typeof__(dwarf_cfi_end) *cfi_end;
	__typeof__(dwarf_cfi_addrframe) *cfi_addrframe;
	__typeof__(dwarf_frame_info) *frame_info;
	__typeof__(dwarf_frame_cfa) *frame_cfa;
	__typeof__(dwarf_frame_register) *frame_register;
};

/* Exported by libunwind, not declared in its public headers. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
					      unw_proc_info_t *pi, int need_unwind_info, void *arg);

struct unw_fns {
	__typeof__(unw_create_addr_space) *create_addr_space;
	__typeof__(unw_destroy_addr_space) *destroy_addr_space;
	__typeof__(unw_set_caching_policy) *set_caching_policy;
	__typeof__(unw_flush_cache) *flush_cache;
	__typeof__(unw_init_remote) *init_remote;
	__typeof__(unw_get_reg) *get_reg;
	__typeof__(unw_step) *step;
	__typeof__(_Ux86_64_dwarf_search_unwind_table) *search_unwind_table;
	const unw_accessors_t *upt_accessors; /* libunwind-ptrace's */
};

/*
 * The functions, loaded by the first call (or by unwind_preload), or NULL
 * when the library cannot be loaded: a warning says why, once. Called from
 * the unwinder's thread (the warning's).
 */
const struct dw_fns *dw_fns(void);
const struct unw_fns *unw_fns(void);

#endif
