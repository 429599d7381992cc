/* SPDX-License-Identifier: MIT */
/*
 * Fragmentation (docs/findings.md "Fragmentation"): the memory the
 * allocator holds from the system (its footprint) against the bytes the
 * program has live in it.  The loader reads the target's mappings now and
 * then (as often as the timeline's interval, and at the end) and sends the
 * candidates as a record: the [heap] and every private, readable and
 * writable anonymous mapping.  Which of them are the allocator's is decided
 * here, by glibc's rules, from the mappings and the live blocks alone:
 *
 *   [heap]             the main arena (brk): always
 *   mmapped blocks     an anonymous mapping with a live block 16 bytes past
 *                      its start (glibc's chunk header of an mmap()ed chunk)
 *   arena heaps        any other anonymous mapping starting at a multiple of
 *                      64 MiB (glibc's HEAP_MAX_SIZE: the heaps of the other
 *                      arenas are aligned to it; only their read-write part)
 *   merged mappings    any other anonymous mapping: its page starts with a
 *                      live block 16 bytes in are mmapped chunks (the kernel
 *                      merges neighbouring anonymous mappings)
 *
 * Everything else (thread stacks, the program's own mmap()s) is not the
 * allocator's.  Missed: an arena heap with no live block is still counted
 * (it is aligned), but an mmapped block allocated before attach is not
 * (not live in the model); other allocators' footprints are not found.
 * Live bytes are the traced blocks' requested bytes: for a -p target the
 * blocks from before attach are missing, and the fraction comes out high.
 */
#ifndef MS_FOOTPRINT_H
#define MS_FOOTPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

enum footprint_range_kind {
	FOOTPRINT_BRK = 1,  /* [heap] */
	FOOTPRINT_ANON = 2, /* private rw anonymous */
};

struct footprint_range {
	uint64_t start, end;
	uint8_t kind; /* enum footprint_range_kind */
};

/* One reading, classified. */
struct footprint_reading {
	uint64_t t_ns;
	uint64_t brk, arenas, mmapped; /* bytes of each kind of the allocator's mappings */
	uint64_t total;                /* their sum: the footprint */
	uint64_t live_bytes;           /* the heap's live bytes then */
	uint64_t mmapped_live;         /* of which in mmapped blocks */
	uint64_t narenas, nmmapped;    /* mappings of each kind */
};

struct footprint;

struct footprint *footprint__new(const struct heap *h);
void footprint__free(struct footprint *fp);

/* A reading at now_ns of the n candidate mappings v; returns its total. */
uint64_t footprint__reading(struct footprint *fp, uint64_t now_ns,
			    const struct footprint_range *v, size_t n);

/* The last reading and the one with the largest footprint; false when none came. */
bool footprint__last(const struct footprint *fp, struct footprint_reading *out);
bool footprint__peak(const struct footprint *fp, struct footprint_reading *out);

#endif
