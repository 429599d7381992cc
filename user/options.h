/* SPDX-License-Identifier: MIT */
/*
 * Command line.  options__parse() prints its own one-line errors.
 */
#ifndef MS_OPTIONS_H
#define MS_OPTIONS_H

#include <stdbool.h>

/* -p PID,PID,...: pids after the first, at most */
#define MS_MAX_MORE_PIDS 63
#include <stdint.h>
#include <stdio.h>

enum ms_command {
	MS_CMD_TRACE,  /* trace and report */
	MS_CMD_RECORD, /* record: -o names the capture */
	MS_CMD_REPORT, /* report FILE.msb */
};

#define MS_MAX_ALLOCATOR_LIBS 16

struct ms_options {
	enum ms_command command;
	int pid;               /* -p; 0 when launching */
	int more_pids[MS_MAX_MORE_PIDS]; /* -p PID,PID,...: the pids after the first */
	int nmore_pids;
	const char *comm;      /* --comm NAME: every process named NAME, now and later */
	bool all;              /* --all: every process using a probed allocator, now and later */
	const char *cgroup;    /* --cgroup PATH: --all within that cgroup v2 directory */
	char **argv;           /* the program to launch and its arguments */
	double duration_s;     /* -d; 0 = until the target exits or a signal */
	const char *json_path; /* --json, or -o FILE.json */
	const char *html_path; /* --html, or -o FILE.html / FILE.htm */
	const char *pprof_path;  /* --pprof, or -o FILE.pb.gz */
	const char *folded_path; /* --folded, or -o FILE.folded */
	int folded_type;         /* --folded-type: enum report_value */
	const char *text_path; /* -o FILE (other extensions); NULL = stderr */
	const char *record_path; /* --record, or record's -o: the capture file */
	const char *replay_path; /* report FILE.msb */
	bool no_symbolize;       /* --no-symbolize: frames are module+offset, named by report */
	bool no_debuginfod;      /* --no-debuginfod: DEBUGINFOD_URLS is ignored */
	unsigned top;          /* leak sites listed in the text summary */
	bool alloc_stacks;
	bool free_stacks;
	uint64_t sample_bytes; /* --sample-bytes; 0: every call */
	uint32_t ringbuf_bytes;
	bool batch;            /* records queued per thread in BPF; --no-batch: not */
	bool follow;           /* -f: the processes the target forks are traced too */
	int unwind_mode;       /* --unwind: enum ms_unwind_mode */
	uint64_t interval_ns;  /* --interval: timeline sampling period */
	uint64_t live_ns;      /* --live: the live view's period; 0: no live view */
	uint64_t min_age_ns;   /* --min-age: leak rule when the target outlives tracing */
	bool no_scan;          /* --no-scan: no reachability scan of the target */
	uint64_t scan_max_ns;  /* --scan-max-ms: the scan stops past it */
	int verbose;
	bool check;            /* --check: report what this kernel can do, trace nothing */
	bool check_overflow;   /* --check-overflow: read blocks' slack (model/overflow.h) */
	const char *symbol_prefix; /* --symbol-prefix: also PREFIXmalloc, PREFIXfree, ... */
	/* --allocator-lib, each given: objects probed whether the target maps them yet */
	char *allocator_libs[MS_MAX_ALLOCATOR_LIBS];
	size_t nallocator_libs;
	bool no_mappings;      /* --no-mappings: mmap, munmap, mremap, brk not traced */
	bool stderr_closed;    /* set by main: the text summary has nowhere to go */
};

enum options_result { OPTIONS_RUN, OPTIONS_EXIT_OK, OPTIONS_EXIT_ERROR };

enum options_result options__parse(struct ms_options *o, int argc, char **argv);
void options__usage(FILE *f);

#endif
