// SPDX-License-Identifier: GPL-2.0
/*
 * The floor: what any uprobe tracer pays before it does anything.  The same
 * three programs as bpf/memscope.bpf.c, attached by bench/floor.c at the same
 * sites with the same pid filter and cookies, but empty: the cost measured
 * with them is the traps, the uretprobe's return trampoline and the BPF
 * dispatch, nothing more.
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
	return 0;
}
