/* SPDX-License-Identifier: MIT */
/*
 * A realistic mix: sizes from 16 B to 64 KiB, log-distributed (as many blocks
 * of 16-32 B as of 32-64 KiB); lifetimes from immediate to long (a short ring
 * of 256 live blocks and a long one of 16384); 10% calloc, 10% realloc of a
 * live block to a new size; the first bytes of every block written.
 *
 * The rings are filled before the clock starts and emptied after it stops,
 * so the measured part is a steady state in which each step is exactly one
 * pair: malloc or calloc + free, or a realloc (which releases the old block
 * and makes a new one).
 *
 *   workload_mix [PAIRS]     (default 100000)
 */
#include <string.h>

#include "workload.h"

#define SHORT_RING 256
#define LONG_RING 16384

static void *short_ring[SHORT_RING], *long_ring[LONG_RING];
static unsigned long long rng = 0x9e3779b97f4a7c15ull;

/* 16 B .. 64 KiB, uniform in log2 */
static size_t pick_size(void)
{
	unsigned long long r = wl_rand(&rng);
	size_t lo = (size_t)16 << (r % 12);

	return lo + (size_t)((r >> 8) % lo);
}

static void touch(void *p, size_t size)
{
	memset(p, 0x5a, size < 64 ? size : 64);
}

static void *new_block(size_t size)
{
	void *p = wl_rand(&rng) % 9 ? malloc(size) : calloc(1, size);

	if (!p)
		abort();
	touch(p, size);
	return p;
}

/* the slot's block is replaced: freed and a new one made, or realloc'ed */
static void replace(void **slot)
{
	size_t size = pick_size();

	if (wl_rand(&rng) % 10 == 0) {
		void *q = realloc(*slot, size);

		if (!q)
			abort();
		touch(q, size);
		*slot = q;
		return;
	}
	free(*slot);
	*slot = new_block(size);
}

int main(int argc, char **argv)
{
	long pairs = wl_arg(argc, argv, 1, 100000);
	void *volatile sink;
	struct wl_clock c;
	long i;

	for (i = 0; i < SHORT_RING; i++)
		short_ring[i] = new_block(pick_size());
	for (i = 0; i < LONG_RING; i++)
		long_ring[i] = new_block(pick_size());
	wl_start(&c);
	for (i = 0; i < pairs; i++) {
		unsigned long long r = wl_rand(&rng) % 10;

		if (r < 3) {
			/* temporary: freed at once */
			sink = new_block(pick_size());
			free(sink);
		} else if (r < 8) {
			replace(&short_ring[wl_rand(&rng) % SHORT_RING]);
		} else {
			replace(&long_ring[wl_rand(&rng) % LONG_RING]);
		}
	}
	wl_report(&c, "mix", pairs);
	for (i = 0; i < SHORT_RING; i++)
		free(short_ring[i]);
	for (i = 0; i < LONG_RING; i++)
		free(long_ring[i]);
	return 0;
}
