/* SPDX-License-Identifier: MIT */
/*
 * The table of distinct user stacks.  The BPF side names each stack by a
 * 64-bit hash of its frames and sends the frames once; this table maps hash
 * -> a small dense index (used everywhere else) and keeps the frames.
 * Index 0 is reserved for "no stack known".
 */
#ifndef MS_STACKS_H
#define MS_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STACK_NONE 0u

struct stack {
	uint64_t hash;
	uint32_t nframes;
	uint8_t truncated;   /* enum ms_stack_end: 0 when complete */
	const uint64_t *ips; /* return addresses, innermost first */
};

struct stack_table;

struct stack_table *stack_table__new(void);
void stack_table__free(struct stack_table *t);

/* Records a stack (idempotent for a known hash).  Returns its index (> 0). */
uint32_t stack_table__add(struct stack_table *t, uint64_t hash, const uint64_t *ips,
			  uint32_t nframes, uint8_t truncated);
/* Index of a known hash, or STACK_NONE. */
uint32_t stack_table__find(const struct stack_table *t, uint64_t hash);
/*
 * The index to use for an event: its stack when the hash is known; when the
 * hash is 0 (stacks off) or unknown (its record was lost), a one-frame stack
 * made of the caller's return address (so sites still group by call site).
 */
uint32_t stack_table__for_event(struct stack_table *t, uint64_t hash, uint64_t caller);
/* A hint: stack_table__for_event(t, hash, caller) will come soon. */
void stack_table__prefetch(const struct stack_table *t, uint64_t hash, uint64_t caller);
const struct stack *stack_table__get(const struct stack_table *t, uint32_t idx);
/* Number of indexes in use, including STACK_NONE: valid ones are 1..count-1. */
uint32_t stack_table__count(const struct stack_table *t);

/* Distinct stacks recorded that end early (truncated != 0). */
uint32_t stack_table__truncated(const struct stack_table *t);
/* A name for why a stack ends early ("depth", "no_table", ...); NULL for 0. */
const char *stack_end__name(uint8_t truncated);

#endif
