/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "reach.h"

/*
 * A synthetic memory image: IMAGE_WORDS words from BASE; blocks are ranges
 * of it, roots are words handed to reach__roots().
 */
#define BASE 0x10000ull
#define IMAGE_WORDS 4096

struct image {
	uint64_t w[IMAGE_WORDS];
	struct reach_block b[64];
	size_t nb;
	int reads;    /* read() calls */
	int fail_at;  /* read() call that fails (0: none) */
};

static uint64_t at(size_t word)
{
	return BASE + 8 * (uint64_t)word;
}

/* A block of size bytes at word index word; its address. */
static uint64_t block(struct image *im, size_t word, uint64_t size)
{
	im->b[im->nb++] = (struct reach_block){ .ptr = at(word), .size = size };
	return at(word);
}

/* Stores value at address a of the image. */
static void store(struct image *im, uint64_t a, uint64_t value)
{
	im->w[(a - BASE) / 8] = value;
}

static int image_read(void *ctx, struct reach_read *v, size_t n)
{
	struct image *im = ctx;

	if (++im->reads == im->fail_at)
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		assert_true(v[i].addr >= BASE && v[i].addr + v[i].len <= at(IMAGE_WORDS));
		memcpy(v[i].buf, &im->w[(v[i].addr - BASE) / 8], v[i].len);
	}
	return 0;
}

/* Classifies the image's blocks from roots; the class of each block by its address. */
static struct reach *classify(struct image *im, const uint64_t *roots, size_t nroots)
{
	struct reach *r = reach__new(im->b, im->nb);

	reach__roots(r, roots, nroots);
	assert_int_equal(reach__finish(r, image_read, im), 0);
	return r;
}

static enum reach_class class_of(const struct reach *r, uint64_t ptr)
{
	long i = reach__find(r, ptr);

	assert_true(i >= 0);
	assert_int_equal(reach__block(r, (size_t)i)->ptr, ptr);
	return reach__class(r, (size_t)i);
}

static void test_reach__start_pointer_from_a_root_is_still_reachable(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 32), b = block(im, 20, 32);
	uint64_t roots[] = { 0, 42, a };
	struct reach *r = classify(im, roots, 3);

	assert_int_equal(class_of(r, a), REACH_STILL_REACHABLE);
	assert_int_equal(class_of(r, b), REACH_DEFINITELY_LOST);
	reach__free(r);
	free(im);
}

static void test_reach__chain_from_a_reachable_block_is_reachable(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 32), b = block(im, 20, 32), c = block(im, 30, 16);
	struct reach *r;

	/* a -> b at a's second word, b -> c at its last */
	store(im, a + 8, b);
	store(im, b + 24, c);
	r = classify(im, &a, 1);
	assert_int_equal(class_of(r, a), REACH_STILL_REACHABLE);
	assert_int_equal(class_of(r, b), REACH_STILL_REACHABLE);
	assert_int_equal(class_of(r, c), REACH_STILL_REACHABLE);
	reach__free(r);
	free(im);
}

static void test_reach__list_whose_head_is_lost_is_one_definite_rest_indirect(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t n[4];
	uint64_t none = 0;
	struct reach *r;

	/* the list's nodes in reverse address order: the head is the highest */
	for (int i = 0; i < 4; i++)
		n[i] = block(im, 100 - 10 * (size_t)i, 16);
	for (int i = 0; i < 4; i++)
		store(im, n[i], i + 1 < 4 ? n[i + 1] : 0);
	/* n[0] -> n[1] -> n[2] -> n[3], and nothing points at n[0] */
	r = classify(im, &none, 1);
	assert_int_equal(class_of(r, n[0]), REACH_DEFINITELY_LOST);
	for (int i = 1; i < 4; i++)
		assert_int_equal(class_of(r, n[i]), REACH_INDIRECTLY_LOST);
	reach__free(r);
	free(im);
}

static void test_reach__lost_cycle_is_one_definite_the_rest_indirect(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 16), b = block(im, 20, 16), c = block(im, 30, 16);
	uint64_t none = 0;
	struct reach *r;

	store(im, a, b);
	store(im, b, c);
	store(im, c, a);
	r = classify(im, &none, 1);
	assert_int_equal(class_of(r, a), REACH_DEFINITELY_LOST);
	assert_int_equal(class_of(r, b), REACH_INDIRECTLY_LOST);
	assert_int_equal(class_of(r, c), REACH_INDIRECTLY_LOST);
	reach__free(r);
	free(im);
}

static void test_reach__reachable_cycle_is_reachable(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 16), b = block(im, 20, 16);
	struct reach *r;

	store(im, a, b);
	store(im, b, a);
	r = classify(im, &b, 1);
	assert_int_equal(class_of(r, a), REACH_STILL_REACHABLE);
	assert_int_equal(class_of(r, b), REACH_STILL_REACHABLE);
	reach__free(r);
	free(im);
}

static void test_reach__interior_pointer_only_is_possibly_lost(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 64), b = block(im, 30, 16), c = block(im, 40, 16);
	uint64_t root = a + 16;
	struct reach *r;

	/* what a possibly lost block points to, even by its start, is possibly lost */
	store(im, a, b);
	r = classify(im, &root, 1);
	assert_int_equal(class_of(r, a), REACH_POSSIBLY_LOST);
	assert_int_equal(class_of(r, b), REACH_POSSIBLY_LOST);
	assert_int_equal(class_of(r, c), REACH_DEFINITELY_LOST);
	reach__free(r);
	free(im);
}

static void test_reach__start_pointer_wins_over_an_interior_one(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 64), b = block(im, 30, 16);
	uint64_t roots[] = { a + 8, a };
	struct reach *r;

	/* b first reached possibly (through a's interior), then a by its start */
	store(im, a, b);
	r = classify(im, roots, 2);
	assert_int_equal(class_of(r, a), REACH_STILL_REACHABLE);
	assert_int_equal(class_of(r, b), REACH_STILL_REACHABLE);
	reach__free(r);
	free(im);
}

static void test_reach__pointer_one_past_the_end_points_nowhere(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 24), z = block(im, 20, 0);
	uint64_t roots[] = { a + 24, z + 8 };
	struct reach *r = classify(im, roots, 2);

	assert_int_equal(class_of(r, a), REACH_DEFINITELY_LOST);
	assert_int_equal(class_of(r, z), REACH_DEFINITELY_LOST);
	assert_int_equal(reach__find(r, z), 1);
	reach__free(r);
	free(im);
}

static void test_reach__the_allocators_link_into_a_block_is_no_pointer(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 200), b = block(im, 40, 200);
	uint64_t roots[] = { a + 192, b + 184 };
	struct reach *r;

	/* a's link is at +192 (glibc: a 208-byte chunk's successor at a - 16 + 208) */
	im->b[0].link = a + 192;
	im->b[1].link = b + 192;
	r = classify(im, roots, 2);
	assert_int_equal(class_of(r, a), REACH_DEFINITELY_LOST);
	/* any other word inside is still an interior pointer */
	assert_int_equal(class_of(r, b), REACH_POSSIBLY_LOST);
	reach__free(r);
	free(im);
}

static void test_reach__memory_read_whole_skips_the_words_inside_blocks(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 32), b = block(im, 20, 16), c = block(im, 30, 16);
	struct reach *r;

	/* words 0..39 read whole: a's own word pointing at b is no root; c's is */
	store(im, a + 8, b);
	store(im, at(25), c);
	r = reach__new(im->b, im->nb);
	reach__roots_at(r, at(0), im->w, 40);
	assert_int_equal(reach__finish(r, image_read, im), 0);
	assert_int_equal(class_of(r, a), REACH_DEFINITELY_LOST);
	assert_int_equal(class_of(r, b), REACH_INDIRECTLY_LOST);
	assert_int_equal(class_of(r, c), REACH_STILL_REACHABLE);
	/* from the middle of a block on */
	reach__free(r);
	r = reach__new(im->b, im->nb);
	reach__roots_at(r, a + 16, &im->w[(a + 16 - BASE) / 8], 20);
	assert_int_equal(reach__finish(r, image_read, im), 0);
	assert_int_equal(class_of(r, c), REACH_STILL_REACHABLE);
	assert_int_equal(class_of(r, b), REACH_INDIRECTLY_LOST);
	reach__free(r);
	free(im);
}

static void test_reach__zero_byte_block_is_reached_by_its_start(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t z = block(im, 20, 0);
	struct reach *r = classify(im, &z, 1);

	assert_int_equal(class_of(r, z), REACH_STILL_REACHABLE);
	reach__free(r);
	free(im);
}

static void test_reach__lost_block_pointing_at_an_earlier_lost_one_absorbs_it(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 16), b = block(im, 20, 16);
	uint64_t none = 0;
	struct reach *r;

	/* a is walked first (lowest address) and leads nowhere; b points at a */
	store(im, b + 8, a + 8);
	r = classify(im, &none, 1);
	assert_int_equal(class_of(r, a), REACH_INDIRECTLY_LOST);
	assert_int_equal(class_of(r, b), REACH_DEFINITELY_LOST);
	reach__free(r);
	free(im);
}

static void test_reach__lost_block_does_not_change_a_reachable_one(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 16), b = block(im, 20, 16);
	struct reach *r;

	store(im, b, a);
	r = classify(im, &a, 1);
	assert_int_equal(class_of(r, a), REACH_STILL_REACHABLE);
	assert_int_equal(class_of(r, b), REACH_DEFINITELY_LOST);
	reach__free(r);
	free(im);
}

static void test_reach__unaligned_words_inside_a_block_are_not_pointers(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 32), b = block(im, 20, 16);
	unsigned char *bytes = (unsigned char *)im->w;
	struct reach *r;

	/* b's address stored at a + 4: straddles two words */
	memcpy(bytes + (a - BASE) + 4, &b, 8);
	r = classify(im, &a, 1);
	assert_int_equal(class_of(r, b), REACH_DEFINITELY_LOST);
	reach__free(r);
	free(im);
}

/* Reads this process's own memory: the big block's test */
static int self_read(void *ctx, struct reach_read *v, size_t n)
{
	int *reads = ctx;

	(*reads)++;
	for (size_t i = 0; i < n; i++)
		memcpy(v[i].buf, (const void *)(uintptr_t)v[i].addr, v[i].len);
	return 0;
}

static void test_reach__a_big_block_is_read_in_pieces(void **state)
{
	/* 9 MiB of block content: read 4 MiB at a time, its last word seen */
	size_t words = (9u << 20) / 8;
	uint64_t *mem = calloc(words + 4, 8), base = (uint64_t)(uintptr_t)mem;
	struct reach_block blk[2] = { { base, 9u << 20, 0 }, { base + (9u << 20), 16, 0 } };
	struct reach *r = reach__new(blk, 2);
	int reads = 0;

	mem[words - 1] = blk[1].ptr;
	reach__roots(r, &blk[0].ptr, 1);
	assert_int_equal(reach__finish(r, self_read, &reads), 0);
	assert_int_equal(reads, 4); /* 4 + 4 + 1 MiB, then the small block */
	assert_int_equal(reach__class(r, 1), REACH_STILL_REACHABLE);
	reach__free(r);
	free(mem);
}

static void test_reach__read_error_stops_the_classification(void **state)
{
	struct image *im = calloc(1, sizeof(*im));
	uint64_t a = block(im, 10, 16);
	struct reach *r = reach__new(im->b, im->nb);

	im->fail_at = 1;
	reach__roots(r, &a, 1);
	assert_int_equal(reach__finish(r, image_read, im), -EIO);
	reach__free(r);
	free(im);
}

/* Counts the empty reads (check points); the second one says stop. */
static int stop_at_second_check(void *ctx, struct reach_read *v, size_t n)
{
	int *checks = ctx;

	(void)v;
	if (!n && ++*checks == 2)
		return -ETIME;
	return 0;
}

/*
 * The lost pass over many blocks that need no read (zero bytes) still
 * offers the caller a point to stop at (a deadline) every 16384 blocks.
 */
static void test_reach__lost_pass_offers_check_points_to_stop_at(void **state)
{
	size_t n = 100000;
	struct reach_block *v = calloc(n, sizeof(*v));
	struct reach *r;
	int checks = 0;

	for (size_t i = 0; i < n; i++)
		v[i] = (struct reach_block){ .ptr = 0x10000 + 16 * (uint64_t)i, .size = 0 };
	r = reach__new(v, n);
	assert_int_equal(reach__finish(r, stop_at_second_check, &checks), -ETIME);
	assert_int_equal(checks, 2);
	/* stopped at block 32768: the blocks after it are not classified */
	assert_int_equal(reach__class(r, 0), REACH_DEFINITELY_LOST);
	assert_int_equal(reach__class(r, n - 1), REACH_UNKNOWN);
	reach__free(r);
	free(v);
}

static void test_reach__result_class_is_found_by_address(void **state)
{
	struct reach_mark m[] = { { 0x100, REACH_DEFINITELY_LOST }, { 0x200, REACH_STILL_REACHABLE },
				  { 0x300, REACH_POSSIBLY_LOST } };
	struct reach_result res = { .status = SCAN_DONE, .marks = m, .nmarks = 3 };

	assert_int_equal(reach_result__class(&res, 0x200), REACH_STILL_REACHABLE);
	assert_int_equal(reach_result__class(&res, 0x300), REACH_POSSIBLY_LOST);
	assert_int_equal(reach_result__class(&res, 0x250), REACH_UNKNOWN);
	assert_int_equal(reach_result__class(NULL, 0x100), REACH_UNKNOWN);
	res.status = SCAN_STOPPED;
	assert_int_equal(reach_result__class(&res, 0x100), REACH_UNKNOWN);
	assert_string_equal(reach_class__name(REACH_INDIRECTLY_LOST), "indirectly_lost");
	assert_string_equal(scan_status__name(SCAN_STOPPED), "stopped");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reach__start_pointer_from_a_root_is_still_reachable),
		cmocka_unit_test(test_reach__chain_from_a_reachable_block_is_reachable),
		cmocka_unit_test(test_reach__list_whose_head_is_lost_is_one_definite_rest_indirect),
		cmocka_unit_test(test_reach__lost_cycle_is_one_definite_the_rest_indirect),
		cmocka_unit_test(test_reach__reachable_cycle_is_reachable),
		cmocka_unit_test(test_reach__interior_pointer_only_is_possibly_lost),
		cmocka_unit_test(test_reach__start_pointer_wins_over_an_interior_one),
		cmocka_unit_test(test_reach__pointer_one_past_the_end_points_nowhere),
		cmocka_unit_test(test_reach__the_allocators_link_into_a_block_is_no_pointer),
		cmocka_unit_test(test_reach__memory_read_whole_skips_the_words_inside_blocks),
		cmocka_unit_test(test_reach__zero_byte_block_is_reached_by_its_start),
		cmocka_unit_test(test_reach__lost_block_pointing_at_an_earlier_lost_one_absorbs_it),
		cmocka_unit_test(test_reach__lost_block_does_not_change_a_reachable_one),
		cmocka_unit_test(test_reach__unaligned_words_inside_a_block_are_not_pointers),
		cmocka_unit_test(test_reach__a_big_block_is_read_in_pieces),
		cmocka_unit_test(test_reach__read_error_stops_the_classification),
		cmocka_unit_test(test_reach__lost_pass_offers_check_points_to_stop_at),
		cmocka_unit_test(test_reach__result_class_is_found_by_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
