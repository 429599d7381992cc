/* Exits with the status given as argv[1] after leaking 1 x 42 bytes; with
 * "segv" it leaks and then dies of SIGSEGV. */
#include <stdlib.h>
#include <string.h>

void *volatile sink;

__attribute__((noinline)) void leak_one(void)
{
	sink = malloc(42); /* @leak_one */
}

int main(int argc, char **argv)
{
	leak_one();
	if (argc > 1 && strcmp(argv[1], "segv") == 0)
		*(volatile int *)0 = 1;
	return argc > 1 ? atoi(argv[1]) : 0;
}
