/* SPDX-License-Identifier: MIT */
/*
 * The live-allocation table: block address -> what is known of the block.
 * Open addressing with linear probing and backward-shift deletion; no
 * tombstones, so a long trace does not slow it down.  Must sustain well over
 * 1 M operations/s; memory per live block is sizeof(struct live_block) over
 * the load factor (<= 0.7).
 */
#ifndef MS_LIVE_TABLE_H
#define MS_LIVE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct live_block {
	uint64_t ptr; /* never 0 */
	uint64_t size;
	uint64_t ts_ns;
	uint32_t stack; /* index into the stack table */
	uint32_t tid;
	uint8_t fn;     /* enum ms_fn that made it */
	/* the heap's counters of (tid, stack): in what was padding, so a
	 * release finds them without a lookup (heap.c) */
	uint32_t thread_site;
};

struct live_table;

struct live_table *live_table__new(size_t expected);
void live_table__free(struct live_table *t);

/* Adds b, replacing and returning in *old (when not NULL) any block at the
 * same address.  Returns 1 when one was replaced, 0 otherwise. */
int live_table__put(struct live_table *t, const struct live_block *b,
		    struct live_block *old);
/* Removes the block at ptr into *out (when not NULL); false when absent. */
bool live_table__take(struct live_table *t, uint64_t ptr, struct live_block *out);
/* The block at ptr, or NULL; valid until the next change to the table. */
const struct live_block *live_table__get(const struct live_table *t, uint64_t ptr);
size_t live_table__count(const struct live_table *t);
/* A hint: ptr's slot will be needed soon (see events.c's read-ahead). */
void live_table__prefetch(const struct live_table *t, uint64_t ptr);

/* Iteration in no particular order; the table must not change meanwhile.
 * size_t it = 0; while ((b = live_table__next(t, &it))) ... */
const struct live_block *live_table__next(const struct live_table *t, size_t *it);

#endif
