/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "live_view.h"

/* Columns of s: its code points. */
static size_t cols(const char *s)
{
	size_t c = 0;

	for (; *s; s++)
		c += ((unsigned char)*s & 0xc0) != 0x80;
	return c;
}

static bool has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0))
			return true;
	return false;
}

static void test_live_view__rank_by_growth_then_live_bytes(void **state)
{
	const struct heap_site sites[] = {
		[0] = { .live_bytes = 1000, .live_count = 1 }, /* grew 0: held since before */
		[1] = { .live_bytes = 300, .live_count = 3 },  /* grew 200 */
		[2] = { 0 },                                   /* nothing, ever */
		[3] = { .live_bytes = 500, .live_count = 5 },  /* grew 200, more live: before 1 */
		[4] = { .live_bytes = 0 },                     /* shrank by 400 */
		[5] = { .live_bytes = 64, .live_count = 1 },   /* new since the view before */
	};
	const uint64_t prev[] = { 1000, 100, 0, 300, 400 };
	struct live_row rows[6];
	size_t n;

	(void)state;
	n = live_view__rank(sites, 6, prev, 5, rows);
	assert_int_equal(n, 5);
	assert_int_equal(rows[0].stack, 3);
	assert_int_equal(rows[0].growth, 200);
	assert_int_equal(rows[0].live_bytes, 500);
	assert_int_equal(rows[0].live_count, 5);
	assert_int_equal(rows[1].stack, 1);
	assert_int_equal(rows[1].growth, 200);
	assert_int_equal(rows[2].stack, 5);
	assert_int_equal(rows[2].growth, 64);
	assert_int_equal(rows[3].stack, 0);
	assert_int_equal(rows[3].growth, 0);
	assert_int_equal(rows[4].stack, 4);
	assert_int_equal(rows[4].growth, -400);
}

static void test_live_view__rank_first_view_grows_from_nothing(void **state)
{
	const struct heap_site sites[] = { { .live_bytes = 10 }, { .live_bytes = 30 } };
	struct live_row rows[2];

	(void)state;
	assert_int_equal(live_view__rank(sites, 2, NULL, 0, rows), 2);
	assert_int_equal(rows[0].stack, 1);
	assert_int_equal(rows[0].growth, 30);
	assert_int_equal(rows[1].growth, 10);
}

static void test_live_view__sanitize_replaces_every_control_character(void **state)
{
	char out[64];

	(void)state;
	/* ESC (a CSI and an OSC), BEL, DEL, C1 CSI (U+009B), a lone 0xff */
	assert_int_equal(live_view__sanitize("a\033[2J\033]0;x\007b\x7f\xc2\x9b" "1m\xff", out,
					     sizeof(out)),
			 17);
	assert_string_equal(out, "a?[2J?]0;x?b??1m?");
	assert_int_equal(live_view__sanitize("tab\there\nnl", out, sizeof(out)), 11);
	assert_string_equal(out, "tab?here?nl");
	assert_int_equal(live_view__sanitize(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_live_view__sanitize_keeps_utf8_and_never_cuts_inside_it(void **state)
{
	char out[6];

	(void)state;
	/* "é" is 2 bytes, 1 column; U+00A0 (c2 a0) is no control */
	assert_int_equal(live_view__sanitize("\xc3\xa9\xc2\xa0", out, sizeof(out)), 2);
	assert_string_equal(out, "\xc3\xa9\xc2\xa0");
	/* room for 5 bytes: "ab" and one "é", not half of the second */
	assert_int_equal(live_view__sanitize("ab\xc3\xa9\xc3\xa9", out, sizeof(out)), 3);
	assert_string_equal(out, "ab\xc3\xa9");
}

static const struct live_row row = { .stack = 7, .growth = 40960, .live_bytes = 122880,
				     .live_count = 30 };

static void test_live_view__plain_row_has_exact_bytes_and_the_whole_site(void **state)
{
	char buf[256];
	const struct live_row shrank = { .growth = -512, .live_bytes = 0, .live_count = 0 };
	const struct live_row one = { .growth = 0, .live_bytes = 8, .live_count = 1 };

	(void)state;
	live_view__format_row(&row, "grow_big", "/src/very/long/path/live_grow.c:22", 0, buf,
			      sizeof(buf));
	assert_string_equal(buf, "        +40960 B        122880 B        30 blocks  "
				 "grow_big (/src/very/long/path/live_grow.c:22)");
	live_view__format_row(&shrank, NULL, "libfoo.so+0x1234", 0, buf, sizeof(buf));
	assert_string_equal(buf, "          -512 B             0 B         0 blocks  "
				 "libfoo.so+0x1234");
	live_view__format_row(&one, "f", NULL, 0, buf, sizeof(buf));
	assert_string_equal(buf, "            +0 B             8 B         1 block  f");
}

static void test_live_view__plain_row_sanitizes_hostile_names(void **state)
{
	char buf[256];

	(void)state;
	live_view__format_row(&row, "evil\033[2J", "x\033]0;pwned\007.c:1", 0, buf, sizeof(buf));
	assert_false(has_control(buf));
	assert_non_null(strstr(buf, "evil?[2J (x?]0;pwned?.c:1)"));
}

/* the columns before the site: "    +40.0 KiB  120.0 KiB       30  " */
#define NUM_COLS 33

static void test_live_view__screen_row_fits_the_width_cutting_folders_then_function(
	void **state)
{
	const char *fn = "a_rather_long_function_name_for_a_site";
	const char *at = "/home/someone/projects/src/module/file.c:1234";
	char buf[512];

	(void)state;
	/* wide: everything */
	live_view__format_row(&row, fn, at, 200, buf, sizeof(buf));
	assert_string_equal(buf, "  +40.0 KiB  120.0 KiB       30  a_rather_long_function_name_for_a_site "
				 "(/home/someone/projects/src/module/file.c:1234)");
	/* narrower: the folders go first */
	live_view__format_row(&row, fn, at, NUM_COLS + 60, buf, sizeof(buf));
	assert_string_equal(buf + NUM_COLS, "a_rather_long_function_name_for_a_site (file.c:1234)");
	/* narrower still: the function is cut, marked '+' */
	live_view__format_row(&row, fn, at, NUM_COLS + 40, buf, sizeof(buf));
	assert_string_equal(buf + NUM_COLS, "a_rather_long_function_na+ (file.c:1234)");
	assert_int_equal(cols(buf), NUM_COLS + 40);
	/* too narrow for both: the function alone */
	live_view__format_row(&row, fn, at, NUM_COLS + 20, buf, sizeof(buf));
	assert_string_equal(buf + NUM_COLS, "a_rather_long_funct+");
	/* narrower than the numbers: cut there */
	live_view__format_row(&row, fn, at, 20, buf, sizeof(buf));
	assert_int_equal(cols(buf), 20);
}

static void test_live_view__screen_row_never_exceeds_any_width(void **state)
{
	const char *names[][2] = {
		{ "f", "a.c:1" },
		{ "\xc3\xa9t\xc3\xa9_\xc3\xa9t\xc3\xa9_\xc3\xa9t\xc3\xa9_\xc3\xa9t\xc3\xa9_x",
		  "/\xc3\xa9/\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9.c:9" },
		{ "evil\033[2J\033]0;t\007name_that_goes_on_and_on", "x\033[31m.c:2" },
		{ NULL, "libc.so.6+0x12345678" },
		{ "only_a_function_with_a_long_name", NULL },
		{ NULL, NULL },
	};
	char buf[512];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (unsigned w = 1; w <= 120; w++) {
			live_view__format_row(&row, names[i][0], names[i][1], w, buf, sizeof(buf));
			if (cols(buf) > w)
				fail_msg("width %u: %zu columns in '%s'", w, cols(buf), buf);
			assert_false(has_control(buf));
		}
}

static void test_live_view__row_is_bounded_by_its_buffer(void **state)
{
	char big[3000], buf[64];

	(void)state;
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	live_view__format_row(&row, big, big, 0, buf, sizeof(buf));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	live_view__format_row(&row, big, big, 500, buf, sizeof(buf));
	assert_true(strlen(buf) < sizeof(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_view__rank_by_growth_then_live_bytes),
		cmocka_unit_test(test_live_view__rank_first_view_grows_from_nothing),
		cmocka_unit_test(test_live_view__sanitize_replaces_every_control_character),
		cmocka_unit_test(test_live_view__sanitize_keeps_utf8_and_never_cuts_inside_it),
		cmocka_unit_test(test_live_view__plain_row_has_exact_bytes_and_the_whole_site),
		cmocka_unit_test(test_live_view__plain_row_sanitizes_hostile_names),
		cmocka_unit_test(test_live_view__screen_row_fits_the_width_cutting_folders_then_function),
		cmocka_unit_test(test_live_view__screen_row_never_exceeds_any_width),
		cmocka_unit_test(test_live_view__row_is_bounded_by_its_buffer),
	};

	return cmocka_run_group_tests_name("live_view", tests, NULL, NULL);
}
