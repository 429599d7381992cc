// SPDX-License-Identifier: MIT
/* Decoding of ring-buffer records into allocation and release calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "events.h"
#include "model.h"
#include "heap.h"
#include "stacks.h"


/* A model as the session makes one, small. */
static struct model *test_model(void)
{
	struct model_opts mo = { .sz = sizeof(mo), .live_hint = 16, .freed_capacity = 64,
				 .interval_ns = 1000000 };

	return model__new(&mo);
}

/* A sink for records one at a time (no batching). */
static struct event_sink plain_sink(void)
{
	return (struct event_sink){ .model = test_model() };
}

static struct ms_ev_alloc alloc_ev(uint8_t fn, uint64_t ret, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct ms_ev_alloc e = {
		.type = MS_EV_ALLOC, .fn = fn, .tid = 7, .ts_ns = 1000, .ret = ret,
		.args = { a0, a1, a2 }, .caller = 0x401000,
	};

	return e;
}

static void test_events__calloc_size_is_count_times_size(void **state)
{
	struct ms_ev_alloc e = alloc_ev(MS_FN_CALLOC, 0x1000, 10, 20, 99);
	struct alloc_call c;

	events__decode_alloc(&e, &c);
	assert_int_equal(c.size, 200);
	assert_int_equal(c.ptr, 0x1000);
	assert_false(c.is_realloc);
	assert_int_equal(c.tid, 7);
	assert_int_equal(c.ts_ns, 1000);
}

static void test_events__calloc_overflow_saturates(void **state)
{
	struct ms_ev_alloc e = alloc_ev(MS_FN_CALLOC, 0, UINT64_MAX / 2, 3, 0);
	struct alloc_call c;

	events__decode_alloc(&e, &c);
	assert_int_equal(c.size, UINT64_MAX);
	assert_int_equal(c.ptr, 0);
}

static void test_events__realloc_and_reallocarray_carry_old_pointer(void **state)
{
	struct ms_ev_alloc e = alloc_ev(MS_FN_REALLOC, 0x2000, 0x1000, 300, 0);
	struct alloc_call c;

	events__decode_alloc(&e, &c);
	assert_true(c.is_realloc);
	assert_int_equal(c.old_ptr, 0x1000);
	assert_int_equal(c.size, 300);

	e = alloc_ev(MS_FN_REALLOCARRAY, 0x2000, 0x1000, 4, 25);
	events__decode_alloc(&e, &c);
	assert_true(c.is_realloc);
	assert_int_equal(c.old_ptr, 0x1000);
	assert_int_equal(c.size, 100);
}

static void test_events__aligned_functions_split_alignment_and_size(void **state)
{
	struct ms_ev_alloc e = alloc_ev(MS_FN_POSIX_MEMALIGN, 0x3000, 0x7ffe0000, 64, 1000);
	struct alloc_call c;

	events__decode_alloc(&e, &c);
	assert_int_equal(c.align, 64);
	assert_int_equal(c.size, 1000);
	assert_int_equal(c.ptr, 0x3000);

	e = alloc_ev(MS_FN_ALIGNED_ALLOC, 0x3000, 128, 512, 0);
	events__decode_alloc(&e, &c);
	assert_int_equal(c.align, 128);
	assert_int_equal(c.size, 512);

	e = alloc_ev(MS_FN_MEMALIGN, 0x3000, 32, 48, 0);
	events__decode_alloc(&e, &c);
	assert_int_equal(c.align, 32);
	assert_int_equal(c.size, 48);

	e = alloc_ev(MS_FN_NEW_ARRAY_ALIGNED, 0x3000, 4096, 256, 0);
	events__decode_alloc(&e, &c);
	assert_int_equal(c.size, 4096);
	assert_int_equal(c.align, 256);
}

static void test_events__malloc_and_new_take_first_argument(void **state)
{
	uint8_t fns[] = { MS_FN_MALLOC, MS_FN_VALLOC, MS_FN_PVALLOC, MS_FN_NEW,
			  MS_FN_NEW_NOTHROW, MS_FN_NEW_ARRAY, MS_FN_NEW_ARRAY_NOTHROW };

	for (size_t i = 0; i < sizeof(fns); i++) {
		struct ms_ev_alloc e = alloc_ev(fns[i], 0x5000, 77, 1, 2);
		struct alloc_call c;

		events__decode_alloc(&e, &c);
		assert_int_equal(c.size, 77);
		assert_int_equal(c.align, 0);
		assert_int_equal(c.fn, fns[i]);
	}
}

static void test_events__free_record_decodes(void **state)
{
	struct ms_ev_free e = { .type = MS_EV_FREE, .fn = MS_FN_DELETE_ARRAY, .tid = 9,
				.ts_ns = 55, .ptr = 0xabc };
	struct free_call c;

	events__decode_free(&e, &c);
	assert_int_equal(c.fn, MS_FN_DELETE_ARRAY);
	assert_int_equal(c.tid, 9);
	assert_int_equal(c.ts_ns, 55);
	assert_int_equal(c.ptr, 0xabc);
}

static void test_events__dispatch_applies_stack_then_alloc_and_free(void **state)
{
	struct event_sink s = plain_sink();
	struct ms_ev_stack st = { .type = MS_EV_STACK, .nframes = 2, .hash = 0x42,
				  .ips = { 0x401234, 0x401500 } };
	struct ms_ev_alloc a = alloc_ev(MS_FN_MALLOC, 0x9000, 100, 0, 0);
	struct ms_ev_free f = { .type = MS_EV_FREE, .fn = MS_FN_FREE, .ptr = 0x9000, .ts_ns = 2000 };
	const struct live_block *b;

	a.stack = 0x42;
	handle_event(&s, &st, MS_EV_STACK_HDR + 2 * 8);
	handle_event(&s, &a, sizeof(a));
	/* read ahead: not applied until flushed or pushed out */
	assert_null(live_table__get(heap__live(s.model->heap), 0x9000));
	model__flush(s.model);
	b = live_table__get(heap__live(s.model->heap), 0x9000);
	assert_non_null(b);
	assert_int_equal(b->stack, stack_table__find(s.model->stacks, 0x42));
	assert_int_equal(stack_table__get(s.model->stacks, b->stack)->nframes, 2);
	handle_event(&s, &f, sizeof(f));
	model__flush(s.model);
	assert_int_equal(heap__totals(s.model->heap)->live_allocations, 0);
	assert_int_equal(s.model->events, 2);
	assert_int_equal(s.malformed, 0);
	model__free(s.model);
}

/*
 * Read-ahead keeps the stream's order: allocations applied MODEL_READ_AHEAD
 * records late, and any other record (here a stack) applies the queue
 * first, so an allocation before a stack's record still falls back to its
 * caller and one after it gets the stack.
 */
static void test_events__queued_calls_apply_in_order_before_other_records(void **state)
{
	struct event_sink s = plain_sink();
	struct ms_ev_stack st = { .type = MS_EV_STACK, .nframes = 1, .hash = 0x77,
				  .ips = { 0x401234 } };
	struct ms_ev_alloc a = alloc_ev(MS_FN_MALLOC, 0, 10, 0, 0);
	struct ms_ev_free f = { .type = MS_EV_FREE, .fn = MS_FN_FREE, .tid = 7 };
	unsigned i;

	a.stack = 0x77;
	a.caller = 0x401111;
	for (i = 0; i < MODEL_READ_AHEAD + 3; i++) {
		a.ret = 0x9000 + i * 16;
		a.ts_ns = i;
		handle_event(&s, &a, sizeof(a));
	}
	/* all but the last MODEL_READ_AHEAD applied */
	assert_int_equal(s.model->events, 3);
	assert_int_equal(heap__totals(s.model->heap)->allocations, 3);
	/* freed right after its allocation, in the same queue */
	f.ptr = 0x9000 + (MODEL_READ_AHEAD + 2) * 16;
	handle_event(&s, &f, sizeof(f));
	handle_event(&s, &st, MS_EV_STACK_HDR + 8);
	assert_int_equal(s.model->events, MODEL_READ_AHEAD + 4);
	assert_int_equal(heap__totals(s.model->heap)->live_allocations, MODEL_READ_AHEAD + 2);
	assert_int_equal(heap__totals(s.model->heap)->temporary_allocations, 1);
	/* before the stack's record: the caller's one-frame stack */
	assert_int_equal(stack_table__get(s.model->stacks, live_table__get(heap__live(s.model->heap), 0x9000)->stack)->ips[0],
			 0x401111);
	a.ret = 0x8000;
	handle_event(&s, &a, sizeof(a));
	model__flush(s.model);
	assert_int_equal(live_table__get(heap__live(s.model->heap), 0x8000)->stack,
			 stack_table__find(s.model->stacks, 0x77));
	assert_int_equal(s.model->qlen, 0);
	model__free(s.model);
}

static void test_events__short_or_unknown_records_are_counted_not_applied(void **state)
{
	struct event_sink s = plain_sink();
	struct ms_ev_alloc a = alloc_ev(MS_FN_MALLOC, 0x9000, 100, 0, 0);
	struct ms_ev_stack st = { .type = MS_EV_STACK, .nframes = 5, .hash = 1 };
	uint8_t junk[4] = { 99, 0, 0, 0 };

	handle_event(&s, &a, sizeof(a) - 1);
	handle_event(&s, junk, sizeof(junk));
	handle_event(&s, junk, 0);
	/* claims 5 frames, carries 2 */
	handle_event(&s, &st, MS_EV_STACK_HDR + 2 * 8);
	st.nframes = MS_MAX_FRAMES + 1;
	handle_event(&s, &st, sizeof(st));
	assert_int_equal(s.malformed, 5);
	assert_int_equal(heap__totals(s.model->heap)->allocations, 0);
	assert_int_equal(stack_table__find(s.model->stacks, 1), STACK_NONE);
	model__free(s.model);
}

/* A sink for batched records, as session.c makes it when batching. */
static struct event_sink ordered_sink(void)
{
	return (struct event_sink){ .model = test_model(), .ordered = true };
}

static void sink_free(struct event_sink *s)
{
	events__free(s);
	model__free(s->model);
}

/* A batch of one thread, records at the given times: odd ptr = free of ptr - 1. */
static struct ms_ev_batch batch_of(uint32_t tid, const uint64_t *ts, const uint64_t *ptr, unsigned n)
{
	struct ms_ev_batch b = { .type = MS_EV_BATCH, .n = n, .tid = tid };

	for (unsigned i = 0; i < n; i++) {
		if (ptr[i] & 1) {
			b.slots[i].f = (struct ms_ev_free){ .type = MS_EV_FREE, .fn = MS_FN_FREE,
							    .tid = tid, .ts_ns = ts[i],
							    .ptr = ptr[i] - 1, .caller = 0x401000 };
		} else {
			b.slots[i].a = alloc_ev(MS_FN_MALLOC, ptr[i], 16, 0, 0);
			b.slots[i].a.tid = tid;
			b.slots[i].a.ts_ns = ts[i];
		}
	}
	return b;
}

static void test_events__batches_of_threads_apply_in_time_order(void **state)
{
	struct event_sink s = ordered_sink();
	/* thread 2's batch comes first: it frees 0xa000, which thread 1 allocated
	 * before, and allocates 0xb000, which thread 1 frees after */
	uint64_t ts2[] = { 30, 40 }, p2[] = { 0xa001, 0xb000 };
	uint64_t ts1[] = { 10, 50 }, p1[] = { 0xa000, 0xb001 };
	struct ms_ev_batch b2 = batch_of(2, ts2, p2, 2), b1 = batch_of(1, ts1, p1, 2);

	handle_event(&s, &b2, sizeof(b2));
	handle_event(&s, &b1, sizeof(b1));
	assert_int_equal(events__pending(&s), 4);
	assert_int_equal(heap__totals(s.model->heap)->allocations, 0);
	events__advance(&s, UINT64_MAX);
	assert_int_equal(events__pending(&s), 0);
	assert_int_equal(heap__totals(s.model->heap)->allocations, 2);
	assert_int_equal(heap__totals(s.model->heap)->frees, 2);
	assert_int_equal(heap__totals(s.model->heap)->unknown_frees, 0);
	assert_int_equal(heap__totals(s.model->heap)->live_allocations, 0);
	assert_int_equal(s.late, 0);
	sink_free(&s);
}

static void test_events__advance_applies_only_records_older_than_until(void **state)
{
	struct event_sink s = ordered_sink();
	uint64_t ts[] = { 10, 20, 30 }, p[] = { 0x1000, 0x2000, 0x3000 };
	struct ms_ev_batch b = batch_of(5, ts, p, 3);

	handle_event(&s, &b, sizeof(b));
	events__advance(&s, 30);
	assert_int_equal(heap__totals(s.model->heap)->allocations, 2);
	assert_int_equal(events__pending(&s), 1);
	events__advance(&s, 31);
	assert_int_equal(heap__totals(s.model->heap)->allocations, 3);
	assert_int_equal(events__pending(&s), 0);

	/* a record older than one applied already still counts, as late */
	ts[0] = 15;
	p[0] = 0x1001;
	b = batch_of(6, ts, p, 1);
	handle_event(&s, &b, sizeof(b));
	events__advance(&s, UINT64_MAX);
	assert_int_equal(heap__totals(s.model->heap)->frees, 1);
	assert_int_equal(s.late, 1);
	sink_free(&s);
}

/*
 * Many threads, their records interleaved in time and their batches sent in
 * reverse: every record is applied in order, and after the queues are
 * emptied (and reused, their tids removed from the table) a second round
 * with other tids is too.
 */
static void test_events__many_threads_merge_in_order_and_queues_are_reused(void **state)
{
	struct event_sink s = ordered_sink();
	enum { THREADS = 300, PER = 3 };

	for (int round = 0; round < 2; round++) {
		for (int t = THREADS - 1; t >= 0; t--) {
			uint64_t ts[PER], p[PER];
			struct ms_ev_batch b;

			for (int k = 0; k < PER; k++) {
				ts[k] = 1000000 * (uint64_t)round + (uint64_t)k * THREADS + t + 1;
				p[k] = 0x100000 * (uint64_t)(round + 1) + 0x100 * (uint64_t)(t * PER + k);
			}
			b = batch_of(round * 100000 + t * 7 + 1, ts, p, PER);
			handle_event(&s, &b, sizeof(b));
		}
		assert_int_equal(events__pending(&s), THREADS * PER);
		events__advance(&s, UINT64_MAX);
		assert_int_equal(events__pending(&s), 0);
		assert_int_equal(heap__totals(s.model->heap)->allocations, (round + 1) * THREADS * PER);
		assert_int_equal(heap__totals(s.model->heap)->live_allocations,
				 (round + 1) * THREADS * PER);
		assert_int_equal(s.late, 0);
	}
	sink_free(&s);
}

static void test_events__malformed_batches_are_counted(void **state)
{
	struct event_sink s = ordered_sink();
	uint64_t ts[] = { 10, 20 }, p[] = { 0x1000, 0x2000 };
	struct ms_ev_batch b = batch_of(5, ts, p, 2);

	handle_event(&s, &b, sizeof(b) - 1);
	b.n = MS_BATCH + 1;
	handle_event(&s, &b, sizeof(b));
	b.n = 2;
	b.slots[1].type = MS_EV_STACK;
	handle_event(&s, &b, sizeof(b));
	events__advance(&s, UINT64_MAX);
	assert_int_equal(s.malformed, 3);
	assert_int_equal(heap__totals(s.model->heap)->allocations, 1);
	sink_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events__calloc_size_is_count_times_size),
		cmocka_unit_test(test_events__calloc_overflow_saturates),
		cmocka_unit_test(test_events__realloc_and_reallocarray_carry_old_pointer),
		cmocka_unit_test(test_events__aligned_functions_split_alignment_and_size),
		cmocka_unit_test(test_events__malloc_and_new_take_first_argument),
		cmocka_unit_test(test_events__free_record_decodes),
		cmocka_unit_test(test_events__dispatch_applies_stack_then_alloc_and_free),
		cmocka_unit_test(test_events__queued_calls_apply_in_order_before_other_records),
		cmocka_unit_test(test_events__short_or_unknown_records_are_counted_not_applied),
		cmocka_unit_test(test_events__batches_of_threads_apply_in_time_order),
		cmocka_unit_test(test_events__advance_applies_only_records_older_than_until),
		cmocka_unit_test(test_events__many_threads_merge_in_order_and_queues_are_reused),
		cmocka_unit_test(test_events__malformed_batches_are_counted),
	};

	return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
