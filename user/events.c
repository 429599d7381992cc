// SPDX-License-Identifier: MIT
#include <string.h>

#include "annotations.h"
#include "events.h"
#include "stacks.h"
#include "symbolize.h"
#include "thread_names.h"
#include "timeline.h"

/* a * b, or UINT64_MAX when it overflows (the call then fails anyway) */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

void events__decode_alloc(const struct ms_ev_alloc *e, struct alloc_call *c)
{
	const uint64_t *a = (const uint64_t *)e->args;

	memset(c, 0, sizeof(*c));
	c->fn = e->fn;
	c->tid = e->tid;
	c->ts_ns = e->ts_ns;
	c->ptr = e->ret;
	c->untracked = e->flags & MS_EVF_UNTRACKED;
	switch (e->fn) {
	case MS_FN_CALLOC:
		c->size = mul_sat(a[0], a[1]);
		break;
	case MS_FN_REALLOC:
		c->is_realloc = true;
		c->old_ptr = a[0];
		c->size = a[1];
		break;
	case MS_FN_REALLOCARRAY:
		c->is_realloc = true;
		c->old_ptr = a[0];
		c->size = mul_sat(a[1], a[2]);
		break;
	case MS_FN_POSIX_MEMALIGN:
		c->align = a[1];
		c->size = a[2];
		break;
	case MS_FN_ALIGNED_ALLOC:
	case MS_FN_MEMALIGN:
		c->align = a[0];
		c->size = a[1];
		break;
	case MS_FN_NEW_ALIGNED:
	case MS_FN_NEW_ALIGNED_NOTHROW:
	case MS_FN_NEW_ARRAY_ALIGNED:
	case MS_FN_NEW_ARRAY_ALIGNED_NOTHROW:
		c->align = a[1];
		c->size = a[0];
		break;
	default:
		c->size = a[0];
		break;
	}
}

void events__decode_free(const struct ms_ev_free *e, struct free_call *c)
{
	memset(c, 0, sizeof(*c));
	c->fn = e->fn;
	c->tid = e->tid;
	c->ts_ns = e->ts_ns;
	c->ptr = e->ptr;
	c->caller = e->caller;
}

static void on_stack(struct event_sink *s, const struct ms_ev_stack *e, size_t size)
{
	uint32_t i;

	if (e->nframes == 0 || e->nframes > MS_MAX_FRAMES ||
	    size < MS_EV_STACK_HDR + (size_t)e->nframes * 8) {
		s->malformed++;
		return;
	}
	if (stack_table__find(s->stacks, e->hash) != STACK_NONE)
		return;
	stack_table__add(s->stacks, e->hash, (const uint64_t *)e->ips, e->nframes, e->truncated);
	/* record the objects these addresses are in while the target lives */
	for (i = 0; s->sym && i < e->nframes; i++)
		symbolizer__track(s->sym, e->ips[i]);
}

static uint32_t event_stack(struct event_sink *s, uint64_t hash, uint64_t caller,
			    uint16_t flags)
{
	if (flags & MS_EVF_STACK_LOST)
		s->stack_lost++;
	if (hash == 0 && s->sym && caller)
		symbolizer__track(s->sym, caller);
	return stack_table__for_event(s->stacks, hash, caller);
}

/*
 * The stages of a record in the queue, by how many records came after it:
 * at 0 its table slots are prefetched (live table, stack hash), at MAP_AT
 * its stack is mapped and the site and (thread, stack) slot prefetched, at
 * COUNT_AT the counters those lead to, at EVENT_SINK_DEPTH it is applied.
 * Stacks are mapped in stream order: any record that changes the stack
 * table applies the queue first.
 */
#define MAP_AT 3
#define COUNT_AT 6

static struct sink_slot *queued(struct event_sink *s, unsigned behind_newest)
{
	return &s->queue[(s->qhead + s->qlen - 1 - behind_newest) % EVENT_SINK_DEPTH];
}

static void map(struct event_sink *s, struct sink_slot *q)
{
	if (q->is_free) {
		q->f.stack = event_stack(s, q->hash, q->caller, q->flags);
	} else {
		q->a.stack = event_stack(s, q->hash, q->caller, q->flags);
		heap__prefetch_alloc(s->heap, &q->a);
	}
	q->mapped = true;
}

static void prefetch_counters(struct event_sink *s, const struct sink_slot *q)
{
	if (q->is_free)
		heap__prefetch_release_counters(s->heap, &q->f);
	else
		heap__prefetch_alloc_counters(s->heap, &q->a);
}

/* The call in q, in the order the stream gave it. */
static void apply(struct event_sink *s, struct sink_slot *q)
{
	if (!q->mapped)
		map(s, q);
	if (s->timeline)
		timeline__event(s->timeline, q->is_free ? q->f.ts_ns : q->a.ts_ns,
				heap__totals(s->heap));
	if (q->is_free) {
		heap__release(s->heap, &q->f);
	} else {
		heap__alloc(s->heap, &q->a);
		if (s->annots)
			annotations__on_alloc(s->annots, &q->a);
	}
	s->events++;
}

/* Applies the oldest queued call and takes it off the queue. */
static void apply_oldest(struct event_sink *s)
{
	struct sink_slot *q = &s->queue[s->qhead];

	s->qhead = (s->qhead + 1) % EVENT_SINK_DEPTH;
	s->qlen--;
	apply(s, q);
}

/* A new slot at the queue's end, the others advanced a stage. */
static struct sink_slot *enqueue(struct event_sink *s)
{
	struct sink_slot *q;

	if (s->qlen == EVENT_SINK_DEPTH)
		apply_oldest(s);
	s->qlen++;
	if (s->qlen > MAP_AT)
		map(s, queued(s, MAP_AT));
	if (s->qlen > COUNT_AT)
		prefetch_counters(s, queued(s, COUNT_AT));
	q = queued(s, 0);
	q->mapped = false;
	return q;
}

/* Stage 0 of a record just queued. */
static void read_ahead(struct event_sink *s, struct sink_slot *q, uint64_t hash, uint64_t caller,
		       uint16_t flags)
{
	q->hash = hash;
	q->caller = caller;
	q->flags = flags;
	stack_table__prefetch(s->stacks, hash, caller);
	if (q->is_free)
		heap__prefetch_live(s->heap, q->f.ptr, 0);
	else
		heap__prefetch_live(s->heap, q->a.untracked ? 0 : q->a.ptr, q->a.old_ptr);
}

void events__flush(struct event_sink *s)
{
	while (s->qlen)
		apply_oldest(s);
}

int handle_event(void *ctx, void *data, size_t size)
{
	struct event_sink *s = ctx;
	const uint8_t *type = data;

	if (size < 1) {
		s->malformed++;
		return 0;
	}
	switch (*type) {
	case MS_EV_ALLOC: {
		const struct ms_ev_alloc *e = data;
		struct sink_slot *q;

		if (size < sizeof(*e))
			break;
		q = enqueue(s);
		q->is_free = false;
		events__decode_alloc(e, &q->a);
		read_ahead(s, q, e->stack, e->caller, e->flags);
		return 0;
	}
	case MS_EV_FREE: {
		const struct ms_ev_free *e = data;
		struct sink_slot *q;

		if (size < sizeof(*e))
			break;
		q = enqueue(s);
		q->is_free = true;
		events__decode_free(e, &q->f);
		read_ahead(s, q, e->stack, e->caller, e->flags);
		return 0;
	}
	}
	/* anything else may read what the queued calls change */
	events__flush(s);
	switch (*type) {
	case MS_EV_STACK:
		if (size < MS_EV_STACK_HDR)
			break;
		on_stack(s, data, size);
		return 0;
	case MS_EV_ANNOT: {
		const struct ms_ev_annot *e = data;

		if (size < sizeof(*e))
			break;
		if (s->annots)
			annotations__on_annot(s->annots, e, event_stack(s, e->stack, 0, e->flags));
		return 0;
	}
	case MS_EV_THREAD: {
		const struct ms_ev_thread *e = data;
		char name[sizeof(e->comm) + 1];

		if (size < sizeof(*e))
			break;
		memcpy(name, e->comm, sizeof(e->comm));
		name[sizeof(e->comm)] = 0;
		if (s->names)
			thread_names__set(s->names, e->tid, name);
		return 0;
	}
	}
	s->malformed++;
	return 0;
}
