/* Frees one block twice: glibc detects it and aborts (SIGABRT). */
#include <stdlib.h>

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

int main(void)
{
	void *p = make();

	release(p);
	release_again(p);
	return 0;
}
