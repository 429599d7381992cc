// SPDX-License-Identifier: MIT
/* The text summary printed when tracing stops. */
#include <errno.h>
#include <inttypes.h>

#include "report.h"

#define TEXT_MAX_FRAMES 12

struct text_ctx {
	FILE *f;
	unsigned n;
	unsigned skipped;
};

static void print_frame(void *ctx, const struct sym_frame *fr, bool is_site)
{
	struct text_ctx *c = ctx;
	char buf[2 * SYM_NAME_MAX];

	if (c->n++ >= TEXT_MAX_FRAMES) {
		c->skipped++;
		return;
	}
	sym_frame__format(fr, buf, sizeof(buf));
	fprintf(c->f, "      %s %s%s\n", is_site ? "->" : "  ", buf, fr->inlined ? " [inlined]" : "");
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static void header(struct report *r, FILE *f)
{
	const struct report_input *in = r->in;
	const struct heap_totals *t = heap__totals(in->heap);
	char a[32], b[32];

	fprintf(f, "\n== memscope-bpf: pid %d '%s', traced for %.2f s; %s\n", in->pid,
		in->comm ? in->comm : "?", secs(in->end_ns - in->start_ns), in->exit_text);
	fprintf(f, "   allocations   %" PRIu64 " (%s)   frees %" PRIu64 " (%s)\n",
		t->allocations, report__fmt_bytes(t->bytes_allocated, a, sizeof(a)), t->frees,
		report__fmt_bytes(t->bytes_freed, b, sizeof(b)));
	fprintf(f, "   peak in use   %s at +%.3f s\n", report__fmt_bytes(t->peak_bytes, a, sizeof(a)),
		t->peak_bytes ? secs(t->peak_ts_ns - in->start_ns) : 0.0);
	fprintf(f, "   %-13s %" PRIu64 " blocks, %s\n", in->exited ? "leaked at exit" : "live at detach",
		t->live_allocations, report__fmt_bytes(t->live_bytes, a, sizeof(a)));
	fprintf(f, "   lost events   %" PRIu64 "   unknown frees %" PRIu64 "   failed allocations %" PRIu64 "\n",
		in->bpf_stats[MS_STAT_LOST_EVENTS], t->unknown_frees, t->failed_allocations);
	if (in->bpf_stats[MS_STAT_LOST_EVENTS])
		fprintf(f, "   warning: %" PRIu64 " events were lost (ring buffer full): totals and "
			"leaks are incomplete; try a larger --ringbuf-size\n",
			in->bpf_stats[MS_STAT_LOST_EVENTS]);
	if (in->stack_lost)
		fprintf(f, "   warning: %" PRIu64 " events have only their caller's address "
			"(stack record lost)\n", in->stack_lost);
}

int report__write_text(struct report *r, FILE *f, unsigned top)
{
	size_t i, n = r->nleaks < top ? r->nleaks : top;
	char a[32];

	header(r, f);
	if (!r->nleaks) {
		fprintf(f, "\n   no %s\n", r->in->exited ? "leaks" : "live blocks");
	} else {
		fprintf(f, "\n   top %zu of %zu %s sites (biggest first):\n", n, r->nleaks,
			r->in->exited ? "leak" : "live-block");
	}
	for (i = 0; i < n; i++) {
		const struct report_site *s = &r->leaks[i];
		struct text_ctx c = { .f = f };

		fprintf(f, "\n   #%zu  %s in %" PRIu64 " block%s, oldest allocated at +%.3f s\n",
			i + 1, report__fmt_bytes(s->bytes, a, sizeof(a)), s->count,
			s->count == 1 ? "" : "s", secs(s->oldest_ts_ns - r->in->start_ns));
		report__each_frame(r, s->stack, print_frame, &c);
		if (c.skipped)
			fprintf(f, "         ... %u more frames\n", c.skipped);
	}
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
