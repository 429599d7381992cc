// SPDX-License-Identifier: GPL-2.0
/*
 * memscope-bpf's probes.  Three programs serve every allocator entry point;
 * the attach cookie says which function a hit belongs to (enum ms_fn):
 *
 *   alloc_enter  uprobe at the allocation function's probe site: remembers the
 *                arguments in per-thread state
 *   alloc_exit   uretprobe at the same site: one MS_EV_ALLOC record, with the
 *                user stack taken here, where the registers are the caller's
 *                (unwound by the objects' CFI, or by frame pointers: unwind_mode)
 *   release      uprobe at the release function's probe site: one MS_EV_FREE
 *
 * The probe site is not always the function's first byte: the loader moves it
 * to the first instruction the kernel emulates, as long as the arguments and
 * the stack pointer are still as they were at entry (user/record/probe_site.c).
 *
 *   annot_*      USDT probes of include/memscope.h: one MS_EV_ANNOT each
 *
 * Records are committed without waking the loader, which drains on a timer;
 * it is woken only when the buffer fills past wake_bytes.
 *
 * With batch set (the default), allocation and release records are not
 * sent one by one: each thread queues them in its own state and sends
 * MS_BATCH of them in one MS_EV_BATCH record (see batch_send()).  What a
 * thread has queued is also sent
 *
 *   thread_exit  when the thread exits (tp_btf/sched_process_exit)
 *   sweep        when the loader asks, for every thread (iter/task): each
 *                drain, so nothing waits long in a thread that went quiet
 *
 * and before the thread's annotations, so that its records stay in order.
 *
 * Under sampling (sample_bytes) the same probes fire on every call, but only
 * sampled blocks take a stack and send records (see sample_block()).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "memscope_events.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;
const volatile bool alloc_stacks = true;
const volatile bool free_stacks = false;
const volatile __u64 wake_bytes = 1 << 20;
const volatile __u32 unwind_mode = MS_UNWIND_AUTO; /* enum ms_unwind_mode */
const volatile bool batch = false; /* queue records per thread (the loader sets it) */
/* -f: the target's children are traced too (added to procs as they are forked) */
const volatile bool follow = false;
/* -f or -p PID,PID,...: processes besides the target are traced (procs); the probes then carry
 * no pid filter */
const volatile bool use_procs = false;
/* --comm: a process that takes this name (exec, fork) joins the traced set; "" without */
const volatile char comm_name[16] = {};
/*
 * --all: every process joins the traced set at its first call (join_all()),
 * but the loader's own (self_tgid) and those it starts.  With --cgroup,
 * only a process whose cgroup v2 ancestor at cgroup_level is cgroup_id.
 * Off, the verifier prunes every branch on it.
 */
const volatile bool trace_all = false;
const volatile __u32 self_tgid = 0;
const volatile __u64 cgroup_id = 0;
const volatile __u32 cgroup_level = 0;
/*
 * Bumped by the loader whenever it adds objects' rows: the per-CPU caches
 * of mappings start over, so a mapping cached before its object had rows
 * is looked up again.
 */
volatile __u64 unwind_gen = 0;
/*
 * The target's exit status in waitpid()'s form, with bit 32 set once its
 * last thread has exited (thread_exit): a -p target is not the loader's
 * child, and its parent may reap it before the loader can read it.
 */
volatile __u64 target_exit = 0;
/*
 * Sampling (--sample-bytes): 0 traces every call.  Otherwise a block is
 * sampled when a sample point falls in it, the points being a Poisson
 * process over the bytes each thread allocates with a mean gap of
 * sample_bytes: a block of s bytes is sampled with probability
 * 1 - exp(-s / sample_bytes), which the loader scales by.  Gaps are drawn
 * from sample_gaps, quantiles the loader computes (user/model/sample.c).
 */
const volatile __u64 sample_bytes = 0;
const volatile __u64 sample_gaps[MS_SAMPLE_GAPS] = {};
/*
 * --check-overflow (glibc's malloc only; the loader never sets it with
 * sampling): each block's slack is read as it is handed out and as it is
 * released (send_slack()).  Off, the verifier prunes every branch on it:
 * the default programs are unchanged.
 */
const volatile bool check_overflow = false;
/*
 * --check-overflow where the kernel lets uprobe programs write user memory
 * (Debian's 6.1 does; 6.18 here refuses bpf_probe_write_user): the slack is
 * first filled with a pattern (write_canary()), so that the reading that
 * follows, and the comparison at release, see a write of any byte but the
 * pattern's own.  The loader falls back to the read way when it is refused.
 */
const volatile bool overflow_canary = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* the loader may resize it */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/*
 * Stack hashes already sent, per CPU, direct-mapped by hash: a stack whose
 * slot another took meanwhile is simply sent again (the loader keeps the
 * first).  An array lookup is a few instructions where an LRU hash map's
 * costs tens of ns on every allocation.
 */
#define KNOWN_STACKS 16384

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KNOWN_STACKS);
	__type(key, __u32);
	__type(value, __u64);
} known_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ms_ev_stack);
} stack_scratch SEC(".maps");

/*
 * Sampling: the sampled blocks that are live, so that a release of any other
 * address sends nothing.  Allocated as it fills; a sampled block that finds
 * it full is not tracked and counted (MS_STAT_SAMPLE_FULL).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20);
	__type(key, __u64);
	__type(value, __u8);
} sampled SEC(".maps");

/*
 * Per-thread state.  An allocation in progress is identified by the stack
 * pointer at its entry: a call entered at or below it (a nested malloc from
 * operator new, or a tail call such as reallocarray -> realloc) belongs to it,
 * and its return is the one whose stack pointer is just above it.  A stale
 * entry (a return we never saw, e.g. operator new throwing) is replaced by the
 * next call made from a shallower or equal frame.
 */
struct thread_state {
	__u64 sp;
	__u64 args[3];
	__u32 fn;
	__u32 active;
	/* last release, to fold delete[] -> delete -> free chains */
	__u64 rel_ptr;
	__u64 rel_sp;
	__u32 rel_level;
	__u32 seen; /* its MS_EV_THREAD was sent */
	__u32 tid;
	__u32 exiting; /* past __call_tls_dtors: releases are MS_EVF_EXITING */
	/* sampling: bytes before the next sample point, once primed */
	__u64 countdown;
	__u32 primed;
	__u32 sampled; /* the allocation in progress is sampled */
	__u64 size;    /* its size */
	__u64 last_ptr; /* the thread's last allocation, sampled or not */
	/*
	 * Batching: records queued in ring, slot (n % MS_BATCH) for the n-th.
	 * head counts the records written, by the thread only; tail those
	 * sent, moved with a compare-and-swap by whoever sends them (the
	 * thread itself, or a sweep or the exit hook running beside it).
	 */
	__u64 head;
	__u64 tail;
	union ms_batch_slot ring[MS_BATCH];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} tstate SEC(".maps");

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		(*v)++;
}

/* -f: the traced processes other than the target, by tgid (the loader adds those of a -p -f) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MS_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u32);
} procs SEC(".maps");

static __always_inline bool traced_tgid(__u32 tgid)
{
	return tgid == target_tgid || (use_procs && bpf_map_lookup_elem(&procs, &tgid));
}

/* id: bpf_get_current_pid_tgid(), which a program calls once (a helper call each costs) */
static __always_inline bool is_target(__u64 id)
{
	return traced_tgid(id >> 32);
}

static __always_inline void send_proc(__u8 kind, __u32 pid, __u32 ppid, __s32 status,
				     struct task_struct *task);

/* --all: whether task's process may be traced (not the loader's, in the cgroup) */
static __always_inline bool all_wants(struct task_struct *task, __u32 tgid)
{
	if (tgid == self_tgid || task->real_parent->tgid == self_tgid)
		return false;
	return !cgroup_id || bpf_get_current_ancestor_cgroup_id(cgroup_level) == cgroup_id;
}

/*
 * --all: the calling thread's process, not traced yet, joins the set and
 * is announced (before any record of its threads), once.  false when it is
 * not wanted, or the set is full (counted as a thread without state).
 */
static __always_inline bool join_all(__u32 tgid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 one = 1;
	long err;

	if (!all_wants(task, tgid))
		return false;
	err = bpf_map_update_elem(&procs, &tgid, &one, BPF_NOEXIST);
	if (err == 0)
		send_proc(MS_PROCEV_FORK, tgid, task->real_parent->tgid, 0, task);
	else if (err != -17 /* EEXIST: another of its threads was first */)
		return false;
	return true;
}

static __always_inline __u64 wake_flag(void)
{
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wake_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* Announces a thread the first time one of its calls is seen. */
static __always_inline void announce_thread(struct thread_state *st)
{
	struct ms_ev_thread *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(MS_STAT_LOST_EVENTS);
		return;
	}
	st->seen = 1;
	e->type = MS_EV_THREAD;
	e->tid = st->tid;
	e->tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	e->pad2 = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/*
 * The calling thread's state; NULL when it has none and create is false, or
 * when it is not one of the target's threads.  Only the target's threads
 * are given state, so finding one proves the thread is the target's without
 * asking for its pid: the allocator programs skip that helper call on every
 * call but a thread's first.  (The probes carry the target's pid as their
 * filter as well; a kernel before 6.9 could still run them in a child the
 * target forked.)  NULL with create also when the state could not be had:
 * counted.
 */
static __always_inline struct thread_state *thread_state(bool create)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_state *st;
	__u64 id;

	st = bpf_task_storage_get(&tstate, task, 0, 0);
	if (!st) {
		if (!create)
			return NULL;
		id = bpf_get_current_pid_tgid();
		if (!is_target(id) && !(trace_all && join_all(id >> 32)))
			return NULL;
		st = bpf_task_storage_get(&tstate, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!st) {
			stat_inc(MS_STAT_STATE_ERRORS);
			return NULL;
		}
		st->tid = (__u32)id;
	}
	if (!st->seen)
		announce_thread(st);
	return st;
}

static __always_inline void stat_add(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += n;
}

/*
 * Sends what the thread has queued, up to MS_BATCH records, as one
 * MS_EV_BATCH.  Safe to run beside the thread's own programs: the records
 * between tail and head are complete (the thread moves head only after
 * writing a slot, and writes no slot that is not free), they are copied
 * out, and the copy is sent only if tail is still where it was, which the
 * same compare-and-swap moves past them.  Otherwise someone else sent them
 * meanwhile (and the thread may have reused their slots): the copy is
 * dropped.  x86-64 keeps stores in order, which the plain store of head
 * relies on.
 */
static __always_inline void batch_send(struct thread_state *st, __u32 tid)
{
	__u64 t = *(volatile __u64 *)&st->tail, h = *(volatile __u64 *)&st->head;
	__u64 n = h - t, i;
	struct ms_ev_batch *b;

	if (!n)
		return;
	if (n > MS_BATCH)
		n = MS_BATCH;
	b = bpf_ringbuf_reserve(&events, sizeof(*b), 0);
	if (!b) {
		if (__sync_val_compare_and_swap(&st->tail, t, t + n) == t)
			stat_add(MS_STAT_LOST_EVENTS, n);
		return;
	}
	b->type = MS_EV_BATCH;
	b->pad = 0;
	b->n = n;
	b->tid = tid;
	for (i = 0; i < MS_BATCH; i++) {
		if (i >= n)
			break;
		b->slots[i] = st->ring[(t + i) & (MS_BATCH - 1)];
	}
	if (__sync_val_compare_and_swap(&st->tail, t, t + n) == t)
		bpf_ringbuf_submit(b, wake_flag());
	else
		bpf_ringbuf_discard(b, BPF_RB_NO_WAKEUP);
}

/* The slot for the thread's next record; NULL when none is free (counted lost). */
static __always_inline union ms_batch_slot *batch_slot(struct thread_state *st, __u32 tid)
{
	if (st->head - *(volatile __u64 *)&st->tail >= MS_BATCH) {
		batch_send(st, tid);
		if (st->head - *(volatile __u64 *)&st->tail >= MS_BATCH) {
			stat_inc(MS_STAT_LOST_EVENTS);
			return NULL;
		}
	}
	return &st->ring[st->head & (MS_BATCH - 1)];
}

/* The slot batch_slot() gave is written: queues it, and sends a full queue. */
static __always_inline void batch_commit(struct thread_state *st, __u32 tid)
{
	asm volatile("" ::: "memory");
	*(volatile __u64 *)&st->head = st->head + 1;
	if (st->head - *(volatile __u64 *)&st->tail >= MS_BATCH)
		batch_send(st, tid);
}

/*
 * Where a thread's next allocation or release record goes: a slot of its
 * queue when batching, else the ring buffer.  NULL when it is lost (counted).
 */
static __always_inline void *record_begin(struct thread_state *st, __u32 tid, __u64 size)
{
	void *e;

	if (batch)
		return batch_slot(st, tid);
	e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e)
		stat_inc(MS_STAT_LOST_EVENTS);
	return e;
}

static __always_inline void record_end(struct thread_state *st, __u32 tid, void *e)
{
	if (batch)
		batch_commit(st, tid);
	else
		bpf_ringbuf_submit(e, wake_flag());
}

/*
 * The user stack is read STACK_BLOCK bytes at a time: one read of user
 * memory covers many frames.  Measured here (bench/README.md), a stack taken
 * with bpf_get_stack() cost ~1.5 us per allocation (4 frames) and ~3.3 us
 * (33 frames); a frame-pointer walk reading blocks ~0.5 us and ~1.1 us.
 */
#define STACK_BLOCK 1024

/* the user stack read STACK_BLOCK bytes at a time */
struct stack_block {
	__u64 base; /* user address of blk[0] */
	__u64 len;  /* bytes of blk that hold the stack at base; 0: none */
	__u64 blk[STACK_BLOCK / 8];
};

/* reads the block of stack at fp; its usable length, 0 when unreadable */
static __always_inline __u64 read_block(__u64 *blk, __u64 fp)
{
	__u64 rest = 4096 - (fp & 4095);

	if (!bpf_probe_read_user(blk, STACK_BLOCK, (void *)fp))
		return STACK_BLOCK;
	/* near the top of the stack only the rest of the page may be mapped */
	if (rest < STACK_BLOCK && rest >= 16 &&
	    !bpf_probe_read_user(blk, rest & (STACK_BLOCK - 1), (void *)fp))
		return rest;
	return 0;
}

/*
 * The 8 bytes of stack at addr, from the block read last or a new block
 * read at addr: frames are read upwards, so one read of user memory serves
 * several.  false when unreadable.
 */
static __always_inline bool stack_word(struct stack_block *b, __u64 addr, __u64 *out)
{
	__u64 off = addr - b->base;

	if (addr & 7)
		return !bpf_probe_read_user(out, 8, (void *)addr);
	if (!b->len || addr < b->base || off + 8 > b->len) {
		b->base = addr;
		off = 0;
		b->len = read_block(b->blk, addr);
		/* the last 8 bytes of a page before an unmapped one */
		if (!b->len)
			return !bpf_probe_read_user(out, 8, (void *)addr);
	}
	*out = b->blk[(off >> 3) & (STACK_BLOCK / 8 - 1)];
	return true;
}

/*
 * The stack walk, one walker for every --unwind mode.  Each step finds the
 * mapping of pc - 1 (the call instruction of a return address) with
 * bpf_find_vma(): a pc in no executable mapping is not code, and the walk
 * ends before it (garbage read as a frame pointer or a return address is
 * never a frame).  Then, by the objects' own CFI (auto, dwarf; user/record/unwind.c
 * builds the rows), the object's rows by the file's (dev, inode), the row
 * by binary search on the file offset, the CFA from rsp or rbp, the return
 * address at CFA - 8 and, where the row says so, the caller's rbp.  Where
 * an object or a pc has no CFI, auto mode takes a frame-pointer step
 * instead; dwarf mode stops.  --unwind=fp takes frame-pointer steps only.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE); /* the loader writes rows straight in */
	__uint(max_entries, 1);            /* sized by the loader */
	__type(key, __u32);
	__type(value, struct ms_unwind_row);
} unwind_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ms_unwind_key);
	__type(value, struct ms_unwind_obj);
} unwind_objs SEC(".maps");

/* log2 of the most rows the array may hold (the loader keeps below it) */
#define UNWIND_SEARCH_STEPS 24
#define VMA_CACHE 4

enum vma_kind { VMA_EMPTY, VMA_ANON, VMA_OBJECT };

/* a mapping seen lately; objects the loader has no entry for are not cached */
struct ms_vma_slot {
	__u64 start, end;
	__u64 off; /* file offset at start */
	__u64 gen; /* unwind_gen when cached */
	__u32 kind, first, count, pad;
};

struct ms_unwind_state {
	__u64 pc; /* a return address (its call is at pc - 1) */
	__u64 sp; /* rsp in pc's frame */
	__u64 bp; /* rbp in pc's frame */
	__u32 n, end, flags, next_slot;
	__u32 pending, pad; /* pc is not in ips yet: kept once its mapping proves it code */
	struct ms_vma_slot slots[VMA_CACHE];
	struct stack_block b;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ms_unwind_state);
} unwind_state SEC(".maps");

struct ms_vma_info {
	__u64 start, end, off, dev, ino;
	__u32 file, exec;
};

/*
 * The key of a mapped file: the inode of vm_file, the file the pages come
 * from.  On overlayfs that is the layer's file, on the layer's device,
 * while /proc/PID/maps (measured on 6.18) and stat() show the overlay's:
 * the loader asks for this key through vma_keys below.
 */
static __always_inline void file_key(struct file *f, struct ms_unwind_key *k)
{
	dev_t dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);

	k->dev = dev;
	k->ino = BPF_CORE_READ(f, f_inode, i_ino);
}

static long vma_info_cb(struct task_struct *task, struct vm_area_struct *vma, struct ms_vma_info *vi)
{
	struct ms_unwind_key k;
	struct file *f = vma->vm_file;

	vi->start = vma->vm_start;
	vi->end = vma->vm_end;
	vi->off = vma->vm_pgoff << 12;
	vi->exec = !!(vma->vm_flags & 0x4 /* VM_EXEC */);
	if (!f)
		return 0;
	file_key(f, &k);
	vi->dev = k.dev;
	vi->ino = k.ino;
	vi->file = 1;
	return 0;
}

/*
 * For the loader (user/record/unwind.c): each file mapping of the iterator's
 * process with its file's key as unwind_vma() computes it.  Run over the
 * target, and over the loader itself for files it mapped to learn their
 * key before a launched target maps them.
 */
SEC("iter/task_vma")
int vma_keys(struct bpf_iter__task_vma *ctx)
{
	struct vm_area_struct *vma = ctx->vma;
	struct task_struct *task = ctx->task;
	struct ms_vma_key r = {};

	if (!vma || !task || !vma->vm_file)
		return 0;
	r.tgid = task->tgid;
	r.start = vma->vm_start;
	r.end = vma->vm_end;
	file_key(vma->vm_file, &r.key);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/*
 * Mappings every CPU has seen, direct-mapped by the pc's 2 MiB region: a
 * walk on a CPU whose own cache is cold (a new thread's first stacks) finds
 * what another CPU looked up, without bpf_find_vma(), which fails while a
 * thread of the target holds its address space's lock (EBUSY: a new
 * thread's stack being mapped).  Slots are written under a sequence count
 * (odd: being written), read whole or not at all; x86-64 keeps loads in
 * order and stores in order, which the count relies on.
 */
#define SHARED_VMAS 256

struct ms_shared_vma {
	__u64 seq;
	struct ms_vma_slot v;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SHARED_VMAS);
	__type(key, __u32);
	__type(value, struct ms_shared_vma);
} shared_vmas SEC(".maps");

static __always_inline __u32 shared_vma_key(__u64 pc)
{
	return (__u32)((pc >> 21) ^ (pc >> 30)) & (SHARED_VMAS - 1);
}

/* A consistent copy of pc's shared slot into out; false when it has none for pc. */
static __always_inline bool shared_vma_get(__u64 pc, __u64 gen, struct ms_vma_slot *out)
{
	__u32 key = shared_vma_key(pc);
	struct ms_shared_vma *g = bpf_map_lookup_elem(&shared_vmas, &key);
	__u64 seq;

	if (!g)
		return false;
	seq = *(volatile __u64 *)&g->seq;
	if (seq & 1)
		return false;
	asm volatile("" ::: "memory");
	*out = g->v;
	asm volatile("" ::: "memory");
	return *(volatile __u64 *)&g->seq == seq && out->kind != VMA_EMPTY && out->gen == gen &&
	       pc >= out->start && pc < out->end;
}

static __always_inline void shared_vma_put(__u64 pc, const struct ms_vma_slot *v)
{
	__u32 key = shared_vma_key(pc);
	struct ms_shared_vma *g = bpf_map_lookup_elem(&shared_vmas, &key);
	__u64 seq;

	if (!g)
		return;
	seq = *(volatile __u64 *)&g->seq;
	/* another CPU is writing it: that one's mapping will do */
	if ((seq & 1) || __sync_val_compare_and_swap(&g->seq, seq, seq + 1) != seq)
		return;
	g->v = *v;
	asm volatile("" ::: "memory");
	*(volatile __u64 *)&g->seq = seq + 2;
}

/*
 * The slot of u->slots that holds pc's mapping, looked up and cached on a
 * miss; -1 when pc is in no executable mapping (u->end says so).
 */
static __always_inline int unwind_vma(struct ms_unwind_state *u, __u64 pc)
{
	struct ms_vma_info vi = {};
	struct ms_unwind_key key;
	struct ms_unwind_obj *obj;
	struct ms_vma_slot *slot, shared;
	__u64 gen = unwind_gen;
	int k, next = u->next_slot & (VMA_CACHE - 1);
	long err;

	for (k = 0; k < VMA_CACHE; k++) {
		slot = &u->slots[k];
		if (slot->kind != VMA_EMPTY && slot->gen == gen && pc >= slot->start &&
		    pc < slot->end)
			return k;
	}
	slot = &u->slots[next];
	/* into a copy: a torn one must never reach the cache */
	if (shared_vma_get(pc, gen, &shared)) {
		*slot = shared;
		u->next_slot++;
		return next;
	}
	err = bpf_find_vma(bpf_get_current_task_btf(), pc, vma_info_cb, &vi, 0);
	/*
	 * bpf_find_vma() only try-locks the address space: while another of
	 * the target's threads maps memory (a new thread's stack, say) it
	 * fails with EBUSY.  In auto and fp mode the frame is then stepped by
	 * its frame pointer, as where there is no CFI (the one case where a
	 * frame is kept unproven), and the slot is not cached.
	 */
	if (err == -EBUSY && unwind_mode != MS_UNWIND_DWARF) {
		u->flags |= MS_STKF_VMA_BUSY;
		slot->kind = VMA_EMPTY;
		return next;
	}
	if (err || pc < vi.start || pc >= vi.end || !vi.exec) {
		u->end = MS_STK_NO_VMA;
		return -1;
	}
	slot->start = vi.start;
	slot->end = vi.end;
	slot->off = vi.off;
	slot->gen = gen;
	slot->kind = VMA_ANON;
	slot->first = 0;
	slot->count = 0;
	/* frame pointers only: the mapping is all a step needs */
	if (vi.file && unwind_mode != MS_UNWIND_FP) {
		key.dev = vi.dev;
		key.ino = vi.ino;
		obj = bpf_map_lookup_elem(&unwind_objs, &key);
		if (!obj) {
			/* not cached: the loader adds it after its next look at the maps */
			u->flags |= MS_STKF_UNKNOWN;
			stat_inc(MS_STAT_UNWIND_UNKNOWN);
			slot->kind = VMA_EMPTY;
			return next;
		}
		slot->kind = VMA_OBJECT;
		slot->first = obj->first;
		slot->count = obj->count;
	}
	shared_vma_put(pc, slot);
	u->next_slot++;
	return next;
}

/*
 * unwind_vma() as a bpf_loop() callback of one step: the verifier checks
 * its branches (the cache, the shared table, bpf_find_vma) on their own,
 * not in every state of unwind_step's callback.  Only a row-cache miss
 * comes here.
 */
struct vma_lookup {
	__u64 pc;
	__s32 slot;
	__u32 pad;
};

static long vma_lookup_step(__u32 i, struct vma_lookup *q)
{
	__u32 zero = 0;
	struct ms_unwind_state *u = bpf_map_lookup_elem(&unwind_state, &zero);

	q->slot = u ? unwind_vma(u, q->pc) : -1;
	return 1;
}

/*
 * The binary search for a pc's row, one halving per bpf_loop() step: the
 * verifier checks this small callback on its own instead of exploring 24
 * unrolled halvings inside unwind_step's callback, which is itself explored
 * until its states converge.  Inline, the search took alloc_exit past the
 * verifier's 1 M instructions on one 6.18.44 build (35 k on Debian's 6.1);
 * as a callback of its own, see docs/kernels.md for the measured counts.
 */
struct row_search {
	__u32 lo, hi; /* the row sought is below hi, and lo - 1 is at or below off */
	__u32 off;
	__u32 failed;
};

static long row_search_step(__u32 i, struct row_search *q)
{
	struct ms_unwind_row *r;
	__u32 mid;

	if (q->lo >= q->hi)
		return 1;
	mid = q->lo + (q->hi - q->lo) / 2;
	r = bpf_map_lookup_elem(&unwind_rows, &mid);
	if (!r) {
		q->failed = 1;
		return 1;
	}
	if (r->pc <= q->off)
		q->lo = mid + 1;
	else
		q->hi = mid;
	return 0;
}

/* The last row at or below off among count rows from first; NULL when none. */
static __always_inline struct ms_unwind_row *unwind_row(__u32 first, __u32 count, __u32 off)
{
	struct row_search q = { .lo = first, .hi = first + count, .off = off };
	__u32 idx;

	bpf_loop(UNWIND_SEARCH_STEPS + 1, row_search_step, &q, 0);
	if (q.failed || q.lo == first)
		return NULL;
	idx = q.lo - 1;
	return bpf_map_lookup_elem(&unwind_rows, &idx);
}

/* One step by the row's rules; the caller's pc in *ra.  false: stop (u->end says why). */
static __always_inline bool cfi_step(struct ms_unwind_state *u, const struct ms_unwind_row *r,
				     __u64 *ra)
{
	__u64 cfa = (r->rule == MS_UW_CFA_RSP ? u->sp : u->bp) + (__s64)r->cfa_off;

	/* the saved rbp first: it is below the return address, so one block holds both */
	if (cfa <= u->sp ||
	    (r->rbp_rule == MS_UW_RBP_AT_CFA && !stack_word(&u->b, cfa + (__s64)r->rbp_off, &u->bp)) ||
	    !stack_word(&u->b, cfa - 8, ra)) {
		u->end = MS_STK_READ;
		return false;
	}
	u->sp = cfa;
	return true;
}

/* One step by the frame pointer: [rbp] is the caller's rbp, [rbp + 8] the return address. */
static __always_inline bool fp_step(struct ms_unwind_state *u, __u64 *ra)
{
	__u64 bp = u->bp;

	if (!bp) {
		u->end = MS_STK_COMPLETE;
		return false;
	}
	if ((bp & 7) || bp < u->sp || !stack_word(&u->b, bp, &u->bp) ||
	    !stack_word(&u->b, bp + 8, ra)) {
		u->end = MS_STK_READ;
		return false;
	}
	u->sp = bp + 16;
	u->flags |= MS_STKF_FP;
	return true;
}

/* The step where no CFI applies: a frame pointer in auto mode, the end in dwarf mode. */
static __always_inline bool no_cfi_step(struct ms_unwind_state *u, __u64 *ra)
{
	if (unwind_mode == MS_UNWIND_DWARF) {
		u->end = MS_STK_NO_TABLE;
		return false;
	}
	return fp_step(u, ra);
}

/*
 * The row found for a pc lately, per CPU, direct-mapped by pc: the same
 * call sites are unwound over and over, and a hit saves the mapping lookup
 * and the binary search.  Entries of an older unwind_gen are not used (the
 * mapping's object may have had no rows yet).  rule MS_UW_NONE: no CFI
 * covers the pc.
 */
#define ROW_CACHE 1024

struct ms_row_cache_ent {
	__u64 pc;
	__u64 gen;
	struct ms_unwind_row row;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ROW_CACHE);
	__type(key, __u32);
	__type(value, struct ms_row_cache_ent);
} row_cache SEC(".maps");

/* one frame, as bpf_loop()'s callback: 0 to go on, 1 to stop */
static long unwind_step(__u32 i, void *unused)
{
	__u32 zero = 0;
	struct ms_ev_stack *s = bpf_map_lookup_elem(&stack_scratch, &zero);
	struct ms_unwind_state *u = bpf_map_lookup_elem(&unwind_state, &zero);
	struct ms_unwind_row *r = NULL;
	struct ms_row_cache_ent *c;
	struct ms_vma_slot *vma;
	struct vma_lookup q;
	__u64 pc, ra = 0, gen = unwind_gen;
	__u32 slot;
	bool ok;

	if (!s || !u)
		return 1;
	pc = u->pc - 1;
	slot = (__u32)(pc ^ (pc >> 10)) & (ROW_CACHE - 1);
	c = bpf_map_lookup_elem(&row_cache, &slot);
	if (c && c->pc == pc && c->gen == gen) {
		r = &c->row;
	} else {
		q.pc = pc;
		q.slot = -1;
		bpf_loop(1, vma_lookup_step, &q, 0);
		if (q.slot < 0)
			return 1;
		vma = &u->slots[q.slot & (VMA_CACHE - 1)];
		if (vma->kind == VMA_OBJECT && vma->count)
			r = unwind_row(vma->first, vma->count, (__u32)(pc - vma->start + vma->off));
		if (c && vma->kind != VMA_EMPTY) {
			c->pc = pc;
			c->gen = gen;
			if (r)
				c->row = *r;
			else
				c->row.rule = MS_UW_NONE;
		}
	}
	/* pc is code (its mapping was found now or when it was cached): its frame counts */
	u->n += u->pending;
	u->pending = 0;
	if (unwind_mode == MS_UNWIND_FP || !r || r->rule == MS_UW_NONE) {
		ok = no_cfi_step(u, &ra);
	} else if (r->rule == MS_UW_CFA_RSP || r->rule == MS_UW_CFA_RBP) {
		ok = cfi_step(u, r, &ra);
	} else {
		u->end = r->rule == MS_UW_OUTERMOST ? MS_STK_COMPLETE : MS_STK_UNSUPPORTED;
		ok = false;
	}
	if (!ok)
		return 1;
	if (!ra) {
		u->end = MS_STK_COMPLETE;
		return 1;
	}
	if (u->n >= MS_MAX_FRAMES) {
		u->end = MS_STK_DEPTH;
		return 1;
	}
	/* written now, counted by the next step if ra proves to be code */
	s->ips[u->n & (MS_MAX_FRAMES - 1)] = ra;
	u->pc = ra;
	u->pending = 1;
	return 0;
}

/*
 * Fills ips from the frame whose return address is pc (its call at pc - 1)
 * with rsp sp and rbp bp (the user's registers).  The number of frames (0: no scratch).
 */
static __always_inline long unwind_user_stack(__u64 bp, __u64 pc, __u64 sp,
					      struct ms_ev_stack *s)
{
	__u32 zero = 0;
	struct ms_unwind_state *u = bpf_map_lookup_elem(&unwind_state, &zero);

	if (!u)
		return 0;
	s->ips[0] = pc;
	u->pc = pc;
	u->sp = sp;
	u->bp = bp;
	u->n = 1;
	u->pending = 0;
	u->end = MS_STK_COMPLETE;
	u->flags = 0;
	u->b.base = 0;
	u->b.len = 0;
	/* a step keeps the frame before it: one more step than frames */
	bpf_loop(MS_MAX_FRAMES + 1, unwind_step, NULL, 0);
	/* the steps ran out with a frame not proven code yet */
	if (u->pending && u->end == MS_STK_COMPLETE)
		u->end = MS_STK_DEPTH;
	s->truncated = u->end;
	s->flags = u->flags;
	return u->n;
}

/*
 * Takes the user stack, sends it if this object has not sent it before, and
 * returns its hash (0 when none could be had).  The innermost frame is pc,
 * a return address (its call at pc - 1), in a frame whose stack pointer is
 * sp: at an allocation's return the caller's address and the stack pointer
 * after the return; at a release probe, where the allocator's frame is not
 * set up yet, the return address at [sp] and sp + 8; at an annotation, the
 * site + 1 and its stack pointer.
 */
static __always_inline __u64 take_stack(__u64 bp, __u64 pc, __u64 sp, __u16 *flags)
{
	__u32 zero = 0;
	struct ms_ev_stack *s = bpf_map_lookup_elem(&stack_scratch, &zero);
	__u64 h = 0xcbf29ce484222325ULL, *known;
	__u32 slot;
	long n, i;

	if (!s)
		return 0;
	n = unwind_user_stack(bp, pc, sp, s);
	if (n <= 0) {
		stat_inc(MS_STAT_STACK_ERRORS);
		*flags |= MS_EVF_STACK_LOST;
		return 0;
	}
	if (n > MS_MAX_FRAMES)
		n = MS_MAX_FRAMES;
	for (i = 0; i < MS_MAX_FRAMES; i++) {
		if (i >= n)
			break;
		h ^= s->ips[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	if (!h)
		h = 1;
	slot = (__u32)h & (KNOWN_STACKS - 1);
	known = bpf_map_lookup_elem(&known_stacks, &slot);
	if (known && *known == h)
		return h;

	s->type = MS_EV_STACK;
	s->nframes = n;
	s->hash = h;
	if (bpf_ringbuf_output(&events, s, MS_EV_STACK_HDR + (n & 127) * 8 > sizeof(*s) ?
				   sizeof(*s) : MS_EV_STACK_HDR + (n & 127) * 8,
			       wake_flag())) {
		stat_inc(MS_STAT_LOST_STACKS);
		*flags |= MS_EVF_STACK_LOST;
		return 0;
	}
	if (known)
		*known = h;
	return h;
}

/*
 * --check-overflow: queues an MS_EV_SLACK record of the end of ptr's usable
 * area, located by glibc's chunk header (memscope_events.h).  The reads
 * take no fault: a page not present leaves usable or len 0, which the
 * loader counts as a block it could not check.  Only reads: nothing in the
 * target changes.
 */
static __always_inline void send_slack(struct thread_state *st, __u32 tid, __u8 kind, __u64 ptr,
				       __u64 ts)
{
	__u64 hdr = 0, chunk, usable = 0, len = 0;
	struct ms_ev_slack *e;

	e = record_begin(st, tid, sizeof(*e));
	if (!e)
		return;
	if (!bpf_probe_read_user(&hdr, sizeof(hdr), (void *)(ptr - 8))) {
		chunk = hdr & ~7ULL;
		/* bit 1: IS_MMAPPED, whose chunk has a 16-byte overhead */
		usable = chunk - ((hdr & 2) ? 16 : 8);
		if (chunk <= 16 || chunk >= (1ULL << 47))
			usable = 0;
	}
	if (usable >= MS_SLACK_WINDOW) {
		len = MS_SLACK_WINDOW;
		if (bpf_probe_read_user(e->bytes, MS_SLACK_WINDOW,
					(void *)(ptr + usable - MS_SLACK_WINDOW)))
			len = 0;
	} else if (usable) {
		/* a 32-byte chunk: 24 usable */
		len = usable & (MS_SLACK_WINDOW - 1);
		if (!len || bpf_probe_read_user(e->bytes, len, (void *)ptr))
			len = 0;
	}
	e->type = MS_EV_SLACK;
	e->kind = kind;
	e->len = len;
	e->tid = tid;
	e->ts_ns = ts;
	e->ptr = ptr;
	e->usable = usable;
	record_end(st, tid, e);
}

/* Bytes asked for, as events__decode_alloc() (user/record/events.c) reads them. */
static __always_inline __u64 call_size(__u32 fn, __u64 a0, __u64 a1, __u64 a2);

/*
 * The canary: the slack of the block just handed out, past the size asked
 * for, up to MS_SLACK_WINDOW bytes of it, set to MS_CANARY.  The slack is
 * the program's own memory (malloc_usable_size()) that it did not ask
 * for: what it reads inside its block (calloc's zeros, realloc's copy) and
 * the allocator's headers are untouched.  A page not present is not
 * written (the write takes no fault).
 */
static __always_inline void write_canary(struct thread_state *st, __u64 ptr)
{
	static const __u8 pat[MS_SLACK_WINDOW] = {
		MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY,
		MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY,
		MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY,
		MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY, MS_CANARY,
	};
	__u64 hdr = 0, chunk, usable, size, n, at;

	if (bpf_probe_read_user(&hdr, sizeof(hdr), (void *)(ptr - 8)))
		return;
	chunk = hdr & ~7ULL;
	if (chunk <= 16 || chunk >= (1ULL << 47))
		return;
	usable = chunk - ((hdr & 2) ? 16 : 8);
	size = call_size(st->fn, st->args[0], st->args[1], st->args[2]);
	if (size >= usable)
		return;
	n = usable - size;
	if (n > MS_SLACK_WINDOW)
		n = MS_SLACK_WINDOW;
	/*
	 * In pieces of constant size (32, 16, 8, 4, 2, 1: n's bits): a length
	 * the verifier must bound was refused on 6.1 ("invalid zero-sized
	 * read") however it was masked.
	 */
	at = ptr + size;
	if (n & 32) {
		bpf_probe_write_user((void *)at, pat, 32);
		return;
	}
	if (n & 16) {
		bpf_probe_write_user((void *)at, pat, 16);
		at += 16;
	}
	if (n & 8) {
		bpf_probe_write_user((void *)at, pat, 8);
		at += 8;
	}
	if (n & 4) {
		bpf_probe_write_user((void *)at, pat, 4);
		at += 4;
	}
	if (n & 2) {
		bpf_probe_write_user((void *)at, pat, 2);
		at += 2;
	}
	if (n & 1)
		bpf_probe_write_user((void *)at, pat, 1);
}

/* Bytes asked for, as events__decode_alloc() (user/record/events.c) reads them. */
static __always_inline __u64 call_size(__u32 fn, __u64 a0, __u64 a1, __u64 a2)
{
	switch (fn) {
	case MS_FN_CALLOC:
		return a0 * a1; /* an overflow fails the call, which is always sent */
	case MS_FN_REALLOC:
	case MS_FN_ALIGNED_ALLOC:
	case MS_FN_MEMALIGN:
		return a1;
	case MS_FN_REALLOCARRAY:
		return a1 * a2;
	case MS_FN_POSIX_MEMALIGN:
		return a2;
	default:
		return a0;
	}
}

static __always_inline __u64 sample_gap(void)
{
	return sample_gaps[bpf_get_prandom_u32() & (MS_SAMPLE_GAPS - 1)];
}

/*
 * Whether a sample point falls in the thread's next size bytes.  The gap is
 * stored rounded down: for whole sizes, floor(gap) < size exactly when
 * gap < size.  After a sampled block a fresh gap starts at its end, which
 * for a Poisson process is the same as going on from the point.
 */
static __always_inline bool sample_block(struct thread_state *st, __u64 size)
{
	if (!st->primed) {
		st->countdown = sample_gap();
		st->primed = 1;
	}
	if (size <= st->countdown) {
		st->countdown -= size;
		return false;
	}
	st->countdown = sample_gap();
	return true;
}

/* Whether ptr was a live sampled block; it is not one any more. */
static __always_inline bool forget_sampled(__u64 ptr)
{
	return bpf_map_lookup_elem(&sampled, &ptr) && !bpf_map_delete_elem(&sampled, &ptr);
}

/*
 * Sampling, at an allocation's return: tracks the new block when it was
 * sampled and forgets a realloc's old block.  False when the loader needs
 * no record.  Failed calls are always sent (they are rare and not scaled).
 */
static __always_inline bool sample_exit(struct thread_state *st, __u64 ptr, __u64 *old,
					__u16 *flags)
{
	bool is_realloc = st->fn == MS_FN_REALLOC || st->fn == MS_FN_REALLOCARRAY;
	bool old_sampled = false;
	__u8 one = 1;

	/* glibc's realloc(p, 0) frees p and returns NULL */
	if (is_realloc && *old && (ptr || st->size == 0)) {
		old_sampled = forget_sampled(*old);
		if (!old_sampled)
			*old = 0;
	}
	if (!ptr)
		return !is_realloc || st->size || old_sampled;
	if (st->sampled && bpf_map_update_elem(&sampled, &ptr, &one, BPF_ANY)) {
		stat_inc(MS_STAT_SAMPLE_FULL);
		st->sampled = 0;
	}
	if (!st->sampled)
		*flags |= MS_EVF_UNTRACKED;
	return st->sampled || old_sampled;
}

/*
 * An allocator function's entry; fn is its MS_FN_*.  The generic programs
 * below take fn from the probe's cookie, a helper call (~10 ns here); the
 * most called functions get a program each with fn built in.
 */
static __always_inline int enter_fn(struct pt_regs *ctx, __u32 fn)
{
	__u64 a0 = PT_REGS_PARM1(ctx), a1 = PT_REGS_PARM2(ctx), a2 = PT_REGS_PARM3(ctx);
	__u64 sp = PT_REGS_SP(ctx);
	struct thread_state *st;

	st = thread_state(true);
	if (!st)
		return 0;
	/* an allocation ends any release chain (addresses get reused) */
	st->rel_ptr = 0;
	if (st->active && sp <= st->sp)
		return 0;
	st->active = 1;
	st->sp = sp;
	st->fn = fn;
	st->args[0] = a0;
	st->args[1] = a1;
	st->args[2] = a2;
	/* realloc's old block is released inside it: its slack is read now */
	if (check_overflow && a0 && (fn == MS_FN_REALLOC || fn == MS_FN_REALLOCARRAY))
		send_slack(st, st->tid, MS_SLACK_RELEASE, a0, bpf_ktime_get_ns());
	if (sample_bytes) {
		st->size = call_size(st->fn, a0, a1, a2);
		st->sampled = sample_block(st, st->size);
	}
	return 0;
}

/* A uprobe program running body for function fn (an MS_FN_*, or the cookie's). */
#define FN_PROGRAM(name, body, fn)                                             \
	SEC("uprobe")                                                          \
	int name(struct pt_regs *ctx)                                          \
	{                                                                      \
		return body(ctx, fn);                                          \
	}

FN_PROGRAM(alloc_enter, enter_fn, bpf_get_attach_cookie(ctx))
FN_PROGRAM(enter_malloc, enter_fn, MS_FN_MALLOC)
FN_PROGRAM(enter_new, enter_fn, MS_FN_NEW)

SEC("uretprobe")
int alloc_exit(struct pt_regs *ctx)
{
	__u64 rc = PT_REGS_RC(ctx), sp = PT_REGS_SP(ctx), ip = PT_REGS_IP(ctx);
	struct thread_state *st;
	struct ms_ev_alloc *e;
	__u64 stack = 0, ptr, old, ts;
	__u16 flags = 0;
	__u32 tid;

	st = thread_state(false);
	if (!st || !st->active || sp != st->sp + 8)
		return 0;
	st->active = 0;
	tid = st->tid;

	ptr = rc;
	if (st->fn == MS_FN_POSIX_MEMALIGN) {
		ptr = 0;
		if (rc == 0)
			bpf_probe_read_user(&ptr, sizeof(ptr), (void *)st->args[0]);
	}
	old = st->args[0];
	if (sample_bytes) {
		/* a failed call is no allocation: the last one stays */
		if (ptr)
			st->last_ptr = ptr;
		if (!sample_exit(st, ptr, &old, &flags))
			return 0;
	}
	if (alloc_stacks && ptr && !(flags & MS_EVF_UNTRACKED))
		stack = take_stack(PT_REGS_FP(ctx), ip, sp, &flags);

	e = record_begin(st, tid, sizeof(*e));
	if (!e)
		return 0;
	e->type = MS_EV_ALLOC;
	e->fn = st->fn;
	e->flags = flags;
	e->tid = tid;
	e->ts_ns = bpf_ktime_get_ns();
	e->ret = ptr;
	e->args[0] = old;
	e->args[1] = st->args[1];
	e->args[2] = st->args[2];
	e->caller = ip;
	e->stack = stack;
	ts = e->ts_ns;
	record_end(st, tid, e);
	if (check_overflow && ptr) {
		if (overflow_canary)
			write_canary(st, ptr);
		send_slack(st, tid, MS_SLACK_ALLOC, ptr, ts);
	}
	return 0;
}

/*
 * Whether this release continues the thread's last one, a delete[] ->
 * delete -> free chain of one pointer from the same or a deeper frame, to
 * be folded into it.
 */
static __always_inline bool release_folded(struct thread_state *st, __u64 ptr, __u64 sp,
					   __u32 level)
{
	if (st->rel_ptr == ptr && sp <= st->rel_sp && level < st->rel_level) {
		st->rel_level = level;
		if (level == 1)
			st->rel_ptr = 0;
		return true;
	}
	st->rel_ptr = ptr;
	st->rel_sp = sp;
	st->rel_level = level;
	return false;
}

/*
 * A realloc that releases its old block through the exported free: mimalloc's
 * realloc calls mi_free, which is free itself (one address), so the free's
 * probe fires inside the realloc, from a deeper frame, with the realloc's old
 * pointer.  The realloc's own record says the old block went; the free is
 * its inner working.  (glibc, jemalloc and tcmalloc free internally.)  Under
 * sampling the free is sent and the realloc's old pointer dropped instead,
 * which the model applies the same.
 */
static __always_inline bool realloc_inner_free(struct thread_state *st, __u64 ptr, __u64 sp)
{
	return st->active && sp < st->sp && ptr == st->args[0] &&
	       (st->fn == MS_FN_REALLOC || st->fn == MS_FN_REALLOCARRAY);
}

/* A release function's entry; fn is its MS_FN_* (as for enter_fn()). */
static __always_inline int release_fn(struct pt_regs *ctx, __u32 fn)
{
	__u64 ptr = PT_REGS_PARM1(ctx), sp = PT_REGS_SP(ctx);
	struct thread_state *st;
	struct ms_ev_free *e;
	__u64 caller = 0, stack = 0, ts;
	__u16 flags = 0;
	__u32 tid;

	if (!ptr)
		return 0;
	/*
	 * Sampling: only the release of a sampled block is sent.  The rest of
	 * a delete[] -> delete -> free chain then finds it gone, so nothing
	 * needs folding, and most releases need no thread state.  Looked up
	 * before deleting: a lookup takes no lock, a delete takes the bucket's
	 * even when the key is absent.
	 */
	if (sample_bytes &&
	    (!is_target(bpf_get_current_pid_tgid()) || !forget_sampled(ptr)))
		return 0;
	/* also announces a thread that only releases */
	st = thread_state(true);
	if (!st)
		return 0;
	if (!sample_bytes && (realloc_inner_free(st, ptr, sp) ||
			      release_folded(st, ptr, sp, MS_FN_RELEASE_LEVEL(fn))))
		return 0;
	tid = st->tid;
	if (st->exiting)
		flags |= MS_EVF_EXITING;
	if (sample_bytes && st->last_ptr == ptr) {
		flags |= MS_EVF_LAST_ALLOC;
		st->last_ptr = 0;
	}

	/*
	 * The release's call site: its return address.  --no-stacks goes
	 * without (the read is ~70 ns here, a third of what the programs add
	 * to a pair); MS_EVF_EXITING still tells glibc's frees at thread exit.
	 */
	if (alloc_stacks || free_stacks)
		bpf_probe_read_user(&caller, sizeof(caller), (void *)sp);
	if (free_stacks)
		stack = take_stack(PT_REGS_FP(ctx), caller, sp + 8, &flags);

	ts = bpf_ktime_get_ns();
	/* before the release: the loader still has the block */
	if (check_overflow)
		send_slack(st, tid, MS_SLACK_RELEASE, ptr, ts);
	e = record_begin(st, tid, sizeof(*e));
	if (!e)
		return 0;
	e->type = MS_EV_FREE;
	e->fn = fn;
	e->flags = flags;
	e->tid = tid;
	e->ts_ns = ts;
	e->ptr = ptr;
	e->caller = caller;
	e->stack = stack;
	record_end(st, tid, e);
	return 0;
}

FN_PROGRAM(release, release_fn, bpf_get_attach_cookie(ctx))
FN_PROGRAM(release_free, release_fn, MS_FN_FREE)
FN_PROGRAM(release_delete, release_fn, MS_FN_DELETE)
FN_PROGRAM(release_dsized, release_fn, MS_FN_DELETE_SIZED)

/*
 * glibc's __call_tls_dtors: the thread has begun to exit (its start routine
 * returned, or it called exit()).  From here on glibc may release blocks the
 * program freed already, its per-thread cache (MS_EVF_EXITING).  Not the
 * main thread's: exit() flushes no cache, and the program's global
 * destructors run after it there.
 */
SEC("uprobe")
int thread_exiting(struct pt_regs *ctx)
{
	struct thread_state *st = thread_state(false);

	if (st && st->tid != target_tgid)
		st->exiting = 1;
	return 0;
}

/* include/linux/sched/signal.h: the group is exiting (exit_group(), a fatal signal) */
#define MS_SIGNAL_GROUP_EXIT 0x00000004

/*
 * The target's last thread exits: the status its parent will reap, as
 * wait_task_zombie() makes it.  do_exit() has counted the thread out of
 * signal->live and set its exit_code before the tracepoint (6.1, 6.18).
 */
static __always_inline void note_target_exit(struct task_struct *task)
{
	struct signal_struct *sig = task->signal;
	int code;

	if (task->tgid != target_tgid || !sig || sig->live.counter != 0)
		return;
	if (sig->flags & MS_SIGNAL_GROUP_EXIT)
		code = sig->group_exit_code;
	else
		code = task->group_leader->exit_code;
	target_exit = (1ULL << 32) | (__u32)code;
}

static __always_inline void send_proc(__u8 kind, __u32 pid, __u32 ppid, __s32 status,
				     struct task_struct *task)
{
	struct ms_ev_proc *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		stat_inc(MS_STAT_LOST_EVENTS);
		return;
	}
	e->type = MS_EV_PROC;
	e->kind = kind;
	e->pad = 0;
	e->pid = pid;
	e->ppid = ppid;
	e->status = status;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), task->comm);
	bpf_ringbuf_submit(e, 0);
}

/* --comm: whether task's name is comm_name (both NUL-padded to 16 bytes by the kernel / loader) */
static __always_inline bool comm_matches(struct task_struct *task)
{
	char comm[16];

	if (!comm_name[0])
		return false;
	bpf_probe_read_kernel_str(comm, sizeof(comm), task->comm);
	for (int i = 0; i < 16; i++) {
		if (comm[i] != comm_name[i])
			return false;
		if (!comm[i])
			return true;
	}
	return true;
}

/* --comm: task's process takes the name: traced from now (its parent named). */
static __always_inline void join_by_comm(struct task_struct *task, __u32 tgid)
{
	__u32 one = 1;

	if (comm_matches(task) && bpf_map_update_elem(&procs, &tgid, &one, BPF_NOEXIST) == 0)
		send_proc(MS_PROCEV_FORK, tgid, task->real_parent->tgid, 0, task);
}

/* -f, -p PID,PID: the last thread of a traced process other than the target exits (after its
 * queue went). */
static __always_inline void note_child_exit(struct task_struct *task)
{
	struct signal_struct *sig = task->signal;
	__u32 tgid = task->tgid;
	int code;

	if (tgid == target_tgid || !sig || sig->live.counter != 0 ||
	    !bpf_map_lookup_elem(&procs, &tgid))
		return;
	if (sig->flags & MS_SIGNAL_GROUP_EXIT)
		code = sig->group_exit_code;
	else
		code = task->group_leader->exit_code;
	bpf_map_delete_elem(&procs, &tgid);
	send_proc(MS_PROCEV_EXIT, tgid, 0, code, task);
}

/*
 * A thread exits: what it queued is sent while its state exists.  Only the
 * target's threads have state (thread_state()), so any other exit stops at
 * the lookup.  The target's last thread also leaves its status.
 */
SEC("tp_btf/sched_process_exit")
int thread_exit(__u64 *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_state *st;

	note_target_exit(task);
	if (!batch)
		return 0;
	st = bpf_task_storage_get(&tstate, task, 0, 0);
	if (st)
		batch_send(st, st->tid);
	if (use_procs)
		note_child_exit(task);
	return 0;
}

/*
 * The target starts a process (not a thread): counted, as it is not traced.
 * One that shares its address space: vfork() (as
 * dash runs every command), clone(CLONE_VM) without CLONE_THREAD.  Until it
 * execs or exits it allocates and frees in the target's heap, but it is
 * another thread group, which the probes drop (the uprobe_multi link's pid
 * filter or is_target(), whichever comes first), so its calls are never
 * seen: it is counted, and the loader names the frees of its blocks (docs/
 * findings.md "Calls and blocks").  Loaded with thread_exit: the same kernel
 * feature (tp_btf), the same rung of the fallback ladder.
 */
SEC("tp_btf/sched_process_fork")
int vm_child(__u64 *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx[0];
	struct task_struct *child = (struct task_struct *)ctx[1];

	__u32 tgid = child->tgid, one = 1;

	if (child->tgid == parent->tgid)
		return 0;
	if (!traced_tgid(parent->tgid)) {
		/* --comm: a child of an untraced process, under the name (its parent has it too) */
		if (use_procs && child->mm != parent->mm)
			join_by_comm(child, tgid);
		return 0;
	}
	if (child->mm && child->mm == parent->mm) {
		if (parent->tgid == target_tgid)
			stat_inc(MS_STAT_VM_CHILDREN);
		return 0;
	}
	if (parent->tgid == target_tgid)
		stat_inc(MS_STAT_CHILDREN);
	/* -f (or --comm, a child under the name): traced from its first instruction, before the
	 * loader hears of it */
	if ((follow || (use_procs && comm_matches(child))) &&
	    bpf_map_update_elem(&procs, &tgid, &one, BPF_NOEXIST) == 0)
		send_proc(MS_PROCEV_FORK, tgid, parent->tgid, 0, child);
	return 0;
}

/*
 * The target execs (the launch's own exec included): counted.  The loader
 * follows a launched target's execs at their ptrace stop (user/session.c
 * on_exec()); one it did not follow (a -p target's) is then told by the
 * count, so the report can say its numbers mix two programs.  Loaded with
 * thread_exit, like vm_child.
 */
SEC("tp_btf/sched_process_exec")
int exec_seen(__u64 *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	__u32 tgid = task->tgid;

	/*
	 * --all: the loader looks at the new image for an allocator not probed
	 * yet; a traced process's old image is closed out (status 1)
	 */
	if (trace_all) {
		bool traced = bpf_map_lookup_elem(&procs, &tgid) != NULL;

		if (traced || all_wants(task, tgid))
			send_proc(MS_PROCEV_IMAGE, tgid, 0, traced, task);
		return 0;
	}
	if (tgid == target_tgid)
		stat_inc(MS_STAT_EXECS);
	/* another traced process runs a new program: its name and command line change */
	else if (use_procs && bpf_map_lookup_elem(&procs, &tgid))
		send_proc(MS_PROCEV_EXEC, tgid, 0, 0, task);
	else if (use_procs)
		join_by_comm(task, tgid);
	return 0;
}

/*
 * Address-space calls: anonymous mmap, munmap, mremap, brk, taken at the
 * system call's exit (the registers hold the arguments still, rax the
 * result).  A program on sys_exit runs for every system call of every
 * process once attached, so the number is checked first (a load), then the
 * process (a helper call), and only the target's calls go further.  A call
 * made inside one of the thread's allocation calls (st->active) is the
 * allocator's: it takes no stack, and the model counts its memory as the
 * heap's, not again.  maps_exit is the tp_btf program (the registers read
 * directly); maps_exit_raw the raw tracepoint for a kernel that refuses it.
 */
#define MS_NR_MMAP 9
#define MS_NR_MUNMAP 11
#define MS_NR_BRK 12
#define MS_NR_MREMAP 25
#define MS_MAP_ANONYMOUS 0x20

/* the heap's size at the last brk sent: brk(0) and sbrk(0) ask without changing it */
volatile __u64 last_brk = 0;

struct sys_regs {
	__u64 di, si, dx, r10, ip, sp, bp;
};

static __always_inline bool map_call(__u64 nr)
{
	return nr == MS_NR_MMAP || nr == MS_NR_MUNMAP || nr == MS_NR_MREMAP || nr == MS_NR_BRK;
}

static __always_inline int map_exit(__u64 nr, const struct sys_regs *r, long ret)
{
	__u64 stack = 0, addr = 0, len = 0, old_addr = 0, old_len = 0;
	__u32 prot = 0, mflags = 0, tid;
	struct thread_state *st;
	struct ms_ev_map *e;
	__u16 flags = 0, sflags = 0;
	__u8 op;

	if (!is_target(bpf_get_current_pid_tgid()) || (ret < 0 && ret > -4096))
		return 0;
	if (nr == MS_NR_MMAP) {
		if (!(r->r10 & MS_MAP_ANONYMOUS))
			return 0;
		op = MS_MAP_MMAP;
		addr = ret;
		len = r->si;
		prot = r->dx;
		mflags = r->r10;
	} else if (nr == MS_NR_MUNMAP) {
		op = MS_MAP_MUNMAP;
		addr = r->di;
		len = r->si;
	} else if (nr == MS_NR_MREMAP) {
		op = MS_MAP_MREMAP;
		old_addr = r->di;
		old_len = r->si;
		len = r->dx;
		mflags = r->r10;
		addr = ret;
	} else {
		struct mm_struct *mm = bpf_get_current_task_btf()->mm;

		if (!mm)
			return 0;
		op = MS_MAP_BRK;
		addr = BPF_CORE_READ(mm, start_brk);
		len = BPF_CORE_READ(mm, brk) - addr;
		if (len == last_brk)
			return 0;
		last_brk = len;
	}
	st = thread_state(true);
	if (!st)
		return 0;
	tid = st->tid;
	if (st->active)
		flags |= MS_MAPF_ALLOCATOR;
	else if (alloc_stacks && (op == MS_MAP_MMAP || op == MS_MAP_MREMAP))
		stack = take_stack(r->bp, r->ip, r->sp, &sflags);
	if (sflags & MS_EVF_STACK_LOST)
		flags |= MS_MAPF_STACK_LOST;

	e = record_begin(st, tid, sizeof(*e));
	if (!e)
		return 0;
	e->type = MS_EV_MAP;
	e->op = op;
	e->flags = flags;
	e->tid = tid;
	e->ts_ns = bpf_ktime_get_ns();
	e->addr = addr;
	e->len = len;
	e->old_addr = old_addr;
	e->old_len = old_len;
	e->prot = prot;
	e->mflags = mflags;
	e->stack = stack;
	record_end(st, tid, e);
	return 0;
}

SEC("tp_btf/sys_exit")
int maps_exit(__u64 *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	__u64 nr = regs->orig_ax;
	struct sys_regs r;

	if (!map_call(nr))
		return 0;
	r.di = regs->di;
	r.si = regs->si;
	r.dx = regs->dx;
	r.r10 = regs->r10;
	r.ip = regs->ip;
	r.sp = regs->sp;
	r.bp = regs->bp;
	return map_exit(nr, &r, (long)ctx[1]);
}

SEC("raw_tp/sys_exit")
int maps_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__u64 nr = BPF_CORE_READ(regs, orig_ax);
	struct sys_regs r;

	if (!map_call(nr))
		return 0;
	r.di = BPF_CORE_READ(regs, di);
	r.si = BPF_CORE_READ(regs, si);
	r.dx = BPF_CORE_READ(regs, dx);
	r.r10 = BPF_CORE_READ(regs, r10);
	r.ip = BPF_CORE_READ(regs, ip);
	r.sp = BPF_CORE_READ(regs, sp);
	r.bp = BPF_CORE_READ(regs, bp);
	return map_exit(nr, &r, (long)ctx->args[1]);
}

/* The loader's sweep (an iterator over the target's threads): each sends what it queued. */
SEC("iter/task")
int sweep(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct thread_state *st;

	if (!task)
		return 0;
	st = bpf_task_storage_get(&tstate, task, 0, 0);
	if (st)
		batch_send(st, st->tid);
	return 0;
}

static __always_inline struct ms_ev_annot *annot_begin(__u8 kind)
{
	struct thread_state *st;
	struct ms_ev_annot *e;

	if (!is_target(bpf_get_current_pid_tgid()))
		return NULL;
	/* the thread may make no allocation before its scope starts */
	st = thread_state(true);
	/* what the thread queued comes first */
	if (batch && st)
		batch_send(st, st->tid);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(MS_STAT_LOST_EVENTS);
		return NULL;
	}
	e->type = MS_EV_ANNOT;
	e->kind = kind;
	e->flags = 0;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_ns();
	e->ptr = 0;
	e->stack = 0;
	e->line = 0;
	e->name_addr = 0;
	e->tname_addr = 0;
	e->file_addr = 0;
	e->name[0] = 0;
	e->tname[0] = 0;
	e->file[0] = 0;
	return e;
}

static __always_inline void read_str(char *dst, __u32 size, const void *src)
{
	if (!src || bpf_probe_read_user_str(dst, size, src) < 0)
		dst[0] = 0;
}

SEC("usdt")
int BPF_USDT(annot_track, void *ptr, const char *name, const char *tname, const char *file,
	     int line)
{
	__u16 flags = 0;
	__u64 stack = 0;
	struct ms_ev_annot *e;

	/* the stack first: take_stack may send a record of its own */
	if (alloc_stacks && is_target(bpf_get_current_pid_tgid()))
		stack = take_stack(PT_REGS_FP(ctx), PT_REGS_IP(ctx) + 1, PT_REGS_SP(ctx), &flags);
	e = annot_begin(MS_ANNOT_TRACK);
	if (!e)
		return 0;
	e->flags = flags;
	e->ptr = (__u64)ptr;
	e->stack = stack;
	e->line = line;
	e->name_addr = (__u64)name;
	e->tname_addr = (__u64)tname;
	e->file_addr = (__u64)file;
	read_str(e->name, sizeof(e->name), name);
	read_str(e->tname, sizeof(e->tname), tname);
	read_str(e->file, sizeof(e->file), file);
	bpf_ringbuf_submit(e, wake_flag());
	return 0;
}

SEC("usdt")
int BPF_USDT(annot_scope_begin, const char *name)
{
	struct ms_ev_annot *e = annot_begin(MS_ANNOT_SCOPE_BEGIN);

	if (!e)
		return 0;
	e->name_addr = (__u64)name;
	read_str(e->name, sizeof(e->name), name);
	bpf_ringbuf_submit(e, wake_flag());
	return 0;
}

SEC("usdt")
int BPF_USDT(annot_scope_end)
{
	struct ms_ev_annot *e = annot_begin(MS_ANNOT_SCOPE_END);

	if (e)
		bpf_ringbuf_submit(e, wake_flag());
	return 0;
}
