/*
 * A thread allocates 8 blocks of 100..107 bytes in quiet_alloc(), hands them
 * to main and goes quiet; main frees them at once, makes 40 more pairs of
 * 1-byte blocks in main_churn(), waits 100 ms and exits, which ends the
 * quiet thread.  With batching, the quiet thread's 8 records wait in BPF
 * (fewer than a batch) until the loader's next sweep, while main's releases
 * go out in main's first full batch, before them: only merging the threads
 * by time puts each allocation before its release.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <unistd.h>

#define NBLOCKS 8

void *volatile blocks[NBLOCKS];
static sem_t handed;

__attribute__((noinline)) void quiet_alloc(int i)
{
	blocks[i] = malloc(100 + (size_t)i); /* @quiet_alloc */
}

__attribute__((noinline)) void main_churn(void)
{
	for (int i = 0; i < 40; i++) {
		void *volatile p = malloc(1); /* @main_churn */

		free(p);
	}
}

static void *quiet(void *arg)
{
	(void)arg;
	for (int i = 0; i < NBLOCKS; i++)
		quiet_alloc(i);
	sem_post(&handed);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	pthread_t t;

	sem_init(&handed, 0, 0);
	if (pthread_create(&t, NULL, quiet, NULL))
		return 1;
	while (sem_wait(&handed))
		;
	for (int i = 0; i < NBLOCKS; i++)
		free(blocks[i]);
	main_churn();
	usleep(100000);
	return 0;
}
