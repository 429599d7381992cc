/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stacks.h"

static const uint64_t ips_a[] = { 0x401000, 0x402000, 0x403000 };
static const uint64_t ips_b[] = { 0x501000, 0x502000 };

static void assert_stack(const struct stack *s, uint64_t hash, const uint64_t *ips,
			 uint32_t n, bool truncated)
{
	assert_non_null(s);
	assert_int_equal(s->hash, hash);
	assert_int_equal(s->nframes, n);
	assert_int_equal(s->truncated, truncated);
	assert_memory_equal(s->ips, ips, n * sizeof(*ips));
}

static void test_stacks__new_table_has_only_stack_none(void **state)
{
	struct stack_table *t = stack_table__new();

	assert_int_equal(stack_table__count(t), 1);
	assert_null(stack_table__get(t, STACK_NONE));
	assert_null(stack_table__get(t, 1));
	stack_table__free(t);
}

static void test_stacks__indexes_are_dense_from_one(void **state)
{
	struct stack_table *t = stack_table__new();

	assert_int_equal(stack_table__add(t, 0xaaaa, ips_a, 3, false), 1);
	assert_int_equal(stack_table__add(t, 0xbbbb, ips_b, 2, true), 2);
	assert_int_equal(stack_table__count(t), 3);
	assert_stack(stack_table__get(t, 1), 0xaaaa, ips_a, 3, false);
	assert_stack(stack_table__get(t, 2), 0xbbbb, ips_b, 2, true);
	assert_null(stack_table__get(t, 3));
	stack_table__free(t);
}

static void test_stacks__add_is_idempotent_for_a_known_hash(void **state)
{
	struct stack_table *t = stack_table__new();
	uint32_t a = stack_table__add(t, 0xaaaa, ips_a, 3, false);

	/* a repeat (BPF may send a stack twice) keeps the first frames */
	assert_int_equal(stack_table__add(t, 0xaaaa, ips_b, 2, true), a);
	assert_int_equal(stack_table__add(t, 0xaaaa, ips_a, 3, false), a);
	assert_int_equal(stack_table__count(t), 2);
	assert_stack(stack_table__get(t, a), 0xaaaa, ips_a, 3, false);
	stack_table__free(t);
}

static void test_stacks__add_copies_the_frames(void **state)
{
	struct stack_table *t = stack_table__new();
	uint64_t buf[3];
	uint32_t idx;

	memcpy(buf, ips_a, sizeof(buf));
	idx = stack_table__add(t, 0xaaaa, buf, 3, false);
	memset(buf, 0xff, sizeof(buf));
	assert_stack(stack_table__get(t, idx), 0xaaaa, ips_a, 3, false);
	stack_table__free(t);
}

static void test_stacks__add_with_hash_zero_is_none(void **state)
{
	struct stack_table *t = stack_table__new();

	assert_int_equal(stack_table__add(t, 0, ips_a, 3, false), STACK_NONE);
	assert_int_equal(stack_table__count(t), 1);
	stack_table__free(t);
}

static void test_stacks__find_gives_index_of_known_hash_only(void **state)
{
	struct stack_table *t = stack_table__new();
	uint32_t a = stack_table__add(t, 0xaaaa, ips_a, 3, false);

	assert_int_equal(stack_table__find(t, 0xaaaa), a);
	assert_int_equal(stack_table__find(t, 0xbbbb), STACK_NONE);
	assert_int_equal(stack_table__find(t, 0), STACK_NONE);
	stack_table__free(t);
}

static void test_stacks__for_event_with_known_hash_uses_its_stack(void **state)
{
	struct stack_table *t = stack_table__new();
	uint32_t a = stack_table__add(t, 0xaaaa, ips_a, 3, false);

	assert_int_equal(stack_table__for_event(t, 0xaaaa, 0x777000), a);
	assert_int_equal(stack_table__for_event(t, 0xaaaa, 0), a);
	assert_int_equal(stack_table__count(t), 2);
	stack_table__free(t);
}

static void test_stacks__for_event_without_hash_groups_by_caller(void **state)
{
	struct stack_table *t = stack_table__new();
	uint64_t c1 = 0x777000, c2 = 0x778000;
	uint32_t a = stack_table__for_event(t, 0, c1);
	uint32_t b = stack_table__for_event(t, 0, c2);

	assert_int_not_equal(a, STACK_NONE);
	assert_int_not_equal(b, STACK_NONE);
	assert_int_not_equal(a, b);
	assert_int_equal(stack_table__for_event(t, 0, c1), a);
	assert_int_equal(stack_table__for_event(t, 0, c2), b);
	assert_int_equal(stack_table__count(t), 3);
	/* a caller-only stack: one frame, and no BPF hash */
	assert_stack(stack_table__get(t, a), 0, &c1, 1, false);
	assert_stack(stack_table__get(t, b), 0, &c2, 1, false);
	stack_table__free(t);
}

static void test_stacks__for_event_with_unknown_hash_falls_back_to_caller(void **state)
{
	struct stack_table *t = stack_table__new();
	uint64_t c1 = 0x777000;
	uint32_t a = stack_table__for_event(t, 0xdead, c1), s;

	assert_int_not_equal(a, STACK_NONE);
	assert_stack(stack_table__get(t, a), 0, &c1, 1, false);
	/* the same call site, with stacks off or lost, is the same site */
	assert_int_equal(stack_table__for_event(t, 0, c1), a);
	assert_int_equal(stack_table__for_event(t, 0xbeef, c1), a);
	/* the fallback does not make the hash known */
	assert_int_equal(stack_table__find(t, 0xdead), STACK_NONE);
	/* once its record arrives, the hash gets its own stack */
	s = stack_table__add(t, 0xdead, ips_a, 3, false);
	assert_int_not_equal(s, a);
	assert_int_equal(stack_table__for_event(t, 0xdead, c1), s);
	stack_table__free(t);
}

static void test_stacks__for_event_without_hash_or_caller_is_none(void **state)
{
	struct stack_table *t = stack_table__new();

	assert_int_equal(stack_table__for_event(t, 0, 0), STACK_NONE);
	assert_int_equal(stack_table__for_event(t, 0xdead, 0), STACK_NONE);
	assert_int_equal(stack_table__count(t), 1);
	stack_table__free(t);
}

static void test_stacks__caller_equal_to_a_hash_is_not_that_stack(void **state)
{
	struct stack_table *t = stack_table__new();
	uint64_t h = 0x401000;
	uint32_t a = stack_table__add(t, h, ips_a, 3, false);
	uint32_t c = stack_table__for_event(t, 0, h);

	assert_int_not_equal(c, a);
	assert_stack(stack_table__get(t, c), 0, &h, 1, false);
	assert_int_equal(stack_table__find(t, h), a);
	stack_table__free(t);
}

static void test_stacks__pointers_stay_valid_as_table_grows(void **state)
{
	enum { N = 100000 };
	struct stack_table *t = stack_table__new();
	const struct stack *first, *caller_only;
	uint64_t c = 0x777000;
	uint64_t ips[64];
	uint32_t i, a, b;

	a = stack_table__add(t, 0xaaaa, ips_a, 3, false);
	b = stack_table__for_event(t, 0, c);
	first = stack_table__get(t, a);
	caller_only = stack_table__get(t, b);
	for (i = 0; i < N; i++) {
		uint32_t n = 1 + i % 64, j;

		for (j = 0; j < n; j++)
			ips[j] = 0x400000 + i * 64 + j;
		assert_int_equal(stack_table__add(t, 0x100000 + i, ips, n, n == 64), i + 3);
	}
	assert_int_equal(stack_table__count(t), N + 3);
	assert_ptr_equal(stack_table__get(t, a), first);
	assert_ptr_equal(stack_table__get(t, b), caller_only);
	assert_stack(first, 0xaaaa, ips_a, 3, false);
	assert_stack(caller_only, 0, &c, 1, false);
	/* every stack still found by hash, with its own frames */
	for (i = 0; i < N; i += 997) {
		const struct stack *s = stack_table__get(t, stack_table__find(t, 0x100000 + i));

		assert_non_null(s);
		assert_int_equal(s->nframes, 1 + i % 64);
		assert_int_equal(s->ips[s->nframes - 1], 0x400000 + i * 64 + s->nframes - 1);
	}
	stack_table__free(t);
}

static void test_stacks__stack_without_frames_is_kept(void **state)
{
	struct stack_table *t = stack_table__new();
	uint32_t a = stack_table__add(t, 0xaaaa, NULL, 0, false);

	assert_int_not_equal(a, STACK_NONE);
	assert_int_equal(stack_table__get(t, a)->nframes, 0);
	stack_table__free(t);
}

static void test_stacks__free_accepts_null(void **state)
{
	stack_table__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stacks__new_table_has_only_stack_none),
		cmocka_unit_test(test_stacks__indexes_are_dense_from_one),
		cmocka_unit_test(test_stacks__add_is_idempotent_for_a_known_hash),
		cmocka_unit_test(test_stacks__add_copies_the_frames),
		cmocka_unit_test(test_stacks__add_with_hash_zero_is_none),
		cmocka_unit_test(test_stacks__find_gives_index_of_known_hash_only),
		cmocka_unit_test(test_stacks__for_event_with_known_hash_uses_its_stack),
		cmocka_unit_test(test_stacks__for_event_without_hash_groups_by_caller),
		cmocka_unit_test(test_stacks__for_event_with_unknown_hash_falls_back_to_caller),
		cmocka_unit_test(test_stacks__for_event_without_hash_or_caller_is_none),
		cmocka_unit_test(test_stacks__caller_equal_to_a_hash_is_not_that_stack),
		cmocka_unit_test(test_stacks__pointers_stay_valid_as_table_grows),
		cmocka_unit_test(test_stacks__stack_without_frames_is_kept),
		cmocka_unit_test(test_stacks__free_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
