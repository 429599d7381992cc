// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procmaps.h"
#include "scan.h"
#include "util.h"

/* Root memory is read this much at a time, in at most this many ranges. */
#define ROOT_BATCH_BYTES (4u << 20)
#define ROOT_BATCH_RANGES 1024
/* process_vm_readv takes at most IOV_MAX (1024) ranges a call */
#define IOV_BATCH 1024
/* below a stopped thread's stack pointer, what the x86-64 ABI lets a leaf function use */
#define RED_ZONE 128
#define PAGE 4096ull

/* ---- freezing a -p target ---- */

static bool has_tid(const struct scan_threads *t, int tid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->tids[i] == tid)
			return true;
	return false;
}

/* Seizes and interrupts the threads not seized yet; how many were new. */
static int seize_new(struct scan_threads *t, size_t *cap)
{
	char path[64];
	struct dirent *d;
	int added = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", t->pid);
	dir = opendir(path);
	if (!dir)
		return -ESRCH;
	while ((d = readdir(dir))) {
		int tid = atoi(d->d_name);

		if (tid <= 0 || has_tid(t, tid))
			continue;
		if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0) {
			/* gone meanwhile: nothing to hold */
			if (errno == ESRCH)
				continue;
			closedir(dir);
			return -errno;
		}
		ptrace(PTRACE_INTERRUPT, tid, 0, 0);
		if (t->n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			t->tids = xrealloc(t->tids, *cap * sizeof(*t->tids));
			t->sigs = xrealloc(t->sigs, *cap * sizeof(*t->sigs));
		}
		t->tids[t->n] = tid;
		t->sigs[t->n++] = -1; /* not stopped yet */
		added++;
	}
	closedir(dir);
	return added;
}

/* Drops thread i (it exited): it holds nothing. */
static void drop(struct scan_threads *t, size_t i)
{
	t->tids[i] = t->tids[t->n - 1];
	t->sigs[i] = t->sigs[t->n - 1];
	t->n--;
}

/* Collects the stops that came; true when every thread has stopped. */
static bool collect_stops(struct scan_threads *t)
{
	bool all = true;

	for (size_t i = 0; i < t->n; i++) {
		int st;
		pid_t r;

		if (t->sigs[i] >= 0)
			continue;
		r = waitpid(t->tids[i], &st, WNOHANG | __WALL);
		if (r < 0 && errno != EINTR) {
			drop(t, i--);
			continue;
		}
		if (r <= 0) {
			all = false;
			continue;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			drop(t, i--);
			continue;
		}
		/* a signal on its way (not our interrupt's stop): given back at thaw */
		t->sigs[i] = ((unsigned)st >> 16) ? 0 : WSTOPSIG(st);
	}
	return all;
}

int scan__freeze(int pid, uint64_t deadline_ns, struct scan_threads *t)
{
	size_t cap = 0;
	int err = 0, added;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->seized = true;
	/* until a listing finds no thread born since the one before */
	do {
		added = seize_new(t, &cap);
	} while (added > 0);
	if (added < 0) {
		err = added;
		ms_warn("cannot freeze '%d' for the scan: %s", pid, strerror(-err));
		goto cleanup;
	}
	while (!collect_stops(t)) {
		if (ms_now_ns() >= deadline_ns) {
			err = -ETIMEDOUT;
			goto cleanup;
		}
		usleep(200);
	}
	if (!t->n)
		err = -ESRCH;
cleanup:
	if (err)
		scan__thaw(t);
	return err;
}

void scan__thaw(struct scan_threads *t)
{
	for (size_t i = 0; t->seized && i < t->n; i++) {
		/* not stopped yet: wait for the interrupt's stop, briefly, to detach */
		for (int k = 0; t->sigs[i] < 0 && k < 1000; k++) {
			int st;
			pid_t r = waitpid(t->tids[i], &st, WNOHANG | __WALL);

			if (r < 0 && errno != EINTR)
				break;
			if (r > 0) {
				if (WIFSTOPPED(st))
					t->sigs[i] = ((unsigned)st >> 16) ? 0 : WSTOPSIG(st);
				break;
			}
			usleep(100);
		}
		/* a thread we could not catch stopped is let go when we exit */
		ptrace(PTRACE_DETACH, t->tids[i], 0, t->sigs[i] > 0 ? t->sigs[i] : 0);
	}
	free(t->tids);
	free(t->sigs);
	memset(t, 0, sizeof(*t));
}

/* ---- reading the target ---- */

struct scanner {
	int pid;
	int mem_fd;        /* /proc/PID/mem, opened on first need */
	bool no_vm_readv;  /* process_vm_readv refused: /proc/PID/mem only */
	uint64_t bytes;
	const struct scan_opts *o;
};

static int check_time(const struct scanner *s)
{
	if (s->o->stop && *s->o->stop)
		return -EINTR;
	if (s->o->deadline_ns && ms_now_ns() >= s->o->deadline_ns)
		return -ETIME;
	return 0;
}

/* One range through /proc/PID/mem, page by page where a read fails: zeros there. */
static int read_mem(struct scanner *s, uint64_t addr, char *buf, size_t len)
{
	if (s->mem_fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/mem", s->pid);
		s->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->mem_fd < 0)
			return errno == ENOENT ? -ESRCH : -errno;
	}
	while (len) {
		size_t n = len;
		ssize_t r;

		if (pread(s->mem_fd, buf, n, (off_t)addr) == (ssize_t)n)
			break;
		/* a page at a time from here: what cannot be read is zeros */
		n = PAGE - (addr & (PAGE - 1));
		if (n > len)
			n = len;
		r = pread(s->mem_fd, buf, n, (off_t)addr);
		if (r < 0 && errno == ESRCH)
			return -ESRCH;
		if (r != (ssize_t)n)
			memset(buf + (r > 0 ? r : 0), 0, n - (size_t)(r > 0 ? r : 0));
		addr += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* The ranges v[0..n), whole: process_vm_readv, /proc/PID/mem for what it could not read. */
static int read_ranges(void *ctx, struct reach_read *v, size_t n)
{
	struct scanner *s = ctx;
	struct iovec local[IOV_BATCH], remote[IOV_BATCH];
	size_t i = 0;
	int err = check_time(s);

	while (!err && i < n) {
		size_t k, m = n - i < IOV_BATCH ? n - i : IOV_BATCH;
		ssize_t got = -1;

		for (k = 0; k < m; k++) {
			local[k] = (struct iovec){ v[i + k].buf, v[i + k].len };
			remote[k] = (struct iovec){ (void *)(uintptr_t)v[i + k].addr, v[i + k].len };
		}
		if (!s->no_vm_readv) {
			got = process_vm_readv(s->pid, local, m, remote, m, 0);
			if (got < 0 && errno == ESRCH)
				return -ESRCH;
			if (got < 0 && (errno == ENOSYS || errno == EPERM))
				s->no_vm_readv = true;
		}
		if (got < 0)
			got = 0;
		/* the ranges read whole; the first one cut goes to /proc/PID/mem */
		for (k = 0; k < m && (size_t)got >= v[i + k].len; k++)
			got -= (ssize_t)v[i + k].len;
		if (k < m)
			err = read_mem(s, v[i + k].addr + (uint64_t)got, (char *)v[i + k].buf + got,
				       v[i + k].len - (size_t)got);
		i += k < m ? k + 1 : m;
	}
	for (size_t j = 0; !err && j < n; j++)
		s->bytes += v[j].len;
	return err;
}

/* ---- the roots ---- */

struct ranges {
	struct reach_read *v;
	size_t n, cap;
};

static void add_range(struct ranges *r, uint64_t start, uint64_t end)
{
	start = (start + 7) & ~7ull;
	end &= ~7ull;
	if (start >= end)
		return;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	r->v[r->n++] = (struct reach_read){ .addr = start, .len = end - start };
}

/* Whether a mapping is root memory to read. */
static bool is_root_mapping(const struct procmap *m)
{
	if (m->perms[0] != 'r' || m->perms[1] != 'w')
		return false;
	if (!strcmp(m->path, "[vvar]") || !strcmp(m->path, "[vsyscall]") ||
	    !strncmp(m->path, "[vvar", 5))
		return false;
	/* a device's memory may have side effects when read */
	if (!strncmp(m->path, "/dev/", 5) && strncmp(m->path, "/dev/zero", 9) &&
	    strncmp(m->path, "/dev/shm/", 9))
		return false;
	return true;
}

/* pagemap: the page is in memory, or swapped out */
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_BATCH 4096

/*
 * [start, end) less the pages never touched (pagemap_fd < 0: all of it):
 * they hold zeros, and reading them would map zero pages into the target
 * (an untouched 8 MiB thread stack cost ~20 ms here).
 */
static void add_touched(struct ranges *out, int pagemap_fd, uint64_t start, uint64_t end)
{
	uint64_t e[PM_BATCH], page = start & ~(PAGE - 1), run = 0;
	bool in_run = false;

	if (pagemap_fd < 0) {
		add_range(out, start, end);
		return;
	}
	while (page < end) {
		size_t n = (size_t)((end - page + PAGE - 1) / PAGE);
		ssize_t got;

		if (n > PM_BATCH)
			n = PM_BATCH;
		got = pread(pagemap_fd, e, n * 8, (off_t)(page / PAGE * 8));
		if (got != (ssize_t)(n * 8)) {
			/* unreadable: the rest whole, as without pagemap */
			add_range(out, in_run ? run : (page > start ? page : start), end);
			return;
		}
		for (size_t k = 0; k < n; k++, page += PAGE) {
			bool touched = e[k] & (PM_PRESENT | PM_SWAPPED);

			if (touched && !in_run) {
				run = page > start ? page : start;
				in_run = true;
			} else if (!touched && in_run) {
				add_range(out, run, page);
				in_run = false;
			}
		}
	}
	if (in_run)
		add_range(out, run, end);
}

/* The lowest stack pointer of a stopped thread inside [start, end), or 0. */
static uint64_t stack_pointer_in(const uint64_t *sps, size_t n, uint64_t start, uint64_t end)
{
	uint64_t sp = 0;

	for (size_t i = 0; i < n; i++)
		if (sps[i] >= start && sps[i] < end && (!sp || sps[i] < sp))
			sp = sps[i];
	return sp;
}

/*
 * The root ranges of the target's mappings: read whole, the traced blocks
 * in them included (reach__roots_at() skips their words): one range for a
 * heap, not one per gap between blocks (100 k blocks: 100 k ranges).
 */
static int root_ranges(struct scanner *s, const uint64_t *sps, size_t nsps, struct ranges *out)
{
	int pid = s->pid, err = 0;
	struct procmaps *pm = procmaps__new(pid);
	struct procmap *m = NULL;
	char path[64];
	int pagemap_fd;
	ssize_t n;

	if (!pm)
		return errno == ENOENT ? -ESRCH : -errno;
	n = procmaps__read_all(pm, &m);
	procmaps__free(pm);
	if (n < 0)
		return (int)n;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	for (ssize_t i = 0; !err && i < n; i++) {
		uint64_t start = m[i].start, sp;

		/* pagemap: 32 KiB of it for each GiB of a mapping */
		err = check_time(s);
		if (err || !is_root_mapping(&m[i]))
			continue;
		/* a stack in use: its dead frames below the stack pointer hold stale values */
		sp = stack_pointer_in(sps, nsps, m[i].start, m[i].end);
		if (sp && sp - RED_ZONE > start)
			start = sp - RED_ZONE;
		add_touched(out, pagemap_fd, start, m[i].end);
	}
	if (pagemap_fd >= 0)
		close(pagemap_fd);
	free(m);
	return err;
}

/* Reads the root ranges in batches and hands their words to the classifier. */
static int scan_roots(struct scanner *s, struct reach *r, struct ranges *rg)
{
	uint64_t *buf = xmalloc(ROOT_BATCH_BYTES);
	struct reach_read batch[ROOT_BATCH_RANGES];
	size_t i = 0, off = 0;
	int err = 0;

	while (!err && i < rg->n) {
		size_t nb = 0, used = 0;

		while (i < rg->n && nb < ROOT_BATCH_RANGES && used < ROOT_BATCH_BYTES) {
			size_t len = rg->v[i].len - off;

			if (len > ROOT_BATCH_BYTES - used)
				len = ROOT_BATCH_BYTES - used;
			batch[nb++] = (struct reach_read){ .addr = rg->v[i].addr + off,
							   .buf = (char *)buf + used, .len = len };
			used += len;
			off += len;
			if (off == rg->v[i].len) {
				i++;
				off = 0;
			}
		}
		err = read_ranges(s, batch, nb);
		for (size_t k = 0; !err && k < nb; k++)
			reach__roots_at(r, batch[k].addr, batch[k].buf, batch[k].len / 8);
	}
	free(buf);
	return err;
}

/* Each stopped thread's registers as roots; their stack pointers into sps. */
static void scan_registers(const struct scan_threads *t, struct reach *r, uint64_t *sps,
			   size_t *nsps)
{
	*nsps = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct user_regs_struct regs;

		if (ptrace(PTRACE_GETREGS, t->tids[i], 0, &regs) < 0)
			continue;
		reach__roots(r, (const uint64_t *)&regs, sizeof(regs) / 8);
		sps[(*nsps)++] = regs.rsp;
	}
}

/* Size words are read in spans of the heap, not a range per block. */
#define LINK_SPAN_BYTES (1u << 20)
#define LINK_GAP_BYTES (64u << 10)

static int by_block_ptr(const void *a, const void *b)
{
	const struct reach_block *x = a, *y = b;

	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

/* Block b's link from its chunk's size word (see chunk_links()). */
static void set_link(struct reach_block *b, uint64_t size_word)
{
	uint64_t chunk = size_word & ~7ull, next = b->ptr - 16 + chunk;

	if (!(b->ptr & 15) && chunk >= b->size + 8 && chunk <= b->size + 8 + 32 &&
	    next >= b->ptr && next < b->ptr + b->size)
		b->link = next;
}

/* Sorted in runs of this many blocks, then merged: the deadline is checked between. */
#define SORT_RUN 4096

/*
 * v by address, the deadline checked every SORT_RUN blocks sorted or merged
 * (one qsort of 1 M blocks took ~0.2 s here under load: past a small cap).
 */
static int sort_blocks(struct scanner *s, struct reach_block *v, size_t n)
{
	struct reach_block *tmp, *from = v, *to;
	int err = 0;

	for (size_t i = 0; !err && i < n; i += SORT_RUN) {
		qsort(v + i, n - i < SORT_RUN ? n - i : SORT_RUN, sizeof(*v), by_block_ptr);
		err = check_time(s);
	}
	if (err || n <= SORT_RUN)
		return err;
	tmp = xmalloc(n * sizeof(*tmp));
	to = tmp;
	for (size_t w = SORT_RUN; !err && w < n; w *= 2) {
		size_t k = 0, since = 0;

		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t a = lo, am = lo + w < n ? lo + w : n, b = am;
			size_t bm = lo + 2 * w < n ? lo + 2 * w : n;

			while (a < am || b < bm) {
				to[k++] = b >= bm || (a < am && from[a].ptr <= from[b].ptr) ? from[a++]
											    : from[b++];
				if (++since == SORT_RUN) {
					since = 0;
					if ((err = check_time(s)))
						break;
				}
			}
			if (err)
				break;
		}
		from = to;
		to = from == tmp ? v : tmp;
	}
	if (!err && from != v)
		memcpy(v, from, n * sizeof(*v));
	free(tmp);
	return err;
}

/*
 * glibc's link into each block: the next chunk's header, at the block's
 * start - 16 + its chunk size (the word before the block, less its flag
 * bits), when that lies inside the block (docs/findings.md "Reachability").
 * A size word that is no glibc chunk's (another allocator) is left alone.
 * v is sorted by address here, and the words before the blocks are read
 * in spans of up to LINK_SPAN_BYTES over blocks less than LINK_GAP_BYTES
 * apart, a few spans a call.  Measured on this 2-vCPU VM under load
 * (300 k blocks of 100 bytes): one 8-byte range per block, 1024 a call,
 * 175-185 ms; the same 32 MiB of heap in 1 MiB spans into one buffer, 33 ms.
 */
static int chunk_links(struct scanner *s, struct reach_block *v, size_t n)
{
	struct reach_read rd[ROOT_BATCH_RANGES];
	size_t first[ROOT_BATCH_RANGES + 1];
	uint64_t *buf = xmalloc(ROOT_BATCH_BYTES);
	size_t i = 0;
	int err = 0;

	err = sort_blocks(s, v, n);
	while (!err && i < n) {
		size_t nr = 0, used = 0;

		/* spans of blocks, [ptr - 8 of the first, ptr of the last) */
		while (i < n && nr < ROOT_BATCH_RANGES && used + LINK_SPAN_BYTES <= ROOT_BATCH_BYTES) {
			uint64_t start = (v[i].ptr - 8) & ~7ull, end = start + 8;
			size_t k = i + 1;

			while (k < n && v[k].ptr - v[k - 1].ptr <= LINK_GAP_BYTES &&
			       v[k].ptr - start <= LINK_SPAN_BYTES)
				k++;
			end = (v[k - 1].ptr & ~7ull) > end ? (v[k - 1].ptr & ~7ull) : end;
			rd[nr] = (struct reach_read){ .addr = start, .buf = (char *)buf + used,
						      .len = end - start };
			first[nr++] = i;
			used += end - start;
			i = k;
		}
		first[nr] = i;
		err = read_ranges(s, rd, nr);
		for (size_t r = 0; !err && r < nr; r++)
			for (size_t k = first[r]; k < first[r + 1]; k++) {
				uint64_t at = (v[k].ptr - 8) & ~7ull;

				if (at >= rd[r].addr && at + 8 <= rd[r].addr + rd[r].len)
					set_link(&v[k], *(uint64_t *)((char *)rd[r].buf +
								     (at - rd[r].addr)));
			}
	}
	free(buf);
	return err;
}

static int blocks_of(struct scanner *s, const struct live_table *live, struct reach **out)
{
	size_t n = live_table__count(live), k = 0, it = 0;
	struct reach_block *v = xmalloc((n ? n : 1) * sizeof(*v));
	const struct live_block *b;
	int err;

	err = check_time(s);
	while (!err && (b = live_table__next(live, &it)) && k < n) {
		v[k++] = (struct reach_block){ .ptr = b->ptr, .size = b->size };
		if (!(k % SORT_RUN))
			err = check_time(s);
	}
	if (!err)
		err = chunk_links(s, v, k);
	/* the size words read are not the target's memory scanned */
	s->bytes = 0;
	/* stopped: nothing to classify (and no unsorted blocks to sort) */
	*out = reach__new(v, err ? 0 : k);
	free(v);
	return err;
}

static void take_marks(const struct reach *r, struct reach_result *out)
{
	out->nmarks = reach__count(r);
	out->marks = xmalloc((out->nmarks ? out->nmarks : 1) * sizeof(*out->marks));
	for (size_t i = 0; i < out->nmarks; i++)
		out->marks[i] = (struct reach_mark){ .ptr = reach__block(r, i)->ptr,
						     .cls = (uint8_t)reach__class(r, i) };
}

int scan__run(const struct scan_threads *t, const struct live_table *live,
	      const struct scan_opts *o, struct reach_result *out)
{
	struct scanner s = { .pid = t->pid, .mem_fd = -1, .o = o };
	uint64_t *sps = xcalloc(t->n ? t->n : 1, sizeof(*sps));
	struct ranges rg = { 0 };
	struct reach *r;
	size_t nsps = 0;
	int err;

	memset(out, 0, sizeof(*out));
	err = blocks_of(&s, live, &r);
	if (!err)
		scan_registers(t, r, sps, &nsps);
	if (!err)
		err = root_ranges(&s, sps, nsps, &rg);
	if (!err)
		err = scan_roots(&s, r, &rg);
	if (!err)
		err = reach__finish(r, read_ranges, &s);
	out->bytes = s.bytes;
	if (!err) {
		out->status = SCAN_DONE;
		take_marks(r, out);
	} else {
		out->status = err == -ETIME || err == -EINTR ? SCAN_STOPPED : SCAN_FAILED;
	}
	if (s.mem_fd >= 0)
		close(s.mem_fd);
	free(rg.v);
	free(sps);
	reach__free(r);
	return err;
}
