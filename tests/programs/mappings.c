/*
 * Anonymous mappings known by construction, beside a heap (page = 4096):
 *   map_keep:   3 x mmap(5 pages), never unmapped                 (15 pages live)
 *   map_trim:   1 x mmap(8 pages), its last 3 munmap'ed           (5 pages live)
 *   map_grow:   1 x mmap(2 pages) grown by mremap to 6 (moved)    (6 pages live)
 *   map_churn:  10 x (mmap(1 page), munmap)                       (nothing live)
 *   big_block:  1 x malloc(1 MiB): glibc maps it itself; it is the heap's,
 *               counted once (as one block), freed at the end
 *   small:      4 x malloc(100), never freed (the break heap grows)
 * The program maps 26 pages that stay, at 3 sites; 8 + 2 + 10 mmap calls
 * at its sites, 11 munmap calls, 1 mremap.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>

#define PAGE 4096

void *volatile sink[16];

/* a macro, not a function: the mapping's site is the function that maps */
#define anon(len) mmap(NULL, (len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)

__attribute__((noinline)) void map_keep(int i)
{
	sink[i] = anon(5 * PAGE); /* @map_keep */
}

__attribute__((noinline)) void map_trim(void)
{
	char *p = anon(8 * PAGE); /* @map_trim */

	munmap(p + 5 * PAGE, 3 * PAGE);
	sink[3] = p;
}

__attribute__((noinline)) void map_grow(void)
{
	void *p = anon(2 * PAGE); /* @map_grow */

	/* a page taken after it, so the growth has to move */
	sink[5] = anon(PAGE); /* @map_block */
	munmap(sink[5], PAGE);
	sink[4] = mremap(p, 2 * PAGE, 6 * PAGE, MREMAP_MAYMOVE);
}

__attribute__((noinline)) void map_churn(void)
{
	for (int i = 0; i < 10; i++) {
		void *p = anon(PAGE); /* @map_churn */

		munmap(p, PAGE);
	}
}

int main(void)
{
	void *big;

	for (int i = 0; i < 3; i++)
		map_keep(i);
	map_trim();
	map_grow();
	map_churn();
	big = malloc(1 << 20); /* @big_block */
	for (int i = 0; i < 4; i++)
		sink[8 + i] = malloc(100); /* @small */
	free(big);
	return 0;
}
