// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc_syms.h"
#include "report.h"
#include "sample.h"
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
	r->peak = xcalloc(n ? n : 1, sizeof(*r->peak));
	for (i = 0; i < n; i++) {
		struct report_site s = {
			.stack = (uint32_t)i,
			.count = hs[i].allocations,
			.bytes = hs[i].bytes,
			.live_count = hs[i].live_count,
			.live_bytes = hs[i].live_bytes,
			.temporary = hs[i].temporary,
		};

		heap__site_at_peak(r->in->heap, i, &s.peak_count, &s.peak_bytes);
		if (s.count)
			r->sites[r->nsites++] = s;
		if (s.peak_count) {
			struct report_site p = { .stack = s.stack, .count = s.peak_count,
						 .bytes = s.peak_bytes };

			r->peak[r->npeak++] = p;
		}
	}
}

static int by_tid_stack(const void *a, const void *b)
{
	const struct heap_thread_site *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* A sorted copy: the heap keeps them in order of first appearance. */
static void collect_thread_sites(struct report *r)
{
	size_t n;
	const struct heap_thread_site *ts = heap__thread_sites(r->in->heap, &n);

	if (!ts)
		return;
	r->thread_sites = xmalloc((n ? n : 1) * sizeof(*ts));
	if (n)
		memcpy(r->thread_sites, ts, n * sizeof(*ts));
	r->nthread_sites = n;
	qsort(r->thread_sites, n, sizeof(*ts), by_tid_stack);
}

/*
 * Leak groups from the live table, under the leak rule, in one pass: by
 * stack, and by stack and class when the reachability scan was done.
 */
static void collect_leaks(struct report *r)
{
	const struct live_table *live = heap__live(r->in->heap);
	uint64_t end = r->in->end_ns, min_age = r->leaks_at_exit ? 0 : r->in->min_age_ns;
	size_t ngroups = (size_t)(r->nstacks ? r->nstacks : 1) * REACH__COUNT;
	struct report_site *by_group = xcalloc(ngroups, sizeof(*by_group));
	const struct live_block *b;
	struct sample_weight w;
	size_t it = 0;

	r->by_reach_done = r->in->scan && r->in->scan->status == SCAN_DONE;
	while ((b = live_table__next(live, &it))) {
		uint64_t age = end > b->ts_ns ? end - b->ts_ns : 0;
		enum reach_class c = reach_result__class(r->in->scan, b->ptr);
		struct report_site *s;

		if (b->stack >= r->nstacks || age < min_age)
			continue;
		s = &by_group[(size_t)b->stack * REACH__COUNT + c];
		if (!s->count)
			s->oldest_ts_ns = b->ts_ns;
		/* under sampling, the blocks and bytes this one stands for */
		sample__weigh(r->in->sample_bytes, b->size, b->ptr, b->ts_ns, &w);
		s->stack = b->stack;
		s->reach = (uint8_t)c;
		s->count += w.count;
		s->bytes += w.bytes;
		if (b->ts_ns < s->oldest_ts_ns)
			s->oldest_ts_ns = b->ts_ns;
		r->leaked_count += w.count;
		r->leaked_bytes += w.bytes;
		r->by_reach[c].count += w.count;
		r->by_reach[c].bytes += w.bytes;
	}
	r->leaks = xcalloc(ngroups, sizeof(*r->leaks));
	for (size_t i = 0; i < ngroups; i++)
		if (by_group[i].count)
			r->leaks[r->nleaks++] = by_group[i];
	free(by_group);
}

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

static void mark_used(struct report *r, uint32_t stack)
{
	if (stack < r->nstacks)
		r->stack_used[stack] = true;
}

static void mark_stacks(struct report *r)
{
	const struct finding *f;
	size_t i, n = 0;

	for (i = 0; i < r->nsites; i++)
		mark_used(r, r->sites[i].stack);
	for (i = 0; i < r->nthread_sites; i++)
		mark_used(r, r->thread_sites[i].stack);
	f = r->in->detector ? detector__findings(r->in->detector, &n) : NULL;
	for (i = 0; i < n; i++) {
		mark_used(r, f[i].stack);
		mark_used(r, f[i].alloc_stack);
		mark_used(r, f[i].free_stack);
	}
}

static const struct variable *sort_vars;

static int by_var_stack(const void *a, const void *b)
{
	uint32_t x = sort_vars[*(const uint32_t *)a].alloc_stack;
	uint32_t y = sort_vars[*(const uint32_t *)b].alloc_stack;

	return x < y ? -1 : x > y;
}

static void index_live_vars(struct report *r)
{
	const struct variable *v;
	size_t n;

	if (!r->in->annots)
		return;
	v = annotations__variables(r->in->annots, &n);
	r->live_vars = xcalloc(n ? n : 1, sizeof(*r->live_vars));
	for (size_t i = 0; i < n; i++)
		if (!v[i].freed)
			r->live_vars[r->nlive_vars++] = (uint32_t)i;
	sort_vars = v;
	qsort(r->live_vars, r->nlive_vars, sizeof(*r->live_vars), by_var_stack);
	sort_vars = NULL;
}

void report__each_live_var(const struct report *r, uint32_t stack, report_var_fn fn, void *ctx)
{
	const struct variable *v;
	size_t n, lo = 0, hi = r->nlive_vars;

	if (!r->in->annots)
		return;
	v = annotations__variables(r->in->annots, &n);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v[r->live_vars[mid]].alloc_stack < stack)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < r->nlive_vars && v[r->live_vars[lo]].alloc_stack == stack; lo++)
		fn(ctx, &v[r->live_vars[lo]]);
}

static void mark_var_stacks(struct report *r)
{
	const struct variable *v;
	size_t n;

	if (!r->in->annots)
		return;
	v = annotations__variables(r->in->annots, &n);
	for (size_t i = 0; i < n; i++) {
		mark_used(r, v[i].alloc_stack);
		mark_used(r, v[i].annot_stack);
	}
}

const char *report__runtime_owner(const char *function)
{
	static const struct { const char *function, *owner; } kept[] = {
		{ "_IO_file_doallocate", "stdio buffer" },
		{ "_dl_allocate_tls", "thread-local storage" },
		{ "_dl_allocate_tls_storage", "thread-local storage" },
		{ "allocate_dtv", "thread-local storage" },
		{ "_dl_resize_dtv", "thread-local storage" },
		{ "_dl_update_slotinfo", "thread-local storage" },
		{ "tls_get_addr_tail", "thread-local storage" },
		{ "_nl_find_locale", "locale data" },
		{ "_nl_load_locale", "locale data" },
		{ "_nl_load_locale_from_archive", "locale data" },
		{ "_nl_intern_locale_data", "locale data" },
		{ "_nl_make_l10nflist", "locale data" },
		{ "new_composite_name", "locale data" },
		{ "__tzfile_read", "time zone data" },
		{ "tzset_internal", "time zone data" },
		{ "__tzstring", "time zone data" },
		/* a '*' ends a prefix: the name service's modules, databases, actions */
		{ "__nss_*", "name service (NSS) caches" },
		{ "nss_*", "name service (NSS) caches" },
		/* their static result buffers (nss/getXXbyYY.c), exported names */
		{ "getpwuid", "name service (NSS) caches" },
		{ "getpwnam", "name service (NSS) caches" },
		{ "getgrgid", "name service (NSS) caches" },
		{ "getgrnam", "name service (NSS) caches" },
		{ "getspnam", "name service (NSS) caches" },
		{ "gethostbyname", "name service (NSS) caches" },
		{ "gethostbyname2", "name service (NSS) caches" },
		{ "gethostbyaddr", "name service (NSS) caches" },
		{ "getservbyname", "name service (NSS) caches" },
		{ "getservbyport", "name service (NSS) caches" },
		{ "getprotobyname", "name service (NSS) caches" },
		{ "getprotobynumber", "name service (NSS) caches" },
		{ "getnetbyname", "name service (NSS) caches" },
		{ "getnetbyaddr", "name service (NSS) caches" },
	};

	if (!function)
		return NULL;
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		const char *k = kept[i].function;
		size_t n = strlen(k);

		if (k[n - 1] == '*' ? !strncmp(function, k, n - 1) : !strcmp(function, k))
			return kept[i].owner;
	}
	return NULL;
}

static const char *base_name(const char *module)
{
	const char *base = module ? strrchr(module, '/') : NULL;

	return base ? base + 1 : module;
}

/* libc or the dynamic loader, by the object's file name */
static bool is_c_runtime(const char *module)
{
	const char *base = base_name(module);

	return base && (!strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5) ||
			!strncmp(base, "ld-", 3));
}

static bool is_cxx_runtime(const char *module)
{
	const char *base = base_name(module);

	return base && !strncmp(base, "libstdc++.so", 12);
}

struct owner_ctx {
	struct report *r;
	const char *owner;
	bool outside; /* a frame outside the C and C++ runtimes was seen */
	bool cxx;     /* a frame in libstdc++ */
	bool dl_init; /* a library's constructor, run by the dynamic loader */
};

static bool is_allocator_module(struct report *r, const char *module);

/*
 * A statically linked C library is in the program's own file, the object
 * that defines malloc: its functions are known there by their names alone,
 * names reserved to the implementation (_IO_*, _dl_*, __nss_*, ...).  Its
 * static startup (_dl_non_dynamic_init, __libc_setup_tls) builds the link
 * map and search paths with malloc, kept for the life of the process.
 */
static const char *static_runtime_owner(struct report *r, const struct sym_frame *f)
{
	const char *owner;

	if (!f->function || !is_allocator_module(r, f->module))
		return NULL;
	owner = report__runtime_owner(f->function);
	if (!owner && !strncmp(f->function, "_dl_", 4))
		owner = "static startup data";
	return owner;
}

static void find_owner(void *ctx, const struct sym_frame *f, bool is_site)
{
	struct owner_ctx *c = ctx;

	if (c->outside || c->owner)
		return;
	if (is_cxx_runtime(f->module)) {
		c->cxx = true;
		return;
	}
	if (!is_c_runtime(f->module)) {
		c->owner = static_runtime_owner(c->r, f);
		c->outside = !c->owner;
		return;
	}
	if (f->function && !strcmp(f->function, "_dl_init"))
		c->dl_init = true;
	c->owner = report__runtime_owner(f->function);
}

/*
 * What the runtime keeps a leak group's blocks for, NULL when the program
 * allocated them.  Only the innermost frames count, those before the first
 * frame outside the runtime.  libstdc++'s own constructor, run by the
 * dynamic loader before main with no frame of the program's, allocates the
 * exception emergency pool (71 KiB with GCC 12): kept for good.
 */
static const char *runtime_owner_of(struct report *r, uint32_t stack)
{
	struct owner_ctx c = { .r = r };

	report__each_frame(r, stack, find_owner, &c);
	if (!c.owner && !c.outside && c.cxx && c.dl_init)
		return "C++ runtime (exception emergency pool)";
	return c.owner;
}

/*
 * Marks the leak groups the C library keeps and puts them after the
 * program's (each part stays bytes descending).  Only the innermost frames
 * count, those before the first frame outside libc and the loader: a
 * library constructor that leaks under dlopen() is the program's.
 */
static void mark_runtime_leaks(struct report *r)
{
	struct report_site *v = xcalloc(r->nleaks ? r->nleaks : 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < r->nleaks; i++) {
		const char *owner = runtime_owner_of(r, r->leaks[i].stack);

		r->leaks[i].runtime = owner;
		if (owner) {
			r->runtime_count += r->leaks[i].count;
			r->runtime_bytes += r->leaks[i].bytes;
		} else {
			v[n++] = r->leaks[i];
		}
	}
	for (size_t i = 0; i < r->nleaks; i++)
		if (r->leaks[i].runtime)
			v[n++] = r->leaks[i];
	free(r->leaks);
	r->leaks = v;
}

/*
 * A launched target is traced from its first instruction: a release of an
 * address it never allocated is a block of a process sharing its address
 * space, when it started one.  A -p target's may be older than the attach.
 */
static void split_unknown_frees(struct report *r)
{
	uint64_t unknown = heap__totals(r->in->heap)->unknown_frees;

	if (r->in->launched && r->in->vm_children_known &&
	    r->in->bpf_stats[MS_STAT_VM_CHILDREN])
		r->vm_frees = unknown;
	else
		r->unknown_frees = unknown;
}

struct report *report__build(const struct report_input *in)
{
	struct report *r = xcalloc(1, sizeof(*r));

	r->in = in;
	r->nstacks = stack_table__count(in->stacks);
	r->stack_used = xcalloc(r->nstacks ? r->nstacks : 1, sizeof(bool));
	r->leaks_at_exit = in->exited;
	collect_sites(r);
	collect_thread_sites(r);
	collect_leaks(r);
	qsort(r->leaks, r->nleaks, sizeof(*r->leaks), by_reach_then_bytes);
	mark_runtime_leaks(r);
	split_unknown_frees(r);
	qsort(r->sites, r->nsites, sizeof(*r->sites), by_bytes_desc);
	qsort(r->peak, r->npeak, sizeof(*r->peak), by_bytes_desc);
	mark_stacks(r);
	mark_var_stacks(r);
	index_live_vars(r);
	return r;
}

struct report *report__new_frames(const struct report_input *in)
{
	struct report *r = xcalloc(1, sizeof(*r));

	r->in = in;
	return r;
}

void report__free(struct report *r)
{
	if (!r)
		return;
	free(r->leaks);
	free(r->sites);
	free(r->peak);
	free(r->thread_sites);
	free(r->stack_used);
	free(r->modules);
	free(r->live_vars);
	free(r->mappings);
	free(r);
}

const char *report__leak_rule(const struct report *r, char *buf, size_t len)
{
	if (r->leaks_at_exit)
		snprintf(buf, len, "live at exit");
	else
		snprintf(buf, len, "live at detach and older than %.3g s",
			 (double)r->in->min_age_ns / 1e9);
	return buf;
}

void report__finding_message(const struct report *r, const struct finding *f, char *buf,
			     size_t len)
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
	default:
		snprintf(buf, len, "finding at 0x%" PRIx64, f->ptr);
	}
	if (f->occurrences > 1) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, " (%" PRIu64 " times)", f->occurrences);
	}
}

/* Whether module (a path the target maps) is one of the allocator objects. */
static bool classify_module(struct report *r, const char *module)
{
	const struct alloc_objects *objs = r->in->objs;
	struct stat st;
	bool have_st;

	if (!module || !objs)
		return false;
	have_st = stat(module, &st) == 0;
	for (size_t i = 0; i < objs->n; i++) {
		const char *a = strrchr(objs->v[i].path, '/'), *b = strrchr(module, '/');

		/* objects kept only for their annotations hold no allocator */
		if (!objs->v[i].nsyms)
			continue;
		if (have_st && st.st_dev == objs->v[i].dev && st.st_ino == objs->v[i].ino)
			return true;
		/* another mount namespace: same name is the best we can do */
		if (!have_st && a && b && strcmp(a, b) == 0)
			return true;
	}
	return false;
}

static bool is_allocator_module(struct report *r, const char *module)
{
	size_t i;

	/* the symbolizer interns module paths: the pointer identifies one */
	for (i = 0; i < r->nmodules; i++)
		if (r->modules[i].path == module)
			return r->modules[i].allocator;
	r->modules = xrealloc(r->modules, (r->nmodules + 1) * sizeof(*r->modules));
	r->modules[r->nmodules].path = module;
	r->modules[r->nmodules].allocator = classify_module(r, module);
	return r->modules[r->nmodules++].allocator;
}

/*
 * The index (inlined frames expanded) of the allocation-site frame of s: the
 * first frame outside the allocator objects, else the innermost frame, the
 * allocator's own code that made the call (a stack that ends inside libc,
 * or a block libc allocates for itself).  -1 when s has no frame.  One rule
 * for every view, one-line or whole stack (docs/findings.md "Site").
 */
static long site_index(struct report *r, const struct stack *s)
{
	long index = 0;

	for (uint32_t i = 0; i < s->nframes; i++) {
		const struct sym_frame *frames;
		size_t n;

		symbolizer__symbolize(r->in->sym, s->ips[i], &frames, &n);
		for (size_t j = 0; j < n; j++, index++)
			if (!is_allocator_module(r, frames[j].module))
				return index;
	}
	return index ? 0 : -1;
}

void report__each_frame(struct report *r, uint32_t stack, report_frame_fn fn, void *ctx)
{
	const struct stack *s = stack_table__get(r->in->stacks, stack);
	long site, index = 0;

	if (!s)
		return;
	site = site_index(r, s);
	for (uint32_t i = 0; i < s->nframes; i++) {
		const struct sym_frame *frames;
		size_t n;

		symbolizer__symbolize(r->in->sym, s->ips[i], &frames, &n);
		for (size_t j = 0; j < n; j++, index++)
			fn(ctx, &frames[j], index == site);
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

static void add_mapping(void *ctx, const struct sym_frame *f, bool is_site)
{
	struct report *r = ctx;
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

const struct report_mapping *report__mappings(struct report *r, size_t *n)
{
	if (!r->mappings_built) {
		r->mappings_built = true;
		for (size_t i = 0; i < r->nsites; i++)
			report__each_frame(r, r->sites[i].stack, add_mapping, r);
	}
	*n = r->nmappings;
	return r->mappings;
}

long report__mapping_of(struct report *r, const struct sym_frame *f)
{
	size_t n, i;
	bool found;

	report__mappings(r, &n);
	if (!f->module)
		return -1;
	i = mapping_find(r, f->map_start, f->module, &found);
	return found ? (long)i : -1;
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
