/* SPDX-License-Identifier: MIT */
/*
 * The reachability scan of the target (docs/findings.md "Reachability"):
 * reads its registers and memory, and has model/reach.c classify the traced
 * live blocks.
 *
 * A launched target is scanned at its leader's exit stop, where ptrace
 * holds it with its memory intact, its other threads held at their own exit
 * stops (target.c: target__exit_threads()); a -p target is frozen first: every thread
 * seized and interrupted (scan__freeze()), scanned, then let go
 * (scan__thaw()), whatever happened meanwhile.  A thread that is not
 * stopped cannot have its registers read: its stack mapping is then read
 * whole, like any other memory that is not a traced block.
 *
 * Roots: the registers of each stopped thread; each stopped thread's stack
 * from its stack pointer (less the 128-byte red zone) up, not the dead
 * frames below; and every other readable and writable mapping (data, bss,
 * TLS, the heap's memory outside traced blocks, anonymous mappings, other
 * threads' stacks), skipping the traced blocks' bytes, [vvar], [vsyscall]
 * and device files.  Memory is read with process_vm_readv in batches, or
 * /proc/PID/mem where that fails; what neither reads is zeros.
 */
#ifndef MS_SCAN_H
#define MS_SCAN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "live_table.h"
#include "reach.h"

/* The threads held still for a scan. */
struct scan_threads {
	int pid;
	int *tids;     /* stopped threads whose registers can be read */
	int *sigs;     /* a signal each was stopped with, passed on at thaw (0: none) */
	size_t n;
	bool seized;   /* we seized them (scan__freeze()): scan__thaw() lets them go */
};

/*
 * Seizes and interrupts every thread of pid (threads born meanwhile too),
 * waiting until each has stopped or deadline_ns (CLOCK_MONOTONIC) passes.
 * 0, or negative errno (message printed): -ETIMEDOUT when a thread did not
 * stop in time; the threads seized are then let go already.
 */
int scan__freeze(int pid, uint64_t deadline_ns, struct scan_threads *t);
/* Lets every seized thread go on (never leaves one stopped); frees t's arrays. */
void scan__thaw(struct scan_threads *t);

struct scan_opts {
	size_t sz;
	uint64_t deadline_ns;          /* CLOCK_MONOTONIC: past it the scan stops */
	volatile sig_atomic_t *stop;   /* non-zero: a signal asked us to stop; may be NULL */
};

/*
 * Scans pid (its threads t stopped) and classifies the blocks of live into
 * out (status, bytes read, marks; not the time, which the caller measures).
 * 0 with out->status SCAN_DONE, or negative errno with SCAN_STOPPED
 * (-ETIME: deadline, -EINTR: stop) or SCAN_FAILED (the target gone or
 * unreadable).
 */
int scan__run(const struct scan_threads *t, const struct live_table *live,
	      const struct scan_opts *o, struct reach_result *out);

#endif
