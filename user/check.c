// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "memscope_events.h"
#include "util.h"

/* rows enough for a large program and its libraries: the map's size barely moves the verifier */
#define CHECK_ROWS (1u << 18)

/* name, uprobe_multi, alloc stacks, free stacks, unwind mode, sample bytes, batch, mappings */
#define CFGM(nm, mu, st, fr, uw, sa, ba, mp)                                             \
	{ .name = nm, .multi = mu,                                                       \
	  .opts = { .sz = sizeof(struct tracer_opts), .alloc_stacks = st, .free_stacks = fr, \
		    .unwind_mode = uw, .sample_bytes = sa, .batch = ba,                \
		    .unwind_rows = CHECK_ROWS, .mappings = mp } }
#define CFG(nm, mu, st, fr, uw, sa, ba) CFGM(nm, mu, st, fr, uw, sa, ba, TRACER_MAPS_BTF)

static const struct check_config configs[] = {
	CFG("default", true, true, false, MS_UNWIND_AUTO, 0, true),
	CFG("--unwind=dwarf", true, true, false, MS_UNWIND_DWARF, 0, true),
	CFG("--unwind=fp", true, true, false, MS_UNWIND_FP, 0, true),
	CFG("--no-stacks", true, false, false, MS_UNWIND_AUTO, 0, true),
	CFG("--free-stacks", true, true, true, MS_UNWIND_AUTO, 0, true),
	CFG("--sample-bytes", true, true, false, MS_UNWIND_AUTO, 512 << 10, true),
	CFG("--no-batch", true, true, false, MS_UNWIND_AUTO, 0, false),
	CFG("default, perf-event uprobes", false, true, false, MS_UNWIND_AUTO, 0, true),
	CFG("--unwind=fp, perf-event uprobes", false, true, false, MS_UNWIND_FP, 0, true),
	CFG("--free-stacks, perf-event", false, true, true, MS_UNWIND_AUTO, 0, true),
	CFG("--no-batch, perf-event uprobes", false, true, false, MS_UNWIND_AUTO, 0, false),
	{ .name = "--check-overflow", .multi = true,
	  .opts = { .sz = sizeof(struct tracer_opts), .alloc_stacks = true,
		    .unwind_mode = MS_UNWIND_AUTO, .batch = true, .unwind_rows = CHECK_ROWS,
		    .check_overflow = true } },
	{ .name = "--check-overflow, --no-batch, perf", .multi = false,
	  .opts = { .sz = sizeof(struct tracer_opts), .alloc_stacks = true, .free_stacks = true,
		    .unwind_mode = MS_UNWIND_AUTO, .batch = false, .unwind_rows = CHECK_ROWS,
		    .check_overflow = true } },
	/* the mappings' fallback: a raw tracepoint where tp_btf is refused */
	CFGM("mappings by raw_tp", true, true, false, MS_UNWIND_AUTO, 0, true, TRACER_MAPS_RAW),
	CFGM("--unwind=fp, mappings by raw_tp", true, true, false, MS_UNWIND_FP, 0, true,
	     TRACER_MAPS_RAW),
	CFGM("--no-batch, mappings by raw_tp", true, true, false, MS_UNWIND_AUTO, 0, false,
	     TRACER_MAPS_RAW),
	/* --all (no stacks, no mappings), with --cgroup's check, and sampled; perf events too */
	{ .name = "--all --cgroup", .multi = true,
	  .opts = { .sz = sizeof(struct tracer_opts), .unwind_mode = MS_UNWIND_AUTO, .batch = true,
		    .unwind_rows = CHECK_ROWS, .all = true, .self_pid = 1, .cgroup_id = 1,
		    .cgroup_level = 1 } },
	{ .name = "--all --sample-bytes", .multi = true,
	  .opts = { .sz = sizeof(struct tracer_opts), .unwind_mode = MS_UNWIND_AUTO, .batch = true,
		    .unwind_rows = CHECK_ROWS, .all = true, .self_pid = 1,
		    .sample_bytes = 512 << 10 } },
	{ .name = "--all --cgroup, perf-event uprobes", .multi = false,
	  .opts = { .sz = sizeof(struct tracer_opts), .unwind_mode = MS_UNWIND_AUTO, .batch = true,
		    .unwind_rows = CHECK_ROWS, .all = true, .self_pid = 1, .cgroup_id = 1,
		    .cgroup_level = 1 } },
};

const struct check_config *check__configs(size_t *n)
{
	*n = sizeof(configs) / sizeof(configs[0]);
	return configs;
}

#define MAX_PROGS 64

/* One program's row of the table. */
static void verdict_row(FILE *f, const char *config, const struct prog_verdict *v, bool over)
{
	if (v->insns >= 0)
		fprintf(f, "  %-34s %-18s %9ld %6.1f%%", config, v->name, v->insns,
			100.0 * v->insns / MS_VERIFIER_LIMIT);
	else
		fprintf(f, "  %-34s %-18s %9s %7s", config, v->name, "?", "");
	if (over)
		fputs("  OVER BUDGET", f);
	if (v->err)
		fprintf(f, "  refused: %s: %s", strerror(-v->err), v->last);
	fputc('\n', f);
}

int check__verifier_table(FILE *f, bool all)
{
	struct prog_verdict v[MAX_PROGS];
	int bad = 0, tried = 0, err = 0;
	size_t n;
	const struct check_config *c = check__configs(&n);

	fprintf(f, "  %-34s %-18s %9s %7s\n", "configuration", all ? "program" : "largest program",
		"insns", "limit");
	for (size_t i = 0; i < n; i++) {
		int got = tracer__verify(&c[i].opts, c[i].multi, v, MAX_PROGS), top = 0;

		if (got < 0) {
			fprintf(f, "  %-34s cannot open the BPF object: %s\n", c[i].name,
				strerror(-got));
			err = got;
			continue;
		}
		for (int j = 0; j < got; j++) {
			bool over = v[j].err || v[j].insns < 0 || v[j].insns > MS_VERIFIER_BUDGET;

			tried++;
			bad += over;
			if (all || over)
				verdict_row(f, c[i].name, &v[j], over);
			if (v[j].insns > v[top].insns)
				top = j;
		}
		if (!all && got)
			verdict_row(f, c[i].name, &v[top], false);
	}
	fprintf(f, "  budget: %ld instructions (10%% of the limit); %d of %d programs over it or "
		   "refused\n", MS_VERIFIER_BUDGET, bad, tried);
	return tried ? bad : (err ? err : -ENOENT);
}

/* A feature's line: what it is for, and whether the kernel has it. */
static void feature(const char *what, bool ok, const char *without)
{
	printf("  %-34s %s%s%s\n", what, ok ? "yes" : "NO", ok ? "" : ": ", ok ? "" : without);
}

static bool helper(enum bpf_func_id id)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, id, NULL) == 1;
}

/* The first line of a small file, or "" (with why in it) when unreadable. */
static void read_line(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(out, (int)size, f))
		snprintf(out, size, "(cannot read '%s')", path);
	else
		out[strcspn(out, "\n")] = 0;
	if (f)
		fclose(f);
}

static bool has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

/* Prints the process's and the kernel's side; false when tracing cannot work at all. */
static bool check_features(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	bool btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0, caps, ringbuf, storage;
	struct utsname u;
	char line[256];

	uname(&u);
	printf("kernel %s (%s)\n", u.release, u.machine);
	syscall(SYS_capget, &h, d);
	caps = has_cap(d, CAP_SYS_ADMIN) || (has_cap(d, 39 /* CAP_BPF */) &&
					      has_cap(d, 38 /* CAP_PERFMON */));
	feature("root or CAP_BPF + CAP_PERFMON", caps, "run as root");
	read_line("/sys/kernel/security/lockdown", line, sizeof(line));
	printf("  %-34s %s\n", "lockdown", line);
	read_line("/proc/sys/kernel/perf_event_paranoid", line, sizeof(line));
	printf("  %-34s %s\n", "perf_event_paranoid", line);
	feature("BTF (/sys/kernel/btf/vmlinux)", btf, "no CO-RE: nothing can load (CONFIG_DEBUG_INFO_BTF)");
	ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	feature("BPF ring buffer (5.8)", ringbuf, "nothing can be traced");
	storage = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) == 1 &&
		  helper(BPF_FUNC_task_storage_get) && helper(BPF_FUNC_get_current_task_btf);
	feature("task storage (5.11)", storage, "nothing can be traced");
	feature("bpf_get_attach_cookie (5.15)", helper(BPF_FUNC_get_attach_cookie),
		"nothing can be traced");
	feature("bpf_loop (5.17)", helper(BPF_FUNC_loop), "no stacks (--no-stacks)");
	feature("bpf_find_vma (5.17)", helper(BPF_FUNC_find_vma),
		"no DWARF unwinding (--unwind=fp)");
	feature("uprobe_multi links (6.6)", tracer__has_uprobe_multi(),
		"perf-event uprobes: detaching takes longer");
	return caps && btf && ringbuf && storage;
}

/* The mode a default trace would run in: the fallback ladder, walked for real. */
static bool check_mode(void)
{
	size_t n;
	const struct check_config *c = check__configs(&n);
	struct tracer_opts o = c[0].opts;
	const struct tracer_mode *m;
	struct tracer *t;

	o.pid = getpid();
	t = tracer__new(&o);
	if (!t)
		return false;
	m = tracer__mode(t);
	printf("\nmode: a trace with no flags runs with %s stacks, %s, %s, %s\n",
	       !m->alloc_stacks ? "no" : m->unwind_mode == MS_UNWIND_FP ? "frame-pointer" : "DWARF",
	       m->batch ? "records batched per thread" : "one record per call",
	       m->multi ? "uprobe_multi links" : "perf-event uprobes",
	       m->mappings == TRACER_MAPS_BTF ? "mappings by tp_btf on sys_exit" :
	       m->mappings == TRACER_MAPS_RAW ? "mappings by a raw tracepoint on sys_exit" :
	       "no mappings");
	for (size_t i = 0; i < m->ndegraded; i++)
		printf("  degraded: %s lost (%s): %s\n", m->degraded[i].feature,
		       m->degraded[i].reason, m->degraded[i].instead);
	tracer__free(t);
	return true;
}

int check__run(bool all)
{
	bool ok = check_features();
	int bad;

	printf("\nverifier: instructions processed, per configuration%s\n",
	       all ? " and program" : " (-v: every program)");
	bad = check__verifier_table(stdout, all);
	if (!ok) {
		printf("\nresult: tracing is not possible here (see NO above)\n");
		return 1;
	}
	if (bad < 0 || !check_mode()) {
		printf("\nresult: no BPF program could be loaded (see above)\n");
		return 1;
	}
	printf("\nresult: tracing works here%s\n",
	       bad ? "; some configurations were refused (see above): their flags fall back" : "");
	return 0;
}
