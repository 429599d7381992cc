// SPDX-License-Identifier: MIT
/* The text summary printed when tracing stops, from the same report model as the JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

#define TEXT_MAX_FRAMES 12
#define TEXT_FINDING_FRAMES 6
#define TEXT_TOP_HOTSPOTS 5

/*
 * Writes a string that came from the target: a control character or a byte
 * that is not UTF-8 as \n, \t, \xNN or \u00NN (C1), so that the target can neither start a
 * line of the summary nor send the terminal an escape sequence.
 */
static void put_untrusted(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		int n = ms_utf8_len(s);

		if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\t')
			fputs("\\t", f);
		else if (!n || *s < 0x20 || *s == 0x7f)
			fprintf(f, "\\x%02x", *s);
		else if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0) /* C1 controls (CSI...) */
			fprintf(f, "\\u%04x", s[1]);
		else
			fwrite(s, 1, (size_t)n, f);
		s += n ? n : 1;
	}
}

struct text_ctx {
	FILE *f;
	unsigned n;
	unsigned max;
	unsigned skipped;
	const char *indent;
};

static void print_frame(void *ctx, const struct sym_frame *fr, bool is_site)
{
	struct text_ctx *c = ctx;
	char buf[2 * SYM_NAME_MAX];

	if (c->n++ >= c->max) {
		c->skipped++;
		return;
	}
	sym_frame__format(fr, buf, sizeof(buf));
	fprintf(c->f, "%s%s ", c->indent, is_site ? "->" : "  ");
	put_untrusted(c->f, buf);
	fprintf(c->f, "%s\n", fr->inlined ? " [inlined]" : "");
}

static void print_stack(struct report *r, FILE *f, uint32_t stack, unsigned max, const char *indent)
{
	struct text_ctx c = { .f = f, .max = max, .indent = indent };

	if (stack == STACK_NONE) {
		fprintf(f, "%s   (no stack)\n", indent);
		return;
	}
	report__each_frame(r, stack, print_frame, &c);
	if (c.skipped)
		fprintf(f, "%s   ... %u more frames\n", indent, c.skipped);
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static double rel(const struct report *r, uint64_t ts)
{
	return ts > r->in->start_ns ? secs(ts - r->in->start_ns) : 0.0;
}

static void header(struct report *r, FILE *f)
{
	const struct report_input *in = r->in;
	const struct heap_totals *t = heap__totals(in->heap);
	char a[32], b[32], rule[96];

	fprintf(f, "\n== memscope-bpf: pid %d '", in->pid);
	put_untrusted(f, in->comm ? in->comm : "?");
	fprintf(f, "', traced for %.2f s; %s\n", secs(in->end_ns - in->start_ns), in->exit_text);
	fprintf(f, "   allocations   %" PRIu64 " (%s), %" PRIu64 " temporary\n", t->allocations,
		report__fmt_bytes(t->bytes_allocated, a, sizeof(a)), t->temporary_allocations);
	fprintf(f, "   frees         %" PRIu64 " (%s)\n", t->frees,
		report__fmt_bytes(t->bytes_freed, b, sizeof(b)));
	fprintf(f, "   peak in use   %s at +%.3f s\n", report__fmt_bytes(t->peak_bytes, a, sizeof(a)),
		t->peak_bytes ? rel(r, t->peak_ts_ns) : 0.0);
	fprintf(f, "   live at end   %" PRIu64 " blocks, %s\n", t->live_allocations,
		report__fmt_bytes(t->live_bytes, a, sizeof(a)));
	fprintf(f, "   leaked        %" PRIu64 " blocks, %s (%s)\n", r->leaked_count,
		report__fmt_bytes(r->leaked_bytes, a, sizeof(a)),
		report__leak_rule(r, rule, sizeof(rule)));
	if (r->runtime_count)
		fprintf(f, "                 of them %" PRIu64 " block%s, %s kept by the C/C++ runtime "
			"(stdio buffers, thread-local storage, ...)\n", r->runtime_count,
			r->runtime_count == 1 ? "" : "s", report__fmt_bytes(r->runtime_bytes, a, sizeof(a)));
	fprintf(f, "   lost events   %" PRIu64 "   unknown frees %" PRIu64 "   failed allocations %" PRIu64 "\n",
		in->bpf_stats[MS_STAT_LOST_EVENTS], r->unknown_frees, t->failed_allocations);
	if (in->vm_children_known && in->bpf_stats[MS_STAT_VM_CHILDREN])
		fprintf(f, "   vfork         %" PRIu64 " process%s sharing the address space, not "
			"traced; %" PRIu64 " free%s of %s blocks\n",
			in->bpf_stats[MS_STAT_VM_CHILDREN],
			in->bpf_stats[MS_STAT_VM_CHILDREN] == 1 ? "" : "es", r->vm_frees,
			r->vm_frees == 1 ? "" : "s", in->bpf_stats[MS_STAT_VM_CHILDREN] == 1 ? "its" : "their");
	for (size_t i = 0; i < in->ndegraded; i++)
		fprintf(f, "   degraded      %s lost (%s): %s\n", in->degraded[i].feature,
			in->degraded[i].reason, in->degraded[i].instead);
	if (in->sample_bytes)
		fprintf(f, "   sampled       a block every %s allocated on average: counts and bytes "
			"are estimates; no double or unknown frees are detected\n",
			report__fmt_bytes(in->sample_bytes, a, sizeof(a)));
	if (in->bpf_stats[MS_STAT_SAMPLE_FULL])
		fprintf(f, "   warning: %" PRIu64 " sampled blocks were not tracked (table of sampled "
			"blocks full): estimates are too low\n", in->bpf_stats[MS_STAT_SAMPLE_FULL]);
	if (in->bpf_stats[MS_STAT_LOST_EVENTS])
		fprintf(f, "   warning: %" PRIu64 " events were lost (ring buffer full): totals and "
			"leaks are incomplete, and double, invalid and mismatched frees may be "
			"the lost events' doing; try a larger --ringbuf-size\n",
			in->bpf_stats[MS_STAT_LOST_EVENTS]);
	if (in->stack_lost)
		fprintf(f, "   warning: %" PRIu64 " events have only their caller's address "
			"(stack record lost)\n", in->stack_lost);
	if (in->stacks && stack_table__truncated(in->stacks))
		fprintf(f, "   truncated     %" PRIu32 " stacks end before their outermost frame "
			"(JSON: truncated_reason)\n", stack_table__truncated(in->stacks));
	for (size_t i = 0; i < in->nunnamed; i++) {
		const struct sym_unnamed *u = &in->unnamed[i];

		fputs("   no names      ", f);
		put_untrusted(f, u->module);
		fprintf(f, ": %s (build id %s, %zu address%s shown as module+offset)\n", u->reason,
			u->build_id ? u->build_id : "none", u->addresses,
			u->addresses == 1 ? "" : "es");
	}
}

static void findings(struct report *r, FILE *f)
{
	const struct finding *v = NULL;
	size_t n = 0;
	char msg[512];

	if (r->in->detector)
		v = detector__findings(r->in->detector, &n);
	if (!n)
		return;
	fprintf(f, "\n   %zu finding%s:\n", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		report__finding_message(r, &v[i], msg, sizeof(msg));
		fprintf(f, "\n   [%s] ", finding_kind__name(v[i].kind));
		put_untrusted(f, msg);
		fputc('\n', f);
		if (v[i].stack == STACK_NONE && !r->in->alloc_stacks && !r->in->free_stacks)
			fprintf(f, "         (no call site: releases have none with --no-stacks)\n");
		else
			print_stack(r, f, v[i].stack, TEXT_FINDING_FRAMES, "      ");
		if (v[i].free_stack != STACK_NONE) {
			fprintf(f, "      released before at:\n");
			print_stack(r, f, v[i].free_stack, TEXT_FINDING_FRAMES, "      ");
		}
		if (v[i].alloc_stack != STACK_NONE) {
			fprintf(f, "      allocated at:\n");
			print_stack(r, f, v[i].alloc_stack, TEXT_FINDING_FRAMES, "      ");
		}
	}
}

struct var_line {
	FILE *f;
	unsigned n;
};

static void print_var(void *ctx, const struct variable *v)
{
	struct var_line *c = ctx;

	fputs(c->n++ ? ", " : "      variables: ", c->f);
	put_untrusted(c->f, v->name);
	if (v->type[0]) {
		fputs(" (", c->f);
		put_untrusted(c->f, v->type);
		fputc(')', c->f);
	}
}

static void leaks(struct report *r, FILE *f, unsigned top)
{
	size_t i, n = r->nleaks < top ? r->nleaks : top;
	char a[32];

	if (!r->nleaks)
		fprintf(f, "\n   no leaks\n");
	else
		fprintf(f, "\n   top %zu of %zu leak sites (biggest first%s):\n", n, r->nleaks,
			r->runtime_count ? ", the runtime's last" : "");
	for (i = 0; i < n; i++) {
		const struct report_site *s = &r->leaks[i];

		fprintf(f, "\n   #%zu  %s in %" PRIu64 " block%s, oldest allocated at +%.3f s\n",
			i + 1, report__fmt_bytes(s->bytes, a, sizeof(a)), s->count,
			s->count == 1 ? "" : "s", rel(r, s->oldest_ts_ns));
		if (s->runtime)
			fprintf(f, "       kept by the runtime (%s), not the program's\n", s->runtime);
		struct var_line vl = { .f = f };

		report__each_live_var(r, s->stack, print_var, &vl);
		if (vl.n)
			fputc('\n', f);
		print_stack(r, f, s->stack, TEXT_MAX_FRAMES, "      ");
	}
}

static int by_count_desc(const void *a, const void *b)
{
	const struct report_site *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* One line per site: its allocation-site frame only. */
static void site_line(struct report *r, FILE *f, const struct report_site *s, const char *what)
{
	const struct sym_frame *fr = report__site_frame(r, s->stack);
	char buf[2 * SYM_NAME_MAX] = "(no stack)";

	if (fr)
		sym_frame__format(fr, buf, sizeof(buf));
	fprintf(f, "      %-28s ", what);
	put_untrusted(f, buf);
	fputc('\n', f);
}

static void scopes(struct report *r, FILE *f)
{
	const struct scope_stats *s;
	size_t n = 0;
	char a[32];

	s = r->in->annots ? annotations__scopes(r->in->annots, &n) : NULL;
	if (!n)
		return;
	fprintf(f, "\n   scopes:\n");
	for (size_t i = 0; i < n; i++) {
		fputs("      ", f);
		put_untrusted(f, s[i].name);
		/* the column as "%-28s" kept it, by bytes */
		fprintf(f, "%*s %" PRIu64 " allocations, %s\n",
			strlen(s[i].name) < 28 ? (int)(28 - strlen(s[i].name)) : 0, "",
			s[i].allocations, report__fmt_bytes(s[i].bytes, a, sizeof(a)));
	}
}

static void hotspots(struct report *r, FILE *f)
{
	struct report_site *by_count;
	size_t n = r->nsites < TEXT_TOP_HOTSPOTS ? r->nsites : TEXT_TOP_HOTSPOTS;
	char what[64], a[32];

	if (!r->nsites)
		return;
	by_count = malloc(r->nsites * sizeof(*by_count));
	if (!by_count)
		return;
	memcpy(by_count, r->sites, r->nsites * sizeof(*by_count));
	qsort(by_count, r->nsites, sizeof(*by_count), by_count_desc);
	fprintf(f, "\n   most allocations:\n");
	for (size_t i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "%" PRIu64 " (%" PRIu64 " temporary)",
			 by_count[i].count, by_count[i].temporary);
		site_line(r, f, &by_count[i], what);
	}
	fprintf(f, "\n   most bytes allocated:\n");
	for (size_t i = 0; i < n; i++)
		site_line(r, f, &r->sites[i], report__fmt_bytes(r->sites[i].bytes, a, sizeof(a)));
	if (r->npeak) {
		fprintf(f, "\n   held at the peak:\n");
		for (size_t i = 0; i < r->npeak && i < TEXT_TOP_HOTSPOTS; i++)
			site_line(r, f, &r->peak[i], report__fmt_bytes(r->peak[i].bytes, a, sizeof(a)));
	}
	free(by_count);
}

int report__write_text(struct report *r, FILE *f, unsigned top)
{
	header(r, f);
	findings(r, f);
	leaks(r, f, top);
	hotspots(r, f);
	scopes(r, f);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
