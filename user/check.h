/* SPDX-License-Identifier: MIT */
/*
 * "Will it work here, and how": the kernel features memscope-bpf uses, what
 * the verifier spends on each program in each load configuration, and the
 * mode a trace would run in (memscope-bpf --check).  Nothing stays loaded.
 */
#ifndef MS_CHECK_H
#define MS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "attach.h"

/* The verifier's limit on processed instructions, and our budget: 10% of it. */
#define MS_VERIFIER_LIMIT 1000000L
#define MS_VERIFIER_BUDGET (MS_VERIFIER_LIMIT / 10)

/* A load configuration: what a set of command-line flags gives the BPF side. */
struct check_config {
	const char *name; /* the flags, e.g. "--unwind=fp" ("default": none) */
	struct tracer_opts opts;
	bool multi;       /* uprobe_multi's attach type (6.6+) or perf-event uprobes */
};

/* Every configuration the verifier table covers; *n set to their number. */
const struct check_config *check__configs(size_t *n);

/*
 * Prints the verifier table (configuration x program: instructions, % of
 * the limit) to f: every program with all, else each configuration's
 * largest and any over the budget.  Returns the number of programs that failed to load or
 * went over MS_VERIFIER_BUDGET, or a negative errno when none could be tried.
 */
int check__verifier_table(FILE *f, bool all);

/* memscope-bpf --check: prints to stdout (all: every program); 0 when tracing is possible, else 1. */
int check__run(bool all);

#endif
