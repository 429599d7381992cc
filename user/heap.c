/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "util.h"

struct heap {
	struct live_table *live;
	struct heap_totals t;
	struct heap_site *sites; /* indexed by stack index */
	size_t nsites;
};

struct heap *heap__new(size_t expected_live)
{
	struct heap *h = xcalloc(1, sizeof(*h));

	h->live = live_table__new(expected_live);
	return h;
}

void heap__free(struct heap *h)
{
	if (!h)
		return;
	live_table__free(h->live);
	free(h->sites);
	free(h);
}

/* Stack indexes are dense and grow one by one: double, do not step. */
static struct heap_site *site(struct heap *h, uint32_t stack)
{
	if (stack >= h->nsites) {
		size_t n = h->nsites ? h->nsites * 2 : 256;

		while (n <= stack)
			n *= 2;
		h->sites = xrealloc(h->sites, n * sizeof(*h->sites));
		memset(h->sites + h->nsites, 0, (n - h->nsites) * sizeof(*h->sites));
		h->nsites = n;
	}
	return &h->sites[stack];
}

/*
 * A block leaves the live set.  Its own allocation site loses it, not the
 * site of the release: leak reports are about where blocks were made.
 */
static void forget_block(struct heap *h, const struct live_block *b)
{
	struct heap_site *s = &h->sites[b->stack];

	h->t.frees++;
	h->t.bytes_freed += b->size;
	h->t.live_allocations--;
	h->t.live_bytes -= b->size;
	s->live_count--;
	s->live_bytes -= b->size;
}

static void release_ptr(struct heap *h, uint64_t ptr)
{
	struct live_block b;

	if (live_table__take(h->live, ptr, &b))
		forget_block(h, &b);
	else
		h->t.unknown_frees++;
}

/*
 * A replaced block's release was lost; it is counted as freed too (and in
 * replaced_blocks), so allocations - frees == live_allocations and
 * bytes_allocated - bytes_freed == live_bytes hold at every step.
 */
static void add_block(struct heap *h, const struct alloc_call *c)
{
	struct live_block b = {
		.ptr = c->ptr,
		.size = c->size,
		.ts_ns = c->ts_ns,
		.stack = c->stack,
		.tid = c->tid,
		.fn = c->fn,
	};
	struct live_block old;
	struct heap_site *s = site(h, c->stack);

	if (live_table__put(h->live, &b, &old) == 1) {
		h->t.replaced_blocks++;
		forget_block(h, &old);
	}
	h->t.allocations++;
	h->t.bytes_allocated += c->size;
	h->t.live_allocations++;
	h->t.live_bytes += c->size;
	s->allocations++;
	s->bytes += c->size;
	s->live_count++;
	s->live_bytes += c->size;
	/* strictly higher: peak_ts_ns keeps the first time the peak was reached */
	if (h->t.live_bytes > h->t.peak_bytes) {
		h->t.peak_bytes = h->t.live_bytes;
		h->t.peak_ts_ns = c->ts_ns;
	}
}

/* realloc(p, n) and reallocarray: see the rules in heap.h */
static void apply_realloc(struct heap *h, const struct alloc_call *c)
{
	if (c->ptr) {
		/* release first: q == p is a release and a new block */
		if (c->old_ptr)
			release_ptr(h, c->old_ptr);
		add_block(h, c);
	} else if (c->size == 0 && c->old_ptr) {
		/* glibc's realloc(p, 0) frees p and returns NULL */
		release_ptr(h, c->old_ptr);
	} else {
		/* p stays live: realloc leaves it alone when it fails */
		h->t.failed_allocations++;
	}
}

void heap__alloc(struct heap *h, const struct alloc_call *c)
{
	if (c->is_realloc)
		apply_realloc(h, c);
	else if (c->ptr)
		add_block(h, c);
	else
		h->t.failed_allocations++;
}

void heap__release(struct heap *h, const struct free_call *c)
{
	release_ptr(h, c->ptr);
}

const struct heap_totals *heap__totals(const struct heap *h)
{
	return &h->t;
}

const struct live_table *heap__live(const struct heap *h)
{
	return h->live;
}

const struct heap_site *heap__sites(const struct heap *h, size_t *n)
{
	*n = h->nsites;
	return h->sites;
}
