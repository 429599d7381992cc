// SPDX-License-Identifier: MIT
/*
 * How each kind of output path is written: the decision (output__plan), and
 * a replaced file's temporary name and the check at its rename, in a
 * directory of the test's own.
 */
#include <dirent.h>
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

static char dir[] = "/tmp/memscope-output.XXXXXX";

static char *in_dir(const char *name)
{
	static char buf[4][300];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, 300, "%s/%s", dir, name);
	return p;
}

/* Entries of the test's directory named prefix..., "." and ".." aside; the first into first. */
static int entries_named(const char *prefix, char *first, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    !strncmp(e->d_name, prefix, strlen(prefix)) && !n++ && first)
			snprintf(first, len, "%s", e->d_name);
	closedir(d);
	return n;
}

static int entries(char *first, size_t len)
{
	return entries_named("", first, len);
}

static void empty_dir(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/* '%s'/.[!.]*", dir, dir);
	assert_int_equal(system(cmd), 0);
}

static char *slurp_file(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void open_and_write(struct output *o, const char *path, const char *text)
{
	assert_int_equal(output__open(o, path), 0);
	assert_int_equal(o->how, OUTPUT_REPLACE);
	fputs(text, o->f);
}

/*
 * While the report is written the temporary file has no name (O_TMPFILE):
 * a tracer killed meanwhile leaves nothing beside the output.  At commit the
 * report is in place and nothing else is left.
 */
static void test_output__report_has_no_name_until_it_is_whole(void **state)
{
	char name[256];
	struct output o;
	struct stat st;

	output__use_tmpfile(true);
	empty_dir();
	open_and_write(&o, in_dir("new.json"), "whole report\n");
	fflush(o.f);
	assert_int_equal(entries(NULL, 0), 0);
	assert_int_equal(output__commit(&o), 0);
	assert_int_equal(entries(name, sizeof(name)), 1);
	assert_string_equal(name, "new.json");
	assert_string_equal(slurp_file(in_dir("new.json")), "whole report\n");

	/* an existing file is replaced the same way, its mode kept */
	assert_int_equal(chmod(in_dir("new.json"), 0600), 0);
	open_and_write(&o, in_dir("new.json"), "second\n");
	fflush(o.f);
	assert_int_equal(entries(NULL, 0), 1);
	assert_int_equal(output__commit(&o), 0);
	assert_int_equal(entries(NULL, 0), 1);
	assert_string_equal(slurp_file(in_dir("new.json")), "second\n");
	assert_int_equal(stat(in_dir("new.json"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* aborted: nothing at all */
	open_and_write(&o, in_dir("gone.json"), "never\n");
	output__abort(&o);
	assert_int_equal(entries(NULL, 0), 1);
}

/* Without O_TMPFILE: a named temporary file, renamed at commit. */
static void test_output__without_tmpfile_a_named_temporary_file(void **state)
{
	char name[256];
	struct output o;

	output__use_tmpfile(false);
	empty_dir();
	open_and_write(&o, in_dir("r.txt"), "text\n");
	assert_int_equal(entries(name, sizeof(name)), 1);
	assert_int_equal(strncmp(name, "r.txt.tmp.", 10), 0);
	assert_int_equal(output__commit(&o), 0);
	assert_int_equal(entries(name, sizeof(name)), 1);
	assert_string_equal(name, "r.txt");
	assert_string_equal(slurp_file(in_dir("r.txt")), "text\n");
	output__use_tmpfile(true);
}

/*
 * The path became a symbolic link, a directory or a FIFO between the check
 * at open and the commit: it is left as it is, the commit fails (-EEXIST)
 * and the report stays whole in the one temporary file beside it.
 */
static void check_turned(bool tmpfile, const char *what)
{
	const char *path = in_dir("out.json");
	char name[256];
	struct output o;
	struct stat st;

	output__use_tmpfile(tmpfile);
	empty_dir();
	assert_int_equal(close(creat(in_dir("victim"), 0644)), 0);
	open_and_write(&o, path, "the report\n");
	if (!strcmp(what, "symlink"))
		assert_int_equal(symlink("victim", path), 0);
	else if (!strcmp(what, "dir"))
		assert_int_equal(mkdir(path, 0755), 0);
	else
		assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(output__commit(&o), -EEXIST);

	assert_int_equal(lstat(path, &st), 0);
	if (!strcmp(what, "symlink"))
		assert_true(S_ISLNK(st.st_mode));
	else if (!strcmp(what, "dir"))
		assert_true(S_ISDIR(st.st_mode));
	else
		assert_true(S_ISFIFO(st.st_mode));
	assert_string_equal(slurp_file(in_dir("victim")), "");
	/* out.json, victim and the report's temporary file */
	assert_int_equal(entries(NULL, 0), 3);
	assert_int_equal(entries_named("out.json.tmp.", name, sizeof(name)), 1);
	assert_string_equal(slurp_file(in_dir(name)), "the report\n");
	output__use_tmpfile(true);
}

static void test_output__path_that_became_no_file_is_left_alone_report_kept(void **state)
{
	check_turned(true, "symlink");
	check_turned(true, "dir");
	check_turned(true, "fifo");
	check_turned(false, "symlink");
	check_turned(false, "dir");
}

/* A file that appeared at a new path meanwhile is a regular file: replaced. */
static void test_output__regular_file_that_appeared_meanwhile_is_replaced(void **state)
{
	struct output o;

	empty_dir();
	open_and_write(&o, in_dir("late.json"), "ours\n");
	assert_int_equal(close(creat(in_dir("late.json"), 0644)), 0);
	assert_int_equal(output__commit(&o), 0);
	assert_string_equal(slurp_file(in_dir("late.json")), "ours\n");
	assert_int_equal(entries(NULL, 0), 1);
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output__regular_file_and_new_path_are_replaced_whole),
		cmocka_unit_test(test_output__devices_and_fifos_are_streamed_in_place),
		cmocka_unit_test(test_output__stdout_names_are_their_descriptor_never_the_path),
		cmocka_unit_test(test_output__directory_symlink_block_device_socket_are_refused),
		cmocka_unit_test(test_output__report_has_no_name_until_it_is_whole),
		cmocka_unit_test(test_output__without_tmpfile_a_named_temporary_file),
		cmocka_unit_test(test_output__path_that_became_no_file_is_left_alone_report_kept),
		cmocka_unit_test(test_output__regular_file_that_appeared_meanwhile_is_replaced),
	};

	return cmocka_run_group_tests_name("output", tests, setup, teardown);
}
