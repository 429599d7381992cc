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

#include "annotations.h"
#include "detect.h"
#include "discover.h"
#include "heap.h"
#include "memscope_events.h"
#include "stacks.h"
#include "unwind.h"
#include "symbolize.h"
#include "thread_names.h"
#include "timeline.h"

/* A kernel feature the tracer went without (attach.h's fallback ladder). */
struct report_degraded {
	const char *feature; /* "DWARF unwinding", "batching", ... */
	const char *reason;  /* the refused program and the verifier's last word */
	const char *instead; /* what ran in its place */
};

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
	size_t ndegraded;
	const struct detector *detector;         /* may be NULL */
	const struct timeline *timeline;         /* may be NULL */
	const struct thread_names *thread_names; /* may be NULL */
	const struct annotations *annots;        /* may be NULL */
	/*
	 * Leak rule: when the target exited while traced, every block live at
	 * its exit leaked; otherwise only blocks older than min_age_ns at detach
	 * count (young ones are likely still in use).
	 */
	uint64_t min_age_ns;
	/* bpf_stats[MS_STAT_VM_CHILDREN] counts the processes sharing the
	 * target's address space it started (else the count is unknown) */
	bool vm_children_known;
	/* objects with frames left without a function name, and why
	 * (symbolizer__unnamed()); nunnamed of them, by path */
	const struct sym_unnamed *unnamed;
	size_t nunnamed;
};

struct report_site {
	uint32_t stack;
	uint64_t count;        /* leaks: leaked blocks; sites: allocations; peak: blocks */
	uint64_t bytes;        /* leaks: leaked bytes; sites: bytes allocated; peak: bytes */
	uint64_t live_count;
	uint64_t live_bytes;
	uint64_t temporary;
	uint64_t peak_count;   /* sites: live blocks at the peak */
	uint64_t peak_bytes;
	uint64_t oldest_ts_ns; /* leaks: allocation time of the oldest block */
	/* leaks: what the C library keeps the blocks for (report__runtime_owner),
	 * NULL when the program allocated them */
	const char *runtime;
};

/*
 * An executable mapping that frames of the report's sites lie in: what a
 * profile (pprof's Mapping) needs to name the exact binary.
 */
struct report_mapping {
	uint64_t start, limit;  /* [start, limit) in the target */
	uint64_t offset;        /* file offset mapped at start */
	const char *path;       /* as /proc/PID/maps names it (from the target: untrusted) */
	const char *build_id;   /* GNU build id in hex, NULL when none */
	/* what its frames were resolved to: any function name, source file, line */
	bool has_functions, has_files, has_lines;
};

struct report {
	const struct report_input *in;
	struct report_site *leaks; /* bytes desc, then count desc */
	size_t nleaks;
	struct report_site *sites; /* every allocating stack, bytes desc */
	size_t nsites;
	struct report_site *peak;  /* sites holding memory at the peak, bytes desc */
	size_t npeak;
	/* per (thread, stack) counters sorted by tid then stack; NULL when the
	 * heap gave up counting them (too many pairs: heap__thread_sites()) */
	struct heap_thread_site *thread_sites;
	size_t nthread_sites;
	bool leaks_at_exit;        /* the rule applied: all live at exit */
	uint64_t leaked_count;
	uint64_t leaked_bytes;
	/* of those, blocks the C library keeps for the life of the process;
	 * their leak groups come after the program's */
	uint64_t runtime_count;
	uint64_t runtime_bytes;
	/*
	 * The heap's unknown frees, split: of a launched target that started
	 * a process sharing its address space (vfork), which allocates in its
	 * heap untraced, they are frees of that process's blocks (vm_frees);
	 * otherwise unknown (docs/findings.md "Unknown free").
	 */
	uint64_t unknown_frees;
	uint64_t vm_frees;
	bool *stack_used;          /* indexed by stack: referenced by the report */
	uint32_t nstacks;
	/* live variables (indexes into the annotations' list) by allocation stack */
	uint32_t *live_vars;
	size_t nlive_vars;
	/* modules (interned by the symbolizer) already classified */
	struct report_module { const char *path; bool allocator; } *modules;
	size_t nmodules;
	/* report__mappings(), by start address; built on first use */
	struct report_mapping *mappings;
	size_t nmappings;
	bool mappings_built;
};

struct report *report__build(const struct report_input *in);
/*
 * A report with nothing collected, for report__each_frame() and
 * report__site_frame() alone (the live view, while tracing): only in's
 * stacks, sym and objs are read, and in must outlive it.  Its module
 * classification is kept between calls.  Free with report__free().
 */
struct report *report__new_frames(const struct report_input *in);
void report__free(struct report *r);

typedef void (*report_frame_fn)(void *ctx, const struct sym_frame *f, bool is_site);

/*
 * Calls fn for each frame of stack, inlined frames expanded, innermost
 * first.  is_site marks the allocation site: the first frame not inside one
 * of the allocator objects (strdup's caller rather than strdup), or when
 * every frame is inside them the innermost one (docs/findings.md "Site").
 */
void report__each_frame(struct report *r, uint32_t stack, report_frame_fn fn, void *ctx);

/*
 * What the C library (libc, the dynamic loader) keeps a block for, when
 * function is one of its functions that allocate storage held until the
 * process ends (stdio buffers, thread-local storage, locale and time-zone
 * data): "stdio buffer", ...; NULL for any other function.
 */
const char *report__runtime_owner(const char *function);

/*
 * The mappings the frames of r->sites lie in, sorted by start address (a
 * program's own, mapped lowest, comes first).  Owned by r.
 */
const struct report_mapping *report__mappings(struct report *r, size_t *n);
/* The index in report__mappings() of the mapping frame f lies in, or -1. */
long report__mapping_of(struct report *r, const struct sym_frame *f);

/*
 * s made safe for formats that have no escaping (pprof's strings, folded
 * stacks) into buf: invalid UTF-8, control characters (C0, DEL and C1:
 * newline, tab, ESC, CSI, ...) and every byte in also (ASCII; may be NULL)
 * each become U+FFFD.  Cut at a
 * character boundary to fit len (> 0).  NULL s gives "".  Returns buf.
 */
const char *report__safe_text(const char *s, const char *also, char *buf, size_t len);

/* The allocation-site frame of stack, or NULL when it has no frame. */
const struct sym_frame *report__site_frame(struct report *r, uint32_t stack);

typedef void (*report_var_fn)(void *ctx, const struct variable *v);
/* Calls fn for each variable naming a live block allocated at stack. */
void report__each_live_var(const struct report *r, uint32_t stack, report_var_fn fn, void *ctx);

/* Short text for the leak rule applied ("live at exit", ...) into buf. */
const char *report__leak_rule(const struct report *r, char *buf, size_t len);
/* One line describing finding f. */
void report__finding_message(const struct report *r, const struct finding *f, char *buf,
			     size_t len);

/* Human-readable sizes: "1.5 KiB" into buf. */
const char *report__fmt_bytes(uint64_t bytes, char *buf, size_t len);

/*
 * What a profile counts at a site: pprof's sample types, in the order the
 * pprof profile lists them, and --folded-type's names.
 */
enum report_value {
	REPORT_ALLOC_OBJECTS, /* allocations */
	REPORT_ALLOC_SPACE,   /* bytes allocated */
	REPORT_INUSE_OBJECTS, /* blocks live when tracing stopped */
	REPORT_INUSE_SPACE,   /* their bytes */
	REPORT_VALUE__COUNT,
};

static inline const char *report_value__name(enum report_value v)
{
	static const char *const names[REPORT_VALUE__COUNT] = {
		"alloc_objects", "alloc_space", "inuse_objects", "inuse_space",
	};

	return (unsigned)v < REPORT_VALUE__COUNT ? names[v] : NULL;
}

/* Value v of site s (an entry of r->sites): an estimate when sampled, as in the JSON. */
static inline uint64_t report_site__value(const struct report_site *s, enum report_value v)
{
	switch (v) {
	case REPORT_ALLOC_OBJECTS:
		return s->count;
	case REPORT_ALLOC_SPACE:
		return s->bytes;
	case REPORT_INUSE_OBJECTS:
		return s->live_count;
	default:
		return s->live_bytes;
	}
}

/* Renderers.  0 or negative errno. */
int report__write_text(struct report *r, FILE *f, unsigned top);
int report__write_json(struct report *r, FILE *f);
/* The self-contained HTML page (docs/html-report.md), the JSON report embedded. */
int report__write_html(struct report *r, FILE *f);
/* A gzip'd pprof profile (profile.proto), one sample per site (docs/report-format.md). */
int report__write_pprof(struct report *r, FILE *f);
/* Folded stacks, one line per site with value v above 0 (docs/report-format.md). */
int report__write_folded(struct report *r, FILE *f, enum report_value v);

#endif
