// SPDX-License-Identifier: MIT
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memscope_events.h"
#include "options.h"
#include "report.h"
#include "util.h"

void options__usage(FILE *f)
{
	fprintf(f,
		"usage: memscope-bpf [options] -p PID\n"
		"       memscope-bpf [options] [--] PROGRAM [ARGS...]\n"
		"       memscope-bpf [options] --all [--cgroup PATH]\n"
		"       memscope-bpf record [options] -o FILE.msb (-p PID | --all | [--] PROGRAM...)\n"
		"       memscope-bpf report [--json F] [--html F] [-o F] [--top N] FILE.msb\n"
		"\n"
		"Traces every malloc-family call and C++ new/delete of a process with BPF\n"
		"uprobes, and reports leaks and totals with symbolized stacks.\n"
		"\n"
		"  -p, --pid PID[,PID...] attach to a running process; with several, the first\n"
		"                         is the report's target, each other one is summed up as\n"
		"                         its own process (probes as with -f), and tracing ends\n"
		"                         with the first\n"
		"      --comm NAME        trace every process named NAME, now and later (the\n"
		"                         oldest is the report's target, each other one is\n"
		"                         summed up as its own process; probes as with -f);\n"
		"                         with none running, waits for the first (-d bounds\n"
		"                         the wait)\n"
		"      --all              trace every process on the machine that calls a\n"
		"                         probed allocator, now and later (not memscope-bpf\n"
		"                         itself), each summed up as its own process, ranked\n"
		"                         by leaked and by in-use bytes; no stacks, no\n"
		"                         mappings; every process mapping a probed file traps\n"
		"                         (docs/system-wide.md: the cost)\n"
		"      --cgroup PATH      with --all (implied): only the processes in the\n"
		"                         cgroup v2 directory PATH and below it\n"
		"  -f, --follow           trace the processes the target forks too (with -p:\n"
		"                         those running below it as well), each on its own\n"
		"                         (its leaks, sites and findings under its pid);\n"
		"                         the probes then trap in every process using the\n"
		"                         same allocator files (~1 us a call, dropped in BPF)\n"
		"  -d, --duration SECS    stop tracing after SECS seconds; a launched program\n"
		"                         is then stopped (SIGTERM, SIGKILL 3 s later)\n"
		"  -o, --output FILE      write the report to FILE (FILE.json: JSON,\n"
		"                         FILE.html: HTML, FILE.pb.gz: pprof, FILE.folded:\n"
		"                         folded stacks); '-': standard output\n"
		"      --json FILE        write the JSON report to FILE\n"
		"      --html FILE        write the interactive HTML report to FILE (one file,\n"
		"                         works offline)\n"
		"      --pprof FILE       write a pprof profile (gzip'd profile.proto) to FILE:\n"
		"                         alloc_objects, alloc_space, inuse_objects and\n"
		"                         inuse_space per stack (go tool pprof FILE)\n"
		"      --folded FILE      write folded stacks to FILE (flamegraph.pl, inferno,\n"
		"                         speedscope): one line per stack and its count\n"
		"      --folded-type T    what --folded counts: inuse_space (default: bytes in\n"
		"                         use at the end), alloc_space, inuse_objects or\n"
		"                         alloc_objects\n"
		"      --top N            leak sites in the text summary, and -f's process\n"
		"                         sections (default 10)\n"
		"      --record FILE      also write a capture file as the trace runs, for\n"
		"                         `memscope-bpf report FILE` later, elsewhere\n"
		"      --no-symbolize     read no debug info while tracing: frames are\n"
		"                         module+offset; `report` on the capture names them\n"
		"                         where the same binaries are\n"
		"      --no-debuginfod    never ask a debuginfod server for debug files (by\n"
		"                         default one is asked when DEBUGINFOD_URLS is set)\n"
		"      --no-stacks        take no stacks: allocations are grouped by their\n"
		"                         call site; releases carry none (cheapest mode)\n"
		"      --free-stacks      also take stacks of releases\n"
		"      --unwind MODE      how stacks are walked: auto (default: each object's\n"
		"                         unwind tables (.eh_frame) where it has them, frame\n"
		"                         pointers elsewhere), dwarf (tables only), fp (frame\n"
		"                         pointers only: cheapest, but programs built without\n"
		"                         them, like most of libc, lose their callers)\n"
		"      --sample-bytes N   sample: a record and a stack on average every N bytes\n"
		"                         allocated (suffix k, m, g: KiB, MiB, GiB); reports\n"
		"                         show estimates; the probes still fire on every call\n"
		"      --check-overflow   find writes past the end of blocks: their slack\n"
		"                         (glibc's malloc_usable_size() less the request) is\n"
		"                         filled with a pattern where the kernel lets BPF\n"
		"                         write user memory (this writes into the target),\n"
		"                         read as each is handed out, at its release and at\n"
		"                         the end; a change is a heap_overflow finding.  Not\n"
		"                         with --sample-bytes\n"
		"      --ringbuf-size MB  BPF ring buffer size in MiB (power of two, default 8)\n"
		"      --no-batch         send each call to the loader on its own instead of\n"
		"                         %d at a time per thread (costs the target more)\n"
		"      --interval MS      timeline sampling period in ms (default 100)\n"
		"      --live[=SECS]      while tracing, every SECS seconds (default 2), the\n"
		"                         sites whose in-use bytes grew most, with totals, on\n"
		"                         stderr: a screen redrawn like top's on a terminal,\n"
		"                         else a block of plain lines per period\n"
		"      --min-age SECS     when the target outlives tracing, blocks younger than\n"
		"                         this are not leaks (default 5)\n"
		"      --no-scan          do not scan the target's memory at its exit or at\n"
		"                         detach to tell lost blocks from reachable ones\n"
		"      --scan-max-ms MS   stop the scan after MS milliseconds (default 2000):\n"
		"                         leaks then keep the rule above, unclassified\n"
		"      --allocator-lib PATH  also probe the allocator in the ELF object PATH\n"
		"                         (repeatable): one the target loads later (dlopen)\n"
		"                         or that discovery does not find\n"
		"      --symbol-prefix P  also probe P + each C allocator name (P malloc,\n"
		"                         P free, ...): a jemalloc built with a prefix (je_),\n"
		"                         mimalloc's own API (mi_)\n"
		"      --no-mappings      do not trace mmap, munmap, mremap and brk (the\n"
		"                         anonymous mappings beside the heap)\n"
		"      --check            say whether tracing works on this kernel, and how:\n"
		"                         kernel features, the verifier's use of each BPF\n"
		"                         program, then exit (0: tracing is possible)\n"
		"  -v, --verbose          more diagnostics (repeat for more; -vvv: libbpf)\n"
		"  -h, --help             this text\n"
		"  -V, --version          version\n"
		"\n"
		"record: -o names the capture file (written as the trace runs: a tracer\n"
		"killed leaves what it had); the reports are made as without it.\n"
		"report: the reports of a capture, from the file alone.\n"
		"\n"
		"Tracing stops on Ctrl-C or SIGTERM, after -d, or when the target exits.\n"
		"A launched program never outlives memscope-bpf.  A report FILE that is a\n"
		"regular file or new is replaced whole; a device or FIFO is written in place;\n"
		"a directory or symbolic link is refused before tracing starts.\n",
		MS_BATCH);
}

/* what --version adds to the number: what this build lacks */
#ifdef MEMSCOPE_STATIC
#define MEMSCOPE_BUILD_NOTE " (static build: debuginfod unavailable)"
#else
#define MEMSCOPE_BUILD_NOTE ""
#endif

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out <= max;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool same_path(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* -p PID or PID,PID,...: the first is the target, the others traced beside it */
static enum options_result parse_pids(struct ms_options *o, const char *arg)
{
	char buf[1024], *save = NULL;
	unsigned long v;

	if (strlen(arg) >= sizeof(buf) || !*arg || arg[strlen(arg) - 1] == ',') {
		ms_err("invalid pid list '%s'", arg);
		return OPTIONS_EXIT_ERROR;
	}
	snprintf(buf, sizeof(buf), "%s", arg);
	o->pid = 0;
	o->nmore_pids = 0;
	for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if (!parse_uint(p, 0x7fffffff, &v) || v == 0) {
			ms_err("invalid pid '%s'", p);
			return OPTIONS_EXIT_ERROR;
		}
		if ((int)v == o->pid) {
			ms_err("pid '%lu' given twice", v);
			return OPTIONS_EXIT_ERROR;
		}
		for (int i = 0; i < o->nmore_pids; i++)
			if (o->more_pids[i] == (int)v) {
				ms_err("pid '%lu' given twice", v);
				return OPTIONS_EXIT_ERROR;
			}
		if (!o->pid) {
			o->pid = (int)v;
		} else if (o->nmore_pids == MS_MAX_MORE_PIDS) {
			ms_err("too many pids in '%s' (at most %d)", arg, MS_MAX_MORE_PIDS + 1);
			return OPTIONS_EXIT_ERROR;
		} else {
			o->more_pids[o->nmore_pids++] = (int)v;
		}
	}
	return OPTIONS_RUN;
}

enum { OPT_JSON = 256, OPT_HTML, OPT_PPROF, OPT_FOLDED, OPT_FOLDED_TYPE, OPT_TOP, OPT_NO_STACKS, OPT_FREE_STACKS, OPT_RINGBUF,
       OPT_INTERVAL, OPT_MIN_AGE, OPT_SAMPLE_BYTES, OPT_UNWIND, OPT_NO_BATCH,
       OPT_CHECK, OPT_RECORD, OPT_LIVE, OPT_NO_SYMBOLIZE, OPT_NO_SCAN, OPT_SCAN_MAX_MS,
       OPT_NO_DEBUGINFOD, OPT_ALLOCATOR_LIB, OPT_SYMBOL_PREFIX, OPT_NO_MAPPINGS, OPT_COMM,
       OPT_CHECK_OVERFLOW, OPT_ALL, OPT_CGROUP };

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "follow", no_argument, NULL, 'f' },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "duration", required_argument, NULL, 'd' },
	{ "output", required_argument, NULL, 'o' },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "pprof", required_argument, NULL, OPT_PPROF },
	{ "folded", required_argument, NULL, OPT_FOLDED },
	{ "folded-type", required_argument, NULL, OPT_FOLDED_TYPE },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "no-stacks", no_argument, NULL, OPT_NO_STACKS },
	{ "free-stacks", no_argument, NULL, OPT_FREE_STACKS },
	{ "sample-bytes", required_argument, NULL, OPT_SAMPLE_BYTES },
	{ "unwind", required_argument, NULL, OPT_UNWIND },
	{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
	{ "no-batch", no_argument, NULL, OPT_NO_BATCH },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "no-symbolize", no_argument, NULL, OPT_NO_SYMBOLIZE },
	{ "no-debuginfod", no_argument, NULL, OPT_NO_DEBUGINFOD },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "live", optional_argument, NULL, OPT_LIVE },
	{ "min-age", required_argument, NULL, OPT_MIN_AGE },
	{ "no-scan", no_argument, NULL, OPT_NO_SCAN },
	{ "scan-max-ms", required_argument, NULL, OPT_SCAN_MAX_MS },
	{ "check-overflow", no_argument, NULL, OPT_CHECK_OVERFLOW },
	{ "allocator-lib", required_argument, NULL, OPT_ALLOCATOR_LIB },
	{ "symbol-prefix", required_argument, NULL, OPT_SYMBOL_PREFIX },
	{ "no-mappings", no_argument, NULL, OPT_NO_MAPPINGS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ 0 },
};

/* A positive number of seconds (fractions allowed) into ns; false when invalid. */
static bool parse_seconds(const char *arg, double scale, bool allow_zero, uint64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || end == arg || !isfinite(v) || v < 0 || (!allow_zero && v == 0) ||
	    v * scale > 1e18)
		return false;
	*ns = (uint64_t)(v * scale);
	return true;
}

/* A byte count >= 1 with an optional k, m or g (binary) suffix, up to 1 TiB. */
static bool parse_bytes(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || v == 0 || v > (1ull << 40) >> shift)
		return false;
	*out = v << shift;
	return true;
}

static enum options_result parse_folded_type(struct ms_options *o, const char *arg)
{
	for (int v = 0; v < REPORT_VALUE__COUNT; v++) {
		if (!strcmp(arg, report_value__name(v))) {
			o->folded_type = v;
			return OPTIONS_RUN;
		}
	}
	ms_err("invalid --folded-type '%s' (alloc_objects, alloc_space, inuse_objects or "
	       "inuse_space)", arg);
	return OPTIONS_EXIT_ERROR;
}

static enum options_result parse_one(struct ms_options *o, int c, const char *arg)
{
	unsigned long v;
	uint64_t ns;

	switch (c) {
	case 'p':
		return parse_pids(o, arg);
	case 'd':
		if (!parse_seconds(arg, 1e9, false, &ns)) {
			ms_err("invalid duration '%s' (seconds, > 0)", arg);
			return OPTIONS_EXIT_ERROR;
		}
		o->duration_s = (double)ns / 1e9;
		break;
	case OPT_INTERVAL:
		if (!parse_seconds(arg, 1e6, false, &ns) || ns < 1000000) {
			ms_err("invalid --interval '%s' (milliseconds, >= 1)", arg);
			return OPTIONS_EXIT_ERROR;
		}
		o->interval_ns = ns;
		break;
	case OPT_LIVE:
		/* only --live=SECS: "--live 5" would take a program named 5 */
		if (!arg) {
			o->live_ns = 2 * 1000000000ull;
		} else if (!parse_seconds(arg, 1e9, false, &ns) || ns < 100000000) {
			ms_err("invalid --live '%s' (seconds, >= 0.1)", arg);
			return OPTIONS_EXIT_ERROR;
		} else {
			o->live_ns = ns;
		}
		break;
	case OPT_MIN_AGE:
		if (!parse_seconds(arg, 1e9, true, &ns)) {
			ms_err("invalid --min-age '%s' (seconds, >= 0)", arg);
			return OPTIONS_EXIT_ERROR;
		}
		o->min_age_ns = ns;
		break;
	case OPT_NO_SCAN:
		o->no_scan = true;
		break;
	case OPT_SCAN_MAX_MS:
		if (!parse_seconds(arg, 1e6, false, &ns) || ns < 1000000) {
			ms_err("invalid --scan-max-ms '%s' (milliseconds, >= 1)", arg);
			return OPTIONS_EXIT_ERROR;
		}
		o->scan_max_ns = ns;
		break;
	case OPT_RECORD:
		o->record_path = arg;
		break;
	case OPT_NO_SYMBOLIZE:
		o->no_symbolize = true;
		break;
	case OPT_NO_DEBUGINFOD:
		o->no_debuginfod = true;
		break;
	case OPT_ALLOCATOR_LIB:
		if (!*arg || o->nallocator_libs == MS_MAX_ALLOCATOR_LIBS) {
			ms_err(*arg ? "too many --allocator-lib (at most %d)" :
			       "invalid --allocator-lib '' (a path)", MS_MAX_ALLOCATOR_LIBS);
			return OPTIONS_EXIT_ERROR;
		}
		o->allocator_libs[o->nallocator_libs++] = (char *)arg;
		break;
	case OPT_SYMBOL_PREFIX:
		if (!*arg || strlen(arg) > 64 || strspn(arg, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$") != strlen(arg)) {
			ms_err("invalid --symbol-prefix '%s' (letters, digits, '_', '.', '$', at most 64)", arg);
			return OPTIONS_EXIT_ERROR;
		}
		o->symbol_prefix = arg;
		break;
	case OPT_NO_MAPPINGS:
		o->no_mappings = true;
		break;
	case 'o':
		if (o->command == MS_CMD_RECORD)
			o->record_path = arg;
		else if (has_suffix(arg, ".json"))
			o->json_path = arg;
		else if (has_suffix(arg, ".html") || has_suffix(arg, ".htm"))
			o->html_path = arg;
		else if (has_suffix(arg, ".pb.gz"))
			o->pprof_path = arg;
		else if (has_suffix(arg, ".folded"))
			o->folded_path = arg;
		else
			o->text_path = arg;
		break;
	case OPT_JSON:
		o->json_path = arg;
		break;
	case OPT_HTML:
		o->html_path = arg;
		break;
	case OPT_PPROF:
		o->pprof_path = arg;
		break;
	case OPT_FOLDED:
		o->folded_path = arg;
		break;
	case OPT_FOLDED_TYPE:
		return parse_folded_type(o, arg);
	case OPT_TOP:
		if (!parse_uint(arg, 100000, &v)) {
			ms_err("invalid --top '%s'", arg);
			return OPTIONS_EXIT_ERROR;
		}
		o->top = (unsigned)v;
		break;
	case OPT_NO_STACKS:
		o->alloc_stacks = false;
		break;
	case OPT_FREE_STACKS:
		o->free_stacks = true;
		break;
	case OPT_NO_BATCH:
		o->batch = false;
		break;
	case OPT_CHECK:
		o->check = true;
		break;
	case OPT_CHECK_OVERFLOW:
		o->check_overflow = true;
		break;
	case OPT_UNWIND:
		if (!strcmp(arg, "auto")) {
			o->unwind_mode = MS_UNWIND_AUTO;
		} else if (!strcmp(arg, "fp")) {
			o->unwind_mode = MS_UNWIND_FP;
		} else if (!strcmp(arg, "dwarf")) {
			o->unwind_mode = MS_UNWIND_DWARF;
		} else {
			ms_err("invalid --unwind '%s' (auto, dwarf or fp)", arg);
			return OPTIONS_EXIT_ERROR;
		}
		break;
	case OPT_SAMPLE_BYTES:
		if (!parse_bytes(arg, &o->sample_bytes)) {
			ms_err("invalid --sample-bytes '%s' (bytes, >= 1, suffix k, m or g)", arg);
			return OPTIONS_EXIT_ERROR;
		}
		break;
	case OPT_RINGBUF:
		if (!parse_uint(arg, 1024, &v) || v == 0 || (v & (v - 1))) {
			ms_err("invalid --ringbuf-size '%s' (MiB, a power of two up to 1024)", arg);
			return OPTIONS_EXIT_ERROR;
		}
		o->ringbuf_bytes = (uint32_t)(v << 20);
		break;
	case 'v':
		o->verbose++;
		break;
	case 'f':
		o->follow = true;
		break;
	case OPT_COMM:
		/* the kernel's comm: at most 15 bytes */
		if (!*arg || strlen(arg) > 15 || strchr(arg, '/')) {
			ms_err("invalid --comm '%s' (a process name, 1 to 15 bytes)", arg);
			return OPTIONS_EXIT_ERROR;
		}
		o->comm = arg;
		break;
	case OPT_ALL:
		o->all = true;
		break;
	case OPT_CGROUP:
		if (!*arg) {
			ms_err("invalid --cgroup '' (a cgroup v2 directory)");
			return OPTIONS_EXIT_ERROR;
		}
		o->cgroup = arg;
		o->all = true;
		break;
	case 'h':
		options__usage(stdout);
		return OPTIONS_EXIT_OK;
	case 'V':
		printf("memscope-bpf %s%s\n", MEMSCOPE_VERSION, MEMSCOPE_BUILD_NOTE);
		return OPTIONS_EXIT_OK;
	default:
		options__usage(stderr);
		return OPTIONS_EXIT_ERROR;
	}
	return OPTIONS_RUN;
}

/* No path names two outputs: one would replace the other. */
static enum options_result check_outputs(const struct ms_options *o)
{
	const char *paths[] = { o->json_path, o->html_path, o->pprof_path, o->folded_path,
				o->text_path, o->record_path };
	size_t n = sizeof(paths) / sizeof(paths[0]);

	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++) {
			if (same_path(paths[i], paths[j])) {
				ms_err("'%s' given for two outputs", paths[i]);
				return OPTIONS_EXIT_ERROR;
			}
		}
	}
	return OPTIONS_RUN;
}

/* report FILE: one capture, and nothing that only tracing uses. */
static enum options_result check_report(struct ms_options *o)
{
	if (!o->argv || o->argv[1]) {
		ms_err("report: give one capture file (memscope-bpf report FILE.msb)");
		return OPTIONS_EXIT_ERROR;
	}
	if (o->pid || o->duration_s || o->check || o->record_path || o->nallocator_libs ||
	    o->symbol_prefix || o->no_mappings || o->follow || o->comm || o->check_overflow ||
	    o->all) {
		ms_err("report reads a capture: -p, -d, -f, --comm, --all, --cgroup, --check, --record, "
		       "--allocator-lib, "
		       "--symbol-prefix, --no-mappings and --check-overflow do not apply");
		return OPTIONS_EXIT_ERROR;
	}
	o->replay_path = o->argv[0];
	o->argv = NULL;
	return check_outputs(o);
}

/* --all (--cgroup): no target of its own, and only what makes sense across processes. */
static enum options_result check_all(const struct ms_options *o)
{
	const char *what = o->pid ? "-p" : o->argv ? "a program to launch" : o->comm ? "--comm" :
			   o->follow ? "-f" : o->check ? "--check" : NULL;

	if (what) {
		ms_err("--all traces every process: %s does not go with it", what);
		return OPTIONS_EXIT_ERROR;
	}
	what = !o->batch ? "--no-batch" : o->check_overflow ? "--check-overflow" :
	       o->live_ns ? "--live" : NULL;
	if (what) {
		ms_err("%s does not go with --all (%s)", what,
		       !o->batch ? "following processes needs batching's hooks" :
		       "it reads one process's heap");
		return OPTIONS_EXIT_ERROR;
	}
	return OPTIONS_RUN;
}

enum options_result options__parse(struct ms_options *o, int argc, char **argv)
{
	enum options_result r;
	int c;

	memset(o, 0, sizeof(*o));
	o->top = 10;
	o->folded_type = REPORT_INUSE_SPACE;
	o->alloc_stacks = true;
	o->batch = true;
	o->interval_ns = 100 * 1000000ull;
	o->min_age_ns = 5 * 1000000000ull;
	o->scan_max_ns = 2000 * 1000000ull;
	if (argc > 1 && (!strcmp(argv[1], "record") || !strcmp(argv[1], "report"))) {
		o->command = !strcmp(argv[1], "record") ? MS_CMD_RECORD : MS_CMD_REPORT;
		argv++;
		argc--;
	}
	/*
	 * 0, not 1: glibc then also forgets where it was inside a cluster like
	 * "-xp1" that an earlier call stopped in, instead of reading on there
	 */
	optind = 0;
	/* '+': stop at the program's name so its own options stay its own
	 * (report has no program: its options may follow the file) */
	while ((c = getopt_long(argc, argv,
				o->command == MS_CMD_REPORT ? "p:d:o:fvhV" : "+p:d:o:fvhV",
				long_opts, NULL)) != -1) {
		r = parse_one(o, c, optarg);
		if (r != OPTIONS_RUN)
			return r;
	}
	if (optind < argc)
		o->argv = argv + optind;
	if (o->command == MS_CMD_REPORT)
		return check_report(o);
	if (o->command == MS_CMD_RECORD && !o->record_path) {
		ms_err("record: give the capture file with -o FILE.msb");
		return OPTIONS_EXIT_ERROR;
	}
	if (o->all) {
		enum options_result r2 = check_all(o);

		if (r2 != OPTIONS_RUN)
			return r2;
	}
	if (o->check) {
		if (!o->pid && !o->argv && !o->comm)
			return OPTIONS_RUN;
		ms_err("--check traces nothing: give it no -p and no program");
		return OPTIONS_EXIT_ERROR;
	}
	if (o->check_overflow && o->sample_bytes) {
		ms_err("--check-overflow reads every block: it does not go with --sample-bytes");
		return OPTIONS_EXIT_ERROR;
	}
	if (o->pid && o->argv) {
		ms_err("-p and a program to launch conflict: give one of them");
		return OPTIONS_EXIT_ERROR;
	}
	if (o->comm && (o->pid || o->argv)) {
		ms_err("--comm names the targets: give no -p and no program");
		return OPTIONS_EXIT_ERROR;
	}
	/* the fork and exit hooks come with batching */
	if ((o->follow || o->nmore_pids || o->comm) && !o->batch) {
		ms_err("%s and --no-batch conflict: following processes needs batching's hooks",
		       o->follow ? "-f" : o->comm ? "--comm" : "-p PID,PID");
		return OPTIONS_EXIT_ERROR;
	}
	if (!o->pid && !o->argv && !o->comm && !o->all) {
		ms_err("nothing to trace: give -p PID or a program to launch (see --help)");
		return OPTIONS_EXIT_ERROR;
	}
	return check_outputs(o);
}
