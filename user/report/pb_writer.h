/* SPDX-License-Identifier: MIT */
/*
 * A protocol buffers encoder for the wire types profile.proto uses (varint,
 * length-delimited), into a growing buffer: no library and no schema, the
 * caller names the field numbers.  Fields are written in the order called.
 * A sub-message is begun, filled and ended; its length goes in front of it
 * when it ends.  The buffer is the writer's until pb__free(); allocation
 * failure exits (xmalloc).
 */
#ifndef MS_PB_WRITER_H
#define MS_PB_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pb_wire { PB_VARINT = 0, PB_LEN = 2 };

struct pb_writer {
	uint8_t *buf;
	size_t len, cap;
};

void pb__init(struct pb_writer *w);
void pb__free(struct pb_writer *w);

/* A bare base-128 varint, low group first. */
void pb__varint(struct pb_writer *w, uint64_t v);
/* A field's key: (field << 3) | wire. */
void pb__key(struct pb_writer *w, uint32_t field, enum pb_wire wire);
/* uint64, uint32 and bool fields. */
void pb__uint(struct pb_writer *w, uint32_t field, uint64_t v);
/* int64 fields: two's complement, so a negative value takes 10 bytes. */
void pb__int(struct pb_writer *w, uint32_t field, int64_t v);
/* bytes and string fields (the caller makes a string valid UTF-8). */
void pb__bytes(struct pb_writer *w, uint32_t field, const void *p, size_t n);
void pb__string(struct pb_writer *w, uint32_t field, const char *s);
/* Packed repeated uint64 / int64; nothing when n is 0. */
void pb__packed_uint(struct pb_writer *w, uint32_t field, const uint64_t *v, size_t n);
void pb__packed_int(struct pb_writer *w, uint32_t field, const int64_t *v, size_t n);

/* Bytes already encoded (fields another writer wrote), as they are. */
void pb__raw(struct pb_writer *w, const void *p, size_t n);

/* A sub-message in field: returns the mark to give pb__end() once it is written. */
size_t pb__begin(struct pb_writer *w, uint32_t field);
void pb__end(struct pb_writer *w, size_t mark);

/* Bytes v takes as a varint (1 to 10). */
size_t pb__varint_size(uint64_t v);

#endif
