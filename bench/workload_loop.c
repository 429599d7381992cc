/* SPDX-License-Identifier: MIT */
/*
 * Tight malloc/free loop: one pair = malloc(size) + free.  The worst case for
 * a tracer: nothing but probe hits.  DEPTH > 0 makes the calls from DEPTH
 * nested frames below main, to see what a deeper stack costs a stack walker.
 *
 *   workload_loop [PAIRS [SIZE [DEPTH]]]     (default 200000 64 0)
 */
#include "workload.h"

void *volatile sink;

__attribute__((noinline)) static void pairs_at(int depth, long pairs, size_t size)
{
	if (depth > 0) {
		pairs_at(depth - 1, pairs, size);
		/* not a tail call: this frame stays on the stack */
		__asm__ volatile("" ::: "memory");
		return;
	}
	for (long i = 0; i < pairs; i++) {
		sink = malloc(size);
		free(sink);
	}
}

int main(int argc, char **argv)
{
	long pairs = wl_arg(argc, argv, 1, 200000);
	size_t size = (size_t)wl_arg(argc, argv, 2, 64);
	int depth = argc > 3 ? atoi(argv[3]) : 0;
	struct wl_clock c;

	wl_start(&c);
	pairs_at(depth, pairs, size);
	wl_report(&c, "loop", pairs);
	return 0;
}
