// SPDX-License-Identifier: MIT
/* The streaming JSON writer: valid output for hostile strings, exact integers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "json_writer.h"

static char *escape(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	jw__escape(f, s);
	fclose(f);
	return buf;
}

static void test_json_writer__script_breakout_is_escaped(void **state)
{
	char *e = escape("</script><img src=x onerror=alert(1)>");

	assert_null(strchr(e, '<'));
	assert_null(strchr(e, '>'));
	assert_string_equal(e, "\\u003c/script\\u003e\\u003cimg src=x onerror=alert(1)\\u003e");
	free(e);
}

static void test_json_writer__quotes_backslashes_and_controls_are_escaped(void **state)
{
	char *e = escape("a\"b\\c\nd\te\x01\x7f&");

	assert_string_equal(e, "a\\\"b\\\\c\\nd\\te\\u0001\\u007f\\u0026");
	free(e);
}

static void test_json_writer__invalid_utf8_becomes_replacement(void **state)
{
	/* a lone continuation byte, an overlong '/', a surrogate, a truncated sequence */
	char *e = escape("x\x80y\xc0\xafz\xed\xa0\x80w\xe2\x82");

	assert_string_equal(e, "x\\ufffdy\\ufffd\\ufffdz\\ufffd\\ufffd\\ufffdw\\ufffd\\ufffd");
	free(e);
}

static void test_json_writer__valid_utf8_passes_and_line_separators_escaped(void **state)
{
	char *e = escape("caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x80\xa8");

	assert_string_equal(e, "caf\xc3\xa9 \xf0\x9f\x98\x80 \\u2028");
	free(e);
}

static void test_json_writer__document_parses_with_exact_values(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json_writer w;
	cJSON *doc, *arr;

	jw__init(&w, f, true);
	jw__begin_object(&w, NULL);
	jw__string(&w, "name", "\"hostile\"\n</script>");
	jw__uint(&w, "big", UINT64_MAX);
	jw__hex(&w, "ip", 0x7fffdeadbeefULL);
	jw__int(&w, "neg", -5);
	jw__bool(&w, "yes", true);
	jw__null(&w, "none");
	jw__string(&w, "nullstr", NULL);
	jw__begin_array(&w, "empty");
	jw__end_array(&w);
	jw__begin_array(&w, "list");
	jw__uint(&w, NULL, 1);
	jw__begin_object(&w, NULL);
	jw__end_object(&w);
	jw__end_array(&w);
	jw__end_object(&w);
	assert_false(jw__error(&w));
	fclose(f);

	assert_non_null(strstr(buf, "\"big\": 18446744073709551615"));
	doc = cJSON_Parse(buf);
	assert_non_null(doc);
	assert_string_equal(cJSON_GetObjectItem(doc, "name")->valuestring, "\"hostile\"\n</script>");
	assert_string_equal(cJSON_GetObjectItem(doc, "ip")->valuestring, "0x7fffdeadbeef");
	assert_int_equal(cJSON_GetObjectItem(doc, "neg")->valueint, -5);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "nullstr")));
	arr = cJSON_GetObjectItem(doc, "list");
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "empty")), 0);
	cJSON_Delete(doc);
	free(buf);
}

static void test_json_writer__unbalanced_document_is_an_error(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json_writer w;

	jw__init(&w, f, false);
	jw__begin_object(&w, NULL);
	jw__begin_array(&w, "a");
	assert_true(jw__error(&w));
	jw__end_array(&w);
	jw__end_object(&w);
	assert_false(jw__error(&w));
	jw__end_object(&w);
	assert_true(jw__error(&w));
	fclose(f);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_writer__script_breakout_is_escaped),
		cmocka_unit_test(test_json_writer__quotes_backslashes_and_controls_are_escaped),
		cmocka_unit_test(test_json_writer__invalid_utf8_becomes_replacement),
		cmocka_unit_test(test_json_writer__valid_utf8_passes_and_line_separators_escaped),
		cmocka_unit_test(test_json_writer__document_parses_with_exact_values),
		cmocka_unit_test(test_json_writer__unbalanced_document_is_an_error),
	};

	return cmocka_run_group_tests_name("json_writer", tests, NULL, NULL);
}
