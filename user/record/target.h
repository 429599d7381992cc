/* SPDX-License-Identifier: MIT */
/*
 * The traced process: launched by us (`-- PROGRAM ARGS`) or found by pid.
 *
 * Launching forks a child that waits on a pipe before it execs, so probes
 * can be attached (with the child's pid as their filter) before the
 * program's first instruction runs.  A second, close-on-exec pipe tells the
 * parent whether exec worked.
 *
 * A launched child is also seized with ptrace, for its PTRACE_EVENT_EXIT
 * stop, which comes before its address space is torn down, so the loader
 * can drain the last events, record the mappings of a program that lived
 * for a millisecond and scan it (record/scan.h), and for its exec stops.
 * Every thread it starts is traced too (PTRACE_O_TRACECLONE): at the
 * process's exit each thread stops at its own exit event and is held there,
 * its registers readable and its last records still to be swept, until the
 * leader's exit has been dealt with.  Signals are passed on untouched; group
 * stops stay stops (PTRACE_LISTEN).
 */
#ifndef MS_TARGET_H
#define MS_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A traced thread of a launched target other than its leader. */
struct target_thread {
	int tid;
	bool at_exit; /* stopped at its exit event and held there */
};

struct target {
	int pid;
	bool launched;    /* we started it and will reap it */
	bool exited;      /* it is gone (reaped when launched) */
	bool traced;      /* launched and seized with ptrace */
	bool status_known; /* wait_status is the real one */
	int wait_status;  /* waitpid() status, when exited && status_known */
	int pidfd;        /* readable when it exits; -1 when unavailable */
	int go_fd;        /* launch: write end the child waits on */
	int exec_fd;      /* launch: read end, EOF when exec succeeded */
	char *exe;        /* launch: the program's resolved path */
	unsigned execs;   /* launched: exec stops seen, the launch's own included */
	struct target_thread *threads; /* traced: its other threads */
	size_t nthreads, cap_threads;
	bool leader_exiting; /* its leader's exit stop came (its threads are not held after it) */
	bool gathering;   /* target__exit_threads() holds each thread's exit stop */
	char comm[64];
};

void target__init(struct target *t);
void target__cleanup(struct target *t);

/*
 * Resolves argv[0] like execvp (PATH search when it has no '/').
 * Returns a malloc'ed path, or NULL with errno set (ENOENT, EACCES).
 */
char *target__resolve_program(const char *name);

/* Forks the child, which waits.  0 or negative errno (message printed). */
int target__launch(struct target *t, char *const argv[]);
/* Lets the child exec and waits for the outcome.  0 or negative errno. */
int target__start(struct target *t);

/* Validates a pid to attach to (exists, not a kernel thread, not us). */
int target__open_pid(struct target *t, int pid);

enum target_state {
	TARGET_RUNNING,
	TARGET_EXITING, /* stopped at its exit: mappings still readable */
	/*
	 * Stopped at an exec after the launch's own (`sh -c 'exec ./prog'`):
	 * the new image is mapped (its executable and loader, no library yet)
	 * and has run no instruction; comm is its name.  The caller probes it,
	 * then target__continue().
	 */
	TARGET_EXEC,
	TARGET_EXITED,
};

/*
 * Services a launched child's ptrace stops (every thread's) and reports its
 * state.  TARGET_EXITING is the leader's exit stop; the caller may then
 * target__exit_threads(), reads what it needs, then target__resume().
 */
enum target_state target__poll(struct target *t);
/*
 * At TARGET_EXITING: whether the whole process exits (every other thread
 * gone, held at its exit stop or being killed), not its leader alone
 * (pthread_exit() while others run on).  If it does, waits until each other
 * thread has stopped at its exit event (or died), until deadline_ns
 * (CLOCK_MONOTONIC), servicing other stops meanwhile; *tids (malloc'ed)
 * then holds the leader and the threads held at their exit stops, whose
 * registers can be read: their count.  -EBUSY (nothing held) when the
 * leader exits alone.  Threads not stopped by the deadline are left out.
 */
int target__exit_threads(struct target *t, uint64_t deadline_ns, int **tids);
/* Lets the leader go on from its exit stop, and every thread held at its own. */
void target__resume(struct target *t);
/*
 * How many processes run below it now (children, theirs, ...), from
 * /proc/PID/stat's parents; negative errno when /proc cannot be read.
 */
int target__descendants(const struct target *t);
struct target_child {
	int pid, ppid;
};
/* The same, listed (parents before their children not guaranteed); *out malloc'ed, NULL when none. */
int target__descendants_list(const struct target *t, struct target_child **out);
/*
 * The processes named name (/proc/PID/comm) now, but skip (ourselves) and
 * kernel threads, by pid, at most max into pids: their number, or negative
 * errno when /proc cannot be read.
 */
int target__find_comm(const char *name, int skip, int *pids, int max);
/* Its executable's path (malloc'ed), NULL when it cannot be read. */
char *target__exe(const struct target *t);
/*
 * Its environment (a NULL-terminated array for execve), NULL when it cannot
 * be read; free with target__free_environ().
 */
char **target__environ(const struct target *t);
void target__free_environ(char **env);
/* Lets a target stopped at TARGET_EXEC run on. */
void target__continue(struct target *t);
/* Stops ptrace-servicing a launched child that goes on running (tracing
 * ended first): interrupts it, then detaches, passing on any signal. */
void target__release(struct target *t);
/* True when the target has exited; resumes it from its exit stop. */
bool target__poll_exit(struct target *t);
/* Waits up to timeout_ms for it to exit; true when it did. */
bool target__wait_exit(struct target *t, int timeout_ms);
/* Sends sig when it still runs. */
void target__signal(struct target *t, int sig);

/* Describes how a launched target ended ("exited with status 0",
 * "killed by signal 9 (Killed)") into buf. */
void target__describe_exit(const struct target *t, char *buf, int len);
/* Exit code for memscope-bpf that reflects a launched target: its status,
 * or 128 + signal. */
int target__exit_code(const struct target *t);

#endif
