/* SPDX-License-Identifier: MIT */
/*
 * Findings that uprobes can honestly see (definitions in docs/findings.md):
 *
 *  double_free       a release of a block already released since attach and
 *                    not handed out again
 *  invalid_free      a release of an address inside a live block, not its start
 *  mismatched_free   a block released by the wrong family: malloc-family
 *                    (malloc, calloc, realloc, memalign, ...) vs free,
 *                    operator new vs delete, new[] vs delete[]
 *  realloc_of_freed  realloc of a block already released
 *  use_after_free    an annotation (include/memscope.h) naming a released
 *                    block: reported through detector__use_after_free()
 *  heap_overflow     --check-overflow: bytes past a block's requested size
 *                    (in its slack) changed while it was live: reported
 *                    through detector__heap_overflow() (model/overflow.c)
 *
 * The detector observes the heap model through its hooks.  It remembers
 * recently released blocks (a bounded FIFO of freed_capacity addresses;
 * an address leaves it when handed out again or when pushed out, after which
 * its second release is only an unknown free) with the stack and function of
 * their allocation and release.  Invalid frees are looked up only on
 * releases of unknown addresses: live blocks of 4 KiB or more through an
 * index of 1 MiB regions, smaller ones by probing 16-byte-aligned starts
 * up to 4 KiB back.
 *
 * Findings are grouped: one entry per (kind, offending stack, allocation
 * stack), with the number of occurrences and the first one's details, so a
 * bug in a loop is one finding, not a million.
 */
#ifndef MS_DETECT_H
#define MS_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

enum finding_kind {
	FINDING_DOUBLE_FREE,
	FINDING_INVALID_FREE,
	FINDING_MISMATCHED_FREE,
	FINDING_REALLOC_OF_FREED,
	FINDING_USE_AFTER_FREE,
	FINDING_HEAP_OVERFLOW,
	FINDING__COUNT,
};

struct finding {
	uint64_t occurrences;
	/* the first occurrence */
	uint64_t ptr;
	uint64_t ts_ns;
	union {
		uint64_t block; /* invalid free: the live block's start (and block_size) */
		/* heap overflow: of the slack's bytes, how many changed, and how
		 * far past the block's end the last changed one is (1: its first
		 * byte past the end) */
		struct {
			uint32_t changed;
			uint32_t reach;
		} overflow;
	};
	uint64_t block_size;  /* invalid free, heap overflow: the block's size */
	uint32_t tid;
	uint32_t stack;       /* the offending release / realloc */
	uint32_t alloc_stack; /* STACK_NONE when unknown */
	uint32_t free_stack;  /* the earlier release (double free, realloc of freed) */
	uint32_t free_tid;
	/* enum finding_kind; the offending call's, the allocation's and the
	 * earlier release's functions (enum ms_fn): 64 bytes in all, as a
	 * trace can have hundreds of thousands of distinct findings */
	uint8_t kind;
	uint8_t fn;
	uint8_t alloc_fn;
	uint8_t free_fn;
};

struct detector;

/* Installs its hooks on h. */
struct detector *detector__new(struct heap *h, size_t freed_capacity);
void detector__free(struct detector *d);
/*
 * fns: a bit per MS_FN whose probe also serves another family's name (an
 * allocator whose free is operator delete): no release of or by them is
 * called mismatched (alloc_syms__mixed_families()).
 */
void detector__set_mixed_families(struct detector *d, uint64_t fns);

/* In order of first occurrence. */
const struct finding *detector__findings(const struct detector *d, size_t *n);
const char *finding_kind__name(enum finding_kind k); /* "double_free", ... */

/*
 * Tells releases the allocator makes of its own accord from the program's:
 * glibc's thread-exit tcache flush calls free() again on blocks the program
 * already freed (they sat in the thread's cache).  fn(ctx, fc) returns true
 * for such a release (by its caller and flags); those releases of addresses
 * that are not live are then neither findings nor unknown frees, only
 * counted.
 */
typedef bool (*detector_internal_fn)(void *ctx, const struct free_call *fc);
void detector__set_internal_filter(struct detector *d, detector_internal_fn fn, void *ctx);
/* Releases set aside by that filter. */
uint64_t detector__internal_releases(const struct detector *d);

/* The live block holding addr (its start or inside it), or NULL.  Valid
 * until the heap next changes. */
const struct live_block *detector__find_block(const struct detector *d, uint64_t addr);

/* An annotation at stack named addr, which is in no live block: records a
 * use_after_free finding and returns true when addr is a released block. */
bool detector__use_after_free(struct detector *d, uint64_t addr, uint32_t stack, uint32_t tid,
			      uint64_t ts_ns);

/*
 * Bytes in block b's slack changed while it was live, found at its release
 * (the call fc, or realloc rc) or, both NULL, when it was checked live at
 * the end (the offending stack is then STACK_NONE).
 */
void detector__heap_overflow(struct detector *d, const struct live_block *b,
			     const struct free_call *fc, const struct alloc_call *rc,
			     uint64_t ts_ns, uint32_t changed, uint32_t reach);

#endif
