// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "pb_writer.h"
#include "util.h"

void pb__init(struct pb_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void pb__free(struct pb_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static void reserve(struct pb_writer *w, size_t n)
{
	if (w->len + n <= w->cap)
		return;
	while (w->len + n > w->cap)
		w->cap = w->cap ? w->cap * 2 : 256;
	w->buf = xrealloc(w->buf, w->cap);
}

size_t pb__varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* The varint of v at p, which has room for it; returns its length. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

void pb__varint(struct pb_writer *w, uint64_t v)
{
	reserve(w, 10);
	w->len += put_varint(w->buf + w->len, v);
}

void pb__key(struct pb_writer *w, uint32_t field, enum pb_wire wire)
{
	pb__varint(w, (uint64_t)field << 3 | wire);
}

void pb__uint(struct pb_writer *w, uint32_t field, uint64_t v)
{
	pb__key(w, field, PB_VARINT);
	pb__varint(w, v);
}

void pb__int(struct pb_writer *w, uint32_t field, int64_t v)
{
	pb__uint(w, field, (uint64_t)v);
}

void pb__raw(struct pb_writer *w, const void *p, size_t n)
{
	reserve(w, n);
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void pb__bytes(struct pb_writer *w, uint32_t field, const void *p, size_t n)
{
	pb__key(w, field, PB_LEN);
	pb__varint(w, n);
	pb__raw(w, p, n);
}

void pb__string(struct pb_writer *w, uint32_t field, const char *s)
{
	pb__bytes(w, field, s, strlen(s));
}

void pb__packed_uint(struct pb_writer *w, uint32_t field, const uint64_t *v, size_t n)
{
	size_t mark;

	if (!n)
		return;
	mark = pb__begin(w, field);
	for (size_t i = 0; i < n; i++)
		pb__varint(w, v[i]);
	pb__end(w, mark);
}

void pb__packed_int(struct pb_writer *w, uint32_t field, const int64_t *v, size_t n)
{
	/* read through the unsigned type (C allows it): the same two's complement varints */
	pb__packed_uint(w, field, (const uint64_t *)v, n);
}

size_t pb__begin(struct pb_writer *w, uint32_t field)
{
	pb__key(w, field, PB_LEN);
	return w->len;
}

/* The content written since mark moves up to make room for its length. */
void pb__end(struct pb_writer *w, size_t mark)
{
	size_t body = w->len - mark, n = pb__varint_size(body);

	reserve(w, n);
	memmove(w->buf + mark + n, w->buf + mark, body);
	put_varint(w->buf + mark, body);
	w->len += n;
}
