/* SPDX-License-Identifier: MIT */
/*
 * Report files, written whole or not at all: opened (as a temporary file
 * beside the destination) before tracing starts, so an unwritable path fails
 * at once, and renamed into place only when the report is complete.
 */
#ifndef MS_OUTPUT_H
#define MS_OUTPUT_H

#include <stdio.h>

struct output {
	FILE *f;
	char *path;
	char *tmp;
};

/* 0 or negative errno (message printed). */
int output__open(struct output *o, const char *path);
/* Flushes, syncs and renames into place.  0 or negative errno (message printed). */
int output__commit(struct output *o);
/* Removes the temporary file; safe on an unopened or committed output. */
void output__abort(struct output *o);

#endif
