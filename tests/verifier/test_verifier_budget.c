// SPDX-License-Identifier: MIT
/*
 * The verifier budget: every BPF program, in every load configuration
 * (user/check.c), loads on this kernel and the verifier processes at most
 * MS_VERIFIER_BUDGET instructions (10% of its limit) for it.  A program at
 * the verifier's edge on one kernel build falls over on the next one.
 * Needs root and BPF; exits 77 when it cannot run (a failure under CI=true).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "check.h"
#include "util.h"

static void test_verifier__every_program_in_every_configuration_within_budget(void **state)
{
	struct prog_verdict v[64];
	size_t n;
	const struct check_config *c = check__configs(&n);
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		int got = tracer__verify(&c[i].opts, c[i].multi, v, 64);

		assert_true(got > 0);
		for (int j = 0; j < got; j++) {
			printf("  %-34s %-18s %9ld%s%s\n", c[i].name, v[j].name, v[j].insns,
			       v[j].err ? "  refused: " : "", v[j].err ? v[j].last : "");
			if (v[j].err || v[j].insns < 0 || v[j].insns > MS_VERIFIER_BUDGET)
				failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void test_verifier__parse_processed_reads_the_stats_line(void **state)
{
	assert_int_equal(tracer__parse_processed("func#0 @0\nprocessed 17373 insns (limit 1000000) "
						 "max_states_per_insn 4 total_states 1"), 17373);
	assert_int_equal(tracer__parse_processed("processed  insns"), -1);
	assert_int_equal(tracer__parse_processed("no stats here"), -1);
	assert_int_equal(tracer__parse_processed(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verifier__parse_processed_reads_the_stats_line),
		cmocka_unit_test(test_verifier__every_program_in_every_configuration_within_budget),
	};

	if (geteuid() != 0 || access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		fprintf(stderr, "verifier: NOT RUN: needs root and kernel BTF\n");
		return 77;
	}
	return cmocka_run_group_tests_name("verifier", tests, NULL, NULL);
}
