/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
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

static void do_malloc_t(struct heap *h, uint32_t tid, uint64_t ts, uint64_t ptr,
			uint64_t size, uint32_t stack)
{
	struct alloc_call c = {
		.fn = MS_FN_MALLOC, .tid = tid, .ts_ns = ts, .ptr = ptr, .size = size,
		.stack = stack,
	};

	heap__alloc(h, &c);
}

static void do_realloc_t(struct heap *h, uint32_t tid, uint64_t ts, uint64_t old_ptr,
			 uint64_t ptr, uint64_t size, uint32_t stack)
{
	struct alloc_call c = {
		.fn = MS_FN_REALLOC, .is_realloc = true, .tid = tid, .ts_ns = ts,
		.ptr = ptr, .size = size, .old_ptr = old_ptr, .stack = stack,
	};

	heap__alloc(h, &c);
}

static void do_free_tf(struct heap *h, uint32_t tid, uint64_t ts, uint64_t ptr, uint32_t stack,
		       uint16_t flags)
{
	struct free_call c = {
		.fn = MS_FN_FREE, .tid = tid, .ts_ns = ts, .ptr = ptr, .stack = stack,
		.flags = flags,
	};

	heap__release(h, &c);
}

static void do_free_t(struct heap *h, uint32_t tid, uint64_t ts, uint64_t ptr, uint32_t stack)
{
	do_free_tf(h, tid, ts, ptr, stack, 0);
}

static void do_malloc(struct heap *h, uint64_t ts, uint64_t ptr, uint64_t size,
		      uint32_t stack)
{
	do_malloc_t(h, 42, ts, ptr, size, stack);
}

static void do_realloc(struct heap *h, uint64_t ts, uint64_t old_ptr, uint64_t ptr,
		       uint64_t size, uint32_t stack)
{
	do_realloc_t(h, 42, ts, old_ptr, ptr, size, stack);
}

static void do_free(struct heap *h, uint64_t ts, uint64_t ptr, uint32_t stack)
{
	do_free_t(h, 42, ts, ptr, stack);
}

static uint64_t hist_sum(const struct heap_hist *hist)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < HEAP_HIST_BUCKETS; i++)
		n += hist->count[i];
	return n;
}

/* Threads, histograms and windows agree with the totals. */
static void assert_consistent_extras(const struct heap *h)
{
	const struct heap_totals *t = heap__totals(h);
	const struct heap_thread *th = NULL;
	const struct heap_window *w;
	const struct heap_site *s;
	uint64_t allocs = 0, bytes = 0, frees = 0, live = 0, live_bytes = 0, temp = 0;
	uint64_t site_temp = 0, peak_bytes = 0, c, b;
	size_t n, i;

	th = heap__threads(h, &n);
	for (i = 0; i < n; i++) {
		allocs += th[i].allocations;
		bytes += th[i].bytes;
		frees += th[i].frees;
		live += th[i].live_count;
		live_bytes += th[i].live_bytes;
		temp += th[i].temporary;
	}
	assert_int_equal(allocs, t->allocations);
	assert_int_equal(bytes, t->bytes_allocated);
	/* a replaced block's release was not seen on any thread */
	assert_int_equal(frees, t->frees - t->replaced_blocks);
	assert_int_equal(live, t->live_allocations);
	assert_int_equal(live_bytes, t->live_bytes);
	assert_int_equal(temp, t->temporary_allocations);
	s = heap__sites(h, &n);
	for (i = 0; i < n; i++) {
		site_temp += s[i].temporary;
		heap__site_at_peak(h, i, &c, &b);
		peak_bytes += b;
	}
	assert_int_equal(site_temp, t->temporary_allocations);
	assert_int_equal(peak_bytes, t->peak_bytes);
	assert_int_equal(hist_sum(heap__size_hist(h)), t->allocations);
	assert_int_equal(hist_sum(heap__lifetime_hist(h)), t->frees);
	w = heap__windows(h, &n, NULL, NULL);
	allocs = bytes = 0;
	for (i = 0; i < n; i++) {
		assert_true(w[i].count > 0);
		assert_true(w[i].alloc_bucket < HEAP_WINDOW_MAX_BUCKETS);
		assert_true(w[i].free_bucket < HEAP_WINDOW_MAX_BUCKETS);
		allocs += w[i].count;
		bytes += w[i].bytes;
	}
	assert_int_equal(allocs, t->frees);
	assert_int_equal(bytes, t->bytes_freed);
}

static void add_pair(struct heap_thread_site *sum, const struct heap_thread_site *p)
{
	sum->allocations += p->allocations;
	sum->bytes += p->bytes;
	sum->live_count += p->live_count;
	sum->live_bytes += p->live_bytes;
	sum->temporary += p->temporary;
}

/* The pairs of thread tid, summed. */
static struct heap_thread_site sum_pairs_of_tid(const struct heap_thread_site *p, size_t np,
						uint32_t tid)
{
	struct heap_thread_site sum = { 0 };

	for (size_t j = 0; j < np; j++)
		if (p[j].tid == tid)
			add_pair(&sum, &p[j]);
	return sum;
}

static void assert_sum(const struct heap_thread_site *sum, uint64_t allocations, uint64_t bytes,
		       uint64_t live_count, uint64_t live_bytes, uint64_t temporary)
{
	assert_int_equal(sum->allocations, allocations);
	assert_int_equal(sum->bytes, bytes);
	assert_int_equal(sum->live_count, live_count);
	assert_int_equal(sum->live_bytes, live_bytes);
	assert_int_equal(sum->temporary, temporary);
}

/* Each thread's pairs sum to its counters, each stack's to its site's. */
static void assert_thread_sites_consistent(const struct heap *h)
{
	const struct heap_thread_site *p;
	const struct heap_thread *th;
	const struct heap_site *s;
	struct heap_thread_site sum, *by_stack;
	size_t np, nt, ns, i;

	p = heap__thread_sites(h, &np);
	if (!p)
		return;
	th = heap__threads(h, &nt);
	for (i = 0; i < nt; i++) {
		sum = sum_pairs_of_tid(p, np, th[i].tid);
		assert_sum(&sum, th[i].allocations, th[i].bytes, th[i].live_count, th[i].live_bytes,
			   th[i].temporary);
	}
	/* one pass over the pairs: a test with 2^18 sites must not take minutes */
	s = heap__sites(h, &ns);
	by_stack = calloc(ns ? ns : 1, sizeof(*by_stack));
	assert_non_null(by_stack);
	for (i = 0; i < np; i++) {
		assert_true(p[i].stack < ns);
		add_pair(&by_stack[p[i].stack], &p[i]);
	}
	for (i = 0; i < ns; i++)
		assert_sum(&by_stack[i], s[i].allocations, s[i].bytes, s[i].live_count,
			   s[i].live_bytes, s[i].temporary);
	free(by_stack);
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
	assert_consistent_extras(h);
	assert_thread_sites_consistent(h);
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

/* ---------------------------------------------------------------- hooks */

#define MAX_SEEN 16

struct seen_call {
	char what; /* 'a' added, 'r' removed, 'u' unknown */
	uint64_t ptr;
	uint64_t size;
	uint32_t stack;
	bool by_free;    /* fc set */
	uint64_t rc_ptr; /* rc->ptr when rc set */
	bool rc_is_realloc;
};

struct recorder {
	struct seen_call calls[MAX_SEEN];
	int n;
	bool claim; /* what unknown() answers */
};

static void rec_push(struct recorder *r, struct seen_call c)
{
	assert_true(r->n < MAX_SEEN);
	r->calls[r->n++] = c;
}

static void rec_added(void *ctx, const struct live_block *b)
{
	rec_push(ctx, (struct seen_call){ .what = 'a', .ptr = b->ptr, .size = b->size,
					  .stack = b->stack });
}

static void rec_removed(void *ctx, const struct live_block *b, const struct free_call *fc,
			const struct alloc_call *rc)
{
	/* exactly one of them */
	assert_true(!fc != !rc);
	rec_push(ctx, (struct seen_call){ .what = 'r', .ptr = b->ptr, .size = b->size,
					  .stack = b->stack, .by_free = fc != NULL,
					  .rc_ptr = rc ? rc->ptr : 0,
					  .rc_is_realloc = rc && rc->is_realloc });
}

static bool rec_unknown(void *ctx, uint64_t ptr, const struct free_call *fc,
			const struct alloc_call *rc)
{
	struct recorder *r = ctx;

	assert_true(!fc != !rc);
	if (fc)
		assert_int_equal(fc->ptr, ptr);
	else
		assert_int_equal(rc->old_ptr, ptr);
	rec_push(r, (struct seen_call){ .what = 'u', .ptr = ptr, .by_free = fc != NULL,
					.rc_ptr = rc ? rc->ptr : 0,
					.rc_is_realloc = rc && rc->is_realloc });
	return r->claim;
}

static void hook_recorder(struct heap *h, struct recorder *r)
{
	struct heap_hooks hooks = {
		.ctx = r, .added = rec_added, .removed = rec_removed, .unknown = rec_unknown,
	};

	memset(r, 0, sizeof(*r));
	assert_int_equal(heap__add_hooks(h, &hooks), 0);
}

static void assert_seen(const struct recorder *r, int i, char what, uint64_t ptr,
			uint64_t size)
{
	assert_true(i < r->n);
	assert_int_equal(r->calls[i].what, what);
	assert_int_equal(r->calls[i].ptr, ptr);
	assert_int_equal(r->calls[i].size, size);
}

static void test_heap__hooks_see_blocks_added_and_removed(void **state)
{
	struct heap *h = *state;
	struct recorder r;

	hook_recorder(h, &r);
	do_malloc(h, 1, P1, 100, 3);
	do_free(h, 2, P1, 4);
	assert_int_equal(r.n, 2);
	assert_seen(&r, 0, 'a', P1, 100);
	assert_int_equal(r.calls[0].stack, 3);
	assert_seen(&r, 1, 'r', P1, 100);
	/* the removed block is the allocation's, with its stack */
	assert_int_equal(r.calls[1].stack, 3);
	assert_true(r.calls[1].by_free);
	assert_consistent(h);
}

static void test_heap__realloc_release_is_removed_with_the_realloc_call(void **state)
{
	struct heap *h = *state;
	struct recorder r;

	hook_recorder(h, &r);
	do_malloc(h, 1, P1, 100, 1);
	do_realloc(h, 2, P1, P2, 200, 2);
	do_realloc(h, 3, P2, P2, 300, 2);
	do_realloc(h, 4, P2, 0, 0, 2);
	assert_int_equal(r.n, 6);
	assert_seen(&r, 0, 'a', P1, 100);
	/* moved: old block removed by the realloc, then the new one added */
	assert_seen(&r, 1, 'r', P1, 100);
	assert_false(r.calls[1].by_free);
	assert_true(r.calls[1].rc_is_realloc);
	assert_int_equal(r.calls[1].rc_ptr, P2);
	assert_seen(&r, 2, 'a', P2, 200);
	/* same address: removed and added again */
	assert_seen(&r, 3, 'r', P2, 200);
	assert_seen(&r, 4, 'a', P2, 300);
	/* realloc(p, 0) returning NULL: only removed */
	assert_seen(&r, 5, 'r', P2, 300);
	assert_int_equal(r.calls[5].rc_ptr, 0);
	assert_consistent(h);
}

static void test_heap__replaced_block_is_removed_with_the_replacing_call(void **state)
{
	struct heap *h = *state;
	struct recorder r;

	hook_recorder(h, &r);
	do_malloc(h, 1, P1, 100, 1);
	do_malloc(h, 2, P1, 40, 2);
	assert_int_equal(r.n, 3);
	assert_seen(&r, 1, 'r', P1, 100);
	assert_int_equal(r.calls[1].stack, 1);
	assert_false(r.calls[1].by_free);
	/* rc is the plain malloc that replaced it: rc->ptr == the block */
	assert_false(r.calls[1].rc_is_realloc);
	assert_int_equal(r.calls[1].rc_ptr, P1);
	assert_seen(&r, 2, 'a', P1, 40);
	assert_consistent(h);
}

static void test_heap__unknown_release_claimed_by_hook_is_not_counted(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);
	struct recorder r;

	hook_recorder(h, &r);
	r.claim = true;
	do_free(h, 1, P1, 1);
	do_realloc(h, 2, P2, P3, 10, 1);
	assert_int_equal(t->unknown_frees, 0);
	assert_int_equal(r.n, 3);
	assert_seen(&r, 0, 'u', P1, 0);
	assert_true(r.calls[0].by_free);
	assert_seen(&r, 1, 'u', P2, 0);
	assert_false(r.calls[1].by_free);
	assert_int_equal(r.calls[1].rc_ptr, P3);
	assert_seen(&r, 2, 'a', P3, 10);
	assert_consistent(h);
}

static void test_heap__unknown_release_not_claimed_is_counted(void **state)
{
	struct heap *h = *state;
	const struct heap_totals *t = heap__totals(h);
	struct recorder r;

	hook_recorder(h, &r);
	do_free(h, 1, P1, 1);
	do_realloc(h, 2, P2, P3, 10, 1);
	do_realloc(h, 3, P1, 0, 0, 1);
	assert_int_equal(t->unknown_frees, 3);
	assert_int_equal(r.n, 4);
	assert_seen(&r, 2, 'a', P3, 10);
	assert_seen(&r, 3, 'u', P1, 0);
	assert_int_equal(r.calls[3].rc_ptr, 0);
	assert_consistent(h);
}

static void test_heap__failed_realloc_calls_no_hook(void **state)
{
	struct heap *h = *state;
	struct recorder r;

	do_malloc(h, 1, P1, 100, 1);
	hook_recorder(h, &r);
	do_realloc(h, 2, P1, 0, 1000, 1);
	do_realloc(h, 3, P2, 0, 1000, 1);
	assert_int_equal(r.n, 0);
	assert_int_equal(heap__totals(h)->unknown_frees, 0);
}

static void test_heap__every_observer_sees_changes_first_claim_wins(void **state)
{
	struct heap *h = *state;
	struct recorder a, b;

	hook_recorder(h, &a);
	hook_recorder(h, &b);
	a.claim = true;
	do_malloc(h, 1, P1, 100, 1);
	do_free(h, 2, P1, 1);
	do_free(h, 3, P2, 1);
	/* both saw the add and the removal; only a was asked about P2 */
	assert_int_equal(a.n, 3);
	assert_int_equal(b.n, 2);
	assert_seen(&b, 0, 'a', P1, 100);
	assert_seen(&b, 1, 'r', P1, 100);
	assert_int_equal(a.calls[2].what, 'u');
	assert_int_equal(heap__totals(h)->unknown_frees, 0);
}

static void test_heap__observers_are_bounded(void **state)
{
	struct heap *h = *state;
	struct heap_hooks none = { 0 };

	for (int i = 0; i < HEAP_MAX_HOOKS; i++)
		assert_int_equal(heap__add_hooks(h, &none), 0);
	assert_int_equal(heap__add_hooks(h, &none), -ENOSPC);
}

/* ----------------------------------------------------------- temporaries */

static const struct heap_thread *thread(const struct heap *h, uint32_t tid)
{
	size_t n, i;
	const struct heap_thread *th = heap__threads(h, &n);

	for (i = 0; i < n; i++)
		if (th[i].tid == tid)
			return &th[i];
	fail_msg("no thread %u", tid);
	return NULL;
}

static void test_heap__free_right_after_alloc_is_temporary(void **state)
{
	struct heap *h = *state;

	do_malloc(h, 1, P1, 100, 5);
	do_free(h, 2, P1, 9);
	assert_int_equal(heap__totals(h)->temporary_allocations, 1);
	/* counted on the allocation's site, not the release's */
	assert_int_equal(site(h, 5)->temporary, 1);
	assert_int_equal(site(h, 9)->temporary, 0);
	assert_int_equal(thread(h, 42)->temporary, 1);
	assert_consistent(h);
}

static void test_heap__free_after_another_alloc_is_not_temporary(void **state)
{
	struct heap *h = *state;

	do_malloc(h, 1, P1, 100, 1);
	do_malloc(h, 2, P2, 10, 1);
	do_free(h, 3, P1, 1);
	assert_int_equal(heap__totals(h)->temporary_allocations, 0);
	/* P2 is still the thread's latest */
	do_free(h, 4, P2, 1);
	assert_int_equal(heap__totals(h)->temporary_allocations, 1);
	assert_consistent(h);
}

static void test_heap__free_by_another_thread_is_not_temporary(void **state)
{
	struct heap *h = *state;

	do_malloc_t(h, 1, 1, P1, 100, 1);
	do_free_t(h, 2, 2, P1, 1);
	assert_int_equal(heap__totals(h)->temporary_allocations, 0);
	assert_consistent(h);
}

static void test_heap__other_threads_allocations_do_not_end_a_temporary(void **state)
{
	struct heap *h = *state;

	do_malloc_t(h, 1, 1, P1, 100, 1);
	do_malloc_t(h, 2, 2, P2, 100, 1);
	do_free_t(h, 2, 3, P3, 1); /* unknown */
	do_free_t(h, 1, 4, P1, 1);
	assert_int_equal(heap__totals(h)->temporary_allocations, 1);
	assert_int_equal(thread(h, 1)->temporary, 1);
	assert_int_equal(thread(h, 2)->temporary, 0);
	assert_consistent(h);
}

static void test_heap__realloc_release_is_not_temporary_but_its_block_can_be(void **state)
{
	struct heap *h = *state;

	do_malloc(h, 1, P1, 100, 1);
	do_realloc(h, 2, P1, P2, 200, 2);
	assert_int_equal(heap__totals(h)->temporary_allocations, 0);
	do_free(h, 3, P2, 1);
	assert_int_equal(heap__totals(h)->temporary_allocations, 1);
	assert_int_equal(site(h, 2)->temporary, 1);
	assert_int_equal(site(h, 1)->temporary, 0);
	/* realloc to the same address then a free */
	do_malloc(h, 4, P1, 100, 1);
	do_realloc(h, 5, P1, P1, 300, 3);
	do_free(h, 6, P1, 1);
	assert_int_equal(site(h, 3)->temporary, 1);
	assert_int_equal(site(h, 1)->temporary, 0);
	/* realloc(p, 0) releasing the latest block is not one either */
	do_malloc(h, 7, P3, 10, 4);
	do_realloc(h, 8, P3, 0, 0, 4);
	assert_int_equal(site(h, 4)->temporary, 0);
	assert_int_equal(heap__totals(h)->temporary_allocations, 2);
	assert_consistent(h);
}

static void test_heap__block_replaced_by_another_thread_is_not_temporary(void **state)
{
	struct heap *h = *state;

	do_malloc_t(h, 1, 1, P1, 100, 1);
	/* thread 2 gets P1 too: thread 1's free of P1 was lost */
	do_malloc_t(h, 2, 2, P1, 50, 2);
	do_free_t(h, 1, 3, P1, 1);
	assert_int_equal(heap__totals(h)->temporary_allocations, 0);
	assert_consistent(h);
}

static void test_heap__failed_allocation_does_not_end_a_temporary(void **state)
{
	struct heap *h = *state;

	do_malloc(h, 1, P1, 100, 1);
	do_malloc(h, 2, 0, 1ull << 50, 1);
	do_free(h, 3, P1, 1);
	assert_int_equal(heap__totals(h)->temporary_allocations, 1);
	assert_consistent(h);
}

static void test_heap__second_free_of_a_temporary_counts_once(void **state)
{
	struct heap *h = *state;

	do_malloc(h, 1, P1, 100, 1);
	do_free(h, 2, P1, 1);
	do_free(h, 3, P1, 1);
	assert_int_equal(heap__totals(h)->temporary_allocations, 1);
	assert_int_equal(heap__totals(h)->unknown_frees, 1);
	assert_consistent(h);
}

/* ------------------------------------------------------------ peak sites */

static void assert_at_peak(const struct heap *h, size_t idx, uint64_t count, uint64_t bytes)
{
	uint64_t c, b;

	heap__site_at_peak(h, idx, &c, &b);
	assert_int_equal(c, count);
	assert_int_equal(b, bytes);
}

static void test_heap__sites_at_peak_are_their_live_blocks_at_the_peak(void **state)
{
	struct heap *h = *state;
	enum { A = 1, B = 2, C = 3, D = 4 };

	do_malloc(h, 1, P1, 100, A);
	do_malloc(h, 2, P2, 50, B);
	assert_at_peak(h, A, 1, 100);
	assert_at_peak(h, B, 1, 50);
	do_free(h, 3, P1, A);
	/* live is 50 now, the peak still 150 */
	assert_at_peak(h, A, 1, 100);
	do_malloc(h, 4, P3, 120, C);
	assert_int_equal(heap__totals(h)->peak_bytes, 170);
	do_free(h, 5, P3, C);
	do_malloc(h, 6, P1, 10, D);
	assert_int_equal(heap__totals(h)->peak_bytes, 170);
	assert_int_equal(heap__totals(h)->peak_ts_ns, 4);
	assert_at_peak(h, A, 0, 0);
	assert_at_peak(h, B, 1, 50);
	assert_at_peak(h, C, 1, 120);
	assert_at_peak(h, D, 0, 0);
	assert_consistent(h);
}

static void test_heap__sites_at_peak_survive_changes_after_the_peak(void **state)
{
	struct heap *h = *state;
	uint64_t i;

	/* peak: site 1 holds 10 x 100, site 2 holds 5 x 200 */
	for (i = 0; i < 10; i++)
		do_malloc(h, i, 0x1000 + i * 0x100, 100, 1);
	for (i = 0; i < 5; i++)
		do_malloc(h, 10 + i, 0x9000 + i * 0x100, 200, 2);
	assert_int_equal(heap__totals(h)->peak_bytes, 2000);
	/* below the peak: free site 1's blocks, churn everywhere */
	for (i = 0; i < 10; i++)
		do_free(h, 20 + i, 0x1000 + i * 0x100, 7);
	for (i = 0; i < 1000; i++) {
		uint32_t s = 1 + i % 5;

		do_malloc(h, 100 + 2 * i, 0x20000, 1 + i % 900, s);
		do_free(h, 101 + 2 * i, 0x20000, s);
	}
	do_free(h, 5000, 0x9000, 2);
	do_malloc(h, 5001, 0x30000, 1000, 3);
	assert_int_equal(heap__totals(h)->peak_bytes, 2000);
	assert_at_peak(h, 1, 10, 1000);
	assert_at_peak(h, 2, 5, 1000);
	assert_at_peak(h, 3, 0, 0);
	assert_at_peak(h, 4, 0, 0);
	assert_at_peak(h, 5, 0, 0);
	/* passing it moves everything to now */
	do_malloc(h, 5002, 0x40000, 1001, 4);
	assert_int_equal(heap__totals(h)->peak_bytes, 2801);
	assert_at_peak(h, 1, 0, 0);
	assert_at_peak(h, 2, 4, 800);
	assert_at_peak(h, 3, 1, 1000);
	assert_at_peak(h, 4, 1, 1001);
	assert_consistent(h);
}

static void test_heap__site_at_peak_of_unused_index_is_zero(void **state)
{
	struct heap *h = *state;

	assert_at_peak(h, 1, 0, 0);
	do_malloc(h, 1, P1, 100, 1);
	assert_at_peak(h, 1, 1, 100);
	assert_at_peak(h, 2, 0, 0);
	assert_at_peak(h, 1u << 30, 0, 0);
}

/* Against a copy of every site taken at each new peak. */
static void test_heap__sites_at_peak_match_a_snapshot_under_random_calls(void **state)
{
	enum { NSITES = 16 };
	struct heap *h = *state;
	uint64_t ref_count[NSITES] = { 0 }, ref_bytes[NSITES] = { 0 };
	uint64_t rng = 0x9e3779b97f4a7c15ull, peak = 0;
	int i, k;

	for (i = 0; i < 20000; i++) {
		uint64_t p, q, size;
		uint32_t stack, tid;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		p = 16 + (rng % 128) * 16;
		q = 16 + (rng >> 8) % 128 * 16;
		size = (rng >> 16) % 300;
		stack = (rng >> 40) % NSITES;
		tid = 1 + (rng >> 48) % 4;
		switch ((rng >> 32) % 5) {
		case 0:
		case 1:
			do_malloc_t(h, tid, i, p, size, stack);
			break;
		case 2:
			do_realloc_t(h, tid, i, p, q, size, stack);
			break;
		default:
			do_free_t(h, tid, i, p, stack);
			break;
		}
		if (heap__totals(h)->peak_bytes > peak) {
			peak = heap__totals(h)->peak_bytes;
			for (k = 0; k < NSITES; k++) {
				ref_count[k] = site(h, k)->live_count;
				ref_bytes[k] = site(h, k)->live_bytes;
			}
		}
		if (i % 97 == 0) {
			for (k = 0; k < NSITES; k++)
				assert_at_peak(h, k, ref_count[k], ref_bytes[k]);
		}
	}
	for (k = 0; k < NSITES; k++)
		assert_at_peak(h, k, ref_count[k], ref_bytes[k]);
	assert_consistent(h);
}

/* ---------------------------------------------------------------- threads */

static void test_heap__threads_listed_in_order_of_first_appearance(void **state)
{
	struct heap *h = *state;
	const struct heap_thread *th;
	size_t n;

	th = heap__threads(h, &n);
	assert_int_equal(n, 0);
	do_malloc_t(h, 30, 1, P1, 10, 1);
	do_free_t(h, 10, 2, P2, 1);            /* unknown free: still appears */
	do_malloc_t(h, 20, 3, 0, 1ull << 50, 1); /* failed: appears too */
	do_malloc_t(h, 30, 4, P3, 10, 1);
	th = heap__threads(h, &n);
	assert_int_equal(n, 3);
	assert_int_equal(th[0].tid, 30);
	assert_int_equal(th[1].tid, 10);
	assert_int_equal(th[2].tid, 20);
	assert_consistent(h);
}

static void test_heap__thread_counters_split_allocating_and_releasing_thread(void **state)
{
	struct heap *h = *state;

	do_malloc_t(h, 1, 1, P1, 100, 1);
	do_malloc_t(h, 1, 2, P2, 30, 1);
	do_realloc_t(h, 2, 3, P2, P3, 60, 1);
	do_free_t(h, 3, 4, P1, 1);
	/* thread 1 made P1 and P2; thread 2 released P2 and made P3 */
	assert_int_equal(thread(h, 1)->allocations, 2);
	assert_int_equal(thread(h, 1)->bytes, 130);
	assert_int_equal(thread(h, 1)->frees, 0);
	assert_int_equal(thread(h, 1)->live_count, 0);
	assert_int_equal(thread(h, 1)->live_bytes, 0);
	assert_int_equal(thread(h, 2)->allocations, 1);
	assert_int_equal(thread(h, 2)->bytes, 60);
	assert_int_equal(thread(h, 2)->frees, 1);
	assert_int_equal(thread(h, 2)->live_count, 1);
	assert_int_equal(thread(h, 2)->live_bytes, 60);
	assert_int_equal(thread(h, 3)->allocations, 0);
	assert_int_equal(thread(h, 3)->frees, 1);
	assert_int_equal(thread(h, 3)->live_count, 0);
	assert_consistent(h);
}

static void test_heap__many_threads_keep_their_counters(void **state)
{
	struct heap *h = *state;
	const struct heap_thread *th;
	size_t n;
	uint32_t i;

	for (i = 0; i < 1000; i++)
		do_malloc_t(h, 5000 + i * 7, i, 0x10000 + i * 16, i + 1, 1);
	for (i = 0; i < 1000; i += 2)
		do_free_t(h, 5000 + i * 7, 2000 + i, 0x10000 + i * 16, 1);
	th = heap__threads(h, &n);
	assert_int_equal(n, 1000);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(th[i].tid, 5000 + i * 7);
		assert_int_equal(th[i].allocations, 1);
		assert_int_equal(th[i].bytes, i + 1);
		assert_int_equal(th[i].live_count, i % 2);
		assert_int_equal(th[i].frees, 1 - i % 2);
		assert_int_equal(th[i].temporary, 1 - i % 2);
	}
	assert_consistent(h);
}

/* ------------------------------------------------------- thread x stack */

static const struct heap_thread_site *pair(const struct heap *h, uint32_t tid, uint32_t stack)
{
	size_t n, i;
	const struct heap_thread_site *p = heap__thread_sites(h, &n);

	assert_non_null(p);
	for (i = 0; i < n; i++)
		if (p[i].tid == tid && p[i].stack == stack)
			return &p[i];
	fail_msg("no pair (%u, %u)", tid, stack);
	return NULL;
}

static void assert_pair(const struct heap *h, uint32_t tid, uint32_t stack, uint64_t allocations,
			uint64_t bytes, uint64_t live_count, uint64_t live_bytes, uint64_t temporary)
{
	assert_sum(pair(h, tid, stack), allocations, bytes, live_count, live_bytes, temporary);
}

static void test_heap__thread_sites_split_a_shared_stack_by_thread(void **state)
{
	struct heap *h = *state;
	size_t n;

	do_malloc_t(h, 1, 1, P1, 100, 7);
	do_malloc_t(h, 2, 2, P2, 30, 7);
	do_malloc_t(h, 1, 3, P3, 5, 7);
	do_free_t(h, 1, 4, P3, 9);        /* thread 1's latest: temporary */
	do_malloc_t(h, 1, 5, P3, 8, 3);
	assert_non_null(heap__thread_sites(h, &n));
	assert_int_equal(n, 3);
	assert_pair(h, 1, 7, 2, 105, 1, 100, 1);
	assert_pair(h, 2, 7, 1, 30, 1, 30, 0);
	assert_pair(h, 1, 3, 1, 8, 1, 8, 0);
	assert_consistent(h);
}

static void test_heap__thread_sites_keep_blocks_freed_by_another_thread_on_the_allocator(void **state)
{
	struct heap *h = *state;

	do_malloc_t(h, 1, 1, P1, 100, 7);
	do_malloc_t(h, 1, 2, P2, 40, 7);
	do_free_t(h, 2, 3, P2, 9);           /* not thread 1's release: not temporary */
	do_realloc_t(h, 3, 4, P1, P3, 60, 8); /* thread 3 moves thread 1's block */
	assert_pair(h, 1, 7, 2, 140, 0, 0, 0);
	assert_pair(h, 3, 8, 1, 60, 1, 60, 0);
	/* releasing threads get no pair */
	{
		size_t n, i;
		const struct heap_thread_site *p = heap__thread_sites(h, &n);

		for (i = 0; i < n; i++)
			assert_int_not_equal(p[i].tid, 2);
	}
	/* a block replaced at its address leaves its allocating thread's pair */
	do_malloc_t(h, 4, 5, P3, 10, 8);
	assert_pair(h, 3, 8, 1, 60, 0, 0, 0);
	assert_pair(h, 4, 8, 1, 10, 1, 10, 0);
	assert_consistent(h);
}

static void test_heap__thread_sites_weigh_sampled_blocks_as_sites(void **state)
{
	struct heap *h = *state;
	struct alloc_call c = { .fn = MS_FN_MALLOC, .tid = 1, .ts_ns = 1, .ptr = P1, .size = 100,
				.stack = 7 };
	struct sample_weight w1, w2, w3;

	heap__set_sample_bytes(h, 4096);
	heap__weigh(h, &c, &w1);
	heap__alloc(h, &c);
	c = (struct alloc_call){ .fn = MS_FN_MALLOC, .tid = 2, .ts_ns = 2, .ptr = P2, .size = 3000,
				 .stack = 7 };
	heap__weigh(h, &c, &w2);
	heap__alloc(h, &c);
	c = (struct alloc_call){ .fn = MS_FN_MALLOC, .tid = 1, .ts_ns = 3, .ptr = P3, .size = 16,
				 .stack = 7 };
	heap__weigh(h, &c, &w3);
	heap__alloc(h, &c);
	/* a sampled 100-byte block stands for more than itself */
	assert_true(w1.count > 1 && w1.bytes > 100);
	/* BPF saw that P3 was thread 1's last allocation */
	do_free_tf(h, 1, 4, P3, 9, MS_EVF_LAST_ALLOC);
	assert_pair(h, 1, 7, w1.count + w3.count, w1.bytes + w3.bytes, w1.count, w1.bytes,
		    w3.count);
	assert_pair(h, 2, 7, w2.count, w2.bytes, w2.count, w2.bytes, 0);
	do_free_t(h, 3, 5, P1, 9);
	assert_pair(h, 1, 7, w1.count + w3.count, w1.bytes + w3.bytes, 0, 0, w3.count);
	/* not assert_consistent(): under sampling the live table holds fewer blocks */
	assert_thread_sites_consistent(h);
}

/*
 * Sampled, the loader sees too few allocations to tell a thread's last one:
 * a release is temporary when BPF says so (MS_EVF_LAST_ALLOC), and not when
 * it does not, whatever the loader saw last.
 */
static void test_heap__sampled_temporary_only_when_bpf_marks_the_last_allocation(void **state)
{
	struct heap *h = *state;
	struct alloc_call c = { .fn = MS_FN_MALLOC, .tid = 1, .ts_ns = 1, .ptr = P1, .size = 1 << 20,
				.stack = 7 };
	struct sample_weight w;

	heap__set_sample_bytes(h, 4096);
	heap__weigh(h, &c, &w);
	heap__alloc(h, &c);
	/* unsampled allocations came between: not temporary */
	do_free_tf(h, 1, 2, P1, 9, 0);
	assert_int_equal(heap__totals(h)->temporary_allocations, 0);
	c.ts_ns = 3;
	c.ptr = P2;
	heap__alloc(h, &c);
	do_free_tf(h, 1, 4, P2, 9, MS_EVF_LAST_ALLOC);
	assert_int_equal(heap__totals(h)->temporary_allocations, w.count);
}

static void test_heap__thread_sites_over_the_cap_are_dropped_not_partial(void **state)
{
	struct heap *h = *state;
	size_t n;

	heap__set_max_thread_sites(h, 2);
	do_malloc_t(h, 1, 1, P1, 100, 7);
	do_malloc_t(h, 2, 2, P2, 30, 7);
	do_malloc_t(h, 1, 3, P3, 5, 7); /* an existing pair: still under the cap */
	assert_non_null(heap__thread_sites(h, &n));
	assert_int_equal(n, 2);
	assert_pair(h, 1, 7, 2, 105, 2, 105, 0);
	do_malloc_t(h, 3, 4, 0x1000, 1, 7); /* a third pair */
	assert_null(heap__thread_sites(h, &n));
	assert_int_equal(n, 0);
	/* blocks made before and after keep every other counter right */
	do_free_t(h, 1, 5, P1, 9);
	do_free_t(h, 3, 6, 0x1000, 9);
	do_malloc_t(h, 4, 7, P1, 9, 8);
	assert_null(heap__thread_sites(h, &n));
	assert_int_equal(thread(h, 1)->live_count, 1);
	assert_int_equal(thread(h, 3)->temporary, 1);
	assert_int_equal(site(h, 7)->live_count, 2);
	assert_consistent(h);
}

/* ------------------------------------------------------------- histograms */

static void test_heap__hist_bucket_is_bit_length(void **state)
{
	assert_int_equal(heap_hist__bucket(0), 0);
	assert_int_equal(heap_hist__bucket(1), 1);
	assert_int_equal(heap_hist__bucket(2), 2);
	assert_int_equal(heap_hist__bucket(3), 2);
	assert_int_equal(heap_hist__bucket(4), 3);
	assert_int_equal(heap_hist__bucket(7), 3);
	assert_int_equal(heap_hist__bucket(8), 4);
	assert_int_equal(heap_hist__bucket(1023), 10);
	assert_int_equal(heap_hist__bucket(1024), 11);
	assert_int_equal(heap_hist__bucket((1ull << 63) - 1), 63);
	assert_int_equal(heap_hist__bucket(1ull << 63), 64);
	assert_int_equal(heap_hist__bucket(UINT64_MAX), 64);
}

static void test_heap__size_hist_counts_successful_allocations(void **state)
{
	struct heap *h = *state;
	const struct heap_hist *hist = heap__size_hist(h);

	do_malloc(h, 1, P1, 0, 1);
	do_malloc(h, 2, P2, 3, 1);
	do_realloc(h, 3, P2, P3, 4096, 1);
	do_malloc(h, 4, 0, 100, 1);            /* failed */
	do_realloc(h, 5, P3, 0, 1ull << 40, 1); /* failed */
	do_free(h, 6, P1, 1);
	assert_int_equal(hist->count[0], 1);
	assert_int_equal(hist->count[2], 1);
	assert_int_equal(hist->count[13], 1);
	assert_int_equal(hist->count[7], 0);
	assert_int_equal(hist_sum(hist), 3);
	assert_consistent(h);
}

static void test_heap__lifetime_hist_counts_released_blocks_in_microseconds(void **state)
{
	struct heap *h = *state;
	const struct heap_hist *hist = heap__lifetime_hist(h);

	do_malloc(h, 1000, P1, 10, 1);
	do_free(h, 1999, P1, 1);             /* 0.999 us: 0 */
	do_malloc(h, 10000, P1, 10, 1);
	do_free(h, 13000, P1, 1);            /* 3 us */
	do_malloc(h, 20000, P2, 10, 1);
	do_realloc(h, 1020000, P2, P3, 20, 1); /* realloc'ed away after 1000 us */
	do_malloc(h, 2000000, P1, 10, 1);
	do_malloc(h, 2064000, P1, 10, 2);     /* replaced after 64 us */
	assert_int_equal(hist->count[0], 1);
	assert_int_equal(hist->count[2], 1);
	assert_int_equal(hist->count[10], 1);
	assert_int_equal(hist->count[7], 1);
	assert_int_equal(hist_sum(hist), 4);
	assert_consistent(h);
}

/* ---------------------------------------------------------------- windows */

static void assert_window(const struct heap_window *w, uint32_t stack, uint32_t ab,
			  uint32_t fb, uint64_t count, uint64_t bytes)
{
	assert_int_equal(w->stack, stack);
	assert_int_equal(w->alloc_bucket, ab);
	assert_int_equal(w->free_bucket, fb);
	assert_int_equal(w->count, count);
	assert_int_equal(w->bytes, bytes);
}

static void test_heap__windows_count_releases_by_alloc_and_free_bucket(void **state)
{
	struct heap *h = *state;
	const struct heap_window *w;
	uint64_t bucket_ns, origin_ns;
	size_t n;

	heap__set_window_origin(h, 1000, 100);
	do_malloc(h, 500, 0x100, 7, 2);   /* before the origin: bucket 0 */
	do_free(h, 900, 0x100, 2);
	do_malloc(h, 1050, P1, 100, 1);
	do_free(h, 1250, P1, 1);
	do_malloc(h, 1100, P2, 50, 1);
	do_malloc(h, 1199, P3, 30, 1);
	do_free(h, 1290, P2, 1);
	do_free(h, 1200, P3, 1);
	do_malloc(h, 1300, P1, 1000, 1);  /* live: not a window */
	w = heap__windows(h, &n, &bucket_ns, &origin_ns);
	assert_int_equal(bucket_ns, 100);
	assert_int_equal(origin_ns, 1000);
	assert_int_equal(n, 3);
	/* sorted by stack, then buckets */
	assert_window(&w[0], 1, 0, 2, 1, 100);
	assert_window(&w[1], 1, 1, 2, 2, 80);
	assert_window(&w[2], 2, 0, 0, 1, 7);
	assert_int_equal(heap__window_bucket(h, 1300), 3);
	assert_int_equal(heap__window_bucket(h, 999), 0);
	assert_int_equal(heap__window_bucket(h, 0), 0);
	assert_consistent(h);
}

static void test_heap__window_origin_defaults_to_first_event_and_100ms(void **state)
{
	struct heap *h = *state;
	const struct heap_window *w;
	uint64_t bucket_ns, origin_ns;
	size_t n;

	do_free(h, 5000000000ull, P2, 1); /* unknown, but the first event */
	do_malloc(h, 5100000000ull, P1, 10, 1);
	do_free(h, 5350000000ull, P1, 1);
	w = heap__windows(h, &n, &bucket_ns, &origin_ns);
	assert_int_equal(origin_ns, 5000000000ull);
	assert_int_equal(bucket_ns, 100000000ull);
	assert_int_equal(n, 1);
	assert_window(&w[0], 1, 1, 3, 1, 10);
	assert_consistent(h);
}

static void test_heap__windows_double_width_and_merge_past_max_buckets(void **state)
{
	struct heap *h = *state;
	const struct heap_window *w;
	uint64_t bucket_ns;
	size_t n;

	heap__set_window_origin(h, 0, 10);
	do_malloc(h, 5, P1, 1, 1);
	do_free(h, 15, P1, 1);          /* (1, 0, 1) */
	do_malloc(h, 12, P1, 2, 1);
	do_free(h, 18, P1, 1);          /* (1, 1, 1) */
	do_malloc(h, 25, P1, 4, 1);
	do_free(h, 35, P1, 1);          /* (1, 2, 3) */
	do_malloc(h, 2555, P2, 8, 2);   /* bucket 255: still fits */
	w = heap__windows(h, &n, &bucket_ns, NULL);
	assert_int_equal(bucket_ns, 10);
	assert_int_equal(n, 3);
	do_free(h, 2565, P2, 2);        /* bucket 256: width doubles */
	w = heap__windows(h, &n, &bucket_ns, NULL);
	assert_int_equal(bucket_ns, 20);
	assert_int_equal(n, 3);
	assert_window(&w[0], 1, 0, 0, 2, 3); /* (0,1) and (1,1) merged */
	assert_window(&w[1], 1, 1, 1, 1, 4);
	assert_window(&w[2], 2, 127, 128, 1, 8);
	/* 3 x the span at once: doubles twice more */
	do_malloc(h, 15360, P3, 16, 3);
	w = heap__windows(h, &n, &bucket_ns, NULL);
	assert_int_equal(bucket_ns, 80);
	assert_window(&w[0], 1, 0, 0, 3, 7);
	assert_window(&w[1], 2, 31, 32, 1, 8);
	assert_int_equal(n, 2);
	assert_int_equal(heap__window_bucket(h, 15360), 192);
	assert_consistent(h);
}

/* heap.c's WINDOW_BUDGET */
#define WINDOW_BUDGET (1u << 18)

static void test_heap__windows_double_width_when_entries_pass_the_budget(void **state)
{
	struct heap *h = *state;
	const struct heap_window *w;
	uint64_t bucket_ns, fb, ptr = 0x10000;
	uint32_t stack;
	size_t n, i;

	heap__set_window_origin(h, 0, 1000);
	/* 1024 sites x 256 release buckets: exactly the budget */
	for (fb = 0; fb < 256; fb++) {
		for (stack = 1; stack <= WINDOW_BUDGET / 256; stack++) {
			do_malloc(h, fb * 1000, ptr, 1, stack);
			do_free(h, fb * 1000 + 1, ptr, 1);
		}
	}
	heap__windows(h, &n, &bucket_ns, NULL);
	assert_int_equal(n, WINDOW_BUDGET);
	assert_int_equal(bucket_ns, 1000);
	/* one more: the width doubles and neighbours merge */
	do_malloc(h, 254 * 1000, ptr, 1, 1);
	do_free(h, 255 * 1000, ptr, 1);
	w = heap__windows(h, &n, &bucket_ns, NULL);
	assert_int_equal(bucket_ns, 2000);
	assert_int_equal(n, WINDOW_BUDGET / 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(w[i].alloc_bucket, w[i].free_bucket);
		assert_int_equal(w[i].count,
				 w[i].stack == 1 && w[i].alloc_bucket == 127 ? 3 : 2);
	}
	assert_consistent(h);
	/* the time range still widens the same way */
	do_malloc(h, 512 * 1000, ptr, 1, 1);
	do_free(h, 512 * 1000, ptr, 1);
	heap__windows(h, &n, &bucket_ns, NULL);
	assert_int_equal(bucket_ns, 4000);
	assert_int_equal(n, WINDOW_BUDGET / 4 + 1);
	assert_consistent(h);
}

/* entries that differ by site only cannot merge: the budget grows instead */
static void test_heap__windows_of_one_moment_keep_their_width_past_the_budget(void **state)
{
	struct heap *h = *state;
	uint64_t bucket_ns;
	uint32_t stack;
	size_t n;

	for (stack = 1; stack <= WINDOW_BUDGET + 1; stack++) {
		do_malloc(h, 1000 + stack, 0x10000, 1, stack);
		do_free(h, 1000 + stack, 0x10000, 1);
	}
	heap__windows(h, &n, &bucket_ns, NULL);
	assert_int_equal(n, WINDOW_BUDGET + 1);
	assert_int_equal(bucket_ns, 100000000);
	assert_consistent(h);
}

static void test_heap__any_call_keeps_window_buckets_in_range(void **state)
{
	struct heap *h = *state;
	uint64_t bucket_ns;
	size_t n;

	heap__set_window_origin(h, 0, 1);
	do_malloc(h, 1000000, P1, 1, 1); /* an allocation widens too */
	heap__windows(h, &n, &bucket_ns, NULL);
	assert_int_equal(n, 0);
	assert_int_equal(bucket_ns, 4096);
	assert_true(heap__window_bucket(h, 1000000) < HEAP_WINDOW_MAX_BUCKETS);
	/* the far end of the clock still ends */
	do_malloc(h, UINT64_MAX, P2, 1, 1);
	do_free(h, UINT64_MAX, P2, 1);
	assert_true(heap__window_bucket(h, UINT64_MAX) < HEAP_WINDOW_MAX_BUCKETS);
	assert_consistent(h);
}

/* window_bucket() divides by multiplying: check it against '/' */
static void test_heap__window_bucket_is_exact_division(void **state)
{
	static const uint64_t widths[] = {
		1, 3, 7, 10, 100000000ull, 123456789ull, (1ull << 40) + 1, 1ull << 50,
		(1ull << 55) - 1,
	};
	uint64_t rng = 12345;
	size_t i;
	int k;

	for (i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		struct heap *h = heap__new(0);
		uint64_t origin = 1000, d = widths[i];

		heap__set_window_origin(h, origin, d);
		for (k = 0; k < 20000; k++) {
			uint64_t x;

			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			x = k < 512 ? (k / 2) * d - (k % 2) : rng % (256 * d);
			if (x >= 256 * d)
				continue;
			assert_int_equal(heap__window_bucket(h, origin + x), x / d);
		}
		heap__free(h);
	}
}

/* Several threads, hooks installed, random calls: every total agrees. */
static void test_heap__everything_consistent_under_random_threaded_calls(void **state)
{
	struct heap *h = *state;
	struct recorder r;
	uint64_t rng = 0x1234567887654321ull, added = 0;
	int i, k;

	hook_recorder(h, &r);
	for (i = 0; i < 30000; i++) {
		uint64_t p, q, size;
		uint32_t tid, stack;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		p = 16 + (rng % 256) * 16;
		q = 16 + (rng >> 8) % 256 * 16;
		size = (rng >> 16) % 5000;
		tid = 100 + (rng >> 48) % 8;
		stack = (rng >> 40) % 32;
		r.n = 0;
		switch ((rng >> 32) % 4) {
		case 0:
			do_malloc_t(h, tid, i * 1000ull, p, size, stack);
			break;
		case 1:
			do_realloc_t(h, tid, i * 1000ull, p, (rng >> 60) ? q : 0, size, stack);
			break;
		default:
			do_free_t(h, tid, i * 1000ull, p, stack);
			break;
		}
		for (k = 0; k < r.n; k++)
			added += r.calls[k].what == 'a';
		if (i % 1000 == 0)
			assert_consistent(h);
	}
	assert_int_equal(added, heap__totals(h)->allocations);
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
		T(test_heap__hooks_see_blocks_added_and_removed),
		T(test_heap__realloc_release_is_removed_with_the_realloc_call),
		T(test_heap__replaced_block_is_removed_with_the_replacing_call),
		T(test_heap__unknown_release_claimed_by_hook_is_not_counted),
		T(test_heap__unknown_release_not_claimed_is_counted),
		T(test_heap__failed_realloc_calls_no_hook),
		T(test_heap__every_observer_sees_changes_first_claim_wins),
		T(test_heap__observers_are_bounded),
		T(test_heap__free_right_after_alloc_is_temporary),
		T(test_heap__free_after_another_alloc_is_not_temporary),
		T(test_heap__free_by_another_thread_is_not_temporary),
		T(test_heap__other_threads_allocations_do_not_end_a_temporary),
		T(test_heap__realloc_release_is_not_temporary_but_its_block_can_be),
		T(test_heap__block_replaced_by_another_thread_is_not_temporary),
		T(test_heap__failed_allocation_does_not_end_a_temporary),
		T(test_heap__second_free_of_a_temporary_counts_once),
		T(test_heap__sites_at_peak_are_their_live_blocks_at_the_peak),
		T(test_heap__sites_at_peak_survive_changes_after_the_peak),
		T(test_heap__site_at_peak_of_unused_index_is_zero),
		T(test_heap__sites_at_peak_match_a_snapshot_under_random_calls),
		T(test_heap__threads_listed_in_order_of_first_appearance),
		T(test_heap__thread_counters_split_allocating_and_releasing_thread),
		T(test_heap__many_threads_keep_their_counters),
		T(test_heap__thread_sites_split_a_shared_stack_by_thread),
		T(test_heap__thread_sites_keep_blocks_freed_by_another_thread_on_the_allocator),
		T(test_heap__thread_sites_weigh_sampled_blocks_as_sites),
		T(test_heap__sampled_temporary_only_when_bpf_marks_the_last_allocation),
		T(test_heap__thread_sites_over_the_cap_are_dropped_not_partial),
		T(test_heap__hist_bucket_is_bit_length),
		T(test_heap__size_hist_counts_successful_allocations),
		T(test_heap__lifetime_hist_counts_released_blocks_in_microseconds),
		T(test_heap__windows_count_releases_by_alloc_and_free_bucket),
		T(test_heap__window_origin_defaults_to_first_event_and_100ms),
		T(test_heap__windows_double_width_and_merge_past_max_buckets),
		T(test_heap__windows_double_width_when_entries_pass_the_budget),
		T(test_heap__windows_of_one_moment_keep_their_width_past_the_budget),
		T(test_heap__any_call_keeps_window_buckets_in_range),
		T(test_heap__window_bucket_is_exact_division),
		T(test_heap__everything_consistent_under_random_threaded_calls),
		cmocka_unit_test(test_heap__free_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
