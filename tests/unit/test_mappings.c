/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mappings.h"
#include "memscope_events.h"

#define P 4096u

static void call(struct mappings *m, uint8_t op, uint64_t addr, uint64_t len, bool allocator,
		 uint32_t stack)
{
	struct map_call c = { .op = op, .addr = addr, .len = len, .allocator = allocator,
			      .stack = stack, .ts_ns = addr };

	mappings__apply(m, &c);
}

static void remap(struct mappings *m, uint64_t old, uint64_t old_len, uint64_t addr, uint64_t len,
		  uint32_t flags, bool allocator)
{
	struct map_call c = { .op = MS_MAP_MREMAP, .old_addr = old, .old_len = old_len,
			      .addr = addr, .len = len, .mflags = flags, .allocator = allocator };

	mappings__apply(m, &c);
}

static const struct mapping_site *site(const struct mappings *m, uint32_t stack)
{
	size_t n;
	const struct mapping_site *s = mappings__sites(m, &n);

	for (size_t i = 0; i < n; i++)
		if (s[i].stack == stack)
			return &s[i];
	fail_msg("no site %u", stack);
	return NULL;
}

static void test_mappings__munmap_in_the_middle_splits_one_mapping_in_two(void **state)
{
	struct mappings *m = mappings__new();

	call(m, MS_MAP_MMAP, 100 * P, 10 * P, false, 7);
	call(m, MS_MAP_MUNMAP, 103 * P, 2 * P, false, 0);
	assert_int_equal(mappings__program(m)->bytes, 8 * P);
	assert_int_equal(mappings__program(m)->count, 2);
	assert_int_equal(mappings__program(m)->peak_bytes, 10 * P);
	assert_int_equal(mappings__program(m)->unmapped_bytes, 2 * P);
	assert_int_equal(site(m, 7)->bytes, 8 * P);
	assert_int_equal(site(m, 7)->count, 2);
	assert_int_equal(site(m, 7)->calls, 1);
	/* across both pieces and past them: what is mapped goes, nothing else */
	call(m, MS_MAP_MUNMAP, 90 * P, 40 * P, false, 0);
	assert_int_equal(mappings__program(m)->bytes, 0);
	assert_int_equal(mappings__program(m)->count, 0);
	assert_int_equal(mappings__program(m)->unmapped_bytes, 10 * P);
	assert_int_equal(site(m, 7)->mapped_bytes, 10 * P);
	mappings__free(m);
}

static void test_mappings__map_fixed_replaces_what_it_covers(void **state)
{
	struct mappings *m = mappings__new();

	call(m, MS_MAP_MMAP, 100 * P, 4 * P, false, 1);
	call(m, MS_MAP_MMAP, 102 * P, 4 * P, false, 2);
	assert_int_equal(mappings__program(m)->bytes, 6 * P);
	assert_int_equal(site(m, 1)->bytes, 2 * P);
	assert_int_equal(site(m, 2)->bytes, 4 * P);
	mappings__free(m);
}

static void test_mappings__allocator_mappings_are_kept_apart_and_freed_by_any_munmap(void **state)
{
	struct mappings *m = mappings__new();

	call(m, MS_MAP_MMAP, 500 * P, 257 * P, true, 0);
	assert_int_equal(mappings__allocator(m)->bytes, 257 * P);
	assert_int_equal(mappings__program(m)->bytes, 0);
	/* free() unmaps it outside any allocation call: still the allocator's */
	call(m, MS_MAP_MUNMAP, 500 * P, 257 * P, false, 0);
	assert_int_equal(mappings__allocator(m)->bytes, 0);
	assert_int_equal(mappings__allocator(m)->peak_bytes, 257 * P);
	assert_int_equal(mappings__allocator(m)->unmapped_bytes, 257 * P);
	assert_int_equal(mappings__program(m)->unmapped_bytes, 0);
	mappings__free(m);
}

static void test_mappings__mremap_moves_the_owner_and_site_and_dontunmap_keeps_the_old(void **state)
{
	struct mappings *m = mappings__new();

	call(m, MS_MAP_MMAP, 100 * P, 2 * P, false, 3);
	remap(m, 100 * P, 2 * P, 300 * P, 6 * P, 1 /* MAYMOVE */, false);
	assert_int_equal(mappings__program(m)->bytes, 6 * P);
	assert_int_equal(mappings__program(m)->count, 1);
	assert_int_equal(site(m, 3)->bytes, 6 * P);
	assert_int_equal(site(m, 3)->calls, 2);
	/* a range nothing tracked (a file's mapping) stays untracked */
	remap(m, 900 * P, P, 910 * P, 2 * P, 1, false);
	assert_int_equal(mappings__program(m)->bytes, 6 * P);
	/* MREMAP_DONTUNMAP: the old range stays mapped, the new one adds */
	remap(m, 300 * P, 6 * P, 400 * P, 6 * P, 1 | 2 | 4, false);
	assert_int_equal(mappings__program(m)->bytes, 12 * P);
	assert_int_equal(mappings__calls(m, MS_MAP_MREMAP), 3);
	mappings__free(m);
}

static void test_mappings__brk_sets_the_break_heap(void **state)
{
	struct mappings *m = mappings__new();

	call(m, MS_MAP_BRK, 0x1000, 132 * 1024, true, 0);
	call(m, MS_MAP_BRK, 0x1000, 264 * 1024, true, 0);
	call(m, MS_MAP_BRK, 0x1000, 200 * 1024, false, 0);
	assert_int_equal(mappings__brk(m)->bytes, 200 * 1024);
	assert_int_equal(mappings__brk(m)->peak_bytes, 264 * 1024);
	assert_int_equal(mappings__brk(m)->mapped_bytes, 264 * 1024);
	assert_int_equal(mappings__brk(m)->unmapped_bytes, 64 * 1024);
	assert_int_equal(mappings__program(m)->bytes, 0);
	assert_int_equal(mappings__calls(m, MS_MAP_BRK), 3);
	mappings__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mappings__munmap_in_the_middle_splits_one_mapping_in_two),
		cmocka_unit_test(test_mappings__map_fixed_replaces_what_it_covers),
		cmocka_unit_test(test_mappings__allocator_mappings_are_kept_apart_and_freed_by_any_munmap),
		cmocka_unit_test(test_mappings__mremap_moves_the_owner_and_site_and_dontunmap_keeps_the_old),
		cmocka_unit_test(test_mappings__brk_sets_the_break_heap),
	};

	return cmocka_run_group_tests_name("mappings", tests, NULL, NULL);
}
