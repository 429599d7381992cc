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
	int pid;
	struct thread_name *v;
	size_t n, cap;
};

struct thread_names *thread_names__new(int pid)
{
	struct thread_names *tn = xcalloc(1, sizeof(*tn));

	tn->pid = pid;
	return tn;
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

void thread_names__refresh(struct thread_names *tn)
{
	for (size_t i = 0; i < tn->n; i++) {
		char path[64], name[sizeof(tn->v[i].name)];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%u/comm", tn->pid, tn->v[i].tid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f)) {
			name[strcspn(name, "\n")] = 0;
			snprintf(tn->v[i].name, sizeof(tn->v[i].name), "%s", name);
		}
		fclose(f);
	}
}

const char *thread_names__get(const struct thread_names *tn, uint32_t tid)
{
	const struct thread_name *t = find(tn, tid);

	return t ? t->name : NULL;
}
