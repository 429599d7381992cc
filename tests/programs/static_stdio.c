/*
 * Linked statically (Makefile): libc is in this file.  Its stdout buffer
 * (printf's first output) and what its static startup allocates are the C
 * library's (tests/e2e); the one block leaked here is the program's.
 */
#include <stdio.h>
#include <stdlib.h>

void *volatile keep;

__attribute__((noinline)) static void leak(void)
{
	keep = malloc(33); /* @static_leak */
}

int main(void)
{
	leak();
	printf("static %d\n", 42);
	return 0;
}
