/* SPDX-License-Identifier: MIT */
/*
 * Small helpers every stage uses: messages and verbosity.
 * Messages follow the house style: lowercase, subject quoted, no full stop.
 */
#ifndef MS_UTIL_H
#define MS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* 0 = errors and warnings only; each -v adds one; 3 adds libbpf's debug output */
extern int ms_verbose;

void ms_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ms_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* printed when ms_verbose >= level */
void ms_info(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* allocation that exits with a message on failure: the loader cannot go on */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/*
 * Zeroed memory for a large table probed at random: from MS_BIG_BYTES on,
 * its own mapping with huge pages asked for (madvise; without THP only the
 * speed is lost), else calloc.  Free with the same byte count.
 */
#define MS_BIG_BYTES (4u << 20)
void *ms_big_zalloc(size_t bytes);
void ms_big_free(void *p, size_t bytes);

/*
 * murmur3's 64-bit finalizer: spreads every input bit over the low bits a
 * power-of-two mask keeps (heap addresses are aligned and clustered, return
 * addresses too), for the loader's open-addressing tables.
 */
static inline uint64_t ms_hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/*
 * Length of the valid UTF-8 sequence at s (1 for ASCII, NUL included), or 0
 * when it is none: overlong forms, surrogates, past U+10FFFF, cut short.
 * For the writers of untrusted strings.
 */
int ms_utf8_len(const unsigned char *s);

/* CLOCK_MONOTONIC in ns, the clock bpf_ktime_get_ns() uses */
uint64_t ms_now_ns(void);
/* Whether process pid has exited: gone, or a zombie not reaped yet. */
bool ms_process_gone(int pid);

enum ms_proc_kind {
	MS_PROC_USER,    /* a process with a user-space address space */
	MS_PROC_KTHREAD, /* a kernel thread: no executable, no heap */
	MS_PROC_GONE,    /* exited: a zombie (Z) or dead (X), not reaped yet */
};

/*
 * What the text of /proc/PID/stat says the process is: the state after
 * the command name (which may hold spaces and parentheses), then PF_KTHREAD
 * in the flags field.  An exited process is MS_PROC_GONE whatever it was:
 * its executable is gone too, so it must not pass for a kernel thread.
 * -EINVAL when the text is malformed.
 */
int ms_proc_classify(const char *stat);
/* ms_proc_classify() of /proc/PID/stat; -errno when it cannot be read. */
int ms_proc_kind(int pid);

#endif
