// SPDX-License-Identifier: MIT
/* ms_maps_parse(): lines of /proc/PID/maps, the one parser discover.c, symbolize.c and unwind.c share */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static void test_maps__file_backed_line(void **state)
{
	char line[] = "7f2a1c028000-7f2a1c1bd000 r-xp 00028000 fe:01 1835117    "
		      "/usr/lib/x86_64-linux-gnu/libc.so.6\n";
	struct ms_maps_line m;

	assert_int_equal(ms_maps_parse(line, &m), 1);
	assert_int_equal(m.start, 0x7f2a1c028000ull);
	assert_int_equal(m.end, 0x7f2a1c1bd000ull);
	assert_string_equal(m.perms, "r-xp");
	assert_int_equal(m.offset, 0x28000);
	assert_int_equal(m.dev_major, 0xfe);
	assert_int_equal(m.dev_minor, 1);
	assert_int_equal(m.ino, 1835117);
	/* the newline is cut */
	assert_string_equal(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

static void test_maps__paths_keep_spaces_and_the_deleted_mark(void **state)
{
	char line[] = "55d0c0a00000-55d0c0a01000 r--p 00000000 08:02 42 /tmp/my prog (deleted)\n";
	struct ms_maps_line m;

	assert_int_equal(ms_maps_parse(line, &m), 1);
	assert_string_equal(m.path, "/tmp/my prog (deleted)");
}

static void test_maps__anonymous_and_special_lines_are_not_files(void **state)
{
	char anon[] = "7f2a1c000000-7f2a1c021000 rw-p 00000000 00:00 0 \n";
	char heap[] = "55d0c1a00000-55d0c1a21000 rw-p 00000000 00:00 0          [heap]\n";
	char vdso[] = "7ffd2b1f0000-7ffd2b1f2000 r-xp 00000000 00:00 0          [vdso]";
	/* a memfd's name starts with '/': it counts as a file (callers open it through map_files) */
	char memfd[] = "7f2a1d000000-7f2a1d001000 r-xp 00000000 00:01 2050 /memfd:jit (deleted)\n";
	struct ms_maps_line m;

	assert_int_equal(ms_maps_parse(anon, &m), 0);
	assert_string_equal(m.path, "");
	assert_int_equal(ms_maps_parse(heap, &m), 0);
	assert_string_equal(m.path, "[heap]");
	assert_int_equal(ms_maps_parse(vdso, &m), 0);
	assert_string_equal(m.perms, "r-xp");
	assert_int_equal(ms_maps_parse(memfd, &m), 1);
	assert_string_equal(m.path, "/memfd:jit (deleted)");
}

static void test_maps__malformed_lines_are_refused(void **state)
{
	char empty[] = "";
	char short_line[] = "7f2a1c028000-7f2a1c1bd000 r-xp 00028000\n";
	char junk[] = "not a maps line at all\n";
	struct ms_maps_line m;

	assert_int_equal(ms_maps_parse(empty, &m), -EINVAL);
	assert_int_equal(ms_maps_parse(short_line, &m), -EINVAL);
	assert_int_equal(ms_maps_parse(junk, &m), -EINVAL);
	assert_string_equal(m.path, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps__file_backed_line),
		cmocka_unit_test(test_maps__paths_keep_spaces_and_the_deleted_mark),
		cmocka_unit_test(test_maps__anonymous_and_special_lines_are_not_files),
		cmocka_unit_test(test_maps__malformed_lines_are_refused),
	};

	return cmocka_run_group_tests_name("maps", tests, NULL, NULL);
}
