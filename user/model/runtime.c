// SPDX-License-Identifier: MIT
#include <string.h>

#include "memscope_events.h"
#include "runtime.h"
#include "symbolize.h"

/*
 * Whether module (a path as in the target's maps) is an allocator object.
 * By file name: a launched target's objects were found before its maps
 * existed, by a path that may go through a symlink (/lib -> usr/lib).
 */
static bool allocator_object(const struct alloc_objects *objs, const char *module)
{
	const char *name = module ? strrchr(module, '/') : NULL;

	for (size_t i = 0; name && i < objs->n; i++) {
		const char *own = strrchr(objs->v[i].path, '/');

		if (objs->v[i].nsyms && own && !strcmp(own, name))
			return true;
	}
	return false;
}

/*
 * glibc's thread-exit flush of a thread's tcache (tcache_thread_shutdown,
 * inlined into __malloc_arena_thread_freeres) frees blocks the program had
 * already freed.  Named through the symbolizer when libc has its debug
 * symbols (libc6-dbg); without them, a release the allocator's own code
 * makes while the thread exits (MS_EVF_EXITING: past __call_tls_dtors).
 */
bool runtime__internal_release(void *ctx, const struct free_call *fc)
{
	const struct runtime_ctx *rt = ctx;
	const struct sym_frame *f;
	size_t n;

	if (!fc->caller) /* --no-stacks: releases come without their caller */
		return fc->flags & MS_EVF_EXITING;
	if (!rt->sym)
		return false;
	symbolizer__symbolize(rt->sym, fc->caller, &f, &n);
	for (size_t i = 0; i < n; i++)
		if (f[i].function && (!strcmp(f[i].function, "tcache_thread_shutdown") ||
				      !strcmp(f[i].function, "__malloc_arena_thread_freeres")))
			return true;
	return (fc->flags & MS_EVF_EXITING) && n && allocator_object(rt->objs, f[n - 1].module);
}
