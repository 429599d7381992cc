// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

static void growth_sampled(void *ctx, size_t idx)
{
	growth__sample(ctx, idx);
}

struct model *model__new(const struct model_opts *opts)
{
	struct model *m = xcalloc(1, sizeof(*m));

	m->stacks = stack_table__new();
	m->heap = heap__new(opts->live_hint ? opts->live_hint : 1024);
	heap__set_window_origin(m->heap, opts->start_ns, opts->interval_ns);
	heap__set_sample_bytes(m->heap, opts->sample_bytes);
	m->detector = detector__new(m->heap, opts->freed_capacity);
	detector__set_mixed_families(m->detector, opts->mixed_fns);
	if (opts->internal)
		detector__set_internal_filter(m->detector, opts->internal, opts->internal_ctx);
	m->annots = annotations__new(m->heap, m->detector);
	m->timeline = timeline__new(opts->start_ns, opts->interval_ns);
	m->growth = growth__new(m->heap);
	timeline__set_observer(m->timeline, growth_sampled, m->growth);
	m->names = thread_names__new();
	m->footprint = footprint__new(m->heap);
	m->maps = mappings__new();
	timeline__set_mapped(m->timeline, &mappings__program(m->maps)->bytes);
	return m;
}

void model__free(struct model *m)
{
	if (!m)
		return;
	annotations__free(m->annots);
	overflow__free(m->overflow);
	footprint__free(m->footprint);
	detector__free(m->detector);
	timeline__free(m->timeline);
	growth__free(m->growth);
	thread_names__free(m->names);
	mappings__free(m->maps);
	heap__free(m->heap);
	stack_table__free(m->stacks);
	free(m);
}

static uint32_t event_stack(struct model *m, uint64_t hash, uint64_t caller, uint16_t flags)
{
	if (flags & MS_EVF_STACK_LOST)
		m->stack_lost++;
	return stack_table__for_event(m->stacks, hash, caller);
}

/*
 * The stages of a record in the queue, by how many records came after it:
 * at 0 its table slots are prefetched (live table, stack hash), at MAP_AT
 * its stack is mapped and the site and (thread, stack) slot prefetched, at
 * COUNT_AT the counters those lead to, at MODEL_READ_AHEAD it is applied.
 * Stacks are mapped in stream order: any record that changes the stack
 * table applies the queue first.
 */
#define MAP_AT 3
#define COUNT_AT 6

static struct model_slot *queued(struct model *m, unsigned behind_newest)
{
	return &m->queue[(m->qhead + m->qlen - 1 - behind_newest) % MODEL_READ_AHEAD];
}

static void map(struct model *m, struct model_slot *q)
{
	if (q->is_free) {
		q->f.stack = event_stack(m, q->hash, q->caller, q->flags);
	} else {
		q->a.stack = event_stack(m, q->hash, q->caller, q->flags);
		heap__prefetch_alloc(m->heap, &q->a);
	}
	q->mapped = true;
}

static void prefetch_counters(struct model *m, const struct model_slot *q)
{
	if (q->is_free)
		heap__prefetch_release_counters(m->heap, &q->f);
	else
		heap__prefetch_alloc_counters(m->heap, &q->a);
}

/* The call in q, in the order the stream gave it. */
static void apply(struct model *m, struct model_slot *q)
{
	if (!q->mapped)
		map(m, q);
	timeline__event(m->timeline, q->is_free ? q->f.ts_ns : q->a.ts_ns, heap__totals(m->heap));
	if (q->is_free) {
		heap__release(m->heap, &q->f);
	} else {
		heap__alloc(m->heap, &q->a);
		annotations__on_alloc(m->annots, &q->a);
	}
	m->events++;
}

/* Applies the oldest queued call and takes it off the queue. */
static void apply_oldest(struct model *m)
{
	struct model_slot *q = &m->queue[m->qhead];

	m->qhead = (m->qhead + 1) % MODEL_READ_AHEAD;
	m->qlen--;
	apply(m, q);
}

/* A new slot at the queue's end, the others advanced a stage. */
static struct model_slot *enqueue(struct model *m)
{
	struct model_slot *q;

	if (m->qlen == MODEL_READ_AHEAD)
		apply_oldest(m);
	m->qlen++;
	if (m->qlen > MAP_AT)
		map(m, queued(m, MAP_AT));
	if (m->qlen > COUNT_AT)
		prefetch_counters(m, queued(m, COUNT_AT));
	q = queued(m, 0);
	q->mapped = false;
	return q;
}

/* Stage 0 of a record just queued. */
static void read_ahead(struct model *m, struct model_slot *q, uint64_t hash, uint64_t caller,
		       uint16_t flags)
{
	q->hash = hash;
	q->caller = caller;
	q->flags = flags;
	stack_table__prefetch(m->stacks, hash, caller);
	if (q->is_free)
		heap__prefetch_live(m->heap, q->f.ptr, 0);
	else
		heap__prefetch_live(m->heap, q->a.untracked ? 0 : q->a.ptr, q->a.old_ptr);
}

void model__flush(struct model *m)
{
	while (m->qlen)
		apply_oldest(m);
}

void model__alloc(struct model *m, const struct alloc_call *c, uint64_t hash, uint64_t caller,
		  uint16_t flags)
{
	struct model_slot *q = enqueue(m);

	q->is_free = false;
	q->a = *c;
	read_ahead(m, q, hash, caller, flags);
}

void model__free_call(struct model *m, const struct free_call *c, uint64_t hash,
		      uint64_t caller, uint16_t flags)
{
	struct model_slot *q = enqueue(m);

	q->is_free = true;
	q->f = *c;
	read_ahead(m, q, hash, caller, flags);
}

void model__stack(struct model *m, uint64_t hash, const uint64_t *ips, uint32_t nframes,
		  uint8_t truncated)
{
	/* the queued calls map their stacks in stream order */
	model__flush(m);
	stack_table__add(m->stacks, hash, ips, nframes, truncated);
}

void model__annot(struct model *m, const struct ms_ev_annot *e)
{
	/* it may name a block the queued calls allocate */
	model__flush(m);
	annotations__on_annot(m->annots, e, event_stack(m, e->stack, 0, e->flags));
}

void model__thread(struct model *m, uint32_t tid, const char *name)
{
	model__flush(m);
	thread_names__set(m->names, tid, name);
}

void model__check_overflow(struct model *m, enum overflow_way way)
{
	if (!m->overflow)
		m->overflow = overflow__new(m->heap, m->detector, way);
}

void model__slack(struct model *m, const struct ms_ev_slack *e)
{
	/* it speaks of a block the queued calls add or release */
	model__flush(m);
	if (m->overflow)
		overflow__observe(m->overflow, e);
}

void model__rss(struct model *m, uint64_t now_ns, uint64_t rss_bytes)
{
	timeline__rss(m->timeline, now_ns, rss_bytes);
}

void model__footprint(struct model *m, uint64_t now_ns, const struct footprint_range *v,
		      size_t n)
{
	/* the live blocks as of the records so far */
	model__flush(m);
	timeline__footprint(m->timeline, now_ns, footprint__reading(m->footprint, now_ns, v, n));
}

void model__tick(struct model *m, uint64_t now_ns, bool force)
{
	model__flush(m);
	timeline__tick(m->timeline, heap__totals(m->heap), now_ns, force);
}

void model__map_call(struct model *m, const struct map_call *c, uint64_t hash)
{
	struct map_call mc = *c;

	model__flush(m);
	if (c->stack_lost)
		m->stack_lost++;
	mc.stack = hash ? stack_table__find(m->stacks, hash) : STACK_NONE;
	m->maps_traced = true;
	/* the grid points before it see the mappings before it */
	timeline__event(m->timeline, c->ts_ns, heap__totals(m->heap));
	mappings__apply(m->maps, &mc);
}
