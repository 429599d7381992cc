// SPDX-License-Identifier: MIT
/*
 * Checks a JSON report of tests/programs/leaks.c (or its static build)
 * against what that program does by construction: the tests of the shipped
 * tool (the static binary in a bare VM, the installed Debian package) run it
 * where the e2e harness cannot.
 *
 * Usage: check_leaks REPORT.json VERSION
 * Exits 0 when every number is right, else 1 after one line per mismatch.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void expect(const char *what, double got, double want)
{
	if (got == want)
		return;
	fprintf(stderr, "check_leaks: %s is %.0f, expected %.0f\n", what, got, want);
	failures++;
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const cJSON *stack_by_id(const cJSON *report, double id)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(report, "stacks"))
		if (num(s, "id") == id)
			return s;
	return NULL;
}

/* The stack's frame at its site (where the program called the allocator) is in fn. */
static int site_is(const cJSON *report, const cJSON *entry, const char *fn)
{
	const cJSON *s = stack_by_id(report, num(entry, "stack")), *f;

	if (!s)
		return 0;
	f = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "frames"), (int)num(s, "site_frame"));
	f = cJSON_GetObjectItemCaseSensitive(f, "function");
	return cJSON_IsString(f) && !strcmp(f->valuestring, fn);
}

/* Sums count/bytes (leaks) or allocations/bytes (sites) of the entries whose site is fn. */
static void sum_sites(const cJSON *report, const char *list, const char *fn, double *n, double *bytes)
{
	const char *count_key = !strcmp(list, "leaks") ? "count" : "allocations";
	const cJSON *e;

	*n = *bytes = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(report, list)) {
		if (site_is(report, e, fn)) {
			*n += num(e, count_key);
			*bytes += num(e, "bytes");
		}
	}
}

static void expect_site(const cJSON *r, const char *list, const char *fn, double n, double bytes)
{
	char what[128];
	double got_n, got_bytes;

	sum_sites(r, list, fn, &got_n, &got_bytes);
	snprintf(what, sizeof(what), "%s of %s: blocks", list, fn);
	expect(what, got_n, n);
	snprintf(what, sizeof(what), "%s of %s: bytes", list, fn);
	expect(what, got_bytes, bytes);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

int main(int argc, char **argv)
{
	const cJSON *sum, *v, *target;
	cJSON *r;
	char *text;

	if (argc != 3) {
		fprintf(stderr, "usage: check_leaks REPORT.json VERSION\n");
		return 2;
	}
	text = slurp(argv[1]);
	if (!text) {
		fprintf(stderr, "check_leaks: cannot read '%s'\n", argv[1]);
		return 1;
	}
	r = cJSON_Parse(text);
	free(text);
	if (!r) {
		fprintf(stderr, "check_leaks: '%s' is not JSON\n", argv[1]);
		return 1;
	}
	v = cJSON_GetObjectItemCaseSensitive(r, "version");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, argv[2])) {
		fprintf(stderr, "check_leaks: report version '%s', expected '%s'\n",
			cJSON_IsString(v) ? v->valuestring : "(none)", argv[2]);
		failures++;
	}
	target = cJSON_GetObjectItemCaseSensitive(r, "target");
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(target, "exited"))) {
		fprintf(stderr, "check_leaks: the target is not reported as exited\n");
		failures++;
	}
	expect("exit status", num(target, "exit_status"), 0);
	/* leaks.c: 3 x 100 (malloc), 2 x 200 (calloc), 64 grown to 256 (realloc) */
	expect_site(r, "leaks", "leak_malloc", 3, 300);
	expect_site(r, "leaks", "leak_calloc", 2, 400);
	expect_site(r, "leaks", "leak_realloc", 1, 256);
	expect_site(r, "leaks", "churn", 0, 0);
	/* 50 malloc/free pairs of 32 bytes */
	expect_site(r, "sites", "churn", 50, 50 * 32);
	sum = cJSON_GetObjectItemCaseSensitive(r, "summary");
	/* 50 frees of churn and realloc's old block; a static program's C library
	 * allocates at startup (its runtime's blocks, never freed) */
	expect("frees", num(sum, "frees"), 51);
	expect("allocations not the runtime's",
	       num(sum, "allocations") - num(sum, "runtime_leaked_allocations"), 58);
	/* 3 + 2 + 1 + strdup("hello") */
	expect("leaked blocks not the runtime's",
	       num(sum, "leaked_allocations") - num(sum, "runtime_leaked_allocations"), 7);
	expect("leaked bytes not the runtime's",
	       num(sum, "leaked_bytes") - num(sum, "runtime_leaked_bytes"), 300 + 400 + 256 + 6);
	expect("lost events", num(sum, "lost_events"), 0);
	expect("unknown frees", num(sum, "unknown_frees"), 0);
	cJSON_Delete(r);
	if (failures)
		return 1;
	printf("check_leaks: '%s': leaks.c's numbers exact, version %s\n", argv[1], argv[2]);
	return 0;
}
