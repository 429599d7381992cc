// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "attach.h"
#include "cgroup.h"
#include "discover.h"
#include "events.h"
#include "live_view.h"
#include "model.h"
#include "output.h"
#include "recording.h"
#include "report_input.h"
#include "runtime.h"
#include "procmaps.h"
#include "scan.h"
#include "session.h"
#include "symbolize.h"
#include "target.h"
#include "unwind.h"
#include "util.h"

/* how often the ring buffer is drained when nothing wakes us */
#define DRAIN_INTERVAL_MS 10
/*
 * A drain reads the ring buffer for at most this long, and stops once this
 * many records wait for their merge (64 bytes each; applying 32 Ki took
 * 0.05-0.1 s on this 2-core VM with 16 target threads allocating flat out)
 */
#define DRAIN_BUDGET_MS 50
#define DRAIN_MAX_PENDING (32u * 1024)
/* released blocks remembered to tell a double free from an unknown free */
#define FREED_CAPACITY (256 * 1024)
/* how long a launched target may take to exit after we forwarded a signal */
#define FORWARD_GRACE_MS 3000
/* the unwind rows' map: 16 bytes a row (libc 2.36 has ~28 k rows) */
#define UNWIND_ROWS_MIN (256u * 1024)
#define UNWIND_ROWS_MAX (1u << 24)

/* The report files, in the order they are written (the text summary last). */
enum out_kind { OUT_JSON, OUT_HTML, OUT_PPROF, OUT_FOLDED, OUT_TEXT, OUT__COUNT };

/* Where the reports go: each opened before tracing, written at the end. */
struct report_outputs {
	struct output v[OUT__COUNT]; /* by enum out_kind */
};

struct session {
	const struct ms_options *opts;
	struct target target;
	struct alloc_objects objs;
	struct tracer *tracer;
	struct unwinder *unwind; /* NULL: no stacks, or --unwind=fp */
	uint64_t unwind_unknown; /* BPF's count of frames in objects without rows, last seen */
	struct symbolizer *sym;
	struct runtime_ctx runtime;
	struct model *model;
	struct live_view *live; /* --live; NULL without */
	struct event_sink sink;
	struct recording *rec; /* --record: the capture written as we go */
	int rec_fd;
	int statm_fd;          /* the target's /proc/PID/statm, -1 once gone */
	struct procmaps *maps; /* the target's maps, for the allocator's footprint; may be NULL */
	uint64_t footprint_ns; /* when the footprint was last read */
	struct ring_buffer *rb;
	struct report_outputs outs;
	uint64_t start_ns, end_ns;
	uint64_t start_wall_ns; /* start_ns on CLOCK_REALTIME */
	/* batching: when the threads were last swept, the sweep before, the next */
	uint64_t swept_ns, complete_ns, next_sweep_ns;
	/*
	 * Sweeps whose records may not all have been read yet: complete_ns
	 * becomes until once the ring buffer's consumer reaches need (the
	 * producer's position after the sweep after it), oldest first.
	 */
	struct {
		uint64_t until, need;
	} held[64];
	unsigned nheld;
	uint64_t sweeps, sweep_ns; /* how many, and their time */
	bool took_ring; /* a drain of everything has read what the ring buffer held */
	uint64_t hold_until_ns; /* a drain while the target is frozen for its scan ends by then */
	bool vm_children_known; /* bpf_stats counts the target's vfork children */
	uint64_t children_at_attach; /* -p: processes below it when tracing began */
	struct target_child *existing; /* -p -f: those followed from the start */
	int more[MS_MAX_MORE_PIDS];    /* -p PID,PID / --comm: the processes after the target */
	int nmore;
	size_t nexisting;
	uint64_t bpf_stats[MS_STAT__COUNT];
	int nprobes;
	/* what the BPF side runs with: the options less what the kernel refused */
	struct tracer_mode mode;
	struct report_degraded degraded[TRACER_MAX_DEGRADED];
	char *cmdline;
	char comm[64]; /* the first image's name (the target's changes at exec) */
	/* --all --cgroup: the cgroup's id and level (id 0: the whole machine) */
	uint64_t cgroup_id;
	uint32_t cgroup_level;
	struct discover_seen seen; /* --all: the files execs brought, scanned once */
	struct reach_result scan; /* the reachability scan (status SCAN_SKIPPED: none) */
};

static volatile sig_atomic_t stop_signal;
/* a signal came while the reachability scan ran: it stops */
static volatile sig_atomic_t scan_interrupted;

static void on_signal(int sig)
{
	stop_signal = sig;
	scan_interrupted = 1;
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

static int check_privileges(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (geteuid() == 0)
		return 0;
	if (syscall(SYS_capget, &h, d) == 0 &&
	    (has_cap(d, CAP_SYS_ADMIN) ||
	     (has_cap(d, 39 /* CAP_BPF */) && has_cap(d, 38 /* CAP_PERFMON */) &&
	      has_cap(d, CAP_SYS_PTRACE))))
		return 0;
	ms_err("not permitted: run as root (or with CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE)");
	return -EPERM;
}

static const char *output_path(const struct ms_options *o, enum out_kind k)
{
	switch (k) {
	case OUT_JSON:
		return o->json_path;
	case OUT_HTML:
		return o->html_path;
	case OUT_PPROF:
		return o->pprof_path;
	case OUT_FOLDED:
		return o->folded_path;
	default:
		return o->text_path;
	}
}

/* Every report path is checked and opened before tracing starts. */
static int outputs_open(struct report_outputs *ro, const struct ms_options *o)
{
	int err = 0;

	for (int k = 0; k < OUT__COUNT && !err; k++)
		if (output_path(o, k))
			err = output__open(&ro->v[k], output_path(o, k));
	return err;
}

static void outputs_abort(struct report_outputs *ro)
{
	for (int k = 0; k < OUT__COUNT; k++)
		output__abort(&ro->v[k]);
}

static int write_report(const struct ms_options *o, struct report *r, enum out_kind k, FILE *f)
{
	switch (k) {
	case OUT_JSON:
		return report__write_json(r, f);
	case OUT_HTML:
		return report__write_html(r, f);
	case OUT_PPROF:
		return report__write_pprof(r, f);
	case OUT_FOLDED:
		return report__write_folded(r, f, o->folded_type);
	default:
		return report__write_text(r, f, o->top);
	}
}

/* Commits o when writing it succeeded (written: 0), else drops it. */
static int commit(struct output *o, int written)
{
	if (written) {
		/* a renderer says -EIO for any error of its stream: the write's own is better */
		if (output__write_error(o))
			written = output__write_error(o);
		ms_err("cannot write '%s': %s", o->path, strerror(-written));
		output__abort(o);
		return written;
	}
	return output__commit(o);
}

/*
 * The reports of in, each written whole or not at all, and each on its own:
 * one that fails does not cost the others.  The files first: stderr may be
 * a pipe nobody reads, where the summary blocks or fails.
 */
static int outputs_write(struct report_outputs *ro, const struct ms_options *o,
			 const struct report_input *in)
{
	struct report *r = report__build(in);
	int err = 0, e;

	for (int k = 0; k < OUT__COUNT; k++) {
		if (!ro->v[k].f)
			continue;
		e = commit(&ro->v[k], write_report(o, r, k, ro->v[k].f));
		err = err ? err : e;
	}
	/* without -o FILE the summary goes to stderr */
	if (!output_path(o, OUT_TEXT)) {
		if (o->stderr_closed) {
			/* the summary is lost: no success to claim (README "Exit status") */
			e = -EBADF;
		} else {
			fflush(stdout);
			e = report__write_text(r, stderr, o->top);
		}
		err = err ? err : e;
	}
	report__free(r);
	return err;
}

static int open_outputs(struct session *s)
{
	int err = outputs_open(&s->outs, s->opts);

	if (!err && s->opts->record_path) {
		s->rec_fd = output__open_in_place(s->opts->record_path);
		err = s->rec_fd < 0 ? s->rec_fd : 0;
	}
	return err;
}

static char *read_cmdline(int pid)
{
	char path[64], *buf = xmalloc(4096);
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	f = fopen(path, "re");
	if (f) {
		n = fread(buf, 1, 4095, f);
		fclose(f);
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = 0;
	return buf;
}

/*
 * The launched command line, cut like read_cmdline()'s (4095 bytes): the
 * arguments are the target's input, up to 2 MiB of it.
 */
static char *join_argv(char *const argv[])
{
	char *s = xcalloc(1, 4096);
	size_t n = 0;

	for (int i = 0; argv[i] && n < 4095; i++)
		n += (size_t)snprintf(s + n, 4096 - n, "%s%s", i ? " " : "", argv[i]);
	return s;
}

/* Whether objs has an object of file (dev, ino). */
static bool has_object(const struct alloc_objects *objs, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < objs->n; i++)
		if (objs->v[i].dev == dev && objs->v[i].ino == ino)
			return true;
	return false;
}

/* The processes below a -p target now (a service's workers): not traced, and said so. */
static void count_children(struct session *s)
{
	int n = target__descendants(&s->target);

	if (n < 0)
		ms_info(1, "cannot count the processes below '%d': %s", s->target.pid,
			strerror(-n));
	s->children_at_attach = n > 0 ? (uint64_t)n : 0;
	if (n > 0)
		ms_info(0, "'%d' has %d process%s below it (children, theirs): %s",
			s->target.pid, n, n == 1 ? "" : "es",
			s->opts->follow ? "traced too (-f)" : "not traced (-f traces them)");
}

/*
 * -p PID,PID,...: each pid after the first is checked like the first, and
 * its allocator objects not probed yet are added: it is traced beside the
 * target from the attach (follow_existing()).
 */
static int prepare_more_pids(struct session *s)
{
	struct discover_opts dopts = { .symbol_prefix = s->opts->symbol_prefix,
				       .allocator_libs = s->opts->allocator_libs,
				       .nallocator_libs = s->opts->nallocator_libs };

	for (int i = 0; i < s->nmore; i++) {
		struct target t;
		struct alloc_objects found;
		int err;

		target__init(&t);
		err = target__open_pid(&t, s->more[i]);
		target__cleanup(&t);
		if (!err)
			err = discover__pid_opts(s->more[i], &dopts, &found);
		if (err)
			return err;
		s->objs.v = xrealloc(s->objs.v, (s->objs.n + found.n) * sizeof(*s->objs.v));
		for (size_t k = 0; k < found.n; k++) {
			if (has_object(&s->objs, found.v[k].dev, found.v[k].ino))
				continue;
			s->objs.v[s->objs.n++] = found.v[k];
			found.v[k] = (struct alloc_object){ 0 };
		}
		discover__free(&found);
	}
	return 0;
}

/*
 * --comm NAME: the processes named NAME now, the oldest the target (put
 * last in s->more, which prepare_target() takes it from).  Those that take
 * the name later are added by BPF (comm_name).  When none runs yet, the
 * first to appear is waited for (/proc looked at every 10 ms; -d bounds the
 * wait, a signal ends it): it is traced from when it is found, so what it
 * allocated before (its first milliseconds) is not seen.
 */
static int find_by_comm(struct session *s)
{
	int pids[MS_MAX_MORE_PIDS + 1];
	uint64_t start = ms_now_ns();
	bool said = false;
	int n;

	while ((n = target__find_comm(s->opts->comm, getpid(), pids, MS_MAX_MORE_PIDS + 1)) == 0) {
		double waited = (double)(ms_now_ns() - start) / 1e9;

		if (stop_signal) {
			ms_err("stopped while waiting for a process named '%s'", s->opts->comm);
			return -EINTR;
		}
		if (s->opts->duration_s > 0 && waited >= s->opts->duration_s) {
			ms_err("no process named '%s' started within %g s (-d)", s->opts->comm,
			       s->opts->duration_s);
			return -ESRCH;
		}
		/* said at once with -v, else after a second: a wait cut short
		 * by -d stays a one-line error */
		if (!said && (ms_verbose > 0 || waited >= 1.0)) {
			ms_info(0, "no process named '%s' is running: waiting for one%s",
				s->opts->comm, s->opts->duration_s > 0 ? " (at most -d)" :
				" (Ctrl-C stops)");
			said = true;
		}
		usleep(10 * 1000);
	}
	if (n < 0) {
		ms_err("cannot read /proc: %s", strerror(-n));
		return n;
	}
	/* the oldest (lowest pid, as a rule) is the target: last, taken off first */
	for (int i = 1; i < n; i++)
		s->more[s->nmore++] = pids[i];
	s->more[s->nmore++] = pids[0];
	return 0;
}

/*
 * --all: no target.  The allocator objects of every process running now
 * (one pass over /proc); those of programs started later are looked for as
 * they exec (probe_image()).
 */
static int prepare_all(struct session *s)
{
	struct discover_opts dopts = { .symbol_prefix = s->opts->symbol_prefix,
				       .allocator_libs = s->opts->allocator_libs,
				       .nallocator_libs = s->opts->nallocator_libs };
	size_t nprocs;
	int err;

	if (s->opts->cgroup) {
		err = cgroup__resolve(s->opts->cgroup, &s->cgroup_id, &s->cgroup_level);
		if (err)
			return err;
		ms_info(1, "cgroup '%s': id %llu, level %u", s->opts->cgroup,
			(unsigned long long)s->cgroup_id, s->cgroup_level);
	}
	err = discover__all(getpid(), &dopts, &s->objs, &nprocs);
	if (err)
		return err;
	ms_info(1, "--all: %zu allocator objects in %zu processes", s->objs.n, nprocs);
	/* no process is the report's: none of them names "the" allocator */
	s->objs.used = -1;
	snprintf(s->target.comm, sizeof(s->target.comm), "all");
	return 0;
}

static int prepare_target(struct session *s)
{
	struct discover_opts dopts = { .symbol_prefix = s->opts->symbol_prefix,
				       .allocator_libs = s->opts->allocator_libs,
				       .nallocator_libs = s->opts->nallocator_libs };
	int err, pid = s->opts->pid;

	if (s->opts->all)
		return prepare_all(s);
	for (int i = 0; i < s->opts->nmore_pids; i++)
		s->more[s->nmore++] = s->opts->more_pids[i];
	if (s->opts->comm) {
		err = find_by_comm(s);
		if (err)
			return err;
		pid = s->more[--s->nmore];
	}
	if (pid) {
		err = target__open_pid(&s->target, pid);
		if (!err)
			err = discover__pid_opts(s->target.pid, &dopts, &s->objs);
		if (!err)
			count_children(s);
		if (!err)
			err = prepare_more_pids(s);
		if (!err)
			s->cmdline = read_cmdline(s->target.pid);
		return err;
	}
	err = target__launch(&s->target, s->opts->argv);
	if (!err)
		err = discover__program_opts(s->target.exe, &dopts, &s->objs);
	s->cmdline = join_argv(s->opts->argv);
	return err;
}

/*
 * The CFI tables of the target's objects, built before BPF is loaded so
 * that the map can be sized for them: a running target's mappings, or what
 * a launched one will map (discover found it).  Objects mapped later
 * (dlopen) are added while tracing (add_new_objects()).
 */
static void prepare_unwind(struct session *s)
{
	struct unwinder_opts uo = { .sz = sizeof(uo), .pid = s->target.pid,
				    .mode = s->opts->unwind_mode };

	if ((!s->opts->alloc_stacks && !s->opts->free_stacks) ||
	    s->opts->unwind_mode == MS_UNWIND_FP || s->opts->all)
		return;
	s->unwind = unwinder__new(&uo);
	if (!s->target.launched) {
		unwinder__scan(s->unwind);
		return;
	}
	for (size_t i = 0; i < s->objs.n; i++)
		unwinder__add_path(s->unwind, s->objs.v[i].path);
	for (size_t i = 0; i < s->objs.nothers; i++)
		unwinder__add_path(s->unwind, s->objs.others[i]);
}

/* Room for twice the rows known now (libraries loaded later), within bounds. */
static uint32_t unwind_capacity(const struct session *s)
{
	size_t rows = s->unwind ? unwinder__rows(s->unwind) * 2 : 0;

	if (rows < UNWIND_ROWS_MIN)
		rows = UNWIND_ROWS_MIN;
	return rows > UNWIND_ROWS_MAX ? UNWIND_ROWS_MAX : (uint32_t)rows;
}

/*
 * -f with -p: the processes already running below the target are traced
 * from now (BPF's set), and join the model when it is made.
 */
static void follow_existing(struct session *s)
{
	struct target_child *v = NULL;
	int n = 0;

	if (s->opts->follow && !s->target.launched)
		n = target__descendants_list(&s->target, &v);
	/* -p PID,PID,...: the others (their parents are not ours to name) */
	for (int i = 0; i < s->nmore; i++) {
		v = xrealloc(v, (size_t)(n + 1) * sizeof(*v));
		v[n++] = (struct target_child){ .pid = s->more[i] };
	}
	for (int i = 0; i < n; i++) {
		int err = tracer__add_proc(s->tracer, v[i].pid);

		if (err) {
			ms_warn("cannot follow '%d': %s", v[i].pid, strerror(-err));
			continue;
		}
		s->existing = xrealloc(s->existing, (s->nexisting + 1) * sizeof(*s->existing));
		s->existing[s->nexisting++] = v[i];
	}
	free(v);
}

/* The processes follow_existing() found, as the model's first process events. */
static void announce_existing(struct session *s)
{
	for (size_t i = 0; i < s->nexisting; i++) {
		struct model_proc_event e = { .kind = MODEL_PROC_FORK, .ts_ns = s->start_ns,
					      .pid = (uint32_t)s->existing[i].pid,
					      .other = (uint32_t)s->existing[i].ppid };
		char path[64], comm[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", s->existing[i].pid);
		f = fopen(path, "re");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		e.comm = comm;
		e.cmdline = read_cmdline(s->existing[i].pid);
		/* another -p pid, or a descendant that may have execed: its own maps count */
		events__own_maps(&s->sink, (uint32_t)s->existing[i].pid);
		events__proc(&s->sink, &e);
		free((char *)e.cmdline);
	}
}

/*
 * --check-overflow reads glibc's chunk headers: only when every object that
 * defines malloc is glibc's libc (not jemalloc, tcmalloc, a static malloc).
 */
static bool malloc_is_glibc(const struct alloc_objects *objs)
{
	for (size_t i = 0; i < objs->n; i++) {
		const char *base = strrchr(objs->v[i].path, '/');

		base = base ? base + 1 : objs->v[i].path;
		for (size_t k = 0; k < objs->v[i].nsyms; k++)
			if (objs->v[i].syms[k].fn == MS_FN_MALLOC && strncmp(base, "libc.so", 7))
				return false;
	}
	return true;
}

static int attach_probes(struct session *s)
{
	struct tracer_opts to = {
		.sz = sizeof(to),
		.pid = s->target.pid,
		.alloc_stacks = s->opts->alloc_stacks,
		.free_stacks = s->opts->free_stacks,
		.sample_bytes = s->opts->sample_bytes,
		.ringbuf_bytes = s->opts->ringbuf_bytes,
		.unwind_mode = s->opts->unwind_mode,
		.unwind_rows = unwind_capacity(s),
		.batch = s->opts->batch,
		.follow = s->opts->follow,
		.several = s->nmore > 0 || s->opts->comm,
		.comm = s->opts->comm,
		/* --all: per-process totals; stacks and mappings would need a symbolizer and a
		 * mappings model per process (docs/system-wide.md) */
		.all = s->opts->all,
		.self_pid = getpid(),
		.cgroup_id = s->cgroup_id,
		.cgroup_level = s->cgroup_level,
		.check_overflow = s->opts->check_overflow && malloc_is_glibc(&s->objs),
		/* where the kernel allows it; else the ladder's first rung gives it up */
		.overflow_canary = !getenv("MEMSCOPE_NO_CANARY"),
		.mappings = s->opts->no_mappings ? TRACER_MAPS_OFF : TRACER_MAPS_BTF,
	};
	volatile uint64_t *gen;
	int rows_fd, objs_fd, keys_fd;

	if (s->opts->all) {
		to.alloc_stacks = to.free_stacks = false;
		to.mappings = TRACER_MAPS_OFF;
	}
	if (!s->objs.n) {
		if (s->opts->all)
			ms_err("no allocator found in any process");
		/* a target that exits as its maps are read shows none mapped */
		else if (ms_process_gone(s->target.pid))
			ms_err("target '%d' exited during attach", s->target.pid);
		else
			ms_err("no allocator found in target '%d'", s->target.pid);
		return -ENOENT;
	}
	s->tracer = tracer__new(&to);
	if (!s->tracer)
		return -errno;
	s->nprobes = tracer__attach(s->tracer, &s->objs);
	s->mode = *tracer__mode(s->tracer);
	if (s->nprobes < 0)
		return s->nprobes;
	if ((s->opts->follow || s->nmore || s->opts->comm || s->opts->all) &&
	    !tracer__sees_vm_children(s->tracer)) {
		ms_err("%s needs the fork and exit hooks, which come with batching (not with "
		       "--no-batch, nor on a kernel without tp_btf)",
		       s->opts->follow ? "-f" : s->opts->comm ? "--comm" :
		       s->opts->all ? "--all" : "-p PID,PID");
		return -ENOTSUP;
	}
	if (s->opts->follow || s->nmore || s->opts->comm)
		follow_existing(s);
	/* the kernel refused the CFI unwinder (or stacks): its tables are not needed */
	if (s->unwind && (s->mode.unwind_mode == MS_UNWIND_FP ||
			  (!s->mode.alloc_stacks && !s->mode.free_stacks))) {
		unwinder__free(s->unwind);
		s->unwind = NULL;
	}
	if (!s->unwind)
		return 0;
	/* after attach: a fallback there loads the programs and their maps again */
	tracer__unwind_maps(s->tracer, &rows_fd, &objs_fd, &keys_fd, &gen);
	return unwinder__bind(s->unwind, rows_fd, objs_fd, keys_fd, to.unwind_rows, gen);
}

/*
 * --all: a process execed: the allocator objects it maps now (its loader
 * has mapped its libraries by the time the record is read, as a rule) that
 * are not probed yet (a static malloc, a jemalloc it links or preloads) are
 * probed.  What it calls before then, or a library it maps later (dlopen),
 * is not seen (docs/system-wide.md).
 */
static void probe_image(struct session *s, uint32_t pid)
{
	struct discover_opts dopts = { .symbol_prefix = s->opts->symbol_prefix,
				       .skip = &s->objs, .seen = &s->seen, .quiet = true };
	struct alloc_objects fresh;
	int n;

	n = discover__pid_opts((int)pid, &dopts, &fresh);
	/* gone already (a short program), or a kernel thread */
	if (n || !fresh.n) {
		discover__free(&fresh);
		return;
	}
	n = tracer__attach_more(s->tracer, &fresh);
	if (n > 0) {
		s->nprobes += n;
		ms_info(1, "pid %u execed: %d more probes in %zu objects", pid, n, fresh.n);
	}
	s->objs.v = xrealloc(s->objs.v, (s->objs.n + fresh.n) * sizeof(*s->objs.v));
	for (size_t i = 0; i < fresh.n; i++) {
		s->objs.v[s->objs.n++] = fresh.v[i];
		fresh.v[i] = (struct alloc_object){ 0 };
	}
	discover__free(&fresh);
}

static void probe_images(struct session *s)
{
	for (size_t i = 0; i < s->sink.nimages; i++)
		probe_image(s, s->sink.images[i]);
	s->sink.nimages = 0;
}

/* When BPF met frames in files without rows (dlopen), their rows are added. */
static void add_new_objects(struct session *s)
{
	uint64_t stats[MS_STAT__COUNT];

	if (!s->unwind || !s->tracer || tracer__stats(s->tracer, stats) ||
	    stats[MS_STAT_UNWIND_UNKNOWN] == s->unwind_unknown)
		return;
	s->unwind_unknown = stats[MS_STAT_UNWIND_UNKNOWN];
	unwinder__scan(s->unwind);
}

static void start_recording(struct session *s);
static void fill_report_input(struct session *s, struct report_input *in, char *exit_text,
			      int len);

static struct symbolizer *new_symbolizer(struct session *s)
{
	struct symbolizer_opts so = { .sz = sizeof(so), .demangle = true,
				      .no_symbols = s->opts->no_symbolize,
				      .no_debuginfod = s->opts->no_debuginfod,
				      .no_wait_until_report = true };
	struct symbolizer *sym = symbolizer__new(s->target.pid, &so);

	if (!sym)
		ms_warn("cannot read the maps of '%d': %s", s->target.pid, strerror(errno));
	return sym;
}

static int start_pipeline(struct session *s)
{
	struct model_opts mo = {
		.sz = sizeof(mo),
		.live_hint = 1024,
		.freed_capacity = FREED_CAPACITY,
		.start_ns = s->start_ns,
		.interval_ns = s->opts->interval_ns,
		.sample_bytes = s->opts->sample_bytes,
		.mixed_fns = s->objs.mixed_fns,
		.pid = (uint32_t)s->target.pid,
		.procs_without_sites = s->opts->all,
		.internal = runtime__internal_release,
		.internal_ctx = &s->runtime,
	};
	char path[64];

	/* --all: no symbolizer (no stacks; one would be needed per process) */
	s->sym = s->opts->all ? NULL : new_symbolizer(s);
	s->runtime = (struct runtime_ctx){ .sym = s->sym, .objs = &s->objs };
	s->model = model__new(&mo);
	if (s->opts->check_overflow)
		model__check_overflow(s->model, !malloc_is_glibc(&s->objs) ? OVERFLOW_NOT_GLIBC :
					       s->mode.overflow_canary ? OVERFLOW_CANARY :
					       OVERFLOW_READ);
	if (!s->opts->all) {
		snprintf(path, sizeof(path), "/proc/%d/statm", s->target.pid);
		s->statm_fd = open(path, O_RDONLY | O_CLOEXEC);
		s->maps = procmaps__new(s->target.pid);
	}
	s->sink = (struct event_sink){ .model = s->model, .sym = s->sym, .pid = s->target.pid,
				       .ordered = tracer__batching(s->tracer),
				       .follow = s->opts->follow || s->nmore ||
						 s->opts->comm || s->opts->all };
	start_recording(s);
	if (s->rec_fd >= 0 && !s->rec)
		return -EIO;
	s->sink.rec = s->rec;
	announce_existing(s);
	if (s->opts->live_ns)
		s->live = live_view__new(&(struct live_view_opts){
			.sz = sizeof(struct live_view_opts), .fd = STDERR_FILENO,
			.period_ns = s->opts->live_ns, .start_ns = s->start_ns,
			.pid = s->target.pid, .comm = s->target.comm, .heap = s->model->heap,
			.stacks = s->model->stacks, .sym = s->sym, .objs = &s->objs });
	s->rb = ring_buffer__new(tracer__ringbuf_fd(s->tracer), handle_event, &s->sink, NULL);
	if (!s->rb) {
		ms_err("cannot open the BPF ring buffer: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Batching: each thread sends what it queued when swept.  A sweep visits
 * every thread of the target (about 1 us each here), so sweeps are spaced
 * to take at most 1/SWEEP_COST_SHARE of a core: every drain for up to a few
 * hundred threads, less often for more.
 */
#define SWEEP_COST_SHARE 50

static void consume(struct session *s, bool all);

static void sweep(struct session *s, uint64_t now)
{
	uint64_t cost, gap;

	uint64_t consumer, producer;

	tracer__sweep(s->tracer);
	cost = ms_now_ns() - now;
	s->sweeps++;
	s->sweep_ns += cost;
	gap = cost * SWEEP_COST_SHARE;
	if (gap < DRAIN_INTERVAL_MS * 1000000ull)
		gap = DRAIN_INTERVAL_MS * 1000000ull;
	/*
	 * A record stamped before the previous sweep started has been sent by
	 * now, unless its program took longer than the sweeps' gap between
	 * stamping and queueing it (it is then applied late, and counted).
	 * Sent is not read: a batch sent by this sweep can sit in the ring
	 * buffer behind one that a thread's exit hook reserved and has not
	 * discarded yet (it lost the race for the same records), while an
	 * earlier batch holding a later release was read.  So the previous
	 * sweep's time becomes complete_ns only once the consumer has passed
	 * everything reserved by the end of this sweep (drain()).
	 */
	if (!tracer__ring_positions(s->tracer, &consumer, &producer)) {
		s->complete_ns = s->swept_ns;
	} else {
		unsigned i = s->nheld < sizeof(s->held) / sizeof(s->held[0]) ? s->nheld++ : s->nheld - 1;

		/* full (a consumer far behind): the newest pair is replaced by a later one */
		s->held[i].until = s->swept_ns;
		s->held[i].need = producer;
	}
	s->swept_ns = now;
	s->next_sweep_ns = now + gap;
}

/* The sweeps whose records have all been read now complete the heap up to their time. */
static void release_held(struct session *s)
{
	uint64_t consumer, producer;
	unsigned done = 0;

	if (!s->nheld || !tracer__ring_positions(s->tracer, &consumer, &producer))
		return;
	while (done < s->nheld && s->held[done].need <= consumer)
		s->complete_ns = s->held[done++].until;
	memmove(s->held, s->held + done, (s->nheld - done) * sizeof(s->held[0]));
	s->nheld -= done;
}

/*
 * At the end, what every sweep sent must be read before everything is
 * applied: the consumer is waited for (a record held back is in the middle
 * of a BPF program, which takes microseconds once it runs again), for 1 s
 * at most.
 */
static void read_all_sent(struct session *s)
{
	uint64_t consumer, producer, sent, deadline = ms_now_ns() + 1000000000ull;

	if (s->hold_until_ns && s->hold_until_ns < deadline)
		deadline = s->hold_until_ns;
	if (!tracer__ring_positions(s->tracer, &consumer, &sent))
		return;
	while (consumer < sent && ms_now_ns() < deadline) {
		usleep(100);
		consume(s, true);
		if (!tracer__ring_positions(s->tracer, &consumer, &producer))
			return;
	}
	if (consumer < sent)
		ms_info(1, "the ring buffer's last records were not read in 1 s");
	s->nheld = 0;
}

/*
 * Takes what the ring buffer holds, within the budgets above.  Under a
 * flood it is never empty: reading until it was kept the loop from its
 * deadline and signals (-d 3 traced for 6 s with 16 threads allocating flat
 * out) and piled the records up in the merge's queues meanwhile.  all: see
 * below; once the target is gone, until the ring is empty.
 */
static void consume(struct session *s, bool all)
{
	int n;

	/*
	 * The first drain of everything takes what the ring holds (as many
	 * records as full batches fill it); those after it, while the target
	 * still runs, read what came after tracing stopped and are bounded like
	 * the others.
	 */
	if (all && s->target.exited)
		s->sink.stop_pending = 0;
	else if (all && !s->took_ring)
		s->sink.stop_pending = events__pending(&s->sink) + (uint64_t)s->opts->ringbuf_bytes /
				       sizeof(struct ms_ev_batch) * MS_BATCH;
	else
		s->sink.stop_pending = DRAIN_MAX_PENDING;
	s->took_ring |= all;
	do {
		s->sink.stop_at_ns = ms_now_ns() + DRAIN_BUDGET_MS * 1000000ull;
		if (s->hold_until_ns && s->hold_until_ns < s->sink.stop_at_ns)
			s->sink.stop_at_ns = s->hold_until_ns;
		n = ring_buffer__consume(s->rb);
	} while (n == -EAGAIN && all && s->target.exited);
	s->sink.stop_at_ns = 0;
	s->sink.stop_pending = 0;
}

/* Waits for BPF's wakeup or the timeout: drain() reads (ring_buffer__poll() would read it all). */
static int wait_events(struct session *s, int timeout_ms)
{
	struct pollfd p = { .fd = ring_buffer__epoll_fd(s->rb), .events = POLLIN };

	return poll(&p, 1, timeout_ms) < 0 ? -errno : 0;
}

/* The target's resident set, TIMELINE_NO_RSS when it cannot be read. */
static uint64_t read_rss(int fd)
{
	unsigned long long size, resident;
	char buf[128];
	ssize_t n;

	if (fd < 0)
		return TIMELINE_NO_RSS;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return TIMELINE_NO_RSS;
	buf[n] = 0;
	/* a gone process reads as all zeros */
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2 || size == 0)
		return TIMELINE_NO_RSS;
	return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Once a drain, before its records: the timeline's samples take it. */
static void note_rss(struct session *s, uint64_t now)
{
	uint64_t rss = read_rss(s->statm_fd);

	if (s->rec)
		recording__rss(s->rec, now, rss);
	model__rss(s->model, now, rss);
}

/*
 * Every poll is followed by a drain: the read-ahead is applied there.  With
 * batching, the threads are swept first when it is time, and the records
 * older than the sweep before the last are applied.  all: every record had
 * so far (the target has stopped or exited, or tracing ends).  Returns the
 * time up to which the heap is current.
 */
static uint64_t drain(struct session *s, bool all)
{
	uint64_t now = ms_now_ns(), until = now;

	note_rss(s, now);
	if (s->sink.ordered) {
		/*
		 * Early when the records waiting for their merge reach the bound:
		 * a sweep delayed (its gap is 50 times its last cost, which a
		 * busy machine inflates) left them waiting and the bound idle
		 */
		if (all || now >= s->next_sweep_ns ||
		    events__pending(&s->sink) >= DRAIN_MAX_PENDING)
			sweep(s, now);
		if (!all)
			until = s->complete_ns;
		else
			/* a batch that a thread's own program (its exit, say) is still
			 * writing beside the sweep: it takes microseconds */
			usleep(1000);
	}
	consume(s, all);
	if (s->sink.ordered && all)
		read_all_sent(s);
	else if (s->sink.ordered) {
		release_held(s);
		until = s->complete_ns;
	}
	events__advance(&s->sink, all ? UINT64_MAX : until);
	add_new_objects(s);
	if (s->sink.nimages && s->tracer)
		probe_images(s);
	return until;
}

/*
 * The allocator's candidate mappings (model/footprint.h), once an interval
 * and on a forced sample, after the drain: the live blocks are those of the
 * records applied so far.  Nothing is sent when the maps cannot be read
 * (the target gone).
 */
static void note_footprint(struct session *s, bool force)
{
	uint64_t now = ms_now_ns();
	const char *allocator;
	struct footprint_range *v;
	struct procmap *m;
	ssize_t n;
	size_t k = 0;

	if (!s->maps || (!force && now - s->footprint_ns < s->opts->interval_ns))
		return;
	/* the rules are glibc's: another allocator's mappings would be misread
	 * (jemalloc's extents as mmapped blocks or nothing, its brk as an arena) */
	allocator = discover__allocator(&s->objs);
	if (allocator && strcmp(allocator, "glibc"))
		return;
	s->footprint_ns = now;
	n = procmaps__read_all(s->maps, &m);
	if (n <= 0)
		return;
	v = xcalloc((size_t)n, sizeof(*v));
	for (ssize_t i = 0; i < n; i++) {
		bool brk = !strcmp(m[i].path, "[heap]");

		if (!brk && (m[i].path[0] || strcmp(m[i].perms, "rw-p")))
			continue;
		v[k++] = (struct footprint_range){ .start = m[i].start, .end = m[i].end,
						   .kind = brk ? FOOTPRINT_BRK : FOOTPRINT_ANON };
	}
	if (s->rec)
		recording__footprint(s->rec, now, v, k);
	model__footprint(s->model, now, v, k);
	free(v);
	free(m);
}

/* Drains, then samples: the heap state is then current to the sample. */
static void sample(struct session *s, bool force)
{
	uint64_t until = drain(s, force);

	/* addresses missed within a re-read's rate limit, while their process lives */
	symbolizer__settle(s->sym);
	note_footprint(s, force);
	if (s->rec) {
		recording__tick(s->rec, until, force);
		recording__maps(s->rec, s->sym);
		recording__flush(s->rec);
	}
	model__tick(s->model, until, force);
}

/* The names the target's threads have now (they often rename themselves
 * after their first malloc, which BPF saw). */
static void refresh_thread_names(struct session *s)
{
	const struct thread_names *tn = s->model->names;

	for (size_t i = 0; i < thread_names__count(tn); i++) {
		uint32_t tid = thread_names__tid(tn, i);
		const char *old = thread_names__get(tn, tid);
		char path[64], name[32];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%u/comm", s->target.pid, tid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f)) {
			name[strcspn(name, "\n")] = 0;
			if (!old || strcmp(old, name))
				events__thread(&s->sink, tid, name);
		}
		fclose(f);
	}
}

/* What can only be read while the target's address space exists. */
static void record_target_state(struct session *s)
{
	sample(s, true);
	refresh_thread_names(s);
	if (s->sym)
		symbolizer__refresh(s->sym);
	events__final_slack(&s->sink, ms_now_ns());
}

/* How a scan that did not finish ended, in one line; the hold is s->scan.ns. */
static void say_scan_end(const struct session *s, int err)
{
	double held_ms = (double)s->scan.ns / 1e6;

	if (err == -ETIME || err == -ETIMEDOUT)
		ms_warn("scan of '%d' stopped after %llu ms (--scan-max-ms)%s: the target was held "
			"%.1f ms; leaks are not classified", s->target.pid,
			(unsigned long long)(s->opts->scan_max_ns / 1000000),
			err == -ETIMEDOUT ? ", a thread not stopped by then" : "", held_ms);
	else if (err == -EINTR)
		ms_warn("scan of '%d' stopped by a signal: leaks are not classified",
			s->target.pid);
	else if (err)
		ms_warn("cannot scan '%d': %s", s->target.pid, strerror(-err));
}

/* The scan of the target, its threads t held still, until deadline_ns. */
static int scan_held(struct session *s, const struct scan_threads *t, uint64_t deadline_ns)
{
	struct scan_opts so = { .sz = sizeof(so), .deadline_ns = deadline_ns,
				.stop = &scan_interrupted };

	return scan__run(t, heap__live(s->model->heap), &so, &s->scan);
}

/*
 * A launched target at its leader's exit stop: when the whole process exits,
 * its other threads are held at their own exit stops first (target.c), so
 * their queued records are swept by the drain and their registers are
 * roots; then what needs the address space is recorded and it is scanned,
 * its memory intact.  The hold counts from the first wait for a thread.
 */
static void on_exit_stop(struct session *s)
{
	uint64_t t0 = ms_now_ns(), held, t1;
	int *tids = NULL, n, err;

	n = target__exit_threads(&s->target, t0 + s->opts->scan_max_ns, &tids);
	held = ms_now_ns() - t0;
	if (n >= 0)
		ms_info(2, "'%d' exits: %d of its %zu threads held at their exit stops", s->target.pid,
			n, s->target.nthreads + 1);
	/* the exit stop's own work, with or without a scan: not the scan's hold */
	record_target_state(s);
	if (s->opts->no_scan || !s->model) {
		free(tids);
		return;
	}
	if (n < 0) {
		ms_info(1, "not scanning '%d': its main thread exits, other threads run on",
			s->target.pid);
		return;
	}
	scan_interrupted = 0;
	t1 = ms_now_ns();
	err = scan_held(s, &(struct scan_threads){ .pid = s->target.pid, .tids = tids,
						   .n = (size_t)n },
			t1 - held + s->opts->scan_max_ns);
	s->scan.ns = ms_now_ns() - t1 + held;
	say_scan_end(s, err);
	free(tids);
}

/*
 * A -p target at detach: its records drained while it runs, then every
 * thread frozen, the records since drained (it allocates nothing now: the
 * live table is its heap), scanned, let go.  The time frozen is reported.
 */
static void scan_at_detach(struct session *s)
{
	struct scan_threads t;
	uint64_t t0, deadline;
	int err;

	/* the backlog first: draining it frozen held a busy target for seconds */
	record_target_state(s);
	if (s->opts->no_scan)
		return;
	scan_interrupted = 0;
	t0 = ms_now_ns();
	deadline = t0 + s->opts->scan_max_ns;
	err = scan__freeze(s->target.pid, deadline, &t);
	if (!err) {
		/* what came since, within the cap: records left are read after the thaw */
		s->hold_until_ns = deadline;
		drain(s, true);
		s->hold_until_ns = 0;
		if (ms_now_ns() >= deadline)
			err = -ETIME;
		else
			err = scan_held(s, &t, deadline);
		if (err == -ETIME)
			s->scan.status = SCAN_STOPPED;
		scan__thaw(&t);
	} else {
		s->scan.status = err == -ETIMEDOUT ? SCAN_STOPPED : SCAN_FAILED;
	}
	s->scan.ns = ms_now_ns() - t0;
	say_scan_end(s, err);
}


/*
 * The objects of the new image that are not probed yet (an LD_PRELOADed
 * allocator, another libc), probed; moved into s->objs.  The new image has
 * mapped its executable and loader only: what the loader will map comes
 * from `ld.so --list` in the target's own environment.
 */
static void probe_new_image(struct session *s)
{
	struct alloc_objects found, fresh = { 0 };
	char *exe = target__exe(&s->target);
	char **env = target__environ(&s->target);
	struct discover_opts dopts = { .symbol_prefix = s->opts->symbol_prefix,
				       .allocator_libs = s->opts->allocator_libs,
				       .nallocator_libs = s->opts->nallocator_libs, .envp = env };
	dev_t used_dev = 0;
	ino_t used_ino = 0;
	bool used = false;
	int n;

	if (!exe || discover__program_opts(exe, &dopts, &found)) {
		ms_warn("cannot find the allocators of '%d' after its exec: only those probed "
			"before are traced", s->target.pid);
		free(exe);
		target__free_environ(env);
		return;
	}
	free(exe);
	target__free_environ(env);
	/* the allocator the new image calls: the report names it */
	if (found.used >= 0 && (size_t)found.used < found.n) {
		used = true;
		used_dev = found.v[found.used].dev;
		used_ino = found.v[found.used].ino;
	}
	s->objs.mixed_fns |= found.mixed_fns;
	fresh.v = xcalloc(found.n ? found.n : 1, sizeof(*fresh.v));
	for (size_t i = 0; i < found.n; i++) {
		if (has_object(&s->objs, found.v[i].dev, found.v[i].ino))
			continue;
		fresh.v[fresh.n++] = found.v[i];
		found.v[i] = (struct alloc_object){ 0 };
	}
	n = fresh.n ? tracer__attach_more(s->tracer, &fresh) : 0;
	if (n > 0)
		s->nprobes += n;
	s->objs.v = xrealloc(s->objs.v, (s->objs.n + fresh.n) * sizeof(*s->objs.v));
	for (size_t i = 0; i < fresh.n; i++) {
		if (s->unwind)
			unwinder__add_path(s->unwind, fresh.v[i].path);
		s->objs.v[s->objs.n++] = fresh.v[i];
	}
	for (size_t i = 0; s->unwind && i < found.nothers; i++)
		unwinder__add_path(s->unwind, found.others[i]);
	s->objs.used = -1;
	for (size_t i = 0; used && i < s->objs.n; i++)
		if (s->objs.v[i].dev == used_dev && s->objs.v[i].ino == used_ino)
			s->objs.used = (ssize_t)i;
	free(fresh.v);
	discover__free(&found);
}

/*
 * A launched target stopped at an exec: what the old image did is applied,
 * and closed out in the model (a record, so that `report` sees it too);
 * the new image gets a symbolizer and its allocators' probes before it runs
 * its first instruction.
 */
static void on_exec(struct session *s)
{
	char *cmdline;
	uint64_t now;

	sample(s, true);
	now = ms_now_ns();
	cmdline = read_cmdline(s->target.pid);
	ms_info(1, "'%d' execs '%s'", s->target.pid, s->target.comm);
	model__exec(s->model, now, s->target.comm, cmdline);
	if (s->rec)
		recording__exec(s->rec, now, s->target.comm, cmdline);
	free(cmdline);
	symbolizer__free(s->sym);
	s->sym = new_symbolizer(s);
	s->sink.sym = s->sym;
	s->runtime.sym = s->sym;
	/* -f: the children that execed still run their programs */
	for (size_t i = 0; s->sym && i < s->sink.nexeced; i++)
		symbolizer__add_process(s->sym, (int)s->sink.execed[i]);
	live_view__exec(s->live, s->model->heap, s->sym, s->target.comm);
	/* BPF named the thread once, with its old name */
	events__thread(&s->sink, (uint32_t)s->target.pid, s->target.comm);
	probe_new_image(s);
}

/*
 * Services the target: on its exit stop, records what needs its address
 * space and lets it go; on an exec stop, probes the new image.  Returns
 * true once it has exited.
 */
static bool target_gone(struct session *s)
{
	switch (target__poll(&s->target)) {
	case TARGET_RUNNING:
		return false;
	case TARGET_EXEC:
		on_exec(s);
		target__continue(&s->target);
		return false;
	case TARGET_EXITING:
		on_exit_stop(s);
		target__resume(&s->target);
		return target__poll(&s->target) == TARGET_EXITED;
	case TARGET_EXITED:
		break;
	}
	return true;
}

/* Lets a signalled target finish, still draining, so its frees at exit are seen. */
static bool wait_gone(struct session *s)
{
	uint64_t until = ms_now_ns() + FORWARD_GRACE_MS * 1000000ull;

	while (!target_gone(s)) {
		if (ms_now_ns() >= until)
			return false;
		wait_events(s, DRAIN_INTERVAL_MS);
		drain(s, false);
	}
	return true;
}

/*
 * Stops a launched target (Ctrl-C, SIGTERM, -d): sig, then SIGKILL when it
 * is still there after the grace period.  It never outlives us holding our
 * pipes (`memscope-bpf -d 20 -- ./prog | grep x` ends).
 */
static void forward_stop(struct session *s, int sig)
{
	target__signal(&s->target, sig);
	if (wait_gone(s))
		return;
	ms_warn("'%d' still runs %d ms after signal %d: killing it", s->target.pid,
		FORWARD_GRACE_MS, sig);
	target__signal(&s->target, SIGKILL);
	wait_gone(s);
}

/* The live view, when one is due (last: tracing has ended); after a drain. */
static void show_live(struct session *s, bool last)
{
	uint64_t stats[MS_STAT__COUNT] = { 0 }, now = ms_now_ns();

	if (!s->live || (!last && !live_view__due(s->live, now)))
		return;
	tracer__stats(s->tracer, stats);
	live_view__show(s->live, now, stats[MS_STAT_LOST_EVENTS], last);
}

static void trace_loop(struct session *s)
{
	uint64_t deadline = 0, last;

	if (s->opts->duration_s > 0)
		deadline = s->start_ns + (uint64_t)(s->opts->duration_s * 1e9);
	/*
	 * Not a forced sample: that drains everything received, which while
	 * the target runs can apply a record before an older one of another
	 * thread that has not been swept yet (a late record).
	 */
	sample(s, false);
	last = ms_now_ns();
	for (;;) {
		int err = wait_events(s, DRAIN_INTERVAL_MS);

		if (err < 0 && err != -EINTR) {
			ms_err("cannot read the BPF ring buffer: %s", strerror(-err));
			break;
		}
		/*
		 * A signal cut the wait short: SIGCHLD for each ptrace stop of a
		 * thread (its birth, its clone, its exit), which target_gone()
		 * serves; the drain keeps its pace (a drain per stop cost the
		 * loader ~0.17 ms of CPU per thread born)
		 */
		if (err != -EINTR || stop_signal || ms_now_ns() - last >= DRAIN_INTERVAL_MS * 1000000ull) {
			sample(s, false);
			show_live(s, false);
			last = ms_now_ns();
		}
		if (stop_signal) {
			ms_info(1, "stopping on signal %d", (int)stop_signal);
			if (s->target.launched)
				forward_stop(s, stop_signal);
			else if (!s->opts->all)
				scan_at_detach(s);
			break;
		}
		/* --all has no target to end with */
		if (!s->opts->all && target_gone(s))
			break;
		if (deadline && ms_now_ns() >= deadline) {
			if (s->target.launched)
				forward_stop(s, SIGTERM);
			else if (!s->opts->all)
				scan_at_detach(s);
			break;
		}
	}
	target__release(&s->target);
	/* its RSS is no more */
	if (s->statm_fd >= 0)
		close(s->statm_fd);
	s->statm_fd = -1;
	sample(s, true);
	s->end_ns = ms_now_ns();
	show_live(s, true);
}

/* The last records are taken and the counters read; the probes stay until detach(). */
static void stop_tracing(struct session *s)
{
	/* no ring buffer: attach failed (the target may have exited meanwhile) */
	if (!s->tracer || !s->rb)
		return;
	drain(s, true);
	tracer__stats(s->tracer, s->bpf_stats);
	s->vm_children_known = tracer__sees_vm_children(s->tracer);
	/* a -p target reaped by its parent before its zombie could be read */
	if (s->target.exited && !s->target.status_known &&
	    tracer__target_status(s->tracer, &s->target.wait_status))
		s->target.status_known = true;
	if (s->sweeps)
		ms_info(1, "swept the threads %llu times, %.0f us each on average; "
			"%llu records applied late", (unsigned long long)s->sweeps,
			(double)s->sweep_ns / (double)s->sweeps / 1000.0,
			(unsigned long long)s->sink.late);
	ring_buffer__free(s->rb);
	s->rb = NULL;
}

/* The probes go (see session__run() for when). */
static void detach(struct session *s)
{
	stop_tracing(s);
	tracer__free(s->tracer);
	s->tracer = NULL;
}

static void fill_report_input(struct session *s, struct report_input *in, char *exit_text,
			      int len)
{
	const struct target *t = &s->target;

	target__describe_exit(t, exit_text, len);
	*in = (struct report_input){
		.pid = t->pid,
		.comm = s->comm,
		.cmdline = s->cmdline,
		.launched = t->launched,
		.exited = t->exited,
		.status_known = t->exited && t->status_known,
		.exit_code = -1,
		.exit_text = exit_text,
		.heap = s->model->heap,
		.stacks = s->model->stacks,
		.sym = s->sym,
		.objs = &s->objs,
		.stack_lost = s->model->stack_lost,
		.malformed = s->sink.malformed,
		.batch = s->sink.ordered ? MS_BATCH : 0,
		.late_records = s->sink.late,
		.start_ns = s->start_ns,
		.end_ns = s->end_ns,
		.start_wall_ns = s->start_wall_ns,
		.alloc_stacks = s->mode.alloc_stacks,
		.free_stacks = s->mode.free_stacks,
		.unwind_mode = s->mode.unwind_mode,
		.sample_bytes = s->opts->sample_bytes,
		.nprobes = s->nprobes,
		.degraded = s->degraded,
		.ndegraded = s->mode.ndegraded,
		.detector = s->model->detector,
		.overflow = s->model->overflow,
		.footprint = s->model->footprint,
		.timeline = s->model->timeline,
		.growth = s->model->growth,
		.thread_names = s->model->names,
		.annots = s->model->annots,
		.mappings = s->mode.mappings,
		.maps = s->mode.mappings ? s->model->maps : NULL,
		.min_age_ns = s->opts->min_age_ns,
		.vm_children_known = s->vm_children_known,
		.children_at_attach = s->children_at_attach,
		.scan = &s->scan,
		.execs = s->model->execs,
		.nexecs = s->model->nexecs,
		.procs = s->model->procs,
		.nprocs = s->model->nprocs,
		.system_wide = s->opts->all,
		.cgroup = s->opts->cgroup,
	};
	memcpy(in->bpf_stats, s->bpf_stats, sizeof(in->bpf_stats));
	for (size_t i = 0; i < s->mode.ndegraded; i++)
		s->degraded[i] = (struct report_degraded){ .feature = s->mode.degraded[i].feature,
							   .reason = s->mode.degraded[i].reason,
							   .instead = s->mode.degraded[i].instead };
	if (s->unwind)
		unwinder__stats(s->unwind, &in->unwind);
	if (t->exited && t->status_known) {
		if (WIFSIGNALED(t->wait_status))
			in->exit_signal = WTERMSIG(t->wait_status);
		else
			in->exit_code = WEXITSTATUS(t->wait_status);
	}
}

/* One line: how much the capture holds. */
static void report_recording(const struct session *s)
{
	uint64_t records, raw, written;

	recording__stats(s->rec, &records, &raw, &written);
	ms_info(0, "wrote %llu records to '%s' (%.1f MiB, %.1f bytes a record)",
		(unsigned long long)records, s->opts->record_path, (double)written / 1048576.0,
		records ? (double)written / (double)records : 0.0);
}

static void start_recording(struct session *s)
{
	struct report_input in;
	char exit_text[128];

	if (s->rec_fd < 0)
		return;
	fill_report_input(s, &in, exit_text, sizeof(exit_text));
	s->rec = recording__new(s->rec_fd, &in, FREED_CAPACITY);
	if (!s->rec)
		ms_err("cannot write '%s': %s", s->opts->record_path, strerror(errno));
	else if (s->model->overflow)
		recording__check_overflow(s->rec, overflow__way(s->model->overflow));
}

static int write_reports(struct session *s)
{
	struct report_input in;
	char exit_text[128];
	int err, rec_err = 0;

	fill_report_input(s, &in, exit_text, sizeof(exit_text));
	/* resolves every frame: what found no names is known before any report is written */
	in.unnamed = symbolizer__unnamed(s->sym, &in.nunnamed);
	err = outputs_write(&s->outs, s->opts, &in);
	/* after the reports: the frames they resolved go into the capture */
	if (s->rec) {
		rec_err = recording__finish(s->rec, &in, s->sym, !s->opts->no_symbolize);
		if (rec_err)
			ms_err("cannot write '%s': %s", s->opts->record_path, strerror(-rec_err));
		else
			report_recording(s);
	}
	return err ? err : rec_err;
}

static uint64_t wall_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_child(int sig)
{
	/* nothing: the signal only cuts the ring buffer's wait short */
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sigaction child = { .sa_handler = on_child };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&child.sa_mask);
	sigaction(SIGCHLD, &child, NULL);
}

static void session_cleanup(struct session *s)
{
	if (s->target.launched && !s->target.exited && s->target.go_fd >= 0) {
		/* never started: closing the pipe makes the child exit */
		close(s->target.go_fd);
		s->target.go_fd = -1;
		target__wait_exit(&s->target, 1000);
	}
	/* frees the ring buffer too: it exists only with a tracer */
	detach(s);
	outputs_abort(&s->outs);
	events__free(&s->sink);
	symbolizer__free(s->sym);
	model__free(s->model);
	live_view__free(s->live);
	recording__free(s->rec);
	if (s->rec_fd >= 0)
		close(s->rec_fd);
	if (s->statm_fd >= 0)
		close(s->statm_fd);
	procmaps__free(s->maps);
	unwinder__free(s->unwind);
	discover__free(&s->objs);
	discover__free_seen(&s->seen);
	reach_result__clear(&s->scan);
	target__cleanup(&s->target);
	free(s->existing);
	free(s->cmdline);
}

int session__run(const struct ms_options *o)
{
	struct session s = { .opts = o, .rec_fd = -1, .statm_fd = -1 };
	int err, code = 1;

	target__init(&s.target);
	install_signals();
	err = check_privileges();
	if (!err)
		err = open_outputs(&s);
	if (!err)
		err = prepare_target(&s);
	if (!err)
		prepare_unwind(&s);
	if (!err)
		err = attach_probes(&s);
	s.start_ns = ms_now_ns();
	s.start_wall_ns = wall_clock_ns();
	if (!err && s.target.launched)
		err = target__start(&s.target);
	/* a launched target is polled only by the loop, which handles its exit stop */
	if (!err && !s.target.launched && !o->all && target__poll_exit(&s.target)) {
		ms_err("target '%d' exited during attach", s.target.pid);
		err = -ESRCH;
	}
	snprintf(s.comm, sizeof(s.comm), "%s", s.target.comm);
	if (!err)
		err = start_pipeline(&s);
	if (err)
		goto cleanup;
	ms_info(1, "tracing pid %d ('%s')", s.target.pid, s.target.comm);
	trace_loop(&s);
	/*
	 * A target still running pays for every probe hit: the probes go
	 * first.  One that has exited hits none, and the report comes first:
	 * on a kernel without uprobe_multi links each perf-event uprobe takes
	 * an RCU grace period to go (~0.1 s here, 5-9 s for a program's probes
	 * on Debian's 6.1 in QEMU; the kernel serializes them, destroying them
	 * from several threads saved nothing).
	 */
	stop_tracing(&s);
	if (!s.target.exited)
		detach(&s);
	err = write_reports(&s);
	detach(&s);
	if (!err)
		code = s.target.launched ? target__exit_code(&s.target) : 0;
cleanup:
	session_cleanup(&s);
	return code;
}

int session__report(const struct ms_options *o)
{
	struct report_outputs outs = { 0 };
	struct replay *rp = NULL;
	int err;

	err = outputs_open(&outs, o);
	if (!err) {
		rp = replay__open(o->replay_path);
		err = rp ? 0 : -EINVAL;
	}
	if (!err)
		err = outputs_write(&outs, o, replay__input(rp));
	outputs_abort(&outs);
	replay__free(rp);
	return err ? 1 : 0;
}
