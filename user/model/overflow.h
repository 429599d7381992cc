/* SPDX-License-Identifier: MIT */
/*
 * --check-overflow (docs/findings.md "Heap overflows"): a
 * block's slack, the bytes between its requested size and the end of what
 * glibc's malloc really gave (malloc_usable_size()), is the program's own
 * memory but no correct program writes it.  BPF reads the end of the usable
 * area as the block is handed out and again as it is released (MS_EV_SLACK
 * records); the loader reads it once more for blocks still live at the end.
 * A byte past the requested size that differs is a heap_overflow finding
 * (detector__heap_overflow()), reported with the release that found it.
 * The canary way differs only in BPF, which fills the slack with a pattern
 * before its first reading: the rules here are the same.
 *
 * Missed: a write of the bytes already there (the read way; the canary way
 * misses one of the pattern's own byte), one past the slack (into the next
 * chunk's header: glibc's own checks may abort the program first), one
 * undone before the release.  Blocks whose request fills
 * the usable size have no slack and cannot be checked; blocks whose end
 * could not be read (a page not present when BPF looked) neither: both are
 * counted (struct overflow_stats).
 *
 * The checker observes the heap through its hooks, like the detector, and
 * keeps one entry per live block it has a reading for.
 */
#ifndef MS_OVERFLOW_H
#define MS_OVERFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "heap.h"
#include "memscope_events.h"

struct overflow_stats {
	uint64_t blocks;         /* blocks handed out while checking */
	uint64_t checked;        /* slack compared at release or at the end */
	uint64_t overflowed;     /* of those, changed (findings before grouping) */
	uint64_t no_slack;       /* the request filled the usable size */
	uint64_t unreadable;     /* the end of the block could not be read */
	uint64_t not_compared;   /* live at the end and not read then (or the release's read failed) */
	uint64_t not_seen;       /* no reading at allocation (its record lost) */
	uint64_t partial;        /* checked, but the slack was longer than the window read */
	uint64_t header_changed; /* the chunk's size field changed: not compared */
};

/* How the blocks are checked (the capture's OVERFLOW record keeps it). */
enum overflow_way {
	OVERFLOW_READ = 1,  /* slack read and compared */
	/* the target's malloc is not glibc's: nothing is read, every block
	 * is counted as not seen */
	OVERFLOW_NOT_GLIBC = 2,
	/* the slack filled with a pattern first, then read and compared */
	OVERFLOW_CANARY = 3,
};

struct overflow_check;

/* Installs its hooks on h; findings go to d.  Aborts when out of memory. */
struct overflow_check *overflow__new(struct heap *h, struct detector *d, enum overflow_way way);
enum overflow_way overflow__way(const struct overflow_check *o);
void overflow__free(struct overflow_check *o);

/* A reading of a block's end (any enum ms_slack_kind). */
void overflow__observe(struct overflow_check *o, const struct ms_ev_slack *e);

/* The counters, live blocks classified as they stand now. */
void overflow__stats(const struct overflow_check *o, struct overflow_stats *out);

/*
 * Blocks still live with a reading at their allocation and none compared
 * yet: what the loader reads at the end (MS_SLACK_FINAL).  size_t it = 0;
 * while (overflow__next_unchecked(o, &it, &ptr, &usable)) ...  The checker
 * must not change meanwhile.
 */
bool overflow__next_unchecked(const struct overflow_check *o, size_t *it, uint64_t *ptr,
			      uint64_t *usable);

#endif
