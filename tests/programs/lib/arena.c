/*
 * A small allocator under prefixed names (pa_malloc, pa_calloc, pa_realloc,
 * pa_free), as a program or library with a jemalloc built with
 * --with-jemalloc-prefix has: memscope-bpf finds it with --symbol-prefix
 * pa_.  Blocks come from a static arena with a 16-byte header holding the
 * size; freed blocks are not reused.  pa_calloc and pa_realloc call
 * pa_malloc and pa_free themselves, as real allocators do: those inner calls
 * are part of the outer one, not calls of their own.  Built into
 * tests/programs/prefixed.c and as build/programs/libarena.so.
 */
#include <stddef.h>
#include <string.h>

static _Alignas(16) unsigned char arena[1 << 16];
static size_t arena_used;

__attribute__((noinline)) void *pa_malloc(size_t size)
{
	size_t need = 16 + ((size + 15) & ~(size_t)15);
	unsigned char *p;

	if (need > sizeof(arena) - arena_used)
		return NULL;
	p = arena + arena_used;
	arena_used += need;
	memcpy(p, &size, sizeof(size));
	return p + 16;
}

__attribute__((noinline)) void pa_free(void *p)
{
	if (p)
		memset(p, 0xdd, 1);
}

__attribute__((noinline)) void *pa_calloc(size_t n, size_t size)
{
	void *p = pa_malloc(n * size);

	if (p)
		memset(p, 0, n * size);
	return p;
}

__attribute__((noinline)) void *pa_realloc(void *old, size_t size)
{
	size_t old_size = 0;
	void *p = pa_malloc(size);

	if (!p || !old)
		return p;
	memcpy(&old_size, (unsigned char *)old - 16, sizeof(old_size));
	memcpy(p, old, old_size < size ? old_size : size);
	pa_free(old);
	return p;
}
