/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "memscope_events.h"
#include "sample.h"
#include "util.h"

/* the window width when heap__set_window_origin() is not called: 100 ms */
#define DEFAULT_BUCKET_NS 100000000ull
/*
 * Window entries before the width doubles anyway (see windows_over_budget()):
 * a long trace of a program whose blocks live long and come from many sites
 * otherwise needs an entry per (site, allocation window, release window),
 * millions of them (bench/live_table_bench.c 20000000 1000000 1000: 6 M
 * entries, 500 MB, 2 Mops/s).
 */
#define WINDOW_BUDGET (1u << 18)

/* marks a block whose (thread, stack) pair has no counters: over the cap */
#define NO_THREAD_SITE UINT32_MAX

/* (tid << 32 | stack) -> index + 1 into the pairs' counters; 0: empty */
struct pair_slot {
	uint64_t key;
	uint32_t idx;
};

/* The windows of one release bucket: entries keyed by (stack, alloc_bucket),
 * open addressing, count 0 marking an empty slot. */
struct window_tab {
	struct heap_window *e;
	uint32_t mask; /* capacity - 1; 0 while e is NULL */
	uint32_t n;
};

struct heap {
	struct live_table *live;
	struct heap_totals t;
	struct heap_site *sites; /* indexed by stack index */
	size_t nsites;
	/* bumped at each new peak: see site_touch() */
	uint64_t peak_epoch;
	struct heap_hooks hooks[HEAP_MAX_HOOKS];
	int nhooks;

	/* per-thread counters in order of first appearance, found through an
	 * open-addressing table of index + 1 (0: empty slot) */
	struct heap_thread *threads;
	size_t nthreads, threads_cap;
	uint32_t *thread_slots;
	size_t thread_mask;
	size_t cur_thread; /* the last one looked up: a trace comes in runs */

	/* per (thread, stack) counters, in order of first appearance */
	struct heap_thread_site *pairs;
	size_t npairs, pairs_cap, max_pairs;
	struct pair_slot *pair_slots;
	size_t pair_mask;
	bool pairs_over; /* more than max_pairs: no longer counted, freed */

	struct heap_hist size_hist;
	struct heap_hist lifetime_hist;

	/*
	 * Allocation windows, a table per release bucket.  Releases happen
	 * now, so nearly all of them land in the latest bucket's table: the
	 * entries a trace updates stay together in a few MB, where one table
	 * for all would scatter them over all of its memory.  Entries are
	 * held in the tables themselves (one cache miss per update, not
	 * two); heap__windows() lists them in a sorted copy.
	 */
	struct window_tab wt[HEAP_WINDOW_MAX_BUCKETS];
	size_t nwindows;
	size_t window_budget;
	struct heap_window *wlist;
	bool wlist_valid;
	bool origin_set;
	uint64_t origin_ns;
	uint64_t bucket_ns;
	uint64_t bucket_inv; /* UINT64_MAX / bucket_ns: see window_bucket() */
	/* first time that needs a wider bucket (saturated), so the per-call
	 * check is one comparison; 0 until the origin is set */
	uint64_t window_end;
	/* --sample-bytes: every block is a sampled one, weighed (sample.h) */
	uint64_t sample_bytes;
};

static void set_bucket_ns(struct heap *h, uint64_t bucket_ns)
{
	h->bucket_ns = bucket_ns;
	h->bucket_inv = UINT64_MAX / bucket_ns;
}

unsigned heap_hist__bucket(uint64_t v)
{
	return v ? 64 - (unsigned)__builtin_clzll(v) : 0;
}

struct heap *heap__new(size_t expected_live)
{
	struct heap *h = xcalloc(1, sizeof(*h));

	h->live = live_table__new(expected_live);
	/* 1, not 0: zero-initialised sites then read as untouched since the peak */
	h->peak_epoch = 1;
	set_bucket_ns(h, DEFAULT_BUCKET_NS);
	h->window_budget = WINDOW_BUDGET;
	h->max_pairs = HEAP_MAX_THREAD_SITES;
	return h;
}

static void pairs_free(struct heap *h);

void heap__free(struct heap *h)
{
	size_t i;

	if (!h)
		return;
	live_table__free(h->live);
	free(h->sites);
	free(h->threads);
	free(h->thread_slots);
	pairs_free(h);
	for (i = 0; i < HEAP_WINDOW_MAX_BUCKETS; i++)
		free(h->wt[i].e);
	free(h->wlist);
	free(h);
}

int heap__add_hooks(struct heap *h, const struct heap_hooks *hooks)
{
	if (h->nhooks == HEAP_MAX_HOOKS)
		return -ENOSPC;
	h->hooks[h->nhooks++] = *hooks;
	return 0;
}

/* ------------------------------------------------------------------ sites */

/*
 * Stack indexes are dense and grow one by one: double, do not step.  A site
 * is one 64-byte cache line when the array is aligned to one (malloc's 16
 * would split most sites over two lines, a second miss per call).
 */
static struct heap_site *site(struct heap *h, uint32_t stack)
{
	if (stack >= h->nsites) {
		size_t n = h->nsites ? h->nsites * 2 : 256;
		struct heap_site *sites;

		while (n <= stack)
			n *= 2;
		sites = aligned_alloc(64, n * sizeof(*sites));
		if (!sites) {
			ms_err("out of memory allocating %zu bytes", n * sizeof(*sites));
			exit(2);
		}
		if (h->nsites)
			memcpy(sites, h->sites, h->nsites * sizeof(*sites));
		memset(sites + h->nsites, 0, (n - h->nsites) * sizeof(*sites));
		free(h->sites);
		h->sites = sites;
		h->nsites = n;
	}
	return &h->sites[stack];
}

/*
 * The sites holding the peak, in O(1) per call.  Copying every site at each
 * new peak would be O(sites) per allocation while live bytes climb.
 * Instead h->peak_epoch counts new peaks, and a site about to change for the
 * first time since the latest one saves its values (which are then its
 * values at that peak) and takes the epoch.  A site whose epoch is older has
 * not changed since the peak, so its current values are the ones at the peak.
 */
static inline void site_touch(const struct heap *h, struct heap_site *s)
{
	if (s->peak_epoch != h->peak_epoch) {
		s->peak_count_saved = s->live_count;
		s->peak_bytes_saved = s->live_bytes;
		s->peak_epoch = h->peak_epoch;
	}
}

void heap__site_at_peak(const struct heap *h, size_t idx, uint64_t *count, uint64_t *bytes)
{
	const struct heap_site *s;

	if (idx >= h->nsites) {
		*count = *bytes = 0;
		return;
	}
	s = &h->sites[idx];
	if (s->peak_epoch != h->peak_epoch) {
		*count = s->live_count;
		*bytes = s->live_bytes;
	} else {
		*count = s->peak_count_saved;
		*bytes = s->peak_bytes_saved;
	}
}

/* ---------------------------------------------------------------- threads */

static void thread_slots_rebuild(struct heap *h, size_t cap)
{
	size_t i;

	free(h->thread_slots);
	h->thread_slots = xcalloc(cap, sizeof(*h->thread_slots));
	h->thread_mask = cap - 1;
	for (i = 0; i < h->nthreads; i++) {
		size_t j = ms_hash64(h->threads[i].tid) & h->thread_mask;

		while (h->thread_slots[j])
			j = (j + 1) & h->thread_mask;
		h->thread_slots[j] = (uint32_t)i + 1;
	}
}

/* The slot holding tid's index, or the empty one ending its chain. */
static size_t thread_slot(const struct heap *h, uint32_t tid)
{
	size_t j = ms_hash64(tid) & h->thread_mask;

	while (h->thread_slots[j] && h->threads[h->thread_slots[j] - 1].tid != tid)
		j = (j + 1) & h->thread_mask;
	return j;
}

static size_t thread_index_slow(struct heap *h, uint32_t tid)
{
	size_t i, j;

	if (h->thread_slots) {
		j = thread_slot(h, tid);
		if (h->thread_slots[j])
			return h->cur_thread = h->thread_slots[j] - 1;
	}
	if (h->nthreads == h->threads_cap) {
		/* slots at most half full: sized with the array, grown with it */
		h->threads_cap = h->threads_cap ? h->threads_cap * 2 : 16;
		h->threads = xrealloc(h->threads, h->threads_cap * sizeof(*h->threads));
		thread_slots_rebuild(h, h->threads_cap * 2);
	}
	j = thread_slot(h, tid);
	i = h->nthreads++;
	memset(&h->threads[i], 0, sizeof(h->threads[i]));
	h->threads[i].tid = tid;
	h->thread_slots[j] = (uint32_t)i + 1;
	return h->cur_thread = i;
}

/* The index of tid's counters, made on its first appearance.  An index, not
 * a pointer: a new thread moves the array. */
static inline size_t thread_index(struct heap *h, uint32_t tid)
{
	if (h->nthreads && h->threads[h->cur_thread].tid == tid)
		return h->cur_thread;
	return thread_index_slow(h, tid);
}

const struct heap_thread *heap__threads(const struct heap *h, size_t *n)
{
	*n = h->nthreads;
	return h->threads;
}

/* ----------------------------------------------------- thread x stack */

void heap__set_max_thread_sites(struct heap *h, size_t max)
{
	h->max_pairs = max;
}

static uint64_t pair_key(uint32_t tid, uint32_t stack)
{
	return (uint64_t)tid << 32 | stack;
}

/* The slot holding key, or the empty one ending its chain. */
static size_t pair_slot(const struct heap *h, uint64_t key)
{
	size_t j = ms_hash64(key) & h->pair_mask;

	while (h->pair_slots[j].idx && h->pair_slots[j].key != key)
		j = (j + 1) & h->pair_mask;
	return j;
}

/* Both are probed at random once large: ms_big_zalloc() */
static void pairs_free(struct heap *h)
{
	if (!h->pairs_cap)
		return;
	ms_big_free(h->pairs, h->pairs_cap * sizeof(*h->pairs));
	ms_big_free(h->pair_slots, h->pairs_cap * 2 * sizeof(*h->pair_slots));
}

/* Counting stops for good: partial per-thread counters would mislead. */
static void pairs_give_up(struct heap *h)
{
	h->pairs_over = true;
	pairs_free(h);
	h->pairs = NULL;
	h->pair_slots = NULL;
	h->npairs = h->pairs_cap = 0;
}

/* Slots at most half full: sized with the array, rebuilt when it grows. */
static void pairs_grow(struct heap *h)
{
	size_t i, cap = h->pairs_cap ? h->pairs_cap * 2 : 64;
	struct heap_thread_site *pairs = ms_big_zalloc(cap * sizeof(*pairs));

	if (h->npairs)
		memcpy(pairs, h->pairs, h->npairs * sizeof(*pairs));
	pairs_free(h);
	h->pairs = pairs;
	h->pairs_cap = cap;
	h->pair_slots = ms_big_zalloc(cap * 2 * sizeof(*h->pair_slots));
	h->pair_mask = cap * 2 - 1;
	for (i = 0; i < h->npairs; i++) {
		uint64_t key = pair_key(h->pairs[i].tid, h->pairs[i].stack);
		size_t j = pair_slot(h, key);

		h->pair_slots[j].key = key;
		h->pair_slots[j].idx = (uint32_t)i + 1;
	}
}

/* The index of (tid, stack)'s counters, made on first use; NO_THREAD_SITE over the cap. */
static uint32_t thread_site_index(struct heap *h, uint32_t tid, uint32_t stack)
{
	uint64_t key = pair_key(tid, stack);
	size_t j;

	if (h->pairs_over)
		return NO_THREAD_SITE;
	if (h->npairs) {
		j = pair_slot(h, key);
		if (h->pair_slots[j].idx)
			return h->pair_slots[j].idx - 1;
	}
	if (h->npairs >= h->max_pairs) {
		pairs_give_up(h);
		return NO_THREAD_SITE;
	}
	if (h->npairs == h->pairs_cap)
		pairs_grow(h);
	j = pair_slot(h, key);
	h->pair_slots[j].key = key;
	h->pair_slots[j].idx = (uint32_t)h->npairs + 1;
	h->pairs[h->npairs] = (struct heap_thread_site){ .tid = tid, .stack = stack };
	return (uint32_t)h->npairs++;
}

/* The counters of b's allocating thread at b's stack, or NULL. */
static inline struct heap_thread_site *block_pair(struct heap *h, const struct live_block *b)
{
	if (h->pairs_over || b->thread_site == NO_THREAD_SITE)
		return NULL;
	return &h->pairs[b->thread_site];
}

const struct heap_thread_site *heap__thread_sites(const struct heap *h, size_t *n)
{
	*n = h->npairs;
	return h->pairs_over ? NULL : h->pairs;
}

/* ---------------------------------------------------------------- windows */

void heap__set_sample_bytes(struct heap *h, uint64_t sample_bytes)
{
	h->sample_bytes = sample_bytes;
}

/* What a block counts for: itself, or under sampling the blocks it stands for. */
static inline void weigh(const struct heap *h, uint64_t size, uint64_t ptr, uint64_t ts,
			 struct sample_weight *w)
{
	if (!h->sample_bytes) {
		w->count = 1;
		w->bytes = size;
		return;
	}
	sample__weigh(h->sample_bytes, size, ptr, ts, w);
}

void heap__weigh(const struct heap *h, const struct alloc_call *c, struct sample_weight *w)
{
	weigh(h, c->size, c->ptr, c->ts_ns, w);
}

void heap__set_window_origin(struct heap *h, uint64_t origin_ns, uint64_t bucket_ns)
{
	h->origin_set = true;
	h->origin_ns = origin_ns;
	set_bucket_ns(h, bucket_ns ? bucket_ns : DEFAULT_BUCKET_NS);
	h->window_end = 0; /* computed by the first call's note_time() */
}

/*
 * (ts - origin) / bucket_ns without a division, two per release being a
 * visible share of a call: with m = UINT64_MAX / d, x * m / 2^64 lies in
 * (x / d - 1, x / d], so the high half of the product is the quotient or
 * one less, and one comparison corrects it.
 */
static inline uint32_t window_bucket(const struct heap *h, uint64_t ts)
{
	uint64_t x, b;

	if (ts <= h->origin_ns)
		return 0;
	x = ts - h->origin_ns;
	b = (uint64_t)(((unsigned __int128)x * h->bucket_inv) >> 64);
	if (x - b * h->bucket_ns >= h->bucket_ns)
		b++;
	/* only when the width can no longer double (times ~2^55 ns apart) */
	return b < HEAP_WINDOW_MAX_BUCKETS ? (uint32_t)b : HEAP_WINDOW_MAX_BUCKETS - 1;
}

uint32_t heap__window_bucket(const struct heap *h, uint64_t ts_ns)
{
	return window_bucket(h, ts_ns);
}

/* The entry for (stack, ab), or the empty slot ending its chain.  A
 * multiplicative hash is enough: its middle bits mix both halves of the key. */
static inline size_t window_hash(const struct window_tab *t, uint32_t stack, uint32_t ab)
{
	return (((uint64_t)stack << 32 | ab) * 0x9e3779b97f4a7c15ull) >> 32 & t->mask;
}

/* Where the chain of (stack, ab) starts: for prefetching. */
static const struct heap_window *window_home(const struct window_tab *t, uint32_t stack, uint32_t ab)
{
	return &t->e[window_hash(t, stack, ab)];
}

static struct heap_window *window_slot(const struct window_tab *t, uint32_t stack, uint32_t ab)
{
	size_t j = window_hash(t, stack, ab);

	while (t->e[j].count && (t->e[j].stack != stack || t->e[j].alloc_bucket != ab))
		j = (j + 1) & t->mask;
	return &t->e[j];
}

/* Adds w's counts to t's entry for w's key; t has a free slot. */
static void window_merge(struct window_tab *t, const struct heap_window *w)
{
	struct heap_window *e = window_slot(t, w->stack, w->alloc_bucket);

	if (e->count) {
		e->count += w->count;
		e->bytes += w->bytes;
	} else {
		*e = *w;
		t->n++;
	}
}

/* Re-inserts src's entries into *t, which gets room for extra more. */
static void window_tab_refill(struct window_tab *t, const struct window_tab *src, size_t extra)
{
	size_t cap = 16, i;

	while (cap / 2 < t->n + src->n + extra)
		cap *= 2;
	if (t->e && cap <= (size_t)t->mask + 1) {
		/* room already */
	} else {
		struct window_tab old = *t;

		t->e = xcalloc(cap, sizeof(*t->e));
		t->mask = (uint32_t)(cap - 1);
		t->n = 0;
		for (i = 0; old.e && i <= old.mask; i++)
			if (old.e[i].count)
				window_merge(t, &old.e[i]);
		free(old.e);
	}
	for (i = 0; src->e && i <= src->mask; i++)
		if (src->e[i].count)
			window_merge(t, &src->e[i]);
}

static void window_tab_grow(struct window_tab *t)
{
	static const struct window_tab none;

	window_tab_refill(t, &none, 1);
}

/*
 * The width doubled: bucket b becomes b / 2, so release buckets 2k and
 * 2k + 1 merge into k, and in them allocation buckets pair up the same way.
 * Amortised: it happens at most 64 times for the range, and once per
 * halving of the entries (or doubling of the budget) for the budget.
 */
static void windows_halve(struct heap *h)
{
	size_t k, i, j;

	h->nwindows = 0;
	for (k = 0; k < HEAP_WINDOW_MAX_BUCKETS / 2; k++) {
		struct window_tab merged = { 0 };

		for (j = 2 * k; j <= 2 * k + 1; j++) {
			struct window_tab *src = &h->wt[j];

			if (!src->n) {
				free(src->e);
				continue;
			}
			for (i = 0; i <= src->mask; i++) {
				src->e[i].alloc_bucket /= 2;
				src->e[i].free_bucket = (uint32_t)k;
			}
			/* halving may make equal keys: refill merges them */
			window_tab_refill(&merged, src, 0);
			free(src->e);
		}
		h->wt[k] = merged;
		h->nwindows += merged.n;
	}
	memset(&h->wt[HEAP_WINDOW_MAX_BUCKETS / 2], 0,
	       HEAP_WINDOW_MAX_BUCKETS / 2 * sizeof(h->wt[0]));
	h->wlist_valid = false;
}

static bool can_double_width(const struct heap *h)
{
	return h->bucket_ns <= UINT64_MAX / 2 / HEAP_WINDOW_MAX_BUCKETS;
}

static void set_window_end(struct heap *h);

/*
 * Too many entries: double the width as if time had run past the last
 * bucket, when that can merge anything (some release bucket above 0).  When
 * merging did not halve the entries (they differ by site, not by time), the
 * budget doubles instead, so this stays amortised O(1) and the resolution is
 * not given away for nothing.
 */
static void windows_over_budget(struct heap *h)
{
	size_t k;

	for (k = 1; k < HEAP_WINDOW_MAX_BUCKETS && !h->wt[k].n; k++)
		;
	if (k < HEAP_WINDOW_MAX_BUCKETS && can_double_width(h)) {
		set_bucket_ns(h, h->bucket_ns * 2);
		windows_halve(h);
		set_window_end(h);
	}
	if (h->nwindows > h->window_budget / 2)
		h->window_budget *= 2;
}

static inline void window_add(struct heap *h, uint32_t stack, uint32_t ab, uint32_t fb,
			      uint64_t count, uint64_t bytes)
{
	struct window_tab *t = &h->wt[fb];
	struct heap_window *e;

	/* at most half full */
	if (t->n >= (t->mask + 1) / 2)
		window_tab_grow(t);
	e = window_slot(t, stack, ab);
	h->wlist_valid = false;
	if (e->count) {
		e->count += count;
		e->bytes += bytes;
		return;
	}
	*e = (struct heap_window){
		.stack = stack, .alloc_bucket = ab, .free_bucket = fb, .count = count, .bytes = bytes,
	};
	t->n++;
	/* last: it moves the entries */
	if (++h->nwindows > h->window_budget)
		windows_over_budget(h);
}

static void set_window_end(struct heap *h)
{
	uint64_t span = h->bucket_ns > UINT64_MAX / HEAP_WINDOW_MAX_BUCKETS ?
			UINT64_MAX : h->bucket_ns * HEAP_WINDOW_MAX_BUCKETS;

	h->window_end = h->origin_ns > UINT64_MAX - span ? UINT64_MAX : h->origin_ns + span;
}

/*
 * Every call's time, not only releases', is kept inside the buckets, so
 * heap__window_bucket() is below HEAP_WINDOW_MAX_BUCKETS for the live blocks
 * the renderers add too.  Widening happens at most 64 times in all, so its
 * O(windows) re-aggregation is amortised.
 */
static void note_time_slow(struct heap *h, uint64_t ts)
{
	if (!h->origin_set) {
		h->origin_set = true;
		h->origin_ns = ts;
	}
	while (ts > h->origin_ns &&
	       (ts - h->origin_ns) / h->bucket_ns >= HEAP_WINDOW_MAX_BUCKETS &&
	       can_double_width(h)) {
		set_bucket_ns(h, h->bucket_ns * 2);
		windows_halve(h);
	}
	set_window_end(h);
}

static inline void note_time(struct heap *h, uint64_t ts)
{
	if (ts >= h->window_end)
		note_time_slow(h, ts);
}

static int window_cmp(const void *a, const void *b)
{
	const struct heap_window *x = a, *y = b;

	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	if (x->alloc_bucket != y->alloc_bucket)
		return x->alloc_bucket < y->alloc_bucket ? -1 : 1;
	if (x->free_bucket != y->free_bucket)
		return x->free_bucket < y->free_bucket ? -1 : 1;
	return 0;
}

/*
 * The list is a cache of the table, made here rather than kept up to date
 * per call; the heap is never defined const (heap__new() allocates it), so
 * writing through the cast is defined.  Sorted by stack, then buckets, so
 * reports come out the same for the same trace.
 */
const struct heap_window *heap__windows(const struct heap *ch, size_t *n, uint64_t *bucket_ns,
					uint64_t *origin_ns)
{
	struct heap *h = (struct heap *)ch;

	if (!h->wlist_valid) {
		size_t i, j, k = 0;

		free(h->wlist);
		h->wlist = xmalloc(h->nwindows * sizeof(*h->wlist));
		for (j = 0; j < HEAP_WINDOW_MAX_BUCKETS; j++)
			for (i = 0; h->wt[j].e && i <= h->wt[j].mask; i++)
				if (h->wt[j].e[i].count)
					h->wlist[k++] = h->wt[j].e[i];
		qsort(h->wlist, k, sizeof(*h->wlist), window_cmp);
		h->wlist_valid = true;
	}
	*n = h->nwindows;
	if (bucket_ns)
		*bucket_ns = h->bucket_ns;
	if (origin_ns)
		*origin_ns = h->origin_ns;
	return h->wlist;
}

/* ------------------------------------------------------------- the model */

/*
 * A block leaves the live set at time ts.  Its own allocation site and
 * allocating thread lose it, not the releaser's: leak reports are about
 * where blocks were made.  Returns the blocks it counted for.
 */
static inline uint64_t forget_block(struct heap *h, const struct live_block *b, uint64_t ts)
{
	struct heap_site *s = &h->sites[b->stack];
	/* found, not made (the block's allocation made it): no array move */
	struct heap_thread *th = &h->threads[thread_index(h, b->tid)];
	struct heap_thread_site *p = block_pair(h, b);
	uint64_t lifetime_ns = ts > b->ts_ns ? ts - b->ts_ns : 0;
	struct sample_weight w;

	weigh(h, b->size, b->ptr, b->ts_ns, &w);
	h->t.frees += w.count;
	h->t.bytes_freed += w.bytes;
	h->t.live_allocations -= w.count;
	h->t.live_bytes -= w.bytes;
	site_touch(h, s);
	s->live_count -= w.count;
	s->live_bytes -= w.bytes;
	th->live_count -= w.count;
	th->live_bytes -= w.bytes;
	if (p) {
		p->live_count -= w.count;
		p->live_bytes -= w.bytes;
	}
	h->lifetime_hist.count[heap_hist__bucket(lifetime_ns / 1000)] += w.count;
	window_add(h, b->stack, window_bucket(h, b->ts_ns), window_bucket(h, ts), w.count,
		   w.bytes);
	return w.count;
}

/* Whether one of the observers explains a release of an address not live. */
static bool claimed_unknown(struct heap *h, uint64_t ptr, const struct free_call *fc,
			    const struct alloc_call *rc)
{
	for (int i = 0; i < h->nhooks; i++)
		if (h->hooks[i].unknown && h->hooks[i].unknown(h->hooks[i].ctx, ptr, fc, rc))
			return true;
	return false;
}

/*
 * Thread thr releases ptr, by fc or (fc NULL) as realloc rc's old block.
 * Only a free can end a temporary allocation: realloc's data lives on.
 */
static inline void release_ptr(struct heap *h, size_t thr, uint64_t ptr,
			       const struct free_call *fc, const struct alloc_call *rc)
{
	struct heap_thread *th;
	struct live_block b;
	uint64_t count;

	if (!live_table__take(h->live, ptr, &b)) {
		if (!claimed_unknown(h, ptr, fc, rc))
			h->t.unknown_frees++;
		return;
	}
	count = forget_block(h, &b, fc ? fc->ts_ns : rc->ts_ns);
	th = &h->threads[thr];
	th->frees += count;
	/*
	 * Sampled, the loader sees too few allocations to know the thread's
	 * last one; BPF, which sees them all, says it on the release.
	 */
	if (h->sample_bytes ? fc && (fc->flags & MS_EVF_LAST_ALLOC) : th->last_alloc == ptr) {
		th->last_alloc = 0;
		if (fc && b.tid == th->tid) {
			struct heap_thread_site *p = block_pair(h, &b);

			h->t.temporary_allocations += count;
			h->sites[b.stack].temporary += count;
			th->temporary += count;
			if (p)
				p->temporary += count;
		}
	}
	for (int i = 0; i < h->nhooks; i++)
		if (h->hooks[i].removed)
			h->hooks[i].removed(h->hooks[i].ctx, &b, fc, rc);
}

/*
 * A replaced block's release was lost; it is counted as freed too (and in
 * replaced_blocks), so allocations - frees == live_allocations and
 * bytes_allocated - bytes_freed == live_bytes hold at every step.  It counts
 * as released at c's time (lifetime, windows) but on no thread's frees: no
 * thread was seen releasing it.  The hooks see it as removed with fc NULL
 * and rc = c, the allocation that replaced it (so rc->ptr == b->ptr, and c
 * need not be a realloc), before c's block is added.
 */
static void add_block(struct heap *h, size_t thr, const struct alloc_call *c)
{
	struct live_block b = {
		.ptr = c->ptr,
		.size = c->size,
		.ts_ns = c->ts_ns,
		.stack = c->stack,
		.tid = c->tid,
		.fn = c->fn,
		.thread_site = thread_site_index(h, c->tid, c->stack),
	};
	struct live_block old;
	/* before forget_block() takes pointers into sites: this may move them */
	struct heap_site *s = site(h, c->stack);
	struct heap_thread_site *p;
	struct heap_thread *th;
	struct sample_weight w;

	if (live_table__put(h->live, &b, &old) == 1) {
		h->t.replaced_blocks++;
		forget_block(h, &old, c->ts_ns);
		for (int i = 0; i < h->nhooks; i++)
			if (h->hooks[i].removed)
				h->hooks[i].removed(h->hooks[i].ctx, &old, NULL, c);
	}
	weigh(h, c->size, c->ptr, c->ts_ns, &w);
	h->t.allocations += w.count;
	h->t.bytes_allocated += w.bytes;
	h->t.live_allocations += w.count;
	h->t.live_bytes += w.bytes;
	site_touch(h, s);
	s->allocations += w.count;
	s->bytes += w.bytes;
	s->live_count += w.count;
	s->live_bytes += w.bytes;
	th = &h->threads[thr];
	th->allocations += w.count;
	th->bytes += w.bytes;
	th->live_count += w.count;
	th->live_bytes += w.bytes;
	th->last_alloc = c->ptr;
	p = block_pair(h, &b);
	if (p) {
		p->allocations += w.count;
		p->bytes += w.bytes;
		p->live_count += w.count;
		p->live_bytes += w.bytes;
	}
	h->size_hist.count[heap_hist__bucket(c->size)] += w.count;
	/*
	 * Strictly higher: peak_ts_ns keeps the first time the peak was
	 * reached.  Adding is always the last step of a call, so this sees the
	 * call's whole effect (a realloc's release included).
	 */
	if (h->t.live_bytes > h->t.peak_bytes) {
		h->t.peak_bytes = h->t.live_bytes;
		h->t.peak_ts_ns = c->ts_ns;
		h->peak_epoch++;
	}
	for (int i = 0; i < h->nhooks; i++)
		if (h->hooks[i].added)
			h->hooks[i].added(h->hooks[i].ctx, &b);
}

/* realloc(p, n) and reallocarray: see the rules in heap.h */
static void apply_realloc(struct heap *h, size_t thr, const struct alloc_call *c)
{
	if (c->ptr) {
		/* release first: q == p is a release and a new block */
		if (c->old_ptr)
			release_ptr(h, thr, c->old_ptr, NULL, c);
		/* sampling: the new block was not sampled */
		if (!c->untracked)
			add_block(h, thr, c);
	} else if (c->size == 0 && c->old_ptr) {
		/* glibc's realloc(p, 0) frees p and returns NULL */
		release_ptr(h, thr, c->old_ptr, NULL, c);
	} else {
		/* p stays live: realloc leaves it alone when it fails */
		h->t.failed_allocations++;
	}
}

/*
 * A failed allocation leaves the thread's last_alloc alone: it made no
 * block, so a free right after it still ends a temporary allocation.
 */
void heap__alloc(struct heap *h, const struct alloc_call *c)
{
	size_t thr;

	note_time(h, c->ts_ns);
	thr = thread_index(h, c->tid);
	if (c->is_realloc)
		apply_realloc(h, thr, c);
	else if (c->ptr)
		add_block(h, thr, c);
	else
		h->t.failed_allocations++;
}

void heap__release(struct heap *h, const struct free_call *c)
{
	note_time(h, c->ts_ns);
	release_ptr(h, thread_index(h, c->tid), c->ptr, c, NULL);
}

/* Both lines of an object that may straddle two (48-byte counters, 32-byte windows). */
static inline void prefetch_object(const void *p, size_t size)
{
	__builtin_prefetch(p, 1);
	__builtin_prefetch((const char *)p + size - 1, 1);
}

void heap__prefetch_live(const struct heap *h, uint64_t ptr, uint64_t ptr2)
{
	if (ptr)
		live_table__prefetch(h->live, ptr);
	if (ptr2)
		live_table__prefetch(h->live, ptr2);
}

void heap__prefetch_alloc(const struct heap *h, const struct alloc_call *c)
{
	if (c->stack < h->nsites)
		__builtin_prefetch(&h->sites[c->stack], 1);
	if (h->npairs)
		__builtin_prefetch(&h->pair_slots[ms_hash64(pair_key(c->tid, c->stack)) &
						  h->pair_mask]);
}

void heap__prefetch_alloc_counters(const struct heap *h, const struct alloc_call *c)
{
	const struct pair_slot *ps;

	if (!h->npairs)
		return;
	/* the slot is read here, not only prefetched: the counters are behind it */
	ps = &h->pair_slots[pair_slot(h, pair_key(c->tid, c->stack))];
	if (ps->idx)
		prefetch_object(&h->pairs[ps->idx - 1], sizeof(*h->pairs));
}

void heap__prefetch_release_counters(const struct heap *h, const struct free_call *c)
{
	const struct live_block *b = live_table__get(h->live, c->ptr);
	const struct window_tab *t;

	if (!b)
		return;
	__builtin_prefetch(&h->sites[b->stack], 1);
	if (!h->pairs_over && b->thread_site != NO_THREAD_SITE)
		prefetch_object(&h->pairs[b->thread_site], sizeof(*h->pairs));
	t = &h->wt[window_bucket(h, c->ts_ns)];
	if (t->e)
		prefetch_object(window_home(t, b->stack, window_bucket(h, b->ts_ns)),
				sizeof(*t->e));
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

const struct heap_hist *heap__size_hist(const struct heap *h)
{
	return &h->size_hist;
}

const struct heap_hist *heap__lifetime_hist(const struct heap *h)
{
	return &h->lifetime_hist;
}
