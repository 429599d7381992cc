/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "timeline.h"
#include "util.h"

#define MS 1000000ull

/* grid points long past, so no sample of these tests reads RSS */
static uint64_t old_start(void)
{
	return ms_now_ns() - 3600 * 1000 * MS;
}

static struct heap_totals totals(uint64_t live, uint64_t allocs, uint64_t frees)
{
	struct heap_totals t = { .live_bytes = live, .allocations = allocs, .frees = frees };

	return t;
}

/* A sample at t_ns holding these totals */
static void assert_sample(const struct timeline_sample *s, uint64_t t_ns, uint64_t live,
			  uint64_t allocs, uint64_t frees)
{
	assert_int_equal(s->t_ns, t_ns);
	assert_int_equal(s->live_bytes, live);
	assert_int_equal(s->allocations, allocs);
	assert_int_equal(s->frees, frees);
}

static void test_timeline__events_before_the_first_grid_point_sample_nothing(void **state)
{
	uint64_t start = old_start();
	struct timeline *tl = timeline__new(start, 10 * MS);
	struct heap_totals t = totals(0, 0, 0);
	size_t n;

	(void)state;
	timeline__event(tl, start + 1 * MS, &t);
	timeline__event(tl, start + 9 * MS, &t);
	timeline__samples(tl, &n);
	assert_int_equal(n, 0);
	timeline__free(tl);
}

static void test_timeline__a_grid_point_holds_the_heap_before_the_event_past_it(void **state)
{
	uint64_t start = old_start();
	struct timeline *tl = timeline__new(start, 10 * MS);
	const struct timeline_sample *s;
	struct heap_totals t;
	size_t n;

	(void)state;
	/* three allocations in the first interval, then one at 12 ms */
	t = totals(300, 3, 0);
	timeline__event(tl, start + 12 * MS, &t);
	s = timeline__samples(tl, &n);
	assert_int_equal(n, 1);
	assert_sample(&s[0], start + 10 * MS, 300, 3, 0);
	assert_true(s[0].rss_bytes == TIMELINE_NO_RSS);
	timeline__free(tl);
}

static void test_timeline__a_quiet_stretch_is_its_first_and_last_grid_point(void **state)
{
	uint64_t start = old_start();
	struct timeline *tl = timeline__new(start, 10 * MS);
	const struct timeline_sample *s;
	struct heap_totals t;
	size_t n;

	(void)state;
	t = totals(100, 2, 1);
	/* the next event comes 1 s later: 100 grid points with the same heap */
	timeline__event(tl, start + 1005 * MS, &t);
	s = timeline__samples(tl, &n);
	assert_int_equal(n, 2);
	assert_int_equal(s[0].t_ns, start + 10 * MS);
	assert_int_equal(s[0].allocations, 2);
	assert_int_equal(s[0].frees, 1);
	assert_sample(&s[1], start + 1000 * MS, 100, 0, 0);
	/* the following interval starts at 1010 ms */
	t = totals(0, 2, 2);
	timeline__event(tl, start + 1009 * MS, &t);
	timeline__event(tl, start + 1010 * MS, &t);
	s = timeline__samples(tl, &n);
	assert_int_equal(n, 3);
	assert_int_equal(s[2].t_ns, start + 1010 * MS);
	assert_int_equal(s[2].live_bytes, 0);
	assert_int_equal(s[2].frees, 1);
	timeline__free(tl);
}

static void test_timeline__unknown_frees_count_as_frees(void **state)
{
	uint64_t start = old_start();
	struct timeline *tl = timeline__new(start, 10 * MS);
	const struct timeline_sample *s;
	struct heap_totals t = totals(0, 1, 1);
	size_t n;

	(void)state;
	t.unknown_frees = 4;
	timeline__event(tl, start + 10 * MS, &t);
	s = timeline__samples(tl, &n);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].frees, 5);
	timeline__free(tl);
}

static void test_timeline__forced_tick_adds_the_end_once(void **state)
{
	uint64_t start = old_start();
	struct timeline *tl = timeline__new(start, 10 * MS);
	const struct timeline_sample *s;
	struct heap_totals t = totals(64, 1, 0);
	size_t n;

	(void)state;
	timeline__event(tl, start + 12 * MS, &t);
	timeline__tick(tl, &t, start + 25 * MS, true);
	timeline__tick(tl, &t, start + 25 * MS, true);
	s = timeline__samples(tl, &n);
	assert_int_equal(n, 3);
	assert_int_equal(s[0].t_ns, start + 10 * MS);
	assert_int_equal(s[1].t_ns, start + 20 * MS);
	assert_int_equal(s[2].t_ns, start + 25 * MS);
	/* a late event from another CPU does not go back in time */
	timeline__event(tl, start + 24 * MS, &t);
	timeline__samples(tl, &n);
	assert_int_equal(n, 3);
	timeline__free(tl);
}

static void test_timeline__rss_only_for_recent_grid_points(void **state)
{
	uint64_t now = ms_now_ns();
	struct timeline *tl = timeline__new(now - 1000 * MS, 10 * MS);
	const struct timeline_sample *s;
	struct heap_totals t = totals(0, 0, 0);
	size_t n;

	(void)state;
	/* RSS read at a drain now: an event from 0.5 s ago gets none at its points */
	timeline__rss(tl, now, 4096);
	timeline__event(tl, now - 500 * MS, &t);
	/* a drain 5 ms after the grid point at now: quiet since the event */
	timeline__rss(tl, now + 5 * MS, 8192);
	timeline__tick(tl, &t, now + 5 * MS, true);
	s = timeline__samples(tl, &n);
	assert_int_equal(n, 5);
	assert_int_equal(s[0].t_ns, now - 990 * MS);
	assert_int_equal(s[1].t_ns, now - 500 * MS);
	assert_int_equal(s[2].t_ns, now - 490 * MS);
	assert_int_equal(s[3].t_ns, now);
	assert_int_equal(s[4].t_ns, now + 5 * MS);
	assert_true(s[0].rss_bytes == TIMELINE_NO_RSS);
	assert_true(s[1].rss_bytes == TIMELINE_NO_RSS);
	assert_true(s[2].rss_bytes == TIMELINE_NO_RSS);
	assert_int_equal(s[3].rss_bytes, 8192);
	assert_int_equal(s[4].rss_bytes, 8192);
	timeline__free(tl);
}

/*
 * A forced sample within a microsecond of a grid point (the reports' unit)
 * or before the last sample updates that sample: no two samples share a
 * microsecond, and every call is still counted once.
 */
static void test_timeline__points_within_a_microsecond_make_one_sample(void **state)
{
	uint64_t start = old_start();
	struct timeline *tl = timeline__new(start, 10 * MS);
	const struct timeline_sample *s;
	struct heap_totals t;
	size_t n;

	(void)state;
	t = totals(100, 1, 0);
	timeline__tick(tl, &t, start + 10 * MS, false);
	t = totals(200, 2, 0);
	timeline__tick(tl, &t, start + 10 * MS + 999, true);
	t = totals(50, 2, 1);
	timeline__tick(tl, &t, start + 5 * MS, true);
	s = timeline__samples(tl, &n);
	assert_int_equal(n, 1);
	assert_sample(&s[0], start + 10 * MS, 50, 2, 1);
	/* a microsecond later is a sample of its own */
	t = totals(70, 3, 1);
	timeline__tick(tl, &t, start + 10 * MS + 1000, true);
	s = timeline__samples(tl, &n);
	assert_int_equal(n, 2);
	assert_int_equal(s[1].allocations, 1);
	timeline__free(tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeline__points_within_a_microsecond_make_one_sample),
		cmocka_unit_test(test_timeline__events_before_the_first_grid_point_sample_nothing),
		cmocka_unit_test(test_timeline__a_grid_point_holds_the_heap_before_the_event_past_it),
		cmocka_unit_test(test_timeline__a_quiet_stretch_is_its_first_and_last_grid_point),
		cmocka_unit_test(test_timeline__unknown_frees_count_as_frees),
		cmocka_unit_test(test_timeline__forced_tick_adds_the_end_once),
		cmocka_unit_test(test_timeline__rss_only_for_recent_grid_points),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
