/* SPDX-License-Identifier: MIT */
/*
 * A process's file mappings: the one reader of /proc/PID/maps and the one
 * way to open the files a process maps, for everyone (discover.c, unwind.c,
 * symbolize.c).
 *
 * procmaps__new() holds /proc/PID open as a directory: once the process is
 * reaped that handle goes stale, so a reused pid is never read through it.
 * procmaps__read() gives the file-backed mappings in the kernel's order
 * (anonymous ones and [heap], [vdso], ... left out) as one allocation the
 * caller free()s, paths included.  Paths come from the target: untrusted,
 * as the kernel prints them (spaces kept, " (deleted)" kept).
 *
 * Errors are negative errno: -ESRCH when the process is gone (no /proc
 * entry, or empty maps: a zombie's), -ESTALE when a path names another file
 * than the one mapped.  Nothing is printed.
 */
#ifndef MS_PROCMAPS_H
#define MS_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One file-backed line of /proc/PID/maps. */
struct procmap {
	uint64_t start, end, offset, ino;
	unsigned int dev_major, dev_minor; /* as the maps print them */
	char perms[5];                     /* "r-xp" */
	const char *path;                  /* from '/'; in the same allocation as the array */
};

struct procmaps;

/* /proc/PID opened.  NULL with errno set (ENOENT: no such process). */
struct procmaps *procmaps__new(int pid);
void procmaps__free(struct procmaps *p);

/* The file mappings into *out (the caller frees it); their number, or negative errno. */
ssize_t procmaps__read(const struct procmaps *p, struct procmap **out);
/*
 * Every mapping, anonymous ones and [heap], [stack], [vdso], ... included
 * (path "" or the kernel's bracketed name; ino 0), for the reachability
 * scan (scan.c).  Like procmaps__read() otherwise.
 */
ssize_t procmaps__read_all(const struct procmaps *p, struct procmap **out);

enum procmaps_open_flags {
	/*
	 * When map_files cannot be opened (it needs CAP_SYS_ADMIN or
	 * CAP_CHECKPOINT_RESTORE), the path under the process's root, checked
	 * to be the mapped inode: the path may name a newer file (an upgrade).
	 */
	PROCMAPS_OPEN_ROOT = 1 << 0,
	/* check the inode of a file opened through map_files too */
	PROCMAPS_OPEN_CHECK_INODE = 1 << 1,
};

/*
 * Opens the file of mapping m read-only, through map_files/START-END: it
 * reaches deleted files and other mount namespaces.  An fd, or negative errno.
 */
int procmaps__open(const struct procmaps *p, const struct procmap *m, unsigned flags);

/* The names of m's file that any process can open (the kernel's uprobe
 * attach takes a path): /proc/PID/map_files/START-END and /proc/PID/root/PATH.
 * Written into buf, cut to len. */
void procmaps__map_files_path(const struct procmaps *p, const struct procmap *m, char *buf,
			      size_t len);
void procmaps__root_path(const struct procmaps *p, const struct procmap *m, char *buf,
			 size_t len);

/*
 * The file mappings of the text of a maps file into *out (the caller frees
 * it; paths copied), changing text (lines cut).  Malformed lines are left
 * out.  Their number.  Pure; exposed for tests.
 */
ssize_t procmaps__parse(char *text, struct procmap **out);
/* Every mapping of the text, as procmaps__read_all() gives them. */
ssize_t procmaps__parse_all(char *text, struct procmap **out);

#endif
