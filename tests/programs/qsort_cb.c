/*
 * Allocations from a qsort comparator: the chain from the allocation back
 * to main passes through glibc's qsort (no frame pointers there), so only
 * unwinding by CFI gets past it.
 *   remember: 5 x 48 bytes, leaked, from the first 5 comparisons
 */
#include <stdlib.h>

void *volatile sink[16];
static int kept;

__attribute__((noinline)) void remember(const int *a)
{
	if (kept < 5)
		sink[kept++] = malloc(48); /* @cmp_leak */
	sink[15] = (void *)a;
}

static int cmp(const void *a, const void *b)
{
	remember(a);
	return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) void sort_them(int *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp); /* @qsort_call */
	sink[14] = v;
}

int main(void)
{
	int v[8] = { 5, 3, 8, 1, 9, 2, 7, 4 };

	sort_them(v, 8); /* @main_sort */
	return 0;
}
