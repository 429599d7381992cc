/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "heap.h"
#include "memscope_events.h"
#include "sample.h"

#define KIB 1024ull

static void test_sample__probability_is_one_minus_exp(void **state)
{
	(void)state;
	assert_true(sample__probability(100, 0) == 1.0);
	assert_true(sample__probability(0, 512 * KIB) == 0.0);
	assert_true(fabs(sample__probability(512 * KIB, 512 * KIB) - (1 - exp(-1))) < 1e-12);
	/* small blocks: about s / N, without cancellation */
	assert_true(fabs(sample__probability(16, 512 * KIB) / (16.0 / (512 * KIB)) - 1) < 1e-4);
	/* 40 mean gaps: 1 - e^-40 rounds to 1 in a double */
	assert_true(sample__probability(40, 1) == 1.0);
}

static void test_sample__no_sampling_weighs_one_block(void **state)
{
	struct sample_weight w;

	(void)state;
	sample__weigh(0, 123, 0x1000, 42, &w);
	assert_int_equal(w.count, 1);
	assert_int_equal(w.bytes, 123);
}

static void test_sample__certain_block_weighs_itself(void **state)
{
	struct sample_weight w;

	(void)state;
	sample__weigh(KIB, 64 * KIB, 0x1000, 42, &w);
	assert_int_equal(w.count, 1);
	assert_int_equal(w.bytes, 64 * KIB);
}

static void test_sample__bytes_are_size_over_p(void **state)
{
	uint64_t n = 512 * KIB, s = 100;
	struct sample_weight w;

	(void)state;
	sample__weigh(n, s, 0x1000, 42, &w);
	assert_int_equal(w.bytes, (uint64_t)llround(s / -expm1(-(double)s / n)));
	/* about N + s/2 for s << N */
	assert_true(w.bytes > n && w.bytes < n + s);
}

static void test_sample__same_block_weighs_the_same(void **state)
{
	struct sample_weight a, b;

	(void)state;
	for (uint64_t ptr = 0x10000; ptr < 0x10000 + 64 * 1000; ptr += 64) {
		sample__weigh(4 * KIB, 3000, ptr, ptr * 7, &a);
		sample__weigh(4 * KIB, 3000, ptr, ptr * 7, &b);
		assert_int_equal(a.count, b.count);
		assert_int_equal(a.bytes, b.bytes);
	}
}

/* Rounding the count up or down keeps it unbiased: over many blocks the mean
 * is 1/p.  Deterministic (the draw is a hash of the block). */
static void test_sample__count_is_unbiased(void **state)
{
	uint64_t n = 4 * KIB, s = 1000, sum = 0, blocks = 200000, lo = ~0ull, hi = 0;
	double inv = 1 / sample__probability(s, n);
	struct sample_weight w;

	(void)state;
	for (uint64_t i = 0; i < blocks; i++) {
		sample__weigh(n, s, 0x7f0000000000ull + 48 * i, 1000000 + 977 * i, &w);
		sum += w.count;
		lo = w.count < lo ? w.count : lo;
		hi = w.count > hi ? w.count : hi;
	}
	assert_int_equal(lo, (uint64_t)floor(inv));
	assert_int_equal(hi, (uint64_t)floor(inv) + 1);
	assert_true(fabs((double)sum / blocks / inv - 1) < 0.005);
}

static void test_sample__gaps_are_exponential_quantiles(void **state)
{
	static uint64_t g[MS_SAMPLE_GAPS];
	double sum = 0;

	(void)state;
	sample__fill_gaps(512 * KIB, g, MS_SAMPLE_GAPS);
	for (size_t k = 0; k < MS_SAMPLE_GAPS; k++) {
		if (k)
			assert_true(g[k] >= g[k - 1]);
		sum += (double)g[k];
	}
	assert_true(fabs(sum / MS_SAMPLE_GAPS / (512 * KIB) - 1) < 0.002);
	/* the median of an exponential distribution is ln 2 times its mean */
	assert_true(fabs((double)g[MS_SAMPLE_GAPS / 2] / (512 * KIB) - log(2)) < 0.001);
}

/* With N = 1 no gap reaches 10 bytes: every block of 10 bytes or more is
 * sampled (the end-to-end test relies on it). */
static void test_sample__gaps_of_one_byte_stay_below_ten(void **state)
{
	static uint64_t g[MS_SAMPLE_GAPS];

	(void)state;
	sample__fill_gaps(1, g, MS_SAMPLE_GAPS);
	assert_true(g[MS_SAMPLE_GAPS - 1] < 10);
	assert_int_equal(g[0], 0);
}

/*
 * The BPF countdown (bpf/memscope.bpf.c sample_block()) run in C with a fixed
 * seed: the share of blocks sampled is 1 - exp(-s/N) for each size.
 */
static void test_sample__countdown_samples_with_probability_p(void **state)
{
	static uint64_t g[MS_SAMPLE_GAPS];
	static const uint64_t sizes[] = { 16, 200, 1000, 4096, 20000 };
	uint64_t n = 4 * KIB, countdown, taken[5] = { 0 }, per = 100000;
	unsigned seed = 12345;

	(void)state;
	sample__fill_gaps(n, g, MS_SAMPLE_GAPS);
	srand(seed);
	countdown = g[rand() & (MS_SAMPLE_GAPS - 1)];
	for (uint64_t i = 0; i < per * 5; i++) {
		uint64_t s = sizes[i % 5];

		if (s <= countdown) {
			countdown -= s;
			continue;
		}
		countdown = g[rand() & (MS_SAMPLE_GAPS - 1)];
		taken[i % 5]++;
	}
	for (int k = 0; k < 5; k++) {
		double p = sample__probability(sizes[k], n), got = (double)taken[k] / per;

		/* binomial standard deviation is at most 0.0016 here; 0.01 is > 6 of them */
		assert_true(fabs(got - p) < 0.01 + 0.02 * p);
	}
}

static void do_alloc(struct heap *h, uint64_t ts, uint64_t ptr, uint64_t size, uint32_t stack)
{
	struct alloc_call c = {
		.fn = MS_FN_MALLOC, .tid = 1, .ts_ns = ts, .ptr = ptr, .size = size, .stack = stack,
	};

	heap__alloc(h, &c);
}

static void do_free(struct heap *h, uint64_t ts, uint64_t ptr)
{
	struct free_call c = { .fn = MS_FN_FREE, .tid = 1, .ts_ns = ts, .ptr = ptr };

	heap__release(h, &c);
}

static void test_heap__sampled_blocks_are_scaled_and_come_back_to_zero(void **state)
{
	struct heap *h = heap__new(0);
	const struct heap_totals *t = heap__totals(h);
	struct sample_weight a, b;
	const struct heap_site *sites;
	size_t nsites;

	(void)state;
	heap__set_sample_bytes(h, 4 * KIB);
	sample__weigh(4 * KIB, 100, 0x1000, 10, &a);
	sample__weigh(4 * KIB, 8000, 0x2000, 20, &b);
	do_alloc(h, 10, 0x1000, 100, 1);
	do_alloc(h, 20, 0x2000, 8000, 1);
	assert_int_equal(t->allocations, a.count + b.count);
	assert_int_equal(t->bytes_allocated, a.bytes + b.bytes);
	assert_int_equal(t->live_bytes, a.bytes + b.bytes);
	assert_int_equal(t->peak_bytes, a.bytes + b.bytes);
	sites = heap__sites(h, &nsites);
	assert_int_equal(sites[1].allocations, a.count + b.count);
	assert_int_equal(sites[1].live_bytes, a.bytes + b.bytes);
	assert_int_equal(heap__size_hist(h)->count[heap_hist__bucket(100)], a.count);
	do_free(h, 30, 0x1000);
	do_free(h, 40, 0x2000);
	assert_int_equal(t->frees, a.count + b.count);
	assert_int_equal(t->live_allocations, 0);
	assert_int_equal(t->live_bytes, 0);
	assert_int_equal(sites[1].live_count, 0);
	heap__free(h);
}

/* A realloc whose new block was not sampled only releases the old one. */
static void test_heap__untracked_realloc_releases_old_only(void **state)
{
	struct heap *h = heap__new(0);
	const struct heap_totals *t = heap__totals(h);
	struct alloc_call c = {
		.fn = MS_FN_REALLOC, .is_realloc = true, .tid = 1, .ts_ns = 20,
		.ptr = 0x3000, .size = 16, .old_ptr = 0x1000, .untracked = true,
	};

	(void)state;
	heap__set_sample_bytes(h, 4 * KIB);
	do_alloc(h, 10, 0x1000, 100, 1);
	heap__alloc(h, &c);
	assert_int_equal(t->live_allocations, 0);
	assert_int_equal(t->live_bytes, 0);
	assert_int_equal(t->unknown_frees, 0);
	assert_int_equal(t->failed_allocations, 0);
	assert_null(live_table__get(heap__live(h), 0x3000));
	heap__free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample__probability_is_one_minus_exp),
		cmocka_unit_test(test_sample__no_sampling_weighs_one_block),
		cmocka_unit_test(test_sample__certain_block_weighs_itself),
		cmocka_unit_test(test_sample__bytes_are_size_over_p),
		cmocka_unit_test(test_sample__same_block_weighs_the_same),
		cmocka_unit_test(test_sample__count_is_unbiased),
		cmocka_unit_test(test_sample__gaps_are_exponential_quantiles),
		cmocka_unit_test(test_sample__gaps_of_one_byte_stay_below_ten),
		cmocka_unit_test(test_sample__countdown_samples_with_probability_p),
		cmocka_unit_test(test_heap__sampled_blocks_are_scaled_and_come_back_to_zero),
		cmocka_unit_test(test_heap__untracked_realloc_releases_old_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
