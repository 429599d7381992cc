// SPDX-License-Identifier: MIT
/* ms_proc_classify(): what /proc/PID/stat says a pid given to -p is */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

/* Lines as Linux 6.18 printed them (fields after the flags cut) */
static void test_proc_stat__kthreadd_and_a_worker_are_kernel_threads(void **state)
{
	assert_int_equal(ms_proc_classify("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0\n"),
			 MS_PROC_KTHREAD);
	assert_int_equal(ms_proc_classify("10 (kworker/0:0H-events_highpri) I 2 0 0 0 -1 69238880 0 0\n"),
			 MS_PROC_KTHREAD);
}

static void test_proc_stat__a_zombie_is_gone_not_a_kernel_thread(void **state)
{
	/* its /proc/PID/exe is gone (ENOENT) just as a kernel thread's */
	assert_int_equal(ms_proc_classify("11659 (python3) Z 11618 11616 5166 0 -1 4227148 222 0\n"),
			 MS_PROC_GONE);
	assert_int_equal(ms_proc_classify("11659 (python3) X 11618 11616 5166 0 -1 4227148 222 0\n"),
			 MS_PROC_GONE);
	/* a kernel thread on its way out is gone as well (made up: they are reaped at once) */
	assert_int_equal(ms_proc_classify("40 (kworker/u4:2) Z 2 0 0 0 -1 2129984 0 0\n"),
			 MS_PROC_GONE);
}

static void test_proc_stat__a_running_process_is_a_user_process(void **state)
{
	assert_int_equal(ms_proc_classify("1 (init) S 0 1 1 0 -1 4194560 14934 1442535 0\n"),
			 MS_PROC_USER);
	/* a command name may hold spaces, parentheses and a state-like letter */
	assert_int_equal(ms_proc_classify("77 (a) Z (b) R 1 77 77 0 -1 4194304 0 0\n"),
			 MS_PROC_USER);
}

static void test_proc_stat__malformed_text_is_refused(void **state)
{
	assert_int_equal(ms_proc_classify(""), -EINVAL);
	assert_int_equal(ms_proc_classify("12 (cut short"), -EINVAL);
	assert_int_equal(ms_proc_classify("12 (sh) S 1 2\n"), -EINVAL);
}

/* The same answer from a real child that exited and was not reaped */
static void test_proc_stat__an_unreaped_child_reads_as_gone(void **state)
{
	pid_t pid = fork();
	int kind = MS_PROC_USER;

	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	for (int i = 0; i < 1000 && kind == MS_PROC_USER; i++) {
		kind = ms_proc_kind(pid);
		usleep(1000);
	}
	assert_int_equal(kind, MS_PROC_GONE);
	assert_true(ms_process_gone(pid));
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(ms_proc_kind(pid), -ENOENT);
	assert_int_equal(ms_proc_kind(getpid()), MS_PROC_USER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_stat__kthreadd_and_a_worker_are_kernel_threads),
		cmocka_unit_test(test_proc_stat__a_zombie_is_gone_not_a_kernel_thread),
		cmocka_unit_test(test_proc_stat__a_running_process_is_a_user_process),
		cmocka_unit_test(test_proc_stat__malformed_text_is_refused),
		cmocka_unit_test(test_proc_stat__an_unreaped_child_reads_as_gone),
	};

	return cmocka_run_group_tests_name("proc_stat", tests, NULL, NULL);
}
