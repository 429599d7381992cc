/* SPDX-License-Identifier: MIT */
/*
 * Finds the allocator entry points an ELF object defines (glibc, libstdc++,
 * jemalloc/tcmalloc/mimalloc built as drop-in malloc, a static executable)
 * and where to probe each.
 *
 * Reads .dynsym and .symtab with libelf.  A name is taken when it is defined
 * (not SHN_UNDEF), of type STT_FUNC, and for versioned .dynsym entries the
 * default (non-hidden) version wins.  Two names at one address (glibc's
 * aligned_alloc and memalign) get one probe, named by the first in the table
 * order of alloc_syms__table (the others in its aliases).  The file offset is computed from the PT_LOAD
 * segment holding the symbol; the probe offset from probe_site__choose() on
 * the bytes read there.
 */
#ifndef MS_ALLOC_SYMS_H
#define MS_ALLOC_SYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memscope_events.h"

struct alloc_sym {
	enum ms_fn fn;
	const char *name;      /* static string from the table */
	uint64_t vaddr;        /* st_value */
	uint64_t file_offset;  /* of the function's first byte */
	uint32_t probe_offset; /* added to file_offset for the probe */
	bool emulated;         /* the probe's instruction is emulated */
	/*
	 * Bit f set: the name of MS_FN f is at this address too (mimalloc's
	 * and tcmalloc's free is operator delete and delete[]): the probe's
	 * calls cannot be told apart.
	 */
	uint64_t aliases;
};

/*
 * The functions whose calls cannot be told from another family's (malloc,
 * new, new[]; free, delete, delete[]) in the objects' syms: a bit per MS_FN,
 * each probe's own fn and its aliases when they mix families.  The detector
 * does not call a free of such a block mismatched.
 */
uint64_t alloc_syms__mixed_families(const struct alloc_sym *syms, size_t n);

struct alloc_sym_name {
	const char *name;
	enum ms_fn fn;
};

/*
 * The names looked for, C allocators first, then C++ operators, then glibc's
 * __call_tls_dtors (MS_FN_THREAD_EXIT, a marker, not an allocator); ends
 * with {NULL, 0}.
 */
extern const struct alloc_sym_name alloc_syms__table[];

/* Name of fn for messages and reports ("malloc", "operator new[]", ...). */
const char *alloc_syms__fn_name(enum ms_fn fn);

/*
 * Scans the ELF object open at fd (not closed, position not relied on).
 * On success *out is a malloc'ed array (caller frees) of *n entries, possibly
 * 0.  Returns 0 or a negative errno (-ENOEXEC: not an ELF object we can read).
 */
int alloc_syms__scan(int fd, struct alloc_sym **out, size_t *n);
/*
 * The same, and with prefix (not NULL, not ""), prefix + the name of each C
 * function (malloc ... pvalloc, free) as another entry point of it: a
 * jemalloc built with --with-jemalloc-prefix=je_ (je_malloc), mimalloc's
 * own API (mi_malloc).
 */
int alloc_syms__scan_prefixed(int fd, const char *prefix, struct alloc_sym **out, size_t *n);

/*
 * Which allocator the ELF object at fd holds, by a name only that one
 * defines: "glibc", "jemalloc", "tcmalloc", "mimalloc"; NULL when none
 * (a static string).
 */
const char *alloc_syms__kind(int fd);

#endif
