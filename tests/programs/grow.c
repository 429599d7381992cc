/*
 * Growth (docs/findings.md "Growth"): one site grows steadily, the others
 * change in ways that are no steady growth.  STEPS steps 50 ms apart (4 s):
 *   grow_steady     2048 bytes a step, kept: 40 KiB a second (40960 B/s
 *                   when a step takes exactly 50 ms; a step is never shorter);
 *   keep_flat       16 blocks of 1000 bytes before the first step, kept;
 *   churn           512 bytes allocated and released each step;
 *   grow_then_stop  4096 bytes a step for the first quarter, then nothing:
 *                   it grew, but stopped;
 *   sawtooth        1024 bytes a step, all released every 20 steps.
 * Expected: grow_steady is growing, no other site is.
 * Usage: grow [RATE_FILE]: writes there the rate grow_steady really had
 * (bytes per second: the least-squares slope of its bytes against the
 * clock at each step), for a test on a loaded machine, where steps take
 * longer and not all alike.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define STEPS 80
#define TOOTH 20

void *volatile sink;
static void *teeth[TOOTH];

__attribute__((noinline)) void *grow_steady(void)
{
	return malloc(2048); /* @grow_steady */
}

__attribute__((noinline)) void *keep_flat(void)
{
	return malloc(1000); /* @keep_flat */
}

__attribute__((noinline)) void churn(void)
{
	void *volatile p = malloc(512); /* @churn */

	free(p);
}

__attribute__((noinline)) void *grow_then_stop(void)
{
	return malloc(4096); /* @grow_then_stop */
}

__attribute__((noinline)) void *sawtooth(void)
{
	return malloc(1024); /* @sawtooth */
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct timespec step = { .tv_nsec = 50 * 1000 * 1000 };
	static void *flat[16];
	static double at[STEPS];

	for (int i = 0; i < 16; i++)
		flat[i] = keep_flat();
	for (int i = 0; i < STEPS; i++) {
		sink = grow_steady();
		at[i] = now_s();
		churn();
		if (i < STEPS / 4)
			sink = grow_then_stop();
		teeth[i % TOOTH] = sawtooth();
		if (i % TOOTH == TOOTH - 1)
			for (int k = 0; k < TOOTH; k++)
				free(teeth[k]);
		nanosleep(&step, NULL);
	}
	sink = flat;
	if (argc > 1) {
		/* no stdio: its buffer would be a block of its own */
		double mt = 0, my = 0, cov = 0, var = 0;
		char line[64];
		int fd, n;

		for (int i = 0; i < STEPS; i++) {
			mt += at[i] / STEPS;
			my += 2048.0 * (i + 1) / STEPS;
		}
		for (int i = 0; i < STEPS; i++) {
			cov += (at[i] - mt) * (2048.0 * (i + 1) - my);
			var += (at[i] - mt) * (at[i] - mt);
		}
		fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		n = snprintf(line, sizeof(line), "%.0f\n", cov / var);

		if (fd < 0 || write(fd, line, n) != n)
			return 1;
		close(fd);
	}
	return 0;
}
