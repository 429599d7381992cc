/* SPDX-License-Identifier: MIT */
/*
 * memscope.h: optional annotations for memscope-bpf.  Header-only, C99 and
 * C++; nothing to link.  See docs/annotations.md.
 *
 *   MEMSCOPE_TRACK(ptr, name)              name the heap block ptr points into
 *   MEMSCOPE_TRACK_TYPED(ptr, name, type)  the same, with a type name
 *   MEMSCOPE_TRACK_VAR(var)                name the block pointer variable var
 *                                          points to "var"
 *   MEMSCOPE_SCOPE_BEGIN(name)             allocations this thread makes until
 *   MEMSCOPE_SCOPE_END()                   the matching END carry the innermost
 *                                          scope's name (scopes nest per thread)
 *
 * Each annotation is a USDT probe (sys/sdt.h) guarded by a semaphore that
 * the kernel raises only while memscope-bpf is attached: untraced, it costs
 * a load and a not-taken branch, and its arguments are not evaluated.
 * name and type are strings (literals or const char *); memscope-bpf reads
 * at most 63 and 31 bytes of them.
 *
 * Define MEMSCOPE_DISABLE before including this header to compile the
 * annotations out completely.  If sys/sdt.h was included before this header
 * without _SDT_HAS_SEMAPHORES, include this header first.
 */
#ifndef MEMSCOPE_H
#define MEMSCOPE_H

#if defined(MEMSCOPE_DISABLE) || !defined(__linux__)

#define MEMSCOPE_TRACK(ptr, name) ((void)0)
#define MEMSCOPE_TRACK_TYPED(ptr, name, type) ((void)0)
#define MEMSCOPE_TRACK_VAR(var) ((void)0)
#define MEMSCOPE_SCOPE_BEGIN(name) ((void)0)
#define MEMSCOPE_SCOPE_END() ((void)0)

#else

#ifndef _SDT_HAS_SEMAPHORES
#define _SDT_HAS_SEMAPHORES 1
#endif
#include <sys/sdt.h>

/*
 * One semaphore per probe name per translation unit (internal linkage, so
 * the header needs no .c file); each probe site's note names its own.  The
 * asm label keeps C++ from mangling the name the note refers to.
 */
#define MEMSCOPE__SEMAPHORE(name)                                               \
	static volatile unsigned short memscope_##name##_semaphore              \
		__asm__("memscope_" #name "_semaphore")                         \
		__attribute__((unused, section(".probes")))
MEMSCOPE__SEMAPHORE(track);
MEMSCOPE__SEMAPHORE(scope_begin);
MEMSCOPE__SEMAPHORE(scope_end);

#define MEMSCOPE__ACTIVE(name) __builtin_expect(memscope_##name##_semaphore != 0, 0)

#define MEMSCOPE__TRACK(ptr, name, type)                                        \
	do {                                                                    \
		if (MEMSCOPE__ACTIVE(track))                                     \
			STAP_PROBE5(memscope, track, (const void *)(ptr),        \
				    (const char *)(name), (const char *)(type),   \
				    (const char *)__FILE__, (int)__LINE__);       \
	} while (0)

#define MEMSCOPE_TRACK(ptr, name) MEMSCOPE__TRACK(ptr, name, 0)
#define MEMSCOPE_TRACK_TYPED(ptr, name, type) MEMSCOPE__TRACK(ptr, name, type)
#define MEMSCOPE_TRACK_VAR(var) MEMSCOPE__TRACK(var, #var, 0)

#define MEMSCOPE_SCOPE_BEGIN(name)                                              \
	do {                                                                    \
		if (MEMSCOPE__ACTIVE(scope_begin))                               \
			STAP_PROBE1(memscope, scope_begin, (const char *)(name)); \
	} while (0)

#define MEMSCOPE_SCOPE_END()                                                    \
	do {                                                                    \
		if (MEMSCOPE__ACTIVE(scope_end))                                 \
			STAP_PROBE(memscope, scope_end);                         \
	} while (0)

#endif /* MEMSCOPE_DISABLE */
#endif /* MEMSCOPE_H */
