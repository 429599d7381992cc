/*
 * For the live view (--live): sites whose in-use bytes grow at known rates
 * for 3 s, in STEPS steps 100 ms apart, none released:
 *   grow_big    4096 bytes a step (40 KiB a second), 30 blocks in all;
 *   grow_small  1024 bytes a step;
 *   one_shot    1 MiB once, before the first step: the most bytes in use,
 *               but no growth after the first second;
 *   churn       256 bytes allocated and released each step: no growth;
 *   grow_hostile 512 bytes a step, from a function whose source file name
 *               (#line) holds terminal escape sequences, which the view must
 *               not pass to the terminal.
 * Usage: live_grow [STEPS]: STEPS steps instead of 30 (a longer look by hand).
 */
#include <stdlib.h>
#include <time.h>

/* the blocks are leaked: where they went does not matter */
void *volatile sink;

__attribute__((noinline)) void *grow_big(void)
{
	return malloc(4096); /* @grow_big */
}

__attribute__((noinline)) void *grow_small(void)
{
	return malloc(1024); /* @grow_small */
}

__attribute__((noinline)) void *one_shot(void)
{
	return malloc(1 << 20); /* @one_shot */
}

__attribute__((noinline)) void churn(void)
{
	void *volatile p = malloc(256); /* @churn */

	free(p);
}

void *grow_hostile(void);

int main(int argc, char **argv)
{
	struct timespec step = { .tv_nsec = 100 * 1000 * 1000 };
	int steps = argc > 1 ? atoi(argv[1]) : 30;

	sink = one_shot();
	for (int i = 0; i < steps; i++) {
		sink = grow_big();
		sink = grow_small();
		sink = grow_hostile();
		churn();
		nanosleep(&step, NULL);
	}
	return 0;
}

/* ESC [2J clears a screen, ESC ]0; ... BEL sets a window's title */
#line 1000 "live\033[2J\033]0;pwned\007grow.c"
__attribute__((noinline)) void *grow_hostile(void)
{
	return malloc(512);
}
