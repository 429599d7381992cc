// SPDX-License-Identifier: MIT
/*
 * The model's stacks as the report sees them (report_input.h): frames
 * through the symbolizer, the allocation site among them, and what the
 * C/C++ runtime keeps.  For report__build() and the live view.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report_input.h"
#include "util.h"

struct report_frames {
	const struct report_input *in;
	/* modules (interned by the symbolizer) already classified */
	struct report_module { const char *path; bool allocator; } *modules;
	size_t nmodules;
};

struct report_frames *report_frames__new(const struct report_input *in)
{
	struct report_frames *rf = xcalloc(1, sizeof(*rf));

	rf->in = in;
	return rf;
}

void report_frames__free(struct report_frames *rf)
{
	if (!rf)
		return;
	free(rf->modules);
	free(rf);
}

/* Whether module (a path the target maps) is one of the allocator objects. */
static bool classify_module(struct report_frames *rf, const char *module)
{
	const struct alloc_objects *objs = rf->in->objs;
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

static bool is_allocator_module(struct report_frames *rf, const char *module)
{
	size_t i;

	/* the symbolizer interns module paths: the pointer identifies one */
	for (i = 0; i < rf->nmodules; i++)
		if (rf->modules[i].path == module)
			return rf->modules[i].allocator;
	rf->modules = xrealloc(rf->modules, (rf->nmodules + 1) * sizeof(*rf->modules));
	rf->modules[rf->nmodules].path = module;
	rf->modules[rf->nmodules].allocator = classify_module(rf, module);
	return rf->modules[rf->nmodules++].allocator;
}

/*
 * The index (inlined frames expanded) of the allocation-site frame of s: the
 * first frame outside the allocator objects, else the innermost frame, the
 * allocator's own code that made the call (a stack that ends inside libc,
 * or a block libc allocates for itself).  -1 when s has no frame.  One rule
 * for every view, one-line or whole stack (docs/findings.md "Site").
 */
long report_frames__site_index(struct report_frames *rf, const struct stack *s)
{
	long index = 0;

	for (uint32_t i = 0; i < s->nframes; i++) {
		const struct sym_frame *frames;
		size_t n;

		symbolizer__symbolize(rf->in->sym, s->ips[i], &frames, &n);
		for (size_t j = 0; j < n; j++, index++)
			if (!is_allocator_module(rf, frames[j].module))
				return index;
	}
	return index ? 0 : -1;
}

void report_frames__each(struct report_frames *rf, uint32_t stack, report_frame_fn fn, void *ctx)
{
	const struct stack *s = stack_table__get(rf->in->stacks, stack);
	long site, index = 0;

	if (!s)
		return;
	site = report_frames__site_index(rf, s);
	for (uint32_t i = 0; i < s->nframes; i++) {
		const struct sym_frame *frames;
		size_t n;

		symbolizer__symbolize(rf->in->sym, s->ips[i], &frames, &n);
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

const struct sym_frame *report_frames__site(struct report_frames *rf, uint32_t stack)
{
	struct site_ctx c = { 0 };

	report_frames__each(rf, stack, find_site, &c);
	return c.site;
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
	struct report_frames *rf;
	const char *owner;
	bool outside; /* a frame outside the C and C++ runtimes was seen */
	bool cxx;     /* a frame in libstdc++ */
	bool dl_init; /* a library's constructor, run by the dynamic loader */
};

/*
 * A statically linked C library is in the program's own file, the object
 * that defines malloc: its functions are known there by their names alone,
 * names reserved to the implementation (_IO_*, _dl_*, __nss_*, ...).  Its
 * static startup (_dl_non_dynamic_init, __libc_setup_tls) builds the link
 * map and search paths with malloc, kept for the life of the process.
 */
static const char *static_runtime_owner(struct report_frames *rf, const struct sym_frame *f)
{
	const char *owner;

	if (!f->function || !is_allocator_module(rf, f->module))
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
		c->owner = static_runtime_owner(c->rf, f);
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
const char *report_frames__runtime_owner(struct report_frames *rf, uint32_t stack)
{
	struct owner_ctx c = { .rf = rf };

	report_frames__each(rf, stack, find_owner, &c);
	if (!c.owner && !c.outside && c.cxx && c.dl_init)
		return "C++ runtime (exception emergency pool)";
	return c.owner;
}
