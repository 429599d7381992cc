/* SPDX-License-Identifier: MIT */
/*
 * Thread churn: THREADS threads (default 2000) started and joined in waves of
 * WAVE (default 4), each making one malloc/free pair.  What a tracer pays
 * per thread born and ended (ptrace stops at clone and exit, per-thread
 * state), not per allocation: ns_per_pair is wall time per thread.
 *
 *   workload_spawn [THREADS [WAVE]]
 */
#include <pthread.h>

#include "workload.h"

#define MAX_WAVE 64

static void *one(void *arg)
{
	void *p = malloc(64);

	(void)arg;
	if (!p)
		abort();
	*(volatile char *)p = 1;
	free(p);
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = wl_arg(argc, argv, 1, 2000);
	long wave = wl_arg(argc, argv, 2, 4);
	pthread_t t[MAX_WAVE];
	struct wl_clock c;
	long done = 0;

	if (wave > MAX_WAVE) {
		fprintf(stderr, "at most %d threads a wave\n", MAX_WAVE);
		return 2;
	}
	wl_start(&c);
	while (done < threads) {
		long n = threads - done < wave ? threads - done : wave;

		for (long i = 0; i < n; i++)
			if (pthread_create(&t[i], NULL, one, NULL)) {
				fprintf(stderr, "cannot create a thread\n");
				return 1;
			}
		for (long i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		done += n;
	}
	wl_report(&c, "spawn", threads);
	return 0;
}
