/* SPDX-License-Identifier: MIT */
/*
 * The report model: what every renderer (text, JSON, later HTML) shows,
 * computed once from the heap model, the stack table and the symbolizer, so
 * the outputs cannot disagree.
 */
#ifndef MS_REPORT_H
#define MS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "discover.h"
#include "heap.h"
#include "memscope_events.h"
#include "stacks.h"
#include "symbolize.h"

struct report_input {
	int pid;
	const char *comm;
	const char *cmdline;
	bool launched;
	bool exited;        /* the target ended while traced */
	int exit_code;      /* launched && exited: status, or -1 when killed */
	int exit_signal;    /* launched && exited: signal that killed it, or 0 */
	const char *exit_text;
	const struct heap *heap;
	const struct stack_table *stacks;
	struct symbolizer *sym;
	const struct alloc_objects *objs; /* the allocator objects probed */
	uint64_t bpf_stats[MS_STAT__COUNT];
	uint64_t stack_lost;
	uint64_t malformed;
	uint64_t start_ns, end_ns;
	bool alloc_stacks;
	bool free_stacks;
	size_t nprobes;
};

struct report_site {
	uint32_t stack;
	uint64_t count;        /* leaks: live blocks; sites: allocations */
	uint64_t bytes;        /* leaks: live bytes; sites: bytes allocated */
	uint64_t live_count;
	uint64_t live_bytes;
	uint64_t oldest_ts_ns; /* leaks: allocation time of the oldest block */
};

struct report {
	const struct report_input *in;
	struct report_site *leaks; /* bytes desc, then count desc */
	size_t nleaks;
	struct report_site *sites; /* every allocating stack, bytes desc */
	size_t nsites;
	bool *stack_used;          /* indexed by stack: referenced by the report */
	uint32_t nstacks;
};

struct report *report__build(const struct report_input *in);
void report__free(struct report *r);

typedef void (*report_frame_fn)(void *ctx, const struct sym_frame *f, bool is_site);

/*
 * Calls fn for each frame of stack, inlined frames expanded, innermost
 * first.  is_site marks the allocation site: the first frame not inside one
 * of the allocator objects (strdup's caller rather than strdup).
 */
void report__each_frame(struct report *r, uint32_t stack, report_frame_fn fn, void *ctx);

/* The allocation-site frame of stack, or NULL when there is none. */
const struct sym_frame *report__site_frame(struct report *r, uint32_t stack);

/* Human-readable sizes: "1.5 KiB" into buf. */
const char *report__fmt_bytes(uint64_t bytes, char *buf, size_t len);

/* Renderers.  0 or negative errno. */
int report__write_text(struct report *r, FILE *f, unsigned top);
int report__write_json(struct report *r, FILE *f);

#endif
