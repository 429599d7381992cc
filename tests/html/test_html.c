// SPDX-License-Identifier: MIT
/*
 * The HTML report in a real browser: ./memscope-bpf traces the programs in
 * tests/programs/ and writes --html (and --json) reports; headless Chromium
 * loads each page and dumps its DOM after the scripts ran.  A page passes
 * when it added its "render-done" sentinel (it does only when it drew
 * without an error), Chromium logged no console message, and the DOM holds
 * the leak sites and numbers known by construction (and equal to the JSON
 * report's).  Names that are markup (tests/programs/hostile.c, and a
 * hand-made JSON report through build/tests/html/embed_json) must show as
 * text.  Each page is also saved as a screenshot for a person to look at,
 * in build/tests/html/shots/ (MEMSCOPE_HTML_SHOTS overrides).
 *
 * Needs root (BPF), ./memscope-bpf, the programs and Chromium (`chromium`,
 * or CHROMIUM=path); exits 77 when it cannot run at all (see
 * scripts/run-tests.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "../harness.h"

#define MEMSCOPE "./memscope-bpf"
#define PROGS "build/programs/"
#define SRC "tests/programs/"
#define EMBED "build/tests/html/embed_json"
#define SHOTS "build/tests/html/shots"
#define CHROMIUM_TIMEOUT_S 90

static char tmpdir[] = "/tmp/memscope-html.XXXXXX";
static char chromium[PATH_MAX];

/* ---- helpers ---- */

/* A path in the test's directory; owned by the caller */
static char *tmp_path(const char *name)
{
	char *p = malloc(PATH_MAX);

	assert_non_null(p);
	snprintf(p, PATH_MAX, "%s/%s", tmpdir, name);
	return p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Runs argv with stdout and stderr to files; kills it (and its children) after
 * timeout_s.  Returns its exit code, 128 + signal, or -1 on timeout.
 */
static int run(char *const argv[], const char *out_path, const char *err_path, int timeout_s)
{
	double deadline = now_s() + timeout_s;
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setpgid(0, 0);
		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], argv);
		_exit(126);
	}
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_s() > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(20000);
	}
}

/*
 * memscope-bpf --html HTML --json JSON -- PROGRAM [ARG], which must exit
 * with code (a launched target's status, 128 + signal when killed); the
 * parsed JSON.
 */
/* Traces program name (with arg) writing html; opt: one more option of memscope-bpf's, or NULL. */
static cJSON *trace_opt(const char *name, const char *html, const char *opt, const char *arg,
			int want)
{
	char prog[PATH_MAX], *json = tmp_path("report.json"), *text;
	char *out = tmp_path("memscope.out"), *err = tmp_path("memscope.err");
	char *argv[] = { MEMSCOPE, "--html", (char *)html, "--json", json, "--interval", "1",
			 (char *)opt, "--", prog, (char *)arg, NULL };
	cJSON *report;
	int code;

	/* without an option, the rest moves up one */
	if (!opt)
		memmove(&argv[7], &argv[8], 4 * sizeof(*argv));

	snprintf(prog, sizeof(prog), PROGS "%s", name);
	unlink(html);
	unlink(json);
	code = run(argv, out, err, 60);
	if (code != want) {
		text = slurp(err);
		fail_msg("memscope-bpf on '%s' exited %d:\n%s", name, code, text ? text : "");
	}
	text = slurp(json);
	assert_non_null(text);
	report = cJSON_Parse(text);
	free(text);
	free(json);
	free(out);
	free(err);
	assert_non_null(report);
	return report;
}

static cJSON *trace_code(const char *name, const char *html, const char *arg, int want)
{
	return trace_opt(name, html, NULL, arg, want);
}

static cJSON *trace(const char *name, const char *html, const char *arg)
{
	return trace_code(name, html, arg, 0);
}

struct page {
	char *dom;
	char *console; /* Chromium's console lines, NULL when none */
	double seconds;
};

static void page_free(struct page *p)
{
	free(p->dom);
	free(p->console);
}

static void chromium_argv(char **argv, int *n, char *profile)
{
	char *flags[] = { "--headless", "--no-sandbox", "--disable-gpu",
			  "--disable-background-networking", "--disable-component-update",
			  "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0",
			  "--virtual-time-budget=5000", NULL };

	argv[(*n)++] = chromium;
	for (int i = 0; flags[i]; i++)
		argv[(*n)++] = flags[i];
	argv[(*n)++] = profile;
}

/* A fresh profile directory for each run: no state carried between pages */
static char *new_profile(void)
{
	static char flag[PATH_MAX + 32];
	static int n;
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/profile-%d", tmpdir, n++);
	mkdir(dir, 0700);
	snprintf(flag, sizeof(flag), "--user-data-dir=%s", dir);
	return flag;
}

/* Console messages (Chromium logs them as "...:CONSOLE...") from stderr */
static char *console_lines(const char *err)
{
	size_t cap = 1, len = 0;
	char *out = NULL;

	for (const char *l = err; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t n = end ? (size_t)(end - l) : strlen(l);

		if (memmem(l, n, ":CONSOLE", 8)) {
			cap += n + 1;
			out = realloc(out, cap);
			memcpy(out + len, l, n);
			len += n;
			out[len++] = '\n';
			out[len] = 0;
		}
		l = end ? end + 1 : l + n;
	}
	return out;
}

/* Loads file://html#fragment and dumps the DOM after its scripts ran */
static struct page load(const char *html, const char *fragment)
{
	char url[PATH_MAX + 256], abs[PATH_MAX];
	char *argv[32];
	struct page p = { 0 };
	char *dom = tmp_path("dom.html"), *err_path = tmp_path("chromium.err"), *err;
	double t0;
	int n = 0, code;

	assert_non_null(realpath(html, abs));
	snprintf(url, sizeof(url), "file://%s%s%s", abs, fragment ? "#" : "", fragment ? fragment : "");
	chromium_argv(argv, &n, new_profile());
	argv[n++] = "--dump-dom";
	argv[n++] = url;
	argv[n] = NULL;
	t0 = now_s();
	code = run(argv, dom, err_path, CHROMIUM_TIMEOUT_S);
	p.seconds = now_s() - t0;
	err = slurp(err_path);
	if (code != 0)
		fail_msg("chromium on '%s' exited %d:\n%s", html, code, err ? err : "");
	p.dom = slurp(dom);
	p.console = console_lines(err);
	free(err);
	free(dom);
	free(err_path);
	assert_non_null(p.dom);
	return p;
}

/* The page drew everything without an error or a console message */
static void assert_rendered(const struct page *p, const char *what)
{
	if (p->console)
		fail_msg("%s: the page logged to the console:\n%s", what, p->console);
	if (!strstr(p->dom, "<div id=\"render-done\""))
		fail_msg("%s: the page did not finish drawing (no render-done); errors box: %.400s", what,
			 strstr(p->dom, "id=\"errors\"") ? strstr(p->dom, "id=\"errors\"") : "(none)");
}

/* Saves a screenshot as SHOTS/name.png and says where */
static void screenshot(const char *html, const char *name, const char *fragment)
{
	char url[PATH_MAX + 256], abs[PATH_MAX], png[PATH_MAX], flag[PATH_MAX + 16];
	const char *dir = getenv("MEMSCOPE_HTML_SHOTS") ? getenv("MEMSCOPE_HTML_SHOTS") : SHOTS;
	char *argv[32], *out = tmp_path("shot.out"), *err = tmp_path("shot.err");
	struct stat st;
	int n = 0, code;

	assert_non_null(realpath(html, abs));
	snprintf(url, sizeof(url), "file://%s%s%s", abs, fragment ? "#" : "", fragment ? fragment : "");
	mkdir(dir, 0755);
	snprintf(png, sizeof(png), "%s/%s.png", dir, name);
	unlink(png);
	snprintf(flag, sizeof(flag), "--screenshot=%s", png);
	chromium_argv(argv, &n, new_profile());
	argv[n++] = "--hide-scrollbars";
	argv[n++] = "--window-size=1400,2000";
	argv[n++] = flag;
	argv[n++] = url;
	argv[n] = NULL;
	code = run(argv, out, err, CHROMIUM_TIMEOUT_S);
	free(out);
	free(err);
	if (code != 0 || stat(png, &st) != 0 || st.st_size == 0)
		fail_msg("no screenshot of '%s' (chromium exited %d)", html, code);
	/* keep the page next to its picture, for a person who wants to click */
	{
		char copy[PATH_MAX], cmd[3 * PATH_MAX];

		snprintf(copy, sizeof(copy), "%s/%s.html", dir, name);
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", html, copy);
		if (system(cmd) != 0)
			fail_msg("cannot copy '%s' to '%s'", html, copy);
	}
	printf("[   INFO   ] screenshot: %s (page: %s/%s.html)\n",
	       realpath(png, abs) ? abs : png, dir, name);
}

/* The text of a table: from <table ... id="ID-table"> to its </table> */
static char *table_of(const char *dom, const char *id)
{
	char open[128];
	const char *a, *b;

	snprintf(open, sizeof(open), "id=\"%s-table\"", id);
	a = strstr(dom, open);
	if (!a)
		fail_msg("no table '%s' in the page", id);
	b = strstr(a, "</table>");
	assert_non_null(b);
	return strndup(a, b - a);
}

struct row_sum {
	int rows;
	double v[8];  /* the data-v values of the row's cells, in column order, summed */
	int nv;
	char loc[256];
};

/*
 * Sums the rows of table id whose name cell (class "fn", the first) is
 * name, or name followed by '(' (a C++ function's parameters).
 */
static struct row_sum rows_named(const char *dom, const char *id, const char *name)
{
	struct row_sum s = { 0 };
	char *table = table_of(dom, id), *tr = table;
	char cell[512];

	snprintf(cell, sizeof(cell), "<td class=\"fn\">%s", name);
	while ((tr = strstr(tr, "<tr data-"))) {
		char *end = strstr(tr, "</tr>"), *c, *p;
		size_t n = strlen(cell);
		int i = 0;

		assert_non_null(end);
		*end = 0;
		c = strstr(tr, "<td class=\"fn\">");
		if (c && strncmp(c, cell, n) == 0 && (c[n] == '<' || c[n] == '(')) {
			s.rows++;
			for (p = tr; (p = strstr(p, "data-v=\"")) && i < 8; i++) {
				p += 8;
				s.v[i] += strtod(p, NULL);
			}
			s.nv = i;
			p = strstr(tr, "<td class=\"loc\">");
			if (p) {
				p += strlen("<td class=\"loc\">");
				snprintf(s.loc, sizeof(s.loc), "%.*s", (int)strcspn(p, "<"), p);
			}
		}
		tr = end + 1;
	}
	free(table);
	return s;
}

/* Line of "@tag" in tests/programs/file. */
static int line_of(const char *file, const char *tag)
{
	char path[256], line[512], want[128];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), SRC "%s", file);
	snprintf(want, sizeof(want), "@%s ", tag);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, want)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	fail_msg("tag '%s' not in '%s'", tag, file);
	return -1;
}

/* The leak table lists name once or more: blocks, bytes summed; at src:line */
static void assert_leak_row(const char *dom, const char *name, double blocks, double bytes,
			    const char *src, const char *tag)
{
	struct row_sum s = rows_named(dom, "leaks", name);
	char want[300];

	if (!s.rows)
		fail_msg("no leak row for '%s'", name);
	/* leaks columns: blocks, bytes, oldest */
	assert_int_equal((long)s.v[0], (long)blocks);
	assert_int_equal((long)s.v[1], (long)bytes);
	if (src) {
		snprintf(want, sizeof(want), "%s:%d", src, line_of(src, tag));
		if (!strstr(s.loc, want))
			fail_msg("leak row '%s' at '%s', expected '...%s'", name, s.loc, want);
	}
}

static double json_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (!cJSON_IsNumber(v))
		fail_msg("JSON key '%s' is not a number", key);
	return v->valuedouble;
}

/* The summary card id shows the JSON summary's key exactly (data-v) */
static void assert_card(const char *dom, const char *id, double v)
{
	char want[128];

	snprintf(want, sizeof(want), "id=\"s-%s\" data-v=\"%.0f\"", id, v);
	if (!strstr(dom, want))
		fail_msg("summary card '%s' does not show %.0f", id, v);
}

static void assert_cards_match_json(const char *dom, const cJSON *report)
{
	const cJSON *s = cJSON_GetObjectItem(report, "summary");

	assert_card(dom, "allocations", json_num(s, "allocations"));
	assert_card(dom, "frees", json_num(s, "frees"));
	assert_card(dom, "peak", json_num(s, "peak_bytes"));
	assert_card(dom, "live", json_num(s, "live_bytes"));
	assert_card(dom, "leaked", json_num(s, "leaked_bytes"));
	assert_card(dom, "temporary", json_num(s, "temporary_allocations"));
	assert_card(dom, "lost", json_num(s, "lost_events"));
	/* beside the heap: the program's anonymous mappings, when traced */
	s = cJSON_GetObjectItem(report, "anonymous_mappings");
	if (cJSON_IsObject(s))
		assert_card(dom, "mapped", json_num(cJSON_GetObjectItem(s, "program"), "live_bytes"));
}

/* The flame graph drew a frame named name */
static void assert_flame_frame(const char *dom, const char *name)
{
	char want[512];
	const char *flame = strstr(dom, "<div id=\"flame\"");

	assert_non_null(flame);
	snprintf(want, sizeof(want), "name=\"%s", name);
	if (!strstr(flame, want))
		fail_msg("the flame graph has no frame '%s'", name);
}

/*
 * No element or attribute came from data: no <img>/<b>/<iframe>/<object>
 * element and no on* event attribute anywhere in the DOM.  Attribute values
 * and the text of <script>/<style> are skipped.
 */
static void assert_no_injected_markup(const char *dom)
{
	const char *p = dom;

	while ((p = strchr(p, '<'))) {
		char tag[32];
		size_t n = 0;

		p++;
		if (*p == '/' || *p == '!') {
			p = strchr(p, '>');
			if (!p)
				break;
			continue;
		}
		while (n < sizeof(tag) - 1 && (p[n] == '-' || (p[n] >= 'a' && p[n] <= 'z') ||
					       (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9'))) {
			tag[n] = p[n];
			n++;
		}
		tag[n] = 0;
		if (!strcasecmp(tag, "img") || !strcasecmp(tag, "b") || !strcasecmp(tag, "iframe") ||
		    !strcasecmp(tag, "object") || !strcasecmp(tag, "embed"))
			fail_msg("an element <%s> was injected: %.200s", tag, p - 1);
		/* attributes up to the end of the tag, skipping quoted values */
		for (p += n; *p && *p != '>';) {
			if (*p == '"') {
				p = strchr(p + 1, '"');
				if (!p)
					fail_msg("unterminated attribute value");
				p++;
				continue;
			}
			if ((p[-1] == ' ') && (p[0] == 'o' || p[0] == 'O') && (p[1] == 'n' || p[1] == 'N'))
				fail_msg("an event attribute was injected: %.200s", p);
			p++;
		}
		if (!strcasecmp(tag, "script") || !strcasecmp(tag, "style")) {
			char close[40];

			snprintf(close, sizeof(close), "</%s", tag);
			p = strcasestr(p, close);
			if (!p)
				break;
		}
	}
}

static void assert_text(const char *dom, const char *escaped, const char *what)
{
	if (!strstr(dom, escaped))
		fail_msg("%s does not show as text ('%s' not in the DOM)", what, escaped);
}

/* ---- tests ---- */

static void test_html__leaks_report_lists_each_leak_site_with_exact_numbers(void **state)
{
	char *html = tmp_path("leaks.html");
	cJSON *report = trace("leaks", html, NULL);
	struct page p = load(html, NULL);

	assert_rendered(&p, "leaks");
	assert_cards_match_json(p.dom, report);
	assert_card(p.dom, "leaked", 3 * 100 + 2 * 200 + 256 + 6);
	assert_leak_row(p.dom, "leak_malloc", 3, 300, "leaks.c", "leak_malloc");
	assert_leak_row(p.dom, "leak_calloc", 2, 400, "leaks.c", "leak_calloc");
	assert_leak_row(p.dom, "leak_realloc", 1, 256, "leaks.c", "leak_realloc");
	assert_flame_frame(p.dom, "leak_calloc");
	assert_flame_frame(p.dom, "main");
	/* the header says how the stacks were taken */
	if (!strstr(p.dom, "<div id=\"stacks-meta\">stacks unwound by the objects' CFI"))
		fail_msg("the header does not say the stacks were unwound by CFI");
	/* churn: 50 blocks of 32 bytes, all freed: a hotspot, never a leak */
	{
		struct row_sum churn = rows_named(p.dom, "hotspots", "churn");

		assert_int_equal(churn.rows, 1);
		/* hotspots: allocations, bytes, in use at end, at peak, temporary */
		assert_int_equal((long)churn.v[0], 50);
		assert_int_equal((long)churn.v[1], 50 * 32);
		assert_int_equal((long)churn.v[2], 0);
		assert_int_equal((long)churn.v[4], 50);
		assert_int_equal(rows_named(p.dom, "leaks", "churn").rows, 0);
	}
	screenshot(html, "leaks", NULL);
	page_free(&p);
	cJSON_Delete(report);
	free(html);
}

/* -o FILE.html writes the same kind of page (and nothing else to FILE) */
static void test_html__output_option_with_html_suffix_writes_the_page(void **state)
{
	char *html = tmp_path("by-suffix.html"), *out = tmp_path("o.out"), *err = tmp_path("o.err");
	char *argv[] = { MEMSCOPE, "-o", html, "--", PROGS "leaks", NULL };
	char *text;
	int code = run(argv, out, err, 60);

	if (code != 0) {
		text = slurp(err);
		fail_msg("memscope-bpf -o '%s' exited %d:\n%s", html, code, text ? text : "");
	}
	text = slurp(html);
	assert_non_null(text);
	assert_int_equal(strncmp(text, "<!DOCTYPE html>", 15), 0);
	assert_non_null(strstr(text, "<script type=\"application/json\" id=\"report-data\">{\"schema\":"));
	free(text);
	free(html);
	free(out);
	free(err);
}

static void test_html__cxx_report_shows_new_and_new_array_leaks(void **state)
{
	char *html = tmp_path("cxx.html");
	cJSON *report = trace("cxx", html, NULL);
	struct page p = load(html, NULL);

	assert_rendered(&p, "cxx");
	assert_cards_match_json(p.dom, report);
	assert_leak_row(p.dom, "leak_new", 2, 48, "cxx.cc", "leak_new");
	assert_leak_row(p.dom, "leak_new_array", 1, 200, "cxx.cc", "leak_new_array");
	assert_leak_row(p.dom, "leak_nothrow", 1, 24, "cxx.cc", "leak_nothrow");
	assert_flame_frame(p.dom, "leak_new_array");
	screenshot(html, "cxx", "view=icicle");
	page_free(&p);
	cJSON_Delete(report);
	free(html);
}

/*
 * Fragmentation: the memory timeline draws malloc's footprint next to heap
 * in use, shown (not turned off in its legend), for tests/programs/frag,
 * which holds about twice what it has live at its end.
 */
static void test_html__timeline_draws_the_malloc_footprint(void **state)
{
	char *html = tmp_path("frag.html");
	cJSON *report = trace("frag", html, NULL);
	const cJSON *end = cJSON_GetObjectItem(cJSON_GetObjectItem(report, "fragmentation"), "at_end");
	struct page p = load(html, NULL);
	const char *label, *row;

	assert_rendered(&p, "frag");
	assert_non_null(end);
	assert_true(cJSON_GetObjectItem(end, "footprint_bytes")->valuedouble >
		    1.9 * cJSON_GetObjectItem(end, "live_bytes")->valuedouble);
	label = strstr(p.dom, "Malloc footprint (left axis)");
	assert_non_null(label);
	/* its legend row: uPlot marks a series not shown u-off */
	for (row = label; row > p.dom && strncmp(row, "<tr", 3); row--)
		;
	assert_true(row > p.dom);
	if (memmem(row, (size_t)(label - row), "u-off", 5))
		fail_msg("the footprint line is hidden");
	screenshot(html, "frag", NULL);
	page_free(&p);
	cJSON_Delete(report);
	free(html);
}

static void test_html__analysis_report_shows_peak_temporaries_threads_and_window(void **state)
{
	char *html = tmp_path("analysis.html");
	cJSON *report = trace("analysis", html, NULL);
	struct page p = load(html, NULL);
	struct row_sum s;

	assert_rendered(&p, "analysis");
	assert_cards_match_json(p.dom, report);
	assert_card(p.dom, "peak", 30000);
	assert_leak_row(p.dom, "small_leak", 1, 5000, "analysis.c", "small_leak");
	/* hotspots: allocations, bytes, in use at end, at peak, temporary */
	s = rows_named(p.dom, "hotspots", "peak_block");
	assert_int_equal((long)s.v[0], 3);
	assert_int_equal((long)s.v[3], 30000);
	s = rows_named(p.dom, "hotspots", "temp_loop");
	assert_int_equal((long)s.v[0], 100);
	assert_int_equal((long)s.v[4], 100);
	/* threads: tid, allocations, bytes, frees, blocks in use, bytes in use, temporary */
	s = rows_named(p.dom, "threads", "worker-1");
	assert_int_equal(s.rows, 1);
	assert_int_equal((long)s.v[1], 5);
	assert_int_equal((long)s.v[2], 5 * 128);
	assert_int_equal((long)s.v[4], 0);
	assert_non_null(strstr(p.dom, "id=\"timeline-memory\""));
	page_free(&p);

	/*
	 * The temporal view over the whole trace: blocks allocated in it and
	 * still in use at its end are the live ones; temp_loop's are all freed.
	 */
	p = load(html, "window=0,100000");
	assert_rendered(&p, "analysis, window");
	assert_non_null(strstr(p.dom, "id=\"window-label\""));
	s = rows_named(p.dom, "hotspots", "small_leak");
	assert_int_equal(s.rows, 1);
	/* window columns come last: blocks, bytes */
	assert_int_equal((long)s.v[s.nv - 2], 1);
	assert_int_equal((long)s.v[s.nv - 1], 5000);
	assert_int_equal(rows_named(p.dom, "hotspots", "temp_loop").rows, 0);
	assert_flame_frame(p.dom, "small_leak");
	screenshot(html, "analysis", NULL);
	page_free(&p);
	cJSON_Delete(report);
	free(html);
}

/* The function at stack id's allocation site in the JSON report, or "" */
static const char *site_function(const cJSON *report, long id)
{
	const cJSON *st, *f;

	cJSON_ArrayForEach(st, cJSON_GetObjectItem(report, "stacks")) {
		if ((long)json_num(st, "id") != id)
			continue;
		f = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "frames"),
				       (int)json_num(st, "site_frame"));
		f = cJSON_GetObjectItem(f, "function");
		return cJSON_IsString(f) ? f->valuestring : "";
	}
	return "";
}

/*
 * The thread filter on a real report: worker k = 2 of tests/programs/threads.c
 * made 3 blocks of 3000 bytes at thread_leak (leaked), 100 temporaries of 16
 * bytes at thread_churn and one of 1500 bytes at thread_handoff (main freed
 * it).  With #thread=TID the hotspots hold that thread's numbers at each
 * site, the leak sites only those where it allocated.
 */
static void test_html__thread_filter_shows_one_threads_sites_and_numbers(void **state)
{
	char *html = tmp_path("threads.html");
	cJSON *report = trace("threads", html, NULL);
	const cJSON *e;
	char fragment[64], note[64];
	long tid = -1;
	struct page p;
	struct row_sum s;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(report, "thread_sites")) {
		long stack = (long)cJSON_GetArrayItem(e, 1)->valuedouble;

		if (!strcmp(site_function(report, stack), "thread_leak") &&
		    cJSON_GetArrayItem(e, 2)->valuedouble == 3)
			tid = (long)cJSON_GetArrayItem(e, 0)->valuedouble;
	}
	if (tid < 0)
		fail_msg("no thread with 3 allocations at thread_leak in thread_sites");
	snprintf(fragment, sizeof(fragment), "thread=%ld", tid);
	p = load(html, fragment);
	assert_rendered(&p, "threads, one thread");
	/* the selector is enabled, the tables say whose stacks they show */
	if (strstr(p.dom, "<select id=\"thread\" disabled"))
		fail_msg("the thread selector is disabled on a report with thread_sites");
	snprintf(note, sizeof(note), "stacks where thread %ld", tid);
	if (!strstr(p.dom, note))
		fail_msg("no note '%s' in the page", note);
	/* hotspots under a thread: allocations, bytes, in use at end, temporary */
	s = rows_named(p.dom, "hotspots", "thread_leak");
	assert_int_equal(s.rows, 1);
	assert_int_equal((long)s.v[0], 3);
	assert_int_equal((long)s.v[1], 3 * 3000);
	assert_int_equal((long)s.v[2], 3 * 3000);
	if (!strstr(s.loc, "threads.c:"))
		fail_msg("thread_leak shown at '%s'", s.loc);
	s = rows_named(p.dom, "hotspots", "thread_churn");
	assert_int_equal(s.rows, 1);
	assert_int_equal((long)s.v[0], 100);
	assert_int_equal((long)s.v[1], 100 * 16);
	assert_int_equal((long)s.v[2], 0);
	assert_int_equal((long)s.v[3], 100);
	s = rows_named(p.dom, "hotspots", "thread_handoff");
	assert_int_equal(s.rows, 1);
	assert_int_equal((long)s.v[0], 1);
	assert_int_equal((long)s.v[1], 1500);
	assert_int_equal((long)s.v[2], 0);
	/* leak sites: thread_leak only, with this worker's own blocks live at exit */
	assert_leak_row(p.dom, "thread_leak", 3, 3 * 3000, "threads.c", "thread_leak");
	snprintf(note, sizeof(note), "blocks thread %ld ", tid);
	if (!strstr(p.dom, note) || !strstr(p.dom, "allocated that were live at exit"))
		fail_msg("no note '%s... allocated that were live at exit' in the page", note);
	{
		char *leaks = table_of(p.dom, "leaks");
		int rows = 0;

		for (char *tr = leaks; (tr = strstr(tr, "<tr data-")); tr++)
			rows++;
		free(leaks);
		assert_int_equal(rows, 1);
	}
	assert_flame_frame(p.dom, "thread_leak");
	screenshot(html, "threads-one-thread", fragment);
	page_free(&p);
	cJSON_Delete(report);
	free(html);
}

/* How many rows table id has (defined with the growth tests). */
static int table_rows(const char *dom, const char *id);

/* The pid of the entry of "processes" that leaked bytes, -1 when none. */
static long process_leaking(const cJSON *report, double bytes)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItem(report, "processes"))
		if (json_num(p, "leaked_bytes") == bytes)
			return (long)json_num(p, "pid");
	return -1;
}

/*
 * The process filter on a real report: tests/programs/forkleaks under -f (a
 * parent leaking 2 x 300 at parent_leak; child A 3 x 700 at child_a_leak and
 * 400 at child_a_realloc, releasing its 4 inherited blocks; child B 5000 at
 * child_b_leak and a double free).  With #process=PID the leak sites,
 * hotspots, findings and threads are that process's, with its summary; with
 * none every process's rows are there, each naming its pid.
 */
static void test_html__process_filter_shows_one_processs_sites_and_numbers(void **state)
{
	char *html = tmp_path("forkleaks.html");
	cJSON *report = trace_opt("forkleaks", html, "-f", NULL, 0);
	long target = (long)json_num(cJSON_GetObjectItem(report, "target"), "pid");
	long a = process_leaking(report, 3 * 700 + 400), b = process_leaking(report, 5000);
	char fragment[64], want[200];
	struct page p;
	struct row_sum s;

	(void)state;
	if (a < 0 || b < 0)
		fail_msg("forkleaks: no child leaking 2500 or 5000 bytes in 'processes'");
	/* all processes: every leak group, the process named last */
	p = load(html, NULL);
	assert_rendered(&p, "forkleaks, all processes");
	if (!strstr(p.dom, "<label id=\"process-label\">"))
		fail_msg("no process selector on a report with processes");
	assert_int_equal(table_rows(p.dom, "leaks"), 5);
	s = rows_named(p.dom, "leaks", "child_b_leak");
	assert_int_equal(s.rows, 1);
	assert_int_equal((long)s.v[0], 1);
	assert_int_equal((long)s.v[1], 5000);
	assert_int_equal((long)s.v[s.nv - 1], b);
	assert_int_equal(table_rows(p.dom, "findings"), 1);
	page_free(&p);

	/* child A: its two leak sites and hotspots, no finding, its numbers */
	snprintf(fragment, sizeof(fragment), "process=%ld", a);
	p = load(html, fragment);
	assert_rendered(&p, "forkleaks, child A");
	assert_int_equal(table_rows(p.dom, "leaks"), 2);
	assert_leak_row(p.dom, "child_a_leak", 3, 3 * 700, "forkleaks.c", "child_a_leak");
	assert_leak_row(p.dom, "child_a_realloc", 1, 400, "forkleaks.c", "child_a_realloc");
	assert_int_equal(rows_named(p.dom, "leaks", "parent_leak").rows, 0);
	s = rows_named(p.dom, "hotspots", "child_a_leak");
	assert_int_equal(s.rows, 1);
	/* hotspots: allocations, bytes, in use at end, at peak, temporary, process */
	assert_int_equal((long)s.v[0], 3);
	assert_int_equal((long)s.v[1], 3 * 700);
	assert_int_equal((long)s.v[2], 3 * 700);
	assert_int_equal((long)s.v[s.nv - 1], a);
	assert_int_equal(table_rows(p.dom, "hotspots"), 2);
	assert_int_equal(table_rows(p.dom, "findings"), 0);
	assert_int_equal(table_rows(p.dom, "threads"), 1);
	snprintf(want, sizeof(want), "Process %ld (forkleaks), forked by %ld: 4 allocations", a, target);
	if (!strstr(p.dom, want))
		fail_msg("no summary '%s' in the page", want);
	if (!strstr(p.dom, "4 blocks") || !strstr(p.dom, "0 unknown frees, 4 releases of its parent's blocks"))
		fail_msg("child A's summary lacks its leaks or its inherited frees");
	assert_flame_frame(p.dom, "child_a_leak");
	screenshot(html, "forkleaks-child-a", fragment);
	page_free(&p);

	/* child B: its leak and its double free */
	snprintf(fragment, sizeof(fragment), "process=%ld", b);
	p = load(html, fragment);
	assert_rendered(&p, "forkleaks, child B");
	assert_int_equal(table_rows(p.dom, "leaks"), 1);
	assert_leak_row(p.dom, "child_b_leak", 1, 5000, "forkleaks.c", "child_b_leak");
	assert_int_equal(table_rows(p.dom, "findings"), 1);
	if (!strstr(p.dom, "data-kind=\"double_free\""))
		fail_msg("child B's double free is not in the findings table");
	page_free(&p);

	/* a thread of child A chosen under the target: child A is chosen with it */
	snprintf(fragment, sizeof(fragment), "process=%ld&thread=%ld", target, a);
	p = load(html, fragment);
	assert_rendered(&p, "forkleaks, child A's thread under the target");
	assert_int_equal(table_rows(p.dom, "leaks"), 2);
	assert_leak_row(p.dom, "child_a_leak", 3, 3 * 700, "forkleaks.c", "child_a_leak");
	snprintf(want, sizeof(want), "Process %ld (forkleaks), forked by %ld:", a, target);
	if (!strstr(p.dom, want))
		fail_msg("child A is not the process chosen with its thread");
	page_free(&p);

	/* the target: its leak sites alone */
	snprintf(fragment, sizeof(fragment), "process=%ld", target);
	p = load(html, fragment);
	assert_rendered(&p, "forkleaks, the target");
	assert_int_equal(table_rows(p.dom, "leaks"), 2);
	assert_leak_row(p.dom, "parent_leak", 2, 600, "forkleaks.c", "parent_leak");
	assert_int_equal(table_rows(p.dom, "findings"), 0);
	page_free(&p);
	cJSON_Delete(report);
	free(html);
}

/* --unwind=dwarf on a dlopen'ed library: the header and a banner count the truncated stacks */
static void test_html__truncated_stacks_are_counted_in_the_header(void **state)
{
	char *html = tmp_path("dlopen.html"), want[160];
	cJSON *report = trace_opt("dlopen", html, "--unwind=dwarf", NULL, 0);
	double n = json_num(cJSON_GetObjectItem(report, "summary"), "truncated_stacks");
	struct page p = load(html, NULL);

	assert_rendered(&p, "dlopen");
	assert_true(n >= 1);
	snprintf(want, sizeof(want), "stacks unwound by the objects' CFI (frame pointers where there "
		 "is none) · %.0f stack%s truncated</div>", n, n == 1 ? "" : "s");
	assert_text(p.dom, want, "the truncated stacks in the header");
	assert_text(p.dom, "before the outermost frame (truncated)", "the truncated stacks' banner");
	page_free(&p);
	cJSON_Delete(report);
	free(html);
}

/* demo prints: stdout's buffer is live at exit, shown as the runtime's */
static void test_html__stdio_buffer_leak_is_shown_as_the_c_librarys(void **state)
{
	char *html = tmp_path("demo.html"), *leaks;
	cJSON *report = trace("demo", html, NULL);
	struct page p = load(html, NULL);

	assert_rendered(&p, "demo");
	leaks = table_of(p.dom, "leaks");
	assert_text(leaks, ">runtime: stdio buffer</td>", "the buffer's row");
	assert_text(leaks, ">the program</td>", "the program's rows");
	assert_text(p.dom, "of it kept by the C/C++ runtime</div>", "the Leaked card's note");
	screenshot(html, "demo", NULL);
	free(leaks);
	page_free(&p);
	cJSON_Delete(report);
	free(html);
}

static void test_html__double_free_report_shows_the_finding_with_its_stacks(void **state)
{
	/* with stacks, and --no-stacks: the same row, but the release has no call site there */
	const char *opts[] = { NULL, "--no-stacks" };
	const char *release[] = { "<td class=\"fn\">release_again", "(no call site: --no-stacks)" };
	char *html = tmp_path("double_free.html");

	if (access(PROGS "double_free", X_OK) != 0)
		fail_msg("'" PROGS "double_free' is missing");
	for (int m = 0; m < 2; m++) {
		cJSON *report;
		struct page p;
		char *findings;

		/* glibc aborts on the second free; the report is still complete */
		report = trace_opt("double_free", html, opts[m], NULL, 128 + SIGABRT);
		p = load(html, NULL);
		assert_rendered(&p, "double_free");
		findings = table_of(p.dom, "findings");
		if (!strstr(findings, "data-kind=\"double_free\""))
			fail_msg("no double_free row in the findings table (%s)",
				 opts[m] ? opts[m] : "stacks");
		if (!strstr(findings, release[m]))
			fail_msg("the double free's release is not shown as '%s'", release[m]);
		if (opts[m])
			assert_text(p.dom, "releases carry no call site", "the --no-stacks note");
		else
			screenshot(html, "double_free", NULL);
		free(findings);
		page_free(&p);
		cJSON_Delete(report);
	}
	free(html);
}

static void test_html__hostile_names_from_a_traced_program_show_as_text(void **state)
{
	char *html = tmp_path("hostile.html");
	cJSON *report = trace("hostile", html, "<script>alert(3)</script>");
	struct page p = load(html, NULL);
	struct row_sum s;

	assert_rendered(&p, "hostile");
	assert_no_injected_markup(p.dom);
	assert_text(p.dom, "<td class=\"fn\">&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
		    "&amp;lt;b&amp;gt;</td>", "the hostile function name");
	assert_text(p.dom, "&lt;img src=x onerror=alert(2)&gt;.c:3</td>", "the hostile file name");
	assert_text(p.dom, "<td class=\"fn\">&lt;img src=x&gt;</td>", "the hostile thread name");
	assert_text(p.dom, "&lt;script&gt;alert(3)&lt;/script&gt;", "the hostile command line");
	s = rows_named(p.dom, "leaks", "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&amp;lt;b&amp;gt;");
	assert_int_equal((long)s.v[1], 77);
	s = rows_named(p.dom, "leaks", "hostile_file");
	assert_int_equal((long)s.v[1], 55);
	screenshot(html, "hostile", NULL);
	page_free(&p);
	cJSON_Delete(report);
	free(html);
}

/* Every string of a hand-made report is markup; findings, variables and scopes too */
static const char hostile_json[] =
	"{\"schema\":\"memscope-bpf/report/1\",\"version\":\"<b>v</b>\","
	"\"target\":{\"pid\":1,\"comm\":\"<b>comm</b>\",\"cmdline\":\"</script><b>cmd</b>\","
	"\"launched\":true,\"exited\":true,\"exit_status\":0,\"exit_signal\":null,\"exit\":\"<b>exit</b>\"},"
	"\"processes\":[{\"pid\":2,\"ppid\":1,\"comm\":\"<b>proc</b>\",\"cmdline\":\"<b>pc</b>\","
	"\"start_t_us\":1,\"end_t_us\":2,\"exited\":true,\"exit_status\":0,\"exit_signal\":null,"
	"\"allocations\":1,\"frees\":0,\"bytes_allocated\":10,\"bytes_freed\":0,\"peak_bytes\":10,"
	"\"live_allocations\":1,\"live_bytes\":10,\"leaked_allocations\":1,\"leaked_bytes\":10,"
	"\"unknown_frees\":0,\"inherited_frees\":0}],"
	"\"tracing\":{\"stacks\":\"frame-pointer\",\"free_stacks\":\"caller-only\",\"probes\":1,"
	"\"allocators\":[\"<b>lib</b>.so\"],\"interval_us\":1000,\"leak_rule\":\"<b>rule</b>\",\"min_age_us\":0},"
	"\"summary\":{\"allocations\":3,\"frees\":1,\"bytes_allocated\":300,\"bytes_freed\":100,"
	"\"peak_bytes\":300,\"peak_t_us\":1500,\"live_allocations\":2,\"live_bytes\":200,"
	"\"leaked_allocations\":2,\"leaked_bytes\":200,\"temporary_allocations\":0,"
	"\"failed_allocations\":0,\"lost_events\":5,\"lost_stacks\":0,\"unknown_frees\":2,\"duration_us\":3000},"
	"\"stacks\":[{\"id\":1,\"truncated\":false,\"frames\":["
	"{\"ip\":\"0x1\",\"function\":\"</script><b>fn</b>\",\"file\":\"<b>file</b>.c\",\"line\":7,"
	"\"module\":\"<b>mod</b>\",\"inlined\":false},"
	"{\"ip\":\"0x2\",\"function\":\"main\",\"file\":\"m.c\",\"line\":1,\"module\":\"<b>mod</b>\",\"inlined\":false}],"
	"\"site_frame\":0},"
	"{\"id\":2,\"truncated\":false,\"frames\":[{\"ip\":\"0x3\",\"function\":\"free_site\",\"file\":null,"
	"\"line\":0,\"module\":null,\"inlined\":false}],\"site_frame\":0}],"
	"\"leaks\":[{\"stack\":1,\"count\":2,\"bytes\":200,\"oldest_age_us\":10,"
	"\"variables\":[\"<b>var</b>\"]}],"
	"\"findings\":[{\"kind\":\"double_free\",\"ptr\":\"0x10\",\"stack\":2,\"alloc_stack\":1,"
	"\"free_stack\":2,\"thread\":1,\"t_us\":20,\"occurrences\":1,\"function\":\"free\","
	"\"alloc_function\":\"malloc\",\"free_function\":\"free\",\"message\":\"<b>message</b>\"}],"
	"\"sites\":[{\"stack\":1,\"allocations\":3,\"bytes\":300,\"live_count\":2,\"live_bytes\":200,"
	"\"peak_count\":3,\"peak_bytes\":300,\"temporary\":0}],"
	"\"threads\":[{\"tid\":1,\"name\":\"<b>thr</b>\",\"allocations\":3,\"bytes\":300,\"frees\":1,"
	"\"live_count\":2,\"live_bytes\":200,\"temporary\":0}],"
	"\"thread_sites\":[[1,1,3,300,2,200,0]],"
	"\"timeline\":[{\"t_us\":1000,\"live_bytes\":100,\"allocations\":1,\"frees\":0,\"rss_bytes\":4096},"
	"{\"t_us\":2000,\"live_bytes\":300,\"allocations\":2,\"frees\":0,\"rss_bytes\":8192},"
	"{\"t_us\":3000,\"live_bytes\":200,\"allocations\":0,\"frees\":1,\"rss_bytes\":null}],"
	"\"peak\":{\"t_us\":1500,\"bytes\":300,\"sites\":[{\"stack\":1,\"bytes\":300,\"count\":3}]},"
	"\"histograms\":{\"sizes\":[{\"max\":127,\"count\":3}],\"lifetimes_us\":[{\"max\":1023,\"count\":1}]},"
	"\"windows\":{\"bucket_us\":1000,\"origin_us\":0,\"entries\":[[1,1,2,1,100],[1,1,-1,2,200]]},"
	"\"variables\":[{\"name\":\"<b>named</b>\",\"type\":\"<b>T</b>\",\"file\":\"<b>ann</b>.c\","
	"\"line\":3,\"ptr\":\"0x10\",\"block\":\"0x10\",\"size\":100,\"stack\":1,\"annotation_stack\":2,"
	"\"t_us\":5,\"freed\":false,\"lifetime_us\":null}],"
	"\"scopes\":[{\"name\":\"<b>scope</b>\",\"allocations\":3,\"bytes\":300}]}";

static void test_html__hostile_strings_in_every_field_show_as_text(void **state)
{
	char *json = tmp_path("hostile-fixture.json"), *html = tmp_path("hostile-fixture.html");
	char *argv[] = { EMBED, json, html, NULL };
	char *page, *data, *end;
	struct page p;
	FILE *f = fopen(json, "w");

	assert_non_null(f);
	fputs(hostile_json, f);
	fclose(f);
	char *out = tmp_path("embed.out"), *err = tmp_path("embed.err");

	assert_int_equal(run(argv, out, err, 30), 0);
	free(out);
	free(err);

	/* the embedded JSON holds no '<' at all, so nothing in it can end its element */
	page = slurp(html);
	data = strstr(page, "<script type=\"application/json\" id=\"report-data\">");
	assert_non_null(data);
	data = strchr(data, '>') + 1;
	end = strstr(data, "</script>");
	assert_non_null(end);
	*end = 0;
	assert_null(strchr(data, '<'));
	{
		cJSON *a = cJSON_Parse(data), *b = cJSON_Parse(hostile_json);

		assert_non_null(a);
		assert_true(cJSON_Compare(a, b, true));
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
	free(page);

	p = load(html, NULL);
	assert_rendered(&p, "hostile fixture");
	assert_no_injected_markup(p.dom);
	assert_text(p.dom, "&lt;b&gt;comm&lt;/b&gt;", "comm");
	assert_text(p.dom, "&lt;/script&gt;&lt;b&gt;cmd&lt;/b&gt;", "cmdline");
	assert_text(p.dom, "<td class=\"fn\">&lt;/script&gt;&lt;b&gt;fn&lt;/b&gt;</td>", "function");
	assert_text(p.dom, "&lt;b&gt;file&lt;/b&gt;.c:7", "file");
	assert_text(p.dom, "<td class=\"fn\">&lt;b&gt;thr&lt;/b&gt;</td>", "thread name");
	assert_text(p.dom, "<option value=\"2\">2 (&lt;b&gt;proc&lt;/b&gt;)</option>", "process name");
	assert_text(p.dom, "&lt;b&gt;message&lt;/b&gt;", "finding message");
	assert_text(p.dom, "&lt;b&gt;var&lt;/b&gt;", "variable of a leak");
	assert_text(p.dom, "<td class=\"fn\">&lt;b&gt;named&lt;/b&gt;</td>", "variable name");
	assert_text(p.dom, "<td class=\"fn\">&lt;b&gt;T&lt;/b&gt;</td>", "variable type");
	assert_text(p.dom, "&lt;b&gt;ann&lt;/b&gt;.c:3", "annotation file");
	assert_text(p.dom, "&lt;b&gt;scope&lt;/b&gt;", "scope");
	assert_text(p.dom, "&lt;b&gt;rule&lt;/b&gt;", "leak rule");
	/* lost events: the plain-words warning */
	assert_non_null(strstr(p.dom, "id=\"incomplete\""));
	/* the findings section is shown, its row carries its kind */
	assert_non_null(strstr(p.dom, "data-kind=\"double_free\""));
	page_free(&p);

	/* per-thread filter from thread_sites */
	p = load(html, "thread=1&metric=allocations");
	assert_rendered(&p, "hostile fixture, thread filter");
	assert_flame_frame(p.dom, "&lt;/script&gt;&lt;b&gt;fn&lt;/b&gt;");
	page_free(&p);
	screenshot(html, "hostile-fixture", NULL);
	free(json);
	free(html);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static bool find_chromium(void)
{
	const char *env = getenv("CHROMIUM"), *path = getenv("PATH");
	const char *names[] = { "chromium", "chromium-browser", "google-chrome", NULL };

	if (env && *env) {
		snprintf(chromium, sizeof(chromium), "%s", env);
		return access(chromium, X_OK) == 0;
	}
	for (int i = 0; names[i]; i++) {
		for (const char *p = path ? path : "/usr/bin"; *p;) {
			size_t n = strcspn(p, ":");

			snprintf(chromium, sizeof(chromium), "%.*s/%s", (int)n, p, names[i]);
			if (access(chromium, X_OK) == 0)
				return true;
			p += n + (p[n] == ':');
		}
	}
	return false;
}

static bool can_run(void)
{
	if (!find_chromium()) {
		fprintf(stderr, "html: NOT RUN: no chromium (apt-get install chromium, or CHROMIUM=path)\n");
		return false;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "html: NOT RUN: needs root (BPF and uprobes)\n");
		return false;
	}
	if (access(MEMSCOPE, X_OK) != 0 || access(EMBED, X_OK) != 0) {
		fprintf(stderr, "html: NOT RUN: build " MEMSCOPE " and " EMBED " first (make html)\n");
		return false;
	}
	return true;
}

/* ---- growing sites (docs/findings.md "Growth") ---- */

/* How many rows table id has. */
static int table_rows(const char *dom, const char *id)
{
	char *table = table_of(dom, id), *tr = table;
	int n = 0;

	while ((tr = strstr(tr, "<tr data-"))) {
		n++;
		tr++;
	}
	free(table);
	return n;
}

/*
 * tests/programs/grow.c: its steady site alone in the growing table, with
 * the JSON's slope and bytes, and its curve drawn (a uPlot canvas, its
 * legend naming the site); a short trace says that none grew and why.
 */
static void test_html__growing_sites_show_the_steady_site_and_its_curve(void **state)
{
	char *html = tmp_path("grow.html");
	cJSON *report = trace("grow", html, NULL);
	struct page p = load(html, NULL);
	const cJSON *growing = cJSON_GetObjectItem(report, "growing"), *g;
	const char *chart;
	struct row_sum s;

	assert_rendered(&p, "grow");
	assert_int_equal(cJSON_GetArraySize(growing), 1);
	g = cJSON_GetArrayItem(growing, 0);
	assert_string_equal(site_function(report, (long)json_num(g, "stack")), "grow_steady");
	if (!strstr(p.dom, "<section id=\"growth-section\" class=\"panel\">") ||
	    !strstr(p.dom, "id=\"growth-count\" class=\"count\">1<"))
		fail_msg("the growing sites' section is hidden or does not count 1");
	assert_int_equal(table_rows(p.dom, "growing"), 1);
	s = rows_named(p.dom, "growing", "grow_steady");
	assert_int_equal(s.rows, 1);
	/* columns: growth, fit, over, in use first, in use at end */
	assert_true(s.v[0] == json_num(g, "bytes_per_s"));
	assert_true(s.v[1] == json_num(g, "r2"));
	assert_int_equal((long)s.v[2], (long)json_num(g, "span_us"));
	assert_int_equal((long)s.v[4], 80 * 2048);
	chart = strstr(p.dom, "<div id=\"growth-curves\"");
	if (!chart || !strstr(chart, "<canvas") || !strstr(chart, "grow_steady +"))
		fail_msg("no growth curve for grow_steady");
	screenshot(html, "grow", NULL);
	page_free(&p);
	cJSON_Delete(report);

	report = trace("leaks", html, NULL);
	p = load(html, NULL);
	assert_rendered(&p, "leaks, growth");
	if (!strstr(p.dom, "id=\"growth-count\" class=\"count none\">0<") ||
	    !strstr(p.dom, "No site grew steadily (the trace lasted less than the 2 s the rule needs)."))
		fail_msg("a short trace's page does not say that no site grew, and why");
	assert_null(strstr(p.dom, "id=\"growth-curves\""));
	page_free(&p);
	cJSON_Delete(report);
	free(html);
}

/* ---- --all: the processes' table (docs/system-wide.md) ---- */

/*
 * memscope-bpf --all for 4 s while tests/programs/leaks runs once, 1.5 s
 * in: the processes' section is shown, counts the JSON's processes, and
 * has a row with leaks' pid and name; the target's notes are not repeated
 * once per process.
 */
static void test_html__all_shows_every_process_in_one_table(void **state)
{
	char *html = tmp_path("all.html"), *json = tmp_path("all.json");
	char *out = tmp_path("all.out"), *err = tmp_path("all.err");
	char *argv[] = { MEMSCOPE, "--all", "-d", "4", "--html", html, "--json", json, NULL };
	char count[64], cell[64], *text, *table;
	const cJSON *procs, *p;
	cJSON *report;
	struct page pg;
	bool found = false;
	pid_t child;
	int code, st;

	unlink(html);
	unlink(json);
	child = fork();
	if (child == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		usleep(1500000);
		execl(PROGS "leaks", PROGS "leaks", (char *)NULL);
		_exit(126);
	}
	code = run(argv, out, err, 60);
	waitpid(child, &st, 0);
	if (code != 0) {
		text = slurp(err);
		fail_msg("memscope-bpf --all exited %d:\n%s", code, text ? text : "");
	}
	text = slurp(json);
	assert_non_null(text);
	report = cJSON_Parse(text);
	free(text);
	assert_non_null(report);
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(report, "system_wide")));
	procs = cJSON_GetObjectItem(report, "processes");
	cJSON_ArrayForEach(p, procs)
		if ((pid_t)json_num(p, "pid") == child && !strcmp(cJSON_GetObjectItem(p, "comm")->valuestring, "leaks"))
			found = true;
	if (!found)
		fail_msg("leaks (pid %d) is not among the JSON's processes", (int)child);
	pg = load(html, NULL);
	assert_rendered(&pg, "all");
	snprintf(count, sizeof(count), "id=\"system-count\" class=\"count\">%d<", cJSON_GetArraySize(procs));
	if (!strstr(pg.dom, "<section id=\"system-section\" class=\"panel\">") || !strstr(pg.dom, count))
		fail_msg("the processes' section is hidden or does not count %d", cJSON_GetArraySize(procs));
	table = table_of(pg.dom, "system");
	snprintf(cell, sizeof(cell), ">%d</td>", (int)child);
	if (!strstr(table, cell) || !strstr(table, ">leaks</td>"))
		fail_msg("no row for leaks (pid %d) in the processes' table", (int)child);
	/* (the page's own script names the note too: a drawn one has a pid) */
	for (const char *n = pg.dom; (n = strstr(n, "Also traced (-f): pid ")); n++)
		if (n[22] >= '0' && n[22] <= '9')
			fail_msg("a note per process under --all");
	free(table);
	page_free(&pg);
	cJSON_Delete(report);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html__hostile_strings_in_every_field_show_as_text),
		cmocka_unit_test(test_html__leaks_report_lists_each_leak_site_with_exact_numbers),
		cmocka_unit_test(test_html__output_option_with_html_suffix_writes_the_page),
		cmocka_unit_test(test_html__cxx_report_shows_new_and_new_array_leaks),
		cmocka_unit_test(test_html__analysis_report_shows_peak_temporaries_threads_and_window),
		cmocka_unit_test(test_html__timeline_draws_the_malloc_footprint),
		cmocka_unit_test(test_html__thread_filter_shows_one_threads_sites_and_numbers),
		cmocka_unit_test(test_html__process_filter_shows_one_processs_sites_and_numbers),
		cmocka_unit_test(test_html__double_free_report_shows_the_finding_with_its_stacks),
		cmocka_unit_test(test_html__truncated_stacks_are_counted_in_the_header),
		cmocka_unit_test(test_html__hostile_names_from_a_traced_program_show_as_text),
		cmocka_unit_test(test_html__stdio_buffer_leak_is_shown_as_the_c_librarys),
		cmocka_unit_test(test_html__growing_sites_show_the_steady_site_and_its_curve),
		cmocka_unit_test(test_html__all_shows_every_process_in_one_table),
	};

	if (!can_run())
		return 77;
	/* HTML_FILTER: one glob of test names (cmocka 1.1 takes one), to run a subset */
	if (getenv("HTML_FILTER") && *getenv("HTML_FILTER"))
		cmocka_set_test_filter(getenv("HTML_FILTER"));
	return cmocka_run_group_tests_name("html", tests, setup, teardown);
}
