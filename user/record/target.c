// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "target.h"
#include "util.h"

void target__init(struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->pidfd = t->go_fd = t->exec_fd = -1;
}

void target__cleanup(struct target *t)
{
	if (t->pidfd >= 0)
		close(t->pidfd);
	if (t->go_fd >= 0)
		close(t->go_fd);
	if (t->exec_fd >= 0)
		close(t->exec_fd);
	free(t->exe);
	free(t->threads);
	target__init(t);
}

static bool is_runnable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	if (!S_ISREG(st.st_mode)) {
		errno = EACCES;
		return false;
	}
	return access(path, X_OK) == 0;
}

char *target__resolve_program(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	int saved = ENOENT;

	if (!*name) {
		errno = ENOENT;
		return NULL;
	}
	if (strchr(name, '/'))
		return is_runnable(name) ? xstrdup(name) : NULL;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)n ? (int)n : 1,
			     n ? path : ".", name) < (int)sizeof(buf)) {
			if (is_runnable(buf))
				return xstrdup(buf);
			if (errno == EACCES)
				saved = EACCES;
		}
		path += n + (path[n] == ':');
	}
	errno = saved;
	return NULL;
}

static void read_comm(struct target *t)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", t->pid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(t->comm, sizeof(t->comm), f))
		t->comm[strcspn(t->comm, "\n")] = 0;
	fclose(f);
}

static int open_pidfd(int pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void child_run(int go, int report, char *const argv[], const char *exe, pid_t parent)
{
	char c;
	int err;

	/* never outlive a tracer that dies (SIGKILL); a parent gone before the
	 * call would go unnoticed, hence the check after it */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	/* wait until the parent has attached; EOF means it gave up */
	if (read(go, &c, 1) != 1)
		_exit(127);
	close(go);
	signal(SIGPIPE, SIG_DFL);
	execv(exe, argv);
	err = errno;
	if (write(report, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int target__launch(struct target *t, char *const argv[])
{
	int go[2], report[2];
	pid_t pid, self = getpid();

	t->exe = target__resolve_program(argv[0]);
	if (!t->exe) {
		int err = errno;

		ms_err("cannot run '%s': %s", argv[0], strerror(err));
		return -err;
	}
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0) {
		ms_err("cannot create pipe: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int err = errno;

		ms_err("cannot fork: %s", strerror(err));
		close(go[0]), close(go[1]), close(report[0]), close(report[1]);
		return -err;
	}
	if (pid == 0) {
		close(go[1]);
		close(report[0]);
		child_run(go[0], report[1], argv, t->exe, self);
	}
	close(go[0]);
	close(report[1]);
	t->pid = pid;
	t->launched = true;
	t->go_fd = go[1];
	t->exec_fd = report[0];
	t->pidfd = open_pidfd(pid);
	/* without the exit stop a short program is gone before its maps are read */
	/* and its exec stops: a new image must be probed before it runs */
	/* and its threads' exit stops: their registers at the process's exit */
	if (ptrace(PTRACE_SEIZE, pid, 0,
		   PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_TRACECLONE) == 0)
		t->traced = true;
	else
		ms_warn("cannot seize '%d' (%s): a short-lived program may lose its symbols",
			pid, strerror(errno));
	snprintf(t->comm, sizeof(t->comm), "%s", strrchr(t->exe, '/') ? strrchr(t->exe, '/') + 1 : t->exe);
	return 0;
}

static enum target_state poll_child(struct target *t);

/*
 * Waits for the child's exec (EOF on exec_fd) or its error.  Meanwhile a
 * signal sent to it (SIGWINCH: the terminal was resized while we attached)
 * stops it for us, its tracer, until we let it go on: a plain read() here
 * waited for an exec that the stopped child could never make.
 */
static ssize_t wait_exec(struct target *t, int *err)
{
	struct pollfd p = { .fd = t->exec_fd, .events = POLLIN };

	for (;;) {
		/* dying before its exec (killed): its exit stop holds the pipe open */
		if (t->traced && !t->exited && poll_child(t) == TARGET_EXITING)
			target__resume(t);
		if (poll(&p, 1, 50) > 0) {
			ssize_t n = read(t->exec_fd, err, sizeof(*err));

			if (n >= 0 || errno != EINTR)
				return n;
		}
	}
}

int target__start(struct target *t)
{
	int err = 0;
	ssize_t n;

	if (write(t->go_fd, "g", 1) != 1) {
		err = errno;
		ms_err("cannot start '%s': %s", t->exe, strerror(err));
		return -err;
	}
	close(t->go_fd);
	t->go_fd = -1;
	n = wait_exec(t, &err);
	close(t->exec_fd);
	t->exec_fd = -1;
	if (n == (ssize_t)sizeof(err)) {
		ms_err("cannot run '%s': %s", t->exe, strerror(err));
		target__wait_exit(t, 1000);
		return -err;
	}
	return 0;
}

int target__open_pid(struct target *t, int pid)
{
	char path[64];

	if (pid <= 0) {
		ms_err("invalid pid '%d'", pid);
		return -EINVAL;
	}
	if (pid == getpid()) {
		ms_err("refusing to trace memscope-bpf itself (pid '%d')", pid);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (kill(pid, 0) < 0 && errno == ESRCH) {
		ms_err("no such process '%d'", pid);
		return -ESRCH;
	}
	if (access(path, F_OK) < 0) {
		ms_err("no such process '%d'", pid);
		return -ESRCH;
	}
	/*
	 * Not by /proc/PID/exe: a kernel thread has none, but neither has a
	 * process that exited and is not reaped yet
	 */
	switch (ms_proc_kind(pid)) {
	case MS_PROC_KTHREAD:
		ms_err("pid '%d' is a kernel thread: it has no user-space heap", pid);
		return -EINVAL;
	case MS_PROC_GONE:
		ms_err("target '%d' exited during attach (a zombie its parent has not reaped)", pid);
		return -ESRCH;
	case -ENOENT:
	case -ESRCH:
		ms_err("no such process '%d'", pid);
		return -ESRCH;
	default:
		break;
	}
	t->pid = pid;
	t->pidfd = open_pidfd(pid);
	read_comm(t);
	return 0;
}

/* ---- the launched target's threads ---- */

static struct target_thread *find_thread(struct target *t, int tid)
{
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == tid)
			return &t->threads[i];
	return NULL;
}

static struct target_thread *add_thread(struct target *t, int tid)
{
	if (t->nthreads == t->cap_threads) {
		t->cap_threads = t->cap_threads ? t->cap_threads * 2 : 16;
		t->threads = xrealloc(t->threads, t->cap_threads * sizeof(*t->threads));
	}
	t->threads[t->nthreads] = (struct target_thread){ .tid = tid };
	return &t->threads[t->nthreads++];
}

static void drop_thread(struct target *t, int tid)
{
	struct target_thread *th = find_thread(t, tid);

	if (th)
		*th = t->threads[--t->nthreads];
}

/* Whether tid is a thread of pid (a clone without CLONE_THREAD is a process of its own). */
static bool is_thread_of(int pid, int tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d", pid, tid);
	return access(path, F_OK) == 0;
}

/* include/linux/sched.h: the task was killed by a fatal signal, set as it takes it */
#define PF_SIGNALED 0x00000400

/*
 * Thread tid's state letter ('X': gone) from /proc/PID/task/TID/stat (field
 * 3), and whether it is killed: SIGKILL pending in its own set (31), as
 * exit_group() leaves it in each other thread, or taken already
 * (PF_SIGNALED in its flags (9), set as it dequeues a fatal signal, before
 * its exit stop).
 */
static char thread_stat(int pid, int tid, bool *killed)
{
	unsigned long long flags, pending;
	char path[64], buf[1024], *p, state;
	ssize_t n;
	int fd;

	*killed = false;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 'X';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 'X';
	buf[n] = 0;
	/* the name may hold spaces and parentheses: the last ')' ends it */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %llu %*u %*u %*u %*u %*u %*u %*d %*d "
			 "%*d %*d %*d %*d %*u %*u %*d %*u %*u %*u %*u %*u %*u %llu",
			 &state, &flags, &pending) != 3)
		return '?';
	*killed = (flags & PF_SIGNALED) || (pending & (1ull << (SIGKILL - 1)));
	return state;
}

/*
 * Whether thread tid is on its way out: gone, a zombie, killed, or, when
 * stop_counts, stopped at a ptrace stop not collected yet ('t').
 */
static bool thread_leaving(int pid, int tid, bool stop_counts)
{
	bool killed;
	char c = thread_stat(pid, tid, &killed);

	return c == 'Z' || c == 'X' || killed || (stop_counts && c == 't');
}

/* Lets every thread held at its exit stop die. */
static void release_held(struct target *t)
{
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].at_exit) {
			ptrace(PTRACE_CONT, t->threads[i].tid, 0, 0);
			t->threads[i].at_exit = false;
		}
}

/*
 * A thread other than the leader at its exit stop: held there while the
 * leader is on its way out too (the process exits: the leader's exit stop
 * will come, and target__resume() lets it go), else let die at once (it
 * ends alone, or the leader's exit has been dealt with).  A leader stopped
 * ('t') counts as leaving: if its stop is another one, release_held() lets
 * the thread go when it is collected.  Under target__exit_threads() every
 * one is held.
 */
static void thread_at_exit(struct target *t, int tid)
{
	struct target_thread *th = find_thread(t, tid);

	bool killed = false;
	char leader = t->gathering || t->leader_exiting ? 0 : thread_stat(t->pid, t->pid, &killed);

	/* a leader gone already (no exit stop of its own to come) holds nothing */
	if (th && (t->gathering || (leader != 'Z' && leader != 'X' && (killed || leader == 't')))) {
		th->at_exit = true;
		return;
	}
	ptrace(PTRACE_CONT, tid, 0, 0);
}

/* Handles one ptrace stop of tid that is not an exit or exec stop: lets it go on. */
static void pass_stop(struct target *t, int tid, int st)
{
	int sig = WSTOPSIG(st), event = (unsigned)st >> 16;

	/* the leader goes on: it is not exiting, and holds no thread at its exit */
	if (tid == t->pid)
		release_held(t);
	if (event == PTRACE_EVENT_STOP) {
		/* a group stop (SIGSTOP, SIGTSTP, ...) must stay a stop */
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			ptrace(PTRACE_LISTEN, tid, 0, 0);
		else
			ptrace(PTRACE_CONT, tid, 0, 0);
		return;
	}
	/* a clone event (the new thread stops on its own), or a signal on its way: delivered as it was */
	ptrace(PTRACE_CONT, tid, 0, event ? 0 : sig);
}

/*
 * One wait status of tid: TARGET_RUNNING when it was dealt with here and
 * polling goes on, else what the caller reports.
 */
static enum target_state on_status(struct target *t, int tid, int st)
{
	int event = (unsigned)st >> 16;

	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		if (tid != t->pid) {
			drop_thread(t, tid);
			return TARGET_RUNNING;
		}
		t->exited = true;
		t->status_known = true;
		t->wait_status = st;
		return TARGET_EXITED;
	}
	if (!WIFSTOPPED(st))
		return TARGET_RUNNING;
	if (tid != t->pid && !find_thread(t, tid)) {
		/* born since: a thread of the target, or a process cloned without CLONE_THREAD */
		if (!is_thread_of(t->pid, tid)) {
			ptrace(PTRACE_DETACH, tid, 0, 0);
			return TARGET_RUNNING;
		}
		add_thread(t, tid);
	}
	if (event == PTRACE_EVENT_EXIT) {
		if (tid == t->pid) {
			t->leader_exiting = true;
			return TARGET_EXITING;
		}
		thread_at_exit(t, tid);
		return TARGET_RUNNING;
	}
	if (event == PTRACE_EVENT_EXEC && tid == t->pid) {
		/* the other threads are gone: exec kills them; the leader is the execing thread */
		t->nthreads = 0;
		t->leader_exiting = false;
		/* the first is the launch's own exec: its probes are in place */
		if (++t->execs > 1) {
			read_comm(t);
			return TARGET_EXEC;
		}
	}
	pass_stop(t, tid, st);
	return TARGET_RUNNING;
}

static enum target_state poll_child(struct target *t)
{
	for (;;) {
		int st;
		/* traced: every thread's stops; the loader has no other child meanwhile */
		pid_t r = waitpid(t->traced ? -1 : t->pid, &st, WNOHANG | __WALL);
		enum target_state s;

		if (r == 0)
			return TARGET_RUNNING;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			t->exited = true; /* ECHILD: reaped elsewhere */
			return TARGET_EXITED;
		}
		s = on_status(t, r, st);
		if (s != TARGET_RUNNING)
			return s;
	}
}

/* Services the stops and deaths waiting now. */
static void collect_waiting(struct target *t)
{
	int st;
	pid_t r;

	while ((r = waitpid(-1, &st, WNOHANG | __WALL)) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			on_status(t, r, st);
}

int target__exit_threads(struct target *t, uint64_t deadline_ns, int **tids)
{
	size_t n = 0;

	*tids = NULL;
	if (!t->traced)
		return -EBUSY;
	/* the exit stops that came meanwhile are held too */
	t->gathering = true;
	collect_waiting(t);
	for (size_t i = 0; i < t->nthreads; i++)
		if (!t->threads[i].at_exit && !thread_leaving(t->pid, t->threads[i].tid, true)) {
			/* the leader ends alone: nothing to hold */
			t->gathering = false;
			release_held(t);
			return -EBUSY;
		}
	for (;;) {
		bool all = true;

		for (size_t i = 0; i < t->nthreads; i++)
			all = all && t->threads[i].at_exit;
		if (all || ms_now_ns() >= deadline_ns)
			break;
		usleep(100);
		collect_waiting(t);
	}
	t->gathering = false;
	*tids = xmalloc((t->nthreads + 1) * sizeof(**tids));
	(*tids)[n++] = t->pid;
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].at_exit)
			(*tids)[n++] = t->threads[i].tid;
	return (int)n;
}

/*
 * A -p target is not our child: waitpid cannot tell its status.  Until its
 * parent reaps it, it is a zombie whose /proc/PID/stat carries the status
 * in waitpid's form (field 52, Linux >= 3.5); after that it is unknown.
 */
static void read_zombie_status(struct target *t)
{
	char path[64], buf[1024], *p;
	int field = 2, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", t->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] != 'Z')
		return;
	for (p += 1; *p && field < 52; p++)
		if (*p == ' ')
			field++;
	if (field == 52 && sscanf(p, "%d", &st) == 1) {
		t->wait_status = st;
		t->status_known = true;
	}
}

enum target_state target__poll(struct target *t)
{
	if (t->exited)
		return TARGET_EXITED;
	if (t->launched)
		return poll_child(t);
	if (t->pidfd >= 0) {
		struct pollfd p = { .fd = t->pidfd, .events = POLLIN };

		if (poll(&p, 1, 0) > 0) {
			t->exited = true;
			read_zombie_status(t);
		}
	} else if (kill(t->pid, 0) < 0 && errno == ESRCH) {
		t->exited = true;
	}
	return t->exited ? TARGET_EXITED : TARGET_RUNNING;
}

void target__resume(struct target *t)
{
	/* still traced: its threads' exits are reaped here as it goes */
	if (!t->traced)
		return;
	release_held(t);
	ptrace(PTRACE_CONT, t->pid, 0, 0);
}

/* The parent of pid from /proc/PID/stat (field 4), or -1. */
static int read_ppid(int pid)
{
	char path[64], buf[512], *p;
	int ppid = -1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* the name may hold spaces and parentheses: the last ')' ends it */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

int target__descendants(const struct target *t)
{
	return target__descendants_list(t, NULL);
}

int target__descendants_list(const struct target *t, struct target_child **out)
{
	struct target_child *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	bool *in;
	int count = 0;
	DIR *d = opendir("/proc");

	if (out)
		*out = NULL;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (n == cap)
			v = xrealloc(v, (cap = cap ? cap * 2 : 256) * sizeof(*v));
		v[n].pid = (int)pid;
		v[n].ppid = read_ppid((int)pid);
		n++;
	}
	closedir(d);
	/* below the target: marked until nothing changes (parents may come after children) */
	in = xcalloc(n ? n : 1, sizeof(*in));
	for (bool more = true; more;) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			if (in[i] || v[i].ppid <= 0)
				continue;
			if (v[i].ppid == t->pid) {
				in[i] = more = true;
				continue;
			}
			for (size_t k = 0; k < n; k++)
				if (in[k] && v[k].pid == v[i].ppid) {
					in[i] = more = true;
					break;
				}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (in[i])
			v[count++] = v[i];
	free(in);
	if (out)
		*out = v;
	else
		free(v);
	return count;
}

int target__find_comm(const char *name, int skip, int *pids, int max)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc");

	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		char path[64], comm[32];
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		FILE *f;

		if (*end || pid <= 0 || pid == skip)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = 0;
			if (!strcmp(comm, name) && ms_proc_kind((int)pid) != MS_PROC_KTHREAD)
				pids[n++] = (int)pid;
		}
		fclose(f);
	}
	closedir(d);
	/* by pid: the oldest first, as a rule */
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && pids[k - 1] > pids[k]; k--) {
			int tmp = pids[k];

			pids[k] = pids[k - 1];
			pids[k - 1] = tmp;
		}
	return n;
}

char *target__exe(const struct target *t)
{
	char path[64], buf[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return xstrdup(buf);
}

char **target__environ(const struct target *t)
{
	char path[64], *buf = NULL, **env;
	size_t len = 0, cap = 0, n = 0, k = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", t->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	do {
		if (cap - len < 4096)
			buf = xrealloc(buf, cap = cap ? cap * 2 : 65536);
		r = read(fd, buf + len, cap - len - 1);
		if (r > 0)
			len += (size_t)r;
	} while (r > 0 || (r < 0 && errno == EINTR));
	close(fd);
	if (r < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = 0;
	for (size_t i = 0; i < len; i++)
		n += !buf[i];
	/* the strings stay in buf, which env[n + 1] keeps for target__free_environ() */
	env = xcalloc(n + 3, sizeof(*env));
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		if (buf[i])
			env[k++] = buf + i;
	env[k + 1] = buf;
	return env;
}

void target__free_environ(char **env)
{
	size_t k = 0;

	if (!env)
		return;
	while (env[k])
		k++;
	free(env[k + 1]);
	free(env);
}

void target__continue(struct target *t)
{
	if (t->traced)
		ptrace(PTRACE_CONT, t->pid, 0, 0);
}

/*
 * Interrupts tid, waits for its stop and detaches it, handing over a signal
 * it was stopped with; a thread it was cloning is added to the list to
 * detach.  The status when it died instead, else 0.
 */
static int detach_one(struct target *t, int tid, bool *died)
{
	int st;

	*died = false;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0)
		return 0;
	while (waitpid(tid, &st, __WALL) < 0)
		if (errno != EINTR)
			return 0;
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		*died = true;
		return st;
	}
	if (((unsigned)st >> 16) == PTRACE_EVENT_CLONE) {
		unsigned long msg;

		if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg) == 0 && !find_thread(t, (int)msg))
			add_thread(t, (int)msg);
	}
	ptrace(PTRACE_DETACH, tid, 0, ((unsigned)st >> 16) ? 0 : WSTOPSIG(st));
	return 0;
}

void target__release(struct target *t)
{
	bool died;
	int st;

	if (!t->traced || t->exited)
		return;
	/* the other threads first: detached, they stop for nobody */
	for (size_t i = 0; i < t->nthreads; i++) {
		if (t->threads[i].at_exit)
			ptrace(PTRACE_DETACH, t->threads[i].tid, 0, 0);
		else
			detach_one(t, t->threads[i].tid, &died);
	}
	t->nthreads = 0;
	st = detach_one(t, t->pid, &died);
	if (died) {
		t->exited = true;
		t->status_known = true;
		t->wait_status = st;
		return;
	}
	t->traced = false;
}

bool target__poll_exit(struct target *t)
{
	enum target_state s = target__poll(t);

	/* nobody probes the new image here: it runs on */
	if (s == TARGET_EXEC)
		target__continue(t);
	if (s == TARGET_EXITING) {
		target__resume(t);
		s = target__poll(t);
	}
	return s == TARGET_EXITED;
}

bool target__wait_exit(struct target *t, int timeout_ms)
{
	for (int waited = 0; !target__poll_exit(t); waited += 10) {
		if (waited >= timeout_ms)
			return false;
		usleep(10000);
	}
	return true;
}

void target__signal(struct target *t, int sig)
{
	if (!target__poll_exit(t))
		kill(t->pid, sig);
}

void target__describe_exit(const struct target *t, char *buf, int len)
{
	int st = t->wait_status;

	if (!t->exited)
		snprintf(buf, len, "still running at detach");
	else if (!t->status_known)
		snprintf(buf, len, "ended, status unknown (its parent reaped it first)");
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(st),
			 strsignal(WTERMSIG(st)), WCOREDUMP(st) ? ", core dumped" : "");
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
}

int target__exit_code(const struct target *t)
{
	if (!t->launched || !t->exited)
		return 0;
	if (WIFSIGNALED(t->wait_status))
		return 128 + WTERMSIG(t->wait_status);
	return WEXITSTATUS(t->wait_status);
}
