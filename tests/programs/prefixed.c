/*
 * Allocations known by construction through an allocator under prefixed
 * names (lib/arena.c: pa_malloc, pa_calloc, pa_realloc, pa_free), built into
 * this executable, or with a path argument taken from that shared object
 * with dlopen (--allocator-lib):
 *   keep:   4 x pa_malloc(40), never freed
 *   zeroed: 2 x pa_calloc(3, 16) = 48 bytes, never freed
 *   grow:   1 x pa_malloc(24) grown by pa_realloc to 72, never freed
 *   churn:  10 x pa_malloc(8) and pa_free
 * Nothing here calls malloc: without the prefix no allocation is the program's.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/arena.c"

static void *(*a_malloc)(size_t);
static void *(*a_calloc)(size_t, size_t);
static void *(*a_realloc)(void *, size_t);
static void (*a_free)(void *);

void *volatile sink[16];

__attribute__((noinline)) static void keep(int i)
{
	sink[i] = a_malloc(40); /* @pa_keep */
}

__attribute__((noinline)) static void zeroed(int i)
{
	sink[4 + i] = a_calloc(3, 16); /* @pa_zeroed */
}

__attribute__((noinline)) static void grow(void)
{
	void *p = a_malloc(24); /* @pa_grow_first */

	sink[6] = a_realloc(p, 72); /* @pa_grow */
}

__attribute__((noinline)) static void churn(void)
{
	for (int i = 0; i < 10; i++) {
		void *p = a_malloc(8); /* @pa_churn */

		a_free(p);
	}
}

int main(int argc, char **argv)
{
	a_malloc = pa_malloc, a_calloc = pa_calloc, a_realloc = pa_realloc, a_free = pa_free;
	if (argc > 1) {
		void *h = dlopen(argv[1], RTLD_NOW);

		if (!h) {
			fprintf(stderr, "prefixed: %s\n", dlerror());
			return 2;
		}
		a_malloc = (void *(*)(size_t))dlsym(h, "pa_malloc");
		a_calloc = (void *(*)(size_t, size_t))dlsym(h, "pa_calloc");
		a_realloc = (void *(*)(void *, size_t))dlsym(h, "pa_realloc");
		a_free = (void (*)(void *))dlsym(h, "pa_free");
		if (!a_malloc || !a_calloc || !a_realloc || !a_free)
			return 2;
	}
	for (int i = 0; i < 4; i++)
		keep(i);
	for (int i = 0; i < 2; i++)
		zeroed(i);
	grow();
	churn();
	return 0;
}
