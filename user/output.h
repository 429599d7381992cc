/* SPDX-License-Identifier: MIT */
/*
 * Report outputs, checked and opened before tracing starts so that a path
 * that cannot be written fails at once.  How a path is written depends on
 * what it names (docs/report-format.md "Where reports go"):
 *  - a regular file or a new path: whole or not at all, through a temporary
 *    file beside it renamed into place when the report is complete (unnamed,
 *    O_TMPFILE, until then where the filesystem has it: a killed tracer
 *    leaves nothing); at the rename a path that is no longer a regular file
 *    or absent is left alone and the report stays in the temporary file;
 *  - "-", /dev/stdout, /dev/stderr, /dev/fd/N: that descriptor, as it is;
 *  - a character device or a FIFO: opened for writing in place, never
 *    created, truncated or replaced;
 *  - a directory, symbolic link, block device or socket: refused.
 */
#ifndef MS_OUTPUT_H
#define MS_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

enum output_how {
	OUTPUT_REPLACE, /* regular file or new path: temporary file, renamed */
	OUTPUT_STREAM,  /* character device or FIFO: written in place */
	OUTPUT_FD,      /* an inherited descriptor: written as it is */
	OUTPUT_REFUSE,
};

struct output_plan {
	enum output_how how;
	int fd;          /* OUTPUT_FD: which */
	int err;         /* OUTPUT_REFUSE: positive errno, or 0 with why */
	const char *why; /* OUTPUT_REFUSE: the reason when err is 0 */
};

struct output {
	FILE *f;
	enum output_how how;
	int fd;
	int werr; /* first write error (positive errno) */
	char *path;
	char *tmp;  /* the temporary file's name; NULL while unnamed (O_TMPFILE) */
	bool kept;  /* the report stays in tmp: the path became something else */
};

/* How path is written, from lstat()'s answer (st NULL: no such entry). */
struct output_plan output__plan(const char *path, const struct stat *st);
/* 0 or negative errno (message printed). */
int output__open(struct output *o, const char *path);
/*
 * Flushes; a file is synced and renamed into place.  0 or negative errno
 * (message printed); -EEXIST when the path became a directory, symbolic
 * link, device, FIFO or socket while the report was written: it is left
 * alone and the report stays in the temporary file the message names.
 */
/* The first write error the output met (-errno), 0 when none: what a renderer's -EIO was. */
int output__write_error(const struct output *o);
int output__commit(struct output *o);
/*
 * For a file written as it grows (a capture: what was written must survive
 * a killed tracer): the same checks, then a regular file or new path is
 * opened in place (created or truncated, never through a symbolic link).
 * An fd, or negative errno (message printed).
 */
int output__open_in_place(const char *path);
/* Removes a temporary file (never the path itself); safe on an unopened or committed output. */
void output__abort(struct output *o);

/* Tests: false makes the next opens use a named temporary file, as without O_TMPFILE. */
void output__use_tmpfile(bool on);

#endif
