// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "growth.h"
#include "util.h"

struct growth {
	struct heap *heap;
	struct growth_series *series; /* by stack index */
	uint8_t *dirty;               /* by stack index: changed since the last sample */
	size_t nseries;
	uint32_t *changed;            /* the dirty ones, nchanged of them */
	size_t nchanged, changed_cap;
};

static void ensure(struct growth *g, uint32_t stack)
{
	size_t n = g->nseries ? g->nseries : 256;

	if (stack < g->nseries)
		return;
	while (n <= stack)
		n *= 2;
	g->series = xrealloc(g->series, n * sizeof(*g->series));
	memset(g->series + g->nseries, 0, (n - g->nseries) * sizeof(*g->series));
	g->dirty = xrealloc(g->dirty, n);
	memset(g->dirty + g->nseries, 0, n - g->nseries);
	g->nseries = n;
}

static void touch(struct growth *g, uint32_t stack)
{
	ensure(g, stack);
	if (g->dirty[stack])
		return;
	g->dirty[stack] = 1;
	if (g->nchanged == g->changed_cap) {
		g->changed_cap = g->changed_cap ? g->changed_cap * 2 : 256;
		g->changed = xrealloc(g->changed, g->changed_cap * sizeof(*g->changed));
	}
	g->changed[g->nchanged++] = stack;
}

static void on_added(void *ctx, const struct live_block *b)
{
	touch(ctx, b->stack);
}

static void on_removed(void *ctx, const struct live_block *b, const struct free_call *fc,
		       const struct alloc_call *rc)
{
	(void)fc;
	(void)rc;
	touch(ctx, b->stack);
}

struct growth *growth__new(struct heap *h)
{
	struct growth *g = xcalloc(1, sizeof(*g));
	struct heap_hooks hooks = { .ctx = g, .added = on_added, .removed = on_removed };

	g->heap = h;
	if (heap__add_hooks(h, &hooks)) {
		ms_err("growth: no room for the heap's hooks");
		abort();
	}
	return g;
}

void growth__free(struct growth *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nseries; i++) {
		free(g->series[i].idx);
		free(g->series[i].bytes);
	}
	free(g->series);
	free(g->dirty);
	free(g->changed);
	free(g);
}

static uint32_t round_up(uint32_t i, uint32_t step)
{
	return (i + step - 1) / step * step;
}

/*
 * Doubles the step until at most half the points are left: each point moves
 * to the first multiple of the step at or after it, and of the points that
 * land on one index the last (the value at that sample) stays.
 */
static void thin(struct growth_series *s)
{
	while (s->n > GROWTH_MAX_POINTS / 2) {
		uint32_t k = 0;

		s->step *= 2;
		for (uint32_t i = 0; i < s->n; i++) {
			uint32_t at = round_up(s->idx[i], s->step);

			if (k && s->idx[k - 1] == at)
				k--;
			s->idx[k] = at;
			s->bytes[k] = s->bytes[i];
			k++;
		}
		s->n = k;
	}
}

static void record(struct growth_series *s, uint32_t idx, uint64_t bytes)
{
	uint32_t at;

	if (!s->step)
		s->step = 1;
	at = round_up(idx, s->step);
	if (s->n && s->idx[s->n - 1] >= at) {
		s->bytes[s->n - 1] = bytes;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		if (s->cap > GROWTH_MAX_POINTS)
			s->cap = GROWTH_MAX_POINTS;
		s->idx = xrealloc(s->idx, s->cap * sizeof(*s->idx));
		s->bytes = xrealloc(s->bytes, s->cap * sizeof(*s->bytes));
	}
	s->idx[s->n] = at;
	s->bytes[s->n] = bytes;
	s->n++;
	if (s->n == GROWTH_MAX_POINTS)
		thin(s);
}

void growth__sample(struct growth *g, size_t idx)
{
	size_t nsites;
	const struct heap_site *sites = heap__sites(g->heap, &nsites);

	for (size_t i = 0; i < g->nchanged; i++) {
		uint32_t st = g->changed[i];

		g->dirty[st] = 0;
		record(&g->series[st], (uint32_t)idx, st < nsites ? sites[st].live_bytes : 0);
	}
	g->nchanged = 0;
}

const struct growth_series *growth__series(const struct growth *g, size_t *n)
{
	*n = g->nseries;
	return g->series;
}

/* Integrals of 1, t, t^2, y, t*y, y^2 over pieces where y is constant. */
struct sums {
	double w, t, tt, y, ty, yy;
};

static void add_piece(struct sums *m, double u, double v, double y)
{
	if (v <= u)
		return;
	m->w += v - u;
	m->t += (v * v - u * u) / 2;
	m->tt += (v * v * v - u * u * u) / 3;
	m->y += y * (v - u);
	m->ty += y * (v * v - u * u) / 2;
	m->yy += y * y * (v - u);
}

/* The least-squares slope of the sums, and its r^2 (0 when y is flat). */
static double slope_of(const struct sums *m, double *r2)
{
	double mt, my, vt, vy, cov;

	if (m->w <= 0) {
		if (r2)
			*r2 = 0;
		return 0;
	}
	mt = m->t / m->w;
	my = m->y / m->w;
	vt = m->tt / m->w - mt * mt;
	vy = m->yy / m->w - my * my;
	cov = m->ty / m->w - mt * my;
	if (r2)
		*r2 = vt > 0 && vy > 0 ? cov * cov / (vt * vy) : 0;
	if (r2 && *r2 > 1)
		*r2 = 1;
	return vt > 0 ? cov / vt : 0;
}

bool growth__fit(const struct growth_series *s, const struct timeline_sample *samples,
		 size_t nsamples, struct growth_fit *fit)
{
	struct sums all = { 0 }, half[2] = { { 0 } };
	uint64_t t0, end;
	double mid, y0;

	memset(fit, 0, sizeof(*fit));
	if (!s->n || !nsamples)
		return false;
	t0 = samples[s->idx[0] < nsamples ? s->idx[0] : nsamples - 1].t_ns;
	end = samples[nsamples - 1].t_ns;
	if (end <= t0)
		return false;
	/* seconds from the span's start; bytes from its first value (no cancellation) */
	mid = (end - t0) / 2e9;
	y0 = (double)s->bytes[0];
	for (uint32_t i = 0; i < s->n; i++) {
		size_t a = s->idx[i] < nsamples ? s->idx[i] : nsamples - 1;
		size_t b = i + 1 < s->n && s->idx[i + 1] < nsamples ? s->idx[i + 1] : nsamples - 1;
		double u = (samples[a].t_ns - t0) / 1e9, v = (samples[b].t_ns - t0) / 1e9;
		double y = (double)s->bytes[i] - y0;

		add_piece(&all, u, v, y);
		add_piece(&half[0], u, v < mid ? v : mid, y);
		add_piece(&half[1], u > mid ? u : mid, v, y);
	}
	fit->slope = slope_of(&all, &fit->r2);
	fit->slope_first = slope_of(&half[0], NULL);
	fit->slope_second = slope_of(&half[1], NULL);
	fit->first_ns = t0;
	fit->end_ns = end;
	fit->first_bytes = s->bytes[0];
	fit->last_bytes = s->bytes[s->n - 1];
	fit->changes = s->n;
	fit->growing = end - t0 >= GROWTH_MIN_SPAN_NS && s->n >= GROWTH_MIN_CHANGES &&
		       fit->slope > 0 && fit->r2 >= GROWTH_MIN_R2 &&
		       fit->last_bytes > fit->first_bytes &&
		       fit->slope_first >= GROWTH_HALF_RATIO * fit->slope &&
		       fit->slope_second >= GROWTH_HALF_RATIO * fit->slope;
	return true;
}
