/* SPDX-License-Identifier: MIT */
/*
 * Throughput of the heap model (heap__alloc/heap__release over the live
 * table) on a synthetic trace shaped like a real program's: a working set of
 * about a million live blocks, random frees, some reallocs, and addresses the
 * way glibc hands them out (one bump-allocated arena, 16-aligned, freed
 * addresses reused last-in first-out per size class).
 *
 * The trace is generated in batches outside the timed part, so only the heap
 * model is measured.  RSS is read before the heap is made and at the end, after
 * the generator's own memory was allocated and touched, so the growth is the
 * heap model's.
 *
 *   live_table_bench [ops [working_set [ns_per_op]]]   (default 20000000 1000000 1)
 *
 * ns_per_op spaces the calls' timestamps: the allocation windows (100 ms
 * buckets) have more entries the longer the trace seems to last.
 *
 * Build: cc -O2 -D_GNU_SOURCE -Iinclude -Iuser -o live_table_bench \
 *        bench/live_table_bench.c user/model/heap.c user/model/live_table.c user/util.c
 * With the findings detector's hooks installed (FIFO of 256 Ki, as a session
 * has), add -DBENCH_DETECTOR and user/model/detect.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap.h"
#include "memscope_events.h"
#include "util.h"
#ifdef BENCH_DETECTOR
#include "detect.h"
#endif

#define BATCH 65536
#define NCLASSES 96
#define NSTACKS 2000
#define ARENA_BASE 0x555555559000ull

enum op_kind { OP_MALLOC, OP_REALLOC, OP_FREE };

struct op {
	uint64_t ptr;
	uint64_t old_ptr;
	uint64_t size;
	uint32_t stack;
	uint8_t kind;
};

/* the synthetic program's allocator and its live blocks */
struct gen {
	uint64_t rng;
	uint64_t bump;
	size_t working_set;
	/* addresses by id: an id per address ever bump-allocated */
	uint64_t *addr;
	uint32_t *next_free; /* per-class LIFO free lists, linked by id */
	uint32_t free_head[NCLASSES];
	size_t naddr, max_addr;
	/* live blocks, for picking one at random to free */
	uint32_t *live_id;
	uint64_t *live_size;
	uint32_t *live_stack;
	size_t nlive, max_live;
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

/* skewed: a few sites make most blocks, as in real programs */
static uint32_t pick_stack(struct gen *g)
{
	uint64_t r = rnd(g) % NSTACKS;

	return 1 + (uint32_t)(r * r / NSTACKS);
}

static uint32_t take_address(struct gen *g, unsigned c)
{
	uint32_t id = g->free_head[c];

	if (id) {
		g->free_head[c] = g->next_free[id];
		return id;
	}
	if (g->naddr == g->max_addr) {
		ms_err("bench: more than %zu distinct addresses", g->max_addr);
		exit(1);
	}
	id = (uint32_t)g->naddr++;
	/* a 16-byte chunk header before each block, as in glibc */
	g->addr[id] = g->bump + 16;
	g->bump += 16 + class_bytes(c);
	return id;
}

static void give_back(struct gen *g, uint32_t id, uint64_t size)
{
	unsigned c = size_class(size);

	g->next_free[id] = g->free_head[c];
	g->free_head[c] = id;
}

static void gen_malloc(struct gen *g, struct op *o)
{
	uint64_t size = pick_size(g);
	uint32_t id = take_address(g, size_class(size));

	g->live_id[g->nlive] = id;
	g->live_size[g->nlive] = size;
	g->live_stack[g->nlive] = pick_stack(g);
	*o = (struct op){ .kind = OP_MALLOC, .ptr = g->addr[id], .size = size,
			  .stack = g->live_stack[g->nlive] };
	g->nlive++;
}

static void gen_free(struct gen *g, struct op *o)
{
	size_t i = rnd(g) % g->nlive;

	*o = (struct op){ .kind = OP_FREE, .ptr = g->addr[g->live_id[i]],
			  .stack = pick_stack(g) };
	give_back(g, g->live_id[i], g->live_size[i]);
	g->nlive--;
	g->live_id[i] = g->live_id[g->nlive];
	g->live_size[i] = g->live_size[g->nlive];
	g->live_stack[i] = g->live_stack[g->nlive];
}

/* grows or shrinks a random block: in place when the class stays the same */
static void gen_realloc(struct gen *g, struct op *o)
{
	size_t i = rnd(g) % g->nlive;
	uint64_t size = rnd(g) % 2 ? g->live_size[i] * 2 : g->live_size[i] / 2 + 1;
	uint32_t id = g->live_id[i];

	*o = (struct op){ .kind = OP_REALLOC, .old_ptr = g->addr[id], .size = size,
			  .stack = g->live_stack[i] };
	if (size_class(size) != size_class(g->live_size[i])) {
		give_back(g, id, g->live_size[i]);
		id = take_address(g, size_class(size));
	}
	o->ptr = g->addr[id];
	g->live_id[i] = id;
	g->live_size[i] = size;
}

/* below the working set: mostly allocate; above it: mostly free */
static void gen_op(struct gen *g, struct op *o)
{
	uint64_t r = rnd(g) % 100;
	uint64_t p_alloc = g->nlive < g->working_set ? 52 : 48;

	if (g->nlive < g->working_set * 9 / 10 || g->nlive == 0)
		p_alloc = 100;
	if (r < 5 && g->nlive)
		gen_realloc(g, o);
	else if (r < 5 + p_alloc * 95 / 100 || g->nlive == 0)
		gen_malloc(g, o);
	else
		gen_free(g, o);
}

static void replay(struct heap *h, const struct op *ops, size_t n, uint64_t first,
		   uint64_t ns_per_op)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct op *o = &ops[i];
		uint64_t ts = (first + i) * ns_per_op;

		if (o->kind == OP_FREE) {
			struct free_call c = { .fn = MS_FN_FREE, .tid = 1, .ts_ns = ts,
					       .ptr = o->ptr, .stack = o->stack };

			heap__release(h, &c);
		} else {
			struct alloc_call c = {
				.fn = o->kind == OP_REALLOC ? MS_FN_REALLOC : MS_FN_MALLOC,
				.is_realloc = o->kind == OP_REALLOC, .tid = 1, .ts_ns = ts,
				.ptr = o->ptr, .size = o->size, .old_ptr = o->old_ptr,
				.stack = o->stack,
			};

			heap__alloc(h, &c);
		}
	}
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

/* allocated and touched now, so it does not count as the heap model's RSS */
static void *touched(size_t n, size_t size)
{
	void *p = xcalloc(n, size);

	memset(p, 0, n * size);
	return p;
}

static void gen_init(struct gen *g, size_t working_set)
{
	memset(g, 0, sizeof(*g));
	g->rng = 0x9e3779b97f4a7c15ull;
	g->bump = ARENA_BASE;
	g->working_set = working_set;
	g->max_addr = working_set * 4 + 1024;
	g->max_live = working_set * 2 + 1024;
	g->addr = touched(g->max_addr, sizeof(*g->addr));
	g->next_free = touched(g->max_addr, sizeof(*g->next_free));
	g->naddr = 1; /* id 0 ends the free lists */
	g->live_id = touched(g->max_live, sizeof(*g->live_id));
	g->live_size = touched(g->max_live, sizeof(*g->live_size));
	g->live_stack = touched(g->max_live, sizeof(*g->live_stack));
}

static void gen_fini(struct gen *g)
{
	free(g->addr);
	free(g->next_free);
	free(g->live_id);
	free(g->live_size);
	free(g->live_stack);
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

static void run(size_t nops, size_t working_set, size_t ns_per_op)
{
	struct op *ops = touched(BATCH, sizeof(*ops));
	const struct heap_totals *t;
	struct gen g;
	struct heap *h;
	uint64_t ns = 0, done = 0;
	long rss0, grown;
	size_t nwindows;
	uint64_t bucket_ns;
#ifdef BENCH_DETECTOR
	struct detector *d;
	size_t nfindings;
#endif

	gen_init(&g, working_set);
	rss0 = rss_bytes();
	/* no size hint: growth is part of what is measured */
	h = heap__new(0);
#ifdef BENCH_DETECTOR
	d = detector__new(h, 256 * 1024);
#endif
	while (done < nops) {
		size_t n = nops - done < BATCH ? nops - done : BATCH, i;
		uint64_t t0;

		for (i = 0; i < n; i++)
			gen_op(&g, &ops[i]);
		t0 = ms_now_ns();
		replay(h, ops, n, done, ns_per_op);
		ns += ms_now_ns() - t0;
		done += n;
	}
	t = heap__totals(h);
	grown = rss_bytes() - rss0;

	printf("ops            %llu (%llu allocations, %llu frees, %llu unknown frees)\n",
	       (unsigned long long)done, (unsigned long long)t->allocations,
	       (unsigned long long)t->frees, (unsigned long long)t->unknown_frees);
	printf("throughput     %.1f Mops/s (%.2f s, %.1f ns/op)\n", done / (ns / 1e3),
	       ns / 1e9, (double)ns / done);
	printf("live blocks    %llu at end, %.1f MiB live\n",
	       (unsigned long long)t->live_allocations, t->live_bytes / 1048576.0);
	printf("rss growth     %.1f MiB, %.1f bytes per live block (slot %zu bytes)\n",
	       grown / 1048576.0, (double)grown / (double)t->live_allocations,
	       sizeof(struct live_block));
	heap__windows(h, &nwindows, &bucket_ns, NULL);
	printf("windows        %zu entries, %.1f ms wide\n", nwindows, bucket_ns / 1e6);
#ifdef BENCH_DETECTOR
	detector__findings(d, &nfindings);
	printf("findings       %zu (with the detector)\n", nfindings);
	detector__free(d);
#endif
	heap__free(h);
	gen_fini(&g);
	free(ops);
}

int main(int argc, char **argv)
{
	size_t nops = 20000000, working_set = 1000000, ns_per_op = 1;

	if (argc > 4 || (argc > 1 && parse_count(argv[1], &nops)) ||
	    (argc > 2 && parse_count(argv[2], &working_set)) ||
	    (argc > 3 && parse_count(argv[3], &ns_per_op))) {
		fprintf(stderr, "usage: live_table_bench [ops [working_set [ns_per_op]]]\n");
		return 1;
	}
	run(nops, working_set, ns_per_op);
	return 0;
}
