// SPDX-License-Identifier: MIT
/* The JSON report; docs/report-format.md is its contract. */
#include <errno.h>
#include <stdlib.h>

#include "alloc_syms.h"
#include "json_writer.h"
#include "report.h"
#include "sample.h"

#define REPORT_SCHEMA "memscope-bpf/report/1"

static uint64_t us_since(uint64_t from_ns, uint64_t ns)
{
	return ns > from_ns ? (ns - from_ns) / 1000 : 0;
}

static void write_target(struct report *r, struct json_writer *w)
{
	const struct report_input *in = r->in;
	bool done = in->exited && in->status_known;

	jw__begin_object(w, "target");
	jw__int(w, "pid", in->pid);
	jw__string(w, "comm", in->comm);
	jw__string(w, "cmdline", in->cmdline);
	jw__bool(w, "launched", in->launched);
	jw__bool(w, "exited", in->exited);
	if (done && in->exit_code >= 0)
		jw__int(w, "exit_status", in->exit_code);
	else
		jw__null(w, "exit_status");
	if (done && in->exit_signal)
		jw__int(w, "exit_signal", in->exit_signal);
	else
		jw__null(w, "exit_signal");
	jw__string(w, "exit", in->exit_text);
	jw__end_object(w);
}

/* How stacks were walked: "dwarf" (by CFI, frame pointers where there is none), "fp", "none". */
static const char *stacks_method(const struct report_input *in, bool taken)
{
	if (!taken)
		return "none";
	return in->unwind_mode == MS_UNWIND_FP ? "fp" : "dwarf";
}

static void write_unwind(const struct report_input *in, struct json_writer *w)
{
	static const char *modes[] = { [MS_UNWIND_AUTO] = "auto", [MS_UNWIND_FP] = "fp",
				       [MS_UNWIND_DWARF] = "dwarf" };
	const struct unwind_stats *u = &in->unwind;

	jw__begin_object(w, "unwind");
	jw__string(w, "mode", modes[in->unwind_mode]);
	jw__uint(w, "objects", u->objects);
	jw__uint(w, "objects_without_cfi", u->objects_bare);
	jw__uint(w, "rows", u->rows);
	jw__uint(w, "rows_capacity", u->capacity);
	jw__uint(w, "objects_dropped", u->dropped);
	jw__uint(w, "objects_sharing_rows", u->shared);
	jw__uint(w, "build_us", (uint64_t)(u->build_ms * 1000));
	jw__uint(w, "frames_in_unknown_objects", in->bpf_stats[MS_STAT_UNWIND_UNKNOWN]);
	jw__end_object(w);
}

static void write_tracing(struct report *r, struct json_writer *w)
{
	const struct report_input *in = r->in;
	char rule[96];

	jw__begin_object(w, "tracing");
	jw__string(w, "stacks", stacks_method(in, in->alloc_stacks));
	jw__string(w, "free_stacks", stacks_method(in, in->free_stacks));
	write_unwind(in, w);
	/* not 0: counts and bytes are estimates from sampled blocks */
	jw__uint(w, "sample_bytes", in->sample_bytes);
	jw__uint(w, "probes", in->nprobes);
	/* records sent per thread in batches of this many (0: one by one) */
	jw__uint(w, "batch", in->batch);
	/* batched records that reached the loader after a later one was applied */
	jw__uint(w, "late_records", in->late_records);
	/* processes the target started that share its address space (vfork): untraced */
	if (in->vm_children_known)
		jw__uint(w, "vm_children", in->bpf_stats[MS_STAT_VM_CHILDREN]);
	else
		jw__null(w, "vm_children");
	/* what the kernel refused, and what ran instead: empty when nothing was */
	jw__begin_array(w, "degraded");
	for (size_t i = 0; i < in->ndegraded; i++) {
		jw__begin_object(w, NULL);
		jw__string(w, "feature", in->degraded[i].feature);
		jw__string(w, "reason", in->degraded[i].reason);
		jw__string(w, "instead", in->degraded[i].instead);
		jw__end_object(w);
	}
	jw__end_array(w);
	jw__begin_array(w, "allocators");
	for (size_t i = 0; in->objs && i < in->objs->n; i++)
		jw__string(w, NULL, in->objs->v[i].path);
	jw__end_array(w);
	jw__uint(w, "interval_us", in->timeline ? timeline__interval_ns(in->timeline) / 1000 : 0);
	jw__string(w, "leak_rule", report__leak_rule(r, rule, sizeof(rule)));
	jw__uint(w, "min_age_us", r->leaks_at_exit ? 0 : in->min_age_ns / 1000);
	/* objects whose frames found no names, and why: empty when all did */
	jw__begin_array(w, "unnamed_objects");
	for (size_t i = 0; i < in->nunnamed; i++) {
		jw__begin_object(w, NULL);
		jw__string(w, "module", in->unnamed[i].module);
		jw__string(w, "build_id", in->unnamed[i].build_id);
		jw__string(w, "reason", in->unnamed[i].reason);
		jw__uint(w, "addresses", in->unnamed[i].addresses);
		jw__end_object(w);
	}
	jw__end_array(w);
	jw__end_object(w);
}

static void write_summary(struct report *r, struct json_writer *w)
{
	const struct report_input *in = r->in;
	const struct heap_totals *t = heap__totals(in->heap);

	jw__begin_object(w, "summary");
	jw__uint(w, "allocations", t->allocations);
	jw__uint(w, "frees", t->frees);
	jw__uint(w, "bytes_allocated", t->bytes_allocated);
	jw__uint(w, "bytes_freed", t->bytes_freed);
	jw__uint(w, "peak_bytes", t->peak_bytes);
	jw__uint(w, "peak_t_us", t->peak_bytes ? us_since(in->start_ns, t->peak_ts_ns) : 0);
	jw__uint(w, "live_allocations", t->live_allocations);
	jw__uint(w, "live_bytes", t->live_bytes);
	jw__uint(w, "leaked_allocations", r->leaked_count);
	jw__uint(w, "leaked_bytes", r->leaked_bytes);
	jw__uint(w, "runtime_leaked_allocations", r->runtime_count);
	jw__uint(w, "runtime_leaked_bytes", r->runtime_bytes);
	jw__uint(w, "temporary_allocations", t->temporary_allocations);
	jw__uint(w, "failed_allocations", t->failed_allocations);
	jw__uint(w, "lost_events", in->bpf_stats[MS_STAT_LOST_EVENTS]);
	jw__uint(w, "sample_untracked", in->bpf_stats[MS_STAT_SAMPLE_FULL]);
	jw__uint(w, "lost_stacks", in->stack_lost);
	jw__uint(w, "truncated_stacks", in->stacks ? stack_table__truncated(in->stacks) : 0);
	jw__uint(w, "unknown_frees", r->unknown_frees);
	jw__uint(w, "vm_child_frees", r->vm_frees);
	jw__uint(w, "allocator_internal_frees",
		 in->detector ? detector__internal_releases(in->detector) : 0);
	jw__uint(w, "annotations", in->annots ? annotations__count(in->annots) : 0);
	jw__uint(w, "unmatched_annotations", in->annots ? annotations__unmatched(in->annots) : 0);
	jw__uint(w, "duration_us", us_since(in->start_ns, in->end_ns));
	/* false: too many (thread, stack) pairs, thread_sites left out */
	jw__bool(w, "thread_sites_complete", r->thread_sites != NULL);
	jw__end_object(w);
}

struct frames_ctx {
	struct json_writer *w;
	int index;
	int site;
};

static void write_frame(void *ctx, const struct sym_frame *f, bool is_site)
{
	struct frames_ctx *c = ctx;
	struct json_writer *w = c->w;

	if (is_site)
		c->site = c->index;
	c->index++;
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

static void write_stacks(struct report *r, struct json_writer *w)
{
	jw__begin_array(w, "stacks");
	for (uint32_t i = 1; i < r->nstacks; i++) {
		const struct stack *s = stack_table__get(r->in->stacks, i);
		struct frames_ctx c = { .w = w, .site = -1 };

		if (!r->stack_used[i] || !s)
			continue;
		jw__begin_object(w, NULL);
		jw__uint(w, "id", i);
		jw__bool(w, "truncated", s->truncated != 0);
		if (s->truncated)
			jw__string(w, "truncated_reason", stack_end__name(s->truncated));
		else
			jw__null(w, "truncated_reason");
		jw__begin_array(w, "frames");
		report__each_frame(r, i, write_frame, &c);
		jw__end_array(w);
		jw__int(w, "site_frame", c.site);
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_var_name(void *ctx, const struct variable *v)
{
	jw__string(ctx, NULL, v->name);
}

static void write_leaks(struct report *r, struct json_writer *w)
{
	jw__begin_array(w, "leaks");
	for (size_t i = 0; i < r->nleaks; i++) {
		const struct report_site *s = &r->leaks[i];

		jw__begin_object(w, NULL);
		jw__uint(w, "stack", s->stack);
		jw__uint(w, "count", s->count);
		jw__uint(w, "bytes", s->bytes);
		jw__uint(w, "oldest_age_us", us_since(s->oldest_ts_ns, r->in->end_ns));
		jw__string(w, "runtime", s->runtime);
		jw__begin_array(w, "variables");
		report__each_live_var(r, s->stack, write_var_name, w);
		jw__end_array(w);
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_stack_ref(struct json_writer *w, const char *key, uint32_t stack)
{
	if (stack == STACK_NONE)
		jw__null(w, key);
	else
		jw__uint(w, key, stack);
}

static void write_findings(struct report *r, struct json_writer *w)
{
	const struct finding *f = NULL;
	size_t n = 0;
	char msg[512];

	if (r->in->detector)
		f = detector__findings(r->in->detector, &n);
	jw__begin_array(w, "findings");
	for (size_t i = 0; i < n; i++) {
		report__finding_message(r, &f[i], msg, sizeof(msg));
		jw__begin_object(w, NULL);
		jw__string(w, "kind", finding_kind__name(f[i].kind));
		jw__hex(w, "ptr", f[i].ptr);
		write_stack_ref(w, "stack", f[i].stack);
		write_stack_ref(w, "alloc_stack", f[i].alloc_stack);
		write_stack_ref(w, "free_stack", f[i].free_stack);
		jw__uint(w, "thread", f[i].tid);
		jw__uint(w, "t_us", us_since(r->in->start_ns, f[i].ts_ns));
		jw__uint(w, "occurrences", f[i].occurrences);
		jw__string(w, "function", f[i].fn ? alloc_syms__fn_name(f[i].fn) : NULL);
		jw__string(w, "alloc_function", f[i].alloc_fn ? alloc_syms__fn_name(f[i].alloc_fn) : NULL);
		jw__string(w, "free_function", f[i].free_fn ? alloc_syms__fn_name(f[i].free_fn) : NULL);
		jw__string(w, "message", msg);
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_sites(struct report *r, struct json_writer *w)
{
	jw__begin_array(w, "sites");
	for (size_t i = 0; i < r->nsites; i++) {
		const struct report_site *s = &r->sites[i];

		jw__begin_object(w, NULL);
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

static void write_threads(struct report *r, struct json_writer *w)
{
	size_t n;
	const struct heap_thread *t = heap__threads(r->in->heap, &n);

	jw__begin_array(w, "threads");
	for (size_t i = 0; i < n; i++) {
		jw__begin_object(w, NULL);
		jw__uint(w, "tid", t[i].tid);
		jw__string(w, "name", r->in->thread_names ?
			   thread_names__get(r->in->thread_names, t[i].tid) : NULL);
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
static void write_thread_sites(struct report *r, struct json_writer *w)
{
	if (!r->thread_sites)
		return;
	jw__begin_array(w, "thread_sites");
	w->pretty = false;
	for (size_t i = 0; i < r->nthread_sites; i++) {
		const struct heap_thread_site *p = &r->thread_sites[i];

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

static void write_timeline(struct report *r, struct json_writer *w)
{
	const struct timeline_sample *s = NULL;
	size_t n = 0;

	if (r->in->timeline)
		s = timeline__samples(r->in->timeline, &n);
	jw__begin_array(w, "timeline");
	for (size_t i = 0; i < n; i++) {
		jw__begin_object(w, NULL);
		jw__uint(w, "t_us", us_since(r->in->start_ns, s[i].t_ns));
		jw__uint(w, "live_bytes", s[i].live_bytes);
		jw__uint(w, "allocations", s[i].allocations);
		jw__uint(w, "frees", s[i].frees);
		if (s[i].rss_bytes == TIMELINE_NO_RSS)
			jw__null(w, "rss_bytes");
		else
			jw__uint(w, "rss_bytes", s[i].rss_bytes);
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_peak(struct report *r, struct json_writer *w)
{
	const struct heap_totals *t = heap__totals(r->in->heap);

	jw__begin_object(w, "peak");
	jw__uint(w, "t_us", t->peak_bytes ? us_since(r->in->start_ns, t->peak_ts_ns) : 0);
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

static void write_hist(struct json_writer *w, const char *key, const struct heap_hist *h)
{
	jw__begin_array(w, key);
	for (unsigned i = 0; i < HEAP_HIST_BUCKETS; i++) {
		if (!h->count[i])
			continue;
		jw__begin_object(w, NULL);
		/* bucket i holds [2^(i-1), 2^i): its largest value is 2^i - 1 */
		jw__uint(w, "max", i == 0 ? 0 : i == 64 ? UINT64_MAX : (1ull << i) - 1);
		jw__uint(w, "count", h->count[i]);
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_histograms(struct report *r, struct json_writer *w)
{
	jw__begin_object(w, "histograms");
	write_hist(w, "sizes", heap__size_hist(r->in->heap));
	write_hist(w, "lifetimes_us", heap__lifetime_hist(r->in->heap));
	jw__end_object(w);
}

static void write_window(struct json_writer *w, uint32_t stack, uint32_t a, int64_t f,
			 uint64_t count, uint64_t bytes)
{
	jw__begin_array(w, NULL);
	jw__uint(w, NULL, stack);
	jw__uint(w, NULL, a);
	jw__int(w, NULL, f);
	jw__uint(w, NULL, count);
	jw__uint(w, NULL, bytes);
	jw__end_array(w);
}

struct live_window {
	uint32_t stack;
	uint32_t bucket;
	struct sample_weight w; /* the block itself, or what a sampled one stands for */
};

static int by_stack_bucket(const void *a, const void *b)
{
	const struct live_window *x = a, *y = b;

	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	return x->bucket < y->bucket ? -1 : x->bucket > y->bucket;
}

/* Live blocks grouped by (stack, allocation bucket), release bucket -1. */
static void write_live_windows(struct report *r, struct json_writer *w)
{
	const struct live_table *live = heap__live(r->in->heap);
	size_t n = live_table__count(live), i = 0, it = 0, j;
	struct live_window *v = calloc(n ? n : 1, sizeof(*v));
	const struct live_block *b;

	if (!v) {
		w->error = true;
		return;
	}
	while (i < n && (b = live_table__next(live, &it))) {
		v[i].stack = b->stack;
		v[i].bucket = heap__window_bucket(r->in->heap, b->ts_ns);
		sample__weigh(r->in->sample_bytes, b->size, b->ptr, b->ts_ns, &v[i++].w);
	}
	qsort(v, i, sizeof(*v), by_stack_bucket);
	for (j = 0; j < i;) {
		uint64_t count = 0, bytes = 0;
		size_t k = j;

		for (; k < i && !by_stack_bucket(&v[j], &v[k]); k++) {
			count += v[k].w.count;
			bytes += v[k].w.bytes;
		}
		write_window(w, v[j].stack, v[j].bucket, -1, count, bytes);
		j = k;
	}
	free(v);
}

/* [stack, alloc bucket, release bucket (-1: still live), count, bytes] */
static void write_windows(struct report *r, struct json_writer *w)
{
	uint64_t bucket_ns, origin_ns;
	size_t n;
	const struct heap_window *v = heap__windows(r->in->heap, &n, &bucket_ns, &origin_ns);

	jw__begin_object(w, "windows");
	jw__uint(w, "bucket_us", bucket_ns / 1000);
	jw__uint(w, "origin_us", us_since(r->in->start_ns, origin_ns));
	jw__begin_array(w, "entries");
	w->pretty = false;
	for (size_t i = 0; i < n; i++)
		write_window(w, v[i].stack, v[i].alloc_bucket, v[i].free_bucket, v[i].count,
			     v[i].bytes);
	write_live_windows(r, w);
	w->pretty = true;
	jw__end_array(w);
	jw__end_object(w);
}

static void write_variables(struct report *r, struct json_writer *w)
{
	const struct variable *v = NULL;
	size_t n = 0;

	if (r->in->annots)
		v = annotations__variables(r->in->annots, &n);
	jw__begin_array(w, "variables");
	for (size_t i = 0; i < n; i++) {
		jw__begin_object(w, NULL);
		jw__string(w, "name", v[i].name);
		jw__string(w, "type", v[i].type[0] ? v[i].type : NULL);
		jw__string(w, "file", v[i].file);
		jw__int(w, "line", v[i].line);
		jw__hex(w, "ptr", v[i].ptr);
		jw__hex(w, "block", v[i].block);
		jw__uint(w, "size", v[i].size);
		write_stack_ref(w, "stack", v[i].alloc_stack);
		write_stack_ref(w, "annotation_stack", v[i].annot_stack);
		jw__uint(w, "t_us", us_since(r->in->start_ns, v[i].named_ts_ns));
		jw__bool(w, "freed", v[i].freed);
		if (v[i].freed)
			jw__uint(w, "lifetime_us", us_since(v[i].alloc_ts_ns, v[i].freed_ts_ns));
		else
			jw__null(w, "lifetime_us");
		jw__end_object(w);
	}
	jw__end_array(w);
}

static void write_scopes(struct report *r, struct json_writer *w)
{
	const struct scope_stats *s = NULL;
	size_t n = 0;

	if (r->in->annots)
		s = annotations__scopes(r->in->annots, &n);
	jw__begin_array(w, "scopes");
	for (size_t i = 0; i < n; i++) {
		jw__begin_object(w, NULL);
		jw__string(w, "name", s[i].name);
		jw__uint(w, "allocations", s[i].allocations);
		jw__uint(w, "bytes", s[i].bytes);
		jw__end_object(w);
	}
	jw__end_array(w);
}

int report__write_json(struct report *r, FILE *f)
{
	struct json_writer w;

	jw__init(&w, f, true);
	jw__begin_object(&w, NULL);
	jw__string(&w, "schema", REPORT_SCHEMA);
	jw__string(&w, "version", MEMSCOPE_VERSION);
	write_target(r, &w);
	write_tracing(r, &w);
	write_summary(r, &w);
	write_stacks(r, &w);
	write_leaks(r, &w);
	write_findings(r, &w);
	write_sites(r, &w);
	write_threads(r, &w);
	write_thread_sites(r, &w);
	write_timeline(r, &w);
	write_peak(r, &w);
	write_histograms(r, &w);
	write_windows(r, &w);
	write_variables(r, &w);
	write_scopes(r, &w);
	jw__end_object(&w);
	return jw__error(&w) ? -EIO : 0;
}
