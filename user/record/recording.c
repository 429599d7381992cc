// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "model.h"
#include "recording.h"
#include "runtime.h"
#include "symbolize.h"
#include "util.h"

/* Record types (docs/capture-format.md).  Never renumbered: a new field or
 * type is a minor version, a changed meaning a major one. */
enum rec_type {
	REC_META = 1,
	REC_STACK,
	REC_ALLOC,
	REC_FREE,
	REC_ANNOT,
	REC_THREAD,
	REC_RSS,
	REC_TICK,
	REC_FRAMES,
	REC_END,
	REC_MAP,
	REC_SCAN,       /* minor 2: the reachability scan's outcome */
	REC_SCAN_MARKS, /* minor 2: classified blocks, after SCAN */
	REC_MAPCALL,    /* minor 3: an mmap, munmap, mremap or brk */
	REC_EXEC,       /* minor 4: the target execed (model__exec()) */
	REC_PROC,       /* minor 4: -f: a process event (model__proc()) */
	REC_OVERFLOW,   /* minor 5: --check-overflow is on, before any call */
	REC_SLACK,      /* minor 5: a reading of a block's end */
	REC_FOOTPRINT,  /* minor 5: the allocator's candidate mappings */
};

/* candidate mappings a FOOTPRINT record holds at most */
#define FOOTPRINT_MAX 65536

/* classified blocks a SCAN_MARKS record holds at most (~2-12 bytes each) */
#define SCAN_MARKS_MAX 16384

/* The header's payload: who wrote the file. */
#define HEADER_TEXT "memscope-bpf " MEMSCOPE_VERSION

/* a report_input's double, kept exactly */
static uint64_t double_bits(double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	return u;
}

static double bits_double(uint64_t u)
{
	double v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

struct recording {
	struct capture_writer *w;
	struct cap_enc e;
	uint64_t last_ts; /* calls' times are written as differences */
	int err;
	/* the mappings written: hashes of (start, end, offset, path), open addressing */
	uint64_t *maps_seen;
	size_t nmaps_seen, cap_maps_seen;
	uint64_t maps_gen;  /* the symbolizer's when they were last looked at */
	bool maps_looked;
	size_t meta_objs;   /* allocator objects META named: END names those probed since */
};

static void put(struct recording *r, uint8_t type)
{
	int err;

	if (r->err)
		return;
	err = r->e.bad ? -ENOMEM : capture_writer__add(r->w, type, r->e.p, r->e.len);
	if (err)
		r->err = err;
	cap_enc__reset(&r->e);
}

/* A time as a difference from the last one (batched records may go back). */
static void put_ts(struct recording *r, uint64_t ts)
{
	cap_enc__sv(&r->e, (int64_t)(ts - r->last_ts));
	r->last_ts = ts;
}

static void put_meta(struct recording *r, const struct report_input *in, size_t freed_capacity)
{
	struct cap_enc *e = &r->e;

	cap_enc__uv(e, (uint64_t)in->pid);
	cap_enc__str(e, in->comm);
	cap_enc__str(e, in->cmdline);
	cap_enc__u8(e, in->launched);
	cap_enc__uv(e, in->start_ns);
	cap_enc__uv(e, in->start_wall_ns);
	cap_enc__uv(e, in->timeline ? timeline__interval_ns(in->timeline) : 0);
	cap_enc__uv(e, in->sample_bytes);
	cap_enc__uv(e, in->min_age_ns);
	cap_enc__uv(e, freed_capacity);
	cap_enc__u8(e, in->alloc_stacks);
	cap_enc__u8(e, in->free_stacks);
	cap_enc__uv(e, (uint64_t)in->unwind_mode);
	cap_enc__uv(e, in->batch);
	cap_enc__uv(e, in->nprobes);
	cap_enc__uv(e, in->ndegraded);
	for (size_t i = 0; i < in->ndegraded; i++) {
		cap_enc__str(e, in->degraded[i].feature);
		cap_enc__str(e, in->degraded[i].reason);
		cap_enc__str(e, in->degraded[i].instead);
	}
	cap_enc__uv(e, in->objs ? in->objs->n : 0);
	for (size_t i = 0; in->objs && i < in->objs->n; i++) {
		const struct alloc_object *o = &in->objs->v[i];

		cap_enc__str(e, o->path);
		cap_enc__uv(e, (uint64_t)o->dev);
		cap_enc__uv(e, (uint64_t)o->ino);
		cap_enc__uv(e, o->nsyms);
		cap_enc__uv(e, o->nannotations);
	}
	/* minor 3: the allocator in use (discover.h), its kind, the mixed families */
	cap_enc__uv(e, in->objs ? (uint64_t)(in->objs->used + 1) : 0);
	cap_enc__str(e, in->objs && in->objs->used >= 0 ? in->objs->v[in->objs->used].kind : NULL);
	cap_enc__uv(e, in->objs ? in->objs->mixed_fns : 0);
	cap_enc__uv(e, (uint64_t)in->mappings);
	/* minor 6: --all, and its --cgroup */
	cap_enc__u8(e, in->system_wide);
	cap_enc__str(e, in->cgroup);
	put(r, REC_META);
}

struct recording *recording__new(int fd, const struct report_input *in, size_t freed_capacity)
{
	struct capture_writer_opts wo = { .sz = sizeof(wo) };
	struct recording *r;

	r = xcalloc(1, sizeof(*r));
	r->w = capture_writer__new(fd, HEADER_TEXT, strlen(HEADER_TEXT), &wo);
	if (!r->w) {
		int err = errno;

		free(r);
		errno = err;
		return NULL;
	}
	r->last_ts = in->start_ns;
	r->meta_objs = in->objs ? in->objs->n : 0;
	put_meta(r, in, freed_capacity);
	if (!r->err)
		r->err = capture_writer__flush(r->w);
	if (r->err) {
		int err = -r->err;

		recording__free(r);
		errno = err;
		return NULL;
	}
	return r;
}

int recording__error(const struct recording *r)
{
	return r->err;
}

void recording__stack(struct recording *r, uint64_t hash, const uint64_t *ips, uint32_t n,
		      uint8_t truncated)
{
	uint64_t prev = 0;

	cap_enc__uv(&r->e, hash);
	cap_enc__u8(&r->e, truncated);
	cap_enc__uv(&r->e, n);
	/* neighbouring return addresses are close: differences are short */
	for (uint32_t i = 0; i < n; i++) {
		cap_enc__sv(&r->e, (int64_t)(ips[i] - prev));
		prev = ips[i];
	}
	put(r, REC_STACK);
}

void recording__alloc(struct recording *r, const struct alloc_call *c, uint64_t hash,
		      uint64_t caller, uint16_t flags)
{
	struct cap_enc *e = &r->e;

	cap_enc__u8(e, c->fn);
	cap_enc__u8(e, (uint8_t)(c->is_realloc | c->untracked << 1));
	cap_enc__uv(e, flags);
	cap_enc__uv(e, c->tid);
	put_ts(r, c->ts_ns);
	cap_enc__uv(e, c->ptr);
	cap_enc__uv(e, c->size);
	cap_enc__uv(e, c->old_ptr);
	cap_enc__uv(e, c->align);
	cap_enc__uv(e, hash);
	cap_enc__uv(e, caller);
	put(r, REC_ALLOC);
}

void recording__release(struct recording *r, const struct free_call *c, uint64_t hash,
			uint64_t caller, uint16_t flags)
{
	struct cap_enc *e = &r->e;

	cap_enc__u8(e, c->fn);
	cap_enc__uv(e, flags);
	cap_enc__uv(e, c->tid);
	put_ts(r, c->ts_ns);
	cap_enc__uv(e, c->ptr);
	cap_enc__uv(e, hash);
	cap_enc__uv(e, caller);
	put(r, REC_FREE);
}

void recording__map_call(struct recording *r, const struct map_call *c, uint64_t hash)
{
	struct cap_enc *e = &r->e;

	cap_enc__u8(e, c->op);
	cap_enc__u8(e, (uint8_t)(c->allocator | c->stack_lost << 1));
	cap_enc__uv(e, c->tid);
	put_ts(r, c->ts_ns);
	cap_enc__uv(e, c->addr);
	cap_enc__uv(e, c->len);
	cap_enc__uv(e, c->old_addr);
	cap_enc__uv(e, c->old_len);
	cap_enc__uv(e, c->mflags);
	cap_enc__uv(e, hash);
	put(r, REC_MAPCALL);
}

void recording__annot(struct recording *r, const struct ms_ev_annot *a)
{
	struct cap_enc *e = &r->e;

	cap_enc__u8(e, a->kind);
	cap_enc__uv(e, a->flags);
	cap_enc__uv(e, a->tid);
	cap_enc__uv(e, a->ts_ns);
	cap_enc__uv(e, a->ptr);
	cap_enc__uv(e, a->stack);
	cap_enc__sv(e, a->line);
	cap_enc__bytes(e, a->name, strnlen(a->name, sizeof(a->name)));
	cap_enc__bytes(e, a->tname, strnlen(a->tname, sizeof(a->tname)));
	cap_enc__bytes(e, a->file, strnlen(a->file, sizeof(a->file)));
	put(r, REC_ANNOT);
}

void recording__thread(struct recording *r, uint32_t tid, const char *name)
{
	cap_enc__uv(&r->e, tid);
	cap_enc__str(&r->e, name);
	put(r, REC_THREAD);
}

void recording__exec(struct recording *r, uint64_t ts_ns, const char *comm, const char *cmdline)
{
	cap_enc__uv(&r->e, ts_ns);
	cap_enc__str(&r->e, comm);
	cap_enc__str(&r->e, cmdline);
	put(r, REC_EXEC);
	/* a new image's symbolizer: its mappings are all written after this
	 * record, those the old one had as well (a reader forgets the old ones) */
	r->maps_looked = false;
	free(r->maps_seen);
	r->maps_seen = NULL;
	r->nmaps_seen = r->cap_maps_seen = 0;
}

void recording__proc(struct recording *r, const struct model_proc_event *e)
{
	cap_enc__u8(&r->e, e->kind);
	cap_enc__uv(&r->e, e->ts_ns);
	cap_enc__uv(&r->e, e->pid);
	cap_enc__uv(&r->e, e->other);
	cap_enc__sv(&r->e, e->status);
	cap_enc__str(&r->e, e->comm);
	cap_enc__str(&r->e, e->cmdline);
	put(r, REC_PROC);
}

void recording__rss(struct recording *r, uint64_t now_ns, uint64_t rss_bytes)
{
	cap_enc__uv(&r->e, now_ns);
	cap_enc__uv(&r->e, rss_bytes);
	put(r, REC_RSS);
}

void recording__tick(struct recording *r, uint64_t now_ns, bool force)
{
	cap_enc__uv(&r->e, now_ns);
	cap_enc__u8(&r->e, force);
	put(r, REC_TICK);
}

void recording__check_overflow(struct recording *r, enum overflow_way way)
{
	cap_enc__u8(&r->e, (uint8_t)way);
	put(r, REC_OVERFLOW);
}

void recording__slack(struct recording *r, const struct ms_ev_slack *s)
{
	struct cap_enc *e = &r->e;
	size_t len = s->len > MS_SLACK_WINDOW ? MS_SLACK_WINDOW : s->len;

	cap_enc__u8(e, s->kind);
	cap_enc__uv(e, s->tid);
	put_ts(r, s->ts_ns);
	cap_enc__uv(e, s->ptr);
	cap_enc__uv(e, s->usable);
	cap_enc__bytes(e, s->bytes, len);
	put(r, REC_SLACK);
}

void recording__footprint(struct recording *r, uint64_t now_ns,
			  const struct footprint_range *v, size_t n)
{
	uint64_t prev = 0;

	if (n > FOOTPRINT_MAX)
		n = FOOTPRINT_MAX;
	cap_enc__uv(&r->e, now_ns);
	cap_enc__uv(&r->e, n);
	/* in address order: starts as differences are short */
	for (size_t i = 0; i < n; i++) {
		cap_enc__sv(&r->e, (int64_t)(v[i].start - prev));
		cap_enc__uv(&r->e, v[i].end - v[i].start);
		cap_enc__u8(&r->e, v[i].kind);
		prev = v[i].start;
	}
	put(r, REC_FOOTPRINT);
}

static uint64_t map_key(const struct sym_mapping *m)
{
	uint64_t h = ms_hash64(m->start) ^ ms_hash64(m->end * 31 + m->offset);

	for (const char *p = m->path; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	return h ? h : 1;
}

/* Whether the mapping was written already; marks it written. */
static bool map_seen(struct recording *r, const struct sym_mapping *m)
{
	uint64_t key = map_key(m);
	size_t i;

	if ((r->nmaps_seen + 1) * 2 > r->cap_maps_seen) {
		uint64_t *old = r->maps_seen;
		size_t old_cap = r->cap_maps_seen;

		r->cap_maps_seen = old_cap ? old_cap * 2 : 64;
		r->maps_seen = xcalloc(r->cap_maps_seen, sizeof(*r->maps_seen));
		for (size_t k = 0; k < old_cap; k++) {
			if (!old[k])
				continue;
			for (i = old[k] & (r->cap_maps_seen - 1); r->maps_seen[i];
			     i = (i + 1) & (r->cap_maps_seen - 1))
				;
			r->maps_seen[i] = old[k];
		}
		free(old);
	}
	for (i = key & (r->cap_maps_seen - 1); r->maps_seen[i];
	     i = (i + 1) & (r->cap_maps_seen - 1))
		if (r->maps_seen[i] == key)
			return true;
	r->maps_seen[i] = key;
	r->nmaps_seen++;
	return false;
}

static void put_map(void *ctx, const struct sym_mapping *m)
{
	struct recording *r = ctx;

	if (map_seen(r, m))
		return;
	cap_enc__uv(&r->e, m->start);
	cap_enc__uv(&r->e, m->end);
	cap_enc__uv(&r->e, m->offset);
	cap_enc__str(&r->e, m->path);
	cap_enc__str(&r->e, m->build_id);
	put(r, REC_MAP);
}

void recording__maps(struct recording *r, const struct symbolizer *sym)
{
	uint64_t gen = symbolizer__maps_gen(sym);

	if (!sym || (r->maps_looked && gen == r->maps_gen))
		return;
	r->maps_looked = true;
	r->maps_gen = gen;
	symbolizer__each_map(sym, put_map, r);
}

int recording__flush(struct recording *r)
{
	if (!r->err)
		r->err = capture_writer__flush(r->w);
	return r->err;
}

static void put_frames(void *ctx, const struct sym_frame *f, size_t n)
{
	struct recording *r = ctx;
	struct cap_enc *e = &r->e;

	cap_enc__uv(e, f[0].ip);
	cap_enc__uv(e, n);
	for (size_t i = 0; i < n; i++) {
		cap_enc__str(e, f[i].function);
		cap_enc__str(e, f[i].file);
		cap_enc__sv(e, f[i].line);
		cap_enc__sv(e, f[i].column);
		cap_enc__str(e, f[i].module);
		cap_enc__uv(e, f[i].module_offset);
		cap_enc__uv(e, f[i].map_start);
		cap_enc__uv(e, f[i].map_end);
		cap_enc__uv(e, f[i].map_offset);
		cap_enc__str(e, f[i].build_id);
		cap_enc__u8(e, f[i].inlined);
	}
	put(r, REC_FRAMES);
}

static void put_end(struct recording *r, const struct report_input *in)
{
	struct cap_enc *e = &r->e;
	const struct unwind_stats *u = &in->unwind;
	size_t n;

	cap_enc__u8(e, in->exited);
	cap_enc__u8(e, in->status_known);
	cap_enc__sv(e, in->exit_code);
	cap_enc__sv(e, in->exit_signal);
	cap_enc__str(e, in->exit_text);
	cap_enc__uv(e, in->end_ns);
	cap_enc__uv(e, in->malformed);
	cap_enc__uv(e, in->late_records);
	cap_enc__uv(e, MS_STAT__COUNT);
	for (size_t i = 0; i < MS_STAT__COUNT; i++)
		cap_enc__uv(e, in->bpf_stats[i]);
	cap_enc__uv(e, u->objects);
	cap_enc__uv(e, u->objects_bare);
	cap_enc__uv(e, u->rows);
	cap_enc__uv(e, u->capacity);
	cap_enc__uv(e, u->dropped);
	cap_enc__uv(e, u->shared);
	cap_enc__uv(e, double_bits(u->build_ms));
	/* minor 1: whether the vfork children were counted (MS_STAT_VM_CHILDREN) */
	cap_enc__u8(e, in->vm_children_known);
	/* minor 4: the processes below a -p target at attach */
	cap_enc__uv(e, in->children_at_attach);
	/* minor 6: the objects probed since META (an exec's, --all's), the probes, the one in use */
	n = in->objs && in->objs->n > r->meta_objs ? in->objs->n - r->meta_objs : 0;
	cap_enc__uv(e, n);
	for (size_t i = 0; i < n; i++) {
		const struct alloc_object *o = &in->objs->v[r->meta_objs + i];

		cap_enc__str(e, o->path);
		cap_enc__uv(e, (uint64_t)o->dev);
		cap_enc__uv(e, (uint64_t)o->ino);
		cap_enc__uv(e, o->nsyms);
		cap_enc__uv(e, o->nannotations);
		cap_enc__str(e, o->kind);
	}
	cap_enc__uv(e, in->nprobes);
	cap_enc__uv(e, in->objs ? (uint64_t)(in->objs->used + 1) : 0);
	put(r, REC_END);
}

/* The scan's outcome, then its classes in records that fit a block. */
static void put_scan(struct recording *r, const struct reach_result *sc)
{
	struct cap_enc *e = &r->e;

	cap_enc__u8(e, sc->status);
	cap_enc__uv(e, sc->bytes);
	cap_enc__uv(e, sc->ns);
	cap_enc__uv(e, sc->nmarks);
	put(r, REC_SCAN);
	for (size_t i = 0; i < sc->nmarks; i += SCAN_MARKS_MAX) {
		size_t n = sc->nmarks - i < SCAN_MARKS_MAX ? sc->nmarks - i : SCAN_MARKS_MAX;
		uint64_t prev = 0;

		cap_enc__uv(e, n);
		for (size_t k = i; k < i + n; k++) {
			/* sorted: each address as its distance from the one before */
			cap_enc__uv(e, sc->marks[k].ptr - prev);
			cap_enc__u8(e, sc->marks[k].cls);
			prev = sc->marks[k].ptr;
		}
		put(r, REC_SCAN_MARKS);
	}
}

int recording__finish(struct recording *r, const struct report_input *in,
		      struct symbolizer *sym, bool frames)
{
	recording__maps(r, sym);
	if (sym && frames)
		symbolizer__each(sym, put_frames, r);
	if (in->scan)
		put_scan(r, in->scan);
	put_end(r, in);
	if (!r->err)
		r->err = capture_writer__close(r->w);
	return r->err;
}

void recording__free(struct recording *r)
{
	if (!r)
		return;
	capture_writer__free(r->w);
	cap_enc__free(&r->e);
	free(r->maps_seen);
	free(r);
}

void recording__stats(const struct recording *r, uint64_t *records, uint64_t *raw,
		      uint64_t *written)
{
	struct capture_writer_stats st;

	capture_writer__stats(r->w, &st);
	*records = st.records;
	*raw = st.raw;
	*written = st.written;
}

/* ---- reading back ---------------------------------------------------------- */

#define DEGRADED_MAX 16

struct replay {
	char *path;
	struct report_input in;
	struct model *model;
	struct symbolizer *sym;
	struct runtime_ctx runtime;
	struct alloc_objects objs;
	struct report_degraded *degraded;
	char *strs[3 * DEGRADED_MAX + 4]; /* comm, cmdline, exit text, degraded */
	size_t nstrs;
	uint64_t interval_ns, freed_capacity;
	uint64_t last_ts;
	bool have_meta, have_end, complete;
	struct reach_result scan; /* from SCAN and SCAN_MARKS (minor 2) */
	uint64_t scan_declared;   /* the marks SCAN announced */
	bool have_scan;
	/* END's objects probed after META (minor 6), read before META: added to objs after it */
	struct alloc_objects late;
	char **late_kinds;        /* their allocator names, owned here; nlate_kinds of them */
	size_t nlate_kinds;
	uint64_t late_nprobes, late_used;
	bool have_late;
};

/* A string of the file, owned by rp (NULL stays NULL). */
static const char *keep_str(struct replay *rp, struct cap_dec *d)
{
	size_t len;
	const char *s = cap_dec__str(d, &len);
	char *copy;

	if (!s || rp->nstrs == sizeof(rp->strs) / sizeof(rp->strs[0]))
		return NULL;
	copy = xmalloc(len + 1);
	memcpy(copy, s, len);
	copy[len] = 0;
	rp->strs[rp->nstrs++] = copy;
	return copy;
}

static int read_meta(struct replay *rp, struct cap_dec *d)
{
	struct report_input *in = &rp->in;
	uint64_t n;

	in->pid = (int)cap_dec__uv(d);
	in->comm = keep_str(rp, d);
	in->cmdline = keep_str(rp, d);
	in->launched = cap_dec__u8(d);
	in->start_ns = cap_dec__uv(d);
	in->start_wall_ns = cap_dec__uv(d);
	rp->interval_ns = cap_dec__uv(d);
	in->sample_bytes = cap_dec__uv(d);
	in->min_age_ns = cap_dec__uv(d);
	rp->freed_capacity = cap_dec__uv(d);
	in->alloc_stacks = cap_dec__u8(d);
	in->free_stacks = cap_dec__u8(d);
	in->unwind_mode = (int)cap_dec__uv(d);
	in->batch = (uint32_t)cap_dec__uv(d);
	in->nprobes = cap_dec__uv(d);
	if ((unsigned)in->unwind_mode > MS_UNWIND_DWARF)
		return -EBADMSG;
	n = cap_dec__uv(d);
	/* the session's is 256 Ki: a file asking much more is not one of ours */
	if (n > DEGRADED_MAX || rp->freed_capacity > (1u << 22))
		return -EBADMSG;
	rp->degraded = xcalloc(n ? n : 1, sizeof(*rp->degraded));
	for (uint64_t i = 0; i < n; i++) {
		rp->degraded[i].feature = keep_str(rp, d);
		rp->degraded[i].reason = keep_str(rp, d);
		rp->degraded[i].instead = keep_str(rp, d);
	}
	in->degraded = rp->degraded;
	in->ndegraded = n;
	n = cap_dec__uv(d);
	if (n > 4096)
		return -EBADMSG;
	rp->objs.v = xcalloc(n ? n : 1, sizeof(*rp->objs.v));
	for (uint64_t i = 0; i < n && !d->bad; i++) {
		struct alloc_object *o = &rp->objs.v[rp->objs.n++];
		char path[4096];

		o->path = xstrdup(cap_dec__strcpy(d, path, sizeof(path)) ? path : "");
		o->dev = (dev_t)cap_dec__uv(d);
		o->ino = (ino_t)cap_dec__uv(d);
		/* only whether it has any matters now: no symbol is read again */
		o->nsyms = cap_dec__uv(d) ? 1 : 0;
		o->nannotations = cap_dec__uv(d);
	}
	in->objs = &rp->objs;
	rp->objs.used = -1;
	if (!d->bad && !cap_dec__done(d)) {
		uint64_t used = cap_dec__uv(d);
		const char *kind = keep_str(rp, d);

		if (used > rp->objs.n)
			return -EBADMSG;
		rp->objs.used = (ssize_t)used - 1;
		if (used)
			rp->objs.v[used - 1].kind = kind;
		rp->objs.mixed_fns = cap_dec__uv(d);
		in->mappings = (int)cap_dec__uv(d);
		if (in->mappings < 0 || in->mappings > 2)
			return -EBADMSG;
	}
	if (!d->bad && !cap_dec__done(d)) {
		in->system_wide = cap_dec__u8(d);
		in->cgroup = keep_str(rp, d);
	}
	return d->bad ? -EBADMSG : 0;
}

static char *dup_str(struct cap_dec *d);

/* END's minor 6 tail: the objects probed after META, the probes, the object in use. */
static int read_end_objects(struct replay *rp, struct cap_dec *d)
{
	uint64_t n = cap_dec__uv(d);

	/* each takes 6 bytes at least: a count the record cannot hold is a lie */
	if (d->bad || n > (1u << 20) || rp->have_late)
		return -EBADMSG;
	rp->late.v = xcalloc(n + 1, sizeof(*rp->late.v));
	rp->late_kinds = xcalloc(n + 1, sizeof(*rp->late_kinds));
	for (uint64_t i = 0; i < n && !d->bad; i++) {
		struct alloc_object *o = &rp->late.v[rp->late.n];

		o->path = dup_str(d);
		o->dev = (dev_t)cap_dec__uv(d);
		o->ino = (ino_t)cap_dec__uv(d);
		o->nsyms = cap_dec__uv(d) ? 1 : 0;
		o->nannotations = cap_dec__uv(d);
		o->kind = rp->late_kinds[rp->nlate_kinds++] = dup_str(d);
		if (!o->path)
			o->path = xstrdup("");
		rp->late.n++;
	}
	rp->late_nprobes = cap_dec__uv(d);
	rp->late_used = cap_dec__uv(d);
	rp->have_late = true;
	return d->bad ? -EBADMSG : 0;
}

/* The objects END named, after META's (an index in late_used counts them all). */
static int add_late_objects(struct replay *rp)
{
	if (!rp->have_late)
		return 0;
	if (rp->late_used > rp->objs.n + rp->late.n)
		return -EBADMSG;
	rp->objs.v = xrealloc(rp->objs.v, (rp->objs.n + rp->late.n + 1) * sizeof(*rp->objs.v));
	for (size_t i = 0; i < rp->late.n; i++) {
		rp->objs.v[rp->objs.n++] = rp->late.v[i];
		rp->late.v[i].path = NULL;
	}
	rp->late.n = 0;
	rp->objs.used = (ssize_t)rp->late_used - 1;
	rp->in.nprobes = rp->late_nprobes;
	return 0;
}

static int read_end(struct replay *rp, struct cap_dec *d)
{
	struct report_input *in = &rp->in;
	struct unwind_stats *u = &in->unwind;
	uint64_t n;

	in->exited = cap_dec__u8(d);
	in->status_known = cap_dec__u8(d);
	in->exit_code = (int)cap_dec__sv(d);
	in->exit_signal = (int)cap_dec__sv(d);
	in->exit_text = keep_str(rp, d);
	in->end_ns = cap_dec__uv(d);
	in->malformed = cap_dec__uv(d);
	in->late_records = cap_dec__uv(d);
	n = cap_dec__uv(d);
	for (uint64_t i = 0; i < n && !d->bad; i++) {
		uint64_t v = cap_dec__uv(d);

		if (i < MS_STAT__COUNT)
			in->bpf_stats[i] = v;
	}
	u->objects = cap_dec__uv(d);
	u->objects_bare = cap_dec__uv(d);
	u->rows = cap_dec__uv(d);
	u->capacity = cap_dec__uv(d);
	u->dropped = cap_dec__uv(d);
	u->shared = cap_dec__uv(d);
	u->build_ms = bits_double(cap_dec__uv(d));
	/* minor 0 files end here: the count unknown */
	in->vm_children_known = !cap_dec__done(d) && cap_dec__u8(d);
	in->children_at_attach = cap_dec__done(d) ? 0 : cap_dec__uv(d);
	if (!d->bad && !cap_dec__done(d))
		return read_end_objects(rp, d);
	return d->bad ? -EBADMSG : 0;
}

/* A string of the file, NUL-terminated and cut like the symbolizer's; NULL stays NULL. */
static char *dup_str(struct cap_dec *d)
{
	size_t len;
	const char *p = cap_dec__str(d, &len);
	char *s;

	if (!p)
		return NULL;
	if (len > SYM_NAME_MAX - 1)
		len = SYM_NAME_MAX - 1;
	s = xmalloc(len + 1);
	memcpy(s, p, len);
	s[len] = 0;
	return s;
}

#define FRAMES_MAX 256 /* inlined frames of one address */

static int read_frames(struct replay *rp, struct cap_dec *d)
{
	struct sym_frame f[FRAMES_MAX];
	uint64_t ip = cap_dec__uv(d), n = cap_dec__uv(d), i;

	if (n == 0 || n > FRAMES_MAX)
		return -EBADMSG;
	for (i = 0; i < n && !d->bad; i++) {
		f[i] = (struct sym_frame){ .ip = ip };
		f[i].function = dup_str(d);
		f[i].file = dup_str(d);
		f[i].line = (int)cap_dec__sv(d);
		f[i].column = (int)cap_dec__sv(d);
		f[i].module = dup_str(d);
		f[i].module_offset = cap_dec__uv(d);
		f[i].map_start = cap_dec__uv(d);
		f[i].map_end = cap_dec__uv(d);
		f[i].map_offset = cap_dec__uv(d);
		f[i].build_id = dup_str(d);
		f[i].inlined = cap_dec__u8(d);
	}
	if (!d->bad)
		symbolizer__preload(rp->sym, f, n);
	while (i--) {
		free((char *)f[i].build_id);
		free((char *)f[i].function);
		free((char *)f[i].file);
		free((char *)f[i].module);
	}
	return d->bad ? -EBADMSG : 0;
}

static int read_stack(struct replay *rp, struct cap_dec *d)
{
	uint64_t ips[MS_MAX_FRAMES], prev = 0, hash = cap_dec__uv(d);
	uint8_t truncated = cap_dec__u8(d);
	uint64_t n = cap_dec__uv(d);

	if (n == 0 || n > MS_MAX_FRAMES)
		return -EBADMSG;
	for (uint64_t i = 0; i < n; i++)
		ips[i] = prev += (uint64_t)cap_dec__sv(d);
	if (d->bad)
		return -EBADMSG;
	model__stack(rp->model, hash, ips, (uint32_t)n, truncated);
	return 0;
}

static uint64_t get_ts(struct replay *rp, struct cap_dec *d)
{
	return rp->last_ts += (uint64_t)cap_dec__sv(d);
}

static int read_alloc(struct replay *rp, struct cap_dec *d)
{
	struct alloc_call c = { 0 };
	uint8_t bits;
	uint16_t flags;
	uint64_t hash, caller;

	c.fn = cap_dec__u8(d);
	bits = cap_dec__u8(d);
	c.is_realloc = bits & 1;
	c.untracked = bits & 2;
	flags = (uint16_t)cap_dec__uv(d);
	c.tid = (uint32_t)cap_dec__uv(d);
	c.ts_ns = get_ts(rp, d);
	c.ptr = cap_dec__uv(d);
	c.size = cap_dec__uv(d);
	c.old_ptr = cap_dec__uv(d);
	c.align = cap_dec__uv(d);
	hash = cap_dec__uv(d);
	caller = cap_dec__uv(d);
	if (d->bad || c.fn >= MS_FN__COUNT)
		return -EBADMSG;
	model__alloc(rp->model, &c, hash, caller, flags);
	return 0;
}

static int read_free(struct replay *rp, struct cap_dec *d)
{
	struct free_call c = { 0 };
	uint64_t hash;

	c.fn = cap_dec__u8(d);
	c.flags = (uint16_t)cap_dec__uv(d);
	c.tid = (uint32_t)cap_dec__uv(d);
	c.ts_ns = get_ts(rp, d);
	c.ptr = cap_dec__uv(d);
	hash = cap_dec__uv(d);
	c.caller = cap_dec__uv(d);
	if (d->bad || c.fn >= MS_FN__COUNT)
		return -EBADMSG;
	model__free_call(rp->model, &c, hash, c.caller, c.flags);
	return 0;
}

static int read_map_call(struct replay *rp, struct cap_dec *d)
{
	struct map_call c = { 0 };
	uint8_t bits;
	uint64_t hash;

	c.op = cap_dec__u8(d);
	bits = cap_dec__u8(d);
	c.allocator = bits & 1;
	c.stack_lost = bits & 2;
	c.tid = (uint32_t)cap_dec__uv(d);
	c.ts_ns = get_ts(rp, d);
	c.addr = cap_dec__uv(d);
	c.len = cap_dec__uv(d);
	c.old_addr = cap_dec__uv(d);
	c.old_len = cap_dec__uv(d);
	c.mflags = (uint32_t)cap_dec__uv(d);
	hash = cap_dec__uv(d);
	if (d->bad || c.op < MS_MAP_MMAP || c.op > MS_MAP_BRK)
		return -EBADMSG;
	model__map_call(rp->model, &c, hash);
	return 0;
}

static void get_chars(struct cap_dec *d, char *dst, size_t size)
{
	size_t len;
	const void *p = cap_dec__bytes(d, &len);

	memset(dst, 0, size);
	if (p)
		memcpy(dst, p, len < size ? len : size);
}

static int read_annot(struct replay *rp, struct cap_dec *d)
{
	struct ms_ev_annot a = { .type = MS_EV_ANNOT };

	a.kind = cap_dec__u8(d);
	a.flags = (uint16_t)cap_dec__uv(d);
	a.tid = (uint32_t)cap_dec__uv(d);
	a.ts_ns = cap_dec__uv(d);
	a.ptr = cap_dec__uv(d);
	a.stack = cap_dec__uv(d);
	a.line = (int32_t)cap_dec__sv(d);
	get_chars(d, a.name, sizeof(a.name));
	get_chars(d, a.tname, sizeof(a.tname));
	get_chars(d, a.file, sizeof(a.file));
	if (d->bad)
		return -EBADMSG;
	model__annot(rp->model, &a);
	return 0;
}

static int read_slack(struct replay *rp, struct cap_dec *d)
{
	struct ms_ev_slack s = { .type = MS_EV_SLACK };
	const void *p;
	size_t len = 0;

	s.kind = cap_dec__u8(d);
	s.tid = (uint32_t)cap_dec__uv(d);
	s.ts_ns = get_ts(rp, d);
	s.ptr = cap_dec__uv(d);
	s.usable = cap_dec__uv(d);
	p = cap_dec__bytes(d, &len);
	if (d->bad || len > MS_SLACK_WINDOW || s.kind < MS_SLACK_ALLOC || s.kind > MS_SLACK_FINAL)
		return -EBADMSG;
	if (p)
		memcpy(s.bytes, p, len);
	s.len = (uint16_t)len;
	model__slack(rp->model, &s);
	return 0;
}

static int read_footprint(struct replay *rp, struct cap_dec *d)
{
	uint64_t now = cap_dec__uv(d), n = cap_dec__uv(d), prev = 0;
	struct footprint_range *v;

	if (d->bad || n > FOOTPRINT_MAX)
		return -EBADMSG;
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (uint64_t i = 0; i < n && !d->bad; i++) {
		v[i].start = prev += (uint64_t)cap_dec__sv(d);
		v[i].end = v[i].start + cap_dec__uv(d);
		v[i].kind = cap_dec__u8(d);
		if (v[i].kind != FOOTPRINT_BRK && v[i].kind != FOOTPRINT_ANON)
			d->bad = true;
	}
	if (!d->bad)
		model__footprint(rp->model, now, v, n);
	free(v);
	return d->bad ? -EBADMSG : 0;
}

static int read_thread(struct replay *rp, struct cap_dec *d)
{
	char name[64];
	uint32_t tid = (uint32_t)cap_dec__uv(d);

	cap_dec__strcpy(d, name, sizeof(name));
	if (d->bad)
		return -EBADMSG;
	model__thread(rp->model, tid, name);
	return 0;
}

static int read_proc(struct replay *rp, struct cap_dec *d)
{
	char comm[64], cmdline[4096];
	struct model_proc_event e = { .kind = cap_dec__u8(d) };

	e.ts_ns = cap_dec__uv(d);
	e.pid = (uint32_t)cap_dec__uv(d);
	e.other = (uint32_t)cap_dec__uv(d);
	e.status = (int32_t)cap_dec__sv(d);
	e.comm = cap_dec__strcpy(d, comm, sizeof(comm));
	e.cmdline = cap_dec__strcpy(d, cmdline, sizeof(cmdline));
	if (d->bad || e.kind < MODEL_PROC_FORK || e.kind > MODEL_PROC_IMAGE)
		return -EBADMSG;
	model__proc(rp->model, &e);
	return 0;
}

static int read_exec(struct replay *rp, struct cap_dec *d)
{
	char comm[64], cmdline[4096];
	uint64_t ts = cap_dec__uv(d);

	cap_dec__strcpy(d, comm, sizeof(comm));
	cap_dec__strcpy(d, cmdline, sizeof(cmdline));
	if (d->bad)
		return -EBADMSG;
	model__exec(rp->model, ts, comm, cmdline);
	return 0;
}

/* The model, made from META. */
static void make_model(struct replay *rp)
{
	struct model_opts mo = {
		.sz = sizeof(mo),
		.live_hint = 1024,
		.freed_capacity = rp->freed_capacity,
		.start_ns = rp->in.start_ns,
		.interval_ns = rp->interval_ns,
		.sample_bytes = rp->in.sample_bytes,
		.mixed_fns = rp->objs.mixed_fns,
		.pid = (uint32_t)rp->in.pid,
		.procs_without_sites = rp->in.system_wide,
		.internal = runtime__internal_release,
		.internal_ctx = &rp->runtime,
	};

	rp->runtime = (struct runtime_ctx){ .sym = rp->sym, .objs = &rp->objs };
	rp->model = model__new(&mo);
}

/* One record of the stream, in the second pass (frames and END were read). */
static int feed(struct replay *rp, uint8_t type, struct cap_dec *d)
{
	uint64_t now;

	if (type != REC_META && !rp->have_meta)
		return -EBADMSG;
	switch (type) {
	case REC_META:
		if (rp->have_meta)
			return -EBADMSG;
		rp->have_meta = true;
		if (read_meta(rp, d) || add_late_objects(rp))
			return -EBADMSG;
		rp->last_ts = rp->in.start_ns;
		make_model(rp);
		return 0;
	case REC_STACK:
		return read_stack(rp, d);
	case REC_ALLOC:
		return read_alloc(rp, d);
	case REC_FREE:
		return read_free(rp, d);
	case REC_MAPCALL:
		return read_map_call(rp, d);
	case REC_ANNOT:
		return read_annot(rp, d);
	case REC_THREAD:
		return read_thread(rp, d);
	case REC_EXEC:
		return read_exec(rp, d);
	case REC_PROC:
		return read_proc(rp, d);
	case REC_OVERFLOW: {
		uint8_t way = cap_dec__u8(d);

		if (d->bad || (way != OVERFLOW_READ && way != OVERFLOW_NOT_GLIBC &&
				way != OVERFLOW_CANARY))
			return -EBADMSG;
		model__check_overflow(rp->model, (enum overflow_way)way);
		return 0;
	}
	case REC_SLACK:
		return read_slack(rp, d);
	case REC_FOOTPRINT:
		return read_footprint(rp, d);
	case REC_RSS:
		now = cap_dec__uv(d);
		model__rss(rp->model, now, cap_dec__uv(d));
		return d->bad ? -EBADMSG : 0;
	case REC_TICK:
		now = cap_dec__uv(d);
		model__tick(rp->model, now, cap_dec__u8(d));
		return d->bad ? -EBADMSG : 0;
	}
	/* frames and END were taken by the first pass; newer types are skipped */
	return 0;
}

static int read_map(struct replay *rp, struct cap_dec *d)
{
	char path[4096], build_id[256];
	struct sym_mapping m = { .start = cap_dec__uv(d), .end = cap_dec__uv(d),
				 .offset = cap_dec__uv(d) };

	m.path = cap_dec__strcpy(d, path, sizeof(path));
	m.build_id = cap_dec__strcpy(d, build_id, sizeof(build_id));
	if (d->bad || !m.path)
		return -EBADMSG;
	symbolizer__add_map(rp->sym, &m);
	return 0;
}

static int read_scan(struct replay *rp, struct cap_dec *d)
{
	struct reach_result *sc = &rp->scan;

	if (rp->have_scan)
		return -EBADMSG;
	rp->have_scan = true;
	sc->status = cap_dec__u8(d);
	sc->bytes = cap_dec__uv(d);
	sc->ns = cap_dec__uv(d);
	rp->scan_declared = cap_dec__uv(d);
	return d->bad || sc->status >= SCAN__COUNT ? -EBADMSG : 0;
}

/* Classified blocks: in address order, never more than SCAN announced. */
static int read_scan_marks(struct replay *rp, struct cap_dec *d)
{
	struct reach_result *sc = &rp->scan;
	uint64_t n = cap_dec__uv(d), prev = 0;

	if (d->bad || !rp->have_scan || n > SCAN_MARKS_MAX || n > rp->scan_declared - sc->nmarks)
		return -EBADMSG;
	sc->marks = xrealloc(sc->marks, (sc->nmarks + n ? sc->nmarks + n : 1) * sizeof(*sc->marks));
	for (uint64_t i = 0; i < n; i++) {
		struct reach_mark m = { .ptr = prev + cap_dec__uv(d), .cls = cap_dec__u8(d) };

		if (d->bad || m.cls >= REACH__COUNT ||
		    (sc->nmarks && m.ptr <= sc->marks[sc->nmarks - 1].ptr))
			return -EBADMSG;
		sc->marks[sc->nmarks++] = m;
		prev = m.ptr;
	}
	return 0;
}

/* The first pass: the frames (the detector asks for some while the stream
 * is fed), the mappings (for addresses without frames), the scan and the
 * END record. */
static int scan(struct replay *rp, uint8_t type, struct cap_dec *d)
{
	if (type == REC_FRAMES)
		return read_frames(rp, d);
	if (type == REC_MAP)
		return read_map(rp, d);
	/* the mappings before it were the old image's */
	if (type == REC_EXEC)
		symbolizer__forget_maps(rp->sym);
	if (type == REC_SCAN)
		return read_scan(rp, d);
	if (type == REC_SCAN_MARKS)
		return read_scan_marks(rp, d);
	if (type == REC_END) {
		rp->have_end = true;
		return read_end(rp, d);
	}
	return 0;
}

/* Reads every record of path through fn.  0, or -1 with the message printed. */
static int read_all(struct replay *rp, int (*fn)(struct replay *, uint8_t, struct cap_dec *),
		    bool say_end)
{
	char err[512];
	struct capture_reader *cr = capture_reader__open(rp->path, err, sizeof(err));
	const void *payload;
	size_t len;
	uint8_t type;
	int n;

	if (!cr) {
		ms_err("%s", err);
		return -1;
	}
	while ((n = capture_reader__next(cr, &type, &payload, &len)) > 0) {
		struct cap_dec d;

		cap_dec__init(&d, payload, len);
		if (fn(rp, type, &d)) {
			ms_err("'%s': block %llu ending at offset %llu: record of type %u is corrupt",
			       rp->path, (unsigned long long)capture_reader__block(cr),
			       (unsigned long long)capture_reader__offset(cr), type);
			n = -EBADMSG;
			break;
		}
	}
	if (n < 0 && *capture_reader__error(cr))
		ms_err("%s", capture_reader__error(cr));
	rp->complete = capture_reader__complete(cr);
	if (n == 0 && say_end && !rp->complete && rp->have_meta)
		ms_warn("'%s' ends at offset %llu, cut short (the tracer was stopped before it "
			"finished?): reporting what it holds up to there",
			rp->path, (unsigned long long)capture_reader__offset(cr));
	capture_reader__free(cr);
	return n < 0 ? -1 : 0;
}

struct replay *replay__open(const char *path)
{
	struct replay *rp = xcalloc(1, sizeof(*rp));

	rp->path = xstrdup(path);
	rp->sym = symbolizer__new_offline();
	if (read_all(rp, scan, false) || read_all(rp, feed, true))
		goto fail;
	if (!rp->have_meta) {
		ms_err("'%s' holds no trace (it was cut before its first record)", path);
		goto fail;
	}
	if (!rp->have_end) {
		/* cut short: the end is the last event seen */
		rp->in.end_ns = rp->last_ts;
		rp->in.exit_text = "still running when the capture ends";
	}
	model__flush(rp->model);
	rp->in.heap = rp->model->heap;
	rp->in.stacks = rp->model->stacks;
	rp->in.sym = rp->sym;
	rp->in.stack_lost = rp->model->stack_lost;
	rp->in.detector = rp->model->detector;
	rp->in.overflow = rp->model->overflow;
	rp->in.footprint = rp->model->footprint;
	rp->in.timeline = rp->model->timeline;
	rp->in.growth = rp->model->growth;
	rp->in.thread_names = rp->model->names;
	rp->in.execs = rp->model->execs;
	rp->in.nexecs = rp->model->nexecs;
	rp->in.procs = rp->model->procs;
	rp->in.nprocs = rp->model->nprocs;
	rp->in.annots = rp->model->annots;
	rp->in.maps = rp->in.mappings ? rp->model->maps : NULL;
	/* a capture before minor 2, or cut before the end: no scan */
	if (rp->have_scan && rp->have_end) {
		if (rp->scan.nmarks != rp->scan_declared)
			rp->scan.status = SCAN_FAILED;
		rp->in.scan = &rp->scan;
	}
	rp->in.unnamed = symbolizer__unnamed(rp->sym, &rp->in.nunnamed);
	return rp;
fail:
	replay__free(rp);
	return NULL;
}

const struct report_input *replay__input(const struct replay *rp)
{
	return &rp->in;
}

bool replay__complete(const struct replay *rp)
{
	return rp->complete;
}

void replay__free(struct replay *rp)
{
	if (!rp)
		return;
	model__free(rp->model);
	symbolizer__free(rp->sym);
	reach_result__clear(&rp->scan);
	for (size_t i = 0; i < rp->objs.n; i++)
		free(rp->objs.v[i].path);
	free(rp->objs.v);
	for (size_t i = 0; i < rp->late.n; i++)
		free(rp->late.v[i].path);
	free(rp->late.v);
	for (size_t i = 0; i < rp->nlate_kinds; i++)
		free(rp->late_kinds[i]);
	free(rp->late_kinds);
	free(rp->degraded);
	for (size_t i = 0; i < rp->nstrs; i++)
		free(rp->strs[i]);
	free(rp->path);
	free(rp);
}
