// SPDX-License-Identifier: MIT
#include <stdlib.h>

#include "timeline.h"
#include "util.h"

struct timeline {
	uint64_t interval_ns;
	uint64_t next_ns;     /* the next grid point to sample */
	uint64_t rss_ns;      /* when rss_bytes was read */
	uint64_t rss_bytes;   /* the last reading, TIMELINE_NO_RSS when none */
	uint64_t fp_ns;       /* when fp_bytes was read */
	uint64_t fp_bytes;    /* the allocator's footprint, TIMELINE_NO_RSS when none */
	uint64_t last_allocs;
	uint64_t last_frees;
	const uint64_t *mapped; /* the program's mapped bytes, read at each sample */
	struct timeline_sample *v;
	size_t n, cap;
	timeline_observer observer;
	void *observer_ctx;
};

struct timeline *timeline__new(uint64_t start_ns, uint64_t interval_ns)
{
	struct timeline *tl = xcalloc(1, sizeof(*tl));

	tl->interval_ns = interval_ns ? interval_ns : 1;
	tl->next_ns = start_ns + tl->interval_ns;
	tl->rss_bytes = TIMELINE_NO_RSS;
	tl->fp_bytes = TIMELINE_NO_RSS;
	return tl;
}

void timeline__free(struct timeline *tl)
{
	if (!tl)
		return;
	free(tl->v);
	free(tl);
}

void timeline__set_mapped(struct timeline *tl, const uint64_t *bytes)
{
	tl->mapped = bytes;
}

void timeline__rss(struct timeline *tl, uint64_t now_ns, uint64_t rss_bytes)
{
	tl->rss_ns = now_ns;
	tl->rss_bytes = rss_bytes;
}

void timeline__footprint(struct timeline *tl, uint64_t now_ns, uint64_t bytes)
{
	tl->fp_ns = now_ns;
	tl->fp_bytes = bytes;
}

/*
 * A reading (RSS, footprint) is only true of when it was taken: a point
 * older than two intervals gets none.
 */
static uint64_t reading_at(const struct timeline *tl, uint64_t read_ns, uint64_t v, uint64_t t_ns)
{
	if (read_ns > t_ns && read_ns - t_ns > 2 * tl->interval_ns)
		return TIMELINE_NO_RSS;
	return v;
}

static void push(struct timeline *tl, uint64_t t_ns, const struct heap_totals *t)
{
	struct timeline_sample *s;
	uint64_t frees = t->frees + t->unknown_frees;

	/*
	 * A point within a microsecond of the last sample (the reports' unit:
	 * they could not tell the two apart), or before it (a record applied
	 * late), updates that sample: its heap becomes this one, its counts
	 * take this point's too.
	 */
	if (tl->n && t_ns < tl->v[tl->n - 1].t_ns + 1000) {
		s = &tl->v[tl->n - 1];
		s->live_bytes = t->live_bytes;
		s->mapped_bytes = tl->mapped ? *tl->mapped : 0;
		s->allocations += t->allocations - tl->last_allocs;
		s->frees += frees - tl->last_frees;
		tl->last_allocs = t->allocations;
		tl->last_frees = frees;
		if (tl->observer)
			tl->observer(tl->observer_ctx, tl->n - 1);
		return;
	}
	if (tl->n == tl->cap) {
		tl->cap = tl->cap ? tl->cap * 2 : 256;
		tl->v = xrealloc(tl->v, tl->cap * sizeof(*tl->v));
	}
	s = &tl->v[tl->n++];
	s->t_ns = t_ns;
	s->live_bytes = t->live_bytes;
	s->allocations = t->allocations - tl->last_allocs;
	s->frees = frees - tl->last_frees;
	s->rss_bytes = reading_at(tl, tl->rss_ns, tl->rss_bytes, t_ns);
	s->footprint_bytes = reading_at(tl, tl->fp_ns, tl->fp_bytes, t_ns);
	s->mapped_bytes = tl->mapped ? *tl->mapped : 0;
	tl->last_allocs = t->allocations;
	tl->last_frees = frees;
	if (tl->observer)
		tl->observer(tl->observer_ctx, tl->n - 1);
}

void timeline__set_observer(struct timeline *tl, timeline_observer fn, void *ctx)
{
	tl->observer = fn;
	tl->observer_ctx = ctx;
}

/*
 * Samples the grid points up to until_ns.  The heap is the same at all of
 * them, so a long quiet stretch is two samples, its first and last point.
 */
static void catch_up(struct timeline *tl, uint64_t until_ns, const struct heap_totals *t)
{
	uint64_t last;

	if (until_ns < tl->next_ns)
		return;
	last = tl->next_ns + (until_ns - tl->next_ns) / tl->interval_ns * tl->interval_ns;
	push(tl, tl->next_ns, t);
	if (last != tl->next_ns)
		push(tl, last, t);
	tl->next_ns = last + tl->interval_ns;
}

void timeline__event(struct timeline *tl, uint64_t ts_ns, const struct heap_totals *t)
{
	if (ts_ns >= tl->next_ns)
		catch_up(tl, ts_ns, t);
}

void timeline__tick(struct timeline *tl, const struct heap_totals *t, uint64_t now_ns,
		    bool force)
{
	catch_up(tl, now_ns, t);
	if (force)
		push(tl, now_ns, t);
}

const struct timeline_sample *timeline__samples(const struct timeline *tl, size_t *n)
{
	*n = tl->n;
	return tl->v;
}

uint64_t timeline__interval_ns(const struct timeline *tl)
{
	return tl->interval_ns;
}
