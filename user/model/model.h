/* SPDX-License-Identifier: MIT */
/*
 * The model: everything the reports are built from (stacks, heap, detector,
 * annotations, timeline, thread names), fed one decoded record at a time.
 *
 * The model reads nothing from the target, the kernel or the clock: the same
 * records in the same order give the same model, whether they come from the
 * ring buffer (user/record/events.c) or from a capture file (user/record/recording.c).
 * What only the live side can know (a thread's name read from /proc, the
 * target's RSS, strings BPF could not read) reaches it as records too.
 *
 * Allocation and release records are read ahead: decoded and queued, the
 * table slots they will look up prefetched, a few records later what those
 * lead to, and applied MODEL_READ_AHEAD records later, so their cache misses
 * overlap instead of following one another.  Any other record first applies
 * what is queued, so the model sees every record in order.
 */
#ifndef MS_MODEL_H
#define MS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "annotations.h"
#include "detect.h"
#include "growth.h"
#include "heap.h"
#include "mappings.h"
#include "memscope_events.h"
#include "footprint.h"
#include "overflow.h"
#include "stacks.h"
#include "thread_names.h"
#include "timeline.h"

#define MODEL_READ_AHEAD 8

struct model_slot {
	bool is_free;
	bool mapped;     /* its stack is mapped (model.c: MAP_AT) */
	uint16_t flags;
	uint64_t hash;   /* the record's stack hash and caller */
	uint64_t caller;
	union {
		struct alloc_call a;
		struct free_call f;
	};
};

struct model_opts {
	size_t sz;
	size_t live_hint;       /* live blocks expected (the live table's first size) */
	size_t freed_capacity;  /* released blocks the detector remembers */
	uint64_t start_ns;      /* tracing started: the timeline's and windows' origin */
	uint64_t interval_ns;   /* --interval */
	uint64_t sample_bytes;  /* --sample-bytes; 0: every call */
	uint64_t mixed_fns;     /* detector__set_mixed_families() */
	uint32_t pid;           /* the target's: a fork by it hands its blocks to the child */
	/*
	 * --all: the processes' calls keep no site (stack 0).  Their callers'
	 * addresses differ in each process (ASLR), so sites would grow with
	 * every process, and each heap's site array with them (~300 KB a
	 * process seen); nothing symbolizes them without a symbolizer per
	 * process.  Their heaps keep totals and blocks.
	 */
	bool procs_without_sites;
	/* asked about releases of addresses not live (detect.h); may be NULL */
	detector_internal_fn internal;
	void *internal_ctx;
};

/*
 * The target execed: the image before it is closed out, its totals kept
 * (its blocks still live are "live at exec", not leaks of the new image),
 * and the heap, detector and annotations start afresh for the new one.
 * Stacks, thread names and the timeline span the whole run.
 */
struct model_exec {
	uint64_t ts_ns;
	char *comm;                /* the new image's name */
	char *cmdline;
	struct heap_totals closed; /* the image that ended here, at its end */
	uint64_t threads;          /* threads of the closed image that called */
};

/*
 * What a forked child holds of its parent's heap: copy-on-fork.  The
 * parent's blocks live at the fork are the child's too (a copy of each), but
 * not its allocations: they are neither its live blocks nor its leaks, and
 * its release of one (before it execs) is an inherited free, not an unknown
 * one.  Records arrive late (batches), so nothing is copied at the fork:
 * a release is looked up in the parent's table (a block older than the
 * fork), and the parent's own releases after the fork of blocks older
 * than it are copied to the child then (copy).  A grandchild asks its
 * parent's the same way.
 */
struct model_inherit {
	struct model *m;
	uint32_t pid, ppid;
	uint64_t fork_ns;           /* 0: nothing inherited (found at attach, untraced parent) */
	uint64_t exec_ns;           /* its exec: later releases are the new program's */
	uint64_t end_ns;            /* its exit, 0 while it runs */
	bool parent_hooked;         /* its heap tells its children of its releases */
	uint32_t *kids;             /* its children that may hold copies (procs index + 1) */
	size_t nkids;
	struct live_table *copy;    /* the parent's blocks it released after the fork */
	struct live_table *claimed; /* inherited blocks released already */
	uint64_t frees;             /* releases of inherited blocks */
};

/*
 * -f: another process traced beside the target (a child it forked, or one
 * running below a -p target), with a heap of its own: the same address is
 * another block in each process.  Its threads' calls go to its heap
 * (model__proc(), MODEL_PROC_THREAD), watched by a detector of its own.
 * Stacks are shared with the target's.
 */
struct model_proc {
	uint32_t pid, ppid;    /* ppid 0: found running below a -p target at attach */
	char comm[16];
	char *cmdline;         /* NULL: not read (it had exited, or was not readable) */
	uint64_t start_ns, end_ns; /* end 0: still running when tracing ended */
	bool exited;
	int status;            /* exited: waitpid()'s form */
	/* --all: this image ended at end_ns by an exec (its blocks were released then) */
	bool execed;
	uint32_t prev;         /* --all: the image before its exec (an index + 1; 0: none) */
	struct heap *heap;
	struct detector *detector;
	struct model_inherit *inherit;
};

enum model_proc_kind {
	MODEL_PROC_FORK = 1,   /* pid starts (forked by ppid, or found at attach) */
	MODEL_PROC_EXIT = 2,   /* pid's last thread exited with status */
	MODEL_PROC_THREAD = 3, /* thread tid (in ppid's place) belongs to process pid */
	MODEL_PROC_NAME = 4,   /* pid execed: its comm and cmdline (NULL: not read) */
	/* --all: pid execed: its image so far is closed out, a new one (comm, cmdline) begins;
	 * calls stamped before ts_ns still go to the old one */
	MODEL_PROC_IMAGE = 5,
};

struct model_proc_event {
	uint8_t kind;          /* enum model_proc_kind */
	uint64_t ts_ns;
	uint32_t pid;
	uint32_t other;        /* FORK: the parent; THREAD: the thread; EXIT: 0 */
	int32_t status;        /* EXIT */
	const char *comm;      /* FORK, NAME: its name; EXIT: its name then; may be NULL */
	const char *cmdline;   /* FORK, NAME: its command line, when read; else NULL */
};

/* The parts are the model's; read them, feed them only through model__*(). */
struct model {
	struct stack_table *stacks;
	struct heap *heap;
	struct detector *detector;
	struct annotations *annots;
	struct timeline *timeline;
	struct growth *growth;   /* per-site bytes in use on the timeline's samples */
	struct thread_names *names;
	struct overflow_check *overflow; /* NULL without --check-overflow */
	enum overflow_way overflow_way;  /* 0 without --check-overflow */
	struct footprint *footprint;
	struct mappings *maps;   /* anonymous mappings and the break heap */
	bool maps_traced;        /* a mapping record came (or the run said it traces them) */
	uint64_t stack_lost; /* events whose stack could not be sent */
	uint64_t events;     /* alloc and free records applied */
	struct model_inherit target_side; /* the target as a parent (copy-on-fork) */
	struct model_exec *execs; /* in order; nexecs of them */
	size_t nexecs;
	struct model_opts opts;   /* a new image's heap is made as the first */
	struct model_proc *procs; /* -f: in order of appearance; nprocs of them */
	size_t nprocs;
	struct { uint32_t tid, proc; } *tids; /* threads of procs: proc is an index + 1 */
	size_t ntids;
	uint32_t last_tid, last_tid_proc; /* proc_of()'s last answer (proc 0: none) */
	/* read ahead, not applied yet */
	struct model_slot queue[MODEL_READ_AHEAD];
	unsigned qhead, qlen;
};

/* Aborts when out of memory, like the parts it makes. */
struct model *model__new(const struct model_opts *opts);
void model__free(struct model *m);

/*
 * A call, decoded (events__decode_alloc(), c->stack not set), with the
 * record's stack hash, caller and MS_EVF_* flags.  c is copied.
 */
void model__alloc(struct model *m, const struct alloc_call *c, uint64_t hash, uint64_t caller,
		  uint16_t flags);
void model__free_call(struct model *m, const struct free_call *c, uint64_t hash,
		      uint64_t caller, uint16_t flags);
/* A stack's frames (idempotent for a known hash); truncated: enum ms_stack_end. */
void model__stack(struct model *m, uint64_t hash, const uint64_t *ips, uint32_t nframes,
		  uint8_t truncated);
/*
 * An mmap, munmap, mremap or brk, decoded (c->stack not set), with its
 * record's stack hash: applied after every call before it.
 */
void model__map_call(struct model *m, const struct map_call *c, uint64_t hash);
/* An annotation, its strings already read (name_addr & co. are not used). */
void model__annot(struct model *m, const struct ms_ev_annot *e);
void model__thread(struct model *m, uint32_t tid, const char *name);
/* -f: a process joins, leaves, or names a thread of its own (struct model_proc). */
void model__proc(struct model *m, const struct model_proc_event *e);
/* Whether pid is the target or another process traced (its fork applied, not its exit). */
bool model__traces(const struct model *m, uint32_t pid);
/* The target execed at ts_ns into comm (cmdline): see struct model_exec. */
void model__exec(struct model *m, uint64_t ts_ns, const char *comm, const char *cmdline);
/* --check-overflow: slack readings will come (model.overflow); before any call. */
void model__check_overflow(struct model *m, enum overflow_way way);
/* --check-overflow: a reading of a block's end (ignored without the check). */
void model__slack(struct model *m, const struct ms_ev_slack *e);
/* The target's resident set at now_ns (TIMELINE_NO_RSS: unknown, gone). */
void model__rss(struct model *m, uint64_t now_ns, uint64_t rss_bytes);
/* The allocator's candidate mappings read at now_ns (model/footprint.h). */
void model__footprint(struct model *m, uint64_t now_ns, const struct footprint_range *v,
		      size_t n);
/* The records up to now_ns are in: the timeline's grid points up to it
 * are sampled (with force, now_ns too). */
void model__tick(struct model *m, uint64_t now_ns, bool force);
/* Applies every record read ahead. */
void model__flush(struct model *m);

#endif
