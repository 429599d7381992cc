// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "mappings.h"
#include "memscope_events.h"
#include "stacks.h"
#include "util.h"

enum owner { OWN_PROGRAM, OWN_ALLOCATOR };

struct region {
	uint64_t start, end;
	uint32_t stack;
	uint8_t owner;
};

struct mappings {
	/* live anonymous mappings, sorted by start, never overlapping */
	struct region *v;
	size_t n, cap;
	struct mapping_totals own[2]; /* by enum owner */
	struct mapping_totals brk;
	struct mapping_site *sites;
	size_t nsites, cap_sites;
	uint64_t calls[MS_MAP_BRK + 1];
};

struct mappings *mappings__new(void)
{
	return xcalloc(1, sizeof(struct mappings));
}

void mappings__free(struct mappings *m)
{
	if (!m)
		return;
	free(m->v);
	free(m->sites);
	free(m);
}

static struct mapping_site *site_of(struct mappings *m, uint32_t stack)
{
	for (size_t i = m->nsites; i-- > 0;)
		if (m->sites[i].stack == stack)
			return &m->sites[i];
	if (m->nsites == m->cap_sites) {
		m->cap_sites = m->cap_sites ? 2 * m->cap_sites : 16;
		m->sites = xrealloc(m->sites, m->cap_sites * sizeof(*m->sites));
	}
	m->sites[m->nsites] = (struct mapping_site){ .stack = stack };
	return &m->sites[m->nsites++];
}

/* A region's bytes in or out of its owner's totals (and its site's). */
static void account(struct mappings *m, const struct region *r, int sign)
{
	struct mapping_totals *t = &m->own[r->owner];
	uint64_t len = r->end - r->start;

	t->bytes = sign > 0 ? t->bytes + len : t->bytes - len;
	t->count = sign > 0 ? t->count + 1 : t->count - 1;
	if (r->owner == OWN_PROGRAM) {
		struct mapping_site *s = site_of(m, r->stack);

		s->bytes = sign > 0 ? s->bytes + len : s->bytes - len;
		s->count = sign > 0 ? s->count + 1 : s->count - 1;
	}
}

/* The first region that ends after addr. */
static size_t first_after(const struct mappings *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void insert_at(struct mappings *m, size_t i, const struct region *r)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
	m->v[i] = *r;
	m->n++;
	account(m, r, 1);
}

/*
 * Takes [lo, hi) out of every region, splitting those it cuts.  Returns the
 * bytes removed; *first: the first piece removed (its owner and stack), when
 * any (first->start == first->end otherwise).
 */
static uint64_t remove_range(struct mappings *m, uint64_t lo, uint64_t hi, struct region *first)
{
	size_t i = first_after(m, lo);
	uint64_t removed = 0;

	memset(first, 0, sizeof(*first));
	while (i < m->n && m->v[i].start < hi) {
		struct region r = m->v[i], left = r, right = r;

		if (!removed && first->start == first->end) {
			*first = r;
			first->start = r.start > lo ? r.start : lo;
			first->end = r.end < hi ? r.end : hi;
		}
		account(m, &r, -1);
		memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
		m->n--;
		left.end = lo;
		right.start = hi;
		removed += (r.end < hi ? r.end : hi) - (r.start > lo ? r.start : lo);
		if (left.start < left.end)
			insert_at(m, i++, &left);
		if (right.start < right.end)
			insert_at(m, i++, &right);
	}
	return removed;
}

static void note_peaks(struct mapping_totals *t, uint64_t ts)
{
	if (t->bytes > t->peak_bytes) {
		t->peak_bytes = t->bytes;
		t->peak_ts_ns = ts;
	}
}

/* A new region [addr, addr + len) of owner at stack, what it covered replaced. */
static void add_region(struct mappings *m, uint64_t addr, uint64_t len, uint8_t owner,
		       uint32_t stack)
{
	struct region r = { .start = addr, .end = addr + len, .owner = owner, .stack = stack };
	struct region gone;
	uint64_t removed;

	if (!len || r.end < r.start)
		return;
	removed = remove_range(m, r.start, r.end, &gone);
	if (removed && gone.start < gone.end)
		m->own[gone.owner].unmapped_bytes += removed;
	insert_at(m, first_after(m, r.start), &r);
	m->own[owner].mapped_bytes += len;
	if (owner == OWN_PROGRAM) {
		struct mapping_site *s = site_of(m, stack);

		s->mapped_bytes += len;
		s->calls++;
	}
}

#define MS_MREMAP_DONTUNMAP 4

void mappings__apply(struct mappings *m, const struct map_call *c)
{
	uint8_t owner = c->allocator ? OWN_ALLOCATOR : OWN_PROGRAM;
	struct region gone;
	uint64_t removed;

	if (c->op >= 1 && c->op <= MS_MAP_BRK)
		m->calls[c->op]++;
	switch (c->op) {
	case MS_MAP_MMAP:
		add_region(m, c->addr, c->len, owner, c->stack);
		break;
	case MS_MAP_MUNMAP:
		removed = remove_range(m, c->addr, c->addr + c->len, &gone);
		if (removed)
			m->own[gone.owner].unmapped_bytes += removed;
		break;
	case MS_MAP_MREMAP:
		if (c->mflags & MS_MREMAP_DONTUNMAP) {
			/* the old range stays mapped (emptied): the new one is added */
			struct region *r = NULL;
			size_t i = first_after(m, c->old_addr);

			if (i < m->n && m->v[i].start <= c->old_addr)
				r = &m->v[i];
			if (r)
				add_region(m, c->addr, c->len, r->owner, r->stack);
			break;
		}
		removed = remove_range(m, c->old_addr, c->old_addr + c->old_len, &gone);
		if (!removed)
			break;
		/* the allocator's realloc moves its block's pages: still the allocator's */
		if (c->allocator)
			gone.owner = OWN_ALLOCATOR;
		m->own[gone.owner].unmapped_bytes += removed;
		add_region(m, c->addr, c->len, gone.owner, gone.stack);
		break;
	case MS_MAP_BRK:
		if (c->len > m->brk.bytes)
			m->brk.mapped_bytes += c->len - m->brk.bytes;
		else
			m->brk.unmapped_bytes += m->brk.bytes - c->len;
		m->brk.bytes = c->len;
		m->brk.count = c->len ? 1 : 0;
		note_peaks(&m->brk, c->ts_ns);
		break;
	}
	note_peaks(&m->own[OWN_PROGRAM], c->ts_ns);
	note_peaks(&m->own[OWN_ALLOCATOR], c->ts_ns);
}

const struct mapping_totals *mappings__program(const struct mappings *m)
{
	return &m->own[OWN_PROGRAM];
}

const struct mapping_totals *mappings__allocator(const struct mappings *m)
{
	return &m->own[OWN_ALLOCATOR];
}

const struct mapping_totals *mappings__brk(const struct mappings *m)
{
	return &m->brk;
}

uint64_t mappings__calls(const struct mappings *m, unsigned op)
{
	return op >= 1 && op <= MS_MAP_BRK ? m->calls[op] : 0;
}

const struct mapping_site *mappings__sites(const struct mappings *m, size_t *n)
{
	*n = m->nsites;
	return m->sites;
}
