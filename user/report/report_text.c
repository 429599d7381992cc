// SPDX-License-Identifier: MIT
/* The text summary printed when tracing stops, from the same report model as the JSON. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "report.h"

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
		int n = report__utf8_len(s);

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

/*
 * One frame's line: its label cut as the summary always cut it (frames'
 * names are cut to REPORT_NAME_MAX; a line holds two of them).
 */
static void print_frame(FILE *f, const struct report_frame *fr, bool is_site, const char *indent)
{
	char buf[2 * REPORT_NAME_MAX];

	snprintf(buf, sizeof(buf), "%s", fr->label);
	fprintf(f, "%s%s ", indent, is_site ? "->" : "  ");
	put_untrusted(f, buf);
	fprintf(f, "%s\n", fr->inlined ? " [inlined]" : "");
}

static void print_stack(const struct report *r, FILE *f, uint32_t stack, unsigned max,
			const char *indent)
{
	const struct report_stack *s = report__stack(r, stack);

	if (stack == REPORT_NO_STACK) {
		fprintf(f, "%s   (no stack)\n", indent);
		return;
	}
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nframes && i < max; i++)
		print_frame(f, report__frame(r, s, i), (int32_t)i == s->site, indent);
	if (s->nframes > max)
		fprintf(f, "%s   ... %u more frames\n", indent, s->nframes - max);
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static double rel(const struct report *r, uint64_t ts)
{
	return ts > r->tracing.start_ns ? secs(ts - r->tracing.start_ns) : 0.0;
}

/* The scan's line, and with its classes the leaks by class, lost first. */
static void reach_lines(const struct report *r, FILE *f)
{
	const struct report_tracing *tr = &r->tracing;
	const struct report_totals *t = &r->totals;
	char a[32];

	if (!tr->scan_result)
		return;
	fprintf(f, "   scan          %s", tr->scan_result);
	if (strcmp(tr->scan_result, "skipped"))
		fprintf(f, ": %s read, target held %.1f ms",
			report__fmt_bytes(tr->scan_bytes, a, sizeof(a)), (double)tr->scan_ns / 1e6);
	fputc('\n', f);
	for (unsigned c = REPORT_REACH_DEFINITELY_LOST; t->by_reach_done && c < REPORT_REACH__COUNT; c++)
		fprintf(f, "     %-18s%" PRIu64 " block%s, %s\n", report_reach__text(c),
			t->by_reach[c].count, t->by_reach[c].count == 1 ? "" : "s",
			report__fmt_bytes(t->by_reach[c].bytes, a, sizeof(a)));
}

/* -f: a line per other process traced. */
static void processes(const struct report *r, FILE *f)
{
	char a[32], b[32];

	for (size_t i = 0; i < r->nprocesses; i++) {
		const struct report_process *p = &r->processes[i];

		fprintf(f, "   process       pid %d '", p->pid);
		put_untrusted(f, p->comm ? p->comm : "?");
		fprintf(f, "'");
		if (p->ppid)
			fprintf(f, " (parent %d)", p->ppid);
		fprintf(f, ": %" PRIu64 " allocations (%s), %" PRIu64 " frees; ", p->allocations,
			report__fmt_bytes(p->bytes_allocated, a, sizeof(a)), p->frees);
		if (p->execed)
			fprintf(f, "%" PRIu64 " block%s, %s live at its exec\n",
				p->live_allocations, p->live_allocations == 1 ? "" : "s",
				report__fmt_bytes(p->live_bytes, b, sizeof(b)));
		else if (p->exited)
			fprintf(f, "leaked %" PRIu64 " block%s, %s (live at its exit)\n",
				p->leaked_count, p->leaked_count == 1 ? "" : "s",
				report__fmt_bytes(p->leaked_bytes, b, sizeof(b)));
		else
			fprintf(f, "%" PRIu64 " block%s, %s live, still running\n",
				p->live_allocations, p->live_allocations == 1 ? "" : "s",
				report__fmt_bytes(p->live_bytes, b, sizeof(b)));
	}
}

/* The processes the target started or had that were not traced. */
static void children_line(const struct report_tracing *tr, FILE *f)
{
	uint64_t forked = tr->vm_children_known ? tr->children : 0;

	fprintf(f, "   children      ");
	if (forked)
		fprintf(f, "%" PRIu64 " process%s forked while traced", forked,
			forked == 1 ? "" : "es");
	if (forked && tr->children_at_attach)
		fprintf(f, "; ");
	if (tr->children_at_attach)
		fprintf(f, "%" PRIu64 " process%s below it at attach", tr->children_at_attach,
			tr->children_at_attach == 1 ? "" : "es");
	fprintf(f, ": not traced (-f traces them), their allocations are not in this report\n");
}

/* The images before the last exec, one line each (the report is about the last). */
static void images(const struct report *r, FILE *f)
{
	char a[32], b[32];

	for (size_t i = 0; i + 1 < r->nimages; i++) {
		const struct report_image *im = &r->images[i];

		fprintf(f, "   exec          '");
		put_untrusted(f, im->comm ? im->comm : "?");
		fprintf(f, "' until +%.3f s: %" PRIu64 " allocations (%s), %" PRIu64
			" block%s, %s live at exec (not leaks)\n", rel(r, im->end_ns),
			im->allocations, report__fmt_bytes(im->bytes_allocated, a, sizeof(a)),
			im->live_allocations, im->live_allocations == 1 ? "" : "s",
			report__fmt_bytes(im->live_bytes, b, sizeof(b)));
	}
}

/* The allocator's footprint at the end and at its peak, and the share neither live nor returned. */
static void fragmentation(const struct report *r, FILE *f)
{
	const struct report_fragmentation *fr = &r->fragmentation;
	char a[32], b[32];

	if (!fr->known)
		return;
	fprintf(f, "   footprint     %s held by malloc at the end, %.1f%% of it neither live nor "
		"returned\n", report__fmt_bytes(fr->end.footprint, a, sizeof(a)),
		100.0 * fr->end.fragmentation);
	fprintf(f, "                 at its peak %s (+%.3f s): %s live, %.1f%% fragmented\n",
		report__fmt_bytes(fr->peak.footprint, a, sizeof(a)), rel(r, fr->peak.t_ns),
		report__fmt_bytes(fr->peak.live_bytes, b, sizeof(b)), 100.0 * fr->peak.fragmentation);
}

/*
 * Beside the heap, the anonymous memory mapped: the program's own, and the
 * allocator's (the heap's backing, which holds the blocks counted above).
 */
static void anon_line(const struct report *r, FILE *f)
{
	const struct report_anon *an = &r->anon;
	char a[32], b[32], c[32], d[32];

	if (!an->traced)
		return;
	fprintf(f, "   mapped        %s in %" PRIu64 " anonymous mapping%s by the program (peak %s); "
		"heap's backing: %s mapped by the allocator, %s break\n",
		report__fmt_bytes(an->program.bytes, a, sizeof(a)), an->program.count,
		an->program.count == 1 ? "" : "s",
		report__fmt_bytes(an->program.peak_bytes, b, sizeof(b)),
		report__fmt_bytes(an->allocator.bytes, c, sizeof(c)),
		report__fmt_bytes(an->brk.bytes, d, sizeof(d)));
}

static void header(const struct report *r, FILE *f)
{
	const struct report_tracing *tr = &r->tracing;
	const struct report_totals *t = &r->totals;
	char a[32], b[32];

	fprintf(f, "\n== memscope-bpf " MEMSCOPE_VERSION ": pid %d '", r->target.pid);
	put_untrusted(f, r->target.comm ? r->target.comm : "?");
	fprintf(f, "', traced for %.2f s; %s\n", secs(tr->end_ns - tr->start_ns), r->target.exit_text);
	if (tr->allocator) {
		fprintf(f, "   allocator     %s (", tr->allocator);
		put_untrusted(f, tr->allocator_path);
		fputs(")\n", f);
	}
	fprintf(f, "   allocations   %" PRIu64 " (%s), %" PRIu64 " temporary\n", t->allocations,
		report__fmt_bytes(t->bytes_allocated, a, sizeof(a)), t->temporary_allocations);
	fprintf(f, "   frees         %" PRIu64 " (%s)\n", t->frees,
		report__fmt_bytes(t->bytes_freed, b, sizeof(b)));
	fprintf(f, "   peak in use   %s at +%.3f s\n", report__fmt_bytes(t->peak_bytes, a, sizeof(a)),
		t->peak_bytes ? rel(r, t->peak_ts_ns) : 0.0);
	fprintf(f, "   live at end   %" PRIu64 " blocks, %s\n", t->live_allocations,
		report__fmt_bytes(t->live_bytes, a, sizeof(a)));
	fragmentation(r, f);
	fprintf(f, "   leaked        %" PRIu64 " blocks, %s (%s)\n", t->leaked_count,
		report__fmt_bytes(t->leaked_bytes, a, sizeof(a)), tr->leak_rule);
	if (t->runtime_count)
		fprintf(f, "                 of them %" PRIu64 " block%s, %s kept by the C/C++ runtime "
			"(stdio buffers, thread-local storage, ...)\n", t->runtime_count,
			t->runtime_count == 1 ? "" : "s", report__fmt_bytes(t->runtime_bytes, a, sizeof(a)));
	reach_lines(r, f);
	anon_line(r, f);
	fprintf(f, "   lost events   %" PRIu64 "   unknown frees %" PRIu64 "   failed allocations %" PRIu64 "\n",
		t->lost_events, t->unknown_frees, t->failed_allocations);
	if (tr->vm_children_known && tr->vm_children)
		fprintf(f, "   vfork         %" PRIu64 " process%s sharing the address space, not "
			"traced; %" PRIu64 " free%s of %s blocks\n",
			tr->vm_children, tr->vm_children == 1 ? "" : "es", t->vm_frees,
			t->vm_frees == 1 ? "" : "s", tr->vm_children == 1 ? "its" : "their");
	if (r->nprocesses)
		processes(r, f);
	else if ((tr->vm_children_known && tr->children) || tr->children_at_attach)
		children_line(tr, f);
	images(r, f);
	for (size_t i = 0; i < tr->ndegraded; i++)
		fprintf(f, "   degraded      %s lost (%s): %s\n", tr->degraded[i].feature,
			tr->degraded[i].reason, tr->degraded[i].instead);
	if (tr->sample_bytes)
		fprintf(f, "   sampled       a block every %s allocated on average: counts and bytes "
			"are estimates; no double or unknown frees are detected\n",
			report__fmt_bytes(tr->sample_bytes, a, sizeof(a)));
	if (t->sample_untracked)
		fprintf(f, "   warning: %" PRIu64 " sampled blocks were not tracked (table of sampled "
			"blocks full): estimates are too low\n", t->sample_untracked);
	if (t->lost_events)
		fprintf(f, "   warning: %" PRIu64 " events were lost (ring buffer full): totals and "
			"leaks are incomplete, and double, invalid and mismatched frees may be "
			"the lost events' doing; %s\n",
			t->lost_events,
			tr->sample_bytes ? "a larger --sample-bytes sends fewer events" :
			"a larger --ringbuf-size absorbs a burst, --sample-bytes (e.g. 64k) a "
			"sustained rate");
	if (tr->execs_not_followed)
		fprintf(f, "   warning: the target execed %" PRIu64 " time%s while traced and was not "
			"followed (-p): the numbers mix the programs before and after\n",
			tr->execs_not_followed, tr->execs_not_followed == 1 ? "" : "s");
	if (t->lost_stacks)
		fprintf(f, "   warning: %" PRIu64 " events have only their caller's address "
			"(stack record lost)\n", t->lost_stacks);
	if (t->truncated_stacks)
		fprintf(f, "   truncated     %" PRIu32 " stacks end before their outermost frame "
			"(JSON: truncated_reason)\n", t->truncated_stacks);
	for (size_t i = 0; i < r->tracing.nunnamed; i++) {
		const struct report_unnamed *u = &r->tracing.unnamed[i];

		fputs("   no names      ", f);
		put_untrusted(f, u->module);
		fprintf(f, ": %s (build id %s, %" PRIu64 " address%s shown as module+offset)\n",
			u->reason, u->build_id ? u->build_id : "none", u->addresses,
			u->addresses == 1 ? "" : "es");
	}
}

/* The findings in range g of r->findings (a process's). */
static void findings_in(const struct report *r, FILE *f, const struct report_range *g)
{
	const struct report_finding *v = r->findings + g->first;
	size_t n = g->n;

	if (!n)
		return;
	fprintf(f, "\n   %zu finding%s:\n", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "\n   [%s] ", v[i].kind);
		put_untrusted(f, v[i].message);
		fputc('\n', f);
		if (v[i].stack == REPORT_NO_STACK && v[i].overflow_changed)
			fprintf(f, "      (found while the block was live, at the end)\n");
		else if (v[i].stack == REPORT_NO_STACK && !r->tracing.alloc_stacks_taken &&
			 !r->tracing.free_stacks_taken)
			fprintf(f, "         (no call site: releases have none with --no-stacks)\n");
		else
			print_stack(r, f, v[i].stack, TEXT_FINDING_FRAMES, "      ");
		if (v[i].free_stack != REPORT_NO_STACK) {
			fprintf(f, "      released before at:\n");
			print_stack(r, f, v[i].free_stack, TEXT_FINDING_FRAMES, "      ");
		}
		if (v[i].alloc_stack != REPORT_NO_STACK) {
			fprintf(f, "      allocated at:\n");
			print_stack(r, f, v[i].alloc_stack, TEXT_FINDING_FRAMES, "      ");
		}
	}
}

/* --check-overflow: how many blocks could be checked, and what the way used misses. */
static void overflow(const struct report *r, FILE *f)
{
	const struct report_overflow *o = &r->overflow;
	uint64_t unchecked = o->no_slack + o->unreadable + o->not_compared + o->not_seen +
			     o->header_changed;

	if (!o->way)
		return;
	fprintf(f, "\n   overflow check (%s): %" PRIu64 " of %" PRIu64 " blocks checked, %" PRIu64
		" changed; %" PRIu64 " not checked (%" PRIu64 " without slack, %" PRIu64
		" unreadable, %" PRIu64 " not read at the end, %" PRIu64 " not seen, %" PRIu64
		" header changed)\n", o->way, o->checked, o->blocks, o->overflowed, unchecked,
		o->no_slack, o->unreadable, o->not_compared, o->not_seen, o->header_changed);
	fprintf(f, "   it misses: %s\n", o->misses);
}

static void print_vars(const struct report *r, FILE *f, const struct report_site *s)
{
	for (uint32_t i = 0; i < s->nvars; i++) {
		const struct report_variable *v = &r->variables[r->live_vars[s->vars + i]];

		fputs(i ? ", " : "      variables: ", f);
		put_untrusted(f, v->name);
		if (v->type) {
			fputs(" (", f);
			put_untrusted(f, v->type);
			fputc(')', f);
		}
	}
	if (s->nvars)
		fputc('\n', f);
}

/* The leak groups in range g of r->leaks (a process's), top of them. */
static void leaks_in(const struct report *r, FILE *f, unsigned top, const struct report_range *g,
		     bool lost_first, bool runtime_last)
{
	size_t i, n = g->n < top ? g->n : top;
	char a[32];

	if (!g->n)
		fprintf(f, "\n   no leaks\n");
	else
		fprintf(f, "\n   top %zu of %zu leak sites (%sbiggest first%s):\n", n, g->n,
			lost_first ? "lost first, then " : "", runtime_last ? ", the runtime's last" : "");
	for (i = 0; i < n; i++) {
		const struct report_site *s = &r->leaks[g->first + i];

		fprintf(f, "\n   #%zu  %s in %" PRIu64 " block%s, oldest allocated at +%.3f s\n",
			i + 1, report__fmt_bytes(s->bytes, a, sizeof(a)), s->count,
			s->count == 1 ? "" : "s", rel(r, s->oldest_ts_ns));
		if (s->reach)
			fprintf(f, "       %s\n", report_reach__text(s->reach));
		if (s->runtime)
			fprintf(f, "       kept by the runtime (%s), not the program's\n", s->runtime);
		print_vars(r, f, s);
		print_stack(r, f, s->stack, TEXT_MAX_FRAMES, "      ");
	}
}

static void leaks(const struct report *r, FILE *f, unsigned top)
{
	leaks_in(r, f, top, &r->target_leaks, r->totals.by_reach_done, r->totals.runtime_count);
}

/*
 * -f: a section for each other process with leaks or findings (under its
 * rule: live at its exit, or at the end and old enough while it runs), its
 * findings and top leaks; at most top of them (the JSON and the page have
 * every one), in order of appearance.
 */
static void process_sections(const struct report *r, FILE *f, unsigned top)
{
	size_t shown = 0, more = 0;
	char a[32];

	for (size_t i = 0; i < r->nprocesses; i++) {
		const struct report_process *p = &r->processes[i];
		bool runtime_last = false;

		if (!p->leaks.n && !p->findings.n)
			continue;
		if (shown++ >= top) {
			more++;
			continue;
		}
		for (size_t k = 0; k < p->leaks.n; k++)
			runtime_last |= r->leaks[p->leaks.first + k].runtime != NULL;
		fprintf(f, "\n   == process %d '", p->pid);
		put_untrusted(f, p->comm ? p->comm : "?");
		fprintf(f, "'");
		if (p->ppid)
			fprintf(f, " (parent %d)", p->ppid);
		fprintf(f, ": leaked %" PRIu64 " block%s, %s (%s)", p->leaked_count,
			p->leaked_count == 1 ? "" : "s",
			report__fmt_bytes(p->leaked_bytes, a, sizeof(a)),
			p->exited ? "live at its exit" : "still running: live and old enough");
		if (p->inherited_frees)
			fprintf(f, "; %" PRIu64 " release%s of its parent's blocks", p->inherited_frees,
				p->inherited_frees == 1 ? "" : "s");
		fprintf(f, "\n");
		findings_in(r, f, &p->findings);
		leaks_in(r, f, top, &p->leaks, false, runtime_last);
	}
	if (more)
		fprintf(f, "\n   %zu more process%s with leaks or findings: see the JSON or HTML report\n",
			more, more == 1 ? "" : "es");
}

/* One line per site: its allocation-site frame only. */
static void site_line(const struct report *r, FILE *f, const struct report_site *s,
		      const char *what)
{
	const struct report_frame *fr = report__site_frame(r, s->stack);
	char buf[2 * REPORT_NAME_MAX] = "(no stack)";

	if (fr)
		snprintf(buf, sizeof(buf), "%s", fr->label);
	fprintf(f, "      %-28s ", what);
	put_untrusted(f, buf);
	fputc('\n', f);
}

/* The sites growing steadily (docs/findings.md "Growth"), steepest first. */
static void growing(const struct report *r, FILE *f, unsigned top)
{
	size_t n = r->ngrowing < top ? r->ngrowing : top;
	char what[96], a[32], b[32];

	if (!r->ngrowing)
		return;
	fprintf(f, "\n   growing: %zu site%s whose bytes in use rise steadily (slope of a least-squares"
		" line):\n", r->ngrowing, r->ngrowing == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		const struct report_growth *g = &r->growing[i];
		const struct report_frame *fr = report__site_frame(r, g->stack);
		char buf[2 * REPORT_NAME_MAX] = "(no stack)";

		snprintf(what, sizeof(what), "+%s/s for %.1f s, now %s",
			 report__fmt_bytes((uint64_t)(g->slope + 0.5), a, sizeof(a)),
			 secs(g->end_ns - g->first_ns), report__fmt_bytes(g->last_bytes, b, sizeof(b)));
		if (fr)
			snprintf(buf, sizeof(buf), "%s", fr->label);
		fprintf(f, "      %-40s ", what);
		put_untrusted(f, buf);
		fputc('\n', f);
	}
}

static void scopes(const struct report *r, FILE *f)
{
	const struct report_scope *s = r->scopes;
	size_t n = r->nscopes;
	char a[32];

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

static void hotspots(const struct report *r, FILE *f)
{
	const struct report_site *by_count = r->busiest;
	size_t nt = r->target_sites.n, n = nt < TEXT_TOP_HOTSPOTS ? nt : TEXT_TOP_HOTSPOTS;
	char what[64], a[32];

	if (!nt)
		return;
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
}

/* The program's anonymous mappings still there at the end, biggest first. */
static void anon_sites(const struct report *r, FILE *f)
{
	const struct report_anon *an = &r->anon;
	char what[64], a[32];
	size_t shown = 0;

	for (size_t i = 0; i < an->nsites && shown < TEXT_TOP_HOTSPOTS; i++) {
		const struct report_anon_site *s = &an->sites[i];
		struct report_site rs = { .stack = s->stack };

		if (!s->bytes)
			break;
		if (!shown++)
			fprintf(f, "\n   mapped by the program (mmap, live at the end):\n");
		snprintf(what, sizeof(what), "%s in %" PRIu64, report__fmt_bytes(s->bytes, a, sizeof(a)),
			 s->count);
		site_line(r, f, &rs, what);
	}
}

/* --all: one ranked line of process i. */
static void system_line(const struct report *r, FILE *f, uint32_t i)
{
	const struct report_process *p = &r->processes[i];
	uint64_t n = p->exited ? p->leaked_count : p->live_allocations;
	char a[32], b[32];

	fprintf(f, "   %10s in %6" PRIu64 " block%s  pid %d '",
		report__fmt_bytes(p->exited ? p->leaked_bytes : p->live_bytes, a, sizeof(a)), n,
		n == 1 ? " " : "s", p->pid);
	put_untrusted(f, p->comm ? p->comm : "?");
	fprintf(f, "'");
	if (p->ppid)
		fprintf(f, " (parent %d)", p->ppid);
	fprintf(f, ": %" PRIu64 " allocations (%s), %" PRIu64 " frees\n", p->allocations,
		report__fmt_bytes(p->bytes_allocated, b, sizeof(b)), p->frees);
}

static void system_ranking(const struct report *r, FILE *f, const char *title,
			   const uint32_t *v, size_t n, unsigned top)
{
	fprintf(f, "\n-- %s", title);
	if (n > top)
		fprintf(f, ", top %u of %zu", top, n);
	fputs("\n", f);
	if (!n)
		fputs("   none\n", f);
	for (size_t i = 0; i < n && i < top; i++)
		system_line(r, f, v[i]);
}

/* --all: the machine's processes summed up and ranked, instead of a target's report. */
static void system_report(const struct report *r, FILE *f, unsigned top)
{
	const struct report_system *sy = &r->system;
	const struct report_tracing *tr = &r->tracing;
	char a[32], b[32];

	fprintf(f, "\n== memscope-bpf " MEMSCOPE_VERSION ": all processes");
	if (sy->cgroup) {
		fputs(" in cgroup '", f);
		put_untrusted(f, sy->cgroup);
		fputs("'", f);
	}
	fprintf(f, ", traced for %.2f s\n", secs(tr->end_ns - tr->start_ns));
	fprintf(f, "   processes     %zu traced (a program a process execed counts apart), %zu of "
		"them exited while traced\n", r->nprocesses, sy->exited);
	fprintf(f, "   allocations   %" PRIu64 " (%s)\n", sy->allocations,
		report__fmt_bytes(sy->bytes_allocated, a, sizeof(a)));
	fprintf(f, "   frees         %" PRIu64 " (%s)\n", sy->frees,
		report__fmt_bytes(sy->bytes_freed, b, sizeof(b)));
	fprintf(f, "   leaked        %" PRIu64 " blocks, %s in %zu processes (live at their exit)\n",
		sy->leaked_count, report__fmt_bytes(sy->leaked_bytes, a, sizeof(a)), sy->nby_leaked);
	fprintf(f, "   in use        %" PRIu64 " blocks, %s in %zu processes still running\n",
		sy->in_use_count, report__fmt_bytes(sy->in_use_bytes, b, sizeof(b)), sy->nby_in_use);
	fprintf(f, "   lost events   %" PRIu64 "\n", r->totals.lost_events);
	for (size_t i = 0; i < tr->ndegraded; i++)
		fprintf(f, "   degraded      %s lost (%s): %s\n", tr->degraded[i].feature,
			tr->degraded[i].reason, tr->degraded[i].instead);
	if (tr->sample_bytes)
		fprintf(f, "   sampled       a block every %s allocated on average: counts and bytes "
			"are estimates\n", report__fmt_bytes(tr->sample_bytes, a, sizeof(a)));
	if (r->totals.lost_events)
		fprintf(f, "   warning: %" PRIu64 " events were lost (ring buffer full): the numbers "
			"are incomplete; %s\n", r->totals.lost_events,
			tr->sample_bytes ? "a larger --sample-bytes sends fewer events" :
			"a larger --ringbuf-size absorbs a burst, --sample-bytes (e.g. 64k) a "
			"sustained rate");
	if (sy->untraced_threads)
		fprintf(f, "   warning: %" PRIu64 " thread%s not traced: no per-thread state (more "
			"processes at once than BPF's set holds, or the kernel's storage failed)\n",
			sy->untraced_threads, sy->untraced_threads == 1 ? " was" : "s were");
	system_ranking(r, f, "processes by leaked bytes (blocks live at their exit)",
		       sy->by_leaked, sy->nby_leaked, top);
	system_ranking(r, f, "processes still running, by bytes in use", sy->by_in_use,
		       sy->nby_in_use, top);
}

int report__write_text(const struct report *r, FILE *f, unsigned top)
{
	if (r->system.on) {
		system_report(r, f, top);
		fputc('\n', f);
		return ferror(f) ? -EIO : 0;
	}
	header(r, f);
	findings_in(r, f, &r->target_findings);
	overflow(r, f);
	leaks(r, f, top);
	growing(r, f, top);
	hotspots(r, f);
	anon_sites(r, f);
	scopes(r, f);
	process_sections(r, f, top);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
