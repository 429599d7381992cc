/* SPDX-License-Identifier: MIT */
/*
 * The live view (--live[=SECS]): while tracing, every period, the sites
 * whose in-use bytes grew most since the view before, with totals, on
 * stderr (docs/live-view.md).  On a terminal it redraws one screen in the
 * style of top (plain ANSI, cut to the window's width, redrawn at once when
 * the window is resized); otherwise it writes one block of plain lines per
 * period and never an escape sequence.
 *
 * The view reads the heap's per-site counters once per period, in the
 * loader's loop (never from the probes' path), and only reads: the reports
 * come out the same with or without it.  Names from the target are shown
 * with every control character replaced by '?'.
 */
#ifndef MS_LIVE_VIEW_H
#define MS_LIVE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "discover.h"
#include "heap.h"
#include "stacks.h"
#include "symbolize.h"

struct live_view_opts {
	size_t sz;                        /* sizeof(struct live_view_opts) */
	int fd;                           /* where the view goes: stderr's */
	uint64_t period_ns;               /* --live's SECS */
	uint64_t start_ns;                /* when tracing started (elapsed time) */
	int pid;
	const char *comm;                 /* the target's name: untrusted */
	const struct heap *heap;
	const struct stack_table *stacks; /* with sym and objs: site frames */
	struct symbolizer *sym;           /* may be NULL */
	const struct alloc_objects *objs;
};

struct live_view;

/*
 * Every pointer in opts must outlive the view.  A screen when fd is a
 * terminal and TERM is not "dumb", else plain lines.  On a terminal it
 * catches SIGWINCH until live_view__free().  Never fails.
 */
struct live_view *live_view__new(const struct live_view_opts *opts);
/* Puts the terminal back as it found it (line wrap).  NULL is fine. */
void live_view__free(struct live_view *v);
/* The target execed: its new image's heap and symbolizer (the old ones may be freed). */
void live_view__exec(struct live_view *v, const struct heap *heap, struct symbolizer *sym,
		     const char *comm);
/* Whether a view is due at now_ns: a period has passed, or the window was resized. */
bool live_view__due(const struct live_view *v, uint64_t now_ns);
/*
 * Shows the heap as it is now: a new view when a period has passed or last
 * is set (tracing ended), else (a resize) the last view again at the new
 * width.  lost_events: BPF's count so far.
 */
void live_view__show(struct live_view *v, uint64_t now_ns, uint64_t lost_events, bool last);

/* ---- the pure parts, for the tests ---- */

struct live_row {
	uint32_t stack;
	int64_t growth;      /* live bytes gained since the view before (< 0: shrank) */
	uint64_t live_bytes; /* in use now: what the site grew since tracing began */
	uint64_t live_count;
};

/*
 * Fills rows (n entries) with the sites that grew, shrank or hold bytes,
 * growth descending, then live bytes descending, then stack; returns how
 * many.  prev: each site's live bytes at the view before (nprev of them;
 * the sites past them held none).
 */
size_t live_view__rank(const struct heap_site *sites, size_t n, const uint64_t *prev,
		       size_t nprev, struct live_row *rows);

/*
 * Copies untrusted s into out (len bytes, NUL-terminated, never cut inside
 * a UTF-8 sequence) with each control character (C0, DEL, C1), and each
 * byte that is not UTF-8, as '?'.  Returns the columns written (a code
 * point counts one).
 */
size_t live_view__sanitize(const char *s, char *out, size_t len);

/*
 * One site's line into buf (len bytes, NUL-terminated).  width 0: plain,
 * exact bytes, the site whole: "  +40960 B  122880 B  30 blocks  fn (file:line)".
 * width > 0: sizes in KiB/MiB, at most width columns, the site cut to fit
 * (the path's folders first, then the function's end, marked '+').
 * function and where (file:line, or module+offset) are untrusted, either
 * may be NULL.
 */
void live_view__format_row(const struct live_row *r, const char *function, const char *where,
			   unsigned width, char *buf, size_t len);

#endif
