// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "overflow.h"
#include "util.h"

enum {
	ENT_COMPARED = 1 << 0,   /* a later reading was compared with the first */
	ENT_OVERFLOWED = 1 << 1, /* and differed: a finding at the block's release */
	ENT_HEADER = 1 << 2,     /* a later reading's usable size differed */
};

/* A live block's reading at its allocation.  ptr 0: an empty slot. */
struct ov_entry {
	uint64_t ptr;
	uint64_t usable;
	uint32_t changed, reach;
	uint16_t len;
	uint8_t state;
	uint8_t bytes[MS_SLACK_WINDOW];
};

struct overflow_check {
	struct heap *heap;
	struct detector *det;
	struct ov_entry *slots; /* open addressing, linear probing, backward-shift deletion */
	size_t mask, count;
	uint64_t ended;         /* blocks counted below: released, or replaced */
	enum overflow_way way;
	struct overflow_stats st;
};

static size_t home(const struct overflow_check *o, uint64_t ptr)
{
	return (size_t)ms_hash64(ptr) & o->mask;
}

static struct ov_entry *find(const struct overflow_check *o, uint64_t ptr)
{
	for (size_t i = home(o, ptr);; i = (i + 1) & o->mask) {
		if (o->slots[i].ptr == ptr)
			return &o->slots[i];
		if (!o->slots[i].ptr)
			return NULL;
	}
}

static void grow(struct overflow_check *o)
{
	struct ov_entry *old = o->slots;
	size_t old_cap = o->mask + 1;

	o->mask = old_cap * 2 - 1;
	o->slots = xcalloc(o->mask + 1, sizeof(*o->slots));
	for (size_t k = 0; k < old_cap; k++) {
		size_t i;

		if (!old[k].ptr)
			continue;
		for (i = home(o, old[k].ptr); o->slots[i].ptr; i = (i + 1) & o->mask)
			;
		o->slots[i] = old[k];
	}
	free(old);
}

/* The entry for ptr, a fresh one when it had none. */
static struct ov_entry *put(struct overflow_check *o, uint64_t ptr)
{
	struct ov_entry *e = find(o, ptr);
	size_t i;

	if (e)
		return e;
	if ((o->count + 1) * 10 > (o->mask + 1) * 7)
		grow(o);
	for (i = home(o, ptr); o->slots[i].ptr; i = (i + 1) & o->mask)
		;
	o->count++;
	o->slots[i].ptr = ptr;
	return &o->slots[i];
}

static void delete(struct overflow_check *o, struct ov_entry *e)
{
	size_t hole = (size_t)(e - o->slots), i = hole;

	for (;;) {
		size_t h;

		i = (i + 1) & o->mask;
		if (!o->slots[i].ptr)
			break;
		h = home(o, o->slots[i].ptr);
		/* moves back unless its home lies cyclically in (hole, i] */
		if ((i > hole && (h <= hole || h > i)) || (i < hole && h <= hole && h > i)) {
			o->slots[hole] = o->slots[i];
			hole = i;
		}
	}
	memset(&o->slots[hole], 0, sizeof(o->slots[hole]));
	o->count--;
}

/* Counts a block whose checking is over (e NULL: no reading at allocation). */
static void classify(struct overflow_stats *st, const struct live_block *b,
		     const struct ov_entry *e)
{
	if (!e)
		st->not_seen++;
	else if (!e->usable || !e->len)
		st->unreadable++;
	else if (b->size >= e->usable)
		st->no_slack++;
	else if (e->state & ENT_HEADER)
		st->header_changed++;
	else if (!(e->state & ENT_COMPARED))
		st->not_compared++;
	else {
		st->checked++;
		if (e->state & ENT_OVERFLOWED)
			st->overflowed++;
		if (e->usable - b->size > e->len)
			st->partial++;
	}
}

/* Compares a later reading r with the first; true when the slack changed. */
static bool compare(struct ov_entry *e, const struct live_block *b, const struct ms_ev_slack *r)
{
	uint64_t end = b->ptr + b->size, first = b->ptr + e->usable - e->len;
	uint32_t changed = 0, reach = 0;

	if (!r->usable || r->len != e->len)
		return false; /* unreadable now: nothing learnt */
	if (r->usable != e->usable) {
		e->state |= ENT_HEADER;
		return false;
	}
	e->state |= ENT_COMPARED;
	for (uint32_t i = 0; i < e->len && i < MS_SLACK_WINDOW; i++) {
		uint64_t addr = first + i;

		if (addr < end || e->bytes[i] == r->bytes[i])
			continue;
		changed++;
		reach = (uint32_t)(addr - end + 1);
	}
	if (!changed)
		return false;
	/* the first change found stands (a realloc that failed, then a free) */
	if (!(e->state & ENT_OVERFLOWED)) {
		e->state |= ENT_OVERFLOWED;
		e->changed = changed;
		e->reach = reach;
	}
	return true;
}

void overflow__observe(struct overflow_check *o, const struct ms_ev_slack *r)
{
	const struct live_block *b = live_table__get(heap__live(o->heap), r->ptr);
	struct ov_entry *e;
	uint16_t len = r->len > MS_SLACK_WINDOW ? MS_SLACK_WINDOW : r->len;

	/* a block from before attach, or a record for an untracked one */
	if (!b)
		return;
	if (r->kind == MS_SLACK_ALLOC) {
		e = put(o, r->ptr);
		e->usable = r->usable;
		e->len = r->usable ? len : 0;
		e->state = 0;
		e->changed = e->reach = 0;
		memcpy(e->bytes, r->bytes, len);
		return;
	}
	e = find(o, r->ptr);
	if (!e || !e->usable || !e->len || b->size >= e->usable)
		return;
	if (compare(e, b, r) && r->kind == MS_SLACK_FINAL)
		detector__heap_overflow(o->det, b, NULL, NULL, r->ts_ns, e->changed, e->reach);
}

static void on_added(void *ctx, const struct live_block *b)
{
	struct overflow_check *o = ctx;

	(void)b;
	o->st.blocks++;
}

static void on_removed(void *ctx, const struct live_block *b, const struct free_call *fc,
		       const struct alloc_call *rc)
{
	struct overflow_check *o = ctx;
	struct ov_entry *e = find(o, b->ptr);

	o->ended++;
	classify(&o->st, b, e);
	if (!e)
		return;
	if ((e->state & ENT_OVERFLOWED) && (fc || rc))
		detector__heap_overflow(o->det, b, fc, rc, 0, e->changed, e->reach);
	delete(o, e);
}

struct overflow_check *overflow__new(struct heap *h, struct detector *d, enum overflow_way way)
{
	struct overflow_check *o = xcalloc(1, sizeof(*o));
	struct heap_hooks hooks = { .ctx = o, .added = on_added, .removed = on_removed };

	o->way = way;
	o->heap = h;
	o->det = d;
	o->mask = 1023;
	o->slots = xcalloc(o->mask + 1, sizeof(*o->slots));
	/* the model adds at most HEAP_MAX_HOOKS observers */
	if (heap__add_hooks(h, &hooks))
		abort();
	return o;
}

enum overflow_way overflow__way(const struct overflow_check *o)
{
	return o->way;
}

void overflow__free(struct overflow_check *o)
{
	if (!o)
		return;
	free(o->slots);
	free(o);
}

void overflow__stats(const struct overflow_check *o, struct overflow_stats *out)
{
	const struct live_table *live = heap__live(o->heap);
	uint64_t live_seen = 0;

	*out = o->st;
	for (size_t i = 0; i <= o->mask; i++) {
		const struct ov_entry *e = &o->slots[i];
		const struct live_block *b;

		if (!e->ptr || !(b = live_table__get(live, e->ptr)))
			continue;
		live_seen++;
		classify(out, b, e);
	}
	/* live blocks handed out while checking that had no reading */
	if (o->st.blocks > o->ended + live_seen)
		out->not_seen += o->st.blocks - o->ended - live_seen;
}

bool overflow__next_unchecked(const struct overflow_check *o, size_t *it, uint64_t *ptr,
			      uint64_t *usable)
{
	const struct live_table *live = heap__live(o->heap);

	for (; *it <= o->mask; (*it)++) {
		const struct ov_entry *e = &o->slots[*it];
		const struct live_block *b;

		if (!e->ptr || !e->usable || !e->len || (e->state & ENT_COMPARED))
			continue;
		b = live_table__get(live, e->ptr);
		if (!b || b->size >= e->usable)
			continue;
		*ptr = e->ptr;
		*usable = e->usable;
		(*it)++;
		return true;
	}
	return false;
}
