/* SPDX-License-Identifier: MIT */
/*
 * One tracing session, stage by stage: check privileges, open outputs,
 * prepare the target and find its allocators, load and attach the probes,
 * start the target, drain events until a stop condition, detach, report.
 */
#ifndef MS_SESSION_H
#define MS_SESSION_H

#include "options.h"

/* Returns memscope-bpf's exit code. */
int session__run(const struct ms_options *o);
/* `memscope-bpf report FILE.msb`: the reports of a capture.  The exit code. */
int session__report(const struct ms_options *o);

#endif
