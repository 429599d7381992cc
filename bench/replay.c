// SPDX-License-Identifier: MIT
/*
 * Loader throughput without the kernel: a recorded-like stream of ring-buffer
 * records (struct ms_ev_alloc, ms_ev_free, ms_ev_stack, exactly as
 * bpf/memscope.bpf.c writes them) is replayed through the loader's one
 * dispatcher, handle_event(), into the pipeline user/session.c builds (stack
 * table, heap model with its allocation windows, findings detector,
 * annotations), with no symbolizer (as when the target's maps cannot be read).
 * What is left out is libbpf's ring_buffer__consume() itself (reading each
 * record's 8-byte header and publishing the consumer position) and the
 * timeline's sampling, once per drain.
 *
 * The stream is shaped like a busy real program's: about a million blocks
 * live, 10000 distinct allocation stacks (4-32 frames, a few sites making
 * most blocks) each sent once before its first use, 2000 distinct callers of
 * free (each becomes a one-frame site), 75% malloc, 10% calloc, 10% realloc
 * of a live block, 5% operator new; addresses as glibc hands them out (one
 * bump-allocated arena, freed addresses reused last-in first-out per size
 * class).
 *
 * Allocation and release records come as BPF sends them by default: each
 * thread's in MS_EV_BATCH records of MS_BATCH, which the loader merges
 * across threads by time (events__advance(), once a chunk, after the last
 * partial batches are sent as a sweep would); with --no-batch one by one.
 * It is generated in chunks outside the timed part, laid out as in the ring
 * buffer (8-byte header, records padded to 8 bytes).  RSS is read after the
 * generator's memory was allocated and touched, and at the end: the growth
 * is the loader's, divided by the blocks live at the end.
 *
 *   replay [--no-batch] [--streams N [--threads T] [--cpu-rate R]] [--sample-bytes B]
 *          [EVENTS [LIVE]]  (default 10000000 1000000; EVENTS: alloc + free calls)
 *
 * --streams N: the program runs on N busy CPUs, T threads each (default 4),
 * each CPU making R calls a second (default 500000), all on one time line;
 * the loader drains every 10 ms of that time (a sweep sends every thread's
 * partial batch) and applies what is older than the sweep before, as
 * user/session.c does, so a drain's records wait in the per-thread queues.
 * Rates are then given per second of the loader's CPU time, with how many
 * such CPUs it keeps up with (bench/streams.sh runs the series).
 * --sample-bytes B: only the blocks BPF would sample are sent (a draw per
 * block, probability 1 - exp(-size / B)), with their releases.
 *
 * Prints a human summary, a digest of everything the pipeline computed (totals,
 * sites, threads, histograms, windows, findings, the live blocks), which must
 * not change when the loader is only made faster, and one line for
 * bench/run.sh:
 *   memscope-bench replay events=N seconds=S events_per_s=X live=L rss_bytes=R
 *   bytes_per_live=B stacks=K
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "detect.h"
#include "events.h"
#include "heap.h"
#include "memscope_events.h"
#include "model.h"
#include "sample.h"
#include "stacks.h"
#include "util.h"

#define BATCH 65536
#define NCLASSES 96
#define NSTACKS 10000
#define NCALLERS 2000
#define NTIDS 4 /* threads without --streams */
#define MAX_TIDS 65536
#define ARENA_BASE 0x555555559000ull
#define TEXT_BASE 0x555555554000ull
#define LIB_BASE 0x7ffff7c00000ull
/* as user/session.c sets them up: its defaults */
#define FREED_CAPACITY (256 * 1024)
#define INTERVAL_NS (100 * 1000000ull)
#define DRAIN_NS (10 * 1000000ull) /* user/session.c drains every 10 ms */
#define START_NS 1000000000ull

struct config {
	size_t events; /* calls the program makes (all sent without sampling) */
	size_t live;   /* blocks live once warmed up */
	bool batched;
	unsigned streams;    /* 0: the single stream of old; else busy CPUs */
	unsigned ntids;      /* threads, all streams together */
	uint64_t cpu_rate;   /* calls a second each busy CPU makes */
	uint64_t step_ps;    /* time between two calls of the whole program */
	size_t chunk;        /* calls between two drains */
	uint64_t sample_bytes;
};

struct gen {
	uint64_t rng;
	uint64_t bump, ts;
	uint64_t ts_ps, step_ps; /* time, in picoseconds: step_ps between calls */
	size_t working_set;
	unsigned ntids;
	uint64_t sample_bytes; /* the sampling BPF would do; 0: every call */
	/* addresses by id, per-class LIFO free lists linked by id */
	uint64_t *addr;
	uint32_t *next_free;
	uint32_t free_head[NCLASSES];
	size_t naddr, max_addr;
	/* live blocks, to pick one at random to free or realloc */
	uint32_t *live_id;
	uint64_t *live_size;
	uint8_t *live_sampled; /* its records are sent */
	size_t nlive, max_live;
	/* the program's stacks and callers of free */
	uint64_t stack_hash[NSTACKS];
	uint8_t stack_frames[NSTACKS];
	uint8_t stack_sent[NSTACKS];
	uint64_t *frames; /* NSTACKS * MS_MAX_FRAMES */
	uint64_t free_caller[NCALLERS];
	/* the batch of records, as in the ring buffer */
	uint8_t *buf;
	size_t len, cap;
	size_t events; /* alloc and free records in the chunk */
	size_t calls;  /* calls the program made in the chunk (sent or not) */
	/* batching: each thread's records not sent yet */
	bool batched;
	struct ms_ev_batch *pend; /* ntids */
};

static uint64_t rnd(struct gen *g)
{
	uint64_t x = g->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	g->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* mostly small blocks, a long tail of bigger ones */
static uint64_t pick_size(struct gen *g)
{
	uint64_t r = rnd(g), p = r % 100;

	r >>= 8;
	if (p < 60)
		return 1 + r % 64;
	if (p < 85)
		return 65 + r % 192;
	if (p < 97)
		return 257 + r % 3840;
	return 4097 + r % 61440;
}

/* 16-byte classes up to 1 KiB, then powers of two */
static unsigned size_class(uint64_t size)
{
	unsigned c = 64;

	if (size <= 1024)
		return (unsigned)((size + 15) / 16);
	for (size = (size - 1) >> 10; size; size >>= 1)
		c++;
	return c;
}

static uint64_t class_bytes(unsigned c)
{
	return c <= 64 ? 16ull * c : 1024ull << (c - 64);
}

/* skewed, n * u^2 for u uniform in [0, 1): a few sites make most blocks, as in
 * real programs, yet every one of the n is used */
static uint32_t skewed(struct gen *g, uint32_t n)
{
	double u = (double)(rnd(g) >> 11) / 9007199254740992.0;

	return (uint32_t)(u * u * n);
}

static uint32_t take_address(struct gen *g, unsigned c)
{
	uint32_t id = g->free_head[c];

	if (id) {
		g->free_head[c] = g->next_free[id];
		return id;
	}
	if (g->naddr == g->max_addr) {
		ms_err("replay: more than %zu distinct addresses", g->max_addr);
		exit(1);
	}
	id = (uint32_t)g->naddr++;
	g->addr[id] = g->bump + 16; /* a 16-byte chunk header, as in glibc */
	g->bump += 16 + class_bytes(c);
	return id;
}

static void give_back(struct gen *g, uint32_t id, uint64_t size)
{
	unsigned c = size_class(size);

	g->next_free[id] = g->free_head[c];
	g->free_head[c] = id;
}

/* a record as the ring buffer holds it: 8-byte header, padded to 8 */
static void *emit(struct gen *g, size_t size)
{
	uint8_t *p = g->buf + g->len;

	*(uint32_t *)p = (uint32_t)size;
	g->len += 8 + ((size + 7) & ~(size_t)7);
	memset(p + 8, 0, size);
	return p + 8;
}

static void send_batch(struct gen *g, unsigned t)
{
	struct ms_ev_batch *b = &g->pend[t];

	if (!b->n)
		return;
	b->type = MS_EV_BATCH;
	b->tid = 1000 + t;
	memcpy(emit(g, sizeof(*b)), b, sizeof(*b));
	b->n = 0;
}

/* The memory of an allocation or release record of thread t (zeroed). */
static void *record(struct gen *g, unsigned t, size_t size)
{
	struct ms_ev_batch *b = &g->pend[t];
	void *r;

	if (!g->batched)
		return emit(g, size);
	if (b->n == MS_BATCH)
		send_batch(g, t);
	r = &b->slots[b->n++];
	memset(r, 0, sizeof(b->slots[0]));
	return r;
}

/* BPF sends a stack's frames the first time it sees its hash */
static uint64_t use_stack(struct gen *g, uint32_t s)
{
	struct ms_ev_stack *e;
	uint32_t n = g->stack_frames[s];

	if (!g->stack_sent[s]) {
		e = emit(g, MS_EV_STACK_HDR + (size_t)n * 8);
		e->type = MS_EV_STACK;
		e->nframes = (uint16_t)n;
		e->hash = g->stack_hash[s];
		memcpy(e->ips, &g->frames[(size_t)s * MS_MAX_FRAMES], (size_t)n * 8);
		g->stack_sent[s] = 1;
	}
	return g->stack_hash[s];
}

/* Under sampling, whether BPF would sample a block of this size: a draw per
 * block with the probability its Poisson sample points give (sample.h). */
static bool sampled(struct gen *g, uint64_t size)
{
	if (!g->sample_bytes)
		return true;
	return (double)(rnd(g) >> 11) / 9007199254740992.0 <
	       sample__probability(size, g->sample_bytes);
}

static void emit_alloc(struct gen *g, uint8_t fn, uint64_t ptr, uint64_t a0, uint64_t a1,
		       uint16_t flags)
{
	uint32_t s = skewed(g, NSTACKS);
	uint64_t hash = use_stack(g, s);
	unsigned t = (unsigned)(rnd(g) % g->ntids);
	struct ms_ev_alloc *e = record(g, t, sizeof(*e));

	e->type = MS_EV_ALLOC;
	e->fn = fn;
	e->flags = flags;
	e->tid = 1000 + t;
	e->ts_ns = g->ts;
	e->ret = ptr;
	e->args[0] = a0;
	e->args[1] = a1;
	e->caller = g->frames[(size_t)s * MS_MAX_FRAMES];
	e->stack = hash;
	g->events++;
}

static void gen_alloc(struct gen *g)
{
	uint64_t size = pick_size(g), r = rnd(g) % 85;
	uint32_t id = take_address(g, size_class(size));

	g->live_id[g->nlive] = id;
	g->live_size[g->nlive] = size;
	g->live_sampled[g->nlive] = sampled(g, size);
	if (!g->live_sampled[g->nlive++])
		return;
	if (r < 75)
		emit_alloc(g, MS_FN_MALLOC, g->addr[id], size, 0, 0);
	else if (r < 80)
		emit_alloc(g, MS_FN_NEW, g->addr[id], size, 0, 0);
	else
		emit_alloc(g, MS_FN_CALLOC, g->addr[id], 1, size, 0);
}

static void gen_free(struct gen *g)
{
	size_t i = rnd(g) % g->nlive;
	unsigned t;
	struct ms_ev_free *e;
	uint8_t fn = rnd(g) % 10 ? MS_FN_FREE : MS_FN_DELETE;

	if (!g->live_sampled[i])
		goto gone;
	t = (unsigned)(rnd(g) % g->ntids);
	e = record(g, t, sizeof(*e));
	e->type = MS_EV_FREE;
	e->fn = fn;
	e->tid = 1000 + t;
	e->ts_ns = g->ts;
	e->ptr = g->addr[g->live_id[i]];
	e->caller = g->free_caller[skewed(g, NCALLERS)];
	g->events++;
gone:
	give_back(g, g->live_id[i], g->live_size[i]);
	g->nlive--;
	g->live_id[i] = g->live_id[g->nlive];
	g->live_size[i] = g->live_size[g->nlive];
	g->live_sampled[i] = g->live_sampled[g->nlive];
}

/* grows or shrinks a live block: in place when the size class stays */
static void gen_realloc(struct gen *g)
{
	size_t i = rnd(g) % g->nlive;
	uint64_t size = rnd(g) % 2 ? g->live_size[i] * 2 : g->live_size[i] / 2 + 1;
	uint32_t id = g->live_id[i];
	uint64_t old = g->addr[id];
	bool was = g->live_sampled[i], is;

	if (size_class(size) != size_class(g->live_size[i])) {
		give_back(g, id, g->live_size[i]);
		id = take_address(g, size_class(size));
	}
	g->live_id[i] = id;
	g->live_size[i] = size;
	/* as BPF: sent when the new block is sampled or the old one was */
	is = sampled(g, size);
	g->live_sampled[i] = is;
	if (is || was)
		emit_alloc(g, MS_FN_REALLOC, g->addr[id], was ? old : 0, size,
			   is ? 0 : MS_EVF_UNTRACKED);
}

/* below the working set: only allocate; around it: as many frees as allocations */
static void gen_op(struct gen *g)
{
	uint64_t r = rnd(g) % 100;

	g->ts_ps += g->step_ps;
	g->ts = g->ts_ps / 1000;
	g->calls++;
	if (r < 10 && g->nlive) {
		gen_realloc(g);
	} else if (g->nlive < g->working_set * 9 / 10) {
		gen_alloc(g);
	} else if (rnd(g) % 100 < (g->nlive < g->working_set ? 52u : 48u)) {
		gen_alloc(g);
	} else {
		gen_free(g);
	}
}

static void *touched(size_t n, size_t size)
{
	void *p = xcalloc(n, size);

	memset(p, 0, n * size);
	return p;
}

static void gen_init(struct gen *g, const struct config *cf)
{
	size_t working_set = cf->live;

	memset(g, 0, sizeof(*g));
	g->batched = cf->batched;
	g->ntids = cf->ntids;
	g->sample_bytes = cf->sample_bytes;
	g->rng = 0x9e3779b97f4a7c15ull;
	g->bump = ARENA_BASE;
	g->ts = START_NS;
	g->ts_ps = START_NS * 1000;
	g->step_ps = cf->step_ps;
	g->working_set = working_set;
	g->max_addr = working_set * 4 + 1024;
	g->max_live = working_set * 2 + 1024;
	g->addr = touched(g->max_addr, sizeof(*g->addr));
	g->next_free = touched(g->max_addr, sizeof(*g->next_free));
	g->naddr = 1; /* id 0 ends the free lists */
	g->live_id = touched(g->max_live, sizeof(*g->live_id));
	g->live_size = touched(g->max_live, sizeof(*g->live_size));
	g->live_sampled = touched(g->max_live, sizeof(*g->live_sampled));
	g->pend = touched(g->ntids, sizeof(*g->pend));
	g->frames = touched((size_t)NSTACKS * MS_MAX_FRAMES, sizeof(*g->frames));
	for (uint32_t s = 0; s < NSTACKS; s++) {
		uint64_t *f = &g->frames[(size_t)s * MS_MAX_FRAMES];

		g->stack_hash[s] = rnd(g) | 1;
		g->stack_frames[s] = (uint8_t)(4 + rnd(g) % 29);
		/* the innermost frames in the program, the outer ones in libc */
		for (uint32_t k = 0; k < g->stack_frames[s]; k++)
			f[k] = (k + 3 < g->stack_frames[s] ? TEXT_BASE : LIB_BASE) +
			       rnd(g) % (4 << 20);
	}
	for (uint32_t c = 0; c < NCALLERS; c++)
		g->free_caller[c] = TEXT_BASE + rnd(g) % (4 << 20);
	/* worst case: every stack once, a record per op (alone or its share of
	 * a full batch), a partial batch per thread at the sweep */
	g->cap = cf->chunk * (8 + sizeof(struct ms_ev_alloc) +
			      (8 + sizeof(struct ms_ev_batch)) / MS_BATCH + 8) +
		 (size_t)NSTACKS * (8 + MS_EV_STACK_HDR + MS_MAX_FRAMES * 8) +
		 (g->ntids + 1) * (8 + sizeof(struct ms_ev_batch));
	g->buf = touched(g->cap, 1);
}

static void gen_fini(struct gen *g)
{
	free(g->addr);
	free(g->next_free);
	free(g->live_id);
	free(g->live_size);
	free(g->live_sampled);
	free(g->pend);
	free(g->frames);
	free(g->buf);
}

/* what libbpf's ring_buffer__consume() does around each record, minus the atomics */
static void replay(struct event_sink *sink, const uint8_t *p, const uint8_t *end)
{
	while (p < end) {
		uint32_t len = *(const uint32_t *)p;

		handle_event(sink, (void *)(p + 8), len);
		p += 8 + ((len + 7) & ~7u);
	}
}

/* ------------------------------------------------------------ the digest */

static void mix(uint64_t *d, uint64_t v)
{
	*d = ms_hash64(*d ^ v) + 0x9e3779b97f4a7c15ull;
}

static void mix_sites(uint64_t *d, const struct heap *h)
{
	const struct heap_site *s;
	size_t n, i;

	s = heap__sites(h, &n);
	for (i = 0; i < n; i++) {
		uint64_t pc, pb;

		if (!s[i].allocations)
			continue;
		heap__site_at_peak(h, i, &pc, &pb);
		mix(d, i);
		mix(d, s[i].allocations);
		mix(d, s[i].bytes);
		mix(d, s[i].live_count);
		mix(d, s[i].live_bytes);
		mix(d, s[i].temporary);
		mix(d, pc);
		mix(d, pb);
	}
}

static void mix_threads(uint64_t *d, const struct heap *h)
{
	const struct heap_thread *t;
	size_t n, i;

	t = heap__threads(h, &n);
	for (i = 0; i < n; i++) {
		mix(d, t[i].tid);
		mix(d, t[i].allocations);
		mix(d, t[i].bytes);
		mix(d, t[i].frees);
		mix(d, t[i].live_count);
		mix(d, t[i].live_bytes);
		mix(d, t[i].temporary);
	}
}

static void mix_hist(uint64_t *d, const struct heap_hist *hist)
{
	for (unsigned i = 0; i < HEAP_HIST_BUCKETS; i++)
		mix(d, hist->count[i]);
}

static void mix_windows(uint64_t *d, const struct heap *h)
{
	uint64_t bucket_ns, origin_ns;
	size_t n, i;
	const struct heap_window *w = heap__windows(h, &n, &bucket_ns, &origin_ns);

	mix(d, bucket_ns);
	mix(d, origin_ns);
	for (i = 0; i < n; i++) {
		mix(d, w[i].stack);
		mix(d, w[i].alloc_bucket);
		mix(d, w[i].free_bucket);
		mix(d, w[i].count);
		mix(d, w[i].bytes);
	}
}

static void mix_findings(uint64_t *d, const struct detector *det)
{
	size_t n, i;
	const struct finding *f = detector__findings(det, &n);

	for (i = 0; i < n; i++) {
		mix(d, f[i].kind);
		mix(d, f[i].occurrences);
		mix(d, f[i].ptr);
		mix(d, f[i].ts_ns);
		mix(d, f[i].tid);
		mix(d, f[i].stack);
		mix(d, f[i].alloc_stack);
		mix(d, f[i].free_stack);
		mix(d, (uint64_t)f[i].fn << 16 | (uint64_t)f[i].alloc_fn << 8 | f[i].free_fn);
	}
	mix(d, detector__internal_releases(det));
}

/* the live table's order is its own business: a sum of the blocks' hashes */
static void mix_live(uint64_t *d, const struct heap *h)
{
	const struct live_table *live = heap__live(h);
	const struct live_block *b;
	uint64_t sum = 0;
	size_t it = 0;

	while ((b = live_table__next(live, &it))) {
		uint64_t x = 0;

		mix(&x, b->ptr);
		mix(&x, b->size);
		mix(&x, b->ts_ns);
		mix(&x, (uint64_t)b->stack << 32 | b->tid);
		mix(&x, b->fn);
		sum += x;
	}
	mix(d, sum);
}

static uint64_t digest(const struct event_sink *sink, const struct detector *det)
{
	const struct heap_totals *t = heap__totals(sink->model->heap);
	uint64_t d = 0;

	mix(&d, sink->model->events);
	mix(&d, sink->malformed);
	mix(&d, stack_table__count(sink->model->stacks));
	for (size_t i = 0; i < sizeof(*t) / sizeof(uint64_t); i++)
		mix(&d, ((const uint64_t *)t)[i]);
	mix_sites(&d, sink->model->heap);
	mix_threads(&d, sink->model->heap);
	mix_hist(&d, heap__size_hist(sink->model->heap));
	mix_hist(&d, heap__lifetime_hist(sink->model->heap));
	mix_windows(&d, sink->model->heap);
	mix_findings(&d, det);
	mix_live(&d, sink->model->heap);
	return d;
}

static uint64_t cpu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

static int parse_count(const char *s, size_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s == '-' || *end || v == 0 || v > (1ull << 32)) {
		ms_err("bad count '%s'", s);
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

#include <sys/resource.h>

static long peak_rss_bytes(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return ru.ru_maxrss * 1024;
}

struct timing {
	uint64_t ns, cpu_ns;  /* all the loader's work */
	uint64_t queue_ns;    /* CPU time reading the records (batches into queues) */
	uint64_t records, calls, bytes, drains;
	uint64_t max_pending; /* records queued, not yet applied, after a drain */
};

/*
 * One drain: what the threads sent since the last (their full batches, then
 * the sweep's partial ones) is read, then applied up to the sweep before
 * this one, as user/session.c does.  Without --streams everything is applied
 * at once, as this bench always did (the digest stays the same).
 */
static void drain(struct event_sink *sink, struct gen *g, const struct config *cf,
		  uint64_t *prev_sweep, struct timing *tm)
{
	uint64_t t0, c0, c1, pending, sweep = g->ts + 1;

	for (unsigned k = 0; k < g->ntids; k++)
		send_batch(g, k);
	t0 = ms_now_ns();
	c0 = cpu_now_ns();
	replay(sink, g->buf, g->buf + g->len);
	c1 = cpu_now_ns();
	pending = events__pending(sink);
	if (pending > tm->max_pending)
		tm->max_pending = pending;
	events__advance(sink, cf->streams ? *prev_sweep : UINT64_MAX);
	tm->ns += ms_now_ns() - t0;
	tm->queue_ns += c1 - c0;
	tm->cpu_ns += cpu_now_ns() - c0;
	tm->records += g->events;
	tm->calls += g->calls;
	tm->bytes += g->len;
	tm->drains++;
	*prev_sweep = sweep;
}

static void print_streams(const struct config *cf, const struct timing *tm,
			  const struct heap_totals *t, long grown, long peak)
{
	/* the loader's thread's CPU time: what it would do with a core to itself */
	double secs = (double)tm->cpu_ns / 1e9, calls_s = (double)tm->calls / secs;
	double keeps = calls_s / (double)cf->cpu_rate;

	printf("streams        %u busy CPUs, %u threads, %llu calls/s each CPU, a drain every "
	       "%llu ms (%zu calls)\n",
	       cf->streams, cf->ntids, (unsigned long long)cf->cpu_rate,
	       (unsigned long long)(DRAIN_NS / 1000000), cf->chunk);
	if (cf->sample_bytes)
		printf("sampling       --sample-bytes %llu: %.2f%% of calls sent\n",
		       (unsigned long long)cf->sample_bytes,
		       100.0 * (double)tm->records / (double)tm->calls);
	printf("loader         %.2f M records/s, %.2f M calls/s of CPU time: keeps up with %.1f such CPUs "
	       "(%.0f%% of the time reading batches into queues)\n",
	       (double)tm->records / secs / 1e6, calls_s / 1e6, keeps,
	       100.0 * (double)tm->queue_ns / (double)tm->cpu_ns);
	printf("ring buffer    %.1f bytes per record; the default 8 MiB holds %.2f ms of these "
	       "CPUs' records\n",
	       (double)tm->bytes / (double)tm->records,
	       8388608.0 / ((double)tm->bytes / (double)tm->calls * (double)cf->cpu_rate *
			    cf->streams) * 1e3);
	printf("queues         at most %llu records waiting to be merged after a drain\n",
	       (unsigned long long)tm->max_pending);
	printf("memscope-bench replay-streams streams=%u threads=%u cpu_rate=%llu sample_bytes=%llu "
	       "calls=%llu records=%llu cpu_seconds=%.3f records_per_s=%.0f calls_per_s=%.0f "
	       "cpus_kept=%.1f queue_share=%.3f max_pending=%llu live=%llu rss_bytes=%ld "
	       "peak_rss_bytes=%ld\n",
	       cf->streams, cf->ntids, (unsigned long long)cf->cpu_rate,
	       (unsigned long long)cf->sample_bytes, (unsigned long long)tm->calls,
	       (unsigned long long)tm->records, secs, (double)tm->records / secs, calls_s, keeps,
	       (double)tm->queue_ns / (double)tm->cpu_ns, (unsigned long long)tm->max_pending,
	       (unsigned long long)t->live_allocations, grown, peak);
}

static int run(const struct config *cf)
{
	struct event_sink sink = { .ordered = cf->batched };
	bool bad;
	struct model_opts mo = { .sz = sizeof(mo), .live_hint = 1024,
				 .freed_capacity = FREED_CAPACITY, .start_ns = START_NS,
				 .interval_ns = INTERVAL_NS, .sample_bytes = cf->sample_bytes };
	struct detector *det;
	const struct heap_totals *t;
	struct timing tm = { 0 };
	uint64_t prev_sweep = 0;
	struct gen g;
	long rss0, grown, peak;
	double secs;

	gen_init(&g, cf);
	rss0 = rss_bytes();
	/* as user/session.c makes them: growth is part of what is measured */
	sink.model = model__new(&mo);
	det = sink.model->detector;
	while (tm.calls < cf->events) {
		g.len = 0;
		g.events = 0;
		g.calls = 0;
		while (g.calls < cf->chunk && tm.calls + g.calls < cf->events)
			gen_op(&g);
		drain(&sink, &g, cf, &prev_sweep, &tm);
	}
	/* the end: everything left, as at the target's exit */
	{
		uint64_t t0 = ms_now_ns(), c0 = cpu_now_ns();

		events__advance(&sink, UINT64_MAX);
		tm.ns += ms_now_ns() - t0;
		tm.cpu_ns += cpu_now_ns() - c0;
	}
	t = heap__totals(sink.model->heap);
	grown = rss_bytes() - rss0;
	peak = peak_rss_bytes() - rss0;
	secs = (double)tm.ns / 1e9;

	printf("events         %llu (%llu allocations, %llu frees, %llu unknown frees, "
	       "%llu malformed)\n",
	       (unsigned long long)sink.model->events, (unsigned long long)t->allocations,
	       (unsigned long long)t->frees, (unsigned long long)t->unknown_frees,
	       (unsigned long long)sink.malformed);
	printf("stacks         %u in the table (allocation stacks and free callers)\n",
	       stack_table__count(sink.model->stacks) - 1);
	printf("throughput     %.2f M events/s on one thread (%.2f s, %.1f ns/event)\n",
	       (double)sink.model->events / secs / 1e6, secs, (double)tm.ns / (double)sink.model->events);
	/* CPU time: less disturbed than wall time on a shared machine */
	printf("cpu            %.2f M events/s of this thread's CPU time (%.2f s)\n",
	       (double)sink.model->events / ((double)tm.cpu_ns / 1e9) / 1e6, (double)tm.cpu_ns / 1e9);
	printf("live blocks    %llu at end\n", (unsigned long long)t->live_allocations);
	printf("rss growth     %.1f MiB, %.1f bytes per live block (peak %.1f MiB)\n",
	       grown / 1048576.0, (double)grown / (double)t->live_allocations, peak / 1048576.0);
	printf("digest         %016llx\n", (unsigned long long)digest(&sink, det));
	if (cf->streams)
		print_streams(cf, &tm, t, grown, peak);
	else
		printf("memscope-bench replay events=%llu seconds=%.3f events_per_s=%.0f live=%llu "
		       "rss_bytes=%ld bytes_per_live=%.1f stacks=%u\n",
		       (unsigned long long)sink.model->events, secs,
		       (double)sink.model->events / secs, (unsigned long long)t->live_allocations,
		       grown, (double)grown / (double)t->live_allocations,
		       stack_table__count(sink.model->stacks) - 1);
	bad = sink.malformed || tm.records != sink.model->events;
	events__free(&sink);
	model__free(sink.model);
	gen_fini(&g);
	return bad ? 1 : 0;
}

static int parse_opt(const char *name, const char *val, struct config *cf, size_t *threads)
{
	size_t v;

	if (!val || parse_count(val, &v))
		return -1;
	if (!strcmp(name, "--streams") && v <= 4096)
		cf->streams = (unsigned)v;
	else if (!strcmp(name, "--threads") && v <= 256)
		*threads = v;
	else if (!strcmp(name, "--cpu-rate") && v <= 100000000)
		cf->cpu_rate = v;
	else if (!strcmp(name, "--sample-bytes"))
		cf->sample_bytes = v;
	else
		return -1;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: replay [--no-batch] [--streams N [--threads T] [--cpu-rate R]] "
			"[--sample-bytes B] [events [live]]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct config cf = { .events = 10000000, .live = 1000000, .batched = true,
			     .cpu_rate = 500000 };
	size_t threads = 4;
	int i = 1;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--no-batch"))
			cf.batched = false;
		else if (i + 1 >= argc || parse_opt(argv[i], argv[i + 1], &cf, &threads))
			return usage();
		else
			i++;
	}
	if (argc - i > 2 || (argc - i > 0 && parse_count(argv[i], &cf.events)) ||
	    (argc - i > 1 && parse_count(argv[i + 1], &cf.live)))
		return usage();
	if (cf.streams) {
		/* N CPUs, T threads each, one program: calls of all threads in one time line */
		cf.ntids = cf.streams * (unsigned)threads;
		if (cf.ntids > MAX_TIDS)
			return usage();
		cf.step_ps = 1000000000000ull / (cf.cpu_rate * cf.streams);
		cf.chunk = (size_t)(cf.cpu_rate * cf.streams * (DRAIN_NS / 1000000) / 1000);
		if (!cf.step_ps || !cf.chunk)
			return usage();
	} else {
		cf.ntids = NTIDS;
		cf.step_ps = 300000; /* 300 ns between calls, as always */
		cf.chunk = BATCH;
	}
	return run(&cf);
}
