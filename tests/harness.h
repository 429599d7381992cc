/* SPDX-License-Identifier: MIT */
/* What the end-to-end and browser tests share. */
#ifndef MS_TESTS_HARNESS_H
#define MS_TESTS_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

/* The whole file at path, NUL-terminated (the caller frees), or NULL. */
static inline char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	if (fread(buf, 1, n, f) != (size_t)n)
		n = 0;
	buf[n] = 0;
	fclose(f);
	return buf;
}

#endif
