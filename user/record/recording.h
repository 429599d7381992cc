/* SPDX-License-Identifier: MIT */
/*
 * The capture file's records (docs/capture-format.md): the decoded stream
 * the model is fed, written as the trace runs, and read back to feed a
 * model again with nothing else (`memscope-bpf report FILE.msb`).
 *
 * Written: a META record (the target and how it was traced), then the
 * stream (stacks, calls, annotations, thread names, RSS readings, ticks) as
 * the session feeds its model, with the target's executable mappings as
 * they appear, then at the end the symbolized frames of every address the
 * live run resolved and an END record (exit status and counters).  The same stream fed to a model gives the same model, so a
 * report from the file is the live run's report.  A file cut short (the
 * tracer killed, the disk full) is read up to its last whole block: the
 * stream so far and no END; its addresses are then named from the files
 * its mappings name, where this machine has them with the same build ids.
 */
#ifndef MS_RECORDING_H
#define MS_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "footprint.h"
#include "heap.h"
#include "overflow.h"
#include "mappings.h"
#include "memscope_events.h"
#include "model.h"
#include "report_input.h"

struct recording;
struct model;
struct symbolizer;

/*
 * Starts a capture on fd (not closed; the caller owns the file's name):
 * writes the header and META from in's start-time fields (target,
 * options, modes, the allocator objects) and the model's detector size.
 * NULL with errno on failure.
 */
struct recording *recording__new(int fd, const struct report_input *in, size_t freed_capacity);
/* 0, or the first write error (negative errno), which sticks. */
int recording__error(const struct recording *r);

void recording__stack(struct recording *r, uint64_t hash, const uint64_t *ips, uint32_t n,
		      uint8_t truncated);
void recording__alloc(struct recording *r, const struct alloc_call *c, uint64_t hash,
		      uint64_t caller, uint16_t flags);
void recording__release(struct recording *r, const struct free_call *c, uint64_t hash,
		        uint64_t caller, uint16_t flags);
void recording__annot(struct recording *r, const struct ms_ev_annot *e);
void recording__map_call(struct recording *r, const struct map_call *c, uint64_t hash);
void recording__thread(struct recording *r, uint32_t tid, const char *name);
/* The target execed (model__exec()); the symbolizer is the new image's from now. */
void recording__exec(struct recording *r, uint64_t ts_ns, const char *comm, const char *cmdline);
/* -f: a process event (model__proc()). */
void recording__proc(struct recording *r, const struct model_proc_event *e);
void recording__rss(struct recording *r, uint64_t now_ns, uint64_t rss_bytes);
void recording__tick(struct recording *r, uint64_t now_ns, bool force);
/* --check-overflow is on (right after recording__new()), and a slack reading. */
void recording__check_overflow(struct recording *r, enum overflow_way way);
void recording__slack(struct recording *r, const struct ms_ev_slack *e);
/* The allocator's candidate mappings at now_ns (model/footprint.h). */
void recording__footprint(struct recording *r, uint64_t now_ns,
			  const struct footprint_range *v, size_t n);

/* The symbolizer's executable mappings not written yet (cheap when none changed). */
void recording__maps(struct recording *r, const struct symbolizer *sym);

/*
 * Writes what is buffered as a whole block: the session calls it after
 * each drain, so a tracer killed loses at most the last drain's records.
 */
int recording__flush(struct recording *r);

/*
 * The end: the mappings not written yet, with frames every frame sym
 * resolved (the reports' and the detector's), in's end-time fields, the end
 * marker.  0 or negative errno.
 */
int recording__finish(struct recording *r, const struct report_input *in,
		      struct symbolizer *sym, bool frames);
void recording__free(struct recording *r);

/* Records, bytes before and after compression, so far. */
void recording__stats(const struct recording *r, uint64_t *records, uint64_t *raw,
		      uint64_t *written);

/* ---- reading back ---- */

struct replay;

/*
 * Reads the capture at path into a model: the report input it gives
 * (replay__input()) is what the live run reported from.  NULL on a file
 * that cannot be read at all (a one-line error printed).  A file cut short
 * is read up to its last whole block and said so (replay__complete()).
 */
struct replay *replay__open(const char *path);
/* The report's input: points into rp, valid until replay__free(). */
const struct report_input *replay__input(const struct replay *rp);
bool replay__complete(const struct replay *rp);
void replay__free(struct replay *rp);

#endif
