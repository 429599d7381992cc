/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "memscope_events.h"
#include "stacks.h"
#include "util.h"

/*
 * Each stack (its struct stack and its frames together) is carved from an
 * arena of chunks that never move, so the pointers stack_table__get() returns
 * stay valid while the table grows; only the array of those pointers is
 * reallocated.  Stacks live as long as the table, so nothing is freed one by
 * one.
 */
#define CHUNK_SIZE (64 * 1024)

struct chunk {
	struct chunk *next;
	size_t used;
	size_t size;
	uint64_t data[]; /* 8-aligned, as struct stack and the frames need */
};

/* key -> index, open addressing; key 0 marks an empty slot */
struct idmap_slot {
	uint64_t key;
	uint32_t idx;
};

struct idmap {
	struct idmap_slot *slots;
	size_t mask;
	size_t count;
};

struct stack_table {
	struct stack **by_idx; /* [0] is NULL: STACK_NONE */
	uint32_t count;        /* used entries of by_idx, STACK_NONE included */
	uint32_t cap;
	struct idmap by_hash;   /* BPF stack hash -> index */
	/* caller -> index of its one-frame stack; apart from by_hash so a
	 * return address can never be mistaken for a BPF hash */
	struct idmap by_caller;
	struct chunk *chunks;
};

static void idmap_init(struct idmap *m, size_t cap)
{
	m->slots = xcalloc(cap, sizeof(*m->slots));
	m->mask = cap - 1;
	m->count = 0;
}

static struct idmap_slot *idmap_slot(const struct idmap *m, uint64_t key)
{
	size_t i = ms_hash64(key) & m->mask;

	while (m->slots[i].key && m->slots[i].key != key)
		i = (i + 1) & m->mask;
	return &m->slots[i];
}

static uint32_t idmap_get(const struct idmap *m, uint64_t key)
{
	return key ? idmap_slot(m, key)->idx : STACK_NONE;
}

static void idmap_put(struct idmap *m, uint64_t key, uint32_t idx);

static void idmap_grow(struct idmap *m)
{
	struct idmap old = *m;
	size_t i;

	idmap_init(m, (old.mask + 1) * 2);
	for (i = 0; i <= old.mask; i++)
		if (old.slots[i].key)
			idmap_put(m, old.slots[i].key, old.slots[i].idx);
	free(old.slots);
}

/* key is not in m yet and is not 0 */
static void idmap_put(struct idmap *m, uint64_t key, uint32_t idx)
{
	struct idmap_slot *s = idmap_slot(m, key);

	s->key = key;
	s->idx = idx;
	/* keep the load under 1/2: these maps are small and looked up per event */
	if (++m->count > (m->mask + 1) / 2)
		idmap_grow(m);
}

static void *arena_alloc(struct stack_table *t, size_t n)
{
	struct chunk *c = t->chunks;
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (!c || c->size - c->used < n) {
		size_t size = n > CHUNK_SIZE ? n : CHUNK_SIZE;

		c = xmalloc(sizeof(*c) + size);
		c->used = 0;
		c->size = size;
		c->next = t->chunks;
		t->chunks = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

/* Appends a stack with a copy of ips; returns its index. */
static uint32_t push_stack(struct stack_table *t, uint64_t hash, const uint64_t *ips,
			   uint32_t nframes, uint8_t truncated)
{
	struct stack *s = arena_alloc(t, sizeof(*s) + (size_t)nframes * sizeof(*ips));
	uint64_t *frames = (uint64_t *)(s + 1);

	if (nframes)
		memcpy(frames, ips, (size_t)nframes * sizeof(*ips));
	s->hash = hash;
	s->nframes = nframes;
	s->truncated = truncated;
	s->ips = frames;
	if (t->count == t->cap) {
		t->cap *= 2;
		t->by_idx = xrealloc(t->by_idx, t->cap * sizeof(*t->by_idx));
	}
	t->by_idx[t->count] = s;
	return t->count++;
}

struct stack_table *stack_table__new(void)
{
	struct stack_table *t = xcalloc(1, sizeof(*t));

	t->cap = 64;
	t->by_idx = xcalloc(t->cap, sizeof(*t->by_idx));
	t->count = 1; /* STACK_NONE */
	idmap_init(&t->by_hash, 64);
	idmap_init(&t->by_caller, 64);
	return t;
}

void stack_table__free(struct stack_table *t)
{
	struct chunk *c, *next;

	if (!t)
		return;
	for (c = t->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(t->by_hash.slots);
	free(t->by_caller.slots);
	free(t->by_idx);
	free(t);
}

/* hash 0 is never sent by BPF (it means "no stack"): it gets STACK_NONE */
uint32_t stack_table__add(struct stack_table *t, uint64_t hash, const uint64_t *ips,
			  uint32_t nframes, uint8_t truncated)
{
	uint32_t idx;

	if (!hash)
		return STACK_NONE;
	idx = idmap_get(&t->by_hash, hash);
	if (idx != STACK_NONE)
		return idx;
	idx = push_stack(t, hash, ips, nframes, truncated);
	idmap_put(&t->by_hash, hash, idx);
	return idx;
}

uint32_t stack_table__find(const struct stack_table *t, uint64_t hash)
{
	return idmap_get(&t->by_hash, hash);
}

/* A caller-only stack has hash 0: it stands for no BPF stack record. */
uint32_t stack_table__for_event(struct stack_table *t, uint64_t hash, uint64_t caller)
{
	uint32_t idx = idmap_get(&t->by_hash, hash);

	if (idx != STACK_NONE || !caller)
		return idx;
	idx = idmap_get(&t->by_caller, caller);
	if (idx != STACK_NONE)
		return idx;
	idx = push_stack(t, 0, &caller, 1, false);
	idmap_put(&t->by_caller, caller, idx);
	return idx;
}

void stack_table__prefetch(const struct stack_table *t, uint64_t hash, uint64_t caller)
{
	const struct idmap *m = hash ? &t->by_hash : &t->by_caller;

	__builtin_prefetch(&m->slots[ms_hash64(hash ? hash : caller) & m->mask]);
}

const struct stack *stack_table__get(const struct stack_table *t, uint32_t idx)
{
	return idx < t->count ? t->by_idx[idx] : NULL;
}

uint32_t stack_table__count(const struct stack_table *t)
{
	return t->count;
}

uint32_t stack_table__truncated(const struct stack_table *t)
{
	uint32_t n = 0;

	for (uint32_t i = 1; i < t->count; i++)
		n += t->by_idx[i]->truncated != 0;
	return n;
}

const char *stack_end__name(uint8_t truncated)
{
	static const char *names[MS_STK__COUNT] = {
		[MS_STK_DEPTH] = "depth",	  [MS_STK_NO_TABLE] = "no_table",
		[MS_STK_UNSUPPORTED] = "unsupported", [MS_STK_READ] = "read",
		[MS_STK_NO_VMA] = "no_vma",
	};

	if (!truncated)
		return NULL;
	return truncated < MS_STK__COUNT ? names[truncated] : "unknown";
}
