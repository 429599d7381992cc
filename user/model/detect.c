/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "stacks.h"
#include "memscope_events.h"
#include "util.h"

_Static_assert(sizeof(struct finding) == 64, "struct finding is one cache line's size");
_Static_assert(FINDING__COUNT <= 256, "finding kinds fit in struct finding's kind");

/* blocks this big are found through the region index, smaller ones by probing */
#define BIG_BLOCK 4096u
#define REGION_SHIFT 20
/* glibc's chunks on 64-bit targets are 16-aligned */
#define PROBE_STEP 16u

/*
 * A recently released block: what a finding about it needs.  The FIFO of
 * the last freed_cap releases is a ring of these, written in order (one
 * sequential store per release, nothing else): records are looked up only
 * for releases of addresses not live, which are rare, so the index from
 * address to record is brought up to date then (freed_lookup()), not at
 * every release and allocation.
 */
struct freed {
	uint64_t ptr;
	uint32_t alloc_stack;
	uint32_t free_stack;
	uint32_t free_tid;
	uint8_t alloc_fn;
	uint8_t free_fn;
};

/* address -> seq of its latest release among those indexed; ptr 0: empty */
struct freed_ix {
	uint64_t ptr;
	uint64_t seq;
};

struct big_block {
	uint64_t ptr;
	uint64_t size;
};

/* The live blocks of BIG_BLOCK bytes or more that overlap one 1 MiB region. */
struct region {
	uint64_t key; /* region number + 1; 0: empty slot */
	uint32_t n, cap;
	struct big_block *blocks;
};

struct detector {
	struct heap *heap;
	uint64_t mixed; /* bit per MS_FN: its probe serves several families */

	size_t freed_cap;   /* ring length; 0: nothing remembered */
	struct freed *ring; /* release seq is at ring[seq % freed_cap] */
	uint64_t seq;       /* releases pushed so far */
	/*
	 * The index covers releases below indexed_seq; made on the first
	 * lookup.  Entries whose release left the ring stay until the table
	 * passes its load limit, then it is rebuilt from the ring: amortised
	 * O(1) per release, and only for traces that look records up.
	 */
	struct freed_ix *ix;
	size_t ixmask, ixcount;
	uint64_t indexed_seq;

	struct region *rtab;
	size_t rmask, nregions;

	struct finding *findings;
	size_t nfindings, findings_cap;
	uint32_t *fslots; /* finding index + 1; 0: empty */
	size_t fslot_mask;
	detector_internal_fn internal;
	void *internal_ctx;
	uint64_t internal_releases;
};

static size_t pow2_above(size_t n)
{
	size_t cap = 16;

	while (cap < n)
		cap <<= 1;
	return cap;
}

/* ---------------------------------------------------------- freed blocks */

static size_t freed_ix_slot(const struct detector *d, uint64_t ptr)
{
	size_t i = ms_hash64(ptr) & d->ixmask;

	while (d->ix[i].ptr && d->ix[i].ptr != ptr)
		i = (i + 1) & d->ixmask;
	return i;
}

/* Release seq becomes ptr's latest. */
static void freed_ix_put(struct detector *d, uint64_t ptr, uint64_t seq)
{
	size_t i = freed_ix_slot(d, ptr);

	if (!d->ix[i].ptr) {
		d->ix[i].ptr = ptr;
		d->ixcount++;
	}
	d->ix[i].seq = seq;
}

/* The oldest release still in the ring. */
static uint64_t freed_first_seq(const struct detector *d)
{
	return d->seq > d->freed_cap ? d->seq - d->freed_cap : 0;
}

/* Indexes the releases since the last lookup. */
static void freed_catch_up(struct detector *d)
{
	/* load at most 7/10, with room for the whole ring and as much again of stale entries */
	size_t limit = (d->ixmask + 1) * 7 / 10;
	uint64_t s = d->indexed_seq;

	if (!d->ix) {
		size_t cap = pow2_above(d->freed_cap * 3);

		d->ix = ms_big_zalloc(cap * sizeof(*d->ix));
		d->ixmask = cap - 1;
		limit = cap * 7 / 10;
	}
	if (s < freed_first_seq(d) || d->ixcount + (d->seq - s) > limit) {
		memset(d->ix, 0, (d->ixmask + 1) * sizeof(*d->ix));
		d->ixcount = 0;
		s = freed_first_seq(d);
	}
	for (; s < d->seq; s++)
		freed_ix_put(d, d->ring[s % d->freed_cap].ptr, s);
	d->indexed_seq = s;
}

/*
 * The latest release of ptr while it is not live, or NULL.  A release is
 * the one to report only if ptr was not handed out again since; the caller
 * knows ptr is not live, and a block handed out again that left the live
 * table was released again (a newer record) or replaced by one still live.
 */
static const struct freed *freed_lookup(struct detector *d, uint64_t ptr)
{
	const struct freed_ix *e;

	if (!d->freed_cap)
		return NULL;
	freed_catch_up(d);
	e = &d->ix[freed_ix_slot(d, ptr)];
	if (!e->ptr || e->seq < freed_first_seq(d))
		return NULL;
	return &d->ring[e->seq % d->freed_cap];
}

static void freed_push(struct detector *d, const struct freed *rec)
{
	if (!d->freed_cap)
		return;
	d->ring[d->seq % d->freed_cap] = *rec;
	d->seq++;
}

/* ---------------------------------------------------------- region index */

static size_t region_slot(const struct detector *d, uint64_t key)
{
	size_t i = ms_hash64(key) & d->rmask;

	while (d->rtab[i].key && d->rtab[i].key != key)
		i = (i + 1) & d->rmask;
	return i;
}

static void regions_grow(struct detector *d)
{
	struct region *old = d->rtab;
	size_t old_cap = d->rmask + 1, i;

	d->rtab = xcalloc(old_cap * 2, sizeof(*d->rtab));
	d->rmask = old_cap * 2 - 1;
	for (i = 0; i < old_cap; i++)
		if (old[i].key)
			d->rtab[region_slot(d, old[i].key)] = old[i];
	free(old);
}

static void region_delete_at(struct detector *d, size_t hole)
{
	size_t j = hole;

	free(d->rtab[hole].blocks);
	for (;;) {
		size_t home;

		j = (j + 1) & d->rmask;
		if (!d->rtab[j].key)
			break;
		home = ms_hash64(d->rtab[j].key) & d->rmask;
		if (((j - home) & d->rmask) >= ((j - hole) & d->rmask)) {
			d->rtab[hole] = d->rtab[j];
			hole = j;
		}
	}
	memset(&d->rtab[hole], 0, sizeof(d->rtab[hole]));
	d->nregions--;
}

/*
 * A block is indexed in at most this many regions (its first 64 GiB): an
 * address further in is not found by detector__find_block().  No program
 * has such a block; a corrupt capture claiming one (2^63 bytes) would
 * otherwise index 2^43 regions.
 */
#define REGIONS_MAX_SPAN (1u << 16)

/* The regions a block overlaps, its last byte clamped to the address space. */
static void block_regions(const struct live_block *b, uint64_t *first, uint64_t *last)
{
	uint64_t end = b->ptr + b->size - 1;

	if (end < b->ptr)
		end = UINT64_MAX;
	*first = b->ptr >> REGION_SHIFT;
	*last = end >> REGION_SHIFT;
	if (*last - *first >= REGIONS_MAX_SPAN)
		*last = *first + REGIONS_MAX_SPAN - 1;
}

/* O(regions the block spans): one for all but blocks of megabytes */
static void regions_add(struct detector *d, const struct live_block *b)
{
	uint64_t r, first, last;

	block_regions(b, &first, &last);
	for (r = first;; r++) {
		struct region *g;
		size_t i;

		if ((d->nregions + 1) * 10 > (d->rmask + 1) * 7)
			regions_grow(d);
		i = region_slot(d, r + 1);
		g = &d->rtab[i];
		if (!g->key) {
			g->key = r + 1;
			d->nregions++;
		}
		if (g->n == g->cap) {
			g->cap = g->cap ? g->cap * 2 : 4;
			g->blocks = xrealloc(g->blocks, g->cap * sizeof(*g->blocks));
		}
		g->blocks[g->n++] = (struct big_block){ .ptr = b->ptr, .size = b->size };
		if (r == last)
			break;
	}
}

static void regions_remove(struct detector *d, const struct live_block *b)
{
	uint64_t r, first, last;

	block_regions(b, &first, &last);
	for (r = first;; r++) {
		size_t i = region_slot(d, r + 1), k;
		struct region *g = &d->rtab[i];

		for (k = 0; g->key && k < g->n; k++) {
			if (g->blocks[k].ptr == b->ptr) {
				g->blocks[k] = g->blocks[--g->n];
				break;
			}
		}
		if (g->key && !g->n)
			region_delete_at(d, i);
		if (r == last)
			break;
	}
}

/* ------------------------------------------------------------- findings */

static uint64_t finding_hash(enum finding_kind kind, uint32_t stack, uint32_t alloc_stack)
{
	return ms_hash64((uint64_t)kind << 62 ^ (uint64_t)stack << 32 ^ alloc_stack);
}

static size_t finding_slot(const struct detector *d, enum finding_kind kind, uint32_t stack,
			   uint32_t alloc_stack)
{
	size_t i = finding_hash(kind, stack, alloc_stack) & d->fslot_mask;

	while (d->fslots[i]) {
		const struct finding *f = &d->findings[d->fslots[i] - 1];

		if (f->kind == kind && f->stack == stack && f->alloc_stack == alloc_stack)
			break;
		i = (i + 1) & d->fslot_mask;
	}
	return i;
}

static void fslots_rebuild(struct detector *d, size_t cap)
{
	size_t k;

	free(d->fslots);
	d->fslots = xcalloc(cap, sizeof(*d->fslots));
	d->fslot_mask = cap - 1;
	for (k = 0; k < d->nfindings; k++) {
		const struct finding *f = &d->findings[k];

		d->fslots[finding_slot(d, f->kind, f->stack, f->alloc_stack)] = (uint32_t)k + 1;
	}
}

/* One more occurrence of f's kind at f's stacks; f describes it fully. */
static void report(struct detector *d, const struct finding *f)
{
	size_t i;

	if (d->nfindings == d->findings_cap) {
		d->findings_cap = d->findings_cap ? d->findings_cap * 2 : 16;
		d->findings = xrealloc(d->findings, d->findings_cap * sizeof(*d->findings));
		fslots_rebuild(d, d->findings_cap * 2);
	}
	i = finding_slot(d, f->kind, f->stack, f->alloc_stack);
	if (d->fslots[i]) {
		d->findings[d->fslots[i] - 1].occurrences++;
		return;
	}
	d->findings[d->nfindings] = *f;
	d->findings[d->nfindings].occurrences = 1;
	d->fslots[i] = (uint32_t)++d->nfindings;
}

/* The offending call, whichever of fc and rc it is. */
static void offender(struct finding *f, uint64_t ptr, const struct free_call *fc,
		     const struct alloc_call *rc)
{
	f->ptr = ptr;
	if (fc) {
		f->ts_ns = fc->ts_ns;
		f->tid = fc->tid;
		f->stack = fc->stack;
		f->fn = fc->fn;
	} else {
		f->ts_ns = rc->ts_ns;
		f->tid = rc->tid;
		f->stack = rc->stack;
		f->fn = rc->fn;
	}
}

/* ------------------------------------------------------------- families */

enum family { FAM_NONE, FAM_MALLOC, FAM_NEW, FAM_NEW_ARRAY };

/* realloc-made blocks have fn MS_FN_REALLOC(ARRAY): malloc family */
static enum family alloc_family(uint8_t fn)
{
	if (fn >= MS_FN_MALLOC && fn <= MS_FN_PVALLOC)
		return FAM_MALLOC;
	if (fn >= MS_FN_NEW && fn <= MS_FN_NEW_ALIGNED_NOTHROW)
		return FAM_NEW;
	if (fn >= MS_FN_NEW_ARRAY && fn <= MS_FN_NEW_ARRAY_ALIGNED_NOTHROW)
		return FAM_NEW_ARRAY;
	return FAM_NONE;
}

static enum family release_family(uint8_t fn)
{
	if (fn == MS_FN_FREE)
		return FAM_MALLOC;
	if (fn >= MS_FN_DELETE && fn <= MS_FN_DELETE_ALIGNED_NOTHROW)
		return FAM_NEW;
	if (fn >= MS_FN_DELETE_ARRAY && fn <= MS_FN_DELETE_ARRAY_ALIGNED_NOTHROW)
		return FAM_NEW_ARRAY;
	return FAM_NONE;
}

/* ---------------------------------------------------------------- hooks */

static void on_added(void *ctx, const struct live_block *b)
{
	struct detector *d = ctx;

	/* handed out again: freed_lookup() knows a live block is not a freed one */
	if (b->size >= BIG_BLOCK)
		regions_add(d, b);
}

static void on_removed(void *ctx, const struct live_block *b, const struct free_call *fc,
		       const struct alloc_call *rc)
{
	struct detector *d = ctx;
	struct freed rec;
	enum family want;

	if (b->size >= BIG_BLOCK)
		regions_remove(d, b);
	/*
	 * fc NULL and rc not a realloc of this block: rc replaced it, its
	 * release was lost, and rc's block is being added at the same address.
	 */
	if (!fc && !(rc->is_realloc && rc->old_ptr == b->ptr))
		return;
	want = fc ? release_family(fc->fn) : FAM_MALLOC;
	if ((fc && (d->mixed >> fc->fn & 1)) || (d->mixed >> b->fn & 1))
		want = FAM_NONE;
	if (want != FAM_NONE && alloc_family(b->fn) != FAM_NONE && want != alloc_family(b->fn)) {
		struct finding f = {
			.kind = FINDING_MISMATCHED_FREE,
			.alloc_stack = b->stack,
			.alloc_fn = b->fn,
		};

		offender(&f, b->ptr, fc, rc);
		report(d, &f);
	}
	rec = (struct freed){
		.ptr = b->ptr,
		.alloc_stack = b->stack,
		.free_stack = fc ? fc->stack : rc->stack,
		.free_tid = fc ? fc->tid : rc->tid,
		.alloc_fn = b->fn,
		.free_fn = fc ? fc->fn : rc->fn,
	};
	freed_push(d, &rec);
}

/* A live block of BIG_BLOCK bytes or more with ptr strictly inside. */
static const struct live_block *big_block_around(const struct detector *d, uint64_t ptr)
{
	const struct region *g;
	uint32_t k;

	g = &d->rtab[region_slot(d, (ptr >> REGION_SHIFT) + 1)];
	for (k = 0; g->key && k < g->n; k++)
		if (g->blocks[k].ptr < ptr && ptr - g->blocks[k].ptr < g->blocks[k].size)
			return live_table__get(heap__live(d->heap), g->blocks[k].ptr);
	return NULL;
}

/*
 * A smaller live block with ptr strictly inside: its start is one of the
 * 16-aligned addresses below ptr, at most BIG_BLOCK back.  Live blocks do
 * not overlap, so the nearest one found decides.  Up to 256 lookups, only
 * for releases of unknown addresses.
 */
static const struct live_block *small_block_around(const struct detector *d, uint64_t ptr)
{
	const struct live_table *live = heap__live(d->heap);
	uint64_t lowest = ptr > BIG_BLOCK ? ptr - BIG_BLOCK : PROBE_STEP;
	uint64_t a;

	if (ptr <= PROBE_STEP)
		return NULL;
	for (a = (ptr - 1) & ~(uint64_t)(PROBE_STEP - 1); a >= lowest; a -= PROBE_STEP) {
		const struct live_block *b = live_table__get(live, a);

		if (b)
			return ptr - a < b->size ? b : NULL;
	}
	return NULL;
}

/* A live block with ptr at its start or strictly inside. */
static const struct live_block *block_around(const struct detector *d, uint64_t ptr)
{
	const struct live_block *b = big_block_around(d, ptr);

	return b ? b : small_block_around(d, ptr);
}

static bool on_unknown(void *ctx, uint64_t ptr, const struct free_call *fc,
		       const struct alloc_call *rc)
{
	struct detector *d = ctx;
	const struct freed *rec;
	const struct live_block *b;
	struct finding f = { 0 };

	if (fc && d->internal && d->internal(d->internal_ctx, fc)) {
		d->internal_releases++;
		return true;
	}
	rec = freed_lookup(d, ptr);
	if (rec) {
		f.kind = fc ? FINDING_DOUBLE_FREE : FINDING_REALLOC_OF_FREED;
		f.alloc_stack = rec->alloc_stack;
		f.alloc_fn = rec->alloc_fn;
		f.free_stack = rec->free_stack;
		f.free_fn = rec->free_fn;
		f.free_tid = rec->free_tid;
		offender(&f, ptr, fc, rc);
		report(d, &f);
		return true;
	}
	b = block_around(d, ptr);
	if (b) {
		f.kind = FINDING_INVALID_FREE;
		f.alloc_stack = b->stack;
		f.alloc_fn = b->fn;
		f.block = b->ptr;
		f.block_size = b->size;
		offender(&f, ptr, fc, rc);
		report(d, &f);
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- API */

/*
 * The detector does not uninstall its hooks when freed, and never touches
 * the heap then: free it after the heap's last call, before or after the
 * heap itself.
 */
void detector__set_mixed_families(struct detector *d, uint64_t fns)
{
	d->mixed = fns;
}

struct detector *detector__new(struct heap *h, size_t freed_capacity)
{
	struct detector *d = xcalloc(1, sizeof(*d));
	struct heap_hooks hooks = {
		.ctx = d,
		.added = on_added,
		.removed = on_removed,
		.unknown = on_unknown,
	};

	d->heap = h;
	d->freed_cap = freed_capacity;
	if (freed_capacity)
		d->ring = xcalloc(freed_capacity, sizeof(*d->ring));
	d->rtab = xcalloc(16, sizeof(*d->rtab));
	d->rmask = 15;
	heap__add_hooks(h, &hooks);
	return d;
}

void detector__free(struct detector *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i <= d->rmask; i++)
		free(d->rtab[i].blocks);
	free(d->rtab);
	free(d->ring);
	if (d->ix)
		ms_big_free(d->ix, (d->ixmask + 1) * sizeof(*d->ix));
	free(d->findings);
	free(d->fslots);
	free(d);
}

const struct finding *detector__findings(const struct detector *d, size_t *n)
{
	*n = d->nfindings;
	return d->findings;
}

const char *finding_kind__name(enum finding_kind k)
{
	switch (k) {
	case FINDING_DOUBLE_FREE:
		return "double_free";
	case FINDING_INVALID_FREE:
		return "invalid_free";
	case FINDING_MISMATCHED_FREE:
		return "mismatched_free";
	case FINDING_REALLOC_OF_FREED:
		return "realloc_of_freed";
	case FINDING_USE_AFTER_FREE:
		return "use_after_free";
	case FINDING_HEAP_OVERFLOW:
		return "heap_overflow";
	default:
		return "unknown";
	}
}

const struct live_block *detector__find_block(const struct detector *d, uint64_t addr)
{
	const struct live_block *b = live_table__get(heap__live(d->heap), addr);

	return b ? b : block_around(d, addr);
}

bool detector__use_after_free(struct detector *d, uint64_t addr, uint32_t stack, uint32_t tid,
			      uint64_t ts_ns)
{
	const struct freed *rec;
	struct finding f = { 0 };

	/* live again: the annotation names the new block */
	if (live_table__get(heap__live(d->heap), addr))
		return false;
	rec = freed_lookup(d, addr);
	if (!rec)
		return false;
	f.kind = FINDING_USE_AFTER_FREE;
	f.ptr = addr;
	f.ts_ns = ts_ns;
	f.tid = tid;
	f.stack = stack;
	f.fn = MS_FN_NONE;
	f.alloc_stack = rec->alloc_stack;
	f.alloc_fn = rec->alloc_fn;
	f.free_stack = rec->free_stack;
	f.free_fn = rec->free_fn;
	f.free_tid = rec->free_tid;
	report(d, &f);
	return true;
}

void detector__heap_overflow(struct detector *d, const struct live_block *b,
			     const struct free_call *fc, const struct alloc_call *rc,
			     uint64_t ts_ns, uint32_t changed, uint32_t reach)
{
	struct finding f = { 0 };

	if (fc || rc) {
		offender(&f, b->ptr, fc, rc);
	} else {
		f.ptr = b->ptr;
		f.ts_ns = ts_ns;
		f.tid = b->tid;
		f.stack = STACK_NONE;
		f.fn = MS_FN_NONE;
	}
	f.kind = FINDING_HEAP_OVERFLOW;
	f.overflow.changed = changed;
	f.overflow.reach = reach;
	f.block_size = b->size;
	f.alloc_stack = b->stack;
	f.alloc_fn = b->fn;
	f.free_stack = STACK_NONE;
	report(d, &f);
}

void detector__set_internal_filter(struct detector *d, detector_internal_fn fn, void *ctx)
{
	d->internal = fn;
	d->internal_ctx = ctx;
}

uint64_t detector__internal_releases(const struct detector *d)
{
	return d->internal_releases;
}
