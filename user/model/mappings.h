/* SPDX-License-Identifier: MIT */
/*
 * The target's anonymous mappings beside the heap: what mmap, munmap,
 * mremap and brk calls (MS_EV_MAP, decoded) leave mapped, so the report can
 * say where the resident memory that malloc does not explain comes from.
 *
 * Rules (docs/findings.md "Mappings" states them for users):
 *  - an anonymous mmap adds [addr, addr + len) (len in whole pages), owned
 *    by the allocator when made inside an allocation call, else by the
 *    program, at the call's stack; what it covered before is gone (MAP_FIXED);
 *  - munmap removes what it covers, whoever made it (glibc's free of a big
 *    block unmaps what its malloc mapped);
 *  - mremap moves what [old, old + old_len) held (one owner and stack: the
 *    first piece's) to [addr, addr + len); a range nothing tracked held
 *    (a file's mapping) stays untracked;
 *  - brk sets the size of the break heap, the allocator's.
 * The allocator's mappings hold the heap's blocks, which the heap counts:
 * they are shown as the heap's backing, never added to the program's.
 * Pure: fed decoded calls, reads nothing else.
 */
#ifndef MS_MAPPINGS_H
#define MS_MAPPINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct map_call {
	uint8_t op;      /* enum ms_map_op */
	bool allocator;  /* made inside an allocation call */
	bool stack_lost; /* its stack was wanted but could not be sent */
	uint32_t tid;
	uint64_t ts_ns;
	uint64_t addr, len;         /* len rounded up to whole pages */
	uint64_t old_addr, old_len; /* mremap */
	uint32_t mflags;            /* mmap's or mremap's flags */
	uint32_t stack;             /* stack table index; STACK_NONE when none */
};

/* What one owner holds mapped. */
struct mapping_totals {
	uint64_t bytes, count;    /* live now */
	uint64_t peak_bytes;
	uint64_t peak_ts_ns;
	uint64_t mapped_bytes;    /* mmap and mremap growth over the trace */
	uint64_t unmapped_bytes;  /* munmap and mremap shrinking */
};

/* The program's mappings made at one stack. */
struct mapping_site {
	uint32_t stack;
	uint64_t bytes, count;       /* live */
	uint64_t mapped_bytes, calls; /* every mmap/mremap made there */
};

struct mappings;

struct mappings *mappings__new(void);
void mappings__free(struct mappings *m);

void mappings__apply(struct mappings *m, const struct map_call *c);

/* Totals: the program's, the allocator's (mmap'ed heap), and the break heap. */
const struct mapping_totals *mappings__program(const struct mappings *m);
const struct mapping_totals *mappings__allocator(const struct mappings *m);
const struct mapping_totals *mappings__brk(const struct mappings *m);
/* Calls seen by op (enum ms_map_op, 1..4); 0 when none came. */
uint64_t mappings__calls(const struct mappings *m, unsigned op);
/* The program's sites, in order of first mapping; valid until the next apply. */
const struct mapping_site *mappings__sites(const struct mappings *m, size_t *n);

#endif
