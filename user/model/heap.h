/* SPDX-License-Identifier: MIT */
/*
 * The heap model: applies decoded allocation and release calls to the live
 * table and keeps everything the reports are built from, each O(1) per call:
 * totals, per-site (per stack) and per-thread counters, the sites holding the
 * peak, temporary allocations, size and lifetime histograms, and allocation
 * windows for the temporal view.
 *
 * Rules (docs/findings.md states them for users):
 *  - an allocation that returned a block (ptr != 0) adds a live block;
 *    one that failed counts in failed_allocations only;
 *  - a realloc-like call that returned q != 0 releases old_ptr (when not 0)
 *    and adds q, even when q == old_ptr; realloc(p, 0) that returned 0
 *    releases p (glibc frees it); realloc(p, n > 0) that returned 0 failed
 *    and leaves p live;
 *  - a release of an address not in the live table is offered to the
 *    hooks' unknown(); when that does not claim it (a double free is a
 *    finding, not an unknown free) it counts as an unknown free;
 *  - an allocation at an address already live (its release was lost)
 *    replaces the old block, which is counted in replaced_blocks (and as
 *    freed, so allocations - frees == live_allocations always holds).
 * Peak is the highest live_bytes reached, with the time it was first reached.
 * A temporary allocation is one released by the thread that made it before
 * that thread made any other allocation (realloc's release of its old block
 * is not one: the data lives on).
 */
#ifndef MS_HEAP_H
#define MS_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "live_table.h"
#include "sample.h"

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
	bool untracked;    /* sampling: ptr was not sampled; only old_ptr's release counts */
};

struct free_call {
	uint8_t fn;
	uint32_t tid;
	uint64_t ts_ns;
	uint64_t ptr;      /* never 0 */
	uint64_t caller;   /* return address into the caller of the release */
	uint32_t stack;
	uint16_t flags;    /* MS_EVF_* of the record (MS_EVF_EXITING) */
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
	uint64_t temporary_allocations;
};

struct heap_site {
	uint64_t allocations;
	uint64_t bytes;
	uint64_t live_count;
	uint64_t live_bytes;
	uint64_t temporary;
	/* bookkeeping for heap__site_at_peak(); not meaningful by themselves */
	uint64_t peak_count_saved;
	uint64_t peak_bytes_saved;
	uint64_t peak_epoch;
};

struct heap_thread {
	uint32_t tid;
	uint64_t allocations;
	uint64_t bytes;
	uint64_t frees;       /* releases made by this thread */
	uint64_t live_count;  /* blocks this thread allocated that are live */
	uint64_t live_bytes;
	uint64_t temporary;
	uint64_t last_alloc;  /* bookkeeping: its latest block, for temporaries */
};

/*
 * Per (thread, stack) counters: what a thread allocated at a site.  Live
 * blocks and temporaries count for the allocating thread, whoever releases
 * them (as in struct heap_thread); sampling weighs them as the sites.
 */
struct heap_thread_site {
	uint32_t tid;
	uint32_t stack;
	uint64_t allocations;
	uint64_t bytes;
	uint64_t live_count;
	uint64_t live_bytes;
	uint64_t temporary;
};
/* At most this many pairs by default; see heap__thread_sites(). */
#define HEAP_MAX_THREAD_SITES (1u << 20)

/* Histograms with power-of-two buckets: bucket 0 holds 0, bucket i >= 1
 * holds values in [2^(i-1), 2^i). */
#define HEAP_HIST_BUCKETS 65
struct heap_hist {
	uint64_t count[HEAP_HIST_BUCKETS];
};
unsigned heap_hist__bucket(uint64_t v);

/*
 * Allocation windows: released blocks counted by (stack, bucket of their
 * allocation time, bucket of their release time).  Buckets are bucket_ns
 * wide from the origin; when more than HEAP_WINDOW_MAX_BUCKETS would be
 * needed, the width doubles and entries merge.  Live blocks are not here:
 * renderers add them from the live table (release bucket "never").
 */
#define HEAP_WINDOW_MAX_BUCKETS 256
struct heap_window {
	uint32_t stack;
	uint32_t alloc_bucket;
	uint32_t free_bucket;
	uint64_t count;
	uint64_t bytes;
};

/* Observers of block changes (the findings detector, annotations).  Any
 * callback may be NULL; up to HEAP_MAX_HOOKS observers, called in the order
 * they were added.  unknown() is offered to each until one claims the
 * address. */
#define HEAP_MAX_HOOKS 6
struct heap_hooks {
	void *ctx;
	/* a block was added */
	void (*added)(void *ctx, const struct live_block *b);
	/* a live block was released, by fc or (fc NULL) by realloc rc */
	void (*removed)(void *ctx, const struct live_block *b, const struct free_call *fc,
			const struct alloc_call *rc);
	/* ptr is not live: released by fc or (fc NULL) given to realloc rc.
	 * Returns true when it explains the address (then it is not counted
	 * as an unknown free). */
	bool (*unknown)(void *ctx, uint64_t ptr, const struct free_call *fc,
			const struct alloc_call *rc);
};

struct heap;

struct heap *heap__new(size_t expected_live);
void heap__free(struct heap *h);
/* 0, or -ENOSPC when HEAP_MAX_HOOKS observers are already there. */
int heap__add_hooks(struct heap *h, const struct heap_hooks *hooks);
/*
 * Sampling (--sample-bytes): every block added stands for the blocks and
 * bytes sample__weigh() gives, in every counter, histogram and window;
 * before any call.  0 (the default): each block counts for itself.
 */
void heap__set_sample_bytes(struct heap *h, uint64_t sample_bytes);
/* What block c adds counts for in the heap's counters (sample.h). */
void heap__weigh(const struct heap *h, const struct alloc_call *c, struct sample_weight *w);
/* Origin and initial width of window buckets; before any call. */
void heap__set_window_origin(struct heap *h, uint64_t origin_ns, uint64_t bucket_ns);

void heap__alloc(struct heap *h, const struct alloc_call *c);
void heap__release(struct heap *h, const struct free_call *c);

/*
 * Hints that a call will be applied soon, each a few calls after the one
 * before (its slots are in cache by then): the live-table slots of ptr and
 * ptr2 (0: none); an allocation's site and (thread, stack) slot, c->stack
 * set; what those lead to: an allocation's (thread, stack) counters, a
 * release's block's site, counters and window.
 */
void heap__prefetch_live(const struct heap *h, uint64_t ptr, uint64_t ptr2);
void heap__prefetch_alloc(const struct heap *h, const struct alloc_call *c);
void heap__prefetch_alloc_counters(const struct heap *h, const struct alloc_call *c);
void heap__prefetch_release_counters(const struct heap *h, const struct free_call *c);

const struct heap_totals *heap__totals(const struct heap *h);
const struct live_table *heap__live(const struct heap *h);

/* Per-site counters indexed by stack index; *n is the array's length (some
 * entries may be all zero).  Valid until the next heap__alloc(). */
const struct heap_site *heap__sites(const struct heap *h, size_t *n);
/* Live blocks and bytes of site idx at the moment of the peak. */
void heap__site_at_peak(const struct heap *h, size_t idx, uint64_t *count, uint64_t *bytes);

/* Per-thread counters, in order of first appearance. */
const struct heap_thread *heap__threads(const struct heap *h, size_t *n);
/*
 * Per (thread, stack) counters in order of first appearance, or NULL when
 * more pairs appeared than the cap allows: they are then no longer counted
 * (incomplete counters would be wrong ones), and *n is 0.
 */
const struct heap_thread_site *heap__thread_sites(const struct heap *h, size_t *n);
/* The cap on pairs (HEAP_MAX_THREAD_SITES by default); before any call. */
void heap__set_max_thread_sites(struct heap *h, size_t max);
/* Sizes of allocated blocks; lifetimes of released blocks in microseconds. */
const struct heap_hist *heap__size_hist(const struct heap *h);
const struct heap_hist *heap__lifetime_hist(const struct heap *h);
/* The allocation windows and the current bucket width and origin. */
const struct heap_window *heap__windows(const struct heap *h, size_t *n, uint64_t *bucket_ns,
					uint64_t *origin_ns);
/* Bucket of time ts_ns at the current width. */
uint32_t heap__window_bucket(const struct heap *h, uint64_t ts_ns);

#endif
