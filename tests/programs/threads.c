/*
 * Four threads; thread k leaks (k + 1) blocks of (k + 1) * 1000 bytes from
 * thread_leak(), frees 100 blocks of 16 bytes from thread_churn(), and makes
 * one block of (k + 1) * 500 bytes in thread_handoff() that main frees.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define NTHREADS 4

void *volatile sink[64];
void *volatile handoff[NTHREADS];

__attribute__((noinline)) void thread_leak(int k, int j)
{
	sink[k * 8 + j] = malloc((size_t)(k + 1) * 1000); /* @thread_leak */
}

__attribute__((noinline)) void thread_churn(void)
{
	for (int i = 0; i < 100; i++) {
		void *p = malloc(16); /* @thread_churn */

		free(p);
	}
}

__attribute__((noinline)) void thread_handoff(int k)
{
	handoff[k] = malloc((size_t)(k + 1) * 500); /* @thread_handoff */
}

static void *worker(void *arg)
{
	int k = (int)(intptr_t)arg;

	for (int j = 0; j <= k; j++)
		thread_leak(k, j);
	thread_churn();
	thread_handoff(k);
	return NULL;
}

int main(void)
{
	pthread_t t[NTHREADS];

	for (int k = 0; k < NTHREADS; k++)
		pthread_create(&t[k], NULL, worker, (void *)(intptr_t)k);
	for (int k = 0; k < NTHREADS; k++)
		pthread_join(t[k], NULL);
	for (int k = 0; k < NTHREADS; k++)
		free(handoff[k]);
	return 0;
}
