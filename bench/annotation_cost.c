/*
 * Untraced cost of an annotation: a loop of MEMSCOPE_TRACK against the same
 * loop without it.  Prints ns per annotation.  Usage: annotation_cost [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "memscope.h"

static char block[64];
volatile int sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

__attribute__((noinline)) static void plain(long n)
{
	for (long i = 0; i < n; i++)
		sink = (int)i;
}

__attribute__((noinline)) static void annotated(long n)
{
	for (long i = 0; i < n; i++) {
		sink = (int)i;
		MEMSCOPE_TRACK(block + (i & 63), "block");
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000000;
	double t0, t1, t2;

	t0 = now_ns();
	plain(n);
	t1 = now_ns();
	annotated(n);
	t2 = now_ns();
	printf("annotation_untraced_ns %.3f (loop %.3f ns, annotated loop %.3f ns)\n",
	       ((t2 - t1) - (t1 - t0)) / n, (t1 - t0) / n, (t2 - t1) / n);
	return 0;
}
