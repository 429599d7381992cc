/* SPDX-License-Identifier: MIT */
/*
 * Reachability of the traced live blocks, as valgrind's memcheck defines
 * its leak kinds (docs/findings.md "Reachability"): given the blocks, the
 * words of the roots and a way to read a block's bytes, each block is
 * still reachable, possibly lost, indirectly lost or definitely lost.
 *
 * Pure: the memory comes in through the caller (record/scan.c reads the
 * target; the unit tests hand a synthetic image).  A pointer is an aligned
 * 8-byte word whose value is a block's first byte (a start pointer) or any
 * later byte of it (an interior pointer); a zero-byte block is pointed to
 * only by its start.
 *
 * The closure, in two passes (memcheck's mc_leakcheck.c does the same):
 *  - from the roots: a start pointer from a root, or from a block that is
 *    itself reached from the roots by start pointers only, makes a block
 *    still reachable; any other pointer from a root or a reached block
 *    makes it possibly lost (unless it is reachable);
 *  - then each block still unreached, in address order, is definitely lost
 *    and every unreached block it leads to (start or interior pointers) is
 *    indirectly lost: a lost cycle is one definitely lost block, the rest
 *    indirectly lost.
 */
#ifndef MS_REACH_H
#define MS_REACH_H

#include <stddef.h>
#include <stdint.h>

/* In the order reports list them: the lost ones first. */
enum reach_class {
	REACH_UNKNOWN,           /* not classified (no scan, or not in it) */
	REACH_DEFINITELY_LOST,
	REACH_INDIRECTLY_LOST,
	REACH_POSSIBLY_LOST,
	REACH_STILL_REACHABLE,
	REACH__COUNT,
};

/* "definitely_lost", ... (the JSON's names); "unknown" for REACH_UNKNOWN. */
const char *reach_class__name(enum reach_class c);
/* "definitely lost", ... (the text report's). */
const char *reach_class__text(enum reach_class c);

/* What a scan did, in the report's words (tracing.scan.result). */
enum scan_status {
	SCAN_SKIPPED, /* --no-scan, or nothing to scan (the target was gone) */
	SCAN_DONE,
	SCAN_STOPPED, /* over --scan-max-ms or interrupted: no classes */
	SCAN_FAILED,  /* the target could not be frozen or read */
	SCAN__COUNT,
};
const char *scan_status__name(enum scan_status s);

/* One classified block. */
struct reach_mark {
	uint64_t ptr;
	uint8_t cls; /* enum reach_class */
};

/*
 * What a scan of the target found, as the report and the capture take it:
 * plain data.  marks are sorted by ptr; only with status SCAN_DONE.
 */
struct reach_result {
	uint8_t status;  /* enum scan_status */
	uint64_t bytes;  /* of the target's memory read */
	uint64_t ns;     /* the target was frozen (or held at its exit) this long */
	struct reach_mark *marks;
	size_t nmarks;
};

/* The class of the block at ptr, REACH_UNKNOWN when it is not in r (or r is NULL). */
enum reach_class reach_result__class(const struct reach_result *r, uint64_t ptr);
void reach_result__clear(struct reach_result *r);

struct reach_block {
	uint64_t ptr;
	uint64_t size;
	/*
	 * An address inside the block that the allocator links to for its own
	 * reasons, not a pointer into the block (0: none).  glibc's next chunk
	 * header lies in the block's last word when the size is not a multiple
	 * of 16 less 8, and the arena's top pointer and free lists point there:
	 * without this, a lost block before a free chunk was possibly lost.
	 */
	uint64_t link;
};

/* One range of the target to read for the classifier. */
struct reach_read {
	uint64_t addr;
	void *buf;
	size_t len;
};
/*
 * Reads each range into its buffer (what cannot be read reads as zeros).
 * 0, or negative errno to stop the classification (which returns it).
 * Called with n == 0 now and then while no read is due: a point where the
 * caller may stop it (a deadline).
 */
typedef int (*reach_read_fn)(void *ctx, struct reach_read *v, size_t n);

struct reach;

/* The blocks (copied, sorted by address).  Never NULL. */
struct reach *reach__new(const struct reach_block *blocks, size_t n);
void reach__free(struct reach *r);

size_t reach__count(const struct reach *r);
/* Block i in address order. */
const struct reach_block *reach__block(const struct reach *r, size_t i);
/* The index of the block addr points into, or -1. */
long reach__find(const struct reach *r, uint64_t addr);

/* n words of root memory (or registers): the blocks they point to are reached. */
void reach__roots(struct reach *r, const uint64_t *words, size_t n);
/*
 * n words read from addr (8-aligned) on: those outside every block are
 * roots, those inside one are left to the closure.  A heap read whole
 * instead of between its blocks: one range, not one per gap.
 */
void reach__roots_at(struct reach *r, uint64_t addr, const uint64_t *words, size_t n);
/*
 * The closure through the blocks' contents, read with read(ctx, ...) in
 * batches, then the lost blocks' classes.  0 or read's error.
 */
int reach__finish(struct reach *r, reach_read_fn read, void *ctx);
/* Block i's class (REACH_UNKNOWN before reach__finish()). */
enum reach_class reach__class(const struct reach *r, size_t i);

#endif
