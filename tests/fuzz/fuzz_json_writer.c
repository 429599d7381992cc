// SPDX-License-Identifier: MIT
/*
 * The JSON writer on arbitrary bytes.  First the input as a string (up to
 * its first NUL), written as both a member's name and its value: the output
 * must parse (cJSON), decode to the input with each byte that is not valid
 * UTF-8 replaced by U+FFFD, and hold none of what must not reach an HTML
 * <script> block raw ('<', '>', '&', U+2028, U+2029) nor a control character.
 * Then the input as a program of writer calls (objects, arrays, strings,
 * numbers): the document must parse, with as many values as were written.
 */
#include <cjson/cJSON.h>

#include "fuzz.h"
#include "json_writer.h"

#define MAX_DEPTH (JW_MAX_DEPTH - 2)

/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 when none. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1fu;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0fu;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < (n == 2 ? 0x80u : n == 3 ? 0x800u : 0x10000u) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* s with each byte that starts no valid sequence replaced by U+FFFD. */
static char *expected_text(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str), o = 0;
	char *out = malloc(3 * len + 1);

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(s + i, len - i);

		if (n) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = 0;
	return out;
}

static void check_raw(const char *doc, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)doc[i];

		if (c < 0x20 || c == '<' || c == '>' || c == '&')
			fuzz_fail("raw byte 0x%02x at %zu of the document", c, i);
		if (c == 0xe2 && i + 2 < len && (unsigned char)doc[i + 1] == 0x80 &&
		    ((unsigned char)doc[i + 2] == 0xa8 || (unsigned char)doc[i + 2] == 0xa9))
			fuzz_fail("raw U+2028/U+2029 at %zu of the document", i);
	}
}

static void string_round_trip(const char *s)
{
	struct json_writer w;
	char *doc = NULL, *want;
	size_t len = 0;
	cJSON *root, *m;
	FILE *f = open_memstream(&doc, &len);

	jw__init(&w, f, false);
	jw__begin_object(&w, NULL);
	jw__string(&w, s, s);
	jw__end_object(&w);
	if (jw__error(&w))
		fuzz_fail("writer error");
	fclose(f);
	check_raw(doc, len);
	root = cJSON_ParseWithOpts(doc, NULL, 1);
	if (!root || !cJSON_IsObject(root))
		fuzz_fail("not a JSON object: %s", doc);
	m = root->child;
	if (!m || m->next || !cJSON_IsString(m) || !m->string)
		fuzz_fail("not one string member: %s", doc);
	want = expected_text(s);
	if (strcmp(m->string, want) || strcmp(m->valuestring, want))
		fuzz_fail("decodes to other text: %s", doc);
	free(want);
	cJSON_Delete(root);
	free(doc);
}

struct prog {
	const uint8_t *p, *end;
	int kind[MAX_DEPTH + 1]; /* 'o' or 'a' at each open depth */
	int depth;
	size_t values;           /* containers and scalars written */
};

static uint64_t take_u64(struct prog *g)
{
	uint64_t v = 0;
	size_t n = (size_t)(g->end - g->p) < 8 ? (size_t)(g->end - g->p) : 8;

	memcpy(&v, g->p, n);
	g->p += n;
	return v;
}

/* A string of the length the next byte gives (bounded by what is left); caller frees. */
static char *take_str(struct prog *g)
{
	size_t n = g->p < g->end ? *g->p++ : 0;
	char *s;

	if (n > (size_t)(g->end - g->p))
		n = (size_t)(g->end - g->p);
	s = fuzz_cstr(g->p, n);
	g->p += n;
	return s;
}

/* One writer call from the program; false once the top value is closed. */
static bool step(struct prog *g, struct json_writer *w)
{
	uint8_t op = g->p < g->end ? *g->p++ : 2;
	char *key = g->depth && g->kind[g->depth] == 'o' ? take_str(g) : NULL, *s;
	double d;

	switch (op % 10) {
	case 0:
	case 1:
		if (g->depth == MAX_DEPTH)
			break;
		if (op % 10 == 0)
			jw__begin_object(w, key);
		else
			jw__begin_array(w, key);
		g->kind[++g->depth] = op % 10 == 0 ? 'o' : 'a';
		g->values++;
		break;
	case 2:
		if (!g->depth)
			break;
		if (g->kind[g->depth--] == 'o')
			jw__end_object(w);
		else
			jw__end_array(w);
		break;
	case 3:
		s = take_str(g);
		jw__string(w, key, op & 0x80 ? NULL : s);
		free(s);
		g->values++;
		break;
	case 4:
		jw__uint(w, key, take_u64(g));
		g->values++;
		break;
	case 5:
		jw__int(w, key, (int64_t)take_u64(g));
		g->values++;
		break;
	case 6:
		{
			uint64_t bits = take_u64(g);

			memcpy(&d, &bits, sizeof(d));
		}
		jw__double(w, key, d);
		g->values++;
		break;
	case 7:
		jw__bool(w, key, op & 0x80);
		g->values++;
		break;
	case 8:
		jw__null(w, key);
		g->values++;
		break;
	case 9:
		jw__hex(w, key, take_u64(g));
		g->values++;
		break;
	}
	free(key);
	return g->depth > 0;
}

static size_t count_values(const cJSON *v)
{
	size_t n = 1;

	for (const cJSON *c = v->child; c; c = c->next)
		n += count_values(c);
	return n;
}

static void program(const uint8_t *data, size_t size)
{
	struct prog g = { .p = data, .end = data + size };
	struct json_writer w;
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);
	cJSON *root;

	jw__init(&w, f, size & 1);
	/* the top value is a container: a scalar alone would end the program at once */
	g.kind[++g.depth] = size & 2 ? 'a' : 'o';
	if (g.kind[1] == 'a')
		jw__begin_array(&w, NULL);
	else
		jw__begin_object(&w, NULL);
	g.values = 1;
	while (step(&g, &w))
		;
	if (jw__error(&w))
		fuzz_fail("writer error");
	fclose(f);
	root = cJSON_ParseWithOpts(doc, NULL, 1);
	if (!root)
		fuzz_fail("not JSON: %s", doc);
	if (count_values(root) != g.values)
		fuzz_fail("%zu values parsed, %zu written: %s", count_values(root), g.values, doc);
	cJSON_Delete(root);
	free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);

	string_round_trip(s);
	free(s);
	program(data, size);
	return 0;
}
