/* SPDX-License-Identifier: MIT */
/*
 * Which objects the target uses that define allocator entry points, and
 * where to probe them.
 *
 *  - a running process: every file-backed object in /proc/PID/maps, read
 *    through /proc/PID/map_files (works across mount namespaces and for
 *    deleted files);
 *  - a program about to be launched: the executable and what its dynamic
 *    loader would load for it (`INTERP --list EXE`, honouring LD_PRELOAD and
 *    LD_LIBRARY_PATH as the launch will), or the executable alone when it is
 *    static.  Scripts resolve through their #! interpreter.
 */
#ifndef MS_DISCOVER_H
#define MS_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "alloc_syms.h"

struct alloc_object {
	char *path;        /* as the target names it */
	char *attach_path; /* the path to hand to the kernel */
	dev_t dev;
	ino_t ino;
	struct alloc_sym *syms;
	size_t nsyms;
	size_t nannotations; /* memscope USDT sites (include/memscope.h) */
	const char *kind;    /* alloc_syms__kind(): "glibc", "jemalloc", ...; NULL: none known */
};

struct alloc_objects {
	struct alloc_object *v;
	size_t n;
	/* the paths of the other objects found: unwinding needs their tables too */
	char **others;
	size_t nothers;
	/*
	 * The object whose malloc the process calls (index into v), -1 when
	 * none defines one: the first that defines malloc, in the order the
	 * dynamic loader searches (the executable, LD_PRELOAD, the libraries),
	 * glibc's last (an allocator that replaces malloc comes before it).
	 */
	ssize_t used;
	/* alloc_syms__mixed_families() over every object */
	uint64_t mixed_fns;
};

/* Files discovery has scanned, by device and inode (discover_opts.seen). */
struct discover_seen {
	struct { dev_t dev; ino_t ino; } *v;
	size_t n, cap;
};

void discover__free_seen(struct discover_seen *seen);

/* What discovery looks for beyond the standard names. */
struct discover_opts {
	const char *symbol_prefix;   /* --symbol-prefix: also PREFIXmalloc, PREFIXfree, ... */
	char *const *allocator_libs; /* --allocator-lib: probed whether mapped or not yet */
	size_t nallocator_libs;
	/*
	 * A program only: the environment it runs in (NULL: ours), whose
	 * LD_PRELOAD and LD_LIBRARY_PATH its loader honours (a traced process
	 * that execs, `env LD_PRELOAD=... prog`).
	 */
	char *const *envp;
	/* objects known already (by dev and inode): not scanned again, not returned; may be NULL */
	const struct alloc_objects *skip;
	/*
	 * A running process only: every file scanned before (allocator or not),
	 * not scanned again; those scanned now are added.  May be NULL.  Free
	 * with discover__free_seen().
	 */
	struct discover_seen *seen;
	bool quiet; /* a process gone or unreadable: no message (the caller expects it) */
};

/* 0 or negative errno (message printed).  Objects with neither allocator
 * symbols nor memscope annotations are left out. */
int discover__pid(int pid, struct alloc_objects *out);
int discover__program(const char *exe, struct alloc_objects *out);
/* The same with opts (NULL: none); an --allocator-lib that cannot be read is an error. */
int discover__pid_opts(int pid, const struct discover_opts *opts, struct alloc_objects *out);
int discover__program_opts(const char *exe, const struct discover_opts *opts,
			   struct alloc_objects *out);
/*
 * --all: the objects of every process running now but skip_pid (one pass
 * over /proc/PID/maps; each file scanned once), in *nprocs processes read.
 * A process gone or unreadable meanwhile is passed over.
 */
int discover__all(int skip_pid, const struct discover_opts *opts, struct alloc_objects *out,
		  size_t *nprocs);
/* The name of the allocator objs->used holds ("jemalloc", ...; "unknown"), NULL when none. */
const char *discover__allocator(const struct alloc_objects *objs);
void discover__free(struct alloc_objects *objs);

/* Number of USDT notes of provider in the ELF object open at fd. */
size_t discover__count_usdt(int fd, const char *provider);

/* Parses `ld.so --list` output: appends each absolute path found to *paths
 * (malloc'ed strings).  Pure; exposed for tests. */
int discover__parse_ldso_list(const char *text, char ***paths, size_t *n);

#endif
