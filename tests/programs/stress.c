/*
 * Load for the reliability suite (tests/reliability/): THREADS threads
 * allocate and free as fast as they can for SECS seconds.  Each thread keeps
 * a ring of SLOTS blocks: every step frees the block in a slot, if any, and
 * puts a new one there, and every fourth step also frees a block at once.
 * The live set is therefore flat (at most THREADS x SLOTS blocks) however
 * long it runs.  At the end the rings are left allocated: the leaks.
 *
 * All of the program's allocations are made by stress_alloc() and all its
 * releases by stress_free(); it prints what it did, which the tracer's
 * report must match exactly when it lost nothing:
 *   allocations A bytes B frees F live L live_bytes LB
 *
 * Usage: stress THREADS SECS [SLOTS [PAUSE_US]]
 *   PAUSE_US: each thread sleeps that long after every 256 steps (a paced
 *   load, for a run the tracer can follow without losing events)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

struct worker {
	pthread_t t;
	uint64_t seed;
	void **slots;
	size_t *sizes;
	uint64_t allocations, bytes, frees, live, live_bytes;
} __attribute__((aligned(64)));

static struct worker workers[MAX_THREADS];
static unsigned nslots = 64;
static unsigned pause_us;
static volatile int stop;

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

__attribute__((noinline)) void *stress_alloc(size_t size)
{
	return malloc(size); /* @stress_alloc */
}

__attribute__((noinline)) void stress_free(void *p)
{
	free(p);
}

static void *work(void *arg)
{
	struct worker *w = arg;

	while (!stop) {
		for (int i = 0; i < 256; i++) {
			uint64_t r = next(&w->seed);
			unsigned slot = (unsigned)(r % nslots);
			size_t size = 16 + (r >> 32) % 2033;

			if (w->slots[slot]) {
				stress_free(w->slots[slot]);
				w->frees++;
				w->live--;
				w->live_bytes -= w->sizes[slot];
			}
			w->slots[slot] = stress_alloc(size);
			if (!w->slots[slot])
				abort();
			w->sizes[slot] = size;
			w->allocations++;
			w->bytes += size;
			w->live++;
			w->live_bytes += size;
			if ((r & 3) == 0) {
				void *p = stress_alloc(size / 2 + 1);

				if (!p)
					abort();
				w->allocations++;
				w->bytes += size / 2 + 1;
				stress_free(p);
				w->frees++;
			}
		}
		if (pause_us)
			usleep(pause_us);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 16;
	double secs = argc > 2 ? atof(argv[2]) : 5;
	struct timespec ts;
	uint64_t a = 0, b = 0, f = 0, l = 0, lb = 0;

	if (argc > 3)
		nslots = (unsigned)atoi(argv[3]);
	if (argc > 4)
		pause_us = (unsigned)atoi(argv[4]);
	if (n < 1 || n > MAX_THREADS || secs <= 0 || nslots < 1) {
		fprintf(stderr, "usage: stress THREADS(1-%d) SECS [SLOTS]\n", MAX_THREADS);
		return 2;
	}
	/* the bookkeeping's own blocks come before any counted one */
	for (int i = 0; i < n; i++) {
		workers[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		workers[i].slots = calloc(nslots, sizeof(void *));
		workers[i].sizes = calloc(nslots, sizeof(size_t));
	}
	for (int i = 0; i < n; i++)
		if (pthread_create(&workers[i].t, NULL, work, &workers[i]))
			return 1;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts))
		;
	stop = 1;
	for (int i = 0; i < n; i++) {
		pthread_join(workers[i].t, NULL);
		a += workers[i].allocations;
		b += workers[i].bytes;
		f += workers[i].frees;
		l += workers[i].live;
		lb += workers[i].live_bytes;
	}
	printf("allocations %llu bytes %llu frees %llu live %llu live_bytes %llu\n",
	       (unsigned long long)a, (unsigned long long)b, (unsigned long long)f,
	       (unsigned long long)l, (unsigned long long)lb);
	return 0;
}
