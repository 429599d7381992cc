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

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe")
int alloc_enter(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int alloc_exit(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe")
int release(struct pt_regs *ctx)
{
	return 0;
}
