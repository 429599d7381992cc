/* SPDX-License-Identifier: MIT */
/*
 * Multithreaded: THREADS threads (default 4) each replace blocks in a ring of
 * 64 of their own, sizes 16-512 B, so every thread always has blocks live and
 * hits its allocator at full speed.  The clock runs from a barrier all
 * threads wait on to the last join.
 *
 * ns_per_pair is wall time over all pairs: throughput, with the threads
 * sharing the machine's CPUs; cpu_s / pairs is the CPU per pair.
 *
 *   workload_threads [PAIRS [THREADS]]     (default 400000 4; PAIRS in all)
 */
#include <pthread.h>

#include "workload.h"

#define RING 64
#define MAX_THREADS 64

struct worker {
	pthread_t thread;
	long pairs;
	unsigned long long rng;
};

static pthread_barrier_t start_line;

static void *work(void *arg)
{
	struct worker *w = arg;
	void *ring[RING] = { 0 };
	long i;

	pthread_barrier_wait(&start_line);
	for (i = 0; i < w->pairs; i++) {
		unsigned long long r = wl_rand(&w->rng);
		void **slot = &ring[r % RING];

		free(*slot);
		*slot = malloc(16 + (r >> 8) % 497);
		if (!*slot)
			abort();
		*(volatile char *)*slot = 1;
	}
	for (i = 0; i < RING; i++)
		free(ring[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	long pairs = wl_arg(argc, argv, 1, 400000);
	long nthreads = wl_arg(argc, argv, 2, 4);
	static struct worker w[MAX_THREADS];
	struct wl_clock c;
	long i;

	if (nthreads > MAX_THREADS) {
		fprintf(stderr, "at most %d threads\n", MAX_THREADS);
		return 2;
	}
	pthread_barrier_init(&start_line, NULL, (unsigned)nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		w[i].pairs = pairs / nthreads;
		w[i].rng = 0x9e3779b97f4a7c15ull * (unsigned long long)(i + 1);
		if (pthread_create(&w[i].thread, NULL, work, &w[i])) {
			fprintf(stderr, "cannot create a thread\n");
			return 1;
		}
	}
	wl_start(&c);
	pthread_barrier_wait(&start_line);
	for (i = 0; i < nthreads; i++)
		pthread_join(w[i].thread, NULL);
	wl_report(&c, "threads", pairs / nthreads * nthreads);
	return 0;
}
