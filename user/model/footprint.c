// SPDX-License-Identifier: MIT
#include <stdlib.h>

#include "footprint.h"
#include "util.h"

/* glibc's HEAP_MAX_SIZE on 64-bit: 2 * DEFAULT_MMAP_THRESHOLD_MAX */
#define ARENA_ALIGN (64ull << 20)
/* an mmap()ed chunk's block: past its prev_size and size words */
#define MMAP_BLOCK_OFFSET 16
#define PAGE 4096ull
/* page starts looked up in one reading's walks of merged mappings, at most */
#define WALK_BUDGET (1u << 20)

/* glibc's size of the mmap()ed chunk that serves a request of n bytes */
static uint64_t mmapped_chunk(uint64_t n)
{
	uint64_t nb = (n + 8 + 15) & ~15ull;

	return (nb + 8 + PAGE - 1) & ~(PAGE - 1);
}

/*
 * The mmapped chunks inside one anonymous mapping that starts with none:
 * the kernel merges neighbouring anonymous mappings of the same protection,
 * so glibc's chunk mappings (and the program's own) can show as one range.
 * A chunk starts on a page with its block 16 bytes in; each page start is
 * looked up, and a chunk found is skipped whole.  A mapping that is one
 * chunk takes one lookup; the budget counts those past a mapping's first
 * page.
 */
static void walk_merged(const struct live_table *live, uint64_t start, uint64_t end,
			struct footprint_reading *r, uint32_t *budget)
{
	for (uint64_t p = start; p + MMAP_BLOCK_OFFSET < end;) {
		const struct live_block *b;
		uint64_t len;

		if (p != start) {
			if (!*budget)
				break;
			(*budget)--;
		}
		b = live_table__get(live, p + MMAP_BLOCK_OFFSET);
		if (!b) {
			p += PAGE;
			continue;
		}
		len = mmapped_chunk(b->size);
		if (len > end - p)
			len = end - p;
		r->mmapped += len;
		r->mmapped_live += b->size;
		r->nmmapped++;
		p += len;
	}
}

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
	uint32_t budget = WALK_BUDGET;

	for (size_t i = 0; i < n; i++) {
		uint64_t len = v[i].end - v[i].start;

		if (v[i].end <= v[i].start)
			continue;
		/* a block's own mapping first: it may be 64 MiB-aligned by chance */
		if (v[i].kind == FOOTPRINT_BRK) {
			r.brk += len;
		} else if (v[i].start % ARENA_ALIGN == 0 &&
			   !live_table__get(live, v[i].start + MMAP_BLOCK_OFFSET)) {
			r.arenas += len;
			r.narenas++;
		} else {
			walk_merged(live, v[i].start, v[i].end, &r, &budget);
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
