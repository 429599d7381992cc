/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "heap.h"
#include "memscope_events.h"

#define P1 0x555555560010ull
#define P2 0x555555560040ull
#define P3 0x555555560100ull

static int setup(void **state)
{
	*state = heap__new(0);
	return 0;
}

static int teardown(void **state)
{
	heap__free(*state);
	return 0;
}

static void do_malloc(struct heap *h, uint64_t ts, uint64_t ptr, uint64_t size,
		      uint32_t stack)
{
	struct alloc_call c = {
		.fn = MS_FN_MALLOC, .tid = 42, .ts_ns = ts, .ptr = ptr, .size = size,
		.stack = stack,
	};

	heap__alloc(h, &c);
}

static void do_realloc(struct heap *h, uint64_t ts, uint64_t old_ptr, uint64_t ptr,
		       uint64_t size, uint32_t stack)
{
	struct alloc_call c = {
		.fn = MS_FN_REALLOC, .is_realloc = true, .tid = 42, .ts_ns = ts,
		.ptr = ptr, .size = size, .old_ptr = old_ptr, .stack = stack,
	};

	heap__alloc(h, &c);
}

static void do_free(struct heap *h, uint64_t ts, uint64_t ptr, uint32_t stack)
{
	struct free_call c = {
		.fn = MS_FN_FREE, .tid = 42, .ts_ns = ts, .ptr = ptr, .stack = stack,
	};

	heap__release(h, &c);
}

/* What must hold after any sequence of calls. */
static void assert_consistent(const struct heap *h)
{
	const struct heap_totals *t = heap__totals(h);
	const struct heap_site *s;
	uint64_t count = 0, bytes = 0;
	size_t n, i;

	assert_int_equal(t->allocations - t->frees, t->live_allocations);
	assert_int_equal(t->bytes_allocated - t->bytes_freed, t->live_bytes);
	assert_int_equal(live_table__count(heap__live(h)), t->live_allocations);
	assert_true(t->peak_bytes >= t->live_bytes);
	s = heap__sites(h, &n);
	for (i = 0; i < n; i++) {
		count += s[i].live_count;
		bytes += s[i].live_bytes;
	}
	assert_int_equal(count, t->live_allocations);
	assert_int_equal(bytes, t->live_bytes);
}

static uint64_t live_size(const struct heap *h, uint64_t ptr)
{
	const struct live_block *b = live_table__get(heap__live(h), ptr);

	assert_non_null(b);
	return b->size;
}

static const struct heap_site *site(const struct heap *h, uint32_t stack)
{
	size_t n;
	const struct heap_site *s = heap__sites(h, &n);

	assert_true(stack < n);
	return &s[stack];
}

static void test_heap__new_heap_is_empty(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);
	struct heap_totals zero = { 0 };

	assert_memory_equal(t, &zero, sizeof(zero));
	assert_int_equal(live_table__count(heap__live(h)), 0);
}

static void test_heap__malloc_and_free_update_totals(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);

	do_malloc(h, 1, P1, 100, 1);
	do_malloc(h, 2, P2, 30, 1);
	assert_int_equal(t->allocations, 2);
	assert_int_equal(t->bytes_allocated, 130);
	assert_int_equal(t->live_allocations, 2);
	assert_int_equal(t->live_bytes, 130);
	do_free(h, 3, P1, 2);
	assert_int_equal(t->frees, 1);
	assert_int_equal(t->bytes_freed, 100);
	assert_int_equal(t->live_allocations, 1);
	assert_int_equal(t->live_bytes, 30);
	assert_null(live_table__get(heap__live(h), P1));
	assert_int_equal(live_size(h, P2), 30);
	assert_int_equal(t->unknown_frees, 0);
	assert_consistent(h);
}

static void test_heap__live_block_records_the_call(void **state)
{
	struct heap *h = *state;
	struct alloc_call c = {
		.fn = MS_FN_CALLOC, .tid = 99, .ts_ns = 1234, .ptr = P1, .size = 64,
		.stack = 5,
	};
	const struct live_block *b;

	heap__alloc(h, &c);
	b = live_table__get(heap__live(h), P1);
	assert_non_null(b);
	assert_int_equal(b->ptr, P1);
	assert_int_equal(b->size, 64);
	assert_int_equal(b->ts_ns, 1234);
	assert_int_equal(b->stack, 5);
	assert_int_equal(b->tid, 99);
	assert_int_equal(b->fn, MS_FN_CALLOC);
}

static void test_heap__peak_is_highest_live_bytes_first_reached(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);

	do_malloc(h, 1000, P1, 100, 1);
	do_malloc(h, 2000, P2, 50, 1);
	do_free(h, 3000, P1, 1);
	do_malloc(h, 4000, P3, 20, 1);
	assert_int_equal(t->peak_bytes, 150);
	assert_int_equal(t->peak_ts_ns, 2000);
	assert_int_equal(t->live_bytes, 70);
	/* reaching the same peak again does not move its time */
	do_malloc(h, 5000, P1, 80, 1);
	assert_int_equal(t->live_bytes, 150);
	assert_int_equal(t->peak_ts_ns, 2000);
	/* passing it does */
	do_realloc(h, 6000, P3, P3, 21, 1);
	assert_int_equal(t->peak_bytes, 151);
	assert_int_equal(t->peak_ts_ns, 6000);
	assert_consistent(h);
}

static void test_heap__free_of_unknown_ptr_is_counted(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);

	do_malloc(h, 1, P1, 100, 1);
	do_free(h, 2, P2, 1);
	assert_int_equal(t->unknown_frees, 1);
	assert_int_equal(t->frees, 0);
	assert_int_equal(t->bytes_freed, 0);
	assert_int_equal(t->live_bytes, 100);
	/* a second free of the same block is unknown too */
	do_free(h, 3, P1, 1);
	do_free(h, 4, P1, 1);
	assert_int_equal(t->frees, 1);
	assert_int_equal(t->unknown_frees, 2);
	assert_consistent(h);
}

static void test_heap__realloc_of_null_is_plain_allocation(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);

	do_realloc(h, 1, 0, P1, 100, 1);
	assert_int_equal(t->allocations, 1);
	assert_int_equal(t->live_bytes, 100);
	assert_int_equal(t->frees, 0);
	assert_int_equal(t->unknown_frees, 0);
	assert_int_equal(live_size(h, P1), 100);
	assert_consistent(h);
}

static void test_heap__realloc_to_same_address_is_release_plus_alloc(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);
	const struct live_block *b;

	do_malloc(h, 1, P1, 100, 1);
	do_realloc(h, 2, P1, P1, 200, 2);
	assert_int_equal(t->allocations, 2);
	assert_int_equal(t->frees, 1);
	assert_int_equal(t->bytes_allocated, 300);
	assert_int_equal(t->bytes_freed, 100);
	assert_int_equal(t->live_allocations, 1);
	assert_int_equal(t->live_bytes, 200);
	assert_int_equal(t->replaced_blocks, 0);
	b = live_table__get(heap__live(h), P1);
	assert_non_null(b);
	assert_int_equal(b->size, 200);
	assert_int_equal(b->stack, 2);
	assert_int_equal(b->ts_ns, 2);
	assert_int_equal(b->fn, MS_FN_REALLOC);
	assert_int_equal(site(h, 1)->live_count, 0);
	assert_int_equal(site(h, 2)->live_count, 1);
	assert_consistent(h);
}

static void test_heap__realloc_to_new_address_moves_the_block(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);

	do_malloc(h, 1, P1, 100, 1);
	do_realloc(h, 2, P1, P2, 300, 1);
	assert_null(live_table__get(heap__live(h), P1));
	assert_int_equal(live_size(h, P2), 300);
	assert_int_equal(t->allocations, 2);
	assert_int_equal(t->frees, 1);
	assert_int_equal(t->live_allocations, 1);
	assert_int_equal(t->live_bytes, 300);
	assert_int_equal(t->peak_bytes, 300);
	assert_consistent(h);
}

static void test_heap__realloc_of_unknown_ptr_counts_unknown_free(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);

	do_realloc(h, 1, P1, P2, 64, 1);
	assert_int_equal(t->unknown_frees, 1);
	assert_int_equal(t->frees, 0);
	assert_int_equal(live_size(h, P2), 64);
	assert_consistent(h);
}

static void test_heap__realloc_to_zero_returning_null_frees_the_block(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);

	do_malloc(h, 1, P1, 100, 1);
	do_realloc(h, 2, P1, 0, 0, 1);
	assert_null(live_table__get(heap__live(h), P1));
	assert_int_equal(t->frees, 1);
	assert_int_equal(t->bytes_freed, 100);
	assert_int_equal(t->live_allocations, 0);
	assert_int_equal(t->live_bytes, 0);
	assert_int_equal(t->failed_allocations, 0);
	assert_consistent(h);
}

static void test_heap__failed_realloc_keeps_the_block(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);

	do_malloc(h, 1, P1, 100, 1);
	do_realloc(h, 2, P1, 0, 1ull << 40, 1);
	assert_int_equal(live_size(h, P1), 100);
	assert_int_equal(t->failed_allocations, 1);
	assert_int_equal(t->allocations, 1);
	assert_int_equal(t->frees, 0);
	assert_int_equal(t->live_bytes, 100);
	assert_consistent(h);
}

static void test_heap__failed_reallocarray_keeps_the_block(void **state)
{
	struct heap *h = *state;
	struct alloc_call c = {
		.fn = MS_FN_REALLOCARRAY, .is_realloc = true, .ts_ns = 2, .ptr = 0,
		.size = UINT64_MAX, .old_ptr = P1, .stack = 1,
	};

	do_malloc(h, 1, P1, 100, 1);
	heap__alloc(h, &c);
	assert_int_equal(live_size(h, P1), 100);
	assert_int_equal(heap__totals(h)->failed_allocations, 1);
	assert_consistent(h);
}

static void test_heap__failed_malloc_is_counted_only(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);

	do_malloc(h, 1, 0, 1ull << 40, 1);
	do_malloc(h, 2, 0, 0, 1);
	do_realloc(h, 3, 0, 0, 1ull << 40, 1);
	assert_int_equal(t->failed_allocations, 3);
	assert_int_equal(t->allocations, 0);
	assert_int_equal(t->bytes_allocated, 0);
	assert_int_equal(t->live_allocations, 0);
	assert_int_equal(t->peak_bytes, 0);
	assert_consistent(h);
}

static void test_heap__alloc_at_live_address_replaces_the_block(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);

	do_malloc(h, 1, P1, 100, 1);
	do_malloc(h, 2, P2, 10, 1);
	/* P1's free was lost */
	do_malloc(h, 3, P1, 40, 2);
	assert_int_equal(t->replaced_blocks, 1);
	assert_int_equal(t->allocations, 3);
	assert_int_equal(t->live_allocations, 2);
	assert_int_equal(t->live_bytes, 50);
	assert_int_equal(t->peak_bytes, 110);
	assert_int_equal(live_size(h, P1), 40);
	/* the replaced block leaves its own site */
	assert_int_equal(site(h, 1)->live_count, 1);
	assert_int_equal(site(h, 1)->live_bytes, 10);
	assert_int_equal(site(h, 2)->live_count, 1);
	assert_int_equal(site(h, 2)->live_bytes, 40);
	assert_consistent(h);
	do_free(h, 4, P1, 3);
	assert_int_equal(t->live_bytes, 10);
	assert_int_equal(t->unknown_frees, 0);
	assert_consistent(h);
}

static void test_heap__sites_count_allocations_and_live_blocks(void **state)
{
	struct heap *h = *state;

	do_malloc(h, 1, P1, 100, 1);
	do_malloc(h, 2, P2, 30, 1);
	do_malloc(h, 3, P3, 7, 3);
	do_free(h, 4, P2, 1);
	assert_int_equal(site(h, 1)->allocations, 2);
	assert_int_equal(site(h, 1)->bytes, 130);
	assert_int_equal(site(h, 1)->live_count, 1);
	assert_int_equal(site(h, 1)->live_bytes, 100);
	assert_int_equal(site(h, 3)->allocations, 1);
	assert_int_equal(site(h, 3)->bytes, 7);
	assert_int_equal(site(h, 3)->live_count, 1);
	assert_int_equal(site(h, 2)->allocations, 0);
	assert_int_equal(site(h, 0)->allocations, 0);
	assert_consistent(h);
}

static void test_heap__release_updates_the_allocating_site_only(void **state)
{
	struct heap *h = *state;

	do_malloc(h, 1, P1, 100, 1);
	do_malloc(h, 2, P2, 50, 2);
	/* freed from stack 2's code: stack 1 loses the block, stack 2 does not */
	do_free(h, 3, P1, 2);
	assert_int_equal(site(h, 1)->live_count, 0);
	assert_int_equal(site(h, 1)->live_bytes, 0);
	assert_int_equal(site(h, 1)->allocations, 1);
	assert_int_equal(site(h, 1)->bytes, 100);
	assert_int_equal(site(h, 2)->live_count, 1);
	assert_int_equal(site(h, 2)->live_bytes, 50);
	assert_consistent(h);
}

static void test_heap__sites_grow_for_a_large_stack_index(void **state)
{
	struct heap *h = *state;
	size_t n;

	do_malloc(h, 1, P1, 100, 1);
	do_malloc(h, 2, P2, 8, 70000);
	heap__sites(h, &n);
	assert_true(n > 70000);
	assert_int_equal(site(h, 70000)->live_bytes, 8);
	assert_int_equal(site(h, 1)->live_bytes, 100);
	assert_int_equal(site(h, 69999)->allocations, 0);
	assert_consistent(h);
}

static void test_heap__block_without_stack_counts_in_site_none(void **state)
{
	struct heap *h = *state;

	do_malloc(h, 1, P1, 100, 0); /* STACK_NONE */
	assert_int_equal(site(h, 0)->live_count, 1);
	do_free(h, 2, P1, 0);
	assert_int_equal(site(h, 0)->live_count, 0);
	assert_consistent(h);
}

/* Random churn over a small address space, checked step by step. */
static void test_heap__totals_stay_consistent_under_random_calls(void **state)
{
	struct heap *h = *state;
	uint64_t rng = 0x2545f4914f6cdd1dull;
	int i;

	for (i = 0; i < 20000; i++) {
		uint64_t p, q, size;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		p = (rng % 64) * 16;
		q = (rng >> 8) % 64 * 16;
		size = (rng >> 16) % 500;
		switch ((rng >> 32) % 4) {
		case 0:
			do_malloc(h, i, p, size, (rng >> 40) % 8);
			break;
		case 1:
			do_realloc(h, i, p, q, size, (rng >> 40) % 8);
			break;
		default:
			if (p)
				do_free(h, i, p, 0);
			break;
		}
		if (i % 100 == 0)
			assert_consistent(h);
	}
	assert_consistent(h);
}

static void test_heap__free_accepts_null(void **state)
{
	heap__free(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_heap__new_heap_is_empty),
		T(test_heap__malloc_and_free_update_totals),
		T(test_heap__live_block_records_the_call),
		T(test_heap__peak_is_highest_live_bytes_first_reached),
		T(test_heap__free_of_unknown_ptr_is_counted),
		T(test_heap__realloc_of_null_is_plain_allocation),
		T(test_heap__realloc_to_same_address_is_release_plus_alloc),
		T(test_heap__realloc_to_new_address_moves_the_block),
		T(test_heap__realloc_of_unknown_ptr_counts_unknown_free),
		T(test_heap__realloc_to_zero_returning_null_frees_the_block),
		T(test_heap__failed_realloc_keeps_the_block),
		T(test_heap__failed_reallocarray_keeps_the_block),
		T(test_heap__failed_malloc_is_counted_only),
		T(test_heap__alloc_at_live_address_replaces_the_block),
		T(test_heap__sites_count_allocations_and_live_blocks),
		T(test_heap__release_updates_the_allocating_site_only),
		T(test_heap__sites_grow_for_a_large_stack_index),
		T(test_heap__block_without_stack_counts_in_site_none),
		T(test_heap__totals_stay_consistent_under_random_calls),
		cmocka_unit_test(test_heap__free_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
