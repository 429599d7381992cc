/* SPDX-License-Identifier: MIT */
/*
 * The JSON report's thread_sites key from a heap model made by hand: sorted
 * by (tid, stack) with the stack ids of "stacks", and left out (not partial)
 * when the heap stopped counting pairs; and the snapshot the renderers read
 * owing nothing to the model.  No symbolizer: frames are bare.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <cmocka.h>

#include "heap.h"
#include "memscope_events.h"
#include "report_input.h"
#include "stacks.h"

struct fixture {
	struct heap *h;
	struct stack_table *stacks;
	uint32_t s1, s2;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint64_t ip1 = 0x401000, ip2 = 0x402000;

	f->h = heap__new(16);
	f->stacks = stack_table__new();
	f->s1 = stack_table__add(f->stacks, 0x11, &ip1, 1, false);
	f->s2 = stack_table__add(f->stacks, 0x22, &ip2, 1, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	heap__free(f->h);
	stack_table__free(f->stacks);
	free(f);
	return 0;
}

static void do_malloc(struct fixture *f, uint32_t tid, uint64_t ptr, uint64_t size, uint32_t stack)
{
	struct alloc_call c = { .fn = MS_FN_MALLOC, .tid = tid, .ts_ns = 1000 + ptr, .ptr = ptr,
				.size = size, .stack = stack };

	heap__alloc(f->h, &c);
}

static void do_free(struct fixture *f, uint32_t tid, uint64_t ptr)
{
	struct free_call c = { .fn = MS_FN_FREE, .tid = tid, .ts_ns = 5000 + ptr, .ptr = ptr };

	heap__release(f->h, &c);
}

/* The report of f's heap, with the scan's result (NULL: none), as parsed JSON. */
static cJSON *report_json_scanned(struct fixture *f, const struct reach_result *scan)
{
	struct report_input in = { .pid = 1, .comm = "t", .cmdline = "t", .exit_text = "exited",
				   .exited = true, .heap = f->h, .stacks = f->stacks,
				   .alloc_stacks = true, .end_ns = 10000, .scan = scan };
	struct report *r = report__build(&in);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cJSON *json;

	assert_non_null(out);
	assert_int_equal(report__write_json(r, out), 0);
	fclose(out);
	json = cJSON_Parse(text);
	assert_non_null(json);
	free(text);
	report__free(r);
	return json;
}

static cJSON *report_json(struct fixture *f)
{
	return report_json_scanned(f, NULL);
}

static void assert_entry(const cJSON *e, long tid, long stack, long allocations, long bytes,
			 long live_count, long live_bytes, long temporary)
{
	long want[] = { tid, stack, allocations, bytes, live_count, live_bytes, temporary };

	assert_int_equal(cJSON_GetArraySize(e), 7);
	for (int i = 0; i < 7; i++)
		assert_int_equal((long)cJSON_GetArrayItem(e, i)->valuedouble, want[i]);
}

static bool stack_listed(const cJSON *json, long id)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, cJSON_GetObjectItem(json, "stacks"))
		if ((long)cJSON_GetObjectItem(s, "id")->valuedouble == id)
			return true;
	return false;
}

static void test_render_json__thread_sites_sorted_by_tid_then_stack(void **state)
{
	struct fixture *f = *state;
	cJSON *json, *ts;

	do_malloc(f, 9, 0x1000, 100, f->s2);
	do_malloc(f, 3, 0x2000, 40, f->s2);
	do_malloc(f, 9, 0x3000, 7, f->s1);
	do_free(f, 9, 0x3000); /* thread 9's latest: temporary */
	do_free(f, 4, 0x2000); /* another thread's release: live counters leave thread 3 */
	json = report_json(f);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(json, "summary"),
						     "thread_sites_complete")));
	ts = cJSON_GetObjectItem(json, "thread_sites");
	assert_int_equal(cJSON_GetArraySize(ts), 3);
	assert_entry(cJSON_GetArrayItem(ts, 0), 3, f->s2, 1, 40, 0, 0, 0);
	assert_entry(cJSON_GetArrayItem(ts, 1), 9, f->s1, 1, 7, 0, 0, 1);
	assert_entry(cJSON_GetArrayItem(ts, 2), 9, f->s2, 1, 100, 1, 100, 0);
	/* the ids are those of "stacks" */
	assert_true(stack_listed(json, f->s1));
	assert_true(stack_listed(json, f->s2));
	cJSON_Delete(json);
}

/* Writes r's JSON and text summary into a string. */
static char *render(const struct report *r, size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);

	assert_non_null(out);
	assert_int_equal(report__write_json(r, out), 0);
	assert_int_equal(report__write_text(r, out, 10), 0);
	fclose(out);
	return text;
}

/* Plain data: the model and the input's strings may be gone before the report is written. */
static void test_report__snapshot_outlives_its_model(void **state)
{
	struct fixture *f = *state;
	char *comm = strdup("prog"), *before, *after;
	struct report_input in = { .pid = 1, .comm = comm, .cmdline = "prog", .exit_text = "exited",
				   .exited = true, .heap = f->h, .stacks = f->stacks,
				   .alloc_stacks = true, .end_ns = 10000 };
	struct report *r;
	size_t nbefore, nafter;

	do_malloc(f, 1, 0x1000, 100, f->s1); /* leaked: a live window, a leak */
	do_malloc(f, 1, 0x2000, 50, f->s2);
	do_free(f, 1, 0x2000);
	r = report__build(&in);
	before = render(r, &nbefore);
	memset(comm, 'x', strlen(comm));
	free(comm);
	heap__free(f->h);
	stack_table__free(f->stacks);
	f->h = NULL;
	f->stacks = NULL;
	after = render(r, &nafter);
	assert_int_equal(nafter, nbefore);
	assert_memory_equal(after, before, nbefore);
	assert_non_null(strstr(after, "\"prog\""));
	assert_int_equal(r->nleaks, 1);
	assert_int_equal(r->leaks[0].bytes, 100);
	free(before);
	free(after);
	report__free(r);
}

static void test_render_json__thread_sites_left_out_over_the_cap(void **state)
{
	struct fixture *f = *state;
	cJSON *json;

	heap__set_max_thread_sites(f->h, 2);
	do_malloc(f, 1, 0x1000, 100, f->s1);
	do_malloc(f, 2, 0x2000, 40, f->s1);
	do_malloc(f, 1, 0x3000, 7, f->s2); /* a third pair */
	json = report_json(f);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(json, "summary"),
						      "thread_sites_complete")));
	assert_null(cJSON_GetObjectItem(json, "thread_sites"));
	/* the rest of the report is whole */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(json, "threads")), 2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(json, "sites")), 2);
	cJSON_Delete(json);
}

static void test_render_json__runtime_owner_names_the_c_librarys_storage(void **state)
{
	assert_string_equal(report__runtime_owner("_IO_file_doallocate"), "stdio buffer");
	assert_string_equal(report__runtime_owner("allocate_dtv"), "thread-local storage");
	assert_string_equal(report__runtime_owner("_dl_allocate_tls"), "thread-local storage");
	assert_string_equal(report__runtime_owner("_nl_intern_locale_data"), "locale data");
	assert_string_equal(report__runtime_owner("__tzfile_read"), "time zone data");
	/* allocations made for the program are the program's */
	assert_string_equal(report__runtime_owner("__nss_module_allocate"),
			    "name service (NSS) caches");
	assert_string_equal(report__runtime_owner("getpwuid"), "name service (NSS) caches");
	assert_null(report__runtime_owner("getpwuid_r"));
	assert_null(report__runtime_owner("__strdup"));
	assert_null(report__runtime_owner("__fopen_internal"));
	assert_null(report__runtime_owner("getdelim"));
	assert_null(report__runtime_owner("_IO_file_doallocate2"));
	assert_null(report__runtime_owner(NULL));
}

/* no symbolizer: no frame is known to be libc's, so no leak is the C library's */
static void test_render_json__leaks_without_symbols_are_the_programs(void **state)
{
	struct fixture *f = *state;
	const cJSON *leaks;
	cJSON *json;

	do_malloc(f, 1, 0x1000, 100, f->s1);
	json = report_json(f);
	leaks = cJSON_GetObjectItem(json, "leaks");
	assert_int_equal(cJSON_GetArraySize(leaks), 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(leaks, 0), "runtime")));
	assert_int_equal((long)cJSON_GetObjectItem(cJSON_GetObjectItem(json, "summary"),
						   "runtime_leaked_allocations")->valuedouble, 0);
	cJSON_Delete(json);
}

/* A leak group per stack and class, the lost first; the classes summed; the scan's numbers. */
static void test_render_json__leaks_split_by_class_lost_first(void **state)
{
	struct fixture *f = *state;
	struct reach_mark m[] = { { 0x1000, REACH_STILL_REACHABLE }, { 0x2000, REACH_DEFINITELY_LOST },
				  { 0x3000, REACH_STILL_REACHABLE } };
	struct reach_result scan = { .status = SCAN_DONE, .bytes = 4096, .ns = 2500000,
				     .marks = m, .nmarks = 3 };
	const cJSON *leaks, *sc, *lc;
	cJSON *json;

	do_malloc(f, 1, 0x1000, 100, f->s1);
	do_malloc(f, 1, 0x2000, 10, f->s1);
	do_malloc(f, 1, 0x3000, 50, f->s2);
	json = report_json_scanned(f, &scan);
	leaks = cJSON_GetObjectItem(json, "leaks");
	assert_int_equal(cJSON_GetArraySize(leaks), 3);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(leaks, 0), "class")->valuestring,
			    "definitely_lost");
	assert_int_equal((long)cJSON_GetObjectItem(cJSON_GetArrayItem(leaks, 0), "bytes")->valuedouble,
			 10);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(leaks, 1), "class")->valuestring,
			    "still_reachable");
	assert_int_equal((long)cJSON_GetObjectItem(cJSON_GetArrayItem(leaks, 1), "bytes")->valuedouble,
			 100);
	sc = cJSON_GetObjectItem(cJSON_GetObjectItem(json, "tracing"), "scan");
	assert_string_equal(cJSON_GetObjectItem(sc, "result")->valuestring, "done");
	assert_int_equal((long)cJSON_GetObjectItem(sc, "bytes")->valuedouble, 4096);
	assert_true(cJSON_GetObjectItem(sc, "ms")->valuedouble == 2.5);
	lc = cJSON_GetObjectItem(cJSON_GetObjectItem(json, "summary"), "leak_classes");
	assert_int_equal((long)cJSON_GetObjectItem(cJSON_GetObjectItem(lc, "still_reachable"),
						   "bytes")->valuedouble, 150);
	assert_int_equal((long)cJSON_GetObjectItem(cJSON_GetObjectItem(lc, "indirectly_lost"),
						   "allocations")->valuedouble, 0);
	cJSON_Delete(json);

	/* no scan: one group a stack, no class, scan null */
	json = report_json(f);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(json, "leaks")), 2);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(json, "tracing"), "scan")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(json, "summary"),
						     "leak_classes")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(
		cJSON_GetObjectItem(json, "leaks"), 0), "class")));
	cJSON_Delete(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_render_json__thread_sites_sorted_by_tid_then_stack,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_report__snapshot_outlives_its_model, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_render_json__thread_sites_left_out_over_the_cap,
						setup, teardown),
		cmocka_unit_test(test_render_json__runtime_owner_names_the_c_librarys_storage),
		cmocka_unit_test_setup_teardown(test_render_json__leaks_split_by_class_lost_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_render_json__leaks_without_symbols_are_the_programs,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("render_json", tests, NULL, NULL);
}
