// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thread_names.h"
#include "util.h"

struct thread_name {
	uint32_t tid;
	char name[16];
};

struct thread_names {
	struct thread_name *v;
	size_t n, cap;
};

struct thread_names *thread_names__new(void)
{
	return xcalloc(1, sizeof(struct thread_names));
}

void thread_names__free(struct thread_names *tn)
{
	if (!tn)
		return;
	free(tn->v);
	free(tn);
}

/* Threads are few (a linear scan per new thread or report line is fine). */
static struct thread_name *find(const struct thread_names *tn, uint32_t tid)
{
	for (size_t i = 0; i < tn->n; i++)
		if (tn->v[i].tid == tid)
			return &tn->v[i];
	return NULL;
}

void thread_names__set(struct thread_names *tn, uint32_t tid, const char *name)
{
	struct thread_name *t = find(tn, tid);

	if (!t) {
		if (tn->n == tn->cap) {
			tn->cap = tn->cap ? tn->cap * 2 : 16;
			tn->v = xrealloc(tn->v, tn->cap * sizeof(*tn->v));
		}
		t = &tn->v[tn->n++];
		t->tid = tid;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
}

size_t thread_names__count(const struct thread_names *tn)
{
	return tn->n;
}

uint32_t thread_names__tid(const struct thread_names *tn, size_t i)
{
	return tn->v[i].tid;
}

const char *thread_names__get(const struct thread_names *tn, uint32_t tid)
{
	const struct thread_name *t = find(tn, tid);

	return t ? t->name : NULL;
}
