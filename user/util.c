// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int ms_verbose;

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "memscope-bpf: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ms_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("error: ", fmt, ap);
	va_end(ap);
}

void ms_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void ms_info(int level, const char *fmt, ...)
{
	va_list ap;

	if (ms_verbose < level)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

static void *oom(size_t n)
{
	ms_err("out of memory allocating %zu bytes", n);
	exit(2);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	return p ? p : oom(n);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	return p ? p : oom(n * size);
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	return q ? q : oom(n);
}

#define HUGE_PAGE (2u << 20)

/*
 * A table probed at random misses the TLB on nearly every access with 4 KiB
 * pages (twice over in a VM): huge pages made a million-block live table
 * 20-40% faster in bench/live_table_bench.c.  A length in whole huge pages
 * lets the kernel back all of it with them.
 */
static size_t big_length(size_t bytes)
{
	return (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
}

void *ms_big_zalloc(size_t bytes)
{
	void *p;

	if (bytes < MS_BIG_BYTES)
		return xcalloc(1, bytes ? bytes : 1);
	p = mmap(NULL, big_length(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED) {
		ms_err("out of memory mapping %zu bytes", big_length(bytes));
		exit(2);
	}
	madvise(p, big_length(bytes), MADV_HUGEPAGE);
	return p;
}

void ms_big_free(void *p, size_t bytes)
{
	if (!p)
		return;
	if (bytes < MS_BIG_BYTES)
		free(p);
	else
		munmap(p, big_length(bytes));
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	return p ? p : oom(strlen(s) + 1);
}

/* include/linux/sched.h: the task is a kernel thread */
#define MS_PF_KTHREAD 0x00200000u

int ms_proc_classify(const char *stat)
{
	const char *p = strrchr(stat, ')');
	unsigned long long flags;
	char state;

	/* "pid (comm) S ppid pgrp session tty_nr tpgid flags ..." */
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %llu", &state, &flags) != 2)
		return -EINVAL;
	if (state == 'Z' || state == 'X' || state == 'x')
		return MS_PROC_GONE;
	return flags & MS_PF_KTHREAD ? MS_PROC_KTHREAD : MS_PROC_USER;
}

int ms_proc_kind(int pid)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? (int)n : -EINVAL;
	buf[n] = 0;
	return ms_proc_classify(buf);
}

bool ms_process_gone(int pid)
{
	int kind;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	kind = ms_proc_kind(pid);
	return kind == -ENOENT || kind == -ESRCH || kind == MS_PROC_GONE;
}

uint64_t ms_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ms_utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	int n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}
