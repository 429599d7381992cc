// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/uio.h>
#include <unistd.h>

#include "events.h"
#include "model.h"
#include "recording.h"
#include "symbolize.h"
#include "util.h"

/* a * b, or UINT64_MAX when it overflows (the call then fails anyway) */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

void events__decode_alloc(const struct ms_ev_alloc *e, struct alloc_call *c)
{
	const uint64_t *a = (const uint64_t *)e->args;

	memset(c, 0, sizeof(*c));
	c->fn = e->fn;
	c->tid = e->tid;
	c->ts_ns = e->ts_ns;
	c->ptr = e->ret;
	c->untracked = e->flags & MS_EVF_UNTRACKED;
	switch (e->fn) {
	case MS_FN_CALLOC:
		c->size = mul_sat(a[0], a[1]);
		break;
	case MS_FN_REALLOC:
		c->is_realloc = true;
		c->old_ptr = a[0];
		c->size = a[1];
		break;
	case MS_FN_REALLOCARRAY:
		c->is_realloc = true;
		c->old_ptr = a[0];
		c->size = mul_sat(a[1], a[2]);
		break;
	case MS_FN_POSIX_MEMALIGN:
		c->align = a[1];
		c->size = a[2];
		break;
	case MS_FN_ALIGNED_ALLOC:
	case MS_FN_MEMALIGN:
		c->align = a[0];
		c->size = a[1];
		break;
	case MS_FN_NEW_ALIGNED:
	case MS_FN_NEW_ALIGNED_NOTHROW:
	case MS_FN_NEW_ARRAY_ALIGNED:
	case MS_FN_NEW_ARRAY_ALIGNED_NOTHROW:
		c->align = a[1];
		c->size = a[0];
		break;
	default:
		c->size = a[0];
		break;
	}
}

void events__decode_free(const struct ms_ev_free *e, struct free_call *c)
{
	memset(c, 0, sizeof(*c));
	c->fn = e->fn;
	c->tid = e->tid;
	c->ts_ns = e->ts_ns;
	c->ptr = e->ptr;
	c->caller = e->caller;
	c->flags = e->flags;
}

void events__decode_map(const struct ms_ev_map *e, struct map_call *c, uint64_t page)
{
	memset(c, 0, sizeof(*c));
	c->op = e->op;
	c->allocator = e->flags & MS_MAPF_ALLOCATOR;
	c->stack_lost = e->flags & MS_MAPF_STACK_LOST;
	c->tid = e->tid;
	c->ts_ns = e->ts_ns;
	c->addr = e->addr;
	c->old_addr = e->old_addr;
	c->mflags = e->mflags;
	/* the kernel maps and unmaps whole pages; brk's size is the heap's, as it is */
	if (e->op == MS_MAP_BRK) {
		c->len = e->len;
	} else {
		c->len = e->len > UINT64_MAX - page ? 0 : (e->len + page - 1) / page * page;
		c->old_len = e->old_len > UINT64_MAX - page ? 0 :
			     (e->old_len + page - 1) / page * page;
	}
}

/* Each decoded record goes to the model and, when recording, to the capture. */
static void out_stack(struct event_sink *s, uint64_t hash, const uint64_t *ips, uint32_t n,
		      uint8_t truncated)
{
	if (s->rec)
		recording__stack(s->rec, hash, ips, n, truncated);
	model__stack(s->model, hash, ips, n, truncated);
}

static void on_stack(struct event_sink *s, const struct ms_ev_stack *e, size_t size)
{
	if (e->nframes == 0 || e->nframes > MS_MAX_FRAMES ||
	    size < MS_EV_STACK_HDR + (size_t)e->nframes * 8) {
		s->malformed++;
		return;
	}
	if (stack_table__find(s->model->stacks, e->hash) != STACK_NONE)
		return;
	/* record the objects these addresses are in while the target lives */
	for (uint32_t i = 0; s->sym && i < e->nframes; i++)
		symbolizer__track(s->sym, e->ips[i]);
	out_stack(s, e->hash, (const uint64_t *)e->ips, e->nframes, e->truncated);
}

/* Without a stack (--no-stacks, or its record was lost), the caller names the site. */
static void track_caller(struct event_sink *s, uint64_t hash, uint64_t caller)
{
	if (hash == 0 && s->sym && caller)
		symbolizer__track(s->sym, caller);
}

static void take_alloc(struct event_sink *s, const struct ms_ev_alloc *e)
{
	struct alloc_call c;

	events__decode_alloc(e, &c);
	track_caller(s, e->stack, e->caller);
	if (s->rec)
		recording__alloc(s->rec, &c, e->stack, e->caller, e->flags);
	model__alloc(s->model, &c, e->stack, e->caller, e->flags);
}

static void take_map(struct event_sink *s, const struct ms_ev_map *e)
{
	static uint64_t page;
	struct map_call c;

	if (!page) {
		long p = sysconf(_SC_PAGESIZE);

		page = p > 0 ? (uint64_t)p : 4096;
	}
	if (e->op < MS_MAP_MMAP || e->op > MS_MAP_BRK) {
		s->malformed++;
		return;
	}
	events__decode_map(e, &c, page);
	if (s->rec)
		recording__map_call(s->rec, &c, e->stack);
	model__map_call(s->model, &c, e->stack);
}

static void take_free(struct event_sink *s, const struct ms_ev_free *e)
{
	struct free_call c;

	events__decode_free(e, &c);
	track_caller(s, e->stack, e->caller);
	if (s->rec)
		recording__release(s->rec, &c, e->stack, e->caller, e->flags);
	model__free_call(s->model, &c, e->stack, e->caller, e->flags);
}

void events__slack(struct event_sink *s, const struct ms_ev_slack *e)
{
	if (e->len > MS_SLACK_WINDOW) {
		s->malformed++;
		return;
	}
	if (s->rec)
		recording__slack(s->rec, e);
	model__slack(s->model, e);
}

/* process_vm_readv's IOV_MAX */
#define SLACK_BATCH 1024

/* Reads n blocks' ends into v (len 0 where unreadable): whole batches, one by one after a fault. */
static void read_slacks(const struct event_sink *s, struct ms_ev_slack *v, size_t n)
{
	struct iovec local[SLACK_BATCH], remote[SLACK_BATCH];
	ssize_t got;
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n; i++) {
		local[i].iov_base = v[i].bytes;
		local[i].iov_len = v[i].len;
		remote[i].iov_base = (void *)(uintptr_t)(v[i].ptr + v[i].usable - v[i].len);
		remote[i].iov_len = v[i].len;
	}
	got = process_vm_readv(s->pid, local, n, remote, n, 0);
	for (i = 0; i < n; i++) {
		if (got >= (ssize_t)v[i].len) {
			got -= v[i].len;
			continue;
		}
		/* from the first one short: each on its own */
		got = 0;
		if (process_vm_readv(s->pid, &local[i], 1, &remote[i], 1, 0) != v[i].len)
			v[i].len = 0;
	}
}

void events__final_slack(struct event_sink *s, uint64_t now_ns)
{
	static struct ms_ev_slack v[SLACK_BATCH];
	uint64_t ptr, usable;
	size_t it = 0, n;

	if (!s->model->overflow || s->pid <= 0)
		return;
	model__flush(s->model);
	do {
		for (n = 0; n < SLACK_BATCH &&
			    overflow__next_unchecked(s->model->overflow, &it, &ptr, &usable); n++)
			v[n] = (struct ms_ev_slack){
				.type = MS_EV_SLACK, .kind = MS_SLACK_FINAL, .ts_ns = now_ns,
				.ptr = ptr, .usable = usable,
				.len = usable < MS_SLACK_WINDOW ? usable : MS_SLACK_WINDOW };
		read_slacks(s, v, n);
		for (size_t i = 0; i < n; i++)
			events__slack(s, &v[i]);
	} while (n == SLACK_BATCH);
}

/*
 * A string BPF sent, or, when BPF could not read it (its page was not
 * resident), read from the target's memory at addr, cut to size.
 */
static void read_str(const struct event_sink *s, char *dst, size_t size, uint64_t addr)
{
	struct iovec local = { .iov_base = dst, .iov_len = size - 1 };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = size - 1 };
	ssize_t n;

	dst[size - 1] = 0; /* BPF fills the array: a name as long as it ends unterminated */
	if (dst[0] || !addr || s->pid <= 0)
		return;
	/* a string near the end of its mapping reads short: keep what came */
	n = process_vm_readv(s->pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		n = 0;
	dst[n] = 0;
}

static void take_annot(struct event_sink *s, const struct ms_ev_annot *e)
{
	struct ms_ev_annot r = *e;

	read_str(s, r.name, sizeof(r.name), r.name_addr);
	read_str(s, r.tname, sizeof(r.tname), r.tname_addr);
	read_str(s, r.file, sizeof(r.file), r.file_addr);
	r.name_addr = r.tname_addr = r.file_addr = 0;
	if (s->rec)
		recording__annot(s->rec, &r);
	model__annot(s->model, &r);
}

void events__proc(struct event_sink *s, const struct model_proc_event *e)
{
	if (s->rec)
		recording__proc(s->rec, e);
	model__proc(s->model, e);
}

/*
 * A process's command line now, arguments joined by spaces and cut at 4095
 * bytes; NULL when it cannot be read or is empty (gone: a zombie has none).
 * Read when the record arrives, a few ms after the fact: a short-lived
 * process may have none by then.
 */
static char *read_cmdline(uint32_t pid)
{
	char path[64], *buf = malloc(4096);
	size_t n = 0;
	FILE *f;

	if (!buf)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	f = fopen(path, "re");
	if (f) {
		n = fread(buf, 1, 4095, f);
		fclose(f);
	}
	if (!n) {
		free(buf);
		return NULL;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = 0;
	return buf;
}

void events__own_maps(struct event_sink *s, uint32_t pid)
{
	/* --all's processes keep no sites: nothing of theirs is symbolized */
	if (!s->sym || s->model->opts.procs_without_sites)
		return;
	symbolizer__add_process(s->sym, (int)pid);
	s->execed = xrealloc(s->execed, (s->nexeced + 1) * sizeof(*s->execed));
	s->execed[s->nexeced++] = pid;
}

static void on_proc(struct event_sink *s, const struct ms_ev_proc *e)
{
	char comm[sizeof(e->comm) + 1], *cmdline = NULL;
	struct model_proc_event pe = { .ts_ns = e->ts_ns, .pid = e->pid, .status = e->status,
				       .comm = comm };

	memcpy(comm, e->comm, sizeof(e->comm));
	comm[sizeof(e->comm)] = 0;
	if (e->kind == MS_PROCEV_FORK) {
		pe.kind = MODEL_PROC_FORK;
		pe.other = e->ppid;
		/* --comm: a process of that name whose parent is not traced runs its own image */
		if (!model__traces(s->model, e->ppid))
			events__own_maps(s, e->pid);
		pe.cmdline = cmdline = read_cmdline(e->pid);
	} else if (e->kind == MS_PROCEV_EXIT) {
		pe.kind = MODEL_PROC_EXIT;
	} else if (e->kind == MS_PROCEV_EXEC) {
		pe.kind = MODEL_PROC_NAME;
		pe.cmdline = cmdline = read_cmdline(e->pid);
		/* another program now, at other addresses: its stacks are named from its maps */
		events__own_maps(s, e->pid);
	} else if (e->kind == MS_PROCEV_IMAGE) {
		/* the session's (new allocators to probe); a traced process's also the model's */
		if (s->nimages == s->cap_images) {
			s->cap_images = s->cap_images ? s->cap_images * 2 : 16;
			s->images = xrealloc(s->images, s->cap_images * sizeof(*s->images));
		}
		s->images[s->nimages++] = e->pid;
		if (!e->status)
			return;
		pe.kind = MODEL_PROC_IMAGE;
		pe.cmdline = cmdline = read_cmdline(e->pid);
	} else {
		s->malformed++;
		return;
	}
	events__proc(s, &pe);
	free(cmdline);
}

void events__thread(struct event_sink *s, uint32_t tid, const char *name)
{
	if (s->rec)
		recording__thread(s->rec, tid, name);
	model__thread(s->model, tid, name);
}

/* --- the merge of batched records ----------------------------------------- */

/* how many records ahead of the one applied a queue is prefetched */
#define MERGE_PREFETCH 4

_Static_assert(__builtin_offsetof(struct ms_ev_alloc, ts_ns) ==
		       __builtin_offsetof(struct ms_ev_free, ts_ns),
	       "records keep their timestamps at one offset");

/* An annotation waiting in its thread's queue: its time, and a copy of it. */
struct pending_annot {
	uint8_t type; /* MS_EV_ANNOT */
	uint8_t pad[7];
	uint64_t ts_ns;
	struct ms_ev_annot *copy; /* owned */
};

_Static_assert(__builtin_offsetof(struct pending_annot, ts_ns) ==
		       __builtin_offsetof(struct ms_ev_alloc, ts_ns) &&
		       sizeof(struct pending_annot) <= sizeof(union ms_batch_slot),
	       "an annotation's place in a queue is a record's");

static uint64_t pending_ts(const union ms_batch_slot *p)
{
	return p->a.ts_ns; /* at the same place in every record */
}

static uint64_t queue_ts(const struct ev_queue *q)
{
	return q->head_ts;
}

static size_t tid_hash(uint32_t tid, size_t cap)
{
	return (size_t)((tid * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static void heap_up(struct ev_merge *m, size_t i)
{
	struct ev_queue *q = m->heap[i];
	uint64_t ts = queue_ts(q);

	while (i > 0 && queue_ts(m->heap[(i - 1) / 2]) > ts) {
		m->heap[i] = m->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	m->heap[i] = q;
}

static void heap_down(struct ev_merge *m, size_t i)
{
	struct ev_queue *q = m->heap[i];
	uint64_t ts = queue_ts(q);

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= m->nheap)
			break;
		if (c + 1 < m->nheap && queue_ts(m->heap[c + 1]) < queue_ts(m->heap[c]))
			c++;
		if (queue_ts(m->heap[c]) >= ts)
			break;
		m->heap[i] = m->heap[c];
		i = c;
	}
	m->heap[i] = q;
}

/* The slot of tid in the table: its queue, or the empty slot where it goes. */
static size_t tab_find(const struct ev_merge *m, uint32_t tid)
{
	size_t i = tid_hash(tid, m->tab_cap);

	while (m->tab[i] && m->tab[i]->tid != tid)
		i = (i + 1) & (m->tab_cap - 1);
	return i;
}

static void tab_grow(struct ev_merge *m)
{
	struct ev_queue **old = m->tab;
	size_t old_cap = m->tab_cap;

	m->tab_cap = old_cap ? old_cap * 2 : 16;
	m->tab = xcalloc(m->tab_cap, sizeof(*m->tab));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			m->tab[tab_find(m, old[i]->tid)] = old[i];
	free(old);
}

/* Takes slot i out of the table, moving up the entries after it that would no
 * longer be found (linear probing's deletion). */
static void tab_remove(struct ev_merge *m, size_t i)
{
	size_t mask = m->tab_cap - 1, j = i;

	m->tab[i] = NULL;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!m->tab[j])
			return;
		home = tid_hash(m->tab[j]->tid, m->tab_cap);
		/* stays when its home is cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->tab[i] = m->tab[j];
		m->tab[j] = NULL;
		i = j;
	}
}

/* tid's queue, a new one (empty, not in the heap) when it has none. */
static struct ev_queue *queue_of(struct ev_merge *m, uint32_t tid)
{
	struct ev_queue *q;
	size_t i;

	if (m->nheap + 1 > m->tab_cap / 2)
		tab_grow(m);
	i = tab_find(m, tid);
	if (m->tab[i])
		return m->tab[i];
	q = m->nspare ? m->spare[--m->nspare] : xcalloc(1, sizeof(*q));
	q->tid = tid;
	q->head = q->len = 0;
	m->tab[i] = q;
	return q;
}

/* q's records moved, oldest first, into a new array of cap (>= len, a power of two). */
static void queue_resize(struct ev_queue *q, size_t cap)
{
	union ms_batch_slot *v = xmalloc(cap * sizeof(*v));

	for (size_t k = 0; k < q->len; k++)
		v[k] = q->v[(q->head + k) & (q->cap - 1)];
	free(q->v);
	q->v = v;
	q->cap = cap;
	q->head = 0;
}

/* Room for n more records in q; the first of them. */
static union ms_batch_slot *queue_reserve(struct ev_merge *m, struct ev_queue *q, size_t n)
{
	if (q->len + n > q->cap) {
		size_t cap = q->cap ? q->cap : 64;

		while (cap < q->len + n)
			cap *= 2;
		queue_resize(q, cap);
	}
	if (q->len == 0 && m->nheap == m->heap_cap) {
		m->heap_cap = m->heap_cap ? m->heap_cap * 2 : 16;
		m->heap = xrealloc(m->heap, m->heap_cap * sizeof(*m->heap));
	}
	return &q->v[(q->head + q->len) & (q->cap - 1)];
}

/*
 * A queue's array is kept at its size while it holds at least an eighth of
 * it, else cut to twice what it holds (not under this): a burst grew every
 * thread's array to 64 Ki records (4 MiB) once, and kept them all.
 */
#define QUEUE_KEEP_CAP 1024

static void queue_shrink(struct ev_queue *q)
{
	size_t cap = QUEUE_KEEP_CAP;

	if (q->cap <= QUEUE_KEEP_CAP || q->len > q->cap / 8)
		return;
	while (cap < 2 * q->len)
		cap *= 2;
	queue_resize(q, cap);
}

/* n records written at the queue's end (contiguous in its ring or not). */
static void queue_added(struct ev_merge *m, struct ev_queue *q, size_t n)
{
	bool was_empty = q->len == 0;

	q->len += n;
	m->pending += n;
	if (was_empty && n) {
		q->head_ts = pending_ts(&q->v[q->head]);
		m->heap[m->nheap++] = q;
		heap_up(m, m->nheap - 1);
	}
}

static void merge_annot(struct event_sink *s, const struct ms_ev_annot *e)
{
	struct ev_merge *m = &s->merge;
	struct ev_queue *q = queue_of(m, e->tid);
	struct pending_annot *p = (struct pending_annot *)queue_reserve(m, q, 1);

	memset(p, 0, sizeof(union ms_batch_slot));
	p->type = MS_EV_ANNOT;
	p->ts_ns = e->ts_ns;
	p->copy = xmalloc(sizeof(*e));
	memcpy(p->copy, e, sizeof(*e));
	queue_added(m, q, 1);
}

static void apply_pending(struct event_sink *s, union ms_batch_slot *p)
{
	uint64_t ts = pending_ts(p);

	if (ts < s->merge.last_ts)
		s->late++;
	else
		s->merge.last_ts = ts;
	switch (p->type) {
	case MS_EV_ALLOC:
		take_alloc(s, &p->a);
		break;
	case MS_EV_FREE:
		take_free(s, &p->f);
		break;
	case MS_EV_SLACK:
		events__slack(s, &p->s);
		break;
	case MS_EV_MAP:
		take_map(s, &p->m);
		break;
	case MS_EV_ANNOT: {
		struct pending_annot *a = (struct pending_annot *)p;

		take_annot(s, a->copy);
		free(a->copy);
		a->copy = NULL;
		break;
	}
	default:
		s->malformed++;
		break;
	}
}

/* An empty queue: out of the table, kept for reuse. */
static void forget_queue(struct ev_merge *m, struct ev_queue *q)
{
	tab_remove(m, tab_find(m, q->tid));
	if (m->nspare == m->spare_cap) {
		m->spare_cap = m->spare_cap ? m->spare_cap * 2 : 16;
		m->spare = xrealloc(m->spare, m->spare_cap * sizeof(*m->spare));
	}
	m->spare[m->nspare++] = q;
}

/* The heap's first queue is empty: out of the heap and the table, kept for reuse. */
static void retire_top(struct ev_merge *m)
{
	struct ev_queue *q = m->heap[0];

	if (--m->nheap) {
		m->heap[0] = m->heap[m->nheap];
		heap_down(m, 0);
	}
	forget_queue(m, q);
}

void events__advance(struct event_sink *s, uint64_t until_ns)
{
	struct ev_merge *m = &s->merge;

	while (m->nheap) {
		struct ev_queue *q = m->heap[0];
		/* the oldest record of every other queue: q runs until it */
		uint64_t next = UINT64_MAX;

		if (queue_ts(q) >= until_ns)
			break;
		if (m->nheap > 1)
			next = queue_ts(m->heap[1]);
		if (m->nheap > 2 && queue_ts(m->heap[2]) < next)
			next = queue_ts(m->heap[2]);
		if (until_ns < next)
			next = until_ns;
		do {
			union ms_batch_slot *p = &q->v[q->head];

			/* written a drain ago: out of cache by now, and queues interleave */
			__builtin_prefetch(&q->v[(q->head + MERGE_PREFETCH) & (q->cap - 1)]);
			q->head = (q->head + 1) & (q->cap - 1);
			q->len--;
			m->pending--;
			if (q->len)
				q->head_ts = pending_ts(&q->v[q->head]);
			apply_pending(s, p);
		} while (q->len && queue_ts(q) < next);
		queue_shrink(q);
		if (q->len)
			heap_down(m, 0);
		else
			retire_top(m);
	}
	model__flush(s->model);
}

uint64_t events__pending(const struct event_sink *s)
{
	return s->merge.pending;
}

void events__free(struct event_sink *s)
{
	struct ev_merge *m = &s->merge;

	free(s->images);
	s->images = NULL;
	s->nimages = s->cap_images = 0;

	for (size_t i = 0; i < m->nheap; i++) {
		struct ev_queue *q = m->heap[i];

		for (size_t k = 0; k < q->len; k++) {
			union ms_batch_slot *p = &q->v[(q->head + k) & (q->cap - 1)];

			if (p->type == MS_EV_ANNOT)
				free(((struct pending_annot *)p)->copy);
		}
		free(q->v);
		free(q);
	}
	for (size_t i = 0; i < m->nspare; i++) {
		free(m->spare[i]->v);
		free(m->spare[i]);
	}
	free(m->heap);
	free(m->tab);
	free(m->spare);
	memset(m, 0, sizeof(*m));
	free(s->execed);
	s->execed = NULL;
	s->nexeced = 0;
}

/* A batch's records join their thread's queue as they are (apply_pending() checks their types). */
static void take_batch(struct event_sink *s, const struct ms_ev_batch *b)
{
	struct ev_merge *m = &s->merge;
	struct ev_queue *q;
	size_t at, first;

	if (!b->n)
		return;
	q = queue_of(m, b->tid);
	queue_reserve(m, q, b->n);
	at = (q->head + q->len) & (q->cap - 1);
	first = q->cap - at < b->n ? q->cap - at : b->n;
	memcpy(&q->v[at], b->slots, first * sizeof(b->slots[0]));
	memcpy(q->v, b->slots + first, (b->n - first) * sizeof(b->slots[0]));
	queue_added(m, q, b->n);
}

static int take_record(struct event_sink *s, void *data, size_t size)
{
	const uint8_t *type = data;

	if (size < 1) {
		s->malformed++;
		return 0;
	}
	switch (*type) {
	case MS_EV_ALLOC:
		if (size < sizeof(struct ms_ev_alloc))
			break;
		take_alloc(s, data);
		return 0;
	case MS_EV_FREE:
		if (size < sizeof(struct ms_ev_free))
			break;
		take_free(s, data);
		return 0;
	case MS_EV_SLACK:
		if (size < sizeof(struct ms_ev_slack))
			break;
		events__slack(s, data);
		return 0;
	case MS_EV_MAP:
		if (size < sizeof(struct ms_ev_map))
			break;
		take_map(s, data);
		return 0;
	case MS_EV_BATCH: {
		const struct ms_ev_batch *b = data;

		if (size < sizeof(*b) || b->n > MS_BATCH)
			break;
		take_batch(s, b);
		return 0;
	}
	case MS_EV_ANNOT:
		if (size < sizeof(struct ms_ev_annot))
			break;
		if (s->ordered)
			merge_annot(s, data);
		else
			take_annot(s, data);
		return 0;
	case MS_EV_STACK:
		if (size < MS_EV_STACK_HDR)
			break;
		on_stack(s, data, size);
		return 0;
	case MS_EV_THREAD: {
		const struct ms_ev_thread *e = data;
		char name[sizeof(e->comm) + 1];

		if (size < sizeof(*e))
			break;
		memcpy(name, e->comm, sizeof(e->comm));
		name[sizeof(e->comm)] = 0;
		if (s->follow && e->tgid && e->tgid != (uint32_t)s->pid) {
			struct model_proc_event pe = { .kind = MODEL_PROC_THREAD, .pid = e->tgid,
						       .other = e->tid };

			events__proc(s, &pe);
		}
		events__thread(s, e->tid, name);
		return 0;
	}
	case MS_EV_PROC:
		if (size < sizeof(struct ms_ev_proc))
			break;
		on_proc(s, data);
		return 0;
	}
	s->malformed++;
	return 0;
}

/* the clock is read every this many records (~25 ns a read, ~100 ns a record here) */
#define STOP_CHECK_EVERY 256

int handle_event(void *ctx, void *data, size_t size)
{
	struct event_sink *s = ctx;

	take_record(s, data, size);
	if (s->stop_pending && s->merge.pending >= s->stop_pending)
		return -EAGAIN;
	if (s->stop_at_ns && ++s->since_clock >= STOP_CHECK_EVERY) {
		s->since_clock = 0;
		if (ms_now_ns() >= s->stop_at_ns)
			return -EAGAIN;
	}
	return 0;
}
