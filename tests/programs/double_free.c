/*
 * Frees one block twice: glibc detects it and aborts (SIGABRT).  With the
 * argument "atexit", in a handler that exit() runs, as a global destructor
 * would.
 */
#include <stdlib.h>
#include <string.h>

void *volatile sink;

__attribute__((noinline)) void *make(void)
{
	return malloc(48); /* @df_alloc */
}

__attribute__((noinline)) void release(void *p)
{
	free(p); /* @df_free1 */
}

__attribute__((noinline)) void release_again(void *p)
{
	free(p); /* @df_free2 */
}

static void twice(void)
{
	void *p = make();

	release(p);
	release_again(p);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "atexit")) {
		release(make()); /* the thread has called the allocator before exit() */
		atexit(twice);
		return 0;
	}
	twice();
	return 0;
}
