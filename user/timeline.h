/* SPDX-License-Identifier: MIT */
/*
 * The timeline: heap in use, allocation and release counts, and the
 * target's resident set, sampled at a fixed interval (--interval), so heap
 * against RSS is visible.  Samples are taken by the session loop right after
 * draining the ring buffer, so the heap state is current to the sample time.
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
};

struct timeline;

/* pid: whose /proc/PID/statm to read.  NULL only when out of memory. */
struct timeline *timeline__new(int pid, uint64_t interval_ns);
void timeline__free(struct timeline *tl);

/* Samples when the interval has passed since the last sample, or always
 * when force is set (the first and the last sample). */
void timeline__tick(struct timeline *tl, const struct heap_totals *t, uint64_t now_ns,
		    bool force);
/* Stops reading RSS (the target is gone). */
void timeline__target_gone(struct timeline *tl);

const struct timeline_sample *timeline__samples(const struct timeline *tl, size_t *n);
uint64_t timeline__interval_ns(const struct timeline *tl);

#endif
