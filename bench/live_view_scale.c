/*
 * Cost of one live view (--live) against the number of sites: NSITES sites
 * each get a block between two views (every site grows: the most a view can
 * have to rank), then the view is taken and written, as plain lines, to
 * /dev/null.  Prints the median and the slowest of VIEWS views.  What a
 * terminal adds (its rows symbolized) is left out: no target here.
 * Usage: live_view_scale [NSITES [VIEWS]]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "heap.h"
#include "live_view.h"
#include "stacks.h"
#include "util.h"

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned nsites = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
	unsigned views = argc > 2 ? (unsigned)atoi(argv[2]) : 21;
	struct heap *heap = heap__new((size_t)nsites * views);
	struct stack_table *stacks = stack_table__new();
	uint64_t *took = calloc(views, sizeof(*took)), ptr = 0x10000, t = ms_now_ns();
	int fd = open("/dev/null", O_WRONLY);
	struct live_view_opts o = { .sz = sizeof(o), .fd = fd, .period_ns = 1000000000ull,
				    .start_ns = t, .pid = 1, .comm = "bench", .heap = heap,
				    .stacks = stacks };
	struct live_view *v = live_view__new(&o);

	if (fd < 0 || !took)
		return 1;
	for (unsigned k = 0; k < views; k++) {
		uint64_t t0;

		for (unsigned i = 0; i < nsites; i++) {
			struct alloc_call c = { .tid = 1, .ts_ns = t, .ptr = ptr += 64,
						.size = 16 + (i * 7 + k) % 64, .stack = i };

			heap__alloc(heap, &c);
		}
		t += o.period_ns;
		t0 = ms_now_ns();
		live_view__show(v, t, 0, false);
		took[k] = ms_now_ns() - t0;
	}
	qsort(took, views, sizeof(*took), by_value);
	printf("%u sites, %u views: median %.3f ms, slowest %.3f ms\n", nsites, views,
	       (double)took[views / 2] / 1e6, (double)took[views - 1] / 1e6);
	live_view__free(v);
	heap__free(heap);
	stack_table__free(stacks);
	free(took);
	close(fd);
	return 0;
}
