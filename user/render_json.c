// SPDX-License-Identifier: MIT
/* The JSON report; docs/report-format.md is its contract. */
#include <errno.h>

#include "json_writer.h"
#include "report.h"

#define REPORT_SCHEMA "memscope-bpf/report/1"

static uint64_t us_since(uint64_t from_ns, uint64_t ns)
{
	return ns > from_ns ? (ns - from_ns) / 1000 : 0;
}

static void write_target(struct report *r, struct json_writer *w)
{
	const struct report_input *in = r->in;

	jw__begin_object(w, "target");
	jw__int(w, "pid", in->pid);
	jw__string(w, "comm", in->comm);
	jw__string(w, "cmdline", in->cmdline);
	jw__bool(w, "launched", in->launched);
	jw__bool(w, "exited", in->exited);
	if (in->launched && in->exited && in->exit_code >= 0)
		jw__int(w, "exit_status", in->exit_code);
	else
		jw__null(w, "exit_status");
	if (in->launched && in->exited && in->exit_signal)
		jw__int(w, "exit_signal", in->exit_signal);
	else
		jw__null(w, "exit_signal");
	jw__string(w, "exit", in->exit_text);
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
	jw__uint(w, "failed_allocations", t->failed_allocations);
	jw__uint(w, "lost_events", in->bpf_stats[MS_STAT_LOST_EVENTS]);
	jw__uint(w, "lost_stacks", in->stack_lost);
	jw__uint(w, "unknown_frees", t->unknown_frees);
	jw__uint(w, "duration_us", us_since(in->start_ns, in->end_ns));
	jw__end_object(w);
}

static void write_tracing(struct report *r, struct json_writer *w)
{
	const struct report_input *in = r->in;

	jw__begin_object(w, "tracing");
	jw__string(w, "stacks", in->alloc_stacks ? "frame-pointer" : "caller-only");
	jw__bool(w, "free_stacks", in->free_stacks);
	jw__uint(w, "probes", in->nprobes);
	jw__begin_array(w, "allocators");
	for (size_t i = 0; in->objs && i < in->objs->n; i++)
		jw__string(w, NULL, in->objs->v[i].path);
	jw__end_array(w);
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
		jw__bool(w, "truncated", s->truncated);
		jw__begin_array(w, "frames");
		report__each_frame(r, i, write_frame, &c);
		jw__end_array(w);
		jw__int(w, "site_frame", c.site);
		jw__end_object(w);
	}
	jw__end_array(w);
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
		jw__begin_array(w, "variables");
		jw__end_array(w);
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
	write_sites(r, &w);
	jw__end_object(&w);
	return jw__error(&w) ? -EIO : 0;
}
