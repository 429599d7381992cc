// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reach.h"
#include "util.h"

/* A batch of block contents read at once: at most this many ranges or bytes. */
#define BATCH_RANGES 512
#define BATCH_BYTES (4u << 20)
/* The lost pass asks read() for nothing every this many blocks (a check point). */
#define FINISH_CHECK 16384

/* Working states; the classes come out of them at the end. */
enum state {
	ST_UNREACHED,
	ST_POSSIBLE,  /* reached, some link of every path an interior pointer */
	ST_REACHABLE, /* reached by start pointers only */
	ST_LEADER,    /* lost, pointed to by no other lost block (so far) */
	ST_INDIRECT,  /* lost, pointed to by a lost block */
};

struct reach {
	struct reach_block *v; /* by address */
	uint8_t *state;        /* enum state, by index */
	size_t n;
	uint64_t lo, hi;       /* no block below lo or at/above hi */
	size_t *stack;         /* blocks to scan */
	size_t nstack, cap;
	long leader;           /* the lost pass: the block whose clique is walked, else -1 */
};

static const char *const class_names[REACH__COUNT] = {
	"unknown", "definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable",
};
static const char *const class_texts[REACH__COUNT] = {
	"unknown", "definitely lost", "indirectly lost", "possibly lost", "still reachable",
};
static const char *const status_names[SCAN__COUNT] = {
	"skipped", "done", "stopped", "failed",
};

const char *reach_class__name(enum reach_class c)
{
	return (unsigned)c < REACH__COUNT ? class_names[c] : class_names[0];
}

const char *reach_class__text(enum reach_class c)
{
	return (unsigned)c < REACH__COUNT ? class_texts[c] : class_texts[0];
}

const char *scan_status__name(enum scan_status s)
{
	return (unsigned)s < SCAN__COUNT ? status_names[s] : status_names[SCAN_FAILED];
}

enum reach_class reach_result__class(const struct reach_result *r, uint64_t ptr)
{
	size_t lo = 0, hi;

	if (!r || r->status != SCAN_DONE)
		return REACH_UNKNOWN;
	hi = r->nmarks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->marks[mid].ptr < ptr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nmarks && r->marks[lo].ptr == ptr ? r->marks[lo].cls : REACH_UNKNOWN;
}

void reach_result__clear(struct reach_result *r)
{
	free(r->marks);
	memset(r, 0, sizeof(*r));
}

static int by_ptr(const void *a, const void *b)
{
	const struct reach_block *x = a, *y = b;

	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

struct reach *reach__new(const struct reach_block *blocks, size_t n)
{
	struct reach *r = xcalloc(1, sizeof(*r));

	r->v = xmalloc((n ? n : 1) * sizeof(*r->v));
	size_t k = 1;

	if (n)
		memcpy(r->v, blocks, n * sizeof(*r->v));
	/* the scan hands them sorted already (record/scan.c: chunk_links()) */
	while (k < n && r->v[k - 1].ptr <= r->v[k].ptr)
		k++;
	if (k < n)
		qsort(r->v, n, sizeof(*r->v), by_ptr);
	r->state = xcalloc(n ? n : 1, 1);
	r->n = n;
	r->lo = n ? r->v[0].ptr : 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t end = r->v[i].ptr + (r->v[i].size ? r->v[i].size : 1);

		if (end > r->hi)
			r->hi = end;
	}
	r->leader = -1;
	return r;
}

void reach__free(struct reach *r)
{
	if (!r)
		return;
	free(r->v);
	free(r->state);
	free(r->stack);
	free(r);
}

size_t reach__count(const struct reach *r)
{
	return r->n;
}

const struct reach_block *reach__block(const struct reach *r, size_t i)
{
	return &r->v[i];
}

long reach__find(const struct reach *r, uint64_t addr)
{
	size_t lo = 0, hi = r->n;
	const struct reach_block *b;

	if (addr < r->lo || addr >= r->hi)
		return -1;
	/* the last block starting at or below addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->v[mid].ptr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	b = &r->v[lo - 1];
	if (addr == b->ptr || addr - b->ptr < b->size)
		return (long)(lo - 1);
	return -1;
}

static void push(struct reach *r, size_t i)
{
	if (r->nstack == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->stack = xrealloc(r->stack, r->cap * sizeof(*r->stack));
	}
	r->stack[r->nstack++] = i;
}

/*
 * A word that may point into a block, found in memory whose own standing is
 * definite (a root, a block reached by start pointers) or not.
 */
static void reach_word(struct reach *r, uint64_t w, bool definite)
{
	long i = reach__find(r, w);
	uint8_t *st;

	if (i < 0 || (r->v[i].link && w == r->v[i].link))
		return;
	st = &r->state[i];
	if (r->leader >= 0) {
		/* the lost pass: any pointer from a lost block makes it indirect */
		if (*st == ST_UNREACHED) {
			*st = ST_INDIRECT;
			push(r, (size_t)i);
		} else if (*st == ST_LEADER && i != r->leader) {
			/* an earlier leader is pointed to by this clique: its own
			 * clique is already marked indirect, no walk needed */
			*st = ST_INDIRECT;
		}
		return;
	}
	if (*st == ST_REACHABLE)
		return;
	if (w == r->v[i].ptr && definite) {
		*st = ST_REACHABLE;
		push(r, (size_t)i);
	} else if (*st == ST_UNREACHED) {
		*st = ST_POSSIBLE;
		push(r, (size_t)i);
	}
}

void reach__roots(struct reach *r, const uint64_t *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (words[i] >= r->lo && words[i] < r->hi)
			reach_word(r, words[i], true);
}

void reach__roots_at(struct reach *r, uint64_t addr, const uint64_t *words, size_t n)
{
	size_t lo = 0, hi = r->n, j;

	/* the first block that ends after addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->v[mid].ptr + r->v[mid].size <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	j = lo;
	for (size_t k = 0; k < n; k++, addr += 8) {
		while (j < r->n && r->v[j].ptr + r->v[j].size <= addr)
			j++;
		if (j < r->n && r->v[j].ptr <= addr)
			continue;
		if (words[k] >= r->lo && words[k] < r->hi)
			reach_word(r, words[k], true);
	}
}

/* A piece of a block to read: [addr, addr + len) of block idx. */
struct piece {
	size_t idx;
	uint64_t addr;
	size_t len;
};

struct batch {
	struct piece p[BATCH_RANGES];
	struct reach_read rd[BATCH_RANGES];
	size_t n, bytes;
	uint64_t *buf; /* BATCH_BYTES */
};

/* Scans the pieces read; pointers found push more blocks. */
static void scan_batch(struct reach *r, struct batch *b)
{
	for (size_t k = 0; k < b->n; k++) {
		const uint64_t *w = b->rd[k].buf;
		bool definite = r->state[b->p[k].idx] == ST_REACHABLE;

		for (size_t j = 0; j < b->p[k].len / 8; j++)
			if (w[j] >= r->lo && w[j] < r->hi)
				reach_word(r, w[j], definite);
	}
}

static int flush(struct reach *r, struct batch *b, reach_read_fn read, void *ctx)
{
	size_t off = 0;
	int err;

	if (!b->n)
		return 0;
	for (size_t k = 0; k < b->n; k++) {
		b->rd[k] = (struct reach_read){ .addr = b->p[k].addr,
						.buf = (char *)b->buf + off, .len = b->p[k].len };
		off += b->p[k].len;
	}
	err = read(ctx, b->rd, b->n);
	if (!err)
		scan_batch(r, b);
	b->n = b->bytes = 0;
	return err;
}

/* Scans every block on the stack and what they lead to. */
static int drain(struct reach *r, struct batch *b, reach_read_fn read, void *ctx)
{
	int err = 0;

	while (!err && (r->nstack || b->n)) {
		const struct reach_block *blk;
		uint64_t start, end;

		if (!r->nstack) {
			err = flush(r, b, read, ctx);
			continue;
		}
		blk = &r->v[r->stack[--r->nstack]];
		/* the aligned words inside the block */
		start = (blk->ptr + 7) & ~7ull;
		end = (blk->ptr + blk->size) & ~7ull;
		while (!err && start < end) {
			size_t len = end - start;

			if (len > BATCH_BYTES - b->bytes)
				len = BATCH_BYTES - b->bytes;
			b->p[b->n++] = (struct piece){ .idx = (size_t)(blk - r->v),
						       .addr = start, .len = len };
			b->bytes += len;
			start += len;
			if (b->n == BATCH_RANGES || b->bytes == BATCH_BYTES)
				err = flush(r, b, read, ctx);
		}
	}
	return err;
}

int reach__finish(struct reach *r, reach_read_fn read, void *ctx)
{
	struct batch *b = xcalloc(1, sizeof(*b));
	int err;

	b->buf = xmalloc(BATCH_BYTES);
	err = drain(r, b, read, ctx);
	for (size_t i = 0; !err && i < r->n; i++) {
		/* an empty read now and then: the caller may stop the marking there */
		if (!(i % FINISH_CHECK) && i)
			err = read(ctx, NULL, 0);
		if (err || r->state[i] != ST_UNREACHED)
			continue;
		r->state[i] = ST_LEADER;
		r->leader = (long)i;
		push(r, i);
		err = drain(r, b, read, ctx);
	}
	r->leader = -1;
	free(b->buf);
	free(b);
	return err;
}

enum reach_class reach__class(const struct reach *r, size_t i)
{
	switch (r->state[i]) {
	case ST_REACHABLE:
		return REACH_STILL_REACHABLE;
	case ST_POSSIBLE:
		return REACH_POSSIBLY_LOST;
	case ST_LEADER:
		return REACH_DEFINITELY_LOST;
	case ST_INDIRECT:
		return REACH_INDIRECTLY_LOST;
	default:
		return REACH_UNKNOWN;
	}
}
