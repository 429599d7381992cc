/* SPDX-License-Identifier: MIT */
/*
 * What the report is built from: the model, the symbolizer and the run's
 * facts (struct report_input), and report__build(), which turns them into
 * the snapshot of report.h.  Only the report's builders include this (the
 * session, the capture's reader, benches, tests); renderers never do.
 *
 * The frames API below walks the model's stacks through the symbolizer as
 * the report's site rule sees them: report__build() uses it, and the live
 * view, which shows sites while tracing, without a snapshot.
 */
#ifndef MS_REPORT_INPUT_H
#define MS_REPORT_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "annotations.h"
#include "detect.h"
#include "discover.h"
#include "footprint.h"
#include "heap.h"
#include "overflow.h"
#include "growth.h"
#include "heap.h"
#include "mappings.h"
#include "memscope_events.h"
#include "reach.h"
#include "model.h"
#include "report.h"
#include "stacks.h"
#include "symbolize.h"
#include "thread_names.h"
#include "timeline.h"
#include "unwind.h"

struct report_input {
	int pid;
	const char *comm;
	const char *cmdline;
	bool launched;
	bool exited;        /* the target ended while traced */
	bool status_known;  /* exited, and its status is known (always when launched) */
	int exit_code;      /* status_known: status, or -1 when killed */
	int exit_signal;    /* status_known: signal that killed it, or 0 */
	const char *exit_text;
	const struct heap *heap;
	const struct stack_table *stacks;
	struct symbolizer *sym;
	const struct alloc_objects *objs; /* the allocator objects probed */
	uint64_t bpf_stats[MS_STAT__COUNT];
	uint64_t stack_lost;
	uint64_t malformed;
	uint32_t batch;        /* MS_BATCH when records came in batches, else 0 */
	uint64_t late_records; /* batched records applied out of time order */
	uint64_t start_ns, end_ns;
	uint64_t start_wall_ns; /* start_ns on CLOCK_REALTIME (profiles' time); 0: unknown */
	bool alloc_stacks;
	bool free_stacks;
	int unwind_mode;                  /* enum ms_unwind_mode */
	struct unwind_stats unwind;       /* the CFI tables used (auto, dwarf) */
	/* --sample-bytes; 0 when every call was traced.  Otherwise counts and
	 * bytes are estimates (the heap's weights; leaks weighed the same). */
	uint64_t sample_bytes;
	size_t nprobes;
	const struct report_degraded *degraded; /* what the kernel refused; ndegraded of them */
	/* objects with frames left without a function name, and why
	 * (symbolizer__unnamed()); nunnamed of them, by path */
	const struct sym_unnamed *unnamed;
	size_t nunnamed;
	size_t ndegraded;
	const struct detector *detector;         /* may be NULL */
	const struct overflow_check *overflow;   /* NULL: no --check-overflow */
	const struct footprint *footprint;       /* may be NULL */
	const struct timeline *timeline;         /* may be NULL */
	const struct growth *growth;             /* the sites' series on it; may be NULL */
	const struct thread_names *thread_names; /* may be NULL */
	const struct annotations *annots;        /* may be NULL */
	/* mmap & co.: how they were traced (enum tracer_maps in attach.h: 0 not
	 * at all), and what they left (NULL: not traced) */
	int mappings;
	const struct mappings *maps;
	/*
	 * Leak rule: when the target exited while traced, every block live at
	 * its exit leaked; otherwise only blocks older than min_age_ns at detach
	 * count (young ones are likely still in use).
	 */
	uint64_t min_age_ns;
	/* bpf_stats[MS_STAT_VM_CHILDREN] counts the processes sharing the
	 * target's address space it started (else the count is unknown) */
	bool vm_children_known;
	/* (the same hook counts bpf_stats[MS_STAT_CHILDREN], the processes it forked) */
	/* -p: the processes running below the target when tracing began: not traced */
	uint64_t children_at_attach;
	/* the reachability scan at exit or detach; NULL: none was made (an old capture) */
	const struct reach_result *scan;
	/* the execs of the target (model.h), in order; the heap is the last image's */
	const struct model_exec *execs;
	size_t nexecs;
	/* -f: the other processes traced (model.h), in order of appearance */
	const struct model_proc *procs;
	size_t nprocs;
	/* --all: no target (pid 0, its heap empty): every process is one of procs */
	bool system_wide;
	const char *cgroup; /* --cgroup's path as given; NULL: the whole machine */
};

/*
 * The snapshot of in: every stack the report refers to symbolized (so a
 * capture written after it holds their frames), sorted, aggregated.  in
 * may be freed afterwards.  Free with report__free().
 */
struct report *report__build(const struct report_input *in);

/*
 * Frames of in's stacks, for report__build() and the live view: only in's
 * stacks, sym and objs are read, and in must outlive it.  Which modules are
 * allocator objects is kept between calls.  Free with report_frames__free().
 */
struct report_frames;
struct report_frames *report_frames__new(const struct report_input *in);
void report_frames__free(struct report_frames *rf);

typedef void (*report_frame_fn)(void *ctx, const struct sym_frame *f, bool is_site);

/*
 * Calls fn for each frame of stack, inlined frames expanded, innermost
 * first.  is_site marks the allocation site: the first frame not inside one
 * of the allocator objects (strdup's caller rather than strdup), or when
 * every frame is inside them the innermost one (docs/findings.md "Site").
 */
void report_frames__each(struct report_frames *rf, uint32_t stack, report_frame_fn fn, void *ctx);
/* The allocation-site frame of stack, or NULL when it has no frame. */
const struct sym_frame *report_frames__site(struct report_frames *rf, uint32_t stack);
/* Its index among s's frames (inlined ones expanded), -1 when s has none. */
long report_frames__site_index(struct report_frames *rf, const struct stack *s);
/*
 * What the C/C++ runtime keeps the blocks allocated at stack for
 * ("stdio buffer", ... report__runtime_owner()), NULL when the program
 * allocated them.
 */
const char *report_frames__runtime_owner(struct report_frames *rf, uint32_t stack);

#endif
