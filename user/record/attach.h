/* SPDX-License-Identifier: MIT */
/*
 * The BPF side's lifecycle: open the skeleton, set its read-only config and
 * map sizes, load, attach probes to each allocator object, read counters.
 * The allocator probes are uprobe_multi links (Linux 6.6: three per object,
 * quick to detach), or where the kernel refuses them one perf-event uprobe
 * each; annotations are libbpf's USDT links.  No tracefs is needed, and
 * every probe carries the target's pid as its filter, so other processes
 * that map the same library take no trap.
 */
#ifndef MS_ATTACH_H
#define MS_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "discover.h"
#include "memscope_events.h"

/* How mmap, munmap, mremap and brk are traced (MS_EV_MAP). */
enum tracer_maps {
	TRACER_MAPS_OFF = 0, /* --no-mappings, or the kernel refused both programs */
	TRACER_MAPS_BTF,     /* tp_btf/sys_exit (Linux 5.5) */
	TRACER_MAPS_RAW,     /* raw_tp/sys_exit: where tp_btf is refused */
};

struct tracer_opts {
	size_t sz;
	int pid;
	bool alloc_stacks;
	bool free_stacks;
	uint64_t sample_bytes;  /* 0: every call; else the mean gap between samples */
	uint32_t ringbuf_bytes; /* power of two, >= 4096; 0 for the default */
	enum ms_unwind_mode unwind_mode;
	uint32_t unwind_rows;   /* capacity of the rows' map (auto, dwarf) */
	bool batch;             /* queue records per thread in BPF (MS_EV_BATCH) */
	/*
	 * -f: the processes the target forks are traced too (BPF adds them to
	 * its set as they are forked); the probes then carry no pid filter:
	 * every process mapping a probed file traps, BPF drops the others.
	 */
	bool follow;
	/* -p PID,PID,...: processes besides the target (tracer__add_proc()), probes as with follow */
	bool several;
	/* --comm: processes that take this name later (exec, fork) join the traced set */
	const char *comm;
	/*
	 * --all: every process joins the traced set at its first call, but
	 * self_pid's and its children's; pid is 0 (no target).  cgroup_id not 0
	 * (--cgroup): only processes below that cgroup v2 directory, at
	 * cgroup_level below the root.
	 */
	bool all;
	int self_pid;
	uint64_t cgroup_id;
	uint32_t cgroup_level;
	bool check_overflow;    /* MS_EV_SLACK records (glibc's malloc; never with sampling) */
	bool overflow_canary;   /* with it: fill the slack first (bpf_probe_write_user) */
	int mappings;           /* enum tracer_maps: how mmap & co. are traced */
};

struct tracer;

/* A feature the kernel refused, and what the tracer does instead. */
struct tracer_degraded {
	char feature[40];  /* "DWARF unwinding", "batching", ... */
	char reason[256];  /* the refused program and the verifier's last word, or an errno */
	char instead[80];
};

#define TRACER_MAX_DEGRADED 8

/*
 * What a loaded tracer runs with: the options asked for, less what the
 * kernel refused on the fallback ladder (DWARF unwinding -> frame
 * pointers -> no stacks; batching -> one record per call; uprobe_multi
 * links -> perf-event uprobes), each refusal in degraded.
 */
struct tracer_mode {
	bool multi, batch, alloc_stacks, free_stacks;
	bool overflow_canary; /* the slack is filled (else only read, when checked) */
	enum ms_unwind_mode unwind_mode;
	int mappings; /* enum tracer_maps */
	struct tracer_degraded degraded[TRACER_MAX_DEGRADED];
	size_t ndegraded;
};

/* One program's verification, as tracer__verify() found it. */
struct prog_verdict {
	char name[64];
	long insns;     /* instructions the verifier processed; -1: unknown */
	int err;        /* 0 when it loaded, else the load's negative errno */
	char last[200]; /* the verifier's last line when it refused the program */
};

/*
 * Loads each program of the configuration opts (multi: with uprobe_multi's
 * attach type) on its own, the verifier asked for its statistics, and
 * unloads it.  Fills up to max verdicts; returns how many, or a negative
 * errno when the object cannot even be opened.  For --check and the
 * verifier budget's test: nothing stays loaded.
 */
int tracer__verify(const struct tracer_opts *opts, bool multi, struct prog_verdict *out,
		   size_t max);
/* N of a verifier log's "processed N insns", or -1 (exposed for its unit test). */
long tracer__parse_processed(const char *log);

/*
 * Opens and loads the BPF object, going down the fallback ladder while the
 * kernel refuses a part (one warning line each).  NULL with errno set
 * (message printed) only when nothing at all can be loaded.
 */
struct tracer *tracer__new(const struct tracer_opts *opts);
/* What runs; valid until tracer__free().  tracer__attach() may add a degradation. */
const struct tracer_mode *tracer__mode(const struct tracer *t);
/* Whether the kernel has uprobe_multi links (6.6), asked cheaply. */
bool tracer__has_uprobe_multi(void);
void tracer__free(struct tracer *t);

/* Attaches to every entry point of every object.  Returns the number of
 * probes attached (> 0) or a negative errno (message printed). */
int tracer__attach(struct tracer *t, const struct alloc_objects *objs);
/*
 * Attaches the probes of objects added later (the image a traced process
 * execs), in the mode tracer__attach() settled on.  The number attached
 * (0 when objs has none), or a negative errno (message printed).
 */
int tracer__attach_more(struct tracer *t, const struct alloc_objects *objs);

/* -f, several: traces process pid too (one running below a -p target, or another -p pid).
 * 0 or negative errno. */
int tracer__add_proc(struct tracer *t, int pid);
int tracer__ringbuf_fd(const struct tracer *t);
/*
 * The ring buffer's consumer and producer positions (bytes since the start);
 * false when they cannot be read.  Records reserved before the producer
 * position was read have all been read once the consumer reaches it: one
 * still being written (reserved, not yet submitted or discarded) holds back
 * every record after it.
 */
bool tracer__ring_positions(struct tracer *t, uint64_t *consumer, uint64_t *producer);
/* Whether records come in batches: the kernel may refuse the programs that
 * batching needs, and the tracer then sends each record on its own. */
bool tracer__batching(const struct tracer *t);
/*
 * The target's exit status (waitpid()'s form) as BPF saw its last thread
 * exit, when the thread-exit hook ran (batching); false when unknown.
 */
bool tracer__target_status(const struct tracer *t, int *status);
/*
 * Whether MS_STAT_VM_CHILDREN counts the processes the target starts that
 * share its address space (a tp_btf hook, attached with batching).
 */
bool tracer__sees_vm_children(const struct tracer *t);
/* Makes every thread of the target send the records it has queued (a no-op
 * without batching).  0 or negative errno. */
int tracer__sweep(struct tracer *t);
/* The unwinder's maps (user/record/unwind.h), its keys' iterator program and BPF's
 * unwind_gen, valid after attach. */
void tracer__unwind_maps(const struct tracer *t, int *rows_fd, int *objs_fd, int *keys_fd,
			 volatile uint64_t **gen);
/* Sums the per-CPU counters into out.  0 or negative errno. */
int tracer__stats(const struct tracer *t, uint64_t out[MS_STAT__COUNT]);

#endif
