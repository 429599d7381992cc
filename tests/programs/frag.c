// SPDX-License-Identifier: MIT
/*
 * Fragmentation by construction (tests/e2e/e2e.c "Fragmentation"): 20,000
 * blocks of 1,000 bytes from the main arena's [heap], then every other one
 * freed, the last one kept so the heap cannot shrink.  glibc keeps the freed
 * chunks in its bins: about half of what it holds is neither live nor
 * returned to the system.  It then waits half a second, so that a periodic
 * reading of its mappings sees the heap as it is left.
 */
#include <stdlib.h>
#include <time.h>

#define N 20000
#define SIZE 1000

static void *blocks[N];

static void *__attribute__((noinline)) make(void)
{
	return malloc(SIZE);
}

int main(void)
{
	for (int i = 0; i < N; i++)
		if (!(blocks[i] = make()))
			return 1;
	for (int i = 0; i < N; i += 2)
		free(blocks[i]);
	nanosleep(&(struct timespec){ .tv_nsec = 500 * 1000 * 1000 }, NULL);
	return 0;
}
