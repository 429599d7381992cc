/*
 * Known temporaries, peak and thread names:
 *   temp_loop:   100 x malloc(64) freed at once             -> 100 temporary
 *   interleaved: 10 x (a = malloc(32); b = malloc(32); free(a); free(b))
 *                a is not temporary (b came between), b is  -> 10 temporary
 *   peak:        3 x malloc(10000) live together, then freed -> peak 30000 held by peak_block
 *   after:       1 x malloc(5000) leaked from small_leak
 *   thread "worker-1" makes 5 allocations of 128 bytes, freed by main.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

void *volatile sink[8];

__attribute__((noinline)) void temp_loop(void)
{
	for (int i = 0; i < 100; i++) {
		void *p = malloc(64); /* @temp_loop */

		free(p);
	}
}

__attribute__((noinline)) void interleaved(void)
{
	for (int i = 0; i < 10; i++) {
		void *a = malloc(32); /* @interleaved_a */
		void *b = malloc(32); /* @interleaved_b */

		free(a);
		free(b);
	}
}

__attribute__((noinline)) void *peak_block(void)
{
	return malloc(10000); /* @peak_block */
}

__attribute__((noinline)) void small_leak(void)
{
	sink[7] = malloc(5000); /* @small_leak */
}

static void *worker(void *arg)
{
	void **out = arg;

	pthread_setname_np(pthread_self(), "worker-1");
	for (int i = 0; i < 5; i++)
		out[i] = malloc(128); /* @worker */
	return NULL;
}

int main(void)
{
	void *blocks[3], *from_worker[5];
	pthread_attr_t attr;
	pthread_t t;

	temp_loop();
	interleaved();
	for (int i = 0; i < 3; i++)
		blocks[i] = peak_block();
	for (int i = 0; i < 3; i++)
		free(blocks[i]);
	small_leak();
	pthread_attr_init(&attr);
	pthread_create(&t, &attr, worker, from_worker);
	pthread_join(t, NULL);
	for (int i = 0; i < 5; i++)
		free(from_worker[i]);
	return 0;
}
