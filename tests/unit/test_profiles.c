// SPDX-License-Identifier: MIT
/*
 * The pprof and folded renderers on one heap made by hand, with stacks of
 * this test's own return addresses (symbolized against this process: real
 * functions, lines, an inlined call, a mapping and a build id).  The pprof
 * bytes are gunzipped and decoded back here, field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "heap.h"
#include "memscope_events.h"
#include "report_input.h"
#include "stacks.h"
#include "symbolize.h"

/* --- return addresses to symbolize --- */

#ifdef __clang__
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif

static volatile uint64_t keep;

static NOINLINE uint64_t here(void)
{
	uint64_t ra = (uint64_t)(uintptr_t)__builtin_return_address(0);

	keep = ra;
	return ra;
}

static NOINLINE uint64_t plain_caller(int *line)
{
	uint64_t ra;

	*line = __LINE__; ra = here();
	keep = ra;
	return ra;
}

static inline __attribute__((always_inline)) uint64_t inlined_callee(int *line)
{
	uint64_t ra;

	*line = __LINE__; ra = here();
	return ra;
}

/* lines[0]: the call in inlined_callee, lines[1]: where it was inlined */
static NOINLINE uint64_t inlining_caller(int lines[2])
{
	uint64_t ra;

	lines[1] = __LINE__; ra = inlined_callee(&lines[0]);
	keep = ra;
	return ra;
}

/* --- the fixture --- */

struct fixture {
	struct heap *h;
	struct stack_table *stacks;
	struct symbolizer *sym;
	struct report_input in;
	struct report *r;
	uint64_t ip_plain, ip_inlined;
	int line_plain, lines_inlined[2];
	uint32_t s_plain, s_both;
};

static void do_malloc(struct fixture *f, uint64_t ptr, uint64_t size, uint32_t stack)
{
	struct alloc_call c = { .fn = MS_FN_MALLOC, .tid = 1, .ts_ns = 1000 + ptr, .ptr = ptr,
				.size = size, .stack = stack };

	heap__alloc(f->h, &c);
}

static void do_free(struct fixture *f, uint64_t ptr)
{
	struct free_call c = { .fn = MS_FN_FREE, .tid = 1, .ts_ns = 5000 + ptr, .ptr = ptr };

	heap__release(f->h, &c);
}

/*
 * s_plain: [plain_caller]: 3 allocations of 100, one freed.
 * s_both: [inlining_caller's address, plain_caller's]: 1 of 7, freed.
 */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint64_t ips[2];

	f->ip_plain = plain_caller(&f->line_plain);
	f->ip_inlined = inlining_caller(f->lines_inlined);
	f->h = heap__new(16);
	f->stacks = stack_table__new();
	f->sym = symbolizer__new(getpid(), NULL);
	assert_non_null(f->sym);
	f->s_plain = stack_table__add(f->stacks, 0x11, &f->ip_plain, 1, false);
	ips[0] = f->ip_inlined;
	ips[1] = f->ip_plain;
	f->s_both = stack_table__add(f->stacks, 0x22, ips, 2, false);
	do_malloc(f, 0x1000, 100, f->s_plain);
	do_malloc(f, 0x2000, 100, f->s_plain);
	do_malloc(f, 0x3000, 100, f->s_plain);
	do_free(f, 0x2000);
	do_malloc(f, 0x4000, 7, f->s_both);
	do_free(f, 0x4000);
	f->in = (struct report_input){ .pid = getpid(), .comm = "t", .cmdline = "t",
				       .exit_text = "exited", .exited = true, .heap = f->h,
				       .stacks = f->stacks, .sym = f->sym, .alloc_stacks = true,
				       .start_ns = 1000, .end_ns = 3000001000ull,
				       .start_wall_ns = 1700000000000000000ull };
	f->r = report__build(&f->in);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	report__free(f->r);
	symbolizer__free(f->sym);
	heap__free(f->h);
	stack_table__free(f->stacks);
	free(f);
	return 0;
}

/* What renderer wrote, as a string (the caller frees). */
static char *render(struct fixture *f, bool pprof, enum report_value v, size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);

	assert_non_null(out);
	assert_int_equal(pprof ? report__write_pprof(f->r, out) :
				 report__write_folded(f->r, out, v), 0);
	fclose(out);
	return text;
}

/* --- a profile.proto decoder for the fields the renderer writes --- */

#define MAX_ITEMS 64

struct span {
	const uint8_t *p;
	size_t n;
};

struct location {
	uint64_t id, mapping_id, address;
	uint64_t line_fn[8];
	int64_t line[8];
	size_t nlines;
};

struct profile {
	struct span strs[MAX_ITEMS];
	size_t nstrs;
	int64_t sample_types[REPORT_VALUE__COUNT][2];
	size_t ntypes;
	uint64_t sample_locs[MAX_ITEMS][8];
	size_t nsample_locs[MAX_ITEMS];
	int64_t values[MAX_ITEMS][REPORT_VALUE__COUNT];
	size_t nsamples;
	struct location locs[MAX_ITEMS];
	size_t nlocs;
	int64_t fn[MAX_ITEMS][4]; /* id, name, system_name, filename */
	size_t nfns;
	uint64_t maps[MAX_ITEMS][10]; /* the fields 1..10 */
	size_t nmaps;
	int64_t default_type, time_nanos, duration_nanos, period;
};

static uint64_t get_varint(struct span *s)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		assert_true(s->n > 0);
		v |= (uint64_t)(s->p[0] & 0x7f) << shift;
		s->n--;
		if (!(*s->p++ & 0x80))
			return v;
	}
	fail_msg("varint longer than 10 bytes");
	return 0;
}

/* The next field of s: false at its end.  A length-delimited one comes in *body. */
static bool next_field(struct span *s, uint32_t *field, uint64_t *v, struct span *body)
{
	uint64_t key;

	if (!s->n)
		return false;
	key = get_varint(s);
	*field = (uint32_t)(key >> 3);
	if ((key & 7) == 0) {
		*v = get_varint(s);
		return true;
	}
	assert_int_equal(key & 7, 2); /* only varints and length-delimited fields are written */
	body->n = get_varint(s);
	assert_true(body->n <= s->n);
	body->p = s->p;
	s->p += body->n;
	s->n -= body->n;
	return true;
}

/* Packed varints, or one unpacked (both are valid encodings of a repeated field). */
static size_t get_repeated(struct span *body, uint64_t v, bool packed, uint64_t *out, size_t max)
{
	size_t n = 0;

	if (!packed) {
		out[0] = v;
		return 1;
	}
	while (body->n && n < max)
		out[n++] = get_varint(body);
	return n;
}

static void decode_location(struct span s, struct location *l)
{
	struct span body;
	uint32_t field;
	uint64_t v;

	while (next_field(&s, &field, &v, &body)) {
		if (field == 1)
			l->id = v;
		else if (field == 2)
			l->mapping_id = v;
		else if (field == 3)
			l->address = v;
		else if (field == 4) {
			struct span line = body;
			uint32_t lf;
			uint64_t lv;
			struct span unused;

			assert_true(l->nlines < 8);
			while (next_field(&line, &lf, &lv, &unused)) {
				if (lf == 1)
					l->line_fn[l->nlines] = lv;
				else if (lf == 2)
					l->line[l->nlines] = (int64_t)lv;
			}
			l->nlines++;
		}
	}
}

static void decode_sample(struct profile *p, struct span s)
{
	size_t i = p->nsamples++;
	struct span body;
	uint32_t field;
	uint64_t v, vals[REPORT_VALUE__COUNT];

	assert_true(i < MAX_ITEMS);
	while (next_field(&s, &field, &v, &body)) {
		if (field == 1) {
			p->nsample_locs[i] = get_repeated(&body, v, true, p->sample_locs[i], 8);
		} else if (field == 2) {
			assert_int_equal(get_repeated(&body, v, true, vals, REPORT_VALUE__COUNT),
					 REPORT_VALUE__COUNT);
			for (int k = 0; k < REPORT_VALUE__COUNT; k++)
				p->values[i][k] = (int64_t)vals[k];
		}
	}
}

/* The varint fields 1..max of a message into out[field - 1]. */
static void decode_flat(struct span s, uint64_t *out, uint32_t max)
{
	struct span body;
	uint32_t field;
	uint64_t v;

	while (next_field(&s, &field, &v, &body))
		if (field >= 1 && field <= max)
			out[field - 1] = v;
}

static void decode(const uint8_t *data, size_t n, struct profile *p)
{
	struct span s = { data, n }, body;
	uint32_t field;
	uint64_t v, flat[10];

	memset(p, 0, sizeof(*p));
	while (next_field(&s, &field, &v, &body)) {
		memset(flat, 0, sizeof(flat));
		switch (field) {
		case 1:
			decode_flat(body, flat, 2);
			assert_true(p->ntypes < REPORT_VALUE__COUNT);
			p->sample_types[p->ntypes][0] = (int64_t)flat[0];
			p->sample_types[p->ntypes++][1] = (int64_t)flat[1];
			break;
		case 2:
			decode_sample(p, body);
			break;
		case 3:
			assert_true(p->nmaps < MAX_ITEMS);
			decode_flat(body, p->maps[p->nmaps++], 10);
			break;
		case 4:
			assert_true(p->nlocs < MAX_ITEMS);
			decode_location(body, &p->locs[p->nlocs++]);
			break;
		case 5:
			decode_flat(body, flat, 4);
			assert_true(p->nfns < MAX_ITEMS);
			for (int k = 0; k < 4; k++)
				p->fn[p->nfns][k] = (int64_t)flat[k];
			p->nfns++;
			break;
		case 6:
			assert_true(p->nstrs < MAX_ITEMS);
			p->strs[p->nstrs++] = body;
			break;
		case 9:
			p->time_nanos = (int64_t)v;
			break;
		case 10:
			p->duration_nanos = (int64_t)v;
			break;
		case 12:
			p->period = (int64_t)v;
			break;
		case 14:
			p->default_type = (int64_t)v;
			break;
		}
	}
}

static bool str_is(const struct profile *p, int64_t i, const char *want)
{
	assert_true(i >= 0 && (size_t)i < p->nstrs);
	return p->strs[i].n == strlen(want) && !memcmp(p->strs[i].p, want, p->strs[i].n);
}

static const struct location *location(const struct profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->nlocs; i++)
		if (p->locs[i].id == id)
			return &p->locs[i];
	fail_msg("no location %llu", (unsigned long long)id);
	return NULL;
}

static const int64_t *function(const struct profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->nfns; i++)
		if ((uint64_t)p->fn[i][0] == id)
			return p->fn[i];
	fail_msg("no function %llu", (unsigned long long)id);
	return NULL;
}

/* The gunzipped pprof output of f (gzip: windowBits 15 + 16), decoded. */
static void pprof_of(struct fixture *f, struct profile *p, uint8_t **raw)
{
	size_t len, cap = 1 << 20;
	char *gz = render(f, true, 0, &len);
	z_stream z = { 0 };

	*raw = malloc(cap);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)len;
	z.next_out = *raw;
	z.avail_out = (uInt)cap;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	decode(*raw, z.total_out, p);
	inflateEnd(&z);
	free(gz);
}

/* --- tests --- */

static void test_profiles__pprof_header_names_the_four_values_and_the_times(void **state)
{
	struct fixture *f = *state;
	static const char *types[][2] = { { "alloc_objects", "count" }, { "alloc_space", "bytes" },
					  { "inuse_objects", "count" }, { "inuse_space", "bytes" } };
	struct profile *p = calloc(1, sizeof(*p));
	uint8_t *raw;

	pprof_of(f, p, &raw);
	assert_true(p->nstrs > 0);
	assert_int_equal(p->strs[0].n, 0);
	assert_int_equal(p->ntypes, 4);
	for (int i = 0; i < 4; i++) {
		assert_true(str_is(p, p->sample_types[i][0], types[i][0]));
		assert_true(str_is(p, p->sample_types[i][1], types[i][1]));
	}
	assert_true(str_is(p, p->default_type, "inuse_space"));
	assert_int_equal(p->time_nanos, 1700000000000000000ll);
	assert_int_equal(p->duration_nanos, 3000000000ll);
	assert_int_equal(p->period, 1);
	free(raw);
	free(p);
}

/* The sample of a stack: its values, and its locations' functions and lines, leaf first. */
static void test_profiles__pprof_sample_per_site_with_inlined_lines_innermost_first(void **state)
{
	struct fixture *f = *state;
	struct profile *p = calloc(1, sizeof(*p));
	int plain = -1, both = -1;
	uint8_t *raw;

	pprof_of(f, p, &raw);
	assert_int_equal(p->nsamples, 2);
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct location *leaf = location(p, p->sample_locs[i][0]);

		if (p->nsample_locs[i] == 1) {
			/* s_plain: 3 allocations, 300 bytes, 2 live of 200 bytes */
			int64_t want[] = { 3, 300, 2, 200 };

			assert_memory_equal(p->values[i], want, sizeof(want));
			assert_int_equal(leaf->address, f->ip_plain - 1);
			assert_int_equal(leaf->nlines, 1);
			assert_true(str_is(p, function(p, leaf->line_fn[0])[1], "plain_caller"));
			assert_int_equal(leaf->line[0], f->line_plain);
			plain = (int)i;
		} else {
			int64_t want[] = { 1, 7, 0, 0 };

			assert_int_equal(p->nsample_locs[i], 2);
			assert_memory_equal(p->values[i], want, sizeof(want));
			/* one location for the address: the inlined callee, then its caller */
			assert_int_equal(leaf->nlines, 2);
			assert_true(str_is(p, function(p, leaf->line_fn[0])[1], "inlined_callee"));
			assert_int_equal(leaf->line[0], f->lines_inlined[0]);
			assert_true(str_is(p, function(p, leaf->line_fn[1])[1], "inlining_caller"));
			assert_int_equal(leaf->line[1], f->lines_inlined[1]);
			both = (int)i;
		}
	}
	assert_true(plain >= 0 && both >= 0);
	/* the same address in two stacks is one location */
	assert_int_equal(p->sample_locs[both][1], p->sample_locs[plain][0]);
	assert_int_equal(p->nlocs, 2);
	free(raw);
	free(p);
}

/* This test binary's mapping: its range holds the addresses, its file and build id. */
static void test_profiles__pprof_mapping_holds_the_addresses_with_file_and_build_id(void **state)
{
	struct fixture *f = *state;
	struct profile *p = calloc(1, sizeof(*p));
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	uint8_t *raw;

	assert_true(n > 0);
	self[n] = 0;
	pprof_of(f, p, &raw);
	assert_int_equal(p->nmaps, 1);
	for (size_t i = 0; i < p->nlocs; i++) {
		assert_int_equal(p->locs[i].mapping_id, p->maps[0][0]);
		assert_true(p->locs[i].address >= p->maps[0][1] &&
			    p->locs[i].address < p->maps[0][2]);
	}
	assert_true(str_is(p, (int64_t)p->maps[0][4], self));
	/* gcc and clang on Debian write a 20-byte GNU build id */
	assert_int_equal(p->strs[p->maps[0][5]].n, 40);
	for (int k = 6; k <= 9; k++)
		assert_int_equal(p->maps[0][k], 1); /* functions, files, lines, inlined */
	free(raw);
	free(p);
}

static void test_profiles__folded_outermost_first_one_line_per_nonzero_site(void **state)
{
	struct fixture *f = *state;
	char want[1024], file[] = __FILE__;
	size_t len;
	char *text;

	/* in use: only s_plain holds bytes */
	text = render(f, false, REPORT_INUSE_SPACE, &len);
	snprintf(want, sizeof(want), "plain_caller (%s:%d) 200\n", file, f->line_plain);
	assert_string_equal(text, want);
	free(text);

	text = render(f, false, REPORT_ALLOC_OBJECTS, &len);
	snprintf(want, sizeof(want),
		 "plain_caller (%s:%d) 3\n"
		 "plain_caller (%s:%d);inlining_caller (%s:%d);inlined_callee (%s:%d)_[i] 1\n",
		 file, f->line_plain, file, f->line_plain, file, f->lines_inlined[1], file,
		 f->lines_inlined[0]);
	assert_string_equal(text, want);
	free(text);
}

static void test_profiles__safe_text_replaces_invalid_utf8_controls_and_chosen_bytes(void **state)
{
	char buf[64];

	assert_string_equal(report__safe_text("a;b\nc\xff" "d\xc2\x9b" "e\xc3\xa9", ";", buf,
					      sizeof(buf)),
			    "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd" "d\xef\xbf\xbd"
			    "e\xc3\xa9");
	assert_string_equal(report__safe_text(NULL, NULL, buf, sizeof(buf)), "");
	/* cut at a character boundary: U+FFFD takes 3 bytes and does not fit in 4 after "ab" */
	assert_string_equal(report__safe_text("ab\x01", NULL, buf, 5), "ab");
	assert_string_equal(report__safe_text("\xc3\xa9\xc3\xa9", NULL, buf, 4), "\xc3\xa9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_profiles__pprof_header_names_the_four_values_and_the_times, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_profiles__pprof_sample_per_site_with_inlined_lines_innermost_first,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_profiles__pprof_mapping_holds_the_addresses_with_file_and_build_id,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_profiles__folded_outermost_first_one_line_per_nonzero_site, setup,
			teardown),
		cmocka_unit_test(
			test_profiles__safe_text_replaces_invalid_utf8_controls_and_chosen_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
