// SPDX-License-Identifier: MIT
#include <stdlib.h>

#include "footprint.h"
#include "util.h"

/* glibc's HEAP_MAX_SIZE on 64-bit: 2 * DEFAULT_MMAP_THRESHOLD_MAX */
#define ARENA_ALIGN (64ull << 20)
/* an mmap()ed chunk's block: past its prev_size and size words */
#define MMAP_BLOCK_OFFSET 16

struct footprint {
	const struct heap *heap;
	struct footprint_reading last, peak;
	bool have;
};

struct footprint *footprint__new(const struct heap *h)
{
	struct footprint *fp = xcalloc(1, sizeof(*fp));

	fp->heap = h;
	return fp;
}

void footprint__free(struct footprint *fp)
{
	free(fp);
}

uint64_t footprint__reading(struct footprint *fp, uint64_t now_ns,
			    const struct footprint_range *v, size_t n)
{
	const struct live_table *live = heap__live(fp->heap);
	struct footprint_reading r = { .t_ns = now_ns,
				       .live_bytes = heap__totals(fp->heap)->live_bytes };

	for (size_t i = 0; i < n; i++) {
		uint64_t len = v[i].end - v[i].start;
		const struct live_block *b;

		if (v[i].end <= v[i].start)
			continue;
		/* a block's own mapping first: it may be 64 MiB-aligned by chance */
		if (v[i].kind == FOOTPRINT_BRK) {
			r.brk += len;
		} else if ((b = live_table__get(live, v[i].start + MMAP_BLOCK_OFFSET))) {
			r.mmapped += len;
			r.mmapped_live += b->size;
			r.nmmapped++;
		} else if (v[i].start % ARENA_ALIGN == 0) {
			r.arenas += len;
			r.narenas++;
		}
	}
	r.total = r.brk + r.arenas + r.mmapped;
	fp->last = r;
	if (!fp->have || r.total > fp->peak.total)
		fp->peak = r;
	fp->have = true;
	return r.total;
}

bool footprint__last(const struct footprint *fp, struct footprint_reading *out)
{
	*out = fp->last;
	return fp->have;
}

bool footprint__peak(const struct footprint *fp, struct footprint_reading *out)
{
	*out = fp->peak;
	return fp->have;
}
