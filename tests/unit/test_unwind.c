// SPDX-License-Identifier: MIT
/*
 * unwind: the loader's objects and their rows, without BPF (nothing bound):
 * against this test process's own maps and files.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "unwind.h"

static struct unwinder *new_for_self(void)
{
	struct unwinder_opts o = { .sz = sizeof(o), .pid = getpid(), .mode = MS_UNWIND_AUTO };

	return unwinder__new(&o);
}

static void test_unwind__an_object_is_built_once(void **state)
{
	struct unwinder *u = new_for_self();
	struct unwind_stats st;
	size_t rows;

	assert_int_equal(unwinder__add_path(u, "/proc/self/exe"), 0);
	rows = unwinder__rows(u);
	assert_true(rows > 10);
	/* the same file under another name is the same (dev, inode) */
	assert_int_equal(unwinder__add_path(u, "/proc/self/exe"), 0);
	assert_int_equal(unwinder__rows(u), rows);
	unwinder__stats(u, &st);
	assert_int_equal(st.objects, 1);
	assert_int_equal(st.objects_bare, 0);
	assert_int_equal(st.rows, rows);
	unwinder__free(u);
}

static void test_unwind__a_file_without_cfi_is_kept_bare(void **state)
{
	char path[] = "/tmp/unwind-bare.XXXXXX";
	struct unwinder *u = new_for_self();
	struct unwind_stats st;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	assert_int_equal(unwinder__add_path(u, path), 0);
	assert_int_equal(unwinder__rows(u), 0);
	unwinder__stats(u, &st);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.objects_bare, 1);
	assert_int_equal(unwinder__add_path(u, "/nonexistent/object"), -ENOENT);
	unlink(path);
	unwinder__free(u);
}

/* Copies file from into a new temporary file; its path in path (a template). */
static void copy_file(const char *from, char *path)
{
	int in = open(from, O_RDONLY), out = mkstemp(path);
	char buf[65536];
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

/* a copy of a file (another inode, the same build id) takes its rows */
static void test_unwind__a_copy_with_the_same_build_id_shares_rows(void **state)
{
	char path[] = "/tmp/unwind-copy.XXXXXX";
	struct unwinder *u = new_for_self();
	struct unwind_stats st;
	size_t rows;

	copy_file("/proc/self/exe", path);
	assert_int_equal(unwinder__add_path(u, "/proc/self/exe"), 0);
	rows = unwinder__rows(u);
	assert_true(rows > 10);
	assert_int_equal(unwinder__add_path(u, path), 0);
	assert_int_equal(unwinder__rows(u), rows);
	unwinder__stats(u, &st);
	assert_int_equal(st.objects, 2);
	assert_int_equal(st.shared, 1);
	assert_int_equal(st.rows, rows);
	unlink(path);
	unwinder__free(u);
}

/* this process maps at least itself, libc and the dynamic loader, all with CFI */
static void test_unwind__scan_adds_mapped_code_once(void **state)
{
	struct unwinder *u = new_for_self();
	struct unwind_stats st;
	int added = unwinder__scan(u);
	size_t rows = unwinder__rows(u);

	assert_true(added >= 3);
	unwinder__stats(u, &st);
	assert_int_equal(st.objects + st.objects_bare, (size_t)added);
	assert_true(st.objects >= 3);
	assert_true(rows > 20000); /* libc alone has ~28 k */
	assert_int_equal(unwinder__scan(u), 0);
	assert_int_equal(unwinder__rows(u), rows);
	/* already there from the scan */
	assert_int_equal(unwinder__add_path(u, "/proc/self/exe"), 0);
	assert_int_equal(unwinder__rows(u), rows);
	unwinder__free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwind__an_object_is_built_once),
		cmocka_unit_test(test_unwind__a_file_without_cfi_is_kept_bare),
		cmocka_unit_test(test_unwind__a_copy_with_the_same_build_id_shares_rows),
		cmocka_unit_test(test_unwind__scan_adds_mapped_code_once),
	};

	return cmocka_run_group_tests_name("unwind", tests, NULL, NULL);
}
