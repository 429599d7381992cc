// SPDX-License-Identifier: MIT
/* The JSON report; docs/report-format.md is its contract. */
#include <errno.h>
#include <stdlib.h>

#include "json_writer.h"
#include "report.h"

#define REPORT_SCHEMA "memscope-bpf/report/1"

static uint64_t us_since(uint64_t from_ns, uint64_t ns)
{
	return ns > from_ns ? (ns - from_ns) / 1000 : 0;
}

static void write_target(const struct report *r, struct json_writer *w)
{
	const struct report_target *t = &r->target;
	bool done = t->exited && t->status_known;

	jw__begin_object(w, "target");
	jw__int(w, "pid", t->pid);
	jw__string(w, "comm", t->comm);
	jw__string(w, "cmdline", t->cmdline);
	jw__bool(w, "launched", t->launched);
	jw__bool(w, "exited", t->exited);
	if (done && t->exit_code >= 0)
		jw__int(w, "exit_status", t->exit_code);
	else
		jw__null(w, "exit_status");
	if (done && t->exit_signal)
		jw__int(w, "exit_signal", t->exit_signal);
	else
		jw__null(w, "exit_signal");
	jw__string(w, "exit", t->exit_text);
	jw__end_object(w);
}

static void write_unwind(const struct report_unwind *u, struct json_writer *w)
{
	jw__begin_object(w, "unwind");
	jw__string(w, "mode", u->mode);
	jw__uint(w, "objects", u->objects);
	jw__uint(w, "objects_without_cfi", u->objects_bare);
	jw__uint(w, "rows", u->rows);
	jw__uint(w, "rows_capacity", u->capacity);
	jw__uint(w, "objects_dropped", u->dropped);
	jw__uint(w, "objects_sharing_rows", u->shared);
	jw__uint(w, "build_us", u->build_us);
	jw__uint(w, "frames_in_unknown_objects", u->unknown_frames);
	jw__end_object(w);
}

/* The reachability scan: null from a capture written before it existed. */
static void write_scan(const struct report_tracing *t, struct json_writer *w)
{
	if (!t->scan_result) {
		jw__null(w, "scan");
		return;
	}
	jw__begin_object(w, "scan");
	jw__string(w, "result", t->scan_result);
	jw__uint(w, "bytes", t->scan_bytes);
	jw__double(w, "ms", (double)(t->scan_ns / 1000) / 1000.0);
	jw__end_object(w);
}

/* The leaks by class, lost first; null without the scan's classes. */
static void write_by_reach(const struct report_totals *t, struct json_writer *w)
{
	if (!t->by_reach_done) {
		jw__null(w, "leak_classes");
		return;
	}
	jw__begin_object(w, "leak_classes");
	for (unsigned c = REPORT_REACH_DEFINITELY_LOST; c < REPORT_REACH__COUNT; c++) {
		jw__begin_object(w, report_reach__name(c));
		jw__uint(w, "allocations", t->by_reach[c].count);
		jw__uint(w, "bytes", t->by_reach[c].bytes);
		jw__end_object(w);
	}
	jw__end_object(w);
}

static void write_tracing(const struct report *r, struct json_writer *w)
{
	const struct report_tracing *t = &r->tracing;

	jw__begin_object(w, "tracing");
	jw__string(w, "stacks", t->stacks);
	jw__string(w, "free_stacks", t->free_stacks);
	write_unwind(&t->unwind, w);
	/* not 0: counts and bytes are estimates from sampled blocks */
	jw__uint(w, "sample_bytes", t->sample_bytes);
	jw__uint(w, "probes", t->probes);
	/* records sent per thread in batches of this many (0: one by one) */
	jw__uint(w, "batch", t->batch);
	/* batched records that reached the loader after a later one was applied */
	jw__uint(w, "late_records", t->late_records);
	/* processes the target started that share its address space (vfork): untraced */
	if (t->vm_children_known)
		jw__uint(w, "vm_children", t->vm_children);
	else
		jw__null(w, "vm_children");
	/* processes it forked while traced (own address space): not traced */
	if (t->vm_children_known)
		jw__uint(w, "children", t->children);
	else
		jw__null(w, "children");
	/* -p: processes running below it when tracing began: not traced */
	jw__uint(w, "children_at_attach", t->children_at_attach);
	/* execs of the target that were not followed (-p): the numbers mix programs */
	jw__uint(w, "execs_not_followed", t->execs_not_followed);
	/* what the kernel refused, and what ran instead: empty when nothing was */
	jw__begin_array(w, "degraded");
	for (size_t i = 0; i < t->ndegraded; i++) {
		jw__begin_object(w, NULL);
		jw__string(w, "feature", t->degraded[i].feature);
		jw__string(w, "reason", t->degraded[i].reason);
		jw__string(w, "instead", t->degraded[i].instead);
		jw__end_object(w);
	}
	jw__end_array(w);
	jw__begin_array(w, "allocators");
	for (size_t i = 0; i < t->nallocators; i++)
		jw__string(w, NULL, t->allocators[i]);
	jw__end_array(w);
	/* the allocator whose malloc the process calls, and the object holding it */
	if (t->allocator) {
		jw__begin_object(w, "allocator");
		jw__string(w, "name", t->allocator);
		jw__string(w, "path", t->allocator_path);
		jw__end_object(w);
	} else {
		jw__null(w, "allocator");
	}
	jw__uint(w, "interval_us", t->interval_ns / 1000);
	jw__string(w, "leak_rule", t->leak_rule);
	jw__uint(w, "min_age_us", t->leaks_at_exit ? 0 : t->min_age_ns / 1000);
	write_scan(t, w);
	/* objects whose frames found no names, and why: empty when all did */
	jw__begin_array(w, "unnamed_objects");
	for (size_t i = 0; i < t->nunnamed; i++) {
		jw__begin_object(w, NULL);
		jw__string(w, "module", t->unnamed[i].module);
		jw__string(w, "build_id", t->unnamed[i].build_id);
		jw__string(w, "reason", t->unnamed[i].reason);
		jw__uint(w, "addresses", t->unnamed[i].addresses);
		jw__end_object(w);
	}
	jw__end_array(w);
	jw__end_object(w);
}

/* The process images the target execed through; empty when it did not exec. */
static void write_images(const struct report *r, struct json_writer *w)
{
	uint64_t start = r->tracing.start_ns;

	jw__begin_array(w, "images");
	for (size_t i = 0; i < r->nimages; i++) {
		const struct report_image *im = &r->images[i];

		jw__begin_object(w, NULL);
		jw__int(w, "pid", im->pid);
		jw__string(w, "comm", im->comm);
		jw__string(w, "cmdline", im->cmdline);
		jw__uint(w, "start_t_us", us_since(start, im->start_ns));
		jw__uint(w, "end_t_us", us_since(start, im->end_ns));
		jw__string(w, "ended_by", im->execed ? "exec" : "end");
		jw__uint(w, "allocations", im->allocations);
		jw__uint(w, "frees", im->frees);
		jw__uint(w, "bytes_allocated", im->bytes_allocated);
		jw__uint(w, "bytes_freed", im->bytes_freed);
		jw__uint(w, "live_allocations", im->live_allocations);
		jw__uint(w, "live_bytes", im->live_bytes);
		jw__uint(w, "threads", im->threads);
		jw__end_object(w);
	}
	jw__end_array(w);
}

/* -f: the other processes traced; empty without -f. */
static void write_processes(const struct report *r, struct json_writer *w)
{
	uint64_t start = r->tracing.start_ns;

	jw__begin_array(w, "processes");
	for (size_t i = 0; i < r->nprocesses; i++) {
		const struct report_process *p = &r->processes[i];

		jw__begin_object(w, NULL);
		jw__int(w, "pid", p->pid);
		if (p->ppid)
			jw__int(w, "ppid", p->ppid);
		else
			jw__null(w, "ppid");
		jw__string(w, "comm", p->comm);
		jw__string(w, "cmdline", p->cmdline);
		jw__uint(w, "start_t_us", us_since(start, p->start_ns));
		if (p->end_ns)
			jw__uint(w, "end_t_us", us_since(start, p->end_ns));
		else
			jw__null(w, "end_t_us");
		jw__bool(w, "exited", p->exited);
		/* --all: the image ended by an exec at end_t_us (the one after it follows) */
		jw__bool(w, "execed", p->execed);
		if (p->status_known && p->exit_code >= 0)
			jw__int(w, "exit_status", p->exit_code);
		else
			jw__null(w, "exit_status");
		if (p->status_known && p->exit_signal)
			jw__int(w, "exit_signal", p->exit_signal);
		else
			jw__null(w, "exit_signal");
		jw__uint(w, "allocations", p->allocations);
		jw__uint(w, "frees", p->frees);
		jw__uint(w, "bytes_allocated", p->bytes_allocated);
		jw__uint(w, "bytes_freed", p->bytes_freed);
		jw__uint(w, "peak_bytes", p->peak_bytes);
		jw__uint(w, "live_allocations", p->live_allocations);
		jw__uint(w, "live_bytes", p->live_bytes);
		jw__uint(w, "leaked_allocations", p->leaked_count);
		jw__uint(w, "leaked_bytes", p->leaked_bytes);
		jw__uint(w, "unknown_frees", p->unknown_frees);
		jw__uint(w, "inherited_frees", p->inherited_frees);
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_summary(const struct report *r, struct json_writer *w)
{
	const struct report_totals *t = &r->totals;
	uint64_t start = r->tracing.start_ns;

	jw__begin_object(w, "summary");
	jw__uint(w, "allocations", t->allocations);
	jw__uint(w, "frees", t->frees);
	jw__uint(w, "bytes_allocated", t->bytes_allocated);
	jw__uint(w, "bytes_freed", t->bytes_freed);
	jw__uint(w, "peak_bytes", t->peak_bytes);
	jw__uint(w, "peak_t_us", t->peak_bytes ? us_since(start, t->peak_ts_ns) : 0);
	jw__uint(w, "live_allocations", t->live_allocations);
	jw__uint(w, "live_bytes", t->live_bytes);
	jw__uint(w, "leaked_allocations", t->leaked_count);
	jw__uint(w, "leaked_bytes", t->leaked_bytes);
	jw__uint(w, "runtime_leaked_allocations", t->runtime_count);
	jw__uint(w, "runtime_leaked_bytes", t->runtime_bytes);
	write_by_reach(t, w);
	jw__uint(w, "temporary_allocations", t->temporary_allocations);
	jw__uint(w, "failed_allocations", t->failed_allocations);
	jw__uint(w, "lost_events", t->lost_events);
	jw__uint(w, "sample_untracked", t->sample_untracked);
	jw__uint(w, "lost_stacks", t->lost_stacks);
	jw__uint(w, "truncated_stacks", t->truncated_stacks);
	jw__uint(w, "unknown_frees", t->unknown_frees);
	jw__uint(w, "vm_child_frees", t->vm_frees);
	jw__uint(w, "allocator_internal_frees", t->allocator_internal_frees);
	jw__uint(w, "annotations", t->annotations);
	jw__uint(w, "unmatched_annotations", t->unmatched_annotations);
	jw__uint(w, "duration_us", us_since(start, r->tracing.end_ns));
	/* false: too many (thread, stack) pairs, thread_sites left out */
	jw__bool(w, "thread_sites_complete", r->thread_sites != NULL);
	jw__end_object(w);
}

static void write_frame(struct json_writer *w, const struct report_frame *f)
{
	jw__begin_object(w, NULL);
	jw__hex(w, "ip", f->ip);
	jw__string(w, "function", f->function);
	jw__string(w, "file", f->file);
	jw__int(w, "line", f->line);
	jw__string(w, "module", f->module);
	/* where in module: what a debug file found later resolves */
	if (f->module)
		jw__hex(w, "module_offset", f->module_offset);
	else
		jw__null(w, "module_offset");
	jw__bool(w, "inlined", f->inlined);
	jw__end_object(w);
}

static void write_stacks(const struct report *r, struct json_writer *w)
{
	jw__begin_array(w, "stacks");
	for (uint32_t i = 1; i < r->nstacks; i++) {
		const struct report_stack *s = &r->stacks[i];

		if (!s->listed || !s->resolved)
			continue;
		jw__begin_object(w, NULL);
		jw__uint(w, "id", i);
		jw__bool(w, "truncated", s->truncated);
		if (s->truncated)
			jw__string(w, "truncated_reason", s->truncated_reason);
		else
			jw__null(w, "truncated_reason");
		jw__begin_array(w, "frames");
		for (uint32_t j = 0; j < s->nframes; j++)
			write_frame(w, report__frame(r, s, j));
		jw__end_array(w);
		jw__int(w, "site_frame", s->site);
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_leaks(const struct report *r, struct json_writer *w)
{
	jw__begin_array(w, "leaks");
	for (size_t i = 0; i < r->nleaks; i++) {
		const struct report_site *s = &r->leaks[i];

		jw__begin_object(w, NULL);
		jw__int(w, "pid", s->pid);
		jw__uint(w, "stack", s->stack);
		jw__uint(w, "count", s->count);
		jw__uint(w, "bytes", s->bytes);
		jw__uint(w, "oldest_age_us", us_since(s->oldest_ts_ns, r->tracing.end_ns));
		jw__string(w, "runtime", s->runtime);
		jw__string(w, "class", report_reach__name(s->reach));
		jw__begin_array(w, "variables");
		for (uint32_t j = 0; j < s->nvars; j++)
			jw__string(w, NULL, r->variables[r->live_vars[s->vars + j]].name);
		jw__end_array(w);
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_stack_ref(struct json_writer *w, const char *key, uint32_t stack)
{
	if (stack == REPORT_NO_STACK)
		jw__null(w, key);
	else
		jw__uint(w, key, stack);
}

static void write_findings(const struct report *r, struct json_writer *w)
{
	const struct report_finding *f = r->findings;

	jw__begin_array(w, "findings");
	for (size_t i = 0; i < r->nfindings; i++) {
		jw__begin_object(w, NULL);
		jw__int(w, "pid", f[i].pid);
		jw__string(w, "kind", f[i].kind);
		jw__hex(w, "ptr", f[i].ptr);
		write_stack_ref(w, "stack", f[i].stack);
		write_stack_ref(w, "alloc_stack", f[i].alloc_stack);
		write_stack_ref(w, "free_stack", f[i].free_stack);
		jw__uint(w, "thread", f[i].tid);
		jw__uint(w, "t_us", us_since(r->tracing.start_ns, f[i].ts_ns));
		jw__uint(w, "occurrences", f[i].occurrences);
		jw__string(w, "function", f[i].function);
		jw__string(w, "alloc_function", f[i].alloc_function);
		jw__string(w, "free_function", f[i].free_function);
		jw__string(w, "message", f[i].message);
		if (f[i].overflow_changed) {
			jw__uint(w, "block_size", f[i].block_size);
			jw__uint(w, "overflow_bytes", f[i].overflow_changed);
			jw__uint(w, "overflow_reach", f[i].overflow_reach);
		}
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_footprint(const struct report *r, struct json_writer *w, const char *key,
			    const struct report_footprint *f)
{
	jw__begin_object(w, key);
	jw__uint(w, "t_us", us_since(r->tracing.start_ns, f->t_ns));
	jw__uint(w, "footprint_bytes", f->footprint);
	jw__uint(w, "live_bytes", f->live_bytes);
	jw__double(w, "fragmentation", f->fragmentation);
	jw__uint(w, "heap_bytes", f->brk);
	jw__uint(w, "arena_bytes", f->arenas);
	jw__uint(w, "arenas", f->narenas);
	jw__uint(w, "mmapped_bytes", f->mmapped);
	jw__uint(w, "mmapped_blocks", f->nmmapped);
	jw__uint(w, "mmapped_live_bytes", f->mmapped_live);
	jw__end_object(w);
}

/* The allocator's footprint against the live bytes; null when never read. */
static void write_fragmentation(const struct report *r, struct json_writer *w)
{
	const struct report_fragmentation *f = &r->fragmentation;

	if (!f->known) {
		jw__null(w, "fragmentation");
		return;
	}
	jw__begin_object(w, "fragmentation");
	jw__string(w, "rule", f->rule);
	write_footprint(r, w, "at_end", &f->end);
	write_footprint(r, w, "at_peak", &f->peak);
	jw__end_object(w);
}

/* --check-overflow's coverage; null when it was not asked for. */
static void write_overflow(const struct report *r, struct json_writer *w)
{
	const struct report_overflow *o = &r->overflow;

	if (!o->way) {
		jw__null(w, "overflow_check");
		return;
	}
	jw__begin_object(w, "overflow_check");
	jw__string(w, "way", o->way);
	jw__string(w, "misses", o->misses);
	jw__uint(w, "blocks", o->blocks);
	jw__uint(w, "checked", o->checked);
	jw__uint(w, "overflowed", o->overflowed);
	jw__uint(w, "partial", o->partial);
	jw__uint(w, "no_slack", o->no_slack);
	jw__uint(w, "unreadable", o->unreadable);
	jw__uint(w, "not_compared", o->not_compared);
	jw__uint(w, "not_seen", o->not_seen);
	jw__uint(w, "header_changed", o->header_changed);
	jw__end_object(w);
}

static void write_sites(const struct report *r, struct json_writer *w)
{
	jw__begin_array(w, "sites");
	for (size_t i = 0; i < r->nsites; i++) {
		const struct report_site *s = &r->sites[i];

		jw__begin_object(w, NULL);
		jw__int(w, "pid", s->pid);
		jw__uint(w, "stack", s->stack);
		jw__uint(w, "allocations", s->count);
		jw__uint(w, "bytes", s->bytes);
		jw__uint(w, "live_count", s->live_count);
		jw__uint(w, "live_bytes", s->live_bytes);
		jw__uint(w, "peak_count", s->peak_count);
		jw__uint(w, "peak_bytes", s->peak_bytes);
		jw__uint(w, "temporary", s->temporary);
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_anon_totals(struct json_writer *w, const char *key,
			      const struct report_anon_totals *t, const struct report *r)
{
	jw__begin_object(w, key);
	jw__uint(w, "live_bytes", t->bytes);
	jw__uint(w, "live_count", t->count);
	jw__uint(w, "peak_bytes", t->peak_bytes);
	jw__uint(w, "peak_us", t->peak_bytes && t->peak_ts_ns > r->tracing.start_ns ?
			       (t->peak_ts_ns - r->tracing.start_ns) / 1000 : 0);
	jw__uint(w, "mapped_bytes", t->mapped_bytes);
	jw__uint(w, "unmapped_bytes", t->unmapped_bytes);
	jw__end_object(w);
}

/* Anonymous mappings beside the heap (docs/report-format.md); null when not traced. */
static void write_anon(const struct report *r, struct json_writer *w)
{
	const struct report_anon *a = &r->anon;

	if (!a->traced) {
		jw__null(w, "anonymous_mappings");
		return;
	}
	jw__begin_object(w, "anonymous_mappings");
	jw__string(w, "traced", a->traced);
	write_anon_totals(w, "program", &a->program, r);
	write_anon_totals(w, "allocator", &a->allocator, r);
	write_anon_totals(w, "brk", &a->brk, r);
	jw__begin_object(w, "calls");
	jw__uint(w, "mmap", a->mmaps);
	jw__uint(w, "munmap", a->munmaps);
	jw__uint(w, "mremap", a->mremaps);
	jw__uint(w, "brk", a->brks);
	jw__end_object(w);
	jw__begin_array(w, "sites");
	for (size_t i = 0; i < a->nsites; i++) {
		const struct report_anon_site *s = &a->sites[i];

		jw__begin_object(w, NULL);
		jw__uint(w, "stack", s->stack);
		jw__uint(w, "live_bytes", s->bytes);
		jw__uint(w, "live_count", s->count);
		jw__uint(w, "mapped_bytes", s->mapped_bytes);
		jw__uint(w, "calls", s->calls);
		jw__end_object(w);
	}
	jw__end_array(w);
	jw__end_object(w);
}

static void write_threads(const struct report *r, struct json_writer *w)
{
	const struct report_thread *t = r->threads;

	jw__begin_array(w, "threads");
	for (size_t i = 0; i < r->nthreads; i++) {
		jw__begin_object(w, NULL);
		jw__int(w, "pid", t[i].pid);
		jw__uint(w, "tid", t[i].tid);
		jw__string(w, "name", t[i].name);
		jw__uint(w, "allocations", t[i].allocations);
		jw__uint(w, "bytes", t[i].bytes);
		jw__uint(w, "frees", t[i].frees);
		jw__uint(w, "live_count", t[i].live_count);
		jw__uint(w, "live_bytes", t[i].live_bytes);
		jw__uint(w, "temporary", t[i].temporary);
		jw__end_object(w);
	}
	jw__end_array(w);
}

/* [tid, stack, allocations, bytes, live_count, live_bytes, temporary]; absent
 * rather than incomplete when the heap stopped counting pairs */
static void write_thread_sites(const struct report *r, struct json_writer *w)
{
	if (!r->thread_sites)
		return;
	jw__begin_array(w, "thread_sites");
	w->pretty = false;
	for (size_t i = 0; i < r->nthread_sites; i++) {
		const struct report_thread_site *p = &r->thread_sites[i];

		jw__begin_array(w, NULL);
		jw__uint(w, NULL, p->tid);
		jw__uint(w, NULL, p->stack);
		jw__uint(w, NULL, p->allocations);
		jw__uint(w, NULL, p->bytes);
		jw__uint(w, NULL, p->live_count);
		jw__uint(w, NULL, p->live_bytes);
		jw__uint(w, NULL, p->temporary);
		jw__end_array(w);
	}
	w->pretty = true;
	jw__end_array(w);
}

static void write_timeline(const struct report *r, struct json_writer *w)
{
	const struct report_sample *s = r->timeline;

	jw__begin_array(w, "timeline");
	for (size_t i = 0; i < r->ntimeline; i++) {
		jw__begin_object(w, NULL);
		jw__uint(w, "t_us", us_since(r->tracing.start_ns, s[i].t_ns));
		jw__uint(w, "live_bytes", s[i].live_bytes);
		jw__uint(w, "allocations", s[i].allocations);
		jw__uint(w, "frees", s[i].frees);
		if (!s[i].has_rss)
			jw__null(w, "rss_bytes");
		else
			jw__uint(w, "rss_bytes", s[i].rss_bytes);
		if (!s[i].has_footprint)
			jw__null(w, "footprint_bytes");
		else
			jw__uint(w, "footprint_bytes", s[i].footprint_bytes);
		if (!s[i].has_mapped)
			jw__null(w, "mapped_bytes");
		else
			jw__uint(w, "mapped_bytes", s[i].mapped_bytes);
		jw__end_object(w);
	}
	jw__end_array(w);
}

/* The growing sites (docs/report-format.md "growing"), each with its curve. */
static void write_growing(const struct report *r, struct json_writer *w)
{
	uint64_t start = r->tracing.start_ns;

	jw__begin_array(w, "growing");
	for (size_t i = 0; i < r->ngrowing; i++) {
		const struct report_growth *g = &r->growing[i];

		jw__begin_object(w, NULL);
		jw__uint(w, "stack", g->stack);
		jw__double(w, "bytes_per_s", g->slope);
		jw__double(w, "r2", g->r2);
		jw__uint(w, "since_us", us_since(start, g->first_ns));
		jw__uint(w, "span_us", us_since(g->first_ns, g->end_ns));
		jw__uint(w, "first_bytes", g->first_bytes);
		jw__uint(w, "last_bytes", g->last_bytes);
		jw__uint(w, "changes", g->changes);
		/* [t_us, bytes] pairs on one line: a curve is data, not a document */
		jw__begin_array(w, "points");
		w->pretty = false;
		for (uint32_t k = 0; k < g->npoints; k++) {
			const struct report_point *p = &r->growth_points[g->first + k];

			jw__begin_array(w, NULL);
			jw__uint(w, NULL, us_since(start, p->t_ns));
			jw__uint(w, NULL, p->bytes);
			jw__end_array(w);
		}
		w->pretty = true;
		jw__end_array(w);
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_peak(const struct report *r, struct json_writer *w)
{
	const struct report_totals *t = &r->totals;

	jw__begin_object(w, "peak");
	jw__uint(w, "t_us", t->peak_bytes ? us_since(r->tracing.start_ns, t->peak_ts_ns) : 0);
	jw__uint(w, "bytes", t->peak_bytes);
	jw__begin_array(w, "sites");
	for (size_t i = 0; i < r->npeak; i++) {
		jw__begin_object(w, NULL);
		jw__uint(w, "stack", r->peak[i].stack);
		jw__uint(w, "bytes", r->peak[i].bytes);
		jw__uint(w, "count", r->peak[i].count);
		jw__end_object(w);
	}
	jw__end_array(w);
	jw__end_object(w);
}

static void write_hist(struct json_writer *w, const char *key, const struct report_bucket *b,
		       size_t n)
{
	jw__begin_array(w, key);
	for (size_t i = 0; i < n; i++) {
		jw__begin_object(w, NULL);
		jw__uint(w, "max", b[i].max);
		jw__uint(w, "count", b[i].count);
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_histograms(const struct report *r, struct json_writer *w)
{
	jw__begin_object(w, "histograms");
	write_hist(w, "sizes", r->sizes, r->nsizes);
	write_hist(w, "lifetimes_us", r->lifetimes_us, r->nlifetimes_us);
	jw__end_object(w);
}

/* [stack, alloc bucket, release bucket (-1: still live), count, bytes] */
static void write_windows(const struct report *r, struct json_writer *w)
{
	jw__begin_object(w, "windows");
	jw__uint(w, "bucket_us", r->window_ns / 1000);
	jw__uint(w, "origin_us", us_since(r->tracing.start_ns, r->window_origin_ns));
	jw__begin_array(w, "entries");
	w->pretty = false;
	for (size_t i = 0; i < r->nwindows; i++) {
		const struct report_window *e = &r->windows[i];

		jw__begin_array(w, NULL);
		jw__uint(w, NULL, e->stack);
		jw__uint(w, NULL, e->alloc_bucket);
		jw__int(w, NULL, e->free_bucket);
		jw__uint(w, NULL, e->count);
		jw__uint(w, NULL, e->bytes);
		jw__end_array(w);
	}
	w->pretty = true;
	jw__end_array(w);
	jw__end_object(w);
}

static void write_variables(const struct report *r, struct json_writer *w)
{
	const struct report_variable *v = r->variables;

	jw__begin_array(w, "variables");
	for (size_t i = 0; i < r->nvariables; i++) {
		jw__begin_object(w, NULL);
		jw__string(w, "name", v[i].name);
		jw__string(w, "type", v[i].type);
		jw__string(w, "file", v[i].file);
		jw__int(w, "line", v[i].line);
		jw__hex(w, "ptr", v[i].ptr);
		jw__hex(w, "block", v[i].block);
		jw__uint(w, "size", v[i].size);
		write_stack_ref(w, "stack", v[i].stack);
		write_stack_ref(w, "annotation_stack", v[i].annotation_stack);
		jw__uint(w, "t_us", us_since(r->tracing.start_ns, v[i].named_ts_ns));
		jw__bool(w, "freed", v[i].freed);
		if (v[i].freed)
			jw__uint(w, "lifetime_us", us_since(v[i].alloc_ts_ns, v[i].freed_ts_ns));
		else
			jw__null(w, "lifetime_us");
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_scopes(const struct report *r, struct json_writer *w)
{
	const struct report_scope *s = r->scopes;

	jw__begin_array(w, "scopes");
	for (size_t i = 0; i < r->nscopes; i++) {
		jw__begin_object(w, NULL);
		jw__string(w, "name", s[i].name);
		jw__uint(w, "allocations", s[i].allocations);
		jw__uint(w, "bytes", s[i].bytes);
		jw__end_object(w);
	}
	jw__end_array(w);
}

/* --all: the sums over every process and the rankings (indexes into processes); null without. */
static void write_system(const struct report *r, struct json_writer *w)
{
	const struct report_system *sy = &r->system;

	if (!sy->on) {
		jw__null(w, "system_wide");
		return;
	}
	jw__begin_object(w, "system_wide");
	jw__string(w, "cgroup", sy->cgroup);
	jw__uint(w, "processes", r->nprocesses);
	jw__uint(w, "exited", sy->exited);
	jw__uint(w, "allocations", sy->allocations);
	jw__uint(w, "frees", sy->frees);
	jw__uint(w, "bytes_allocated", sy->bytes_allocated);
	jw__uint(w, "bytes_freed", sy->bytes_freed);
	jw__uint(w, "leaked_allocations", sy->leaked_count);
	jw__uint(w, "leaked_bytes", sy->leaked_bytes);
	jw__uint(w, "in_use_allocations", sy->in_use_count);
	jw__uint(w, "in_use_bytes", sy->in_use_bytes);
	jw__uint(w, "untraced_threads", sy->untraced_threads);
	jw__begin_array(w, "by_leaked_bytes");
	for (size_t i = 0; i < sy->nby_leaked; i++)
		jw__uint(w, NULL, sy->by_leaked[i]);
	jw__end_array(w);
	jw__begin_array(w, "by_in_use_bytes");
	for (size_t i = 0; i < sy->nby_in_use; i++)
		jw__uint(w, NULL, sy->by_in_use[i]);
	jw__end_array(w);
	jw__end_object(w);
}

int report__write_json(const struct report *r, FILE *f)
{
	struct json_writer w;

	jw__init(&w, f, true);
	jw__begin_object(&w, NULL);
	jw__string(&w, "schema", REPORT_SCHEMA);
	jw__string(&w, "version", MEMSCOPE_VERSION);
	write_target(r, &w);
	write_images(r, &w);
	write_processes(r, &w);
	write_system(r, &w);
	write_tracing(r, &w);
	write_summary(r, &w);
	write_stacks(r, &w);
	write_leaks(r, &w);
	write_findings(r, &w);
	write_overflow(r, &w);
	write_fragmentation(r, &w);
	write_sites(r, &w);
	write_anon(r, &w);
	write_threads(r, &w);
	write_thread_sites(r, &w);
	write_timeline(r, &w);
	write_growing(r, &w);
	write_peak(r, &w);
	write_histograms(r, &w);
	write_windows(r, &w);
	write_variables(r, &w);
	write_scopes(r, &w);
	jw__end_object(&w);
	return jw__error(&w) ? -EIO : 0;
}
