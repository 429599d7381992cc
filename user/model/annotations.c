// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "annotations.h"
#include "stacks.h"
#include "util.h"

#define MAX_SCOPE_DEPTH 32
#define MAX_SCOPES 4096
#define NO_VAR UINT32_MAX

/* block start -> its first variable; chained buckets, entries recycled */
struct block_entry {
	uint64_t block;
	uint32_t head; /* first variable index */
	uint32_t next; /* next entry in the bucket, or NO_VAR */
};

struct thread_scopes {
	uint32_t tid;
	uint32_t depth;              /* may exceed MAX_SCOPE_DEPTH */
	uint32_t ids[MAX_SCOPE_DEPTH];
};

struct annotations {
	struct heap *heap;
	struct detector *det;
	struct variable *vars;
	size_t nvars, cap;
	uint32_t *buckets;           /* NO_VAR when empty */
	size_t nbuckets;
	struct block_entry *entries;
	size_t nentries, entries_cap;
	uint32_t free_entry;         /* recycled entries, linked by next */
	struct scope_stats *scopes;
	size_t nscopes;
	struct thread_scopes *threads;
	size_t nthreads;
	uint64_t unmatched;
	uint64_t count;
};

static size_t bucket_of(const struct annotations *a, uint64_t block)
{
	uint64_t h = block * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (a->nbuckets - 1);
}

/* The entry slot (a pointer to the link that holds it) for block. */
static uint32_t *find_link(struct annotations *a, uint64_t block)
{
	uint32_t *link = &a->buckets[bucket_of(a, block)];

	while (*link != NO_VAR && a->entries[*link].block != block)
		link = &a->entries[*link].next;
	return link;
}

static uint32_t new_entry(struct annotations *a)
{
	uint32_t i = a->free_entry;

	if (i != NO_VAR) {
		a->free_entry = a->entries[i].next;
		return i;
	}
	if (a->nentries == a->entries_cap) {
		a->entries_cap = a->entries_cap ? a->entries_cap * 2 : 64;
		a->entries = xrealloc(a->entries, a->entries_cap * sizeof(*a->entries));
	}
	return (uint32_t)a->nentries++;
}

/* Detaches block's variable chain; NO_VAR when it has none. */
static uint32_t take_block(struct annotations *a, uint64_t block)
{
	uint32_t *link = find_link(a, block), e, head;

	if (*link == NO_VAR)
		return NO_VAR;
	e = *link;
	head = a->entries[e].head;
	*link = a->entries[e].next;
	a->entries[e].next = a->free_entry;
	a->free_entry = e;
	return head;
}

/* Prepends chain (linked through variable.next) to block's chain. */
static void put_chain(struct annotations *a, uint64_t block, uint32_t head)
{
	uint32_t *link = find_link(a, block), tail = head, e;

	while (a->vars[tail].next != NO_VAR)
		tail = a->vars[tail].next;
	if (*link != NO_VAR) {
		a->vars[tail].next = a->entries[*link].head;
		a->entries[*link].head = head;
		return;
	}
	e = new_entry(a);
	a->entries[e] = (struct block_entry){ .block = block, .head = head, .next = NO_VAR };
	*link = e;
}

static void on_removed(void *ctx, const struct live_block *b, const struct free_call *fc,
		       const struct alloc_call *rc)
{
	struct annotations *a = ctx;
	uint32_t head = take_block(a, b->ptr), v;

	if (head == NO_VAR)
		return;
	if (rc && rc->is_realloc && rc->ptr) {
		/* the data moved: so does its name */
		for (v = head; v != NO_VAR; v = a->vars[v].next) {
			a->vars[v].block = rc->ptr;
			a->vars[v].size = rc->size;
			a->vars[v].alloc_stack = rc->stack;
		}
		put_chain(a, rc->ptr, head);
		return;
	}
	for (v = head; v != NO_VAR; v = a->vars[v].next) {
		a->vars[v].freed = true;
		a->vars[v].freed_ts_ns = fc ? fc->ts_ns : rc ? rc->ts_ns : 0;
	}
}

struct annotations *annotations__new(struct heap *h, struct detector *d)
{
	struct annotations *a = xcalloc(1, sizeof(*a));
	struct heap_hooks hooks = { .ctx = a, .removed = on_removed };

	a->heap = h;
	a->det = d;
	a->nbuckets = 1024;
	a->buckets = xmalloc(a->nbuckets * sizeof(*a->buckets));
	memset(a->buckets, 0xff, a->nbuckets * sizeof(*a->buckets));
	a->free_entry = NO_VAR;
	heap__add_hooks(h, &hooks);
	return a;
}

void annotations__free(struct annotations *a)
{
	if (!a)
		return;
	free(a->vars);
	free(a->buckets);
	free(a->entries);
	free(a->scopes);
	free(a->threads);
	free(a);
}

static void copy_str(char *dst, size_t size, const char *src, size_t src_size)
{
	size_t n = strnlen(src, src_size);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static void on_track(struct annotations *a, const struct ms_ev_annot *e, uint32_t stack)
{
	const struct live_block *b = detector__find_block(a->det, e->ptr);
	struct variable *v;

	if (!b) {
		if (!detector__use_after_free(a->det, e->ptr, stack, e->tid, e->ts_ns))
			a->unmatched++;
		return;
	}
	if (a->nvars == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->vars = xrealloc(a->vars, a->cap * sizeof(*a->vars));
	}
	v = &a->vars[a->nvars];
	memset(v, 0, sizeof(*v));
	copy_str(v->name, sizeof(v->name), e->name, sizeof(e->name));
	copy_str(v->type, sizeof(v->type), e->tname, sizeof(e->tname));
	copy_str(v->file, sizeof(v->file), e->file, sizeof(e->file));
	v->line = e->line;
	v->ptr = e->ptr;
	v->block = b->ptr;
	v->size = b->size;
	v->alloc_stack = b->stack;
	v->annot_stack = stack;
	v->alloc_ts_ns = b->ts_ns;
	v->named_ts_ns = e->ts_ns;
	v->next = NO_VAR;
	put_chain(a, b->ptr, (uint32_t)a->nvars++);
}

static struct thread_scopes *thread(struct annotations *a, uint32_t tid, bool create)
{
	for (size_t i = 0; i < a->nthreads; i++)
		if (a->threads[i].tid == tid)
			return &a->threads[i];
	if (!create)
		return NULL;
	a->threads = xrealloc(a->threads, (a->nthreads + 1) * sizeof(*a->threads));
	memset(&a->threads[a->nthreads], 0, sizeof(a->threads[0]));
	a->threads[a->nthreads].tid = tid;
	return &a->threads[a->nthreads++];
}

static uint32_t scope_id(struct annotations *a, const struct ms_ev_annot *e)
{
	char buf[MS_ANNOT_NAME_MAX];

	copy_str(buf, sizeof(buf), e->name, sizeof(e->name));
	for (size_t i = 0; i < a->nscopes; i++)
		if (!strcmp(a->scopes[i].name, buf))
			return (uint32_t)i;
	if (a->nscopes == MAX_SCOPES)
		return MAX_SCOPES - 1; /* the last one collects the rest */
	a->scopes = xrealloc(a->scopes, (a->nscopes + 1) * sizeof(*a->scopes));
	memset(&a->scopes[a->nscopes], 0, sizeof(a->scopes[0]));
	memcpy(a->scopes[a->nscopes].name, buf, sizeof(buf));
	return (uint32_t)a->nscopes++;
}

void annotations__on_annot(struct annotations *a, const struct ms_ev_annot *e, uint32_t stack)
{
	struct thread_scopes *t;

	a->count++;
	switch (e->kind) {
	case MS_ANNOT_TRACK:
		on_track(a, e, stack);
		break;
	case MS_ANNOT_SCOPE_BEGIN:
		t = thread(a, e->tid, true);
		if (t->depth < MAX_SCOPE_DEPTH)
			t->ids[t->depth] = scope_id(a, e);
		t->depth++;
		break;
	case MS_ANNOT_SCOPE_END:
		t = thread(a, e->tid, false);
		if (t && t->depth)
			t->depth--;
		break;
	}
}

void annotations__on_alloc(struct annotations *a, const struct alloc_call *c)
{
	struct thread_scopes *t;
	struct scope_stats *s;
	struct sample_weight w;

	if (!a->nthreads || !c->ptr || c->untracked)
		return;
	t = thread(a, c->tid, false);
	if (!t || !t->depth)
		return;
	s = &a->scopes[t->ids[(t->depth > MAX_SCOPE_DEPTH ? MAX_SCOPE_DEPTH : t->depth) - 1]];
	/* under sampling, what the block stands for, as in the heap */
	heap__weigh(a->heap, c, &w);
	s->allocations += w.count;
	s->bytes += w.bytes;
}

const struct variable *annotations__variables(const struct annotations *a, size_t *n)
{
	*n = a->nvars;
	return a->vars;
}

const struct scope_stats *annotations__scopes(const struct annotations *a, size_t *n)
{
	*n = a->nscopes;
	return a->scopes;
}

uint64_t annotations__unmatched(const struct annotations *a)
{
	return a->unmatched;
}

uint64_t annotations__count(const struct annotations *a)
{
	return a->count;
}
