/* SPDX-License-Identifier: MIT */
/*
 * Names of the target's threads: the name a thread had at its first
 * allocator call (sent by BPF, so even a thread that lived for a
 * microsecond has one), then the names the session reads from
 * /proc/PID/task/TID/comm while the target lives (threads often name
 * themselves after their first malloc).
 * Names are untrusted and kept as read (at most 15 bytes, the kernel's limit).
 */
#ifndef MS_THREAD_NAMES_H
#define MS_THREAD_NAMES_H

#include <stddef.h>
#include <stdint.h>

struct thread_names;

struct thread_names *thread_names__new(void);
void thread_names__free(struct thread_names *tn);
/* Records tid's name (the last one set or read wins). */
void thread_names__set(struct thread_names *tn, uint32_t tid, const char *name);
/* The known threads: 0..count-1, in the order they were first named. */
size_t thread_names__count(const struct thread_names *tn);
uint32_t thread_names__tid(const struct thread_names *tn, size_t i);
/* Name of tid, or NULL when none is known. */
const char *thread_names__get(const struct thread_names *tn, uint32_t tid);

#endif
