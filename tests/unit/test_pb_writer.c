/* SPDX-License-Identifier: MIT */
/* The protocol buffers encoder: each wire form against bytes worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pb_writer.h"

static void assert_bytes(const struct pb_writer *w, const uint8_t *want, size_t n)
{
	assert_int_equal(w->len, n);
	assert_memory_equal(w->buf, want, n);
}

static void test_pb_writer__varints_take_seven_bits_a_byte_low_first(void **state)
{
	static const struct { uint64_t v; uint8_t bytes[10]; size_t n; } cases[] = {
		{ 0, { 0x00 }, 1 },
		{ 1, { 0x01 }, 1 },
		{ 127, { 0x7f }, 1 },
		{ 128, { 0x80, 0x01 }, 2 },
		{ 300, { 0xac, 0x02 }, 2 },
		{ 16384, { 0x80, 0x80, 0x01 }, 3 },
		{ UINT64_MAX, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 10 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb_writer w;

		pb__init(&w);
		pb__varint(&w, cases[i].v);
		assert_bytes(&w, cases[i].bytes, cases[i].n);
		assert_int_equal(pb__varint_size(cases[i].v), cases[i].n);
		pb__free(&w);
	}
}

static void test_pb_writer__fields_carry_number_and_wire_type(void **state)
{
	/* field 1 varint 150: the protobuf documentation's own example */
	static const uint8_t want[] = { 0x08, 0x96, 0x01,
					/* field 16 needs a two-byte key */
					0x80, 0x01, 0x05,
					/* int64 -1: ten bytes of two's complement */
					0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
					/* field 2 string "testing" */
					0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g',
					/* an empty string still has its key and length */
					0x32, 0x00 };
	struct pb_writer w;

	pb__init(&w);
	pb__uint(&w, 1, 150);
	pb__uint(&w, 16, 5);
	pb__int(&w, 2, -1);
	pb__string(&w, 2, "testing");
	pb__string(&w, 6, "");
	assert_bytes(&w, want, sizeof(want));
	pb__free(&w);
}

static void test_pb_writer__packed_repeated_is_one_length_delimited_field(void **state)
{
	static const uint64_t u[] = { 3, 270, 86942 };
	static const int64_t s[] = { 1, -2 };
	static const uint8_t want[] = { 0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05,
					0x12, 0x0b, 0x01, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					0xff, 0xff, 0x01 };
	struct pb_writer w;

	pb__init(&w);
	pb__packed_uint(&w, 4, u, 3);
	pb__packed_int(&w, 2, s, 2);
	/* nothing at all for no values */
	pb__packed_uint(&w, 7, u, 0);
	assert_bytes(&w, want, sizeof(want));
	pb__free(&w);
}

static void test_pb_writer__sub_messages_get_their_length_in_front(void **state)
{
	/* 3 { 17: 150 }: key 17 varint is 0x88 0x01 */
	static const uint8_t flat[] = { 0x1a, 0x04, 0x88, 0x01, 0x96, 0x01 };
	/* 3 { 17 { } }: an empty message inside, key 17 length-delimited is 0x8a 0x01 */
	static const uint8_t nested[] = { 0x1a, 0x03, 0x8a, 0x01, 0x00 };
	struct pb_writer w;
	size_t outer, inner;

	pb__init(&w);
	outer = pb__begin(&w, 3);
	pb__uint(&w, 17, 150);
	pb__end(&w, outer);
	assert_bytes(&w, flat, sizeof(flat));
	pb__free(&w);

	pb__init(&w);
	outer = pb__begin(&w, 3);
	inner = pb__begin(&w, 17);
	pb__end(&w, inner);
	pb__end(&w, outer);
	assert_bytes(&w, nested, sizeof(nested));
	pb__free(&w);
}

/* A body of 200 bytes needs a two-byte length: the body moves up by two, whole. */
static void test_pb_writer__long_sub_message_moves_its_body_for_the_length(void **state)
{
	struct pb_writer w;
	uint8_t body[200];
	size_t mark;

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)i;
	pb__init(&w);
	pb__uint(&w, 1, 7);
	mark = pb__begin(&w, 2);
	pb__raw(&w, body, sizeof(body));
	pb__end(&w, mark);
	assert_int_equal(w.len, 2 + 1 + 2 + sizeof(body));
	assert_int_equal(w.buf[2], 0x12);
	assert_int_equal(w.buf[3], 0xc8); /* 200 = 0x48 | 0x80, then 1 */
	assert_int_equal(w.buf[4], 0x01);
	assert_memory_equal(w.buf + 5, body, sizeof(body));
	pb__free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pb_writer__varints_take_seven_bits_a_byte_low_first),
		cmocka_unit_test(test_pb_writer__fields_carry_number_and_wire_type),
		cmocka_unit_test(test_pb_writer__packed_repeated_is_one_length_delimited_field),
		cmocka_unit_test(test_pb_writer__sub_messages_get_their_length_in_front),
		cmocka_unit_test(test_pb_writer__long_sub_message_moves_its_body_for_the_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
