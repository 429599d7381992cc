/* SPDX-License-Identifier: MIT */
/*
 * Where in an allocator function to put its probe.
 *
 * A uprobe on an instruction the kernel emulates (push, jmp/jcc/call rel,
 * nop) costs ~1 us per hit here; one it must single-step (glibc free starts
 * with `test %rdi,%rdi`) ~15 us.  probe_site__choose() walks the function's
 * first instructions in a straight line and picks the first emulated one,
 * provided that everything before it
 *   - is an instruction the decoder knows (a short whitelist),
 *   - is not a branch, call, return or anything that changes control flow,
 *   - leaves %rdi, %rsi, %rdx (the arguments the BPF programs read) and %rsp
 *     (a uretprobe there hijacks the return address at [%rsp]) unchanged.
 * Otherwise it answers offset 0, which is always correct, only slower.
 * Pure: no I/O, no allocation.  Unit-tested in tests/unit/test_probe_site.c.
 */
#ifndef MS_PROBE_SITE_H
#define MS_PROBE_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct probe_site {
	uint32_t offset; /* from the function's first byte */
	bool emulated;   /* the instruction at offset is one the kernel emulates */
};

/*
 * code: the function's first bytes (up to its size; 64 are plenty).
 * Always succeeds; out->offset is 0 when nothing better was found.
 */
void probe_site__choose(const uint8_t *code, size_t len, struct probe_site *out);

/* Length of the x86-64 instruction at code, or 0 when the decoder does not know it. */
size_t probe_site__insn_len(const uint8_t *code, size_t len);

#endif
