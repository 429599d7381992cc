/* SPDX-License-Identifier: MIT */
/*
 * Decoding of ring-buffer records and the one dispatcher, handle_event():
 * the recording side's end.  Records are checked, decoded, batched ones
 * merged into time order, annotation strings completed from the target's
 * memory, and each goes to the model (user/model/model.h) and, when recording, to
 * the capture file (user/record/recording.h).
 *
 * The BPF side sends raw arguments; events__decode_alloc() applies each
 * function's calling convention (calloc's n * size, posix_memalign's
 * alignment, realloc's old pointer, ...).  Pure and unit-tested.
 */
#ifndef MS_EVENTS_H
#define MS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h" /* struct alloc_call, struct free_call */
#include "mappings.h" /* struct map_call */
#include "memscope_events.h"
#include "model.h"

struct model;
struct recording;
struct symbolizer;

/*
 * Batched records (MS_EV_BATCH) come a thread at a time: each thread's in
 * order, but a thread's records may reach us long after another thread's
 * later ones.  They wait in one queue per thread and are merged by their
 * timestamps: events__advance() applies, oldest first across threads, those
 * older than a time before which nothing more can come (the loader's
 * previous sweep of the threads).
 */
struct ev_queue {
	uint32_t tid;
	uint64_t head_ts; /* of the record at head, while len > 0 */
	size_t head, len, cap; /* a ring of cap (a power of two) records */
	/* records as BPF sent them; type MS_EV_ANNOT: an annotation (events.c) */
	union ms_batch_slot *v;
};

struct ev_merge {
	struct ev_queue **heap; /* the queues that hold records, by their oldest */
	size_t nheap, heap_cap;
	struct ev_queue **tab;  /* the same queues by tid (linear probing) */
	size_t tab_cap;
	struct ev_queue **spare; /* emptied queues, kept for reuse */
	size_t nspare, spare_cap;
	uint64_t pending;       /* records waiting */
	uint64_t last_ts;       /* of the newest record applied */
};

/* Where decoded events go.  Not owned by the dispatcher. */
struct event_sink {
	struct model *model;
	struct recording *rec;  /* when recording: a copy of each record; may be NULL */
	struct symbolizer *sym; /* may be NULL: addresses are then not tracked */
	/* whose memory holds the annotation strings BPF could not read; 0: none */
	int pid;
	uint64_t malformed;     /* records too short or of unknown type */
	/*
	 * Batching: annotations wait in their thread's queue too (they follow
	 * that thread's earlier records).  Set before the first record.
	 */
	bool ordered;
	bool follow;            /* -f: threads are routed to their process (MODEL_PROC_THREAD) */
	/* the traced processes with images of their own, whose maps the symbolizer
	 * reads too (events__own_maps()); nexeced of them */
	uint32_t *execed;
	size_t nexeced;
	/* --all: processes that execed since the session last took them (MS_PROCEV_IMAGE) */
	uint32_t *images;
	size_t nimages, cap_images;
	uint64_t late;          /* records applied after a later one (came too late) */
	/*
	 * When not 0: handle_event() returns -EAGAIN, which ends
	 * ring_buffer__consume(), once this time (ms_now_ns()) has passed or
	 * stop_pending records wait for their merge; the record it was given
	 * is taken all the same.
	 */
	uint64_t stop_at_ns;
	uint64_t stop_pending;
	unsigned since_clock;   /* records taken since the clock was last read */
	struct ev_merge merge;
};

/* Fills c from e, except c->stack (the caller maps e->stack). */
void events__decode_alloc(const struct ms_ev_alloc *e, struct alloc_call *c);
void events__decode_free(const struct ms_ev_free *e, struct free_call *c);
/* Fills c from e (c->stack not set), lengths rounded up to page bytes. */
void events__decode_map(const struct ms_ev_map *e, struct map_call *c, uint64_t page);

/* libbpf ring_buffer callback: ctx is a struct event_sink.  0, or -EAGAIN
 * past stop_at_ns or stop_pending (the record is taken).  The last records may stay
 * queued in the model: model__flush() before reading its state. */
int handle_event(void *ctx, void *data, size_t size);
/* -f: a process event (from BPF, or the session's at attach), to the model and the capture. */
void events__proc(struct event_sink *s, const struct model_proc_event *e);
/*
 * Process pid runs an image of its own (a child that execed, another -p
 * pid, a --comm process): its maps name its stacks' addresses
 * (symbolizer__add_process()), again after the target's exec (execed).
 */
void events__own_maps(struct event_sink *s, uint32_t pid);
/* A thread's name, read by the session from /proc (a record like BPF's). */
void events__thread(struct event_sink *s, uint32_t tid, const char *name);
/* A slack reading the session made itself (MS_SLACK_FINAL), a record like BPF's. */
void events__slack(struct event_sink *s, const struct ms_ev_slack *e);
/*
 * --check-overflow: the blocks still live whose slack was not compared yet,
 * read from the target's memory now (its address space must exist) and
 * given as MS_SLACK_FINAL readings at now_ns.
 */
void events__final_slack(struct event_sink *s, uint64_t now_ns);
/* Applies, in time order, the batched records older than until_ns
 * (UINT64_MAX: all of them), then what is read ahead. */
void events__advance(struct event_sink *s, uint64_t until_ns);
/* Records waiting to be merged. */
uint64_t events__pending(const struct event_sink *s);
/* Frees what the merge holds (records still waiting are dropped). */
void events__free(struct event_sink *s);

#endif
