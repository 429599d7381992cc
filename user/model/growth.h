/* SPDX-License-Identifier: MIT */
/*
 * Growth: each site's bytes in use over time, on the timeline's samples,
 * and which sites grow steadily (docs/findings.md "Growth").
 *
 * A site's series holds a point only where its in-use bytes changed since
 * the sample before (a site that allocates once costs one point); the
 * heap's hooks say which sites changed, the timeline says when a sample is
 * taken (growth__sample(), with the heap as it stands at that sample).  A
 * series keeps at most GROWTH_MAX_POINTS points: past that its step
 * doubles (a point then stands for the first sample at or after it whose
 * index is a multiple of the step), so a long trace costs at most
 * GROWTH_MAX_POINTS * 12 bytes per site that changed.  Like the rest of the
 * model, it reads no clock: the same records give the same series.
 */
#ifndef MS_GROWTH_H
#define MS_GROWTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "timeline.h"

#define GROWTH_MAX_POINTS 128

/* The rule (docs/findings.md "Growth"): a site is growing when, from its
 * first change to the end of the timeline, */
#define GROWTH_MIN_SPAN_NS (2ull * 1000000000ull) /* at least this long, */
#define GROWTH_MIN_CHANGES 4                       /* its bytes changed at this many samples, */
#define GROWTH_MIN_R2 0.8                          /* the line fits this well, */
#define GROWTH_HALF_RATIO (1.0 / 3)                /* each half rises at this part of the slope */

struct growth_series {
	uint32_t step;   /* samples a point stands for: 1, 2, 4, ... */
	uint32_t n, cap;
	uint32_t *idx;   /* sample index of each point, ascending */
	uint64_t *bytes; /* the site's bytes in use at that sample */
};

struct growth_fit {
	double slope;         /* bytes per second, least squares */
	double r2;            /* its coefficient of determination (0 when flat) */
	double slope_first, slope_second; /* of each half of the span */
	uint64_t first_ns, end_ns;        /* the span: first change to the last sample */
	uint64_t first_bytes, last_bytes; /* in use at its start and its end */
	uint32_t changes;     /* points in the series */
	bool growing;         /* the rule above holds */
};

struct growth;

/* Watches h (one of its HEAP_MAX_HOOKS).  Aborts when out of memory. */
struct growth *growth__new(struct heap *h);
void growth__free(struct growth *g);

/* Timeline sample idx was just set (or updated) with the heap as it stands. */
void growth__sample(struct growth *g, size_t idx);

/* The series by stack index; *n is the array's length (series with n == 0: no change). */
const struct growth_series *growth__series(const struct growth *g, size_t *n);

/*
 * Fits series s over the samples (the timeline's, nsamples of them): the
 * site's bytes as a step function of time from its first point to the last
 * sample, each value held until the next point, weighed by how long it held.
 * Returns false (fit zeroed) when s has no point or the span is empty.
 */
bool growth__fit(const struct growth_series *s, const struct timeline_sample *samples,
		 size_t nsamples, struct growth_fit *fit);

#endif
