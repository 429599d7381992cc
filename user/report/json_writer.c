// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json_writer.h"
#include "util.h"

void jw__init(struct json_writer *w, FILE *f, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	w->pretty = pretty;
	w->first[0] = true;
}

static void indent(struct json_writer *w)
{
	if (!w->pretty)
		return;
	fputc('\n', w->f);
	for (int i = 0; i < w->depth; i++)
		fputs("  ", w->f);
}

void jw__escape(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		int n = ms_utf8_len(s);

		if (n == 0) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		if (n == 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
			fprintf(f, "\\u%04x", s[2] == 0xa8 ? 0x2028 : 0x2029);
		} else if (n > 1) {
			fwrite(s, 1, n, f);
		} else if (*s == '"' || *s == '\\') {
			fputc('\\', f);
			fputc(*s, f);
		} else if (*s == '\n') {
			fputs("\\n", f);
		} else if (*s == '\t') {
			fputs("\\t", f);
		} else if (*s < 0x20 || *s == '<' || *s == '>' || *s == '&' || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s);
		} else {
			fputc(*s, f);
		}
		s += n;
	}
}

static void member(struct json_writer *w, const char *key)
{
	if (w->depth > 0) {
		if (!w->first[w->depth])
			fputc(',', w->f);
		w->first[w->depth] = false;
		indent(w);
	}
	if (key) {
		fputc('"', w->f);
		jw__escape(w->f, key);
		fputs(w->pretty ? "\": " : "\":", w->f);
	}
}

static void open_(struct json_writer *w, const char *key, char c)
{
	member(w, key);
	fputc(c, w->f);
	if (w->depth + 1 >= JW_MAX_DEPTH) {
		w->error = true;
		return;
	}
	w->first[++w->depth] = true;
}

static void close_(struct json_writer *w, char c)
{
	bool empty = w->first[w->depth];

	if (w->depth == 0) {
		w->error = true;
		return;
	}
	w->depth--;
	if (!empty)
		indent(w);
	fputc(c, w->f);
	if (w->depth == 0 && w->pretty)
		fputc('\n', w->f);
}

void jw__begin_object(struct json_writer *w, const char *key) { open_(w, key, '{'); }
void jw__end_object(struct json_writer *w) { close_(w, '}'); }
void jw__begin_array(struct json_writer *w, const char *key) { open_(w, key, '['); }
void jw__end_array(struct json_writer *w) { close_(w, ']'); }

void jw__string(struct json_writer *w, const char *key, const char *s)
{
	member(w, key);
	if (!s) {
		fputs("null", w->f);
		return;
	}
	fputc('"', w->f);
	jw__escape(w->f, s);
	fputc('"', w->f);
}

void jw__uint(struct json_writer *w, const char *key, uint64_t v)
{
	member(w, key);
	fprintf(w->f, "%" PRIu64, v);
}

void jw__int(struct json_writer *w, const char *key, int64_t v)
{
	member(w, key);
	fprintf(w->f, "%" PRId64, v);
}

void jw__double(struct json_writer *w, const char *key, double v)
{
	member(w, key);
	if (isfinite(v))
		fprintf(w->f, "%.6g", v);
	else
		fputs("null", w->f);
}

void jw__bool(struct json_writer *w, const char *key, bool v)
{
	member(w, key);
	fputs(v ? "true" : "false", w->f);
}

void jw__null(struct json_writer *w, const char *key)
{
	member(w, key);
	fputs("null", w->f);
}

void jw__hex(struct json_writer *w, const char *key, uint64_t v)
{
	member(w, key);
	fprintf(w->f, "\"0x%" PRIx64 "\"", v);
}

bool jw__error(const struct json_writer *w)
{
	return w->error || w->depth != 0 || ferror(w->f);
}
