/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "live_table.h"
#include "util.h"

/*
 * Slots are struct live_block themselves (40 bytes with padding); ptr == 0
 * marks an empty slot, which is why 0 is never a key.  The capacity is a
 * power of two so the home slot is a mask of the hash, and the table grows
 * before the load passes 7/10, where linear probing is still short.
 */
#define MIN_CAPACITY 16
#define LOAD_NUM 7
#define LOAD_DEN 10
struct live_table {
	struct live_block *slots; /* ms_big_zalloc() */
	size_t mask;    /* capacity - 1 */
	size_t count;
	size_t grow_at; /* count above which the table doubles */
};

static size_t capacity_for(size_t n)
{
	size_t cap = MIN_CAPACITY;

	while (cap * LOAD_NUM / LOAD_DEN < n)
		cap <<= 1;
	return cap;
}

static size_t slot_bytes(size_t cap)
{
	return cap * sizeof(struct live_block);
}

static void set_capacity(struct live_table *t, size_t cap)
{
	t->slots = ms_big_zalloc(slot_bytes(cap));
	t->mask = cap - 1;
	t->grow_at = cap * LOAD_NUM / LOAD_DEN;
}

struct live_table *live_table__new(size_t expected)
{
	struct live_table *t = xcalloc(1, sizeof(*t));

	set_capacity(t, capacity_for(expected));
	return t;
}

void live_table__free(struct live_table *t)
{
	if (!t)
		return;
	ms_big_free(t->slots, slot_bytes(t->mask + 1));
	free(t);
}

/* The slot holding ptr, or the empty slot ending its probe chain. */
static size_t find_slot(const struct live_table *t, uint64_t ptr)
{
	size_t i = ms_hash64(ptr) & t->mask;

	while (t->slots[i].ptr && t->slots[i].ptr != ptr)
		i = (i + 1) & t->mask;
	return i;
}

static void grow(struct live_table *t)
{
	struct live_block *old = t->slots;
	size_t old_cap = t->mask + 1, i;

	set_capacity(t, old_cap * 2);
	for (i = 0; i < old_cap; i++)
		if (old[i].ptr)
			t->slots[find_slot(t, old[i].ptr)] = old[i];
	ms_big_free(old, slot_bytes(old_cap));
}

int live_table__put(struct live_table *t, const struct live_block *b,
		    struct live_block *old)
{
	size_t i;

	if (!b->ptr)
		return -EINVAL;
	i = find_slot(t, b->ptr);
	if (t->slots[i].ptr) {
		if (old)
			*old = t->slots[i];
		t->slots[i] = *b;
		return 1;
	}
	t->slots[i] = *b;
	/* grow after inserting, so a put never probes a table about to move */
	if (++t->count > t->grow_at)
		grow(t);
	return 0;
}

/*
 * Backward-shift deletion: walk the chain after the hole and pull back each
 * block whose home slot is not between the hole and where it sits, so every
 * remaining block stays reachable from its home without tombstones.
 */
static void delete_at(struct live_table *t, size_t hole)
{
	size_t j = hole;

	for (;;) {
		size_t home;

		j = (j + 1) & t->mask;
		if (!t->slots[j].ptr)
			break;
		home = ms_hash64(t->slots[j].ptr) & t->mask;
		/* distances measured backwards from j, modulo the capacity */
		if (((j - home) & t->mask) >= ((j - hole) & t->mask)) {
			t->slots[hole] = t->slots[j];
			hole = j;
		}
	}
	t->slots[hole].ptr = 0;
	t->count--;
}

bool live_table__take(struct live_table *t, uint64_t ptr, struct live_block *out)
{
	size_t i;

	if (!ptr)
		return false;
	i = find_slot(t, ptr);
	if (!t->slots[i].ptr)
		return false;
	if (out)
		*out = t->slots[i];
	delete_at(t, i);
	return true;
}

const struct live_block *live_table__get(const struct live_table *t, uint64_t ptr)
{
	size_t i;

	if (!ptr)
		return NULL;
	i = find_slot(t, ptr);
	return t->slots[i].ptr ? &t->slots[i] : NULL;
}

/*
 * The home slot and the lines after it: a 40-byte slot often ends in the
 * next line, and probing, and a deletion's backward shift, go on there
 * (the next two or three slots, at the loads the table keeps).
 */
void live_table__prefetch(const struct live_table *t, uint64_t ptr)
{
	const char *p = (const char *)&t->slots[ms_hash64(ptr) & t->mask];

	__builtin_prefetch(p, 1);
	__builtin_prefetch(p + 64, 1);
	__builtin_prefetch(p + 128, 1);
}

size_t live_table__count(const struct live_table *t)
{
	return t->count;
}

const struct live_block *live_table__next(const struct live_table *t, size_t *it)
{
	size_t i;

	for (i = *it; i <= t->mask; i++) {
		if (t->slots[i].ptr) {
			*it = i + 1;
			return &t->slots[i];
		}
	}
	*it = i;
	return NULL;
}
