/* SPDX-License-Identifier: MIT */
/*
 * What every benchmark workload shares: a timer around the measured part and
 * the one machine-readable result line bench/run.sh parses:
 *
 *   memscope-bench workload=NAME pairs=N ns_per_pair=X wall_s=W cpu_s=C parent_cpu_s=P
 *                  busy_cpus=B
 *
 * ns_per_pair is wall time over pairs (for the threaded workload that is
 * throughput, not per-thread latency).  cpu_s is this process's CPU time in
 * the measured part, all threads.  parent_cpu_s is the CPU time the parent
 * process (the tracer that launched us: memscope-bpf, the floor, bpftrace)
 * used meanwhile, read through its CPU-time clock, so the tracer's own cost
 * is measured over exactly the traced interval, without its start-up and its
 * report; -1 when it cannot be read.  busy_cpus is how many CPUs the whole
 * machine kept busy meanwhile (from /proc/stat, at the kernel's tick
 * resolution): the workload and its tracer, plus anything else that ran, which
 * is how a noisy run shows itself.  /proc is read outside the timed part.
 */
#ifndef MS_BENCH_WORKLOAD_H
#define MS_BENCH_WORKLOAD_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct wl_clock {
	struct timespec wall0, cpu0, parent0;
	clockid_t parent_clock;
	int have_parent;
	unsigned long long busy0, total0;
};

/* the machine's busy and total ticks, summed over CPUs; 0 when unreadable */
static inline void wl_ticks(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	*busy = *total = 0;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		/* user nice system idle iowait irq softirq steal */
		*busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		*total = *busy + v[3] + v[4];
	}
	fclose(f);
}

static inline double wl_secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static inline void wl_start(struct wl_clock *c)
{
	wl_ticks(&c->busy0, &c->total0);
	c->have_parent = clock_getcpuclockid(getppid(), &c->parent_clock) == 0 &&
			 clock_gettime(c->parent_clock, &c->parent0) == 0;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c->cpu0);
	clock_gettime(CLOCK_MONOTONIC, &c->wall0);
}

static inline void wl_report(const struct wl_clock *c, const char *name, long pairs)
{
	struct timespec wall1, cpu1, parent1;
	double wall, parent = -1, busy = -1;
	unsigned long long busy1, total1;

	clock_gettime(CLOCK_MONOTONIC, &wall1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
	if (c->have_parent && clock_gettime(c->parent_clock, &parent1) == 0)
		parent = wl_secs(&c->parent0, &parent1);
	wl_ticks(&busy1, &total1);
	if (total1 > c->total0)
		busy = (double)(busy1 - c->busy0) / (double)(total1 - c->total0) *
		       (double)sysconf(_SC_NPROCESSORS_ONLN);
	wall = wl_secs(&c->wall0, &wall1);
	printf("memscope-bench workload=%s pairs=%ld ns_per_pair=%.1f wall_s=%.4f cpu_s=%.4f "
	       "parent_cpu_s=%.4f busy_cpus=%.2f\n",
	       name, pairs, wall * 1e9 / (double)pairs, wall, wl_secs(&c->cpu0, &cpu1), parent,
	       busy);
	fflush(stdout);
}

/* a count from argv[i], or def when absent; exits on a bad one */
static inline long wl_arg(int argc, char **argv, int i, long def)
{
	char *end;
	long v;

	if (argc <= i)
		return def;
	v = strtol(argv[i], &end, 10);
	if (*end || v <= 0) {
		fprintf(stderr, "bad count '%s'\n", argv[i]);
		exit(2);
	}
	return v;
}

/* xorshift64*: cheap and reproducible, so every run does the same calls */
static inline unsigned long long wl_rand(unsigned long long *s)
{
	unsigned long long x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

#endif
