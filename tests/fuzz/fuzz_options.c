// SPDX-License-Identifier: MIT
/*
 * options__parse() on a command line made of the input: arguments split at
 * NUL bytes, after "memscope-bpf".  Parsing only: nothing is launched or
 * traced.  What parsed must be within the bounds the loader relies on.
 */
#include "fuzz.h"
#include "options.h"

#define MAX_ARGS 64

static void check(const struct ms_options *o)
{
	uint32_t rb = o->ringbuf_bytes;

	if (o->command == MS_CMD_REPORT) {
		if (!o->replay_path || o->pid || o->argv || o->record_path)
			fuzz_fail("report needs its capture and nothing to trace");
	} else if (!o->check && (!!o->pid + !!o->argv + !!o->comm + !!o->all) != 1) {
		fuzz_fail("a run needs exactly one of -p, a program, --comm and --all");
	}
	if (o->cgroup && !o->all)
		fuzz_fail("--cgroup without --all");
	if (o->all && (o->follow || !o->batch || o->check_overflow || o->live_ns || o->check))
		fuzz_fail("--all with an option that reads one process");
	if (o->nmore_pids < 0 || o->nmore_pids > MS_MAX_MORE_PIDS || (o->nmore_pids && !o->pid))
		fuzz_fail("%d more pids", o->nmore_pids);
	for (int i = 0; i < o->nmore_pids; i++)
		if (o->more_pids[i] <= 0 || o->more_pids[i] == o->pid)
			fuzz_fail("more pid %d", o->more_pids[i]);
	if (o->command == MS_CMD_RECORD && !o->record_path)
		fuzz_fail("record without its capture file");
	if (o->pid < 0)
		fuzz_fail("negative pid %d", o->pid);
	if (rb && ((rb & (rb - 1)) || rb > (1u << 30)))
		fuzz_fail("ring buffer of %u bytes", rb);
	if (o->sample_bytes > (1ull << 40))
		fuzz_fail("--sample-bytes %llu", (unsigned long long)o->sample_bytes);
	if (o->interval_ns < 1000000)
		fuzz_fail("--interval of %llu ns", (unsigned long long)o->interval_ns);
	if (!(o->duration_s >= 0))
		fuzz_fail("duration %g", o->duration_s);
	if (o->top > 100000)
		fuzz_fail("--top %u", o->top);
	if (o->live_ns && o->live_ns < 100000000)
		fuzz_fail("--live of %llu ns", (unsigned long long)o->live_ns);
}

/* Parses a fresh copy of the input: freed after, so stale pointers into it are seen. */
static enum options_result parse(const uint8_t *data, size_t size, struct ms_options *o)
{
	char *buf = fuzz_cstr(data, size), *argv[MAX_ARGS + 2], *p = buf;
	enum options_result r;
	int argc = 0;

	argv[argc++] = "memscope-bpf";
	while (argc <= MAX_ARGS && p <= buf + size) {
		argv[argc++] = p;
		p += strlen(p) + 1;
	}
	argv[argc] = NULL;
	r = options__parse(o, argc, argv);
	if (r == OPTIONS_RUN)
		check(o);
	free(buf);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_options a, b;
	enum options_result ra, rb;

	/* twice: a parse must not depend on what the one before it left behind */
	ra = parse(data, size, &a);
	rb = parse(data, size, &b);
	if (ra != rb)
		fuzz_fail("the same command line parsed as %d, then %d", ra, rb);
	if (ra == OPTIONS_RUN &&
	    (a.pid != b.pid || !a.argv != !b.argv || a.nmore_pids != b.nmore_pids ||
	     a.follow != b.follow || !a.comm != !b.comm || a.ringbuf_bytes != b.ringbuf_bytes ||
	     a.sample_bytes != b.sample_bytes || a.interval_ns != b.interval_ns ||
	     a.min_age_ns != b.min_age_ns || a.verbose != b.verbose || a.top != b.top))
		fuzz_fail("the same command line parsed to other options");
	return 0;
}
