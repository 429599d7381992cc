// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"
#include "util.h"

static int by_bytes_desc(const void *a, const void *b)
{
	const struct report_site *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static void collect_sites(struct report *r)
{
	const struct heap_site *hs;
	size_t n, i;

	hs = heap__sites(r->in->heap, &n);
	r->sites = xcalloc(n ? n : 1, sizeof(*r->sites));
	r->leaks = xcalloc(n ? n : 1, sizeof(*r->leaks));
	for (i = 0; i < n; i++) {
		struct report_site s = {
			.stack = (uint32_t)i,
			.count = hs[i].allocations,
			.bytes = hs[i].bytes,
			.live_count = hs[i].live_count,
			.live_bytes = hs[i].live_bytes,
			.oldest_ts_ns = UINT64_MAX,
		};

		if (s.count)
			r->sites[r->nsites++] = s;
		if (s.live_count) {
			s.count = s.live_count;
			s.bytes = s.live_bytes;
			r->leaks[r->nleaks++] = s;
		}
	}
}

static int by_stack(const void *a, const void *b)
{
	const struct report_site *x = a, *y = b;

	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* The oldest live block of each leak site, in one pass over the live table. */
static void leak_ages(struct report *r)
{
	const struct live_table *live = heap__live(r->in->heap);
	const struct live_block *b;
	size_t it = 0;

	qsort(r->leaks, r->nleaks, sizeof(*r->leaks), by_stack);
	while ((b = live_table__next(live, &it))) {
		struct report_site key = { .stack = b->stack }, *s;

		s = bsearch(&key, r->leaks, r->nleaks, sizeof(*r->leaks), by_stack);
		if (s && b->ts_ns < s->oldest_ts_ns)
			s->oldest_ts_ns = b->ts_ns;
	}
}

struct report *report__build(const struct report_input *in)
{
	struct report *r = xcalloc(1, sizeof(*r));

	r->in = in;
	r->nstacks = stack_table__count(in->stacks);
	r->stack_used = xcalloc(r->nstacks ? r->nstacks : 1, sizeof(bool));
	collect_sites(r);
	leak_ages(r);
	qsort(r->leaks, r->nleaks, sizeof(*r->leaks), by_bytes_desc);
	qsort(r->sites, r->nsites, sizeof(*r->sites), by_bytes_desc);
	for (size_t i = 0; i < r->nsites; i++)
		if (r->sites[i].stack < r->nstacks)
			r->stack_used[r->sites[i].stack] = true;
	return r;
}

void report__free(struct report *r)
{
	if (!r)
		return;
	free(r->leaks);
	free(r->sites);
	free(r->stack_used);
	free(r);
}

/* Whether module (a path the target maps) is one of the allocator objects. */
static bool is_allocator_module(struct report *r, const char *module)
{
	const struct alloc_objects *objs = r->in->objs;
	struct stat st;
	bool have_st;

	if (!module || !objs)
		return false;
	have_st = stat(module, &st) == 0;
	for (size_t i = 0; i < objs->n; i++) {
		const char *a = strrchr(objs->v[i].path, '/'), *b = strrchr(module, '/');

		if (have_st && st.st_dev == objs->v[i].dev && st.st_ino == objs->v[i].ino)
			return true;
		/* another mount namespace: same name is the best we can do */
		if (!have_st && a && b && strcmp(a, b) == 0)
			return true;
	}
	return false;
}

void report__each_frame(struct report *r, uint32_t stack, report_frame_fn fn, void *ctx)
{
	const struct stack *s = stack_table__get(r->in->stacks, stack);
	bool site_found = false;

	if (!s)
		return;
	for (uint32_t i = 0; i < s->nframes; i++) {
		const struct sym_frame *frames;
		size_t n;

		symbolizer__symbolize(r->in->sym, s->ips[i], &frames, &n);
		for (size_t j = 0; j < n; j++) {
			bool is_site = !site_found && !is_allocator_module(r, frames[j].module);

			site_found |= is_site;
			fn(ctx, &frames[j], is_site);
		}
	}
}

struct site_ctx {
	const struct sym_frame *site;
};

static void find_site(void *ctx, const struct sym_frame *f, bool is_site)
{
	struct site_ctx *c = ctx;

	if (is_site)
		c->site = f;
}

const struct sym_frame *report__site_frame(struct report *r, uint32_t stack)
{
	struct site_ctx c = { 0 };

	report__each_frame(r, stack, find_site, &c);
	return c.site;
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
