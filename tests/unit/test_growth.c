// SPDX-License-Identifier: MIT
/* The growth rule (model/growth.c) on series made by hand and through a heap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "growth.h"
#include "heap.h"
#include "timeline.h"

#define S 1000000000ull

/* n samples 100 ms apart from 0 */
static struct timeline_sample *grid(size_t n)
{
	struct timeline_sample *v = calloc(n, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i].t_ns = i * S / 10;
	return v;
}

static struct growth_series series(uint32_t *idx, uint64_t *bytes, uint32_t n)
{
	return (struct growth_series){ .step = 1, .n = n, .cap = n, .idx = idx, .bytes = bytes };
}

static void test_growth__steady_staircase_grows_at_its_rate(void **state)
{
	struct timeline_sample *t = grid(41);
	uint32_t idx[40];
	uint64_t bytes[40];
	struct growth_series s;
	struct growth_fit f;

	(void)state;
	for (uint32_t i = 0; i < 40; i++) {
		idx[i] = i + 1;
		bytes[i] = 4096ull * (i + 1); /* 4096 B a tenth of a second */
	}
	s = series(idx, bytes, 40);
	assert_true(growth__fit(&s, t, 41, &f));
	assert_true(f.growing);
	assert_true(f.slope > 40960 * 0.99 && f.slope < 40960 * 1.01);
	assert_true(f.r2 > 0.99);
	assert_int_equal(f.first_bytes, 4096);
	assert_int_equal(f.last_bytes, 40 * 4096);
	free(t);
}

static void test_growth__flat_burst_plateau_and_saw_do_not_grow(void **state)
{
	struct timeline_sample *t = grid(41);
	uint32_t idx[40];
	uint64_t bytes[40];
	struct growth_series s;
	struct growth_fit f;

	(void)state;
	/* one change: a flat site */
	idx[0] = 1;
	bytes[0] = 1 << 20;
	s = series(idx, bytes, 1);
	assert_true(growth__fit(&s, t, 41, &f));
	assert_false(f.growing);
	/* ten steps, then a plateau for three quarters of the span */
	for (uint32_t i = 0; i < 10; i++) {
		idx[i] = i + 1;
		bytes[i] = 4096ull * (i + 1);
	}
	s = series(idx, bytes, 10);
	assert_true(growth__fit(&s, t, 41, &f));
	assert_true(f.slope > 0);
	assert_true(f.slope_second == 0);
	assert_false(f.growing);
	/* a saw: up for a second, all released, again */
	for (uint32_t i = 0; i < 40; i++) {
		idx[i] = i + 1;
		bytes[i] = 1024ull * (i % 10);
	}
	s = series(idx, bytes, 40);
	assert_true(growth__fit(&s, t, 41, &f));
	assert_false(f.growing);
	/* steady, but for less than 2 s */
	for (uint32_t i = 0; i < 15; i++) {
		idx[i] = i + 1;
		bytes[i] = 4096ull * (i + 1);
	}
	s = series(idx, bytes, 15);
	assert_true(growth__fit(&s, t, 16, &f));
	assert_false(f.growing);
	free(t);
}

static void sampled(void *ctx, size_t idx)
{
	growth__sample(ctx, idx);
}

/*
 * Through a heap and a timeline: a site that adds a block every sample for
 * 1000 samples keeps at most GROWTH_MAX_POINTS points, and still fits its
 * rate; a site that allocated once has one point.
 */
static void test_growth__long_series_thin_out_and_keep_the_slope(void **state)
{
	struct heap *h = heap__new(16);
	struct growth *g = growth__new(h);
	struct timeline *tl = timeline__new(0, S / 10);
	const struct growth_series *gs;
	const struct timeline_sample *ts;
	struct growth_fit f;
	size_t n, nts;

	(void)state;
	timeline__set_observer(tl, sampled, g);
	for (uint64_t i = 0; i < 1000; i++) {
		uint64_t now = i * S / 10 + 1;
		struct alloc_call c = { .tid = 1, .ts_ns = now, .ptr = 0x1000 + i * 64, .size = 100,
					.stack = 1 };

		timeline__event(tl, now, heap__totals(h));
		heap__alloc(h, &c);
		if (!i) {
			c.ptr = 0x900000;
			c.stack = 2;
			heap__alloc(h, &c);
		}
	}
	timeline__tick(tl, heap__totals(h), 1000 * S / 10, true);
	gs = growth__series(g, &n);
	ts = timeline__samples(tl, &nts);
	assert_true(n > 2);
	assert_true(gs[1].n <= GROWTH_MAX_POINTS && gs[1].n >= GROWTH_MAX_POINTS / 4);
	assert_true(gs[1].step > 1);
	assert_int_equal(gs[2].n, 1);
	assert_true(growth__fit(&gs[1], ts, nts, &f));
	assert_true(f.growing);
	assert_true(f.slope > 1000 * 0.97 && f.slope < 1000 * 1.03);
	assert_true(growth__fit(&gs[2], ts, nts, &f));
	assert_false(f.growing);
	timeline__free(tl);
	growth__free(g);
	heap__free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_growth__steady_staircase_grows_at_its_rate),
		cmocka_unit_test(test_growth__flat_burst_plateau_and_saw_do_not_grow),
		cmocka_unit_test(test_growth__long_series_thin_out_and_keep_the_slope),
	};

	return cmocka_run_group_tests_name("growth", tests, NULL, NULL);
}
