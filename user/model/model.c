// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

static void growth_sampled(void *ctx, size_t idx)
{
	growth__sample(ctx, idx);
}

/* The parts one process image has: its heap, what it did wrong, its annotations. */
static void new_image(struct model *m)
{
	const struct model_opts *opts = &m->opts;

	m->heap = heap__new(opts->live_hint ? opts->live_hint : 1024);
	heap__set_window_origin(m->heap, opts->start_ns, opts->interval_ns);
	heap__set_sample_bytes(m->heap, opts->sample_bytes);
	m->detector = detector__new(m->heap, opts->freed_capacity);
	detector__set_mixed_families(m->detector, opts->mixed_fns);
	if (opts->internal)
		detector__set_internal_filter(m->detector, opts->internal, opts->internal_ctx);
	m->annots = annotations__new(m->heap, m->detector);
	m->footprint = footprint__new(m->heap);
	/* --check-overflow goes on in a new image (model__check_overflow()) */
	if (m->overflow_way)
		m->overflow = overflow__new(m->heap, m->detector, m->overflow_way);
}

static void free_image(struct model *m)
{
	annotations__free(m->annots);
	overflow__free(m->overflow);
	m->overflow = NULL;
	footprint__free(m->footprint);
	detector__free(m->detector);
	heap__free(m->heap);
}

struct model *model__new(const struct model_opts *opts)
{
	struct model *m = xcalloc(1, sizeof(*m));

	m->opts = *opts;
	m->target_side = (struct model_inherit){ .m = m, .pid = opts->pid };
	m->stacks = stack_table__new();
	new_image(m);
	m->timeline = timeline__new(opts->start_ns, opts->interval_ns);
	m->growth = growth__new(m->heap);
	timeline__set_observer(m->timeline, growth_sampled, m->growth);
	m->names = thread_names__new();
	m->maps = mappings__new();
	timeline__set_mapped(m->timeline, &mappings__program(m->maps)->bytes);
	return m;
}

void model__free(struct model *m)
{
	if (!m)
		return;
	free_image(m);
	free(m->target_side.kids);
	timeline__free(m->timeline);
	growth__free(m->growth);
	thread_names__free(m->names);
	mappings__free(m->maps);
	stack_table__free(m->stacks);
	for (size_t i = 0; i < m->nexecs; i++) {
		free(m->execs[i].comm);
		free(m->execs[i].cmdline);
	}
	free(m->execs);
	for (size_t i = 0; i < m->nprocs; i++) {
		detector__free(m->procs[i].detector);
		heap__free(m->procs[i].heap);
		free(m->procs[i].cmdline);
		if (m->procs[i].inherit) {
			live_table__free(m->procs[i].inherit->copy);
			live_table__free(m->procs[i].inherit->claimed);
			free(m->procs[i].inherit->kids);
			free(m->procs[i].inherit);
		}
	}
	free(m->procs);
	free(m->tids);
	free(m);
}

static uint32_t event_stack(struct model *m, uint64_t hash, uint64_t caller, uint16_t flags)
{
	if (flags & MS_EVF_STACK_LOST)
		m->stack_lost++;
	return stack_table__for_event(m->stacks, hash, caller);
}

/*
 * The stages of a record in the queue, by how many records came after it:
 * at 0 its table slots are prefetched (live table, stack hash), at MAP_AT
 * its stack is mapped and the site and (thread, stack) slot prefetched, at
 * COUNT_AT the counters those lead to, at MODEL_READ_AHEAD it is applied.
 * Stacks are mapped in stream order: any record that changes the stack
 * table applies the queue first.
 */
#define MAP_AT 3
#define COUNT_AT 6

static struct model_slot *queued(struct model *m, unsigned behind_newest)
{
	return &m->queue[(m->qhead + m->qlen - 1 - behind_newest) % MODEL_READ_AHEAD];
}

static void map(struct model *m, struct model_slot *q)
{
	if (q->is_free) {
		q->f.stack = event_stack(m, q->hash, q->caller, q->flags);
	} else {
		q->a.stack = event_stack(m, q->hash, q->caller, q->flags);
		heap__prefetch_alloc(m->heap, &q->a);
	}
	q->mapped = true;
}

static void prefetch_counters(struct model *m, const struct model_slot *q)
{
	if (q->is_free)
		heap__prefetch_release_counters(m->heap, &q->f);
	else
		heap__prefetch_alloc_counters(m->heap, &q->a);
}

/* The call in q, in the order the stream gave it. */
static void apply(struct model *m, struct model_slot *q)
{
	if (!q->mapped)
		map(m, q);
	timeline__event(m->timeline, q->is_free ? q->f.ts_ns : q->a.ts_ns, heap__totals(m->heap));
	if (q->is_free) {
		heap__release(m->heap, &q->f);
	} else {
		heap__alloc(m->heap, &q->a);
		annotations__on_alloc(m->annots, &q->a);
	}
	m->events++;
}

/* Applies the oldest queued call and takes it off the queue. */
static void apply_oldest(struct model *m)
{
	struct model_slot *q = &m->queue[m->qhead];

	m->qhead = (m->qhead + 1) % MODEL_READ_AHEAD;
	m->qlen--;
	apply(m, q);
}

/* A new slot at the queue's end, the others advanced a stage. */
static struct model_slot *enqueue(struct model *m)
{
	struct model_slot *q;

	if (m->qlen == MODEL_READ_AHEAD)
		apply_oldest(m);
	m->qlen++;
	if (m->qlen > MAP_AT)
		map(m, queued(m, MAP_AT));
	if (m->qlen > COUNT_AT)
		prefetch_counters(m, queued(m, COUNT_AT));
	q = queued(m, 0);
	q->mapped = false;
	return q;
}

/* Stage 0 of a record just queued. */
static void read_ahead(struct model *m, struct model_slot *q, uint64_t hash, uint64_t caller,
		       uint16_t flags)
{
	q->hash = hash;
	q->caller = caller;
	q->flags = flags;
	stack_table__prefetch(m->stacks, hash, caller);
	if (q->is_free)
		heap__prefetch_live(m->heap, q->f.ptr, 0);
	else
		heap__prefetch_live(m->heap, q->a.untracked ? 0 : q->a.ptr, q->a.old_ptr);
}

void model__flush(struct model *m)
{
	while (m->qlen)
		apply_oldest(m);
}

/* -f: the process (other than the target) thread tid belongs to, or NULL. */
static struct model_proc *proc_of(struct model *m, uint32_t tid)
{
	/* a batch holds one thread's calls: the last answer is asked again (--all: many tids) */
	if (m->last_tid_proc && m->last_tid == tid)
		return &m->procs[m->last_tid_proc - 1];
	for (size_t i = 0; i < m->ntids; i++) {
		if (m->tids[i].tid == tid) {
			m->last_tid = tid;
			m->last_tid_proc = m->tids[i].proc;
			return &m->procs[m->tids[i].proc - 1];
		}
	}
	return NULL;
}

/* The latest process with pid (--all over a long run: a pid is reused). */
static struct model_proc *find_proc(struct model *m, uint32_t pid)
{
	for (size_t i = m->nprocs; i-- > 0;)
		if (m->procs[i].pid == pid)
			return &m->procs[i];
	return NULL;
}


static void set_thread(struct model *m, uint32_t tid, uint32_t pid)
{
	struct model_proc *p = find_proc(m, pid);
	size_t i;

	m->last_tid_proc = 0;
	for (i = 0; i < m->ntids && m->tids[i].tid != tid; i++)
		;
	if (!p) {
		/* the target's (a tid reused): its calls go to the target's heap */
		if (i < m->ntids)
			m->tids[i] = m->tids[--m->ntids];
		return;
	}
	if (i == m->ntids)
		m->tids = xrealloc(m->tids, (++m->ntids) * sizeof(*m->tids));
	m->tids[i].tid = tid;
	m->tids[i].proc = (uint32_t)(p - m->procs) + 1;
}

/* The heap of process pid (the target's, or another traced one's); NULL: not traced. */
static const struct heap *heap_of_pid(struct model *m, uint32_t pid)
{
	struct model_proc *p;

	if (pid && pid == m->opts.pid)
		return m->heap;
	p = find_proc(m, pid);
	return p ? p->heap : NULL;
}

static struct model_inherit *inherit_of_pid(struct model *m, uint32_t pid)
{
	struct model_proc *p;

	if (pid && pid == m->opts.pid)
		return &m->target_side;
	p = find_proc(m, pid);
	return p ? p->inherit : NULL;
}

/* Depth of a chain of forks looked through (a child's child's ...). */
#define INHERIT_MAX_DEPTH 8

/*
 * Whether process in held a copy of block ptr at t (the fork of one of its
 * children): a block of its own allocated before t and live, or one it
 * inherited itself and had not released.
 */
static bool held_at(struct model *m, const struct model_inherit *in, uint64_t ptr, uint64_t t,
		    int depth)
{
	const struct heap *h = heap_of_pid(m, in->pid);
	const struct live_block *b = h ? live_table__get(heap__live(h), ptr) : NULL;
	const struct model_inherit *parent;

	if (b)
		return b->ts_ns < t;
	if (!in->fork_ns || depth >= INHERIT_MAX_DEPTH || (in->exec_ns && in->exec_ns <= t))
		return false;
	if (in->claimed && live_table__get(in->claimed, ptr))
		return false;
	if (in->copy && live_table__get(in->copy, ptr))
		return true;
	parent = inherit_of_pid(m, in->ppid);
	return parent && held_at(m, parent, ptr, in->fork_ns, depth + 1);
}

static void copy_to_kids(struct model_inherit *in, const struct live_block *b, uint64_t ts);

/*
 * The child's heap asks about an address it never saw allocated: a block of
 * its parent's that it holds a copy of (struct model_inherit) is released.
 */
static bool inherited_release(void *ctx, uint64_t ptr, const struct free_call *fc,
			      const struct alloc_call *rc)
{
	struct model_inherit *in = ctx;
	uint64_t ts = fc ? fc->ts_ns : rc->ts_ns;
	const struct model_inherit *parent;
	struct live_block b = { .ptr = ptr, .ts_ns = ts };

	if (!in->fork_ns || ts < in->fork_ns || (in->exec_ns && ts >= in->exec_ns))
		return false;
	if (in->claimed && live_table__get(in->claimed, ptr))
		return false;
	/* the target's calls read ahead come first in the stream: a block it allocated, or
	 * released after the fork (copied then), is in its table or the copy once applied */
	model__flush(in->m);
	if (!(in->copy && live_table__take(in->copy, ptr, NULL))) {
		parent = inherit_of_pid(in->m, in->ppid);
		if (!parent || !held_at(in->m, parent, ptr, in->fork_ns, 0))
			return false;
	}
	if (!in->claimed)
		in->claimed = live_table__new(16);
	live_table__put(in->claimed, &b, NULL);
	in->frees++;
	/* its own children held a copy as long as it did */
	b.ts_ns = 0;
	copy_to_kids(in, &b, ts);
	return true;
}

/* A child is let go this long after its exit or exec: records come late by less. */
#define KID_GRACE_NS (1000ull * 1000 * 1000)

/*
 * Process in released block b at ts: each child forked after b was
 * allocated and before ts, and still holding its copies then (not exited,
 * not execed), keeps its copy.  Children gone for long are let go.
 */
static void copy_to_kids(struct model_inherit *in, const struct live_block *b, uint64_t ts)
{
	size_t k = 0;

	for (size_t i = 0; i < in->nkids; i++) {
		struct model_inherit *c = in->m->procs[in->kids[i] - 1].inherit;
		uint64_t gone = c->end_ns ? c->end_ns : c->exec_ns;

		if (c->exec_ns && c->exec_ns < gone)
			gone = c->exec_ns;
		if (gone && gone + KID_GRACE_NS < ts)
			continue;
		in->kids[k++] = in->kids[i];
		if (b->ts_ns >= c->fork_ns || c->fork_ns > ts || (gone && gone < ts))
			continue;
		if (!c->copy)
			c->copy = live_table__new(16);
		live_table__put(c->copy, b, NULL);
	}
	in->nkids = k;
}

static void parent_removed(void *ctx, const struct live_block *b, const struct free_call *fc,
			   const struct alloc_call *rc)
{
	copy_to_kids(ctx, b, fc ? fc->ts_ns : rc->ts_ns);
}

/* Process in's heap (h) tells its children of its releases from now on. */
static void hook_parent(struct model_inherit *in, struct heap *h)
{
	struct heap_hooks hooks = { .ctx = in, .removed = parent_removed };

	if (in->parent_hooked)
		return;
	heap__add_hooks(h, &hooks);
	in->parent_hooked = true;
}

/* A child's detector remembers this share of the target's releases (many workers). */
#define PROC_FREED_SHARE 64

/*
 * A process (or, forked false, a new image of one: --all's exec) with its
 * heap, its detector (not with --all, whose processes keep no sites) and
 * its copy-on-fork state: forked by a traced parent, it holds copies of
 * the parent's blocks.
 */
static struct model_proc *add_proc(struct model *m, const struct model_proc_event *e, bool forked)
{
	struct model_proc *p;
	struct heap_hooks hooks = { .unknown = inherited_release };
	struct model_inherit *parent = forked && e->other ? inherit_of_pid(m, e->other) : NULL;

	if (parent) {
		struct model_proc *pp = find_proc(m, e->other);

		hook_parent(parent, pp ? pp->heap : m->heap);
		parent->kids = xrealloc(parent->kids, (parent->nkids + 1) * sizeof(*parent->kids));
		parent->kids[parent->nkids++] = (uint32_t)m->nprocs + 1;
	}
	m->procs = xrealloc(m->procs, (m->nprocs + 1) * sizeof(*m->procs));
	p = &m->procs[m->nprocs++];
	*p = (struct model_proc){ .pid = e->pid, .ppid = e->other, .start_ns = e->ts_ns,
				  .heap = heap__new(64) };
	snprintf(p->comm, sizeof(p->comm), "%s", e->comm ? e->comm : "");
	p->cmdline = e->cmdline ? xstrdup(e->cmdline) : NULL;
	heap__set_window_origin(p->heap, m->opts.start_ns, m->opts.interval_ns);
	heap__set_sample_bytes(p->heap, m->opts.sample_bytes);
	/* inherited blocks first: a release of one is no double free */
	p->inherit = xcalloc(1, sizeof(*p->inherit));
	*p->inherit = (struct model_inherit){ .m = m, .pid = p->pid, .ppid = p->ppid,
					      .fork_ns = parent ? e->ts_ns : 0 };
	hooks.ctx = p->inherit;
	heap__add_hooks(p->heap, &hooks);
	if (m->opts.procs_without_sites)
		return p;
	p->detector = detector__new(p->heap, m->opts.freed_capacity / PROC_FREED_SHARE);
	detector__set_mixed_families(p->detector, m->opts.mixed_fns);
	if (m->opts.internal)
		detector__set_internal_filter(p->detector, m->opts.internal, m->opts.internal_ctx);
	return p;
}

bool model__traces(const struct model *m, uint32_t pid)
{
	if (pid && pid == m->opts.pid)
		return true;
	for (size_t i = m->nprocs; i-- > 0;)
		if (m->procs[i].pid == pid)
			return !m->procs[i].exited;
	return false;
}

void model__proc(struct model *m, const struct model_proc_event *e)
{
	struct model_proc *p;

	model__flush(m);
	switch (e->kind) {
	case MODEL_PROC_FORK:
		p = find_proc(m, e->pid);
		if (p && !p->exited)
			return;
		add_proc(m, e, true);
		/* its main thread is itself */
		set_thread(m, e->pid, e->pid);
		break;
	case MODEL_PROC_EXIT:
		p = find_proc(m, e->pid);
		if (!p)
			return;
		p->exited = true;
		p->status = e->status;
		p->end_ns = e->ts_ns;
		/* its name at its exit: the program it execed, if it did */
		if (e->comm && *e->comm)
			snprintf(p->comm, sizeof(p->comm), "%s", e->comm);
		/* its records may come later than this: its copies are kept */
		if (p->inherit)
			p->inherit->end_ns = e->ts_ns;
		break;
	case MODEL_PROC_THREAD:
		set_thread(m, e->other, e->pid);
		break;
	case MODEL_PROC_IMAGE: {
		struct model_proc *old = find_proc(m, e->pid);
		struct model_proc_event img = *e;
		uint32_t oi;

		if (!old || old->exited || old->execed)
			return;
		oi = (uint32_t)(old - m->procs) + 1;
		img.other = old->ppid;
		/* no copies of anyone's blocks: the exec released them */
		p = add_proc(m, &img, false);
		p->prev = oi;
		old = &m->procs[oi - 1];
		old->execed = true;
		old->end_ns = e->ts_ns;
		if (old->inherit)
			old->inherit->exec_ns = e->ts_ns;
		/* its threads (the one that execed: the others ended) are the new image's */
		for (size_t i = 0; i < m->ntids; i++)
			if (m->tids[i].proc == oi)
				m->tids[i].proc = (uint32_t)m->nprocs;
		m->last_tid_proc = 0;
		break;
	}
	case MODEL_PROC_NAME:
		p = find_proc(m, e->pid);
		if (!p)
			return;
		if (e->comm && *e->comm)
			snprintf(p->comm, sizeof(p->comm), "%s", e->comm);
		/* the old one is the program's it left: unknown unless read anew */
		free(p->cmdline);
		p->cmdline = e->cmdline ? xstrdup(e->cmdline) : NULL;
		/* the exec released the copies of the parent's blocks */
		if (p->inherit)
			p->inherit->exec_ns = e->ts_ns;
		break;
	}
}

void model__alloc(struct model *m, const struct alloc_call *c, uint64_t hash, uint64_t caller,
		  uint16_t flags)
{
	struct model_slot *q;
	struct model_proc *p = m->ntids ? proc_of(m, c->tid) : NULL;

	/* --all: a call made before the exec that began p (its record came after) */
	while (p && p->prev && c->ts_ns < p->start_ns)
		p = &m->procs[p->prev - 1];
	if (p) {
		struct alloc_call a = *c;

		a.stack = m->opts.procs_without_sites ? 0 : event_stack(m, hash, caller, flags);
		heap__alloc(p->heap, &a);
		m->events++;
		return;
	}
	q = enqueue(m);

	q->is_free = false;
	q->a = *c;
	read_ahead(m, q, hash, caller, flags);
}

void model__free_call(struct model *m, const struct free_call *c, uint64_t hash,
		      uint64_t caller, uint16_t flags)
{
	struct model_slot *q;
	struct model_proc *p = m->ntids ? proc_of(m, c->tid) : NULL;

	while (p && p->prev && c->ts_ns < p->start_ns)
		p = &m->procs[p->prev - 1];
	if (p) {
		struct free_call f = *c;

		f.stack = m->opts.procs_without_sites ? 0 : event_stack(m, hash, caller, flags);
		heap__release(p->heap, &f);
		m->events++;
		return;
	}
	q = enqueue(m);

	q->is_free = true;
	q->f = *c;
	read_ahead(m, q, hash, caller, flags);
}

void model__stack(struct model *m, uint64_t hash, const uint64_t *ips, uint32_t nframes,
		  uint8_t truncated)
{
	/* the queued calls map their stacks in stream order */
	model__flush(m);
	stack_table__add(m->stacks, hash, ips, nframes, truncated);
}

void model__annot(struct model *m, const struct ms_ev_annot *e)
{
	/* it may name a block the queued calls allocate */
	model__flush(m);
	annotations__on_annot(m->annots, e, event_stack(m, e->stack, 0, e->flags));
}

void model__thread(struct model *m, uint32_t tid, const char *name)
{
	model__flush(m);
	thread_names__set(m->names, tid, name);
}

void model__exec(struct model *m, uint64_t ts_ns, const char *comm, const char *cmdline)
{
	struct model_exec *x;
	size_t nthreads;

	model__flush(m);
	m->execs = xrealloc(m->execs, (m->nexecs + 1) * sizeof(*m->execs));
	x = &m->execs[m->nexecs++];
	heap__threads(m->heap, &nthreads);
	*x = (struct model_exec){ .ts_ns = ts_ns, .comm = xstrdup(comm ? comm : ""),
				  .cmdline = xstrdup(cmdline ? cmdline : ""),
				  .closed = *heap__totals(m->heap), .threads = nthreads };
	free_image(m);
	new_image(m);
	/* its children are told of the new heap's releases once one forks */
	m->target_side.parent_hooked = false;
	/* the sites that grew, and the anonymous mappings, were the old image's too */
	growth__free(m->growth);
	m->growth = growth__new(m->heap);
	timeline__set_observer(m->timeline, growth_sampled, m->growth);
	mappings__free(m->maps);
	m->maps = mappings__new();
	timeline__set_mapped(m->timeline, &mappings__program(m->maps)->bytes);
}

void model__check_overflow(struct model *m, enum overflow_way way)
{
	m->overflow_way = way;
	if (!m->overflow)
		m->overflow = overflow__new(m->heap, m->detector, way);
}

void model__slack(struct model *m, const struct ms_ev_slack *e)
{
	/* it speaks of a block the queued calls add or release */
	model__flush(m);
	if (m->overflow)
		overflow__observe(m->overflow, e);
}

void model__rss(struct model *m, uint64_t now_ns, uint64_t rss_bytes)
{
	timeline__rss(m->timeline, now_ns, rss_bytes);
}

void model__footprint(struct model *m, uint64_t now_ns, const struct footprint_range *v,
		      size_t n)
{
	/* the live blocks as of the records so far */
	model__flush(m);
	timeline__footprint(m->timeline, now_ns, footprint__reading(m->footprint, now_ns, v, n));
}

void model__tick(struct model *m, uint64_t now_ns, bool force)
{
	model__flush(m);
	timeline__tick(m->timeline, heap__totals(m->heap), now_ns, force);
}

void model__map_call(struct model *m, const struct map_call *c, uint64_t hash)
{
	struct map_call mc = *c;

	/* the anonymous mappings are the target's: another process's are not counted */
	if (m->ntids && proc_of(m, c->tid))
		return;
	model__flush(m);
	if (c->stack_lost)
		m->stack_lost++;
	mc.stack = hash ? stack_table__find(m->stacks, hash) : STACK_NONE;
	m->maps_traced = true;
	/* the grid points before it see the mappings before it */
	timeline__event(m->timeline, c->ts_ns, heap__totals(m->heap));
	mappings__apply(m->maps, &mc);
}
