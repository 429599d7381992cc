// SPDX-License-Identifier: MIT
/* How each kind of output path is written: the decision alone (output__plan). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "output.h"

static struct output_plan plan(const char *path, mode_t type)
{
	struct stat st = { .st_mode = type | 0644 };

	return output__plan(path, type ? &st : NULL);
}

static void test_output__regular_file_and_new_path_are_replaced_whole(void **state)
{
	assert_int_equal(plan("out.json", S_IFREG).how, OUTPUT_REPLACE);
	assert_int_equal(plan("out.json", 0).how, OUTPUT_REPLACE);
}

static void test_output__devices_and_fifos_are_streamed_in_place(void **state)
{
	assert_int_equal(plan("/dev/full", S_IFCHR).how, OUTPUT_STREAM);
	assert_int_equal(plan("p.fifo", S_IFIFO).how, OUTPUT_STREAM);
}

static void test_output__stdout_names_are_their_descriptor_never_the_path(void **state)
{
	/* a symlink by lstat, yet written through fd 1: never refused, never replaced */
	struct output_plan p = plan("/dev/stdout", S_IFLNK);

	assert_int_equal(p.how, OUTPUT_FD);
	assert_int_equal(p.fd, 1);
	assert_int_equal(plan("-", 0).fd, 1);
	assert_int_equal(plan("/dev/stderr", S_IFLNK).fd, 2);
	assert_int_equal(plan("/dev/fd/7", S_IFLNK).fd, 7);
	assert_int_equal(plan("/proc/self/fd/3", S_IFLNK).fd, 3);
	assert_int_equal(plan("/dev/fd/x", 0).how, OUTPUT_REPLACE);
}

static void test_output__directory_symlink_block_device_socket_are_refused(void **state)
{
	assert_int_equal(plan("d", S_IFDIR).how, OUTPUT_REFUSE);
	assert_int_equal(plan("d", S_IFDIR).err, EISDIR);
	assert_int_equal(plan("/tmp/r.json", S_IFLNK).how, OUTPUT_REFUSE);
	assert_non_null(strstr(plan("/tmp/r.json", S_IFLNK).why, "symbolic link"));
	assert_int_equal(plan("/dev/sda", S_IFBLK).how, OUTPUT_REFUSE);
	assert_int_equal(plan("s", S_IFSOCK).how, OUTPUT_REFUSE);
	assert_int_equal(plan("dir/", 0).how, OUTPUT_REFUSE);
	assert_int_equal(plan("", 0).how, OUTPUT_REFUSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output__regular_file_and_new_path_are_replaced_whole),
		cmocka_unit_test(test_output__devices_and_fifos_are_streamed_in_place),
		cmocka_unit_test(test_output__stdout_names_are_their_descriptor_never_the_path),
		cmocka_unit_test(test_output__directory_symlink_block_device_socket_are_refused),
	};

	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
