/*
 * A known allocation pattern for --sample-bytes 1024 (tests/e2e):
 *   big_churn:  200 x 64 KiB malloc/free; 64 KiB is 64 mean gaps, so every
 *               one is sampled and weighs exactly 1 (p rounds to 1)
 *   big_leak:   10 x 64 KiB never freed
 *   small:      100000 x 16 B malloc/free: about 1.5% sampled, each standing
 *               for ~65 blocks
 *   shrink:     20 x a 64 KiB block realloc'ed to 16 B then freed (the old
 *               block is sampled, the new one seldom)
 *   grow:       20 x a 16 B block realloc'ed to 64 KiB then freed (the old
 *               block seldom sampled, the new one always)
 *   big_held:   50 x a 64 KiB block freed after an 8 B allocation (seldom
 *               sampled): not temporary, though the loader sees no
 *               allocation between the two calls it was sent
 * Nothing else is allocated: the program prints nothing.
 */
#include <stdlib.h>

#define BIG (64 * 1024)

void *volatile sink[16];

__attribute__((noinline)) void big_churn(void)
{
	for (int i = 0; i < 200; i++) {
		void *p = malloc(BIG); /* @big_churn */

		free(p);
	}
}

__attribute__((noinline)) void big_leak(void)
{
	for (int i = 0; i < 10; i++)
		sink[i] = malloc(BIG); /* @big_leak */
}

__attribute__((noinline)) void small(void)
{
	for (int i = 0; i < 100000; i++) {
		void *p = malloc(16); /* @small */

		free(p);
	}
}

__attribute__((noinline)) void shrink_and_grow(void)
{
	for (int i = 0; i < 20; i++) {
		char *p = malloc(BIG);

		p = realloc(p, 16);
		free(p);
		p = malloc(16);
		p = realloc(p, BIG);
		free(p);
	}
}

__attribute__((noinline)) void big_held(void)
{
	for (int i = 0; i < 50; i++) {
		void *p = malloc(BIG); /* @big_held */
		void *q = malloc(8);

		free(p);
		free(q);
	}
}

int main(void)
{
	big_churn();
	big_leak();
	small();
	shrink_and_grow();
	big_held();
	return 0;
}
