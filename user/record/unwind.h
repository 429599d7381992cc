/* SPDX-License-Identifier: MIT */
/*
 * The loader's side of unwinding by CFI: which objects the target maps, each
 * one's rows (unwind_table.c) built once and kept by the file's (dev, inode)
 * as BPF sees them,
 * and the BPF maps they go into (bpf/memscope.bpf.c: unwind_rows,
 * unwind_objs).
 *
 * Rows can be built before the maps exist (a launched target's objects are
 * known before it runs; the map is sized from them): unwinder__bind()
 * uploads what was built, and objects added later (dlopen) are uploaded as
 * they are found.  An object that does not fit any more (rows or objects)
 * is left without rows (BPF unwinds it as code without CFI) and counted.
 *
 * Errors are negative errno; messages only at -v.
 */
#ifndef MS_UNWIND_H
#define MS_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memscope_events.h"

struct unwinder_opts {
	size_t sz;
	int pid;
	enum ms_unwind_mode mode;
};

struct unwind_stats {
	size_t objects;       /* objects with rows */
	size_t objects_bare;  /* objects looked at without CFI (or that did not fit) */
	size_t rows;          /* rows in the map */
	size_t capacity;      /* rows the map can hold */
	size_t dropped;       /* objects that did not fit */
	size_t shared;        /* objects that took the rows of one with their build id */
	double build_ms;      /* time spent building rows */
};

struct unwinder;

struct unwinder *unwinder__new(const struct unwinder_opts *opts);
void unwinder__free(struct unwinder *u);

/* Adds the object at path (a program about to be launched).  0 or negative errno. */
int unwinder__add_path(struct unwinder *u, const char *path);

/*
 * Reads /proc/PID/maps and adds every executable file mapping not seen yet.
 * Returns the number of objects added, or a negative errno when the maps
 * cannot be read (the target is gone).
 */
int unwinder__scan(struct unwinder *u);

/* Rows built so far: what the map must hold at least. */
size_t unwinder__rows(const struct unwinder *u);

/*
 * Uses the maps from now on and uploads what was built.  rows_fd is an
 * array of capacity rows made with BPF_F_MMAPABLE; keys_fd the vma_keys
 * iterator program, which tells each object's key as BPF computes it (-1:
 * the keys /proc/PID/maps and stat() show, wrong on overlayfs); gen is
 * BPF's unwind_gen, bumped after each upload.  0 or negative errno
 * (message printed).
 */
int unwinder__bind(struct unwinder *u, int rows_fd, int objs_fd, int keys_fd, uint32_t capacity,
		   volatile uint64_t *gen);

void unwinder__stats(const struct unwinder *u, struct unwind_stats *out);

#endif
