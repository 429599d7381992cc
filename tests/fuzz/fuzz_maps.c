// SPDX-License-Identifier: MIT
/*
 * ms_maps_parse() on each line of the input, as the loader reads
 * /proc/PID/maps with getline() (discover.c, unwind.c).
 */
#include <errno.h>

#include "fuzz.h"
#include "util.h"

static void parse_line(const uint8_t *line, size_t len)
{
	char *s = fuzz_cstr(line, len);
	struct ms_maps_line m;
	int r = ms_maps_parse(s, &m);

	if (r != 0 && r != 1 && r != -EINVAL)
		fuzz_fail("ms_maps_parse returned %d", r);
	if (strnlen(m.perms, sizeof(m.perms)) >= sizeof(m.perms))
		fuzz_fail("perms not terminated");
	if (r >= 0) {
		/* the path lies in the line, its newline cut */
		if (m.path < s || m.path > s + len || strchr(m.path, '\n'))
			fuzz_fail("path outside the line or with its newline");
		if (r == 1 && (m.path[0] != '/' || !m.ino))
			fuzz_fail("a file mapping without an inode or a path from '/'");
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t start = 0;

	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n') {
			parse_line(data + start, i + 1 - start);
			start = i + 1;
		}
	}
	if (start < size)
		parse_line(data + start, size - start);
	return 0;
}
