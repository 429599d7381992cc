/* SPDX-License-Identifier: MIT */
/*
 * The heap model: applies decoded allocation and release calls to the live
 * table and keeps the totals and per-site (per stack) counters the reports
 * are built from.
 *
 * Rules (docs/findings.md states them for users):
 *  - an allocation that returned a block (ptr != 0) adds a live block;
 *    one that failed counts in failed_allocations only;
 *  - a realloc-like call that returned q != 0 releases old_ptr (when not 0)
 *    and adds q, even when q == old_ptr; realloc(p, 0) that returned 0
 *    releases p (glibc frees it); realloc(p, n > 0) that returned 0 failed
 *    and leaves p live;
 *  - a release of an address not in the live table counts as an unknown free
 *    (the block may predate attach), not as an error;
 *  - an allocation at an address already live (its release was lost) replaces
 *    the old block, which is counted in replaced_blocks.
 * Peak is the highest live_bytes reached, with the time it was first reached.
 */
#ifndef MS_HEAP_H
#define MS_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "live_table.h"

struct alloc_call {
	uint8_t fn;        /* enum ms_fn */
	bool is_realloc;   /* realloc / reallocarray: old_ptr is meaningful */
	uint32_t tid;
	uint64_t ts_ns;
	uint64_t ptr;      /* 0: the call failed */
	uint64_t size;     /* bytes asked for */
	uint64_t old_ptr;
	uint64_t align;
	uint32_t stack;    /* stack table index */
};

struct free_call {
	uint8_t fn;
	uint32_t tid;
	uint64_t ts_ns;
	uint64_t ptr;      /* never 0 */
	uint32_t stack;
};

struct heap_totals {
	uint64_t allocations;        /* blocks handed out */
	uint64_t frees;              /* blocks given back (known ones) */
	uint64_t bytes_allocated;
	uint64_t bytes_freed;
	uint64_t live_bytes;
	uint64_t live_allocations;
	uint64_t peak_bytes;
	uint64_t peak_ts_ns;
	uint64_t unknown_frees;
	uint64_t failed_allocations;
	uint64_t replaced_blocks;
};

struct heap_site {
	uint64_t allocations;
	uint64_t bytes;
	uint64_t live_count;
	uint64_t live_bytes;
};

struct heap;

struct heap *heap__new(size_t expected_live);
void heap__free(struct heap *h);

void heap__alloc(struct heap *h, const struct alloc_call *c);
void heap__release(struct heap *h, const struct free_call *c);

const struct heap_totals *heap__totals(const struct heap *h);
const struct live_table *heap__live(const struct heap *h);

/* Per-site counters indexed by stack index; *n is the array's length (some
 * entries may be all zero).  Valid until the next heap__alloc(). */
const struct heap_site *heap__sites(const struct heap *h, size_t *n);

#endif
