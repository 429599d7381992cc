// SPDX-License-Identifier: MIT
/*
 * The report's snapshot (report.h), built once from the model, the
 * symbolizer and the run's facts (report_input.h): everything a renderer
 * shows is computed here.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>

#include "alloc_syms.h"
#include "report_input.h"
#include "sample.h"
#include "util.h"

_Static_assert(REPORT_NAME_MAX == SYM_NAME_MAX, "report.h's limit is the symbolizer's");
_Static_assert(REPORT_NO_STACK == STACK_NONE, "report.h's no-stack is the stack table's");

/* ---- strings: the snapshot's own copies, each distinct one once ---- */

struct report_strings {
	char **slots; /* open addressing by hash; NULL: free */
	size_t n, cap;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return ms_hash64(h);
}

static void strings_grow(struct report_strings *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	char **slots = xcalloc(cap, sizeof(*slots));

	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->slots[i])
			continue;
		for (j = hash_str(t->slots[i]) & (cap - 1); slots[j]; j = (j + 1) & (cap - 1))
			;
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
}

/* The snapshot's copy of s; NULL for NULL. */
static const char *str(struct report *r, const char *s)
{
	struct report_strings *t = r->strings;
	size_t i;

	if (!s)
		return NULL;
	if ((t->n + 1) * 2 > t->cap)
		strings_grow(t);
	for (i = hash_str(s) & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1))
		if (!strcmp(t->slots[i], s))
			return t->slots[i];
	t->slots[i] = xstrdup(s);
	t->n++;
	return t->slots[i];
}

static void strings_free(struct report_strings *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i]);
	free(t->slots);
	free(t);
}

/* One line describing finding f. */
static void finding_message(const struct finding *f, char *buf, size_t len)
{
	const char *fn = alloc_syms__fn_name(f->fn), *afn = alloc_syms__fn_name(f->alloc_fn);
	const char *ffn = alloc_syms__fn_name(f->free_fn);

	switch (f->kind) {
	case FINDING_DOUBLE_FREE:
		snprintf(buf, len, "%s of 0x%" PRIx64 ", already released by %s", fn, f->ptr, ffn);
		break;
	case FINDING_INVALID_FREE:
		snprintf(buf, len, "%s of 0x%" PRIx64 ", %" PRIu64 " bytes inside a %" PRIu64
			 "-byte block from %s", fn, f->ptr, f->ptr - f->block, f->block_size, afn);
		break;
	case FINDING_MISMATCHED_FREE:
		snprintf(buf, len, "block 0x%" PRIx64 " from %s released with %s", f->ptr, afn, fn);
		break;
	case FINDING_USE_AFTER_FREE:
		snprintf(buf, len, "annotation names 0x%" PRIx64 ", released by %s", f->ptr, ffn);
		break;
	case FINDING_REALLOC_OF_FREED:
		snprintf(buf, len, "%s of 0x%" PRIx64 ", already released by %s", fn, f->ptr, ffn);
		break;
	case FINDING_HEAP_OVERFLOW:
		snprintf(buf, len, "%" PRIu32 " byte%s past the end of the %" PRIu64
			 "-byte block 0x%" PRIx64 " from %s changed (up to %" PRIu32 " past it), "
			 "found %s%s", f->overflow.changed, f->overflow.changed == 1 ? "" : "s",
			 f->block_size, f->ptr, afn, f->overflow.reach,
			 f->fn ? "at its release by " : "live at the end", f->fn ? fn : "");
		break;
	default:
		snprintf(buf, len, "finding at 0x%" PRIx64, f->ptr);
	}
	if (f->occurrences > 1) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, " (%" PRIu64 " times)", f->occurrences);
	}
}


/* ---- the snapshot ---- */

struct builder {
	struct report *r;
	const struct report_input *in;
	struct report_frames *rf;
	/* addresses resolved: ips[i]'s frames are r->frames[first[i] .. + n[i]) */
	uint64_t *ips;
	uint32_t *first, *n;
	size_t nips, cap_ips;
	size_t cap_frames, nrefs, cap_refs;
};

static int by_bytes_desc(const void *a, const void *b)
{
	const struct report_site *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static int by_count_desc(const void *a, const void *b)
{
	const struct report_site *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static void fill_target(struct report *r, const struct report_input *in)
{
	r->target = (struct report_target){
		.pid = in->pid,
		.comm = str(r, in->comm),
		.cmdline = str(r, in->cmdline),
		.launched = in->launched,
		.exited = in->exited,
		.status_known = in->status_known,
		.exit_code = in->exit_code,
		.exit_signal = in->exit_signal,
		.exit_text = str(r, in->exit_text),
	};
	if (in->nexecs) {
		r->target.comm = str(r, in->execs[in->nexecs - 1].comm);
		r->target.cmdline = str(r, in->execs[in->nexecs - 1].cmdline);
	}
}

/* -f: the other processes, each its heap's totals. */
static void collect_processes(struct report *r, const struct report_input *in)
{
	if (!in->nprocs)
		return;
	r->nprocesses = in->nprocs;
	r->processes = xcalloc(in->nprocs, sizeof(*r->processes));
	for (size_t i = 0; i < in->nprocs; i++) {
		const struct model_proc *p = &in->procs[i];
		const struct heap_totals *h = heap__totals(p->heap);
		struct report_process *o = &r->processes[i];

		*o = (struct report_process){
			.pid = (int)p->pid, .ppid = (int)p->ppid, .comm = str(r, p->comm),
			.cmdline = str(r, p->cmdline),
			.start_ns = p->start_ns, .end_ns = p->end_ns, .exited = p->exited,
			.execed = p->execed,
			.status_known = p->exited, .exit_code = -1,
			.allocations = h->allocations, .frees = h->frees,
			.bytes_allocated = h->bytes_allocated, .bytes_freed = h->bytes_freed,
			.peak_bytes = h->peak_bytes, .live_allocations = h->live_allocations,
			.live_bytes = h->live_bytes, .unknown_frees = h->unknown_frees,
			.inherited_frees = p->inherit ? p->inherit->frees : 0,
		};
		if (p->exited) {
			if (WIFSIGNALED(p->status))
				o->exit_signal = WTERMSIG(p->status);
			else
				o->exit_code = WEXITSTATUS(p->status);
		}
	}
}

/*
 * A process's parts of the report: the target (proc NULL) or another
 * traced process, with the leak rule that applies to it.
 */
struct part {
	int pid;
	const struct heap *heap;
	const struct detector *detector;
	bool at_exit;      /* its blocks live at its exit all leaked */
	uint64_t end_ns;   /* else: live at end_ns and at least min_age_ns old */
	uint64_t min_age_ns;
	uint64_t exec_ns;  /* its exec (-f): blocks from before were released by it, not leaked */
	bool execed;       /* --all: an image ended by an exec, which released its blocks */
	bool bare;         /* --all: totals and blocks only (no sites: model_opts.procs_without_sites) */
	struct report_range *leaks, *sites, *findings, *threads;
	struct report_process *proc; /* NULL: the target */
};

static size_t nparts(const struct report *r)
{
	return 1 + r->nprocesses;
}

/* Part i: 0 the target, then r->processes. */
static void part_of(struct report *r, const struct report_input *in, size_t i, struct part *p)
{
	if (!i) {
		*p = (struct part){ .pid = in->pid, .heap = in->heap, .detector = in->detector,
				    .at_exit = r->tracing.leaks_at_exit, .end_ns = in->end_ns,
				    .min_age_ns = in->min_age_ns, .leaks = &r->target_leaks,
				    .sites = &r->target_sites, .findings = &r->target_findings,
				    .threads = &r->target_threads };
		return;
	}
	struct report_process *o = &r->processes[i - 1];
	const struct model_proc *mp = &in->procs[i - 1];

	*p = (struct part){ .pid = o->pid, .heap = mp->heap, .detector = mp->detector,
			    .at_exit = mp->exited, .end_ns = mp->exited ? mp->end_ns : in->end_ns,
			    .min_age_ns = in->min_age_ns, .exec_ns = mp->inherit ? mp->inherit->exec_ns : 0,
			    .execed = mp->execed, .bare = in->system_wide,
			    .leaks = &o->leaks, .sites = &o->sites,
			    .findings = &o->findings, .threads = &o->threads, .proc = o };
}

static const struct report_process *rank_procs;

/* Descending by leaked bytes (in use for running ones: the other is 0), then by index. */
static int proc_bytes_desc(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	const struct report_process *p = &rank_procs[x], *q = &rank_procs[y];
	uint64_t u = p->exited ? p->leaked_bytes : p->live_bytes;
	uint64_t v = q->exited ? q->leaked_bytes : q->live_bytes;

	if (u != v)
		return u < v ? 1 : -1;
	return x < y ? -1 : x > y;
}

/* --all: the processes' sums and their two rankings. */
static void rank_system(struct report *r, const struct report_input *in)
{
	struct report_system *sy = &r->system;

	if (!in->system_wide)
		return;
	sy->on = true;
	sy->cgroup = str(r, in->cgroup);
	sy->untraced_threads = in->bpf_stats[MS_STAT_STATE_ERRORS];
	sy->by_leaked = xcalloc(r->nprocesses + 1, sizeof(*sy->by_leaked));
	sy->by_in_use = xcalloc(r->nprocesses + 1, sizeof(*sy->by_in_use));
	for (size_t i = 0; i < r->nprocesses; i++) {
		const struct report_process *p = &r->processes[i];

		sy->allocations += p->allocations;
		sy->frees += p->frees;
		sy->bytes_allocated += p->bytes_allocated;
		sy->bytes_freed += p->bytes_freed;
		sy->exited += p->exited;
		if (p->exited && p->leaked_count) {
			sy->by_leaked[sy->nby_leaked++] = (uint32_t)i;
			sy->leaked_count += p->leaked_count;
			sy->leaked_bytes += p->leaked_bytes;
		} else if (!p->exited && !p->execed && p->live_allocations) {
			sy->by_in_use[sy->nby_in_use++] = (uint32_t)i;
			sy->in_use_count += p->live_allocations;
			sy->in_use_bytes += p->live_bytes;
		}
	}
	rank_procs = r->processes;
	qsort(sy->by_leaked, sy->nby_leaked, sizeof(*sy->by_leaked), proc_bytes_desc);
	qsort(sy->by_in_use, sy->nby_in_use, sizeof(*sy->by_in_use), proc_bytes_desc);
	rank_procs = NULL;
}

/* The images the target execed through: before each exec, and the last. */
static void collect_images(struct report *r, const struct report_input *in)
{
	const struct heap_totals *h;
	size_t nthreads;

	if (!in->nexecs)
		return;
	r->nimages = in->nexecs + 1;
	r->images = xcalloc(r->nimages, sizeof(*r->images));
	for (size_t i = 0; i < r->nimages; i++) {
		struct report_image *im = &r->images[i];
		bool last = i == in->nexecs;

		im->pid = in->pid;
		im->comm = i ? str(r, in->execs[i - 1].comm) : str(r, in->comm);
		im->cmdline = i ? str(r, in->execs[i - 1].cmdline) : str(r, in->cmdline);
		im->start_ns = i ? in->execs[i - 1].ts_ns : in->start_ns;
		im->end_ns = last ? in->end_ns : in->execs[i].ts_ns;
		im->execed = !last;
		h = last ? heap__totals(in->heap) : &in->execs[i].closed;
		im->allocations = h->allocations;
		im->frees = h->frees;
		im->bytes_allocated = h->bytes_allocated;
		im->bytes_freed = h->bytes_freed;
		im->live_allocations = h->live_allocations;
		im->live_bytes = h->live_bytes;
		if (last)
			heap__threads(in->heap, &nthreads);
		im->threads = last ? nthreads : in->execs[i].threads;
	}
}

/* How stacks were walked: "dwarf" (by CFI, frame pointers where there is none), "fp", "none". */
static const char *stacks_method(const struct report_input *in, bool taken)
{
	if (!taken)
		return "none";
	return in->unwind_mode == MS_UNWIND_FP ? "fp" : "dwarf";
}

static void fill_unwind(struct report *r, const struct report_input *in)
{
	static const char *modes[] = { [MS_UNWIND_AUTO] = "auto", [MS_UNWIND_FP] = "fp",
				       [MS_UNWIND_DWARF] = "dwarf" };
	const struct unwind_stats *u = &in->unwind;

	r->tracing.unwind = (struct report_unwind){
		.mode = (unsigned)in->unwind_mode < 3 ? modes[in->unwind_mode] : NULL,
		.objects = u->objects,
		.objects_bare = u->objects_bare,
		.rows = u->rows,
		.capacity = u->capacity,
		.dropped = u->dropped,
		.shared = u->shared,
		.build_us = (uint64_t)(u->build_ms * 1000),
		.unknown_frames = in->bpf_stats[MS_STAT_UNWIND_UNKNOWN],
	};
}

static void fill_tracing(struct report *r, const struct report_input *in)
{
	struct report_tracing *t = &r->tracing;
	struct report_degraded *d = xcalloc(in->ndegraded ? in->ndegraded : 1, sizeof(*d));
	const char **objs = xcalloc(in->objs && in->objs->n ? in->objs->n : 1, sizeof(*objs));
	uint64_t expected;
	char rule[96];

	t->stacks = stacks_method(in, in->alloc_stacks);
	t->free_stacks = stacks_method(in, in->free_stacks);
	t->alloc_stacks_taken = in->alloc_stacks;
	t->free_stacks_taken = in->free_stacks;
	fill_unwind(r, in);
	t->sample_bytes = in->sample_bytes;
	t->probes = in->nprobes;
	t->batch = in->batch;
	t->late_records = in->late_records;
	t->vm_children_known = in->vm_children_known;
	t->vm_children = in->bpf_stats[MS_STAT_VM_CHILDREN];
	t->children = in->bpf_stats[MS_STAT_CHILDREN];
	t->children_at_attach = in->children_at_attach;
	/* BPF counts every exec, a launched target's own; the loader followed nexecs */
	expected = (in->launched ? 1 : 0) + in->nexecs;
	if (in->bpf_stats[MS_STAT_EXECS] > expected)
		t->execs_not_followed = in->bpf_stats[MS_STAT_EXECS] - expected;
	for (size_t i = 0; i < in->ndegraded; i++)
		d[i] = (struct report_degraded){ .feature = str(r, in->degraded[i].feature),
						 .reason = str(r, in->degraded[i].reason),
						 .instead = str(r, in->degraded[i].instead) };
	t->degraded = d;
	t->ndegraded = in->ndegraded;
	for (size_t i = 0; in->objs && i < in->objs->n; i++)
		objs[t->nallocators++] = str(r, in->objs->v[i].path);
	t->allocators = objs;
	if (in->objs && in->objs->used >= 0 && (size_t)in->objs->used < in->objs->n) {
		const struct alloc_object *u = &in->objs->v[in->objs->used];

		t->allocator = str(r, u->kind ? u->kind : "unknown");
		t->allocator_path = str(r, u->path);
	}
	t->unnamed = xcalloc(in->nunnamed ? in->nunnamed : 1, sizeof(*t->unnamed));
	for (size_t i = 0; i < in->nunnamed; i++)
		t->unnamed[i] = (struct report_unnamed){ .module = str(r, in->unnamed[i].module),
							 .build_id = str(r, in->unnamed[i].build_id),
							 .reason = str(r, in->unnamed[i].reason),
							 .addresses = in->unnamed[i].addresses };
	t->nunnamed = in->nunnamed;
	t->interval_ns = in->timeline ? timeline__interval_ns(in->timeline) : 0;
	t->leaks_at_exit = in->exited;
	t->min_age_ns = in->min_age_ns;
	if (t->leaks_at_exit)
		snprintf(rule, sizeof(rule), "live at exit");
	else
		snprintf(rule, sizeof(rule), "live at detach and older than %.3g s",
			 (double)in->min_age_ns / 1e9);
	t->leak_rule = str(r, rule);
	if (in->scan) {
		t->scan_result = str(r, scan_status__name(in->scan->status));
		t->scan_bytes = in->scan->bytes;
		t->scan_ns = in->scan->ns;
	}
	t->start_ns = in->start_ns;
	t->end_ns = in->end_ns;
	t->start_wall_ns = in->start_wall_ns;
}

/*
 * A launched target is traced from its first instruction: a release of an
 * address it never allocated is a block of a process sharing its address
 * space, when it started one.  A -p target's may be older than the attach.
 */
static void fill_totals(struct report *r, const struct report_input *in)
{
	const struct heap_totals *h = heap__totals(in->heap);
	struct report_totals *t = &r->totals;

	t->allocations = h->allocations;
	t->frees = h->frees;
	t->bytes_allocated = h->bytes_allocated;
	t->bytes_freed = h->bytes_freed;
	t->peak_bytes = h->peak_bytes;
	t->peak_ts_ns = h->peak_ts_ns;
	t->live_allocations = h->live_allocations;
	t->live_bytes = h->live_bytes;
	t->temporary_allocations = h->temporary_allocations;
	t->failed_allocations = h->failed_allocations;
	t->lost_events = in->bpf_stats[MS_STAT_LOST_EVENTS];
	t->sample_untracked = in->bpf_stats[MS_STAT_SAMPLE_FULL];
	t->lost_stacks = in->stack_lost;
	t->truncated_stacks = in->stacks ? stack_table__truncated(in->stacks) : 0;
	if (in->launched && in->vm_children_known && in->bpf_stats[MS_STAT_VM_CHILDREN])
		t->vm_frees = h->unknown_frees;
	else
		t->unknown_frees = h->unknown_frees;
	t->allocator_internal_frees = in->detector ? detector__internal_releases(in->detector) : 0;
	t->annotations = in->annots ? annotations__count(in->annots) : 0;
	t->unmatched_annotations = in->annots ? annotations__unmatched(in->annots) : 0;
}

/* Part p's sites, appended to r->sites, bytes desc; the target's peak too. */
static void collect_part_sites(struct report *r, const struct part *p)
{
	const struct heap_site *hs;
	size_t n, i;

	hs = heap__sites(p->heap, &n);
	p->sites->first = r->nsites;
	if (p->bare)
		n = 0;
	for (i = 0; i < n; i++) {
		struct report_site s = {
			.pid = p->pid,
			.stack = (uint32_t)i,
			.count = hs[i].allocations,
			.bytes = hs[i].bytes,
			.live_count = hs[i].live_count,
			.live_bytes = hs[i].live_bytes,
			.temporary = hs[i].temporary,
		};

		heap__site_at_peak(p->heap, i, &s.peak_count, &s.peak_bytes);
		if (s.count)
			r->sites[r->nsites++] = s;
		if (s.peak_count && !p->proc) {
			struct report_site pk = { .pid = p->pid, .stack = s.stack,
						  .count = s.peak_count, .bytes = s.peak_bytes };

			r->peak[r->npeak++] = pk;
		}
	}
	p->sites->n = r->nsites - p->sites->first;
	qsort(r->sites + p->sites->first, p->sites->n, sizeof(*r->sites), by_bytes_desc);
}

static void collect_sites(struct report *r, const struct report_input *in)
{
	size_t n, total = 0;
	struct part p;

	for (size_t i = 0; i < nparts(r); i++) {
		part_of(r, in, i, &p);
		heap__sites(p.heap, &n);
		total += n;
	}
	r->sites = xcalloc(total ? total : 1, sizeof(*r->sites));
	heap__sites(in->heap, &n);
	r->peak = xcalloc(n ? n : 1, sizeof(*r->peak));
	for (size_t i = 0; i < nparts(r); i++) {
		part_of(r, in, i, &p);
		collect_part_sites(r, &p);
	}
	qsort(r->peak, r->npeak, sizeof(*r->peak), by_bytes_desc);
	n = r->target_sites.n;
	r->busiest = xmalloc((n ? n : 1) * sizeof(*r->busiest));
	if (n)
		memcpy(r->busiest, r->sites, n * sizeof(*r->busiest));
	qsort(r->busiest, n, sizeof(*r->busiest), by_count_desc);
}

/* (x1, x2) against (y1, y2), the first the major key */
static int cmp_pair(uint32_t x1, uint32_t x2, uint32_t y1, uint32_t y2)
{
	if (x1 != y1)
		return x1 < y1 ? -1 : 1;
	return x2 < y2 ? -1 : x2 > y2;
}

static int by_tid_stack(const void *a, const void *b)
{
	const struct heap_thread_site *x = a, *y = b;

	return cmp_pair(x->tid, x->stack, y->tid, y->stack);
}

/* Every process's, sorted: the heaps keep them in order of first appearance. */
static void collect_thread_sites(struct report *r, const struct report_input *in)
{
	struct heap_thread_site *v = NULL;
	size_t n, total = 0;
	struct part p;

	for (size_t i = 0; i < nparts(r); i++) {
		const struct heap_thread_site *ts;

		part_of(r, in, i, &p);
		if (p.bare)
			continue;
		ts = heap__thread_sites(p.heap, &n);
		if (!ts) {
			free(v);
			return;
		}
		v = xrealloc(v, (total + n ? total + n : 1) * sizeof(*v));
		if (n)
			memcpy(v + total, ts, n * sizeof(*v));
		total += n;
	}
	qsort(v, total, sizeof(*v), by_tid_stack);
	r->thread_sites = xcalloc(total ? total : 1, sizeof(*r->thread_sites));
	for (size_t i = 0; i < total; i++)
		r->thread_sites[i] = (struct report_thread_site){
			.tid = v[i].tid, .stack = v[i].stack, .allocations = v[i].allocations,
			.bytes = v[i].bytes, .live_count = v[i].live_count,
			.live_bytes = v[i].live_bytes, .temporary = v[i].temporary,
		};
	r->nthread_sites = total;
	free(v);
}

static void collect_threads(struct report *r, const struct report_input *in)
{
	size_t n, total = 0;
	struct part p;

	for (size_t i = 0; i < nparts(r); i++) {
		part_of(r, in, i, &p);
		heap__threads(p.heap, &n);
		total += n;
	}
	r->threads = xcalloc(total ? total : 1, sizeof(*r->threads));
	for (size_t i = 0; i < nparts(r); i++) {
		const struct heap_thread *t;

		part_of(r, in, i, &p);
		t = heap__threads(p.heap, &n);
		if (p.bare)
			n = 0;
		p.threads->first = r->nthreads;
		p.threads->n = n;
		for (size_t k = 0; k < n; k++)
			r->threads[r->nthreads++] = (struct report_thread){
				.pid = p.pid,
				.tid = t[k].tid,
				.name = in->thread_names ?
					str(r, thread_names__get(in->thread_names, t[k].tid)) : NULL,
				.allocations = t[k].allocations, .bytes = t[k].bytes,
				.frees = t[k].frees, .live_count = t[k].live_count,
				.live_bytes = t[k].live_bytes, .temporary = t[k].temporary,
			};
	}
}

_Static_assert((int)REPORT_REACH_DEFINITELY_LOST == (int)REACH_DEFINITELY_LOST &&
	       (int)REPORT_REACH_INDIRECTLY_LOST == (int)REACH_INDIRECTLY_LOST &&
	       (int)REPORT_REACH_POSSIBLY_LOST == (int)REACH_POSSIBLY_LOST &&
	       (int)REPORT_REACH_STILL_REACHABLE == (int)REACH_STILL_REACHABLE &&
	       (int)REPORT_REACH__COUNT == (int)REACH__COUNT, "report.h's classes are reach.h's");

/*
 * Leaks: the lost classes first (definitely, indirectly, possibly), then
 * still reachable, then blocks the scan did not see; then by bytes.
 */
static int reach_rank(uint8_t c)
{
	return c == REACH_UNKNOWN ? REACH__COUNT : c;
}

static int by_reach_then_bytes(const void *a, const void *b)
{
	const struct report_site *x = a, *y = b;

	if (x->reach != y->reach)
		return reach_rank(x->reach) < reach_rank(y->reach) ? -1 : 1;
	return by_bytes_desc(a, b);
}

/*
 * Part p's leak groups from its live table, under its leak rule, in one
 * pass: by stack, and by stack and class when the reachability scan (of the
 * target) classified them.  Appended to r->leaks; the target's totals, or
 * the process's leaked count.
 */
static void collect_part_leaks(struct report *r, const struct report_input *in,
			       const struct part *p)
{
	const struct live_table *live = heap__live(p->heap);
	uint64_t end = p->end_ns, min_age = p->at_exit ? 0 : p->min_age_ns;
	size_t ngroups = (size_t)(r->nstacks ? r->nstacks : 1) * REACH__COUNT;
	size_t nlive = live_table__count(live), cap = 16, found = 0;
	const struct reach_result *scan = p->proc ? NULL : in->scan;
	uint64_t count = 0, bytes = 0;
	const struct live_block *b;
	struct report_site *tab;
	struct sample_weight w;
	uint8_t *used;
	size_t it = 0;

	/* groups by (stack, class), as many as blocks or stacks at most: many
	 * processes' parts each cost their own blocks, not the stack table */
	while (cap < 2 * (nlive < ngroups ? nlive : ngroups))
		cap <<= 1;
	tab = xcalloc(cap, sizeof(*tab));
	used = xcalloc(cap, 1);
	while ((b = live_table__next(live, &it))) {
		uint64_t age = end > b->ts_ns ? end - b->ts_ns : 0;
		enum reach_class c = reach_result__class(scan, b->ptr);
		uint64_t key;
		struct report_site *s;
		size_t i;

		if (b->stack >= r->nstacks || age < min_age || b->ts_ns < p->exec_ns || p->execed)
			continue;
		key = (uint64_t)b->stack * REACH__COUNT + c;
		for (i = ms_hash64(key) & (cap - 1);
		     used[i] && (tab[i].stack != b->stack || tab[i].reach != c); i = (i + 1) & (cap - 1))
			;
		s = &tab[i];
		if (!used[i]) {
			used[i] = 1;
			found++;
			*s = (struct report_site){ .pid = p->pid, .stack = b->stack, .reach = (uint8_t)c,
						   .oldest_ts_ns = b->ts_ns };
		}
		/* under sampling, the blocks and bytes this one stands for */
		sample__weigh(in->sample_bytes, b->size, b->ptr, b->ts_ns, &w);
		s->count += w.count;
		s->bytes += w.bytes;
		if (b->ts_ns < s->oldest_ts_ns)
			s->oldest_ts_ns = b->ts_ns;
		count += w.count;
		bytes += w.bytes;
		if (!p->proc) {
			r->totals.by_reach[c].count += w.count;
			r->totals.by_reach[c].bytes += w.bytes;
		}
	}
	if (p->proc) {
		p->proc->leaked_count = count;
		p->proc->leaked_bytes = bytes;
	} else {
		r->totals.leaked_count = count;
		r->totals.leaked_bytes = bytes;
	}
	p->leaks->first = r->nleaks;
	r->leaks = xrealloc(r->leaks, (r->nleaks + found + 1) * sizeof(*r->leaks));
	for (size_t i = 0; i < cap && !p->bare; i++)
		if (used[i] && tab[i].count)
			r->leaks[r->nleaks++] = tab[i];
	p->leaks->n = r->nleaks - p->leaks->first;
	free(tab);
	free(used);
	qsort(r->leaks + p->leaks->first, p->leaks->n, sizeof(*r->leaks), by_reach_then_bytes);
}

static void collect_leaks(struct report *r, const struct report_input *in)
{
	struct part p;

	r->totals.by_reach_done = in->scan && in->scan->status == SCAN_DONE;
	r->leaks = xcalloc(1, sizeof(*r->leaks));
	for (size_t i = 0; i < nparts(r); i++) {
		part_of(r, in, i, &p);
		collect_part_leaks(r, in, &p);
	}
}

/*
 * Marks the leak groups the C library keeps and puts them after the
 * program's in each process's part (each half stays bytes descending).
 * Only the innermost frames count, those before the first frame outside
 * libc and the loader: a library constructor that leaks under dlopen() is
 * the program's.  The target's runtime blocks are counted in its totals.
 */
static void mark_runtime_leaks(struct builder *b)
{
	struct report *r = b->r;
	struct report_site *v = xcalloc(r->nleaks ? r->nleaks : 1, sizeof(*v));
	size_t n = 0;
	struct part p;

	for (size_t k = 0; k < nparts(r); k++) {
		size_t first, end;

		part_of(r, b->in, k, &p);
		first = p.leaks->first;
		end = first + p.leaks->n;
		for (size_t i = first; i < end; i++) {
			const char *owner = report_frames__runtime_owner(b->rf, r->leaks[i].stack);

			r->leaks[i].runtime = owner;
			if (owner && !p.proc) {
				r->totals.runtime_count += r->leaks[i].count;
				r->totals.runtime_bytes += r->leaks[i].bytes;
			}
			if (!owner)
				v[n++] = r->leaks[i];
		}
		for (size_t i = first; i < end; i++)
			if (r->leaks[i].runtime)
				v[n++] = r->leaks[i];
	}
	free(r->leaks);
	r->leaks = v;
}

static const struct variable *sort_vars;

static int by_var_stack(const void *a, const void *b)
{
	uint32_t x = sort_vars[*(const uint32_t *)a].alloc_stack;
	uint32_t y = sort_vars[*(const uint32_t *)b].alloc_stack;

	return x < y ? -1 : x > y;
}

static void collect_variables(struct report *r, const struct report_input *in)
{
	const struct variable *v = NULL;
	size_t n = 0, nlive = 0;

	if (in->annots)
		v = annotations__variables(in->annots, &n);
	r->variables = xcalloc(n ? n : 1, sizeof(*r->variables));
	r->live_vars = xcalloc(n ? n : 1, sizeof(*r->live_vars));
	for (size_t i = 0; i < n; i++) {
		r->variables[i] = (struct report_variable){
			.name = str(r, v[i].name),
			.type = v[i].type[0] ? str(r, v[i].type) : NULL,
			.file = str(r, v[i].file),
			.line = v[i].line,
			.ptr = v[i].ptr,
			.block = v[i].block,
			.size = v[i].size,
			.stack = v[i].alloc_stack,
			.annotation_stack = v[i].annot_stack,
			.named_ts_ns = v[i].named_ts_ns,
			.alloc_ts_ns = v[i].alloc_ts_ns,
			.freed_ts_ns = v[i].freed_ts_ns,
			.freed = v[i].freed,
		};
		if (!v[i].freed)
			r->live_vars[nlive++] = (uint32_t)i;
	}
	r->nvariables = n;
	sort_vars = v;
	qsort(r->live_vars, nlive, sizeof(*r->live_vars), by_var_stack);
	sort_vars = NULL;
	/* each of the target's leak groups: the live variables of its stack */
	for (size_t i = r->target_leaks.first; i < r->target_leaks.first + r->target_leaks.n; i++) {
		uint32_t stack = r->leaks[i].stack;
		size_t lo = 0, hi = nlive;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (r->variables[r->live_vars[mid]].stack < stack)
				lo = mid + 1;
			else
				hi = mid;
		}
		r->leaks[i].vars = (uint32_t)lo;
		while (lo < nlive && r->variables[r->live_vars[lo]].stack == stack)
			lo++;
		r->leaks[i].nvars = (uint32_t)(lo - r->leaks[i].vars);
	}
}

static void collect_scopes(struct report *r, const struct report_input *in)
{
	const struct scope_stats *s = NULL;
	size_t n = 0;

	if (in->annots)
		s = annotations__scopes(in->annots, &n);
	r->scopes = xcalloc(n ? n : 1, sizeof(*r->scopes));
	for (size_t i = 0; i < n; i++)
		r->scopes[i] = (struct report_scope){ .name = str(r, s[i].name),
						      .allocations = s[i].allocations,
						      .bytes = s[i].bytes };
	r->nscopes = n;
}

static void collect_part_findings(struct report *r, const struct part *p)
{
	const struct finding *f = NULL;
	size_t n = 0;
	char msg[512];

	if (p->detector)
		f = detector__findings(p->detector, &n);
	p->findings->first = r->nfindings;
	p->findings->n = n;
	r->findings = xrealloc(r->findings, (r->nfindings + n + 1) * sizeof(*r->findings));
	for (size_t i = 0; i < n; i++) {
		struct report_finding *o = &r->findings[r->nfindings++];

		finding_message(&f[i], msg, sizeof(msg));
		*o = (struct report_finding){
			.pid = p->pid,
			.kind = str(r, finding_kind__name(f[i].kind)),
			.ptr = f[i].ptr,
			.stack = f[i].stack,
			.alloc_stack = f[i].alloc_stack,
			.free_stack = f[i].free_stack,
			.tid = f[i].tid,
			.ts_ns = f[i].ts_ns,
			.occurrences = f[i].occurrences,
			.function = f[i].fn ? str(r, alloc_syms__fn_name(f[i].fn)) : NULL,
			.alloc_function = f[i].alloc_fn ? str(r, alloc_syms__fn_name(f[i].alloc_fn)) : NULL,
			.free_function = f[i].free_fn ? str(r, alloc_syms__fn_name(f[i].free_fn)) : NULL,
			.message = str(r, msg),
		};
		if (f[i].kind == FINDING_HEAP_OVERFLOW) {
			o->block_size = f[i].block_size;
			o->overflow_changed = f[i].overflow.changed;
			o->overflow_reach = f[i].overflow.reach;
		}
	}
}

static void collect_findings(struct report *r, const struct report_input *in)
{
	struct part p;

	r->findings = xcalloc(1, sizeof(*r->findings));
	for (size_t i = 0; i < nparts(r); i++) {
		part_of(r, in, i, &p);
		collect_part_findings(r, &p);
	}
}

static void collect_overflow(struct report *r, const struct report_input *in)
{
	struct overflow_stats st;
	struct report_overflow *o = &r->overflow;

	if (!in->overflow)
		return;
	overflow__stats(in->overflow, &st);
	if (overflow__way(in->overflow) == OVERFLOW_READ) {
		o->way = "read";
		o->misses = "a write of the bytes already there; a write past the slack (into the "
			    "allocator's next chunk header); a write undone before the release; "
			    "blocks with no slack or whose end could not be read";
	} else if (overflow__way(in->overflow) == OVERFLOW_CANARY) {
		o->way = "canary";
		o->misses = "a write of the pattern's own byte (0x5c); a write past the slack (into the "
			    "allocator's next chunk header) or past its first 32 bytes; a write undone "
			    "before the release; blocks with no slack or whose end could not be read";
	} else {
		o->way = "none";
		o->misses = "every block: the target's malloc is not glibc's, whose chunk header "
			    "gives the usable size";
	}
	o->blocks = st.blocks;
	o->checked = st.checked;
	o->overflowed = st.overflowed;
	o->no_slack = st.no_slack;
	o->unreadable = st.unreadable;
	o->not_compared = st.not_compared;
	o->not_seen = st.not_seen;
	o->partial = st.partial;
	o->header_changed = st.header_changed;
}

static void collect_timeline(struct report *r, const struct report_input *in)
{
	const struct timeline_sample *s = NULL;
	size_t n = 0;

	if (in->timeline)
		s = timeline__samples(in->timeline, &n);
	r->timeline = xcalloc(n ? n : 1, sizeof(*r->timeline));
	for (size_t i = 0; i < n; i++)
		r->timeline[i] = (struct report_sample){
			.t_ns = s[i].t_ns, .live_bytes = s[i].live_bytes,
			.allocations = s[i].allocations, .frees = s[i].frees,
			.has_rss = s[i].rss_bytes != TIMELINE_NO_RSS,
			.rss_bytes = s[i].rss_bytes != TIMELINE_NO_RSS ? s[i].rss_bytes : 0,
			.has_footprint = s[i].footprint_bytes != TIMELINE_NO_RSS,
			.footprint_bytes = s[i].footprint_bytes != TIMELINE_NO_RSS ?
				s[i].footprint_bytes : 0,
			.has_mapped = in->maps != NULL,
			.mapped_bytes = in->maps ? s[i].mapped_bytes : 0,
		};
	r->ntimeline = n;
}

static void footprint_of(struct report_footprint *out, const struct footprint_reading *fr)
{
	*out = (struct report_footprint){
		.t_ns = fr->t_ns, .footprint = fr->total, .brk = fr->brk, .arenas = fr->arenas,
		.mmapped = fr->mmapped, .narenas = fr->narenas, .nmmapped = fr->nmmapped,
		.live_bytes = fr->live_bytes, .mmapped_live = fr->mmapped_live,
	};
	if (fr->total > fr->live_bytes)
		out->fragmentation = (double)(fr->total - fr->live_bytes) / (double)fr->total;
}

static void collect_fragmentation(struct report *r, const struct report_input *in)
{
	struct report_fragmentation *f = &r->fragmentation;
	struct footprint_reading fr;

	if (!in->footprint || !footprint__last(in->footprint, &fr))
		return;
	f->known = true;
	f->rule = "glibc's: the [heap], anonymous mappings aligned to 64 MiB (arena heaps) "
		  "and anonymous mappings holding a live block at their start + 16 (mmapped "
		  "blocks)";
	footprint_of(&f->end, &fr);
	footprint__peak(in->footprint, &fr);
	footprint_of(&f->peak, &fr);
}

static int by_slope_desc(const void *a, const void *b)
{
	const struct report_growth *x = a, *y = b;

	if (x->slope != y->slope)
		return x->slope < y->slope ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* The growing sites (growth.h's rule), steepest first, each with its curve. */
static void collect_growth(struct report *r, const struct report_input *in)
{
	const struct timeline_sample *ts = NULL;
	const struct growth_series *gs = NULL;
	size_t nts = 0, ns = 0, npoints = 0, cap = 0;

	if (in->growth && in->timeline) {
		gs = growth__series(in->growth, &ns);
		ts = timeline__samples(in->timeline, &nts);
	}
	r->growing = xcalloc(1, sizeof(*r->growing));
	r->growth_points = xcalloc(1, sizeof(*r->growth_points));
	for (size_t i = 0, cap_g = 1; i < ns && i < r->nstacks; i++) {
		struct growth_fit fit;
		struct report_growth *g;

		if (!growth__fit(&gs[i], ts, nts, &fit) || !fit.growing)
			continue;
		if (r->ngrowing == cap_g) {
			cap_g *= 2;
			r->growing = xrealloc(r->growing, cap_g * sizeof(*r->growing));
		}
		g = &r->growing[r->ngrowing++];
		*g = (struct report_growth){
			.stack = (uint32_t)i, .slope = fit.slope, .r2 = fit.r2,
			.first_ns = fit.first_ns, .end_ns = fit.end_ns,
			.first_bytes = fit.first_bytes, .last_bytes = fit.last_bytes,
			.changes = fit.changes, .first = (uint32_t)npoints,
		};
		/* its points within the timeline, then its value at the end */
		if (npoints + gs[i].n + 1 > cap) {
			cap = (npoints + gs[i].n + 1) * 2;
			r->growth_points = xrealloc(r->growth_points, cap * sizeof(*r->growth_points));
		}
		for (uint32_t k = 0; k < gs[i].n && gs[i].idx[k] < nts; k++)
			r->growth_points[npoints + g->npoints++] = (struct report_point){
				.t_ns = ts[gs[i].idx[k]].t_ns, .bytes = gs[i].bytes[k],
			};
		if (!g->npoints || r->growth_points[npoints + g->npoints - 1].t_ns < fit.end_ns)
			r->growth_points[npoints + g->npoints++] = (struct report_point){
				.t_ns = fit.end_ns, .bytes = fit.last_bytes,
			};
		npoints += g->npoints;
	}
	qsort(r->growing, r->ngrowing, sizeof(*r->growing), by_slope_desc);
}

static struct report_bucket *hist_buckets(const struct heap_hist *h, size_t *n)
{
	struct report_bucket *v = xcalloc(HEAP_HIST_BUCKETS, sizeof(*v));

	*n = 0;
	for (unsigned i = 0; i < HEAP_HIST_BUCKETS; i++) {
		if (!h->count[i])
			continue;
		/* bucket i holds [2^(i-1), 2^i): its largest value is 2^i - 1 */
		v[*n].max = i == 0 ? 0 : i == 64 ? UINT64_MAX : (1ull << i) - 1;
		v[(*n)++].count = h->count[i];
	}
	return v;
}

struct live_window {
	uint32_t stack;
	uint32_t bucket;
	struct sample_weight w; /* the block itself, or what a sampled one stands for */
};

static int by_stack_bucket(const void *a, const void *b)
{
	const struct live_window *x = a, *y = b;

	return cmp_pair(x->stack, x->bucket, y->stack, y->bucket);
}

/* Live blocks grouped by (stack, allocation bucket), release bucket -1. */
static void add_live_windows(struct report *r, const struct report_input *in)
{
	const struct live_table *live = heap__live(in->heap);
	size_t n = live_table__count(live), i = 0, it = 0, j;
	struct live_window *v = xcalloc(n ? n : 1, sizeof(*v));
	const struct live_block *b;

	while (i < n && (b = live_table__next(live, &it))) {
		v[i].stack = b->stack;
		v[i].bucket = heap__window_bucket(in->heap, b->ts_ns);
		sample__weigh(in->sample_bytes, b->size, b->ptr, b->ts_ns, &v[i++].w);
	}
	qsort(v, i, sizeof(*v), by_stack_bucket);
	for (j = 0; j < i;) {
		struct report_window *e = &r->windows[r->nwindows++];
		size_t k = j;

		*e = (struct report_window){ .stack = v[j].stack, .alloc_bucket = v[j].bucket,
					     .free_bucket = -1 };
		for (; k < i && !by_stack_bucket(&v[j], &v[k]); k++) {
			e->count += v[k].w.count;
			e->bytes += v[k].w.bytes;
		}
		j = k;
	}
	free(v);
}

static void collect_windows(struct report *r, const struct report_input *in)
{
	size_t n;
	const struct heap_window *v = heap__windows(in->heap, &n, &r->window_ns,
						    &r->window_origin_ns);
	size_t nlive = live_table__count(heap__live(in->heap));

	r->windows = xcalloc(n + nlive ? n + nlive : 1, sizeof(*r->windows));
	for (size_t i = 0; i < n; i++)
		r->windows[r->nwindows++] = (struct report_window){
			.stack = v[i].stack, .alloc_bucket = v[i].alloc_bucket,
			.free_bucket = v[i].free_bucket, .count = v[i].count, .bytes = v[i].bytes,
		};
	add_live_windows(r, in);
}

/* ---- stacks and their frames, resolved ---- */

static void mark(struct builder *b, uint32_t stack, bool listed)
{
	if (stack >= b->r->nstacks)
		return;
	b->r->stacks[stack].listed |= listed;
	b->r->stacks[stack].resolved = true; /* for now: wanted */
}

static void anon_totals(struct report_anon_totals *o, const struct mapping_totals *t)
{
	*o = (struct report_anon_totals){ .bytes = t->bytes, .count = t->count,
					  .peak_bytes = t->peak_bytes, .peak_ts_ns = t->peak_ts_ns,
					  .mapped_bytes = t->mapped_bytes,
					  .unmapped_bytes = t->unmapped_bytes };
}

static int by_anon_bytes(const void *a, const void *b)
{
	const struct report_anon_site *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->mapped_bytes != y->mapped_bytes)
		return x->mapped_bytes < y->mapped_bytes ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static void collect_anon(struct report *r, const struct report_input *in)
{
	struct report_anon *a = &r->anon;
	const struct mapping_site *s;
	size_t n;

	if (!in->maps || !in->mappings)
		return;
	a->traced = in->mappings == 2 ? "raw_tp" : "tp_btf";
	anon_totals(&a->program, mappings__program(in->maps));
	anon_totals(&a->allocator, mappings__allocator(in->maps));
	anon_totals(&a->brk, mappings__brk(in->maps));
	a->mmaps = mappings__calls(in->maps, MS_MAP_MMAP);
	a->munmaps = mappings__calls(in->maps, MS_MAP_MUNMAP);
	a->mremaps = mappings__calls(in->maps, MS_MAP_MREMAP);
	a->brks = mappings__calls(in->maps, MS_MAP_BRK);
	s = mappings__sites(in->maps, &n);
	a->sites = xcalloc(n ? n : 1, sizeof(*a->sites));
	for (size_t i = 0; i < n; i++)
		a->sites[a->nsites++] = (struct report_anon_site){
			.stack = s[i].stack, .bytes = s[i].bytes, .count = s[i].count,
			.mapped_bytes = s[i].mapped_bytes, .calls = s[i].calls };
	qsort(a->sites, a->nsites, sizeof(*a->sites), by_anon_bytes);
}

/* The stacks the report names; listed: those its "stacks" show. */
static void mark_stacks(struct builder *b)
{
	struct report *r = b->r;
	size_t i;

	for (i = 0; i < r->nsites; i++)
		mark(b, r->sites[i].stack, true);
	for (i = 0; i < r->nthread_sites; i++)
		mark(b, r->thread_sites[i].stack, true);
	for (i = 0; i < r->nfindings; i++) {
		mark(b, r->findings[i].stack, true);
		mark(b, r->findings[i].alloc_stack, true);
		mark(b, r->findings[i].free_stack, true);
	}
	for (i = 0; i < r->nvariables; i++) {
		mark(b, r->variables[i].stack, true);
		mark(b, r->variables[i].annotation_stack, true);
	}
	for (i = 0; i < r->nleaks; i++)
		mark(b, r->leaks[i].stack, false);
	for (i = 0; i < r->npeak; i++)
		mark(b, r->peak[i].stack, false);
	for (i = 0; i < r->anon.nsites; i++)
		if (r->anon.sites[i].stack != STACK_NONE)
			mark(b, r->anon.sites[i].stack, true);
}

static const char *frame_label(struct report *r, const struct sym_frame *f)
{
	char small[512], *big;
	const char *label;
	int len = sym_frame__format(f, small, sizeof(small));

	if (len < (int)sizeof(small))
		return str(r, small);
	big = xmalloc((size_t)len + 1);
	sym_frame__format(f, big, (size_t)len + 1);
	label = str(r, big);
	free(big);
	return label;
}

static void add_frame(struct builder *b, const struct sym_frame *f)
{
	struct report *r = b->r;

	if (r->nframes == b->cap_frames) {
		b->cap_frames = b->cap_frames ? b->cap_frames * 2 : 256;
		r->frames = xrealloc(r->frames, b->cap_frames * sizeof(*r->frames));
	}
	r->frames[r->nframes++] = (struct report_frame){
		.ip = f->ip,
		.function = str(r, f->function),
		.file = str(r, f->file),
		.line = f->line,
		.column = f->column,
		.module = str(r, f->module),
		.module_offset = f->module_offset,
		.map_start = f->map_start,
		.map_end = f->map_end,
		.map_offset = f->map_offset,
		.build_id = str(r, f->build_id),
		.inlined = f->inlined,
		.mapping = -1,
		.label = frame_label(r, f),
	};
}

static void ips_grow(struct builder *b)
{
	size_t cap = b->cap_ips ? b->cap_ips * 2 : 1024;
	uint64_t *ips = xcalloc(cap, sizeof(*ips));
	uint32_t *first = xcalloc(cap, sizeof(*first)), *n = xcalloc(cap, sizeof(*n));

	for (size_t i = 0; i < b->cap_ips; i++) {
		size_t j;

		if (!b->n[i])
			continue;
		for (j = ms_hash64(b->ips[i]) & (cap - 1); n[j]; j = (j + 1) & (cap - 1))
			;
		ips[j] = b->ips[i];
		first[j] = b->first[i];
		n[j] = b->n[i];
	}
	free(b->ips);
	free(b->first);
	free(b->n);
	b->ips = ips;
	b->first = first;
	b->n = n;
	b->cap_ips = cap;
}

/* The slot of ip's frames in the table, resolved on first use. */
static size_t frames_of(struct builder *b, uint64_t ip)
{
	const struct sym_frame *frames;
	size_t i, n;

	if ((b->nips + 1) * 2 > b->cap_ips)
		ips_grow(b);
	for (i = ms_hash64(ip) & (b->cap_ips - 1); b->n[i]; i = (i + 1) & (b->cap_ips - 1))
		if (b->ips[i] == ip)
			return i;
	symbolizer__symbolize(b->in->sym, ip, &frames, &n);
	b->ips[i] = ip;
	b->first[i] = (uint32_t)b->r->nframes;
	b->n[i] = (uint32_t)n;
	b->nips++;
	for (size_t j = 0; j < n; j++)
		add_frame(b, &frames[j]);
	return i;
}

static void resolve_stack(struct builder *b, uint32_t id)
{
	const struct stack *s = stack_table__get(b->in->stacks, id);
	struct report_stack *rs = &b->r->stacks[id];

	rs->resolved = s != NULL;
	if (!s)
		return;
	rs->truncated = s->truncated != 0;
	rs->truncated_reason = str(b->r, stack_end__name(s->truncated));
	rs->site = (int32_t)report_frames__site_index(b->rf, s);
	rs->first = (uint32_t)b->nrefs;
	for (uint32_t i = 0; i < s->nframes; i++) {
		size_t slot = frames_of(b, s->ips[i]);

		if (b->nrefs + b->n[slot] > b->cap_refs) {
			while (b->nrefs + b->n[slot] > b->cap_refs)
				b->cap_refs = b->cap_refs ? b->cap_refs * 2 : 1024;
			b->r->frame_refs = xrealloc(b->r->frame_refs,
						    b->cap_refs * sizeof(*b->r->frame_refs));
		}
		for (uint32_t j = 0; j < b->n[slot]; j++)
			b->r->frame_refs[b->nrefs++] = b->first[slot] + j;
	}
	rs->nframes = (uint32_t)(b->nrefs - rs->first);
}

static void resolve_stacks(struct builder *b)
{
	for (uint32_t i = 0; i < b->r->nstacks; i++)
		if (b->r->stacks[i].resolved)
			resolve_stack(b, i);
	free(b->ips);
	free(b->first);
	free(b->n);
}

/* ---- the mappings the sites' frames lie in ---- */

static int mapping_cmp(uint64_t start, const char *path, const struct report_mapping *m)
{
	if (start != m->start)
		return start < m->start ? -1 : 1;
	/* another object mapped at the same address later (dlclose, dlopen) */
	return strcmp(path, m->path);
}

/* Where (start, path) is in r->mappings, or where it would go: *found says which. */
static size_t mapping_find(const struct report *r, uint64_t start, const char *path, bool *found)
{
	size_t lo = 0, hi = r->nmappings;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = mapping_cmp(start, path, &r->mappings[mid]);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void add_mapping(struct report *r, const struct report_frame *f)
{
	struct report_mapping *m;
	bool found;
	size_t i;

	if (!f->module)
		return;
	i = mapping_find(r, f->map_start, f->module, &found);
	if (!found) {
		r->mappings = xrealloc(r->mappings, (r->nmappings + 1) * sizeof(*r->mappings));
		memmove(&r->mappings[i + 1], &r->mappings[i],
			(r->nmappings - i) * sizeof(*r->mappings));
		r->nmappings++;
		r->mappings[i] = (struct report_mapping){ .start = f->map_start, .limit = f->map_end,
							  .offset = f->map_offset, .path = f->module,
							  .build_id = f->build_id };
	}
	m = &r->mappings[i];
	m->has_functions |= f->function != NULL;
	m->has_files |= f->file != NULL;
	m->has_lines |= f->line > 0;
}

/* Sorted by start address (a program's own, mapped lowest, comes first); each frame's. */
static void collect_mappings(struct report *r)
{
	for (size_t i = 0; i < r->nsites; i++) {
		const struct report_stack *s = report__stack(r, r->sites[i].stack);

		for (uint32_t j = 0; s && j < s->nframes; j++)
			add_mapping(r, report__frame(r, s, j));
	}
	for (size_t i = 0; i < r->nframes; i++) {
		struct report_frame *f = &r->frames[i];
		bool found;
		size_t m;

		if (!f->module)
			continue;
		m = mapping_find(r, f->map_start, f->module, &found);
		f->mapping = found ? (long)m : -1;
	}
}

struct report *report__build(const struct report_input *in)
{
	struct report *r = xcalloc(1, sizeof(*r));
	struct builder b = { .r = r, .in = in, .rf = report_frames__new(in) };
	size_t n;

	r->strings = xcalloc(1, sizeof(*r->strings));
	r->nstacks = stack_table__count(in->stacks);
	r->stacks = xcalloc(r->nstacks ? r->nstacks : 1, sizeof(*r->stacks));
	fill_target(r, in);
	collect_images(r, in);
	collect_processes(r, in);
	fill_tracing(r, in);
	fill_totals(r, in);
	collect_sites(r, in);
	collect_thread_sites(r, in);
	collect_threads(r, in);
	collect_leaks(r, in);
	/* by the processes' leaked bytes */
	rank_system(r, in);
	mark_runtime_leaks(&b);
	collect_variables(r, in);
	collect_scopes(r, in);
	collect_findings(r, in);
	collect_overflow(r, in);
	collect_fragmentation(r, in);
	collect_timeline(r, in);
	collect_growth(r, in);
	r->sizes = hist_buckets(heap__size_hist(in->heap), &n);
	r->nsizes = n;
	r->lifetimes_us = hist_buckets(heap__lifetime_hist(in->heap), &n);
	r->nlifetimes_us = n;
	collect_windows(r, in);
	collect_anon(r, in);
	mark_stacks(&b);
	resolve_stacks(&b);
	collect_mappings(r);
	report_frames__free(b.rf);
	return r;
}

void report__free(struct report *r)
{
	if (!r)
		return;
	free((void *)r->tracing.degraded);
	free(r->tracing.allocators);
	free(r->tracing.unnamed);
	free(r->images);
	free(r->processes);
	free(r->system.by_leaked);
	free(r->system.by_in_use);
	free(r->frames);
	free(r->frame_refs);
	free(r->stacks);
	free(r->leaks);
	free(r->sites);
	free(r->busiest);
	free(r->peak);
	free(r->threads);
	free(r->thread_sites);
	free(r->findings);
	free(r->variables);
	free(r->live_vars);
	free(r->scopes);
	free(r->timeline);
	free(r->growing);
	free(r->growth_points);
	free(r->sizes);
	free(r->lifetimes_us);
	free(r->windows);
	free(r->mappings);
	free(r->anon.sites);
	strings_free(r->strings);
	free(r);
}

int report__utf8_len(const unsigned char *s)
{
	return ms_utf8_len(s);
}

const char *report__fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

/* A control character in UTF-8: C0, DEL, or C1 (U+0080-U+009F, 0xc2 0x80-0x9f). */
static bool is_control(const unsigned char *p, int n)
{
	return (n == 1 && (*p < 0x20 || *p == 0x7f)) || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0);
}

const char *report__safe_text(const char *s, const char *also, char *buf, size_t len)
{
	static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t o = 0;

	while (*p) {
		int n = ms_utf8_len(p);
		const char *out = (const char *)p;
		size_t m = (size_t)n;

		if (!n || is_control(p, n) || (n == 1 && also && strchr(also, *p))) {
			out = replacement;
			m = sizeof(replacement) - 1;
			n = n ? n : 1;
		}
		if (o + m >= len)
			break;
		memcpy(buf + o, out, m);
		o += m;
		p += n;
	}
	buf[o] = '\0';
	return buf;
}
