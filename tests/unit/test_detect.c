/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "detect.h"
#include "heap.h"
#include "memscope_events.h"
#include "stacks.h"

#define P1 0x555555560010ull
#define P2 0x555555560040ull
#define P3 0x555555560100ull
#define BIG 0x7f0000100010ull /* a 1 MiB region boundary is 16 bytes before */

#define FIFO 64

struct fixture {
	struct heap *h;
	struct detector *d;
	uint64_t ts;
};

static int setup_with(void **state, size_t fifo)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->h = heap__new(0);
	f->d = detector__new(f->h, fifo);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, FIFO);
}

static int setup_fifo4(void **state)
{
	return setup_with(state, 4);
}

static int setup_fifo3(void **state)
{
	return setup_with(state, 3);
}

static int setup_no_fifo(void **state)
{
	return setup_with(state, 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	detector__free(f->d);
	heap__free(f->h);
	free(f);
	return 0;
}

static void alloc_fn(struct fixture *f, uint8_t fn, uint64_t ptr, uint64_t size, uint32_t stack)
{
	struct alloc_call c = {
		.fn = fn, .tid = 7, .ts_ns = ++f->ts, .ptr = ptr, .size = size, .stack = stack,
	};

	heap__alloc(f->h, &c);
}

static void release_fn_tid(struct fixture *f, uint8_t fn, uint32_t tid, uint64_t ptr,
			   uint32_t stack)
{
	struct free_call c = { .fn = fn, .tid = tid, .ts_ns = ++f->ts, .ptr = ptr, .stack = stack };

	heap__release(f->h, &c);
}

static void release_fn(struct fixture *f, uint8_t fn, uint64_t ptr, uint32_t stack)
{
	release_fn_tid(f, fn, 7, ptr, stack);
}

static void do_malloc(struct fixture *f, uint64_t ptr, uint64_t size, uint32_t stack)
{
	alloc_fn(f, MS_FN_MALLOC, ptr, size, stack);
}

static void do_free(struct fixture *f, uint64_t ptr, uint32_t stack)
{
	release_fn(f, MS_FN_FREE, ptr, stack);
}

static void do_realloc(struct fixture *f, uint64_t old_ptr, uint64_t ptr, uint64_t size,
		       uint32_t stack)
{
	struct alloc_call c = {
		.fn = MS_FN_REALLOC, .is_realloc = true, .tid = 7, .ts_ns = ++f->ts,
		.ptr = ptr, .size = size, .old_ptr = old_ptr, .stack = stack,
	};

	heap__alloc(f->h, &c);
}

static const struct finding *findings(struct fixture *f, size_t *n)
{
	return detector__findings(f->d, n);
}

static void assert_no_findings(struct fixture *f)
{
	size_t n;

	findings(f, &n);
	assert_int_equal(n, 0);
}

/* The only finding, of the given kind. */
static const struct finding *only_finding(struct fixture *f, enum finding_kind kind)
{
	size_t n;
	const struct finding *fd = findings(f, &n);

	assert_int_equal(n, 1);
	assert_int_equal(fd->kind, kind);
	return fd;
}

static uint64_t unknown_frees(struct fixture *f)
{
	return heap__totals(f->h)->unknown_frees;
}

/* ------------------------------------------------------------ clean use */

static void test_detect__matching_releases_are_not_findings(void **state)
{
	static const struct {
		uint8_t alloc, release;
	} pairs[] = {
		{ MS_FN_MALLOC, MS_FN_FREE },
		{ MS_FN_CALLOC, MS_FN_FREE },
		{ MS_FN_REALLOC, MS_FN_FREE },
		{ MS_FN_REALLOCARRAY, MS_FN_FREE },
		{ MS_FN_POSIX_MEMALIGN, MS_FN_FREE },
		{ MS_FN_ALIGNED_ALLOC, MS_FN_FREE },
		{ MS_FN_MEMALIGN, MS_FN_FREE },
		{ MS_FN_VALLOC, MS_FN_FREE },
		{ MS_FN_PVALLOC, MS_FN_FREE },
		{ MS_FN_NEW, MS_FN_DELETE },
		{ MS_FN_NEW, MS_FN_DELETE_SIZED },
		{ MS_FN_NEW_NOTHROW, MS_FN_DELETE_NOTHROW },
		{ MS_FN_NEW_ALIGNED, MS_FN_DELETE_ALIGNED },
		{ MS_FN_NEW_ALIGNED, MS_FN_DELETE_SIZED_ALIGNED },
		{ MS_FN_NEW_ALIGNED_NOTHROW, MS_FN_DELETE_ALIGNED_NOTHROW },
		{ MS_FN_NEW_ARRAY, MS_FN_DELETE_ARRAY },
		{ MS_FN_NEW_ARRAY, MS_FN_DELETE_ARRAY_SIZED },
		{ MS_FN_NEW_ARRAY_NOTHROW, MS_FN_DELETE_ARRAY_NOTHROW },
		{ MS_FN_NEW_ARRAY_ALIGNED, MS_FN_DELETE_ARRAY_ALIGNED },
		{ MS_FN_NEW_ARRAY_ALIGNED, MS_FN_DELETE_ARRAY_SIZED_ALIGNED },
		{ MS_FN_NEW_ARRAY_ALIGNED_NOTHROW, MS_FN_DELETE_ARRAY_ALIGNED_NOTHROW },
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		alloc_fn(f, pairs[i].alloc, P1 + i * 0x1000, 64, 1);
		release_fn(f, pairs[i].release, P1 + i * 0x1000, 2);
	}
	assert_no_findings(f);
	assert_int_equal(unknown_frees(f), 0);
	assert_int_equal(heap__totals(f->h)->live_allocations, 0);
}

/* memalign & co. return aligned blocks that free() takes back */
static void test_detect__aligned_allocations_freed_with_free_are_fine(void **state)
{
	struct fixture *f = *state;

	alloc_fn(f, MS_FN_MEMALIGN, 0x555555561000ull, 100, 1);
	alloc_fn(f, MS_FN_POSIX_MEMALIGN, 0x555555600000ull, 8192, 1);
	alloc_fn(f, MS_FN_ALIGNED_ALLOC, 0x555555700000ull, 64, 1);
	do_free(f, 0x555555561000ull, 2);
	do_free(f, 0x555555600000ull, 2);
	do_free(f, 0x555555700000ull, 2);
	assert_no_findings(f);
	assert_int_equal(unknown_frees(f), 0);
}

/* ------------------------------------------------------------ double free */

static void test_detect__double_free_reports_both_release_stacks(void **state)
{
	struct fixture *f = *state;
	const struct finding *fd;

	alloc_fn(f, MS_FN_CALLOC, P1, 100, 1);
	release_fn_tid(f, MS_FN_FREE, 11, P1, 2);
	release_fn_tid(f, MS_FN_FREE, 12, P1, 3);
	fd = only_finding(f, FINDING_DOUBLE_FREE);
	assert_int_equal(fd->occurrences, 1);
	assert_int_equal(fd->ptr, P1);
	assert_int_equal(fd->ts_ns, 3);
	assert_int_equal(fd->tid, 12);
	assert_int_equal(fd->stack, 3);
	assert_int_equal(fd->fn, MS_FN_FREE);
	assert_int_equal(fd->alloc_stack, 1);
	assert_int_equal(fd->alloc_fn, MS_FN_CALLOC);
	assert_int_equal(fd->free_stack, 2);
	assert_int_equal(fd->free_fn, MS_FN_FREE);
	assert_int_equal(fd->free_tid, 11);
	/* a finding, not an unknown free */
	assert_int_equal(unknown_frees(f), 0);
	assert_int_equal(heap__totals(f->h)->frees, 1);
}

#define FLUSH_CALLER 0x7f0000012345ull

static bool is_flush(void *ctx, const struct free_call *fc)
{
	(void)ctx;
	return fc->caller == FLUSH_CALLER;
}

static void release_from(struct fixture *f, uint64_t ptr, uint64_t caller)
{
	struct free_call c = { .fn = MS_FN_FREE, .tid = 7, .ts_ns = ++f->ts, .ptr = ptr,
			       .caller = caller, .stack = 9 };

	heap__release(f->h, &c);
}

static void test_detect__allocator_internal_release_is_neither_finding_nor_unknown(void **state)
{
	struct fixture *f = *state;
	size_t n;

	detector__set_internal_filter(f->d, is_flush, NULL);
	do_malloc(f, P1, 100, 1);
	do_free(f, P1, 2);
	/* glibc's thread-exit flush frees the cached block again, and one it never saw */
	release_from(f, P1, FLUSH_CALLER);
	release_from(f, P2, FLUSH_CALLER);
	detector__findings(f->d, &n);
	assert_int_equal(n, 0);
	assert_int_equal(unknown_frees(f), 0);
	assert_int_equal(detector__internal_releases(f->d), 2);
	/* the same from any other caller is still a double free */
	release_from(f, P1, 0x401000);
	only_finding(f, FINDING_DOUBLE_FREE);
	/* and a live block released from the flush's caller is an ordinary release */
	do_malloc(f, P3, 10, 1);
	release_from(f, P3, FLUSH_CALLER);
	assert_int_equal(detector__internal_releases(f->d), 2);
	assert_int_equal(heap__totals(f->h)->live_allocations, 0);
}

static void test_detect__address_reused_then_freed_twice_is_not_double_free(void **state)
{
	struct fixture *f = *state;
	const struct finding *fd;

	do_malloc(f, P1, 100, 1);
	do_free(f, P1, 2);
	do_malloc(f, P1, 50, 4); /* handed out again */
	do_free(f, P1, 5);
	assert_no_findings(f);
	/* but the second life's own double free is one, about that life */
	do_free(f, P1, 6);
	fd = only_finding(f, FINDING_DOUBLE_FREE);
	assert_int_equal(fd->alloc_stack, 4);
	assert_int_equal(fd->free_stack, 5);
	assert_int_equal(fd->stack, 6);
}

static void test_detect__old_address_of_moved_realloc_freed_is_double_free(void **state)
{
	struct fixture *f = *state;
	const struct finding *fd;

	do_malloc(f, P1, 100, 1);
	do_realloc(f, P1, P2, 200, 2);
	do_free(f, P1, 3);
	fd = only_finding(f, FINDING_DOUBLE_FREE);
	assert_int_equal(fd->free_fn, MS_FN_REALLOC);
	assert_int_equal(fd->free_stack, 2);
	assert_int_equal(fd->alloc_stack, 1);
}

static void test_detect__realloc_to_same_address_is_not_double_free(void **state)
{
	struct fixture *f = *state;

	do_malloc(f, P1, 100, 1);
	do_realloc(f, P1, P1, 200, 2);
	do_realloc(f, P1, P1, 300, 2);
	do_free(f, P1, 3);
	assert_no_findings(f);
	assert_int_equal(unknown_frees(f), 0);
}

static void test_detect__realloc_of_null_is_a_plain_allocation(void **state)
{
	struct fixture *f = *state;

	do_realloc(f, 0, P1, 100, 1);
	do_free(f, P1, 2);
	assert_no_findings(f);
	assert_int_equal(unknown_frees(f), 0);
}

/* glibc's realloc(p, 0) frees p */
static void test_detect__realloc_to_zero_then_free_is_double_free(void **state)
{
	struct fixture *f = *state;
	const struct finding *fd;

	do_malloc(f, P1, 100, 1);
	do_realloc(f, P1, 0, 0, 2);
	do_free(f, P1, 3);
	fd = only_finding(f, FINDING_DOUBLE_FREE);
	assert_int_equal(fd->free_fn, MS_FN_REALLOC);
	assert_int_equal(fd->free_stack, 2);
	assert_int_equal(fd->stack, 3);
}

/* a release lost and the address handed out again is not a release */
static void test_detect__replaced_block_was_not_released(void **state)
{
	struct fixture *f = *state;

	do_malloc(f, P1, 100, 1);
	do_malloc(f, P1, 100, 2);
	do_free(f, P1, 3);
	assert_no_findings(f);
	do_free(f, P1, 3);
	assert_int_equal(only_finding(f, FINDING_DOUBLE_FREE)->alloc_stack, 2);
}

static void test_detect__realloc_of_freed(void **state)
{
	struct fixture *f = *state;
	const struct finding *fd;

	do_malloc(f, P1, 100, 1);
	release_fn_tid(f, MS_FN_FREE, 9, P1, 2);
	do_realloc(f, P1, P2, 200, 3);
	fd = only_finding(f, FINDING_REALLOC_OF_FREED);
	assert_int_equal(fd->ptr, P1);
	assert_int_equal(fd->fn, MS_FN_REALLOC);
	assert_int_equal(fd->stack, 3);
	assert_int_equal(fd->tid, 7);
	assert_int_equal(fd->alloc_stack, 1);
	assert_int_equal(fd->free_stack, 2);
	assert_int_equal(fd->free_tid, 9);
	assert_int_equal(unknown_frees(f), 0);
	/* the realloc still made its block */
	assert_non_null(live_table__get(heap__live(f->h), P2));
}

static void test_detect__realloc_to_zero_of_freed_is_realloc_of_freed(void **state)
{
	struct fixture *f = *state;

	do_malloc(f, P1, 100, 1);
	do_free(f, P1, 2);
	do_realloc(f, P1, 0, 0, 3);
	only_finding(f, FINDING_REALLOC_OF_FREED);
}

static void test_detect__fifo_eviction_makes_old_double_free_unknown(void **state)
{
	struct fixture *f = *state; /* FIFO of 4 */
	uint64_t i;

	for (i = 0; i < 5; i++)
		do_malloc(f, P1 + i * 0x100, 10, 1);
	for (i = 0; i < 5; i++)
		do_free(f, P1 + i * 0x100, 2);
	/* the first was pushed out by the fifth */
	do_free(f, P1, 3);
	assert_no_findings(f);
	assert_int_equal(unknown_frees(f), 1);
	/* the second is still remembered */
	do_free(f, P1 + 0x100, 3);
	only_finding(f, FINDING_DOUBLE_FREE);
	assert_int_equal(unknown_frees(f), 1);
}

/*
 * A ring entry left by an address that was handed out and released again
 * must not push out the newer release.
 */
static void test_detect__stale_fifo_entry_does_not_evict_a_newer_release(void **state)
{
	struct fixture *f = *state; /* FIFO of 3 */

	do_malloc(f, P1, 10, 1);
	do_malloc(f, P2, 10, 1);
	do_malloc(f, P3, 10, 1);
	do_free(f, P1, 2);       /* ring: P1 */
	do_malloc(f, P1, 10, 1); /* P1 leaves the FIFO; its ring entry stays */
	do_free(f, P1, 2);       /* ring: P1(stale) P1 */
	do_free(f, P2, 2);       /* ring: P1(stale) P1 P2 */
	do_free(f, P3, 2);       /* pushes out the stale entry only */
	do_free(f, P1, 3);
	only_finding(f, FINDING_DOUBLE_FREE);
	/* a push more and the newer P1 goes too */
	do_malloc(f, 0x1000, 10, 1);
	do_free(f, 0x1000, 2);
	do_free(f, P1, 4);
	assert_int_equal(unknown_frees(f), 1);
}

static void test_detect__fifo_of_zero_remembers_nothing(void **state)
{
	struct fixture *f = *state; /* FIFO of 0 */

	do_malloc(f, P1, 100, 1);
	do_free(f, P1, 2);
	do_free(f, P1, 3);
	assert_no_findings(f);
	assert_int_equal(unknown_frees(f), 1);
	/* invalid frees do not need the FIFO */
	do_malloc(f, P2, 100, 1);
	do_free(f, P2 + 16, 2);
	only_finding(f, FINDING_INVALID_FREE);
}

/* A long run with a small FIFO: only the last releases are remembered. */
static void test_detect__fifo_holds_exactly_the_latest_releases(void **state)
{
	struct fixture *f = *state; /* FIFO of 4 */
	uint64_t i, n = 1000;
	size_t nf;

	for (i = 0; i < n; i++) {
		do_malloc(f, 0x10000 + i * 16, 8, 1);
		do_free(f, 0x10000 + i * 16, 2);
		/* some addresses reused, leaving stale ring entries */
		if (i % 3 == 0 && i < n - 10) {
			do_malloc(f, 0x10000 + i * 16, 8, 1);
			do_free(f, 0x10000 + i * 16, 2);
		}
	}
	for (i = 0; i < n; i++)
		do_free(f, 0x10000 + i * 16, 3);
	findings(f, &nf);
	assert_int_equal(nf, 1);
	/* the double frees themselves push nothing: the last 4 were found */
	assert_int_equal(findings(f, &nf)->occurrences, 4);
	assert_int_equal(unknown_frees(f), n - 4);
}

/*
 * Lookups between releases, for a long time: the index of released blocks
 * is brought up to date at each and rebuilt as stale entries pile up, and
 * still finds exactly the releases in the FIFO.
 */
static void test_detect__lookups_between_releases_find_exactly_the_fifo(void **state)
{
	struct fixture *f = *state; /* FIFO of 4 */
	uint64_t i, n = 1000, a = 0x10000;
	const struct finding *fs;
	size_t nf, k;

	for (i = 0; i < n; i++) {
		do_malloc(f, a + i * 16, 8, 1);
		do_free(f, a + i * 16, 2);
		do_free(f, a + i * 16, 3);             /* just released */
		do_free(f, 0x900000 + i * 16, 6);      /* never allocated */
		if (i >= 3)
			do_free(f, a + (i - 3) * 16, 4); /* the oldest in the FIFO */
		if (i >= 4)
			do_free(f, a + (i - 4) * 16, 5); /* pushed out */
	}
	fs = findings(f, &nf);
	assert_int_equal(nf, 2);
	for (k = 0; k < nf; k++) {
		assert_int_equal(fs[k].kind, FINDING_DOUBLE_FREE);
		assert_int_equal(fs[k].free_stack, 2);
		assert_int_equal(fs[k].occurrences, fs[k].stack == 3 ? n : n - 3);
	}
	assert_int_equal(unknown_frees(f), n + (n - 4));
}

/* ----------------------------------------------------------- invalid free */

static void test_detect__interior_pointer_of_large_block_is_invalid_free(void **state)
{
	struct fixture *f = *state;
	const struct finding *fd;

	/* 3 MiB: spans four 1 MiB regions */
	do_malloc(f, BIG, 3 << 20, 1);
	do_free(f, BIG + (5 << 19), 2);
	fd = only_finding(f, FINDING_INVALID_FREE);
	assert_int_equal(fd->ptr, BIG + (5 << 19));
	assert_int_equal(fd->block, BIG);
	assert_int_equal(fd->block_size, 3 << 20);
	assert_int_equal(fd->alloc_stack, 1);
	assert_int_equal(fd->alloc_fn, MS_FN_MALLOC);
	assert_int_equal(fd->stack, 2);
	assert_int_equal(fd->fn, MS_FN_FREE);
	assert_int_equal(unknown_frees(f), 0);
	/* the block stays live: the release did nothing */
	assert_int_equal(heap__totals(f->h)->live_allocations, 1);
	/* last byte, any alignment */
	do_free(f, BIG + (3 << 20) - 1, 2);
	assert_int_equal(only_finding(f, FINDING_INVALID_FREE)->occurrences, 2);
	/* one past the end is not inside */
	do_free(f, BIG + (3 << 20), 2);
	assert_int_equal(unknown_frees(f), 1);
}

static void test_detect__interior_pointer_of_freed_large_block_is_unknown(void **state)
{
	struct fixture *f = *state;

	do_malloc(f, BIG, 3 << 20, 1);
	do_free(f, BIG, 2);
	do_free(f, BIG + (2 << 20), 3);
	assert_no_findings(f);
	assert_int_equal(unknown_frees(f), 1);
	/* and of one realloc'ed away */
	do_malloc(f, BIG, 8192, 1);
	do_realloc(f, BIG, 0x7f0000900000ull, 1 << 20, 1);
	do_free(f, BIG + 4096, 3);
	assert_no_findings(f);
	do_free(f, 0x7f0000900000ull + 4096, 3);
	only_finding(f, FINDING_INVALID_FREE);
}

static void test_detect__interior_pointer_of_small_block_is_invalid_free(void **state)
{
	struct fixture *f = *state;
	const struct finding *fd;

	do_malloc(f, P1, 100, 1);
	do_free(f, P1 + 16, 2);
	fd = only_finding(f, FINDING_INVALID_FREE);
	assert_int_equal(fd->block, P1);
	assert_int_equal(fd->block_size, 100);
	do_free(f, P1 + 99, 2);
	do_free(f, P1 + 1, 2);
	assert_int_equal(only_finding(f, FINDING_INVALID_FREE)->occurrences, 3);
	assert_int_equal(unknown_frees(f), 0);
	/* past its end */
	do_free(f, P1 + 100, 2);
	do_free(f, P1 + 112, 2);
	assert_int_equal(unknown_frees(f), 2);
}

/* a block of just under 4 KiB is found from its last byte */
static void test_detect__small_block_probe_reaches_back_4_kib(void **state)
{
	struct fixture *f = *state;

	do_malloc(f, P1, 4095, 1);
	do_free(f, P1 + 4094, 2);
	assert_int_equal(only_finding(f, FINDING_INVALID_FREE)->block, P1);
}

static void test_detect__block_of_4_kib_is_found_through_regions(void **state)
{
	struct fixture *f = *state;
	const uint64_t base = 0x7f00000ff000ull; /* straddles a region boundary */

	do_malloc(f, base, 8192, 1);
	do_free(f, base + 8000, 2);
	assert_int_equal(only_finding(f, FINDING_INVALID_FREE)->block, base);
}

/* the region index forgets a released big block: a small one there now is judged alone */
static void test_detect__block_at_reused_address_is_judged_by_its_own_size(void **state)
{
	struct fixture *f = *state;

	do_malloc(f, BIG, 3 << 20, 1);
	do_free(f, BIG, 2);
	do_malloc(f, BIG, 100, 3);
	do_free(f, BIG + (2 << 20), 4);
	assert_no_findings(f);
	assert_int_equal(unknown_frees(f), 1);
	do_free(f, BIG + 50, 4);
	assert_int_equal(only_finding(f, FINDING_INVALID_FREE)->block_size, 100);
}

static void test_detect__realloc_of_interior_pointer_is_invalid_free(void **state)
{
	struct fixture *f = *state;
	const struct finding *fd;

	do_malloc(f, P1, 100, 1);
	do_realloc(f, P1 + 32, P2, 10, 2);
	fd = only_finding(f, FINDING_INVALID_FREE);
	assert_int_equal(fd->fn, MS_FN_REALLOC);
	assert_int_equal(fd->block, P1);
}

static void test_detect__many_large_blocks_in_one_region(void **state)
{
	struct fixture *f = *state;
	const uint64_t base = 0x7f0000200000ull;
	size_t n;
	uint64_t i;

	for (i = 0; i < 600; i++)
		do_malloc(f, base + i * 4096, 4096, 1);
	for (i = 0; i < 600; i++)
		do_free(f, base + i * 4096 + 2048, 2);
	findings(f, &n);
	assert_int_equal(n, 1);
	assert_int_equal(findings(f, &n)->occurrences, 600);
	for (i = 0; i < 600; i++)
		do_free(f, base + i * 4096, 3);
	for (i = 0; i < 600; i++)
		do_free(f, base + i * 4096 + 2048, 4);
	assert_int_equal(unknown_frees(f), 600);
	findings(f, &n);
	assert_int_equal(n, 1);
}

static void test_detect__free_of_unknown_pointer_is_unknown_not_finding(void **state)
{
	struct fixture *f = *state;

	do_malloc(f, P1, 100, 1);
	do_free(f, 0x7f1234567890ull, 2);
	do_free(f, P1 + 0x1000, 2);
	do_realloc(f, P3, P2, 10, 3);
	assert_no_findings(f);
	assert_int_equal(unknown_frees(f), 3);
}

/* BPF drops free(NULL); should a 0 come through, it is only unknown */
static void test_detect__release_of_address_zero_is_only_unknown(void **state)
{
	struct fixture *f = *state;

	do_malloc(f, 0x10, 100, 1);
	do_free(f, 0, 2);
	do_free(f, 8, 2);
	assert_no_findings(f);
	assert_int_equal(unknown_frees(f), 2);
}

/* -------------------------------------------------------------- mismatch */

static void test_detect__new_array_with_delete_is_mismatched(void **state)
{
	struct fixture *f = *state;
	const struct finding *fd;
	size_t n;

	alloc_fn(f, MS_FN_NEW_ARRAY, P1, 80, 1);
	release_fn(f, MS_FN_DELETE, P1, 2);
	fd = only_finding(f, FINDING_MISMATCHED_FREE);
	assert_int_equal(fd->ptr, P1);
	assert_int_equal(fd->fn, MS_FN_DELETE);
	assert_int_equal(fd->stack, 2);
	assert_int_equal(fd->tid, 7);
	assert_int_equal(fd->alloc_fn, MS_FN_NEW_ARRAY);
	assert_int_equal(fd->alloc_stack, 1);
	/* reported only: the block is released all the same */
	assert_int_equal(heap__totals(f->h)->live_allocations, 0);
	assert_int_equal(heap__totals(f->h)->frees, 1);
	/* and a later delete[] of it is a double free */
	release_fn(f, MS_FN_DELETE_ARRAY, P1, 3);
	fd = findings(f, &n);
	assert_int_equal(n, 2);
	assert_int_equal(fd[1].kind, FINDING_DOUBLE_FREE);
	assert_int_equal(fd[1].free_fn, MS_FN_DELETE);
}

static void test_detect__malloc_with_delete_is_mismatched(void **state)
{
	struct fixture *f = *state;

	do_malloc(f, P1, 80, 1);
	release_fn(f, MS_FN_DELETE_SIZED, P1, 2);
	assert_int_equal(only_finding(f, FINDING_MISMATCHED_FREE)->fn, MS_FN_DELETE_SIZED);
}

static void test_detect__new_with_free_is_mismatched(void **state)
{
	struct fixture *f = *state;

	alloc_fn(f, MS_FN_NEW_ALIGNED, P1, 80, 1);
	do_free(f, P1, 2);
	assert_int_equal(only_finding(f, FINDING_MISMATCHED_FREE)->alloc_fn, MS_FN_NEW_ALIGNED);
}

static void test_detect__new_with_delete_array_is_mismatched(void **state)
{
	struct fixture *f = *state;

	alloc_fn(f, MS_FN_NEW, P1, 80, 1);
	release_fn(f, MS_FN_DELETE_ARRAY_SIZED_ALIGNED, P1, 2);
	only_finding(f, FINDING_MISMATCHED_FREE);
}

static void test_detect__realloc_of_new_block_is_mismatched(void **state)
{
	struct fixture *f = *state;
	const struct finding *fd;

	alloc_fn(f, MS_FN_NEW_ARRAY_NOTHROW, P1, 80, 1);
	do_realloc(f, P1, P2, 160, 2);
	fd = only_finding(f, FINDING_MISMATCHED_FREE);
	assert_int_equal(fd->fn, MS_FN_REALLOC);
	assert_int_equal(fd->ptr, P1);
	/* the realloc's block is malloc family: free is right for it */
	do_free(f, P2, 3);
	only_finding(f, FINDING_MISMATCHED_FREE);
}

static void test_detect__valloc_and_pvalloc_are_malloc_family(void **state)
{
	struct fixture *f = *state;
	size_t n;

	alloc_fn(f, MS_FN_VALLOC, 0x555555561000ull, 100, 1);
	alloc_fn(f, MS_FN_PVALLOC, 0x555555562000ull, 100, 2);
	release_fn(f, MS_FN_DELETE, 0x555555561000ull, 3);
	release_fn(f, MS_FN_DELETE_ARRAY, 0x555555562000ull, 3);
	findings(f, &n);
	assert_int_equal(n, 2);
	assert_int_equal(findings(f, &n)[0].kind, FINDING_MISMATCHED_FREE);
	assert_int_equal(findings(f, &n)[1].kind, FINDING_MISMATCHED_FREE);
}

/* realloc(P) returning Q, which was live (its release lost): Q's old block
 * was not released by the realloc, so its family does not matter */
static void test_detect__block_replaced_by_a_realloc_is_not_released_by_it(void **state)
{
	struct fixture *f = *state;

	alloc_fn(f, MS_FN_NEW, P2, 10, 1);
	do_malloc(f, P1, 10, 2);
	do_realloc(f, P1, P2, 20, 3);
	assert_no_findings(f);
	assert_int_equal(heap__totals(f->h)->replaced_blocks, 1);
	do_free(f, P2, 4);
	do_free(f, P1, 4);
	/* P1 was released by the realloc: a double free */
	assert_int_equal(only_finding(f, FINDING_DOUBLE_FREE)->free_fn, MS_FN_REALLOC);
}

/* ---------------------------------------------------------------- grouping */

static void test_detect__repeated_bug_in_loop_is_one_finding_with_count(void **state)
{
	struct fixture *f = *state;
	const struct finding *fd;
	uint64_t i;

	for (i = 0; i < 1000; i++) {
		do_malloc(f, P1 + (i % 7) * 0x100, 10, 1);
		do_free(f, P1 + (i % 7) * 0x100, 2);
		do_free(f, P1 + (i % 7) * 0x100, 3);
	}
	fd = only_finding(f, FINDING_DOUBLE_FREE);
	assert_int_equal(fd->occurrences, 1000);
	/* the first occurrence's details */
	assert_int_equal(fd->ptr, P1);
	assert_int_equal(fd->ts_ns, 3);
}

static void test_detect__findings_are_grouped_by_kind_and_both_stacks(void **state)
{
	struct fixture *f = *state;
	const struct finding *fd;
	size_t n;
	uint32_t i;

	/* 100 allocation sites, each freed twice from 2 places */
	for (i = 0; i < 200; i++) {
		uint64_t p = 0x10000 + i * 0x100;

		do_malloc(f, p, 10, 100 + i % 100);
		do_free(f, p, 1);
		do_free(f, p, 2 + i / 100);
	}
	/* and another kind at the same stacks */
	alloc_fn(f, MS_FN_NEW, P1, 10, 100);
	do_free(f, P1, 2);
	fd = findings(f, &n);
	assert_int_equal(n, 201);
	for (i = 0; i < 200; i++) {
		assert_int_equal(fd[i].kind, FINDING_DOUBLE_FREE);
		assert_int_equal(fd[i].alloc_stack, 100 + i % 100);
		assert_int_equal(fd[i].stack, 2 + i / 100);
		assert_int_equal(fd[i].occurrences, 1);
	}
	assert_int_equal(fd[200].kind, FINDING_MISMATCHED_FREE);
	assert_int_equal(fd[200].alloc_stack, 100);
	assert_int_equal(fd[200].stack, 2);
	/* a repeat lands on its group, wherever it is */
	do_malloc(f, P2, 10, 150);
	do_free(f, P2, 9);
	do_free(f, P2, 3);
	fd = findings(f, &n);
	assert_int_equal(n, 201);
	assert_int_equal(fd[150].occurrences, 2);
	assert_int_equal(fd[150].ptr, 0x10000 + 150 * 0x100);
}

static void test_detect__kind_names(void **state)
{
	assert_string_equal(finding_kind__name(FINDING_DOUBLE_FREE), "double_free");
	assert_string_equal(finding_kind__name(FINDING_INVALID_FREE), "invalid_free");
	assert_string_equal(finding_kind__name(FINDING_MISMATCHED_FREE), "mismatched_free");
	assert_string_equal(finding_kind__name(FINDING_REALLOC_OF_FREED), "realloc_of_freed");
	assert_string_equal(finding_kind__name(FINDING__COUNT), "unknown");
}

static void test_detect__free_accepts_null(void **state)
{
	detector__free(NULL);
}

/* Random churn, then frees of every address: the model stays consistent. */
static void test_detect__random_calls_keep_heap_totals(void **state)
{
	struct fixture *f = *state;
	const struct heap_totals *t = heap__totals(f->h);
	uint64_t rng = 0xdeadbeefcafef00dull;
	int i;

	for (i = 0; i < 50000; i++) {
		uint64_t p, size;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		p = 0x7f0000000000ull + (rng % 512) * 0x800 + ((rng >> 60) == 0 ? 8 : 0);
		size = (rng >> 20) % 2 ? (rng >> 24) % 300 : (rng >> 24) % 20000;
		switch ((rng >> 40) % 3) {
		case 0:
			alloc_fn(f, MS_FN_MALLOC + (rng >> 44) % 17, p, size, (rng >> 50) % 8);
			break;
		case 1:
			do_realloc(f, p, (rng >> 45) % 2 ? p + 0x100000 : 0, size, 3);
			break;
		default:
			release_fn(f, MS_FN_FREE + (rng >> 44) % 13, p, (rng >> 50) % 8);
			break;
		}
	}
	assert_int_equal(t->allocations - t->frees, t->live_allocations);
	assert_int_equal(live_table__count(heap__live(f->h)), t->live_allocations);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T4(fn) cmocka_unit_test_setup_teardown(fn, setup_fifo4, teardown)
#define T3(fn) cmocka_unit_test_setup_teardown(fn, setup_fifo3, teardown)
#define T0(fn) cmocka_unit_test_setup_teardown(fn, setup_no_fifo, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_detect__matching_releases_are_not_findings),
		T(test_detect__aligned_allocations_freed_with_free_are_fine),
		T(test_detect__double_free_reports_both_release_stacks),
		T(test_detect__allocator_internal_release_is_neither_finding_nor_unknown),
		T(test_detect__address_reused_then_freed_twice_is_not_double_free),
		T(test_detect__old_address_of_moved_realloc_freed_is_double_free),
		T(test_detect__realloc_to_same_address_is_not_double_free),
		T(test_detect__realloc_of_null_is_a_plain_allocation),
		T(test_detect__realloc_to_zero_then_free_is_double_free),
		T(test_detect__replaced_block_was_not_released),
		T(test_detect__realloc_of_freed),
		T(test_detect__realloc_to_zero_of_freed_is_realloc_of_freed),
		T4(test_detect__fifo_eviction_makes_old_double_free_unknown),
		T3(test_detect__stale_fifo_entry_does_not_evict_a_newer_release),
		T0(test_detect__fifo_of_zero_remembers_nothing),
		T4(test_detect__fifo_holds_exactly_the_latest_releases),
		T4(test_detect__lookups_between_releases_find_exactly_the_fifo),
		T(test_detect__interior_pointer_of_large_block_is_invalid_free),
		T(test_detect__interior_pointer_of_freed_large_block_is_unknown),
		T(test_detect__interior_pointer_of_small_block_is_invalid_free),
		T(test_detect__small_block_probe_reaches_back_4_kib),
		T(test_detect__block_of_4_kib_is_found_through_regions),
		T(test_detect__block_at_reused_address_is_judged_by_its_own_size),
		T(test_detect__realloc_of_interior_pointer_is_invalid_free),
		T(test_detect__many_large_blocks_in_one_region),
		T(test_detect__free_of_unknown_pointer_is_unknown_not_finding),
		T(test_detect__release_of_address_zero_is_only_unknown),
		T(test_detect__new_array_with_delete_is_mismatched),
		T(test_detect__malloc_with_delete_is_mismatched),
		T(test_detect__new_with_free_is_mismatched),
		T(test_detect__new_with_delete_array_is_mismatched),
		T(test_detect__realloc_of_new_block_is_mismatched),
		T(test_detect__valloc_and_pvalloc_are_malloc_family),
		T(test_detect__block_replaced_by_a_realloc_is_not_released_by_it),
		T(test_detect__repeated_bug_in_loop_is_one_finding_with_count),
		T(test_detect__findings_are_grouped_by_kind_and_both_stacks),
		cmocka_unit_test(test_detect__kind_names),
		cmocka_unit_test(test_detect__free_accepts_null),
		T(test_detect__random_calls_keep_heap_totals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
