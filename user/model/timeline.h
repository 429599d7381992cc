/* SPDX-License-Identifier: MIT */
/*
 * The timeline: heap in use, allocation and release counts, and the
 * target's resident set, on a grid of --interval from the start of tracing,
 * so heap against RSS is visible.
 *
 * Samples are placed by the events' own timestamps: before an event at or
 * past the next grid point is applied, the heap as it stands is that grid
 * point's sample.  When the loader reads events late (a burst at exit, a
 * short program traced whole before the first drain) the heap curve is
 * still drawn where it happened.  RSS is true only of when it was read
 * (timeline__rss(), once a drain): a sample gets the last reading when its
 * grid point is at most two intervals older than that reading; the session
 * loop's ticks add the grid points up to now after each drain.  Nothing here
 * reads the clock or /proc: the same calls give the same samples.
 */
#ifndef MS_TIMELINE_H
#define MS_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

#define TIMELINE_NO_RSS UINT64_MAX

struct timeline_sample {
	uint64_t t_ns;        /* CLOCK_MONOTONIC */
	uint64_t live_bytes;
	uint64_t allocations; /* since the previous sample */
	uint64_t frees;       /* since the previous sample */
	uint64_t rss_bytes;   /* TIMELINE_NO_RSS when it could not be read */
	/* the allocator's footprint (model/footprint.h); TIMELINE_NO_RSS when not read */
	uint64_t footprint_bytes;
	uint64_t mapped_bytes; /* the program's anonymous mappings (timeline__set_mapped()) */
};

struct timeline;

/* Grid points are at start_ns + k * interval_ns, k >= 1.  Aborts when out
 * of memory. */
struct timeline *timeline__new(uint64_t start_ns, uint64_t interval_ns);
void timeline__free(struct timeline *tl);

/* Before applying an event at ts_ns: samples the grid points up to ts_ns
 * with t, the heap before the event.  Cheap when no grid point is due. */
void timeline__event(struct timeline *tl, uint64_t ts_ns, const struct heap_totals *t);
/* After a drain: samples the grid points up to now_ns, and with force also
 * now_ns itself (the first and the last sample). */
void timeline__tick(struct timeline *tl, const struct heap_totals *t, uint64_t now_ns,
		    bool force);
/* Where the program's mapped bytes are kept (model/mappings.c's totals): each
 * sample reads it.  NULL (the default): 0. */
void timeline__set_mapped(struct timeline *tl, const uint64_t *bytes);
/* The target's resident set read at now_ns; TIMELINE_NO_RSS once it is gone. */
void timeline__rss(struct timeline *tl, uint64_t now_ns, uint64_t rss_bytes);

/* The allocator's footprint read at now_ns (as timeline__rss()). */
void timeline__footprint(struct timeline *tl, uint64_t now_ns, uint64_t bytes);
/* fn(ctx, i) after sample i was taken or updated, before the heap changes
 * again (growth.h's per-site series); NULL: none. */
typedef void (*timeline_observer)(void *ctx, size_t idx);
void timeline__set_observer(struct timeline *tl, timeline_observer fn, void *ctx);

const struct timeline_sample *timeline__samples(const struct timeline *tl, size_t *n);
uint64_t timeline__interval_ns(const struct timeline *tl);

#endif
