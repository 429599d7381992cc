/* SPDX-License-Identifier: MIT */
/*
 * What the allocator's own code does that is not the program's: the
 * releases glibc makes while a thread exits (its tcache flush frees blocks
 * the program had already freed).  The detector asks about releases of
 * addresses that are not live (detect.h: detector_internal_fn); the live
 * run and a replayed capture answer through the same symbolizer calls.
 */
#ifndef MS_RUNTIME_H
#define MS_RUNTIME_H

#include <stdbool.h>

#include "discover.h"
#include "heap.h"

struct symbolizer;

struct runtime_ctx {
	struct symbolizer *sym;            /* may be NULL */
	const struct alloc_objects *objs;  /* the allocator objects probed */
};

/* A detector_internal_fn: ctx is a struct runtime_ctx. */
bool runtime__internal_release(void *ctx, const struct free_call *fc);

#endif
