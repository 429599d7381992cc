// SPDX-License-Identifier: MIT
/*
 * procmaps__parse() on the input as the text of a /proc/PID/maps file: the
 * one parser of the maps (user/record/procmaps.c) that discover.c, unwind.c
 * and symbolize.c read them through.
 */
#include "fuzz.h"
#include "procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	size_t lines = 1;
	struct procmap *v;
	ssize_t n;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	n = procmaps__parse(text, &v);
	if (n < 0 || (size_t)n > lines)
		fuzz_fail("procmaps__parse returned %zd for %zu lines", n, lines);
	for (ssize_t i = 0; i < n; i++) {
		const struct procmap *m = &v[i];

		if (strnlen(m->perms, sizeof(m->perms)) >= sizeof(m->perms))
			fuzz_fail("perms not terminated");
		if (m->path[0] != '/' || !m->ino)
			fuzz_fail("a file mapping without an inode or a path from '/'");
		if (strchr(m->path, '\n'))
			fuzz_fail("a path with its newline");
		/* the paths follow the array, in order, in the same allocation */
		if (m->path < (const char *)(v + n) ||
		    (i && m->path != v[i - 1].path + strlen(v[i - 1].path) + 1))
			fuzz_fail("path outside the array's allocation");
	}
	free(v);
	free(text);
	return 0;
}
