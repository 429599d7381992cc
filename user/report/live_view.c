// SPDX-License-Identifier: MIT
/* The live view: see live_view.h and docs/live-view.md. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "live_view.h"
#include "report_input.h"
#include "util.h"

/* sites listed per block when the output is not a terminal */
#define LIVE_PLAIN_ROWS 10
/* lines above the sites on a terminal: three of totals, a blank, the column names */
#define LIVE_HEAD_LINES 5
/* the columns before the site: growth, live bytes, live blocks */
#define LIVE_NUM_COLS 33
/* a function cut shorter than this loses its file:line instead */
#define LIVE_MIN_FUNCTION_COLS 12

struct live_view {
	struct live_view_opts o;
	bool tty;               /* a screen redrawn; else plain lines */
	struct report_input in; /* what the site frames are read from */
	struct report_frames *frames;
	uint64_t next_ns;       /* when the next view is due */
	bool drawn;             /* the screen was cleared once */
	bool nowrap;            /* line wrap is off: the last view has not been drawn */
	unsigned width, height; /* the terminal's, 0 when not one */
	/* the view before: its time, totals, and each site's live bytes */
	uint64_t prev_ns;
	struct heap_totals prev_totals;
	uint64_t *prev;
	size_t nprev;
	/* the view shown last, drawn again when the window is resized */
	struct live_row *rows;
	size_t nrows, cap;
	struct heap_totals totals;
	int64_t growth;         /* of all live bytes, since the view before */
	double alloc_rate, free_rate;
	uint64_t now_ns, lost;
	bool last;
};

static volatile sig_atomic_t resized;
static struct sigaction old_winch;

static void on_winch(int sig)
{
	resized = 1;
}

static void read_winsize(struct live_view *v)
{
	struct winsize ws;

	v->width = 80;
	v->height = 24;
	if (ioctl(v->o.fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
		v->width = ws.ws_col;
		v->height = ws.ws_row;
	}
}

struct live_view *live_view__new(const struct live_view_opts *opts)
{
	struct live_view *v = xcalloc(1, sizeof(*v));
	const char *term = getenv("TERM");

	v->o = *opts;
	v->in = (struct report_input){ .stacks = opts->stacks, .sym = opts->sym,
				       .objs = opts->objs };
	v->frames = report_frames__new(&v->in);
	v->next_ns = opts->start_ns + opts->period_ns;
	v->prev_ns = opts->start_ns;
	v->tty = isatty(opts->fd) && !(term && !strcmp(term, "dumb"));
	if (v->tty) {
		struct sigaction sa = { .sa_handler = on_winch };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGWINCH, &sa, &old_winch);
		read_winsize(v);
	}
	return v;
}

void live_view__exec(struct live_view *v, const struct heap *heap, struct symbolizer *sym,
		     const char *comm)
{
	if (!v)
		return;
	v->o.heap = heap;
	v->o.sym = sym;
	v->o.comm = comm;
	v->in.sym = sym;
	report_frames__free(v->frames);
	v->frames = report_frames__new(&v->in);
	/* the new image's growth starts from nothing */
	memset(&v->prev_totals, 0, sizeof(v->prev_totals));
	v->nprev = 0;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		/* a closed or full stderr loses the view, never the trace */
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void live_view__free(struct live_view *v)
{
	if (!v)
		return;
	if (v->tty) {
		sigaction(SIGWINCH, &old_winch, NULL);
		if (v->nowrap)
			write_all(v->o.fd, "\033[?7h", 5); /* line wrap back on */
	}
	report_frames__free(v->frames);
	free(v->prev);
	free(v->rows);
	free(v);
}

bool live_view__due(const struct live_view *v, uint64_t now_ns)
{
	return now_ns >= v->next_ns || (v->tty && resized);
}

/* ---- ranking ---- */

static int by_growth(const void *a, const void *b)
{
	const struct live_row *x = a, *y = b;

	if (x->growth != y->growth)
		return x->growth < y->growth ? 1 : -1;
	if (x->live_bytes != y->live_bytes)
		return x->live_bytes < y->live_bytes ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

size_t live_view__rank(const struct heap_site *sites, size_t n, const uint64_t *prev,
		       size_t nprev, struct live_row *rows)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t before = i < nprev ? prev[i] : 0;

		if (!sites[i].live_bytes && !before)
			continue;
		rows[k++] = (struct live_row){
			.stack = (uint32_t)i,
			.growth = (int64_t)(sites[i].live_bytes - before),
			.live_bytes = sites[i].live_bytes,
			.live_count = sites[i].live_count,
		};
	}
	qsort(rows, k, sizeof(*rows), by_growth);
	return k;
}

/* ---- text: sanitizing, columns, cutting ---- */

size_t live_view__sanitize(const char *str, char *out, size_t len)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t used = 0, cols = 0;

	if (!len)
		return 0;
	while (*s) {
		int n = ms_utf8_len(s);
		bool control = !n || *s < 0x20 || *s == 0x7f ||
			       (n == 2 && s[0] == 0xc2 && s[1] < 0xa0);
		size_t take = control ? 1 : (size_t)n;

		if (used + take >= len)
			break;
		if (control)
			out[used] = '?';
		else
			memcpy(out + used, s, take);
		used += take;
		s += n ? n : 1;
		cols++;
	}
	out[used] = 0;
	return cols;
}

/* Columns of sanitized s: its code points. */
static size_t cols_of(const char *s)
{
	size_t c = 0;

	for (; *s; s++)
		c += ((unsigned char)*s & 0xc0) != 0x80;
	return c;
}

/* Bytes of sanitized s that hold its first cols columns. */
static size_t bytes_of_cols(const char *s, size_t cols)
{
	size_t i = 0;

	while (s[i] && cols) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		cols--;
	}
	return i;
}

/*
 * Appends at most cols columns of sanitized s to buf (len bytes, *used of
 * them taken), as many whole code points as fit.
 */
static void put_cols(char *buf, size_t len, size_t *used, const char *s, size_t cols)
{
	size_t i = 0;

	while (s[i] && cols) {
		size_t next = bytes_of_cols(s + i, 1);

		if (*used + i + next >= len)
			break;
		i += next;
		cols--;
	}
	memcpy(buf + *used, s, i);
	*used += i;
	buf[*used] = 0;
}

static void put_str(char *buf, size_t len, size_t *used, const char *s)
{
	put_cols(buf, len, used, s, (size_t)-1);
}

/* s cut to cols columns, the cut marked '+' (top's mark) */
static void put_cut(char *buf, size_t len, size_t *used, const char *s, size_t cols)
{
	if (cols_of(s) <= cols) {
		put_str(buf, len, used, s);
	} else if (cols) {
		put_cols(buf, len, used, s, cols - 1);
		put_str(buf, len, used, "+");
	}
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The site, sanitized, in at most cols columns (any when cols is 0). */
static void put_site(char *buf, size_t len, size_t *used, const char *function,
		     const char *where, size_t cols)
{
	char fn[SYM_NAME_MAX], at[SYM_NAME_MAX];
	size_t cf = function ? live_view__sanitize(function, fn, sizeof(fn)) : 0;
	size_t cw = where ? live_view__sanitize(where, at, sizeof(at)) : 0;
	const char *short_at;

	if (!cf || !cw) {
		put_cut(buf, len, used, cf ? fn : cw ? at : "?", cols ? cols : (size_t)-1);
		return;
	}
	short_at = base_name(at);
	if (!cols || cf + cw + 3 <= cols) {
		short_at = at;
	} else if (cf + cols_of(short_at) + 3 > cols) {
		/* the function cut to make room, or its place left alone */
		size_t room = cols > cols_of(short_at) + 3 ? cols - cols_of(short_at) - 3 : 0;

		if (room < LIVE_MIN_FUNCTION_COLS) {
			put_cut(buf, len, used, fn, cols);
			return;
		}
		put_cut(buf, len, used, fn, room);
		cf = 0;
	}
	if (cf)
		put_str(buf, len, used, fn);
	put_str(buf, len, used, " (");
	put_str(buf, len, used, short_at);
	put_str(buf, len, used, ")");
}

static void fmt_growth(int64_t g, char *buf, size_t len)
{
	uint64_t mag = g < 0 ? (uint64_t)0 - (uint64_t)g : (uint64_t)g;
	char a[32];

	report__fmt_bytes(mag, a, sizeof(a));
	snprintf(buf, len, "%s%s", g < 0 ? "-" : g > 0 ? "+" : "", a);
}

void live_view__format_row(const struct live_row *r, const char *function, const char *where,
			   unsigned width, char *buf, size_t len)
{
	char g[40], l[32];
	size_t used;

	if (!len)
		return;
	if (!width) {
		used = (size_t)snprintf(buf, len, "  %+12" PRId64 " B  %12" PRIu64 " B  %8" PRIu64
					" block%s  ", r->growth, r->live_bytes, r->live_count,
					r->live_count == 1 ? "" : "s");
		if (used < len)
			put_site(buf, len, &used, function, where, 0);
		return;
	}
	fmt_growth(r->growth, g, sizeof(g));
	report__fmt_bytes(r->live_bytes, l, sizeof(l));
	snprintf(buf, len, "%11s %10s %8" PRIu64 "  ", g, l, r->live_count);
	if (width <= LIVE_NUM_COLS) {
		buf[width < len ? width : len - 1] = 0;
		return;
	}
	used = strlen(buf);
	put_site(buf, len, &used, function, where, width - LIVE_NUM_COLS);
}

/* ---- one view ---- */

/* The site frame of stack as function and where (file:line, module+offset, address). */
static void site_parts(struct live_view *v, uint32_t stack, const char **function,
		       char *where, size_t len)
{
	const struct sym_frame *f = report_frames__site(v->frames, stack);

	*function = NULL;
	if (!f) {
		*function = "(no stack)";
		where[0] = 0;
		return;
	}
	*function = f->function;
	if (f->file && f->line > 0)
		snprintf(where, len, "%s:%d", f->file, f->line);
	else if (f->file)
		snprintf(where, len, "%s", f->file);
	else if (f->module)
		snprintf(where, len, "%s+0x%" PRIx64, base_name(f->module), f->module_offset);
	else
		snprintf(where, len, "0x%" PRIx64, f->ip);
}

static double per_second(uint64_t now, uint64_t before, uint64_t dt_ns)
{
	return dt_ns ? (double)(now - before) * 1e9 / (double)dt_ns : 0.0;
}

/* Ranks the sites against the view before, which it then becomes. */
static void compute(struct live_view *v, uint64_t now_ns, uint64_t lost, bool last)
{
	uint64_t t0 = ms_now_ns(), dt = now_ns > v->prev_ns ? now_ns - v->prev_ns : 0;
	const struct heap_site *sites;
	size_t n;

	v->totals = *heap__totals(v->o.heap);
	sites = heap__sites(v->o.heap, &n);
	if (n > v->cap) {
		v->cap = n;
		v->rows = xrealloc(v->rows, n * sizeof(*v->rows));
	}
	v->nrows = live_view__rank(sites, n, v->prev, v->nprev, v->rows);
	v->growth = (int64_t)(v->totals.live_bytes - v->prev_totals.live_bytes);
	v->alloc_rate = per_second(v->totals.allocations, v->prev_totals.allocations, dt);
	v->free_rate = per_second(v->totals.frees, v->prev_totals.frees, dt);
	v->now_ns = now_ns;
	v->lost = lost;
	v->last = last;
	if (n > v->nprev)
		v->prev = xrealloc(v->prev, n * sizeof(*v->prev));
	for (size_t i = 0; i < n; i++)
		v->prev[i] = sites[i].live_bytes;
	v->nprev = n;
	v->prev_totals = v->totals;
	v->prev_ns = now_ns;
	ms_info(2, "live view: %zu sites ranked in %.0f us", n, (double)(ms_now_ns() - t0) / 1e3);
}

static double elapsed(const struct live_view *v)
{
	return v->now_ns > v->o.start_ns ? (double)(v->now_ns - v->o.start_ns) / 1e9 : 0.0;
}

static void plain_block(struct live_view *v, FILE *f)
{
	char line[4 * SYM_NAME_MAX], where[SYM_NAME_MAX];
	const char *function;

	fprintf(f, "live +%.2f s%s: in use %" PRIu64 " B in %" PRIu64 " blocks (%+" PRId64
		" B), %.1f allocations/s, %.1f frees/s, %" PRIu64 " lost events\n",
		elapsed(v), v->last ? " (end)" : "", v->totals.live_bytes,
		v->totals.live_allocations, v->growth, v->alloc_rate, v->free_rate, v->lost);
	for (size_t i = 0; i < v->nrows && i < LIVE_PLAIN_ROWS; i++) {
		site_parts(v, v->rows[i].stack, &function, where, sizeof(where));
		live_view__format_row(&v->rows[i], function, where, 0, line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	fputc('\n', f);
}

/*
 * One line of the screen, at most the window's width, over the line erased
 * first: erasing after it would take its last column too (without line
 * wrap the cursor stays on the last column once it is written).
 */
static void screen_line(struct live_view *v, FILE *f, const char *s)
{
	fputs("\033[K", f);
	fwrite(s, 1, bytes_of_cols(s, v->width), f);
	fputc('\n', f);
}

static void screen(struct live_view *v, FILE *f)
{
	char line[4 * SYM_NAME_MAX], comm[64], where[SYM_NAME_MAX], a[32], g[40];
	size_t nrows = v->height > LIVE_HEAD_LINES + 1 ? v->height - LIVE_HEAD_LINES - 1 : 1;
	const char *function;

	/* home, no line wrap (a line the width got wrong is cut, never wrapped) */
	fputs(v->drawn ? "\033[H\033[?7l" : "\033[H\033[2J\033[?7l", f);
	v->drawn = true;
	v->nowrap = !v->last;
	live_view__sanitize(v->o.comm ? v->o.comm : "?", comm, sizeof(comm));
	snprintf(line, sizeof(line), "memscope-bpf  pid %d '%s'  %.1f s  every %.3g s%s",
		 v->o.pid, comm, elapsed(v), (double)v->o.period_ns / 1e9,
		 v->last ? "  (tracing ended)" : "");
	screen_line(v, f, line);
	fmt_growth(v->growth, g, sizeof(g));
	snprintf(line, sizeof(line), "in use %s in %" PRIu64 " blocks, %s since the view before",
		 report__fmt_bytes(v->totals.live_bytes, a, sizeof(a)),
		 v->totals.live_allocations, g);
	screen_line(v, f, line);
	snprintf(line, sizeof(line), "allocations %.1f/s  frees %.1f/s  lost events %" PRIu64,
		 v->alloc_rate, v->free_rate, v->lost);
	screen_line(v, f, line);
	screen_line(v, f, "");
	snprintf(line, sizeof(line), "%11s %10s %8s  %-*s", "GROWTH", "LIVE", "BLOCKS",
		 v->width > LIVE_NUM_COLS ? (int)(v->width - LIVE_NUM_COLS) : 0, "SITE");
	fputs("\033[K\033[7m", f);
	fwrite(line, 1, bytes_of_cols(line, v->width), f);
	fputs("\033[m\n", f);
	for (size_t i = 0; i < v->nrows && i < nrows; i++) {
		site_parts(v, v->rows[i].stack, &function, where, sizeof(where));
		live_view__format_row(&v->rows[i], function, where, v->width, line, sizeof(line));
		screen_line(v, f, line);
	}
	fputs("\033[J", f);
	/* what follows the last view (the text summary) wraps its lines again */
	if (v->last)
		fputs("\033[?7h", f);
}

void live_view__show(struct live_view *v, uint64_t now_ns, uint64_t lost_events, bool last)
{
	bool fresh = last || now_ns >= v->next_ns;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (fresh) {
		compute(v, now_ns, lost_events, last);
		/* on the period's grid, unless the loop fell a whole period behind */
		v->next_ns += v->o.period_ns;
		if (v->next_ns <= now_ns)
			v->next_ns = now_ns + v->o.period_ns;
	}
	if (v->tty && resized) {
		resized = 0;
		read_winsize(v);
	}
	/* a resize before the first view has nothing to draw again */
	if (!fresh && (!v->tty || !v->drawn))
		return;
	/* composed whole, then one write: a screen is never seen half drawn */
	f = open_memstream(&text, &len);
	if (!f)
		return;
	if (v->tty)
		screen(v, f);
	else
		plain_block(v, f);
	if (fclose(f) == 0)
		write_all(v->o.fd, text, len);
	free(text);
}
