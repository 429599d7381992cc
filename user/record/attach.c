// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "memscope.skel.h"
#include "sample.h"
#include "util.h"

/*
 * uprobe_multi links (Linux 6.6): one link per program and object instead
 * of a perf event per probe.  Destroying a perf-event uprobe waits for an RCU
 * grace period, ~130-320 ms each here, so detaching 17-45 probes took 2-15 s;
 * a few links go in well under 1.5 s (bench/README.md).  libbpf 1.1.2 has no
 * API for them, so the link is made with bpf(); the constants and the layout
 * are the kernel's uapi, newer than libbpf's headers.
 */
#define MS_TRACE_UPROBE_MULTI 48
#define MS_UPROBE_MULTI_RETURN 1u

struct uprobe_multi_attr {
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, multi_flags, pid;
};

struct tracer {
	struct memscope *skel;
	struct tracer_opts opts; /* to load again without uprobe_multi */
	bool multi;              /* the allocator programs attach with uprobe_multi */
	bool batch;              /* loaded with batching (opts.batch, if the kernel takes it) */
	struct bpf_link *sweep;  /* the iter/task link of a batching tracer */
	struct bpf_link *exit;   /* its thread-exit hook */
	struct bpf_link *vm_child; /* and its count of processes sharing the target's memory */
	struct bpf_link *exec_seen; /* and its count of the target's execs */
	struct bpf_link *maps;   /* mmap & co. at sys_exit (opts.mappings) */
	struct bpf_link **links;
	size_t nlinks;
	int *mfds;               /* uprobe_multi links */
	size_t nmfds;
	int pid;
	int probe_pid;           /* the probes' filter: pid, or -1 (none) with -f */
	struct tracer_mode mode; /* what runs: opts less what the kernel refused */
	/* the ring buffer's consumer and producer pages, mapped read-only */
	const volatile uint64_t *ring_pos;
};

/*
 * The last program libbpf said it could not load, and the verifier's last
 * word on it, taken from libbpf's warnings: the fallback ladder and the
 * error message name them.
 */
static struct {
	char prog[64];
	char why[160];
} refusal;

/* The last line of a verifier log that is not its statistics. */
static void verifier_verdict(const char *log, size_t len, char *out, size_t size)
{
	size_t end = len;

	while (end) {
		size_t start = end;

		while (start && log[start - 1] != '\n')
			start--;
		if (end > start && strncmp(log + start, "processed ", 10) &&
		    strncmp(log + start, "verification time", 17)) {
			snprintf(out, size, "%.*s", (int)(end - start), log + start);
			return;
		}
		end = start ? start - 1 : 0;
	}
}

static void note_refusal(const char *fmt, va_list ap)
{
	const char *name, *log, *log_end;
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	name = strstr(msg, "prog '");
	log = strstr(msg, "-- BEGIN PROG LOAD LOG --\n");
	if (name && strstr(msg, "BPF program load failed")) {
		name += 6;
		snprintf(refusal.prog, sizeof(refusal.prog), "%.*s", (int)strcspn(name, "'"), name);
		snprintf(refusal.why, sizeof(refusal.why), "%s",
			 strstr(msg, "failed: ") ? strstr(msg, "failed: ") + 8 : "");
		refusal.why[strcspn(refusal.why, "\n")] = 0;
	} else if (log) {
		log += 26;
		log_end = strstr(log, "-- END PROG LOAD LOG --");
		verifier_verdict(log, log_end ? (size_t)(log_end - log) : strlen(log), refusal.why,
				 sizeof(refusal.why));
	}
	free(msg);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN) {
		va_list copy;

		va_copy(copy, ap);
		note_refusal(fmt, copy);
		va_end(copy);
	}
	if (level == LIBBPF_DEBUG && ms_verbose < 3)
		return 0;
	if (level == LIBBPF_INFO && ms_verbose < 2)
		return 0;
	if (level == LIBBPF_WARN && ms_verbose < 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void explain_load_error(int err)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		ms_err("cannot load BPF programs: the kernel has no BTF (/sys/kernel/btf/vmlinux: "
		       "CONFIG_DEBUG_INFO_BTF)");
	else if (err == -EPERM)
		ms_err("cannot load BPF programs: %s (run as root, or with CAP_BPF, "
		       "CAP_PERFMON and CAP_SYS_ADMIN)", strerror(-err));
	else if (refusal.prog[0])
		ms_err("cannot load BPF program '%s': %s (%s; memscope-bpf --check -v tells more)",
		       refusal.prog, refusal.why, strerror(-err));
	else
		ms_err("cannot load BPF programs: %s (-vvv shows libbpf's log)", strerror(-err));
}

enum { ALLOC_PROGS = 9 };

/* The allocator programs: the entry programs (prog_for()), the return program last. */
static void allocator_programs(const struct memscope *k, struct bpf_program *out[ALLOC_PROGS])
{
	struct bpf_program *all[ALLOC_PROGS] = {
		k->progs.alloc_enter, k->progs.enter_malloc,   k->progs.enter_new,
		k->progs.release,     k->progs.release_free,   k->progs.release_delete,
		k->progs.release_dsized, k->progs.thread_exiting, k->progs.alloc_exit,
	};

	memcpy(out, all, sizeof(all));
}

/*
 * Opens the skeleton and sets its read-only config and map sizes for opts;
 * multi: for uprobe_multi links; batch: with the programs that batching
 * needs (iter/task, tp_btf: Linux 5.8 or so).  NULL with errno set.
 */
static struct memscope *open_configured(const struct tracer_opts *opts, bool multi, bool batch)
{
	struct memscope *k = memscope__open();

	if (!k)
		return NULL;
	k->rodata->batch = batch;
	if (!batch) {
		bpf_program__set_autoload(k->progs.thread_exit, false);
		bpf_program__set_autoload(k->progs.vm_child, false);
		bpf_program__set_autoload(k->progs.exec_seen, false);
		bpf_program__set_autoload(k->progs.sweep, false);
	}
	/* the unwinder's keys: only where there are CFI tables to key */
	if (opts->unwind_mode == MS_UNWIND_FP || (!opts->alloc_stacks && !opts->free_stacks))
		bpf_program__set_autoload(k->progs.vma_keys, false);
	bpf_program__set_autoload(k->progs.maps_exit, opts->mappings == TRACER_MAPS_BTF);
	bpf_program__set_autoload(k->progs.maps_exit_raw, opts->mappings == TRACER_MAPS_RAW);
	k->rodata->target_tgid = opts->pid;
	k->rodata->follow = opts->follow;
	k->rodata->use_procs = opts->follow || opts->several || opts->all;
	if (opts->all) {
		k->rodata->trace_all = true;
		k->rodata->self_tgid = (__u32)opts->self_pid;
		k->rodata->cgroup_id = opts->cgroup_id;
		k->rodata->cgroup_level = opts->cgroup_level;
		bpf_map__set_max_entries(k->maps.procs, MS_MAX_PROCS_ALL);
	}
	if (opts->comm)
		snprintf((char *)k->rodata->comm_name, sizeof(k->rodata->comm_name), "%s", opts->comm);
	k->rodata->alloc_stacks = opts->alloc_stacks;
	k->rodata->free_stacks = opts->free_stacks;
	k->rodata->sample_bytes = opts->sample_bytes;
	k->rodata->check_overflow = opts->check_overflow && !opts->sample_bytes;
	k->rodata->overflow_canary = k->rodata->check_overflow && opts->overflow_canary;
	k->rodata->unwind_mode = opts->unwind_mode;
	if (opts->unwind_rows)
		bpf_map__set_max_entries(k->maps.unwind_rows, opts->unwind_rows);
	if (opts->sample_bytes)
		sample__fill_gaps(opts->sample_bytes, (uint64_t *)k->rodata->sample_gaps,
				  MS_SAMPLE_GAPS);
	if (opts->ringbuf_bytes) {
		bpf_map__set_max_entries(k->maps.events, opts->ringbuf_bytes);
		/* wake the loader early enough that a burst cannot fill the rest */
		k->rodata->wake_bytes = opts->ringbuf_bytes / 4;
	} else {
		k->rodata->wake_bytes = bpf_map__max_entries(k->maps.events) / 4;
	}
	if (multi) {
		struct bpf_program *progs[ALLOC_PROGS];

		allocator_programs(k, progs);
		for (size_t i = 0; i < ALLOC_PROGS; i++)
			bpf_program__set_expected_attach_type(progs[i], MS_TRACE_UPROBE_MULTI);
	}
	return k;
}

/*
 * MEMSCOPE_REFUSE=canary,multi,batch,dwarf,fp,stacks,tp_btf,raw_tp makes the load refuse what it
 * names, as a kernel without it would: the tests walk the fallback ladder so.
 */
static bool refused_by_env(const char *what)
{
	const char *v = getenv("MEMSCOPE_REFUSE"), *p = v;
	size_t n = strlen(what);

	while (p && (p = strstr(p, what))) {
		if ((p == v || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

/* What MEMSCOPE_REFUSE refuses of this configuration, with the program that would fail. */
static const char *injected_refusal(const struct tracer_opts *o, bool multi, bool batch)
{
	bool stacks = o->alloc_stacks || o->free_stacks;

	if (o->check_overflow && o->overflow_canary && refused_by_env("canary"))
		return "alloc_exit";
	if (multi && refused_by_env("multi"))
		return "alloc_enter";
	if (batch && refused_by_env("batch"))
		return "thread_exit";
	if (stacks && o->unwind_mode != MS_UNWIND_FP && refused_by_env("dwarf"))
		return "alloc_exit";
	if (stacks && o->unwind_mode == MS_UNWIND_FP && refused_by_env("fp"))
		return "alloc_exit";
	if (o->mappings == TRACER_MAPS_BTF && refused_by_env("tp_btf"))
		return "maps_exit";
	if (o->mappings == TRACER_MAPS_RAW && refused_by_env("raw_tp"))
		return "maps_exit_raw";
	if (refused_by_env("all"))
		return "alloc_enter";
	return NULL;
}

/* Opens and loads the skeleton (see open_configured()). */
static int load(struct tracer *t, bool multi, bool batch)
{
	const char *fake = injected_refusal(&t->opts, multi, batch);

	memscope__destroy(t->skel);
	t->skel = NULL;
	t->multi = multi;
	t->batch = batch;
	refusal.prog[0] = refusal.why[0] = 0;
	if (fake) {
		snprintf(refusal.prog, sizeof(refusal.prog), "%s", fake);
		snprintf(refusal.why, sizeof(refusal.why), "MEMSCOPE_REFUSE is set");
		return -EOPNOTSUPP;
	}
	t->skel = open_configured(&t->opts, multi, batch);
	if (!t->skel)
		return -errno;
	return memscope__load(t->skel);
}

/* "processed N insns" of a verifier log with statistics; -1 when absent. */
long tracer__parse_processed(const char *log)
{
	const char *p = log ? strstr(log, "processed ") : NULL;
	char *end;
	long n;

	if (!p)
		return -1;
	n = strtol(p + 10, &end, 10);
	if (end == p + 10 || strncmp(end, " insns", 6))
		return -1;
	return n;
}

/* Loads prog of a configured, unloaded object alone, with the verifier's statistics. */
static void verify_one(const struct tracer_opts *opts, bool multi, bool batch, const char *name,
		       struct prog_verdict *v)
{
	/* statistics alone first; on a refusal the whole log again, for its last line */
	static const uint32_t levels[] = { 4, 1 | 4 };
	size_t sizes[] = { 64 << 10, 16 << 20 };

	v->insns = -1;
	v->err = 0;
	v->last[0] = 0;
	for (size_t l = 0; l < 2; l++) {
		struct memscope *k = open_configured(opts, multi, batch);
		struct bpf_program *p, *mine = NULL;
		char *log = xcalloc(1, sizes[l]);

		if (!k) {
			v->err = -errno;
			free(log);
			return;
		}
		bpf_object__for_each_program(p, k->obj) {
			if (strcmp(bpf_program__name(p), name)) {
				bpf_program__set_autoload(p, false);
				continue;
			}
			mine = p;
			bpf_program__set_log_level(p, levels[l]);
			bpf_program__set_log_buf(p, log, sizes[l]);
		}
		v->err = mine ? memscope__load(k) : -ENOENT;
		if (v->insns < 0)
			v->insns = tracer__parse_processed(log);
		if (v->err && l == 1)
			verifier_verdict(log, strlen(log), v->last, sizeof(v->last));
		memscope__destroy(k);
		free(log);
		if (!v->err)
			return;
	}
}

int tracer__verify(const struct tracer_opts *opts, bool multi, struct prog_verdict *out,
		   size_t max)
{
	struct memscope *k = open_configured(opts, multi, opts->batch);
	struct bpf_program *p;
	size_t n = 0;

	if (!k)
		return -errno;
	libbpf_set_print(libbpf_print);
	bpf_object__for_each_program(p, k->obj) {
		if (n == max)
			break;
		if (!bpf_program__autoload(p))
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_program__name(p));
		n++;
	}
	memscope__destroy(k);
	for (size_t i = 0; i < n; i++)
		verify_one(opts, multi, opts->batch, out[i].name, &out[i]);
	return (int)n;
}

/*
 * The program for a function's entry (ret: its return).  The most called
 * functions have programs with their MS_FN_* built in, which saves the
 * others' helper call for the probe's cookie on every call.
 */
static struct bpf_program *prog_for(const struct tracer *t, uint8_t fn, bool ret)
{
	const struct memscope *k = t->skel;

	if (ret)
		return k->progs.alloc_exit;
	switch (fn) {
	case MS_FN_MALLOC:
		return k->progs.enter_malloc;
	case MS_FN_NEW:
		return k->progs.enter_new;
	case MS_FN_FREE:
		return k->progs.release_free;
	case MS_FN_DELETE:
		return k->progs.release_delete;
	case MS_FN_DELETE_SIZED:
		return k->progs.release_dsized;
	case MS_FN_THREAD_EXIT:
		return k->progs.thread_exiting;
	default:
		return MS_FN_IS_RELEASE(fn) ? k->progs.release : k->progs.alloc_enter;
	}
}

bool tracer__has_uprobe_multi(void)
{
	static const struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = MS_TRACE_UPROBE_MULTI);
	struct uprobe_multi_attr a = { 0 };
	uint64_t off = 0;
	int fd, link;

	/* a link on a path that does not exist: ENOENT where the kernel knows them */
	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "ms_multi_probe", "GPL", prog, 2, &po);
	if (fd < 0)
		return false;
	a.prog_fd = (uint32_t)fd;
	a.attach_type = MS_TRACE_UPROBE_MULTI;
	a.path = (uint64_t)(uintptr_t)"/nonexistent/memscope-bpf";
	a.offsets = (uint64_t)(uintptr_t)&off;
	a.cnt = 1;
	link = (int)syscall(SYS_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	if (link >= 0)
		close(link);
	else
		link = -errno;
	close(fd);
	return link >= 0 || link == -ENOENT;
}

/* Records and says in one line what the tracer goes without, and why. */
static void degrade(struct tracer *t, const char *feature, const char *instead, int err)
{
	struct tracer_degraded *d;

	if (t->mode.ndegraded == TRACER_MAX_DEGRADED)
		return;
	d = &t->mode.degraded[t->mode.ndegraded++];
	snprintf(d->feature, sizeof(d->feature), "%s", feature);
	snprintf(d->instead, sizeof(d->instead), "%s", instead);
	if (refusal.prog[0])
		snprintf(d->reason, sizeof(d->reason), "program '%s' refused: %s", refusal.prog,
			 refusal.why[0] ? refusal.why : strerror(-err));
	else
		snprintf(d->reason, sizeof(d->reason), "%s", strerror(-err));
	ms_warn("%s lost (%s): %s", feature, d->reason, instead);
}

static bool refused_prog(const char *a, const char *b)
{
	return !strcmp(refusal.prog, a) || (b && !strcmp(refusal.prog, b));
}

/*
 * The fallback ladder: after a refusal, the next configuration that does
 * without the refused part.  false when nothing is left to give up.
 */
static bool next_rung(struct tracer *t, bool *multi, bool *batch, int err)
{
	struct tracer_opts *o = &t->opts;
	bool stacks = o->alloc_stacks || o->free_stacks;

	if (err == -EPERM)
		return false;
	/* the newest and least needed part: given up first whatever alloc_exit's refusal */
	if (o->check_overflow && o->overflow_canary && refused_prog("alloc_exit", NULL)) {
		degrade(t, "the overflow canary", "slack read, not written (the read way)", err);
		o->overflow_canary = false;
	} else if (o->mappings == TRACER_MAPS_BTF && refused_prog("maps_exit", NULL)) {
		degrade(t, "mappings by tp_btf", "a raw tracepoint on sys_exit", err);
		o->mappings = TRACER_MAPS_RAW;
	} else if (o->mappings == TRACER_MAPS_RAW && refused_prog("maps_exit_raw", NULL)) {
		degrade(t, "mappings", "the heap alone: mmap, munmap, mremap, brk not traced", err);
		o->mappings = TRACER_MAPS_OFF;
	} else if (*batch && refused_prog("thread_exit", "sweep")) {
		degrade(t, "batching", "one record per call, as with --no-batch", err);
		*batch = false;
	} else if (*multi && refused_prog("alloc_enter", NULL)) {
		degrade(t, "uprobe_multi links", "perf-event uprobes (slower to detach)", err);
		*multi = false;
	} else if (stacks && o->unwind_mode != MS_UNWIND_FP) {
		degrade(t, "DWARF unwinding", "stacks by frame pointers, as with --unwind=fp", err);
		o->unwind_mode = MS_UNWIND_FP;
	} else if (stacks) {
		degrade(t, "stacks", "allocations by call site only, as with --no-stacks", err);
		o->alloc_stacks = o->free_stacks = false;
	} else if (*batch) {
		degrade(t, "batching", "one record per call, as with --no-batch", err);
		*batch = false;
	} else if (*multi) {
		degrade(t, "uprobe_multi links", "perf-event uprobes (slower to detach)", err);
		*multi = false;
	} else {
		return false;
	}
	return true;
}

struct tracer *tracer__new(const struct tracer_opts *opts)
{
	/* the perf-event path on any kernel: for its tests, or to get round a kernel's bug */
	bool no_multi = getenv("MEMSCOPE_NO_UPROBE_MULTI") != NULL;
	struct tracer *t = xcalloc(1, sizeof(*t));
	bool multi, batch = opts->batch;
	int err;

	libbpf_set_print(libbpf_print);
	t->pid = opts->pid;
	/* -f: a child is traced from its first call, before we could attach to it; BPF filters */
	t->probe_pid = opts->follow || opts->several || opts->all ? -1 : opts->pid;
	t->opts = *opts;
	/* a kernel before 6.6 has no uprobe_multi links: perf events, no warning */
	multi = !no_multi && tracer__has_uprobe_multi();
	if (!multi)
		ms_info(1, "perf-event uprobes (%s)", no_multi ? "MEMSCOPE_NO_UPROBE_MULTI is set" :
			"the kernel has no uprobe_multi links");
	while ((err = load(t, multi, batch)) && next_rung(t, &multi, &batch, err))
		;
	if (err) {
		explain_load_error(err);
		tracer__free(t);
		errno = -err;
		return NULL;
	}
	t->mode.multi = t->multi;
	t->mode.batch = t->batch;
	t->mode.alloc_stacks = t->opts.alloc_stacks;
	t->mode.free_stacks = t->opts.free_stacks;
	t->mode.unwind_mode = t->opts.unwind_mode;
	t->mode.overflow_canary = t->opts.check_overflow && t->opts.overflow_canary;
	t->mode.mappings = t->opts.mappings;
	return t;
}

const struct tracer_mode *tracer__mode(const struct tracer *t)
{
	return &t->mode;
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	bpf_link__destroy(t->sweep);
	bpf_link__destroy(t->exit);
	bpf_link__destroy(t->vm_child);
	bpf_link__destroy(t->exec_seen);
	bpf_link__destroy(t->maps);
	for (size_t i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	free(t->links);
	if (t->ring_pos)
		munmap((void *)t->ring_pos, 2 * (size_t)sysconf(_SC_PAGESIZE));
	for (size_t i = 0; i < t->nmfds; i++)
		close(t->mfds[i]);
	free(t->mfds);
	memscope__destroy(t->skel);
	free(t);
}

static void add_link(struct tracer *t, struct bpf_link *link)
{
	t->links = xrealloc(t->links, (t->nlinks + 1) * sizeof(*t->links));
	t->links[t->nlinks++] = link;
}

static int attach_one(struct tracer *t, struct bpf_program *prog, const char *path,
		      uint64_t offset, bool ret, uint64_t cookie)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_link *link;

	link = bpf_program__attach_uprobe_opts(prog, t->probe_pid, path, offset, &uo);
	if (!link)
		return -errno;
	add_link(t, link);
	return 0;
}

static int attach_sym(struct tracer *t, const struct alloc_object *o, const struct alloc_sym *s)
{
	uint64_t off = s->file_offset + s->probe_offset;
	int err;

	err = attach_one(t, prog_for(t, s->fn, false), o->attach_path, off, false, s->fn);
	if (!err && MS_FN_IS_ALLOC(s->fn))
		err = attach_one(t, prog_for(t, s->fn, true), o->attach_path, off, true, s->fn);
	return err;
}

/* One uprobe_multi link: prog at every site of o that prog_for() gives it (ret: returns). */
static int attach_multi(struct tracer *t, struct bpf_program *prog, const struct alloc_object *o,
			bool ret)
{
	uint64_t *offsets = xcalloc(o->nsyms ? o->nsyms : 1, sizeof(*offsets));
	uint64_t *cookies = xcalloc(o->nsyms ? o->nsyms : 1, sizeof(*cookies));
	struct uprobe_multi_attr a = { 0 };
	int fd, err = 0;

	for (size_t j = 0; j < o->nsyms; j++) {
		const struct alloc_sym *s = &o->syms[j];

		if ((ret && !MS_FN_IS_ALLOC(s->fn)) || prog_for(t, s->fn, ret) != prog)
			continue;
		offsets[a.cnt] = s->file_offset + s->probe_offset;
		cookies[a.cnt++] = s->fn;
	}
	if (a.cnt && refused_by_env("multi-link")) {
		err = -EINVAL;
	} else if (a.cnt) {
		a.prog_fd = (uint32_t)bpf_program__fd(prog);
		a.attach_type = MS_TRACE_UPROBE_MULTI;
		a.path = (uint64_t)(uintptr_t)o->attach_path;
		a.offsets = (uint64_t)(uintptr_t)offsets;
		a.cookies = (uint64_t)(uintptr_t)cookies;
		a.multi_flags = ret ? MS_UPROBE_MULTI_RETURN : 0;
		a.pid = t->probe_pid > 0 ? (uint32_t)t->probe_pid : 0;
		fd = (int)syscall(SYS_bpf, BPF_LINK_CREATE, &a, sizeof(a));
		if (fd < 0) {
			err = -errno;
		} else {
			t->mfds = xrealloc(t->mfds, (t->nmfds + 1) * sizeof(*t->mfds));
			t->mfds[t->nmfds++] = fd;
		}
	}
	free(offsets);
	free(cookies);
	return err;
}

/* The allocator probes of o: a uprobe_multi link per program with sites in o. */
static int attach_object_multi(struct tracer *t, const struct alloc_object *o)
{
	struct bpf_program *progs[ALLOC_PROGS];
	int err = 0;

	allocator_programs(t->skel, progs);
	for (size_t i = 0; !err && i < ALLOC_PROGS; i++)
		err = attach_multi(t, progs[i], o, progs[i] == t->skel->progs.alloc_exit);
	return err;
}

/*
 * Batching's two hooks: a thread's exit, and the loader's sweep, an iterator
 * over the target's threads.  Made before any probe, so no record is queued
 * that could not be sent.
 */
static int attach_batching(struct tracer *t)
{
	LIBBPF_OPTS(bpf_iter_attach_opts, io);
	union bpf_iter_link_info info = { 0 };
	struct bpf_link *link;
	int err;

	bpf_link__destroy(t->sweep);
	bpf_link__destroy(t->exit);
	bpf_link__destroy(t->vm_child);
	bpf_link__destroy(t->exec_seen);
	t->sweep = t->exit = t->vm_child = t->exec_seen = NULL;
	if (!t->batch)
		return 0;
	link = bpf_program__attach(t->skel->progs.thread_exit);
	if (!link) {
		err = -errno;
		ms_err("cannot attach the thread-exit hook: %s (--no-batch does without it)",
		       strerror(-err));
		return err;
	}
	t->exit = link;
	/* without it, frees of a vfork child's blocks stay unknown frees */
	t->vm_child = bpf_program__attach(t->skel->progs.vm_child);
	if (!t->vm_child)
		ms_info(1, "cannot attach the vfork hook: %s", strerror(errno));
	/* without it, an exec that was not followed goes unsaid */
	t->exec_seen = bpf_program__attach(t->skel->progs.exec_seen);
	if (!t->exec_seen)
		ms_info(1, "cannot attach the exec hook: %s", strerror(errno));
	/* -f: every task (those of no traced process stop at the storage lookup) */
	info.task.pid = t->opts.follow || t->opts.several || t->opts.all ? 0 : (uint32_t)t->pid;
	io.link_info = &info;
	io.link_info_len = sizeof(info);
	t->sweep = bpf_program__attach_iter(t->skel->progs.sweep, &io);
	if (!t->sweep) {
		err = -errno;
		if (err == -ESRCH)
			return err;
		ms_err("cannot attach the thread iterator: %s (--no-batch does without it)",
		       strerror(-err));
		return err;
	}
	return 0;
}

/*
 * The mappings' program on sys_exit.  A kernel that loads it but will not
 * attach it costs the mappings alone (a warning), not the trace.
 */
static void attach_maps(struct tracer *t)
{
	struct bpf_program *p = t->opts.mappings == TRACER_MAPS_BTF ? t->skel->progs.maps_exit :
				t->skel->progs.maps_exit_raw;

	bpf_link__destroy(t->maps);
	t->maps = NULL;
	if (t->opts.mappings == TRACER_MAPS_OFF)
		return;
	t->maps = bpf_program__attach(p);
	if (!t->maps) {
		int err = -errno;

		refusal.prog[0] = 0;
		degrade(t, "mappings", "the heap alone: mmap, munmap, mremap, brk not traced", err);
		t->opts.mappings = t->mode.mappings = TRACER_MAPS_OFF;
	}
}

/* Every link made so far goes: the attach starts over. */
static void drop_links(struct tracer *t)
{
	bpf_link__destroy(t->sweep);
	bpf_link__destroy(t->exit);
	bpf_link__destroy(t->vm_child);
	bpf_link__destroy(t->exec_seen);
	bpf_link__destroy(t->maps);
	t->sweep = t->exit = t->vm_child = t->exec_seen = t->maps = NULL;
	for (size_t i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	t->nlinks = 0;
	for (size_t i = 0; i < t->nmfds; i++)
		close(t->mfds[i]);
	t->nmfds = 0;
}

/* The memscope annotations of one object: every site of each probe name. */
static int attach_annotations(struct tracer *t, const struct alloc_object *o)
{
	static const char *names[] = { "track", "scope_begin", "scope_end" };
	struct bpf_program *progs[] = { t->skel->progs.annot_track,
					t->skel->progs.annot_scope_begin,
					t->skel->progs.annot_scope_end };

	for (size_t i = 0; i < 3; i++) {
		struct bpf_link *link;

		link = bpf_program__attach_usdt(progs[i], t->probe_pid, o->attach_path, "memscope",
						names[i], NULL);
		if (link) {
			add_link(t, link);
			continue;
		}
		/* an object need not use every annotation */
		if (errno != ENOENT) {
			ms_err("cannot attach to memscope:%s in '%s': %s", names[i], o->path,
			       strerror(errno));
			return -errno;
		}
	}
	ms_info(1, "'%s': %zu annotation sites", o->path, o->nannotations);
	return 0;
}

static bool target_gone(const struct tracer *t, int err)
{
	/* --all has no target to lose */
	return t->pid > 0 && (err == -ESRCH || (err == -ENOENT && ms_process_gone(t->pid)));
}

/*
 * The allocator probes of o: uprobe_multi links, or one perf event each.
 * -EPROTONOSUPPORT when the kernel refused a uprobe_multi link (the
 * caller starts over on perf events), its error in *multi_err.
 */
static int attach_object(struct tracer *t, const struct alloc_object *o, int *multi_err)
{
	int err;

	if (t->multi) {
		err = attach_object_multi(t, o);
		/* --all: a file whose process went with it is not a kernel's refusal */
		if (!err || target_gone(t, err) || (t->opts.all && err == -ENOENT))
			return err;
		*multi_err = err;
		return -EPROTONOSUPPORT;
	}
	for (size_t j = 0; j < o->nsyms; j++) {
		const struct alloc_sym *s = &o->syms[j];

		err = attach_sym(t, o, s);
		if (err && !target_gone(t, err) && !(t->opts.all && err == -ENOENT))
			ms_err("cannot attach to '%s' in '%s' at 0x%llx: %s", s->name, o->path,
			       (unsigned long long)(s->file_offset + s->probe_offset),
			       strerror(-err));
		if (err)
			return err;
	}
	return 0;
}

static int attach_objects(struct tracer *t, const struct alloc_objects *objs, int *multi_err);

/* Attaches every object's probes: their number, or a negative errno (see attach_object()). */
static int attach_all(struct tracer *t, const struct alloc_objects *objs, int *multi_err)
{
	int err = attach_batching(t);

	if (err == -ESRCH) {
		ms_err("target '%d' exited during attach", t->pid);
		return err;
	}
	if (err)
		return err;
	attach_maps(t);
	return attach_objects(t, objs, multi_err);
}

int tracer__attach_more(struct tracer *t, const struct alloc_objects *objs)
{
	int multi_err = 0, n = attach_objects(t, objs, &multi_err);

	if (n > 0)
		ms_info(1, "attached %d more probes", n);
	return n;
}

/* Attaches the objects' probes: their number, or a negative errno (see attach_object()). */
static int attach_objects(struct tracer *t, const struct alloc_objects *objs, int *multi_err)
{
	size_t nprobes = 0;

	for (size_t i = 0; i < objs->n; i++) {
		const struct alloc_object *o = &objs->v[i];
		int err = attach_object(t, o, multi_err);

		if (target_gone(t, err)) {
			ms_err("target '%d' exited during attach", t->pid);
			return -ESRCH;
		}
		if (err == -ENOENT && t->opts.all) {
			ms_warn("'%s' is gone (its process exited): not probed", o->path);
			continue;
		}
		if (err)
			return err;
		for (size_t j = 0; j < o->nsyms; j++) {
			const struct alloc_sym *s = &o->syms[j];

			nprobes += MS_FN_IS_ALLOC(s->fn) ? 2 : 1;
			ms_info(2, "probe %s in '%s' at +%u%s", s->name, o->path,
				s->probe_offset, s->emulated ? "" : " (single-stepped)");
		}
		if (o->nannotations) {
			size_t before = t->nlinks;

			err = attach_annotations(t, o);
			if (err)
				return err;
			nprobes += t->nlinks - before;
		}
	}
	return (int)nprobes;
}

int tracer__attach(struct tracer *t, const struct alloc_objects *objs)
{
	int n, multi_err = 0;

	n = attach_all(t, objs, &multi_err);
	if (n == -EPROTONOSUPPORT) {
		/* the programs were loaded for uprobe_multi: again for perf events */
		drop_links(t);
		refusal.prog[0] = 0;
		degrade(t, "uprobe_multi links", "perf-event uprobes (slower to detach)", multi_err);
		n = load(t, false, t->batch);
		if (n) {
			explain_load_error(n);
			return n;
		}
		t->mode.multi = false;
		n = attach_all(t, objs, &multi_err);
	}
	if (n == 0) {
		/* the probes found no mapping of the objects: gone meanwhile? */
		if (t->pid > 0 && ms_process_gone(t->pid))
			ms_err("target '%d' exited during attach", t->pid);
		else
			ms_err("no allocator found in target '%d'", t->pid);
		return -ENOENT;
	}
	if (n > 0)
		ms_info(1, "attached %d probes%s", n, t->multi ? " (uprobe_multi links)" : "");
	return n;
}

int tracer__add_proc(struct tracer *t, int pid)
{
	uint32_t key = (uint32_t)pid, one = 1;

	if (bpf_map__update_elem(t->skel->maps.procs, &key, sizeof(key), &one, sizeof(one), BPF_ANY))
		return -errno;
	return 0;
}

int tracer__ringbuf_fd(const struct tracer *t)
{
	return bpf_map__fd(t->skel->maps.events);
}

/*
 * The kernel keeps the ring buffer's consumer position at the start of its
 * first page and the producer's at the start of the second; both count
 * bytes from the start and never wrap.  libbpf 1.1.2 does not tell them, so
 * the two pages are mapped a second time, read-only (which the kernel allows
 * for every page of the map).
 */
bool tracer__ring_positions(struct tracer *t, uint64_t *consumer, uint64_t *producer)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (!t->ring_pos) {
		void *m = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, tracer__ringbuf_fd(t), 0);

		if (m == MAP_FAILED)
			return false;
		t->ring_pos = m;
	}
	*consumer = __atomic_load_n(&t->ring_pos[0], __ATOMIC_ACQUIRE);
	*producer = __atomic_load_n(&t->ring_pos[page / sizeof(uint64_t)], __ATOMIC_ACQUIRE);
	return true;
}

bool tracer__target_status(const struct tracer *t, int *status)
{
	uint64_t v;

	if (!t || !t->skel || !t->exit)
		return false;
	v = __atomic_load_n(&t->skel->bss->target_exit, __ATOMIC_RELAXED);
	if (!(v >> 32))
		return false;
	*status = (int)(uint32_t)v;
	return true;
}

bool tracer__sees_vm_children(const struct tracer *t)
{
	return t && t->vm_child;
}

bool tracer__batching(const struct tracer *t)
{
	return t->batch;
}

int tracer__sweep(struct tracer *t)
{
	char buf[64];
	ssize_t n;
	int fd;

	if (!t->sweep)
		return 0;
	/* the program prints nothing: reading to the end runs it on each thread */
	fd = bpf_iter_create(bpf_link__fd(t->sweep));
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		n = -errno;
	close(fd);
	return (int)n;
}

void tracer__unwind_maps(const struct tracer *t, int *rows_fd, int *objs_fd, int *keys_fd,
			 volatile uint64_t **gen)
{
	*rows_fd = bpf_map__fd(t->skel->maps.unwind_rows);
	*objs_fd = bpf_map__fd(t->skel->maps.unwind_objs);
	*keys_fd = bpf_program__fd(t->skel->progs.vma_keys);
	*gen = (volatile uint64_t *)&t->skel->bss->unwind_gen;
}

int tracer__stats(const struct tracer *t, uint64_t out[MS_STAT__COUNT])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(t->skel->maps.stats);
	uint64_t *vals;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = xcalloc(ncpu, sizeof(*vals));
	for (uint32_t k = 0; k < MS_STAT__COUNT; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}
