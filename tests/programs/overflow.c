// SPDX-License-Identifier: MIT
/*
 * Writes past the end of heap blocks, inside the slack glibc's malloc gives
 * them (malloc_usable_size() less the request), for --check-overflow
 * (tests/e2e/e2e.c "Heap overflows"): 1 byte past a 20-byte block (4 bytes
 * of slack), 3 past a 25-byte one (15), 8 past a 4990-byte one (10), 1 past
 * a 99990-byte one kept live to the end (18), 2 past a 20-byte block that
 * realloc then grows.  A 100-byte block and a 200-byte one (no slack) are
 * freed untouched; a calloc'd block and a realloc'd one are checked by the
 * program itself: it exits 1 if what it reads is not what it wrote.
 * With "clean" as its argument it overflows nothing; with "nul" it only
 * writes a 0 one past the end of a fresh 20-byte block, where a 0 was: the
 * read way cannot see it, the canary way does.
 */
#include <stdlib.h>
#include <string.h>

/* the write past the end, kept from the compiler's sight: each byte changed */
static void __attribute__((noinline)) poke(char *p, size_t at, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[at + i] = (char)~p[at + i];
}

/* a string's terminator one past its end, on fresh memory: a 0 where a 0 was */
static int __attribute__((noinline)) nul_past_end(void)
{
	char *s = malloc(20); /* @ov_alloc_nul */

	if (!s)
		return 1;
	memset(s, 'x', 20);
	s[20] = 0;
	free(s); /* @ov_free_nul */
	return 0;
}

static char *__attribute__((noinline)) block_1(void)
{
	return malloc(20); /* @ov_alloc1 */
}

static char *__attribute__((noinline)) block_3(void)
{
	return malloc(25); /* @ov_alloc3 */
}

static char *__attribute__((noinline)) block_8(void)
{
	return malloc(4990); /* @ov_alloc8 */
}

static char *__attribute__((noinline)) block_live(void)
{
	return malloc(99990); /* @ov_alloc_live */
}

static char *__attribute__((noinline)) block_realloc(void)
{
	return malloc(20); /* @ov_alloc_realloc */
}

static char *__attribute__((noinline)) block_clean(size_t n)
{
	return malloc(n);
}

/* calloc'd memory reads as zeros, and realloc keeps the contents */
static int __attribute__((noinline)) contents_kept(void)
{
	unsigned char *z = calloc(10, 5);
	char *r = malloc(30);
	int bad = 0;

	if (!z || !r)
		return 1;
	/* what it asked for: its slack may hold the canary way's pattern */
	for (size_t i = 0; i < 50; i++)
		bad |= z[i];
	for (int i = 0; i < 30; i++)
		r[i] = (char)i;
	r = realloc(r, 3000);
	for (int i = 0; r && i < 30; i++)
		bad |= r[i] != (char)i;
	free(z);
	free(r);
	return bad || !r;
}

static char *keep;

int main(int argc, char **argv)
{
	int clean = argc > 1 && !strcmp(argv[1], "clean");
	char *a, *b, *c, *g, *e, *f;

	if (argc > 1 && !strcmp(argv[1], "nul"))
		return nul_past_end();
	a = block_1();
	b = block_3();
	c = block_8();
	g = block_realloc();
	e = block_clean(100);
	f = block_clean(200);

	keep = block_live();
	if (!a || !b || !c || !g || !e || !f || !keep)
		return 1;
	memset(e, 1, 100);
	memset(f, 2, 200);
	if (!clean) {
		poke(a, 20, 1);
		poke(b, 25, 3);
		poke(c, 4990, 8);
		poke(keep, 99990, 1);
		poke(g, 20, 2);
	}
	free(a); /* @ov_free1 */
	free(b); /* @ov_free3 */
	free(c); /* @ov_free8 */
	g = realloc(g, 2000); /* @ov_realloc */
	free(g);
	free(e);
	free(f);
	return contents_kept();
}
