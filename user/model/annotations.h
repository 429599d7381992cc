/* SPDX-License-Identifier: MIT */
/*
 * Variables and scopes from include/memscope.h's USDT annotations.
 *
 *  - MEMSCOPE_TRACK*(ptr, name...) names the live block ptr points into (its
 *    start or inside it).  A name stays with its block through realloc and
 *    is marked freed when the block is released.  Naming an address that is
 *    in no live block but in a released one is a use_after_free finding (the
 *    program touched a freed pointer through the API); an address in
 *    neither is counted as an unmatched annotation.
 *  - MEMSCOPE_SCOPE_BEGIN/END keep a stack of scope names per thread; each
 *    allocation is counted under its thread's innermost scope.
 *
 * Names are untrusted: already bounded by the BPF side, stored as read,
 * escaped by the renderers.
 */
#ifndef MS_ANNOTATIONS_H
#define MS_ANNOTATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "heap.h"
#include "memscope_events.h"

struct variable {
	char name[MS_ANNOT_NAME_MAX];
	char type[MS_ANNOT_TYPE_MAX];
	char file[MS_ANNOT_FILE_MAX];
	int line;
	uint64_t ptr;        /* the address named */
	uint64_t block;      /* the block's start (current one after a realloc) */
	uint64_t size;       /* the block's size (current one) */
	uint32_t alloc_stack; /* of the block now (a realloc's, after one) */
	uint32_t annot_stack;
	uint64_t alloc_ts_ns;
	uint64_t named_ts_ns;
	uint64_t freed_ts_ns; /* 0 while live */
	bool freed;
	uint32_t next;        /* bookkeeping: next variable of the same block */
};

struct scope_stats {
	char name[MS_ANNOT_NAME_MAX];
	uint64_t allocations;
	uint64_t bytes;
};

struct annotations;

/* Observes h (through its hooks) and reports use-after-free through d. */
struct annotations *annotations__new(struct heap *h, struct detector *d);
void annotations__free(struct annotations *a);

/* An MS_EV_ANNOT record, its strings already read (the loader reads from
 * the target those BPF could not: user/record/events.c); stack is its stack index. */
void annotations__on_annot(struct annotations *a, const struct ms_ev_annot *e, uint32_t stack);
/* Counts an allocation under its thread's innermost scope (if any). */
void annotations__on_alloc(struct annotations *a, const struct alloc_call *c);

const struct variable *annotations__variables(const struct annotations *a, size_t *n);
const struct scope_stats *annotations__scopes(const struct annotations *a, size_t *n);
uint64_t annotations__unmatched(const struct annotations *a);
uint64_t annotations__count(const struct annotations *a); /* annotation events seen */

#endif
