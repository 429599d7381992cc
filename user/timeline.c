// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "timeline.h"
#include "util.h"

struct timeline {
	int statm_fd;
	uint64_t interval_ns;
	uint64_t page_size;
	uint64_t last_ns;
	uint64_t last_allocs;
	uint64_t last_frees;
	struct timeline_sample *v;
	size_t n, cap;
};

struct timeline *timeline__new(int pid, uint64_t interval_ns)
{
	struct timeline *tl = xcalloc(1, sizeof(*tl));
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	tl->statm_fd = open(path, O_RDONLY | O_CLOEXEC);
	tl->interval_ns = interval_ns;
	tl->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	return tl;
}

void timeline__free(struct timeline *tl)
{
	if (!tl)
		return;
	if (tl->statm_fd >= 0)
		close(tl->statm_fd);
	free(tl->v);
	free(tl);
}

void timeline__target_gone(struct timeline *tl)
{
	if (tl->statm_fd >= 0)
		close(tl->statm_fd);
	tl->statm_fd = -1;
}

static uint64_t read_rss(struct timeline *tl)
{
	unsigned long long size, resident;
	char buf[128];
	ssize_t n;

	if (tl->statm_fd < 0)
		return TIMELINE_NO_RSS;
	n = pread(tl->statm_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return TIMELINE_NO_RSS;
	buf[n] = 0;
	/* a gone process reads as all zeros */
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2 || size == 0)
		return TIMELINE_NO_RSS;
	return resident * tl->page_size;
}

void timeline__tick(struct timeline *tl, const struct heap_totals *t, uint64_t now_ns,
		    bool force)
{
	struct timeline_sample *s;
	uint64_t frees = t->frees + t->unknown_frees;

	if (!force && tl->n && now_ns - tl->last_ns < tl->interval_ns)
		return;
	if (tl->n == tl->cap) {
		tl->cap = tl->cap ? tl->cap * 2 : 256;
		tl->v = xrealloc(tl->v, tl->cap * sizeof(*tl->v));
	}
	s = &tl->v[tl->n++];
	s->t_ns = now_ns;
	s->live_bytes = t->live_bytes;
	s->allocations = t->allocations - tl->last_allocs;
	s->frees = frees - tl->last_frees;
	s->rss_bytes = read_rss(tl);
	tl->last_ns = now_ns;
	tl->last_allocs = t->allocations;
	tl->last_frees = frees;
}

const struct timeline_sample *timeline__samples(const struct timeline *tl, size_t *n)
{
	*n = tl->n;
	return tl->v;
}

uint64_t timeline__interval_ns(const struct timeline *tl)
{
	return tl->interval_ns;
}
