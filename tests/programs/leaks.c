/*
 * Leaks known by construction.  Lines the tests look for carry a tag
 * comment ("@name"), so the tests find them without hard-coding numbers.
 *   leak_malloc:  3 x 100 bytes   (malloc)
 *   leak_calloc:  2 x 10 x 20     (calloc, 400 bytes)
 *   leak_realloc: 1 x 64 grown to 256 (realloc keeps one live block)
 *   churn:        50 malloc/free pairs of 32 bytes, nothing left
 *   leak_strdup:  1 x strdup("hello") = 6 bytes, allocated inside libc
 */
#include <stdlib.h>
#include <string.h>

void *volatile sink[16];

__attribute__((noinline)) void leak_malloc(int i)
{
	sink[i] = malloc(100); /* @leak_malloc */
}

__attribute__((noinline)) void leak_calloc(int i)
{
	sink[3 + i] = calloc(10, 20); /* @leak_calloc */
}

__attribute__((noinline)) void leak_realloc(void)
{
	char *p = malloc(64); /* @realloc_first */

	sink[5] = realloc(p, 256); /* @leak_realloc */
}

__attribute__((noinline)) void churn(void)
{
	for (int i = 0; i < 50; i++) {
		void *p = malloc(32); /* @churn */

		free(p);
	}
}

__attribute__((noinline)) void leak_strdup(void)
{
	sink[6] = strdup("hello"); /* @leak_strdup */
}

int main(void)
{
	for (int i = 0; i < 3; i++)
		leak_malloc(i);
	for (int i = 0; i < 2; i++)
		leak_calloc(i);
	leak_realloc();
	churn();
	leak_strdup(); /* @main_strdup */
	return 0;
}
