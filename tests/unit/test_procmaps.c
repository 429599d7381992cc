// SPDX-License-Identifier: MIT
/*
 * procmaps: the one reader of /proc/PID/maps (discover.c, symbolize.c and
 * unwind.c read through it): the pure parser on tricky texts, then reading
 * and opening against this very test process.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "procmaps.h"

/* A test that cannot run says so loudly, and fails in CI. */
static void cannot_run(const char *why)
{
	const char *ci = getenv("CI");

	if (ci && !strcmp(ci, "true"))
		fail_msg("cannot run: %s", why);
	fprintf(stderr, "SKIPPED: %s\n", why);
	skip();
}

/* procmaps__parse() of a copy of text (it cuts the lines). */
static ssize_t parse(const char *text, struct procmap **v)
{
	char *copy = strdup(text);
	ssize_t n = procmaps__parse(copy, v);

	free(copy); /* the paths were copied out */
	return n;
}

static void test_procmaps__file_backed_line_has_every_field(void **state)
{
	struct procmap *v;

	assert_int_equal(parse("7f2a1c028000-7f2a1c1bd000 r-xp 00028000 fe:01 1835117    "
			       "/usr/lib/x86_64-linux-gnu/libc.so.6\n", &v), 1);
	assert_int_equal(v[0].start, 0x7f2a1c028000ull);
	assert_int_equal(v[0].end, 0x7f2a1c1bd000ull);
	assert_string_equal(v[0].perms, "r-xp");
	assert_int_equal(v[0].offset, 0x28000);
	assert_int_equal(v[0].dev_major, 0xfe);
	assert_int_equal(v[0].dev_minor, 1);
	assert_int_equal(v[0].ino, 1835117);
	/* the padding before the path and the newline after it are cut */
	assert_string_equal(v[0].path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	free(v);
}

static void test_procmaps__paths_keep_spaces_and_the_deleted_mark(void **state)
{
	struct procmap *v;

	assert_int_equal(parse("55d0c0a00000-55d0c0a01000 r--p 00000000 08:02 42 /tmp/my  prog (deleted)\n"
			       "55d0c0a01000-55d0c0a02000 r-xp 00001000 08:02 43 /tmp/trailing \n",
			       &v), 2);
	assert_string_equal(v[0].path, "/tmp/my  prog (deleted)");
	/* a name may end in a space: kept, the kernel prints it as it is */
	assert_string_equal(v[1].path, "/tmp/trailing ");
	free(v);
}

static void test_procmaps__read_all_keeps_anonymous_and_special_mappings(void **state)
{
	char text[] = "7f2a1c000000-7f2a1c021000 rw-p 00000000 00:00 0 \n"
		      "55d0c1a00000-55d0c1a21000 rw-p 00000000 00:00 0          [heap]\n"
		      "7f2a1c028000-7f2a1c1bd000 r-xp 00028000 fe:01 1835117    /lib/libc.so.6\n"
		      "garbage\n";
	struct procmap *v;

	assert_int_equal(procmaps__parse_all(text, &v), 3);
	assert_string_equal(v[0].path, "");
	assert_string_equal(v[0].perms, "rw-p");
	assert_string_equal(v[1].path, "[heap]");
	assert_int_equal(v[1].start, 0x55d0c1a00000ull);
	assert_string_equal(v[2].path, "/lib/libc.so.6");
	free(v);
}

static void test_procmaps__anonymous_and_special_mappings_are_left_out(void **state)
{
	struct procmap *v;

	assert_int_equal(parse("7f2a1c000000-7f2a1c021000 rw-p 00000000 00:00 0 \n"
			       "55d0c1a00000-55d0c1a21000 rw-p 00000000 00:00 0          [heap]\n"
			       "7ffd2b1f0000-7ffd2b1f2000 r-xp 00000000 00:00 0          [vdso]\n"
			       /* a memfd's name starts with '/': a file, reached through map_files */
			       "7f2a1d000000-7f2a1d001000 r-xp 00000000 00:01 2050 /memfd:jit (deleted)\n"
			       /* no inode: not a file whatever its name */
			       "7f2a1d001000-7f2a1d002000 r--p 00000000 00:00 0 /not/a/file\n",
			       &v), 1);
	assert_string_equal(v[0].path, "/memfd:jit (deleted)");
	assert_int_equal(v[0].dev_minor, 1);
	free(v);
}

static void test_procmaps__malformed_lines_are_left_out_and_the_rest_kept(void **state)
{
	struct procmap *v;

	assert_int_equal(parse("", &v), 0);
	free(v);
	assert_int_equal(parse("7f2a1c028000-7f2a1c1bd000 r-xp 00028000\n"
			       "not a maps line at all\n"
			       "\n"
			       "1000-2000 r-xp 00000000 08:01 7 /bin/a\n"
			       "zz-2000 r-xp 00000000 08:01 8 /bin/b\n"
			       /* the last line without its newline */
			       "3000-4000 r--p 00002000 08:01 9 /bin/c",
			       &v), 2);
	assert_string_equal(v[0].path, "/bin/a");
	assert_int_equal(v[1].start, 0x3000);
	assert_int_equal(v[1].offset, 0x2000);
	assert_string_equal(v[1].path, "/bin/c");
	free(v);
}

/* this test's own code: mapped executable, from its file */
static void test_procmaps__read_finds_this_process_code(void **state)
{
	struct procmaps *p = procmaps__new(getpid());
	uint64_t here = (uintptr_t)&test_procmaps__read_finds_this_process_code;
	struct procmap *v;
	struct stat st;
	ssize_t n, i;

	assert_non_null(p);
	n = procmaps__read(p, &v);
	assert_true(n > 3);
	for (i = 0; i < n; i++)
		if (here >= v[i].start && here < v[i].end)
			break;
	assert_true(i < n);
	assert_int_equal(v[i].perms[2], 'x');
	assert_int_equal(stat("/proc/self/exe", &st), 0);
	assert_int_equal(v[i].ino, st.st_ino);
	free(v);
	procmaps__free(p);
}

static void test_procmaps__a_process_that_is_not_there_is_gone(void **state)
{
	/* above the largest pid_max (2^22) */
	assert_null(procmaps__new(1 << 23));
	assert_int_equal(errno, ENOENT);
	procmaps__free(NULL);
}

/* The mapping of this test's code, from the maps. */
static struct procmap *own_code(struct procmaps *p, struct procmap **v)
{
	uint64_t here = (uintptr_t)&own_code;
	ssize_t n = procmaps__read(p, v);

	for (ssize_t i = 0; i < n; i++)
		if (here >= (*v)[i].start && here < (*v)[i].end)
			return &(*v)[i];
	fail_msg("no mapping holds this test's code");
	return NULL;
}

static void test_procmaps__open_reaches_the_mapped_file(void **state)
{
	struct procmaps *p = procmaps__new(getpid());
	struct procmap *v, *m = own_code(p, &v), other;
	struct stat st;
	int fd;

	fd = procmaps__open(p, m, PROCMAPS_OPEN_CHECK_INODE);
	if (fd == -EPERM || fd == -EACCES)
		cannot_run("opening /proc/PID/map_files needs CAP_SYS_ADMIN");
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_ino, m->ino);
	close(fd);

	/* no such mapping: map_files fails, the root's path is the fallback */
	other = *m;
	other.start = other.end = 0;
	assert_true(procmaps__open(p, &other, 0) < 0);
	fd = procmaps__open(p, &other, PROCMAPS_OPEN_ROOT);
	assert_true(fd >= 0);
	close(fd);
	/* a path naming another file than the mapped one is refused */
	other.ino++;
	assert_int_equal(procmaps__open(p, &other, PROCMAPS_OPEN_ROOT), -ESTALE);
	free(v);
	procmaps__free(p);
}

static void test_procmaps__paths_for_the_kernel_name_the_process(void **state)
{
	struct procmaps *p = procmaps__new(getpid());
	struct procmap m = { .start = 0x1000, .end = 0xab000, .path = "/usr/lib/libc.so.6" };
	char buf[128], want[128];

	procmaps__map_files_path(p, &m, buf, sizeof(buf));
	snprintf(want, sizeof(want), "/proc/%d/map_files/1000-ab000", getpid());
	assert_string_equal(buf, want);
	procmaps__root_path(p, &m, buf, sizeof(buf));
	snprintf(want, sizeof(want), "/proc/%d/root/usr/lib/libc.so.6", getpid());
	assert_string_equal(buf, want);
	procmaps__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_procmaps__file_backed_line_has_every_field),
		cmocka_unit_test(test_procmaps__paths_keep_spaces_and_the_deleted_mark),
		cmocka_unit_test(test_procmaps__anonymous_and_special_mappings_are_left_out),
		cmocka_unit_test(test_procmaps__read_all_keeps_anonymous_and_special_mappings),
		cmocka_unit_test(test_procmaps__malformed_lines_are_left_out_and_the_rest_kept),
		cmocka_unit_test(test_procmaps__read_finds_this_process_code),
		cmocka_unit_test(test_procmaps__a_process_that_is_not_there_is_gone),
		cmocka_unit_test(test_procmaps__open_reaches_the_mapped_file),
		cmocka_unit_test(test_procmaps__paths_for_the_kernel_name_the_process),
	};

	return cmocka_run_group_tests_name("procmaps", tests, NULL, NULL);
}
