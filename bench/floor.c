// SPDX-License-Identifier: MIT
/*
 * The floor: empty BPF programs (bench/floor.bpf.c) attached exactly where
 * memscope-bpf attaches its own, so that the cost of a traced program under it
 * is what the probes themselves cost.  Where to probe comes from the loader's
 * own modules (discover.c, alloc_syms.c, probe_site.c), linked in, so the
 * objects, the functions, the offsets, the cookies and the pid filter are the
 * same; only the programs differ.
 *
 *   floor [-v] [-m] -p PID                 attach until PID exits (or SIGINT/SIGTERM)
 *   floor [-v] [-m] [--] PROGRAM [ARGS]    launch PROGRAM attached, exit with its status
 *
 * -m attaches the same programs at the same sites through uprobe_multi links
 * (BPF_TRACE_UPROBE_MULTI, Linux 6.6; three links per object instead of a
 * perf event per probe) rather than perf-event uprobes as memscope-bpf does:
 * what the floor would be if memscope-bpf attached that way.  libbpf 1.1.2
 * has no API for it, so the link is made with the bpf() syscall.
 *
 * -s BYTES makes the return program copy BYTES (<= 16384) of the user stack
 * into a ring buffer, which the floor drains every millisecond, copying each
 * record out as a consumer that unwinds in userspace would at least do: the
 * cost of unwinding from raw stack copies before any unwinding is done.
 *
 * A launched program waits on a pipe before it execs, so probes are in place
 * before its first instruction, as with memscope-bpf.  Unlike memscope-bpf the
 * floor does not seize the child with ptrace (memscope-bpf does, for its exit
 * stop only; that costs nothing per call).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "discover.h"
#include "floor.skel.h"
#include "util.h"

/* -s: bytes of user stack copied per allocation (0: none) */
static uint32_t copy_bytes;
static uint32_t rec_mode; /* -r: 0 none, 1 shared, 2 percpu (floor.bpf.c) */

struct floor_target {
	int pid;
	int go_fd; /* launched: the child execs when this is closed */
	bool launched;
};

/* from the kernel's uapi (6.6+), which libbpf 1.1.2's headers predate */
#define FLOOR_TRACE_UPROBE_MULTI 48
#define FLOOR_UPROBE_MULTI_RETURN 1u

struct floor_link_create_attr {
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, multi_flags, pid;
};

static volatile sig_atomic_t stop_signal;
static bool use_multi;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && ms_verbose < 3)
		return 0;
	if (level == LIBBPF_INFO && ms_verbose < 2)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* like execvp's search; a malloc'ed path or NULL */
static char *resolve_program(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	for (path = path ? path : "/usr/bin:/bin"; *path;) {
		size_t n = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return xstrdup(buf);
		path += n + (path[n] == ':');
	}
	return NULL;
}

/* forks a child that execs argv once go_fd is closed */
static int launch(struct floor_target *t, char **argv, char **exe)
{
	int go[2];

	*exe = resolve_program(argv[0]);
	if (!*exe) {
		ms_err("cannot run '%s': not found or not executable", argv[0]);
		return -ENOENT;
	}
	if (pipe2(go, O_CLOEXEC) < 0) {
		ms_err("cannot create pipe: %s", strerror(errno));
		return -errno;
	}
	t->pid = fork();
	if (t->pid < 0) {
		ms_err("cannot fork: %s", strerror(errno));
		return -errno;
	}
	if (t->pid == 0) {
		char c;

		close(go[1]);
		if (read(go[0], &c, 1) < 0)
			_exit(127);
		execv(*exe, argv);
		fprintf(stderr, "floor: cannot run '%s': %s\n", *exe, strerror(errno));
		_exit(127);
	}
	close(go[0]);
	t->go_fd = go[1];
	t->launched = true;
	return 0;
}

static int attach_one(struct bpf_program *prog, struct bpf_link ***links, size_t *n, int pid,
		      const char *path, uint64_t off, bool ret, uint64_t cookie)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_link *link = bpf_program__attach_uprobe_opts(prog, pid, path, off, &uo);

	if (!link)
		return -errno;
	*links = xrealloc(*links, (*n + 1) * sizeof(**links));
	(*links)[(*n)++] = link;
	return 0;
}

/* one uprobe_multi link for the syms of o that want prog (releases or allocations) */
static int attach_multi(struct bpf_program *prog, const struct alloc_object *o, int pid,
			bool releases, bool ret, int **fds, size_t *n)
{
	uint64_t *offsets = xcalloc(o->nsyms, sizeof(*offsets));
	uint64_t *cookies = xcalloc(o->nsyms, sizeof(*cookies));
	struct floor_link_create_attr a = { 0 };
	uint32_t cnt = 0;
	int fd, err = 0;

	for (size_t j = 0; j < o->nsyms; j++) {
		const struct alloc_sym *s = &o->syms[j];

		if ((bool)MS_FN_IS_RELEASE(s->fn) != releases)
			continue;
		offsets[cnt] = s->file_offset + s->probe_offset;
		cookies[cnt++] = s->fn;
	}
	if (cnt) {
		a.prog_fd = (uint32_t)bpf_program__fd(prog);
		a.attach_type = FLOOR_TRACE_UPROBE_MULTI;
		a.path = (uint64_t)(uintptr_t)o->attach_path;
		a.offsets = (uint64_t)(uintptr_t)offsets;
		a.cookies = (uint64_t)(uintptr_t)cookies;
		a.cnt = cnt;
		a.multi_flags = ret ? FLOOR_UPROBE_MULTI_RETURN : 0;
		a.pid = (uint32_t)pid;
		fd = (int)syscall(SYS_bpf, BPF_LINK_CREATE, &a, sizeof(a));
		if (fd < 0) {
			err = -errno;
		} else {
			*fds = xrealloc(*fds, (*n + 1) * sizeof(**fds));
			(*fds)[(*n)++] = fd;
		}
	}
	free(offsets);
	free(cookies);
	return err;
}

static int attach_all_multi(struct floor *skel, const struct alloc_objects *objs, int pid,
			    int **fds, size_t *n)
{
	for (size_t i = 0; i < objs->n; i++) {
		const struct alloc_object *o = &objs->v[i];
		int err = attach_multi(skel->progs.alloc_enter, o, pid, false, false, fds, n);

		if (!err)
			err = attach_multi(skel->progs.alloc_exit, o, pid, false, true, fds, n);
		if (!err)
			err = attach_multi(skel->progs.release, o, pid, true, false, fds, n);
		if (err) {
			ms_err("cannot attach uprobe_multi links to '%s': %s", o->path,
			       strerror(-err));
			return err;
		}
	}
	ms_info(1, "attached %zu uprobe_multi links", *n);
	return *n ? 0 : -ENOENT;
}

static struct floor *load_programs(void)
{
	struct floor *skel = floor__open();
	int err;

	if (!skel)
		return NULL;
	skel->rodata->copy_bytes = copy_bytes;
	skel->rodata->rec_mode = rec_mode;
	if (use_multi) {
		bpf_program__set_expected_attach_type(skel->progs.alloc_enter,
						      FLOOR_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(skel->progs.alloc_exit,
						      FLOOR_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(skel->progs.release,
						      FLOOR_TRACE_UPROBE_MULTI);
	}
	err = floor__load(skel);
	if (err) {
		floor__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

/* the same probes as user/record/attach.c's attach_sym(), with the empty programs */
static int attach_all(struct floor *skel, const struct alloc_objects *objs, int pid,
		      struct bpf_link ***links, size_t *n)
{
	for (size_t i = 0; i < objs->n; i++) {
		const struct alloc_object *o = &objs->v[i];

		for (size_t j = 0; j < o->nsyms; j++) {
			const struct alloc_sym *s = &o->syms[j];
			uint64_t off = s->file_offset + s->probe_offset;
			int err;

			if (MS_FN_IS_RELEASE(s->fn)) {
				err = attach_one(skel->progs.release, links, n, pid, o->attach_path,
						 off, false, s->fn);
			} else {
				err = attach_one(skel->progs.alloc_enter, links, n, pid,
						 o->attach_path, off, false, s->fn);
				if (!err)
					err = attach_one(skel->progs.alloc_exit, links, n, pid,
							 o->attach_path, off, true, s->fn);
			}
			if (err) {
				ms_err("cannot attach to '%s' in '%s': %s", s->name, o->path,
				       strerror(-err));
				return err;
			}
			ms_info(2, "probe %s in '%s' at +%u%s", s->name, o->path, s->probe_offset,
				s->emulated ? "" : " (single-stepped)");
		}
	}
	ms_info(1, "attached %zu probes", *n);
	return *n ? 0 : -ENOENT;
}

static struct ring_buffer *raw_rb;
static uint64_t raw_records, raw_bytes;

/* a consumer's least work on a raw stack: take it out of the ring buffer */
static int on_raw(void *ctx, void *data, size_t size)
{
	static unsigned char copy[16384 + 16];

	memcpy(copy, data, size < sizeof(copy) ? size : sizeof(copy));
	raw_records++;
	raw_bytes += size;
	return 0;
}

/* Adds ring to the consumer (the raw stacks' one, created when missing). */
static int consume_ring(int fd)
{
	if (!raw_rb) {
		raw_rb = ring_buffer__new(fd, on_raw, NULL, NULL);
		return raw_rb ? 0 : -errno;
	}
	return ring_buffer__add(raw_rb, fd, on_raw, NULL);
}

/* -r: the records' ring buffer, or one per CPU put into cpu_recs */
static int open_records(struct floor *skel)
{
	int ncpus = libbpf_num_possible_cpus(), err = 0;

	if (rec_mode == 1)
		return consume_ring(bpf_map__fd(skel->maps.recs));
	if (ncpus <= 0 || ncpus > 64) {
		ms_err("-r percpu: %d CPUs (at most 64)", ncpus);
		return -EINVAL;
	}
	for (int cpu = 0; cpu < ncpus && !err; cpu++) {
		int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "cpu_ring", 0, 0, 8 << 20, NULL);

		if (fd < 0)
			return -errno;
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.cpu_recs), &cpu, &fd, BPF_ANY))
			err = -errno;
		else
			err = consume_ring(fd); /* the fd stays open: the consumer polls it */
	}
	if (err)
		ms_err("-r percpu: cannot set up the rings: %s", strerror(-err));
	return err;
}

/* launched: reaps the child; returns its exit code (128 + signal) */
static int wait_launched(struct floor_target *t)
{
	int status;

	for (;;) {
		pid_t r;

		if (raw_rb) {
			/* records come without wake-ups, as memscope-bpf's do */
			ring_buffer__poll(raw_rb, 1);
			ring_buffer__consume(raw_rb);
			r = waitpid(t->pid, &status, WNOHANG);
			if (r == 0)
				continue;
		} else {
			r = waitpid(t->pid, &status, 0);
		}

		if (r == t->pid)
			break;
		if (r < 0 && errno == EINTR && stop_signal) {
			kill(t->pid, stop_signal);
			stop_signal = 0;
			continue;
		}
		if (r < 0 && errno != EINTR) {
			ms_err("cannot wait for '%d': %s", t->pid, strerror(errno));
			return 1;
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* attached to a pid: until it exits or we are told to stop */
static int wait_pid(struct floor_target *t)
{
	int fd = (int)syscall(SYS_pidfd_open, t->pid, 0);

	while (!stop_signal) {
		if (fd >= 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, 100) > 0)
				break;
		} else {
			if (kill(t->pid, 0) < 0 && errno == ESRCH)
				break;
			usleep(100000);
		}
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

static int parse_args(int argc, char **argv, int *pid, char ***prog)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] == 'v' &&
		    strspn(argv[i] + 1, "v") == strlen(argv[i] + 1)) {
			ms_verbose += (int)strlen(argv[i] + 1);
		} else if (!strcmp(argv[i], "-m")) {
			use_multi = true;
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			copy_bytes = (uint32_t)strtoul(argv[++i], NULL, 10);
			if (copy_bytes > 16384) {
				ms_err("-s: at most 16384 bytes");
				return -EINVAL;
			}
		} else if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "shared")) {
				rec_mode = 1;
			} else if (!strcmp(argv[i], "percpu")) {
				rec_mode = 2;
			} else {
				ms_err("-r: shared or percpu");
				return -EINVAL;
			}
		} else if (!strcmp(argv[i], "-p") && i + 1 < argc) {
			char *end;

			*pid = (int)strtol(argv[++i], &end, 10);
			if (*end || *pid <= 0) {
				ms_err("bad pid '%s'", argv[i]);
				return -EINVAL;
			}
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (argv[i][0] == '-') {
			ms_err("unknown option '%s'", argv[i]);
			return -EINVAL;
		} else {
			break;
		}
	}
	*prog = i < argc ? &argv[i] : NULL;
	if (!*pid == !*prog) {
		fprintf(stderr, "usage: floor [-v...] [-m] [-s BYTES] [-r shared|percpu] -p PID | "
			"floor [-v...] [-m] [-s BYTES] [-r shared|percpu] [--] PROGRAM [ARGS...]\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct floor_target t = { .go_fd = -1 };
	struct alloc_objects objs = { 0 };
	struct bpf_link **links = NULL;
	struct floor *skel = NULL;
	char **prog, *exe = NULL;
	size_t nlinks = 0, nfds = 0;
	int *fds = NULL;
	int err, code = 1;

	err = parse_args(argc, argv, &t.pid, &prog);
	if (err)
		return 2;
	/* no SA_RESTART: a signal interrupts the wait, which forwards it */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	libbpf_set_print(libbpf_print);
	err = prog ? launch(&t, prog, &exe) : discover__pid(t.pid, &objs);
	if (!err && prog)
		err = discover__program(exe, &objs);
	if (!err) {
		skel = load_programs();
		err = skel ? 0 : -errno;
		if (err)
			ms_err("cannot load the floor's BPF programs: %s", strerror(-err));
	}
	if (!err && use_multi)
		err = attach_all_multi(skel, &objs, t.pid, &fds, &nfds);
	else if (!err)
		err = attach_all(skel, &objs, t.pid, &links, &nlinks);
	if (!err && copy_bytes) {
		raw_rb = ring_buffer__new(bpf_map__fd(skel->maps.raw), on_raw, NULL, NULL);
		err = raw_rb ? 0 : -errno;
	}
	if (!err && rec_mode)
		err = open_records(skel);
	if (t.launched) {
		/* on error, closing the pipe without exec'ing would run it untraced */
		if (err)
			kill(t.pid, SIGKILL);
		close(t.go_fd);
		code = wait_launched(&t);
	} else if (!err) {
		code = wait_pid(&t);
	}
	if (raw_rb) {
		ring_buffer__consume(raw_rb);
		fprintf(stderr, "floor: %llu records, %.1f MiB, %llu lost (ring buffer full)\n",
			(unsigned long long)raw_records, (double)raw_bytes / (1 << 20),
			(unsigned long long)(skel->bss->raw_lost + skel->bss->rec_lost));
		ring_buffer__free(raw_rb);
	}
	for (size_t i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	free(links);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	free(fds);
	floor__destroy(skel);
	discover__free(&objs);
	free(exe);
	return err ? 1 : code;
}
