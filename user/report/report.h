/* SPDX-License-Identifier: MIT */
/*
 * The report: one snapshot of plain data that every renderer (text, JSON,
 * HTML, pprof, folded) formats and nothing else.  report__build()
 * (report_input.h) computes all of it at once from the model, the
 * symbolizer and the run's facts: sorting, aggregation, symbolization,
 * messages.  Renderers include this header only, so the outputs cannot
 * disagree and no work hides on the output path.
 *
 * The snapshot owns everything it points to, strings included (copied,
 * interned: equal strings share one pointer); it points into no model,
 * stack table or symbolizer, which may be freed before it.  Strings that
 * came from the target (names, paths, variables) are untrusted: renderers
 * escape them.
 */
#ifndef MS_REPORT_H
#define MS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Names from the target are cut to this many bytes (the symbolizer's SYM_NAME_MAX). */
#define REPORT_NAME_MAX 1024
/* A stack reference that names no stack (STACK_NONE) */
#define REPORT_NO_STACK 0u

/* A kernel feature the tracer went without (attach.h's fallback ladder). */
struct report_degraded {
	const char *feature; /* "DWARF unwinding", "batching", ... */
	const char *reason;  /* the refused program and the verifier's last word */
	const char *instead; /* what ran in its place */
};

struct report_target {
	int pid;
	const char *comm;    /* NULL when unknown */
	const char *cmdline;
	bool launched;
	bool exited;         /* the target ended while traced */
	bool status_known;   /* exited, and its status is known */
	int exit_code;       /* status_known: status, or -1 when killed */
	int exit_signal;     /* status_known: signal that killed it, or 0 */
	const char *exit_text;
};

/* The CFI tables the unwinder used (auto, dwarf). */
struct report_unwind {
	const char *mode; /* "auto", "fp", "dwarf" */
	uint64_t objects, objects_bare, rows, capacity, dropped, shared;
	uint64_t build_us;
	uint64_t unknown_frames; /* frames met in objects without rows yet */
};

/* An object whose frames found no function names, and why (docs/architecture.md "Symbolization"). */
struct report_unnamed {
	const char *module;
	const char *build_id; /* hex; NULL when it has none */
	const char *reason;   /* "no symbols", "debug file not found", ... */
	uint64_t addresses;   /* distinct addresses in it shown as module+offset */
};

struct report_tracing {
	/* how stacks were walked: "dwarf" (by CFI), "fp", "none" */
	const char *stacks, *free_stacks;
	bool alloc_stacks_taken, free_stacks_taken;
	struct report_unwind unwind;
	/* --sample-bytes; 0 when every call was traced, else counts and bytes are estimates */
	uint64_t sample_bytes;
	uint64_t probes;
	uint32_t batch;        /* records per batch, 0: one by one */
	uint64_t late_records; /* batched records applied out of time order */
	bool vm_children_known;
	uint64_t vm_children;  /* processes sharing the target's address space it started */
	uint64_t children;     /* processes it forked while traced (vm_children_known) */
	uint64_t children_at_attach; /* -p: processes below it at attach */
	/* execs of the target not followed (a -p target's): its numbers mix programs */
	uint64_t execs_not_followed;
	const struct report_degraded *degraded;
	size_t ndegraded;
	const char **allocators; /* the objects probed, paths */
	size_t nallocators;
	/* the allocator whose malloc the process calls: "glibc", "jemalloc",
	 * "tcmalloc", "mimalloc", "unknown", and its object; NULL: none known */
	const char *allocator, *allocator_path;
	struct report_unnamed *unnamed; /* by path; nunnamed of them */
	size_t nunnamed;
	uint64_t interval_ns;    /* the timeline's, 0 when none */
	bool leaks_at_exit;      /* the leak rule: all live at exit */
	uint64_t min_age_ns;     /* otherwise: live at detach and at least this old */
	const char *leak_rule;   /* the rule in words ("live at exit", ...) */
	/*
	 * The reachability scan (docs/findings.md "Reachability"): scan_result
	 * "done", "skipped", "stopped" or "failed"; NULL when none was made (a
	 * capture from before it existed).  The bytes read, the time held.
	 */
	const char *scan_result;
	uint64_t scan_bytes, scan_ns;
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC: every *_ns below is on it */
	uint64_t start_wall_ns;    /* start_ns on CLOCK_REALTIME; 0: unknown */
};

/* A leak's reachability class, in the order reports list them (model/reach.h's enum reach_class). */
enum report_reach {
	REPORT_REACH_NONE,
	REPORT_REACH_DEFINITELY_LOST,
	REPORT_REACH_INDIRECTLY_LOST,
	REPORT_REACH_POSSIBLY_LOST,
	REPORT_REACH_STILL_REACHABLE,
	REPORT_REACH__COUNT,
};

/* "definitely_lost", ... (JSON) and "definitely lost", ... (text); NULL for none. */
static inline const char *report_reach__name(unsigned c)
{
	static const char *const names[REPORT_REACH__COUNT] = {
		NULL, "definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable",
	};

	return c < REPORT_REACH__COUNT ? names[c] : NULL;
}

static inline const char *report_reach__text(unsigned c)
{
	static const char *const texts[REPORT_REACH__COUNT] = {
		NULL, "definitely lost", "indirectly lost", "possibly lost", "still reachable",
	};

	return c < REPORT_REACH__COUNT ? texts[c] : NULL;
}

struct report_totals {
	uint64_t allocations, frees, bytes_allocated, bytes_freed;
	uint64_t peak_bytes, peak_ts_ns;
	uint64_t live_allocations, live_bytes;
	uint64_t temporary_allocations, failed_allocations;
	/* under the leak rule; of them, blocks the C/C++ runtime keeps */
	uint64_t leaked_count, leaked_bytes;
	uint64_t runtime_count, runtime_bytes;
	/* the leaks by class (enum report_reach), when the scan classified them */
	bool by_reach_done;
	struct { uint64_t count, bytes; } by_reach[REPORT_REACH__COUNT];
	uint64_t lost_events, sample_untracked, lost_stacks;
	uint32_t truncated_stacks; /* distinct stacks that end early */
	/*
	 * The heap's unknown frees, split: of a launched target that started a
	 * process sharing its address space (vfork), they are that process's
	 * blocks (vm_frees); otherwise unknown (docs/findings.md "Unknown free").
	 */
	uint64_t unknown_frees, vm_frees;
	uint64_t allocator_internal_frees;
	uint64_t annotations, unmatched_annotations;
};

/* One resolved frame: a return address, or a call inlined at it. */
struct report_frame {
	uint64_t ip;             /* the return address */
	const char *function;    /* demangled; NULL when unknown */
	const char *file;        /* NULL without line info */
	int line, column;        /* 0 when unknown */
	const char *module;      /* the mapped object's path; NULL when in none */
	uint64_t module_offset;  /* ip - 1 within the object (ELF vaddr) */
	uint64_t map_start, map_end, map_offset; /* its executable mapping */
	const char *build_id;    /* hex, NULL when none */
	bool inlined;            /* inlined into the frame that follows it */
	long mapping;            /* index in report.mappings, -1 when in none of them */
	/* the one-line form: "func (file:line)", "module+0xoff", "0xip", ... whole */
	const char *label;
};

/* A stack: frames frame_refs[first .. first + nframes), innermost first, inlined ones expanded. */
struct report_stack {
	bool listed;   /* among the report's stacks (JSON "stacks"): named by a site, a
			  thread's site, a finding or a variable */
	bool resolved; /* its frames are here: every stack the report names */
	bool truncated;
	const char *truncated_reason; /* "depth", "no_table", ...; NULL when complete */
	uint32_t first, nframes;
	/* the allocation site among them (docs/findings.md "Site"); -1 without frames */
	int32_t site;
};

struct report_site {
	int pid;               /* the process (the target's, or one of report.processes) */
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
	/* leaks: the variables naming its live blocks, live_vars[vars .. vars + nvars) */
	uint32_t vars, nvars;
	/* leaks: the class of its blocks (enum report_reach; 0: not classified) */
	uint8_t reach;
};


struct report_finding {
	int pid;               /* the process it happened in */
	const char *kind;      /* "double_free", ... */
	uint64_t ptr;
	uint32_t stack, alloc_stack, free_stack; /* REPORT_NO_STACK when none */
	uint32_t tid;
	uint64_t ts_ns;
	uint64_t occurrences;
	/* the offending call's, the allocation's, the earlier release's; NULL when none */
	const char *function, *alloc_function, *free_function;
	const char *message;   /* one line */
	/* heap_overflow: the block's size, how many slack bytes changed and how
	 * far past its end the farthest one is (1: the first byte past it) */
	uint64_t block_size;
	uint32_t overflow_changed, overflow_reach;
};

/*
 * --check-overflow (docs/findings.md "Heap overflows"): how blocks were
 * checked and how many could be.  way NULL: the check was not asked for.
 */
struct report_overflow {
	const char *way;    /* "read": slack read and compared; "none": malloc is not glibc's */
	const char *misses; /* what this way cannot see, in words */
	uint64_t blocks, checked, overflowed, no_slack, unreadable, not_compared, not_seen,
		partial, header_changed;
};

struct report_thread {
	int pid;               /* its process */
	uint32_t tid;
	const char *name;      /* NULL when unknown */
	uint64_t allocations, bytes, frees, live_count, live_bytes, temporary;
};

/* What one thread allocated at one stack. */
struct report_thread_site {
	uint32_t tid, stack;
	uint64_t allocations, bytes, live_count, live_bytes, temporary;
};

struct report_sample {
	uint64_t t_ns;
	uint64_t live_bytes, allocations, frees;
	bool has_rss;
	uint64_t rss_bytes;
	bool has_footprint;
	uint64_t footprint_bytes; /* the allocator's (report_fragmentation) */
	bool has_mapped;       /* mappings were traced */
	uint64_t mapped_bytes; /* the program's anonymous mappings */
};

/* One reading of the allocator's footprint against the live bytes. */
struct report_footprint {
	uint64_t t_ns;
	uint64_t footprint;       /* brk + arenas + mmapped */
	uint64_t brk, arenas, mmapped;
	uint64_t narenas, nmmapped;
	uint64_t live_bytes, mmapped_live;
	/* (footprint - live) / footprint, 0 when live exceeds it; in [0, 1] */
	double fragmentation;
};

/*
 * Fragmentation (docs/findings.md "Fragmentation"): known false when the
 * target's mappings were never read (a capture from before it existed).
 */
struct report_fragmentation {
	bool known;
	const char *rule;             /* which mappings count, in words */
	struct report_footprint end;  /* the last reading */
	struct report_footprint peak; /* the reading with the largest footprint */
};

/* A point of a growing site's curve: its bytes in use from t_ns on. */
struct report_point {
	uint64_t t_ns, bytes;
};

/*
 * A site whose bytes in use grow steadily (docs/findings.md "Growth"): the
 * least-squares slope over its span (its first change to the timeline's
 * end), the fit's r^2, and its curve, points[first .. first + npoints) of
 * report.growth_points (the last point at end_ns).
 */
struct report_growth {
	uint32_t stack;
	double slope;         /* bytes per second */
	double r2;
	uint64_t first_ns, end_ns;
	uint64_t first_bytes, last_bytes;
	uint32_t changes;     /* samples at which its bytes changed */
	uint32_t first, npoints;
};

/* A non-empty histogram bucket: count values up to max. */
struct report_bucket {
	uint64_t max, count;
};

/* Blocks by (stack, allocation bucket, release bucket; -1: still live). */
struct report_window {
	uint32_t stack;
	uint32_t alloc_bucket;
	int64_t free_bucket;
	uint64_t count, bytes;
};

struct report_variable {
	const char *name;
	const char *type;      /* NULL when not given */
	const char *file;
	int line;
	uint64_t ptr, block, size;
	uint32_t stack, annotation_stack; /* REPORT_NO_STACK when none */
	uint64_t named_ts_ns, alloc_ts_ns, freed_ts_ns;
	bool freed;
};

struct report_scope {
	const char *name;
	uint64_t allocations, bytes;
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

/*
 * One process image the target ran, when it execed (none otherwise): the
 * images before the last were closed out at their exec, their blocks still
 * live then "live at exec" (not leaks: the exec released them all).  The
 * last is the one the rest of the report is about.
 */
struct report_image {
	int pid;
	const char *comm, *cmdline;
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC; end: its exec, or tracing's end */
	bool execed;               /* ended by an exec (all but the last) */
	uint64_t allocations, frees, bytes_allocated, bytes_freed;
	uint64_t live_allocations, live_bytes; /* at its exec (the last: at the end) */
	uint64_t threads;          /* threads that called */
};

/* Entries [first, first + n) of one of the report's arrays: one process's part of it. */
struct report_range {
	size_t first, n;
};

/*
 * -f: another process traced beside the target, summed up; its leak groups,
 * sites, findings and threads are its ranges of the report's arrays.
 */
struct report_process {
	int pid, ppid;             /* ppid 0: unknown */
	const char *comm;
	const char *cmdline;       /* NULL: not read (gone before it could be) */
	uint64_t start_ns, end_ns; /* end 0: running when tracing ended */
	bool exited, status_known;
	bool execed;               /* --all: this image ended by an exec at end_ns */
	int exit_code, exit_signal; /* status_known: as report_target's */
	uint64_t allocations, frees, bytes_allocated, bytes_freed, peak_bytes;
	uint64_t live_allocations, live_bytes;
	/* live at its exit; still running at the end: live then and older than
	 * the leak rule's age (report_tracing.min_age_ns) */
	uint64_t leaked_count, leaked_bytes;
	uint64_t unknown_frees;    /* releases of blocks neither it nor its parent allocated */
	uint64_t inherited_frees;  /* releases of its parent's blocks, copies it got at the fork */
	struct report_range leaks, sites, findings, threads;
};

/* What one owner of anonymous mappings holds (docs/findings.md "Mappings"). */
struct report_anon_totals {
	uint64_t bytes, count;   /* live at the end */
	uint64_t peak_bytes, peak_ts_ns;
	uint64_t mapped_bytes, unmapped_bytes;
};

/* The program's anonymous mappings made at one stack. */
struct report_anon_site {
	uint32_t stack;
	uint64_t bytes, count;        /* live at the end */
	uint64_t mapped_bytes, calls; /* every mmap and mremap made there */
};

/*
 * Anonymous mappings beside the heap: the program's own (by site), the
 * allocator's (its heap's backing: big blocks glibc maps, jemalloc's
 * extents; their bytes are the heap's, not added again) and the break heap.
 * traced NULL: mmap & co. were not traced (the rest is zero).
 */
struct report_anon {
	const char *traced; /* "tp_btf", "raw_tp" */
	struct report_anon_totals program, allocator, brk;
	uint64_t mmaps, munmaps, mremaps, brks;
	struct report_anon_site *sites; /* live bytes desc, then mapped bytes desc */
	size_t nsites;
};

/*
 * --all: every process traced is one of report.processes (the target is
 * none: pid 0, its heap empty).  Indexes into processes, ranked: those that
 * exited with blocks live (leaked) by leaked bytes, those still running
 * with blocks live by bytes in use; each descending, then by index.
 */
struct report_system {
	bool on;
	const char *cgroup;    /* --cgroup's path; NULL: the whole machine */
	uint32_t *by_leaked, *by_in_use;
	size_t nby_leaked, nby_in_use;
	size_t exited;         /* processes that exited while traced */
	uint64_t allocations, frees, bytes_allocated, bytes_freed; /* over every process */
	uint64_t leaked_count, leaked_bytes, in_use_count, in_use_bytes;
	/* threads whose calls were dropped: no per-thread state (the set of processes full) */
	uint64_t untraced_threads;
};

/*
 * With -f the leaks, sites, findings and threads of every traced process
 * are in the same arrays, each entry with its pid: the target's first (the
 * target range of each), then each process's in the order of
 * report.processes (its ranges).  Totals, peak, timeline, histograms,
 * windows and variables are the target's alone.
 */
struct report {
	struct report_target target;
	struct report_process *processes; /* -f: in order of appearance */
	size_t nprocesses;
	struct report_range target_leaks, target_sites, target_findings, target_threads;
	struct report_system system; /* --all */
	struct report_image *images; /* in order; nimages (0, or 2 and more) */
	size_t nimages;
	struct report_tracing tracing;
	struct report_totals totals;
	struct report_frame *frames;   /* each address's frames once */
	size_t nframes;
	uint32_t *frame_refs;          /* the stacks' frames, indexes into frames */
	struct report_stack *stacks;   /* indexed by stack id, 0 (none) included */
	uint32_t nstacks;
	/* each process's part: the program's by bytes desc, then the runtime's */
	struct report_site *leaks;
	size_t nleaks;
	struct report_site *sites;     /* every allocating stack, each part bytes desc */
	size_t nsites;
	struct report_site *busiest;   /* the target's sites, allocations desc */
	struct report_site *peak;      /* sites holding memory at the peak, bytes desc */
	size_t npeak;
	struct report_thread *threads; /* each part in order of first appearance */
	size_t nthreads;
	/* every process's, sorted by tid then stack; NULL when a heap gave up counting them */
	struct report_thread_site *thread_sites;
	size_t nthread_sites;
	struct report_finding *findings;
	size_t nfindings;
	struct report_overflow overflow;
	struct report_fragmentation fragmentation;
	struct report_variable *variables;
	size_t nvariables;
	uint32_t *live_vars;           /* live variables' indexes, by allocation stack */
	struct report_scope *scopes;
	size_t nscopes;
	struct report_sample *timeline;
	size_t ntimeline;
	struct report_growth *growing; /* steepest first */
	size_t ngrowing;
	struct report_point *growth_points;
	struct report_bucket *sizes, *lifetimes_us; /* histograms, non-empty buckets */
	size_t nsizes, nlifetimes_us;
	uint64_t window_ns, window_origin_ns;
	struct report_window *windows; /* released blocks', then the live ones' */
	size_t nwindows;
	struct report_mapping *mappings; /* of the sites' frames, by start address */
	size_t nmappings;
	struct report_anon anon;         /* anonymous mappings: mmap, munmap, mremap, brk */
	struct report_strings *strings;  /* owns the strings above */
};

void report__free(struct report *r);

/* Stack id of r, or NULL when it is none the report resolved. */
static inline const struct report_stack *report__stack(const struct report *r, uint32_t id)
{
	return id < r->nstacks && r->stacks[id].resolved ? &r->stacks[id] : NULL;
}

/* Frame i (0: innermost) of stack s. */
static inline const struct report_frame *report__frame(const struct report *r,
						       const struct report_stack *s, uint32_t i)
{
	return &r->frames[r->frame_refs[s->first + i]];
}

/* The allocation-site frame of stack id, or NULL when it has no frame. */
static inline const struct report_frame *report__site_frame(const struct report *r, uint32_t id)
{
	const struct report_stack *s = report__stack(r, id);

	return s && s->site >= 0 ? report__frame(r, s, (uint32_t)s->site) : NULL;
}

/*
 * What the C library (libc, the dynamic loader) keeps a block for, when
 * function is one of its functions that allocate storage held until the
 * process ends (stdio buffers, thread-local storage, locale and time-zone
 * data): "stdio buffer", ...; NULL for any other function.
 */
const char *report__runtime_owner(const char *function);

/*
 * s made safe for formats that have no escaping (pprof's strings, folded
 * stacks) into buf: invalid UTF-8, control characters (C0, DEL and C1:
 * newline, tab, ESC, CSI, ...) and every byte in also (ASCII; may be NULL)
 * each become U+FFFD.  Cut at a
 * character boundary to fit len (> 0).  NULL s gives "".  Returns buf.
 */
const char *report__safe_text(const char *s, const char *also, char *buf, size_t len);

/*
 * Length of the valid UTF-8 sequence at s (1 for ASCII, NUL included), or 0
 * when it is none, for the writers of untrusted strings.
 */
int report__utf8_len(const unsigned char *s);

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

/* Renderers: they read r and nothing else.  0 or negative errno. */
int report__write_text(const struct report *r, FILE *f, unsigned top);
int report__write_json(const struct report *r, FILE *f);
/* The self-contained HTML page (docs/html-report.md), the JSON report embedded. */
int report__write_html(const struct report *r, FILE *f);
/* A gzip'd pprof profile (profile.proto), one sample per site (docs/report-format.md). */
int report__write_pprof(const struct report *r, FILE *f);
/* Folded stacks, one line per site with value v above 0 (docs/report-format.md). */
int report__write_folded(const struct report *r, FILE *f, enum report_value v);

#endif
