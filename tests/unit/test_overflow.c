/* SPDX-License-Identifier: MIT */
/*
 * The overflow check's rules (model/overflow.h) and the footprint's
 * (model/footprint.h), on hand-made readings: which bytes count, when a
 * finding is made and with which call, how blocks are counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "detect.h"
#include "footprint.h"
#include "heap.h"
#include "memscope_events.h"
#include "overflow.h"

#define P1 0x555555560010ull
#define P2 0x555555560040ull

struct fixture {
	struct heap *h;
	struct detector *d;
	struct overflow_check *o;
	uint64_t ts;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->h = heap__new(0);
	f->d = detector__new(f->h, 64);
	f->o = overflow__new(f->h, f->d, OVERFLOW_READ);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	overflow__free(f->o);
	detector__free(f->d);
	heap__free(f->h);
	free(f);
	return 0;
}

static void alloc(struct fixture *f, uint8_t fn, uint64_t ptr, uint64_t size, uint64_t old)
{
	struct alloc_call c = { .fn = fn, .tid = 1, .ts_ns = ++f->ts, .ptr = ptr, .size = size,
				.old_ptr = old, .stack = 1,
				.is_realloc = fn == MS_FN_REALLOC };

	heap__alloc(f->h, &c);
}

static void release(struct fixture *f, uint64_t ptr)
{
	struct free_call c = { .fn = MS_FN_FREE, .tid = 1, .ts_ns = ++f->ts, .ptr = ptr,
			       .stack = 2 };

	heap__release(f->h, &c);
}

/* A reading of ptr's last 32 usable bytes (usable 40: bytes 8..39), byte i = fill + i. */
static void reading(struct fixture *f, uint8_t kind, uint64_t ptr, uint64_t usable, uint8_t fill)
{
	struct ms_ev_slack e = { .type = MS_EV_SLACK, .kind = kind, .tid = 1, .ts_ns = ++f->ts,
				 .ptr = ptr, .usable = usable, .len = MS_SLACK_WINDOW };

	for (int i = 0; i < MS_SLACK_WINDOW; i++)
		e.bytes[i] = (uint8_t)(fill + i);
	overflow__observe(f->o, &e);
}

/* The reading with the byte at block offset off changed. */
static void reading_changed(struct fixture *f, uint8_t kind, uint64_t ptr, uint64_t usable,
			    uint64_t off, unsigned n)
{
	struct ms_ev_slack e = { .type = MS_EV_SLACK, .kind = kind, .tid = 1, .ts_ns = ++f->ts,
				 .ptr = ptr, .usable = usable, .len = MS_SLACK_WINDOW };

	for (int i = 0; i < MS_SLACK_WINDOW; i++)
		e.bytes[i] = (uint8_t)i;
	for (unsigned k = 0; k < n; k++)
		e.bytes[off + k - (usable - MS_SLACK_WINDOW)] ^= 0xff;
	overflow__observe(f->o, &e);
}

static void test_overflow__changed_slack_is_found_at_release_with_its_size(void **state)
{
	struct fixture *f = *state;
	const struct finding *v;
	size_t n;

	alloc(f, MS_FN_MALLOC, P1, 30, 0);
	reading(f, MS_SLACK_ALLOC, P1, 40, 0);
	/* bytes 30, 31 and 32 of a 30-byte block: 3 past its end */
	reading_changed(f, MS_SLACK_RELEASE, P1, 40, 30, 3);
	detector__findings(f->d, &n);
	assert_int_equal(n, 0); /* not before the release record */
	release(f, P1);
	v = detector__findings(f->d, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].kind, FINDING_HEAP_OVERFLOW);
	assert_int_equal(v[0].fn, MS_FN_FREE);
	assert_int_equal(v[0].stack, 2);
	assert_int_equal(v[0].alloc_stack, 1);
	assert_int_equal(v[0].block_size, 30);
	assert_int_equal(v[0].overflow.changed, 3);
	assert_int_equal(v[0].overflow.reach, 3);
}

static void test_overflow__changes_inside_the_block_are_the_programs(void **state)
{
	struct fixture *f = *state;
	struct overflow_stats st;
	size_t n;

	alloc(f, MS_FN_MALLOC, P1, 30, 0);
	reading(f, MS_SLACK_ALLOC, P1, 40, 0);
	/* bytes 20..29: inside */
	reading_changed(f, MS_SLACK_RELEASE, P1, 40, 20, 10);
	release(f, P1);
	detector__findings(f->d, &n);
	assert_int_equal(n, 0);
	overflow__stats(f->o, &st);
	assert_int_equal(st.blocks, 1);
	assert_int_equal(st.checked, 1);
	assert_int_equal(st.overflowed, 0);
}

static void test_overflow__blocks_without_slack_or_reading_are_counted(void **state)
{
	struct fixture *f = *state;
	struct overflow_stats st;
	size_t n;

	/* fills its usable 40 */
	alloc(f, MS_FN_MALLOC, P1, 40, 0);
	reading(f, MS_SLACK_ALLOC, P1, 40, 0);
	reading_changed(f, MS_SLACK_RELEASE, P1, 40, 39, 1);
	release(f, P1);
	/* its header could not be read */
	alloc(f, MS_FN_MALLOC, P2, 10, 0);
	reading(f, MS_SLACK_ALLOC, P2, 0, 0);
	release(f, P2);
	/* no reading at all, still live */
	alloc(f, MS_FN_MALLOC, P1, 10, 0);
	detector__findings(f->d, &n);
	assert_int_equal(n, 0);
	overflow__stats(f->o, &st);
	assert_int_equal(st.blocks, 3);
	assert_int_equal(st.checked, 0);
	assert_int_equal(st.no_slack, 1);
	assert_int_equal(st.unreadable, 1);
	assert_int_equal(st.not_seen, 1);
}

static void test_overflow__realloc_finds_the_old_blocks_change(void **state)
{
	struct fixture *f = *state;
	const struct finding *v;
	size_t n;

	alloc(f, MS_FN_MALLOC, P1, 20, 0);
	reading(f, MS_SLACK_ALLOC, P1, 40, 0);
	/* realloc's entry reads the old block, its return moves it */
	reading_changed(f, MS_SLACK_RELEASE, P1, 40, 20, 1);
	alloc(f, MS_FN_REALLOC, P2, 200, P1);
	v = detector__findings(f->d, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].fn, MS_FN_REALLOC);
	assert_int_equal(v[0].block_size, 20);
	assert_int_equal(v[0].overflow.changed, 1);
}

static void test_overflow__live_block_changed_at_the_end_is_found_then(void **state)
{
	struct fixture *f = *state;
	struct overflow_stats st;
	const struct finding *v;
	uint64_t ptr = 0, usable = 0;
	size_t it = 0, n;

	alloc(f, MS_FN_MALLOC, P1, 16, 0);
	reading(f, MS_SLACK_ALLOC, P1, 40, 0);
	assert_true(overflow__next_unchecked(f->o, &it, &ptr, &usable));
	assert_int_equal(ptr, P1);
	assert_int_equal(usable, 40);
	assert_false(overflow__next_unchecked(f->o, &it, &ptr, &usable));
	reading_changed(f, MS_SLACK_FINAL, P1, 40, 39, 1);
	v = detector__findings(f->d, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].fn, MS_FN_NONE);
	assert_int_equal(v[0].overflow.reach, 24); /* byte 39 of a 16-byte block */
	overflow__stats(f->o, &st);
	assert_int_equal(st.checked, 1);
	assert_int_equal(st.overflowed, 1);
	/* compared: the loader does not read it again */
	it = 0;
	assert_false(overflow__next_unchecked(f->o, &it, &ptr, &usable));
}

static void test_footprint__heap_arenas_and_mmapped_blocks_by_glibcs_rules(void **state)
{
	struct fixture *f = *state;
	struct footprint *fp = footprint__new(f->h);
	struct footprint_reading r;
	const struct footprint_range v[] = {
		{ 0x555555559000ull, 0x555555600000ull, FOOTPRINT_BRK },
		/* an arena heap: 64 MiB-aligned */
		{ 0x7f0004000000ull, 0x7f0004021000ull, FOOTPRINT_ANON },
		/* a 200 KiB mmapped block, live at its start + 16 (64 MiB-aligned too) */
		{ 0x7f1000000000ull, 0x7f1000033000ull, FOOTPRINT_ANON },
		/* a thread stack: neither */
		{ 0x7f2000001000ull, 0x7f2000801000ull, FOOTPRINT_ANON },
	};

	alloc(f, MS_FN_MALLOC, 0x7f1000000010ull, 200 * 1024, 0);
	alloc(f, MS_FN_MALLOC, 0x555555559010ull, 1000, 0);
	assert_int_equal(footprint__reading(fp, 5, v, 4),
			 0xa7000 + 0x21000 + 0x33000);
	assert_true(footprint__last(fp, &r));
	assert_int_equal(r.brk, 0xa7000);
	assert_int_equal(r.arenas, 0x21000);
	assert_int_equal(r.narenas, 1);
	assert_int_equal(r.mmapped, 0x33000);
	assert_int_equal(r.nmmapped, 1);
	assert_int_equal(r.mmapped_live, 200 * 1024);
	assert_int_equal(r.live_bytes, 200 * 1024 + 1000);
	/* smaller later: the peak stays the first */
	footprint__reading(fp, 9, v, 1);
	assert_true(footprint__peak(fp, &r));
	assert_int_equal(r.t_ns, 5);
	footprint__last(fp, &r);
	assert_int_equal(r.total, 0xa7000);
	footprint__free(fp);
}

/* The kernel merges neighbouring anonymous mappings: two mmapped chunks and
 * two pages of the program's own show as one range. */
static void test_footprint__mmapped_chunks_inside_a_merged_mapping(void **state)
{
	struct fixture *f = *state;
	struct footprint *fp = footprint__new(f->h);
	struct footprint_reading r;
	const uint64_t base = 0x7f3000101000ull;
	const struct footprint_range v[] = {
		{ base, base + 0x33000 + 0x2000 + 0x25000, FOOTPRINT_ANON },
	};

	alloc(f, MS_FN_MALLOC, base + 16, 200 * 1024, 0);           /* 0x33000 chunk */
	alloc(f, MS_FN_MALLOC, base + 0x35000 + 16, 150000, 0);     /* 0x25000 chunk */
	assert_int_equal(footprint__reading(fp, 5, v, 1), 0x33000 + 0x25000);
	assert_true(footprint__last(fp, &r));
	assert_int_equal(r.mmapped, 0x33000 + 0x25000);
	assert_int_equal(r.nmmapped, 2);
	assert_int_equal(r.mmapped_live, 200 * 1024 + 150000);
	assert_int_equal(r.arenas, 0);
	footprint__free(fp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_overflow__changed_slack_is_found_at_release_with_its_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_footprint__mmapped_chunks_inside_a_merged_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow__changes_inside_the_block_are_the_programs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow__blocks_without_slack_or_reading_are_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow__realloc_finds_the_old_blocks_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow__live_block_changed_at_the_end_is_found_then, setup, teardown),
		cmocka_unit_test_setup_teardown(test_footprint__heap_arenas_and_mmapped_blocks_by_glibcs_rules, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
