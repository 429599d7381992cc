// SPDX-License-Identifier: GPL-2.0
/*
 * The floor: what any uprobe tracer pays before it does anything.  The same
 * three programs as bpf/memscope.bpf.c, attached by bench/floor.c at the same
 * sites with the same pid filter and cookies, but empty: the cost measured
 * with them is the traps, the uretprobe's return trampoline and the BPF
 * dispatch, nothing more.  Two options add work, to measure designs
 * against it: -s (raw stack copies) and -r (a record per call).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/*
 * floor -s BYTES: the alternative to unwinding in BPF, measured: each
 * allocation's return copies BYTES of the user stack from sp into a
 * ring-buffer record for userspace to unwind (perf's --call-graph dwarf
 * way).  0: empty programs.
 */
#define RAW_MAX 16384
const volatile __u32 copy_bytes = 0;

struct raw_stack {
	__u64 sp, ip;
	__u8 data[RAW_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} raw SEC(".maps");

__u64 raw_lost = 0;

/*
 * floor -r shared|percpu: each allocation's return and each release send
 * one 64-byte record, as memscope-bpf's --no-stacks does, into one ring
 * buffer (shared, memscope-bpf's design) or into the ring buffer of the CPU
 * the program runs on (percpu: no lock or cache line shared between CPUs).
 * 0: none, 1: shared, 2: per CPU.
 */
const volatile __u32 rec_mode = 0;

struct rec {
	__u64 ts, tid, ip, sp, arg, pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} recs SEC(".maps");

struct cpu_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 64);
	__type(key, __u32);
	__array(values, struct cpu_ring);
} cpu_recs SEC(".maps");

__u64 rec_lost = 0;

static __always_inline void fill(struct rec *r, struct pt_regs *ctx)
{
	r->ts = bpf_ktime_get_ns();
	r->tid = bpf_get_current_pid_tgid();
	r->ip = PT_REGS_IP(ctx);
	r->sp = PT_REGS_SP(ctx);
	r->arg = PT_REGS_PARM1(ctx);
}

static __always_inline void send(struct pt_regs *ctx)
{
	struct rec *r;

	if (rec_mode == 1) {
		r = bpf_ringbuf_reserve(&recs, sizeof(*r), 0);
	} else if (rec_mode == 2) {
		__u32 cpu = bpf_get_smp_processor_id();
		void *ring = bpf_map_lookup_elem(&cpu_recs, &cpu);

		if (!ring) {
			__sync_fetch_and_add(&rec_lost, 1);
			return;
		}
		r = bpf_ringbuf_reserve(ring, sizeof(*r), 0);
	} else {
		return;
	}
	if (!r) {
		__sync_fetch_and_add(&rec_lost, 1);
		return;
	}
	fill(r, ctx);
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

SEC("uprobe")
int alloc_enter(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int alloc_exit(struct pt_regs *ctx)
{
	__u32 len = copy_bytes;
	struct raw_stack *r;

	send(ctx);
	if (!len)
		return 0;
	r = bpf_ringbuf_reserve(&raw, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&raw_lost, 1);
		return 0;
	}
	r->sp = PT_REGS_SP(ctx);
	r->ip = PT_REGS_IP(ctx);
	if (len > RAW_MAX)
		len = RAW_MAX;
	bpf_probe_read_user(r->data, len, (void *)r->sp);
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("uprobe")
int release(struct pt_regs *ctx)
{
	send(ctx);
	return 0;
}
