/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "live_table.h"

static struct live_block block(uint64_t ptr, uint64_t size)
{
	struct live_block b = {
		.ptr = ptr, .size = size, .ts_ns = ptr * 3, .stack = (uint32_t)size,
		.tid = 7, .fn = 1,
	};
	return b;
}

/* field by field: the struct's padding bytes are not part of the value */
static void assert_block_equal(const struct live_block *a, const struct live_block *b)
{
	assert_int_equal(a->ptr, b->ptr);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->ts_ns, b->ts_ns);
	assert_int_equal(a->stack, b->stack);
	assert_int_equal(a->tid, b->tid);
	assert_int_equal(a->fn, b->fn);
}

/* heap-like addresses: 16-aligned, packed into one arena */
static uint64_t addr(size_t i)
{
	return 0x555555560000ull + 16 * (uint64_t)i;
}

/*
 * The table's hash (murmur3's finalizer), used only to pick keys that share
 * a home slot.  Were the table's hash to change, these tests would still
 * check correctness, only with shorter probe chains.
 */
static uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* n heap-like addresses whose home slot in a 16-slot table is home */
static void keys_homed_at(uint64_t home, uint64_t *out, size_t n, uint64_t start)
{
	uint64_t p = start;
	size_t k = 0;

	while (k < n) {
		if ((fmix64(p) & 15) == home)
			out[k++] = p;
		p += 16;
	}
}

static void test_live_table__put_then_get_returns_the_block(void **state)
{
	struct live_table *t = live_table__new(0);
	struct live_block b = block(addr(1), 100);
	const struct live_block *g;

	assert_int_equal(live_table__put(t, &b, NULL), 0);
	g = live_table__get(t, addr(1));
	assert_non_null(g);
	assert_block_equal(g, &b);
	assert_int_equal(live_table__count(t), 1);
	live_table__free(t);
}

static void test_live_table__get_of_unknown_or_null_ptr_is_null(void **state)
{
	struct live_table *t = live_table__new(0);
	struct live_block b = block(addr(1), 100);

	assert_null(live_table__get(t, addr(2)));
	assert_null(live_table__get(t, 0));
	live_table__put(t, &b, NULL);
	assert_null(live_table__get(t, addr(2)));
	assert_null(live_table__get(t, 0));
	live_table__free(t);
}

static void test_live_table__put_at_same_address_replaces_and_returns_old(void **state)
{
	struct live_table *t = live_table__new(0);
	struct live_block a = block(addr(1), 100), b = block(addr(1), 200), old;

	assert_int_equal(live_table__put(t, &a, NULL), 0);
	assert_int_equal(live_table__put(t, &b, &old), 1);
	assert_block_equal(&old, &a);
	assert_int_equal(live_table__get(t, addr(1))->size, 200);
	assert_int_equal(live_table__count(t), 1);
	/* old may be NULL when the caller does not care */
	assert_int_equal(live_table__put(t, &a, NULL), 1);
	assert_int_equal(live_table__count(t), 1);
	live_table__free(t);
}

static void test_live_table__put_of_null_ptr_is_rejected(void **state)
{
	struct live_table *t = live_table__new(0);
	struct live_block b = block(0, 100);

	assert_true(live_table__put(t, &b, NULL) < 0);
	assert_int_equal(live_table__count(t), 0);
	live_table__free(t);
}

static void test_live_table__take_removes_and_returns_the_block(void **state)
{
	struct live_table *t = live_table__new(0);
	struct live_block a = block(addr(1), 100), out;

	live_table__put(t, &a, NULL);
	assert_true(live_table__take(t, addr(1), &out));
	assert_block_equal(&out, &a);
	assert_null(live_table__get(t, addr(1)));
	assert_int_equal(live_table__count(t), 0);
	assert_false(live_table__take(t, addr(1), &out));
	live_table__put(t, &a, NULL);
	assert_true(live_table__take(t, addr(1), NULL));
	live_table__free(t);
}

static void test_live_table__take_of_unknown_ptr_is_false(void **state)
{
	struct live_table *t = live_table__new(0);
	struct live_block a = block(addr(1), 100);

	assert_false(live_table__take(t, addr(1), NULL));
	live_table__put(t, &a, NULL);
	assert_false(live_table__take(t, addr(2), NULL));
	assert_false(live_table__take(t, 0, NULL));
	assert_int_equal(live_table__count(t), 1);
	live_table__free(t);
}

static void test_live_table__grows_to_100k_blocks_and_finds_them_all(void **state)
{
	struct live_table *t = live_table__new(0);
	size_t i, n = 100000;

	for (i = 0; i < n; i++) {
		struct live_block b = block(addr(i + 1), i);

		assert_int_equal(live_table__put(t, &b, NULL), 0);
	}
	assert_int_equal(live_table__count(t), n);
	for (i = 0; i < n; i++) {
		const struct live_block *g = live_table__get(t, addr(i + 1));

		assert_non_null(g);
		assert_int_equal(g->size, i);
	}
	assert_null(live_table__get(t, addr(n + 1)));
	/* delete every other one; the rest must still be found */
	for (i = 0; i < n; i += 2)
		assert_true(live_table__take(t, addr(i + 1), NULL));
	assert_int_equal(live_table__count(t), n / 2);
	for (i = 0; i < n; i++)
		assert_int_equal(live_table__get(t, addr(i + 1)) != NULL, i % 2 == 1);
	live_table__free(t);
}

static void assert_only_these_found(struct live_table *t, const uint64_t *keys,
				    const bool *present, size_t n)
{
	size_t i, live = 0;

	for (i = 0; i < n; i++) {
		const struct live_block *g = live_table__get(t, keys[i]);

		assert_int_equal(g != NULL, present[i]);
		if (g)
			assert_int_equal(g->ptr, keys[i]);
		live += present[i];
	}
	assert_int_equal(live_table__count(t), live);
}

/*
 * Two interleaved clusters, one wrapping past the end of the table: slots
 * 14, 15, 0, 1, ... hold blocks homed at 14 and at 0.  Deleting from the
 * middle must shift the right blocks back and leave the others in place.
 */
static void test_live_table__survives_delete_in_probe_chain(void **state)
{
	uint64_t keys[10];
	bool present[10];
	size_t order[] = { 3, 0, 7, 5, 9, 1, 8, 2, 6, 4 };
	size_t round, i;

	keys_homed_at(14, keys, 6, addr(1));
	keys_homed_at(0, keys + 6, 4, addr(1));
	for (round = 0; round < 10; round++) {
		/* a 16-slot table: 10 blocks stay under its load limit */
		struct live_table *t = live_table__new(0);

		for (i = 0; i < 10; i++) {
			struct live_block b = block(keys[(i + round) % 10], i);

			live_table__put(t, &b, NULL);
			present[i] = true;
		}
		for (i = 0; i < 10; i++) {
			size_t k = order[(i + round) % 10];

			assert_true(live_table__take(t, keys[k], NULL));
			present[k] = false;
			assert_only_these_found(t, keys, present, 10);
		}
		live_table__free(t);
	}
}

/*
 * A 16-slot table churned up to its load limit (11 blocks, so it never
 * grows), with keys crowded around the wrap-around point, checked against a
 * plain array.
 */
static void test_live_table__matches_a_reference_under_random_churn(void **state)
{
	enum { NKEYS = 11, STEPS = 200000 };
	struct live_table *t = live_table__new(0);
	uint64_t keys[NKEYS], sizes[NKEYS] = { 0 };
	bool present[NKEYS] = { false };
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	size_t step, i;

	keys_homed_at(15, keys, 4, addr(1));
	keys_homed_at(13, keys + 4, 3, addr(1));
	for (i = 7; i < NKEYS; i++)
		keys[i] = addr(100000 + i);
	for (step = 0; step < STEPS; step++) {
		size_t k;
		struct live_block b;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		k = rng % NKEYS;
		if (present[k]) {
			struct live_block out;

			assert_true(live_table__take(t, keys[k], &out));
			assert_int_equal(out.size, sizes[k]);
			present[k] = false;
		} else {
			b = block(keys[k], step);
			assert_int_equal(live_table__put(t, &b, NULL), 0);
			present[k] = true;
			sizes[k] = step;
		}
		if (step % 1000 == 0)
			assert_only_these_found(t, keys, present, NKEYS);
	}
	assert_only_these_found(t, keys, present, NKEYS);
	live_table__free(t);
}

static void test_live_table__iteration_visits_each_block_once(void **state)
{
	enum { N = 5000 };
	struct live_table *t = live_table__new(0);
	unsigned seen[N + 1] = { 0 };
	const struct live_block *b;
	size_t it = 0, visits = 0, i;

	for (i = 1; i <= N; i++) {
		struct live_block x = block(addr(i), i);

		live_table__put(t, &x, NULL);
	}
	/* holes made by deletion must not be visited */
	for (i = 1; i <= N; i += 3)
		live_table__take(t, addr(i), NULL);
	while ((b = live_table__next(t, &it))) {
		size_t k = (b->ptr - addr(0)) / 16;

		assert_true(k >= 1 && k <= N);
		seen[k]++;
		visits++;
	}
	assert_int_equal(visits, live_table__count(t));
	for (i = 1; i <= N; i++)
		assert_int_equal(seen[i], (i - 1) % 3 == 0 ? 0 : 1);
	/* a finished iteration stays finished */
	assert_null(live_table__next(t, &it));
	live_table__free(t);
}

static void test_live_table__iteration_of_empty_table_ends_at_once(void **state)
{
	struct live_table *t = live_table__new(1000);
	size_t it = 0;

	assert_null(live_table__next(t, &it));
	live_table__free(t);
}

static void test_live_table__free_accepts_null(void **state)
{
	live_table__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_table__put_then_get_returns_the_block),
		cmocka_unit_test(test_live_table__get_of_unknown_or_null_ptr_is_null),
		cmocka_unit_test(test_live_table__put_at_same_address_replaces_and_returns_old),
		cmocka_unit_test(test_live_table__put_of_null_ptr_is_rejected),
		cmocka_unit_test(test_live_table__take_removes_and_returns_the_block),
		cmocka_unit_test(test_live_table__take_of_unknown_ptr_is_false),
		cmocka_unit_test(test_live_table__grows_to_100k_blocks_and_finds_them_all),
		cmocka_unit_test(test_live_table__survives_delete_in_probe_chain),
		cmocka_unit_test(test_live_table__matches_a_reference_under_random_churn),
		cmocka_unit_test(test_live_table__iteration_visits_each_block_once),
		cmocka_unit_test(test_live_table__iteration_of_empty_table_ends_at_once),
		cmocka_unit_test(test_live_table__free_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
