/* SPDX-License-Identifier: MIT */
/*
 * A streaming JSON writer: constant memory whatever the report's size, and
 * 64-bit integers written exactly.  Strings are escaped for JSON and also
 * made safe to embed in an HTML <script> block ('<', '>', '&', U+2028 and
 * U+2029 as \u escapes); bytes that are not valid UTF-8 become U+FFFD, so a
 * hostile name from the target cannot make the document invalid.
 *
 * key is the member name inside an object and must be NULL inside an array
 * or at the top.  Errors are sticky: check jw__error() at the end.
 */
#ifndef MS_JSON_WRITER_H
#define MS_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 32

struct json_writer {
	FILE *f;
	int depth;
	bool first[JW_MAX_DEPTH];
	bool pretty;
	bool error;
};

void jw__init(struct json_writer *w, FILE *f, bool pretty);
void jw__begin_object(struct json_writer *w, const char *key);
void jw__end_object(struct json_writer *w);
void jw__begin_array(struct json_writer *w, const char *key);
void jw__end_array(struct json_writer *w);
void jw__string(struct json_writer *w, const char *key, const char *s); /* NULL -> null */
void jw__uint(struct json_writer *w, const char *key, uint64_t v);
void jw__int(struct json_writer *w, const char *key, int64_t v);
void jw__double(struct json_writer *w, const char *key, double v);
void jw__bool(struct json_writer *w, const char *key, bool v);
void jw__null(struct json_writer *w, const char *key);
void jw__hex(struct json_writer *w, const char *key, uint64_t v); /* "0x1a2b" */
/* Writes s as a JSON string body (no quotes) to f; exposed for tests. */
void jw__escape(FILE *f, const char *s);
bool jw__error(const struct json_writer *w);

#endif
