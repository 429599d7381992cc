// SPDX-License-Identifier: MIT
/*
 * probe_site: the byte patterns are real prologues from glibc 2.36 and
 * libstdc++ (GCC 12) on Debian 12, plus hand-made edge cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "probe_site.h"

/* Copies code to a buffer of exactly len bytes, so that valgrind sees any read past it. */
static struct probe_site choose_exact(const uint8_t *code, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	struct probe_site site = { .offset = 99, .emulated = true };

	assert_non_null(buf);
	memcpy(buf, code, len);
	probe_site__choose(buf, len, &site);
	free(buf);
	return site;
}

static void expect_site(const uint8_t *code, size_t len, uint32_t offset, bool emulated)
{
	struct probe_site site = choose_exact(code, len);

	assert_int_equal(site.offset, offset);
	assert_int_equal(site.emulated, emulated);
}

#define EXPECT_SITE(offset, emulated, ...)                                     \
	do {                                                                   \
		static const uint8_t code_[] = { __VA_ARGS__ };                \
		expect_site(code_, sizeof(code_), offset, emulated);           \
	} while (0)

static size_t insn_len_exact(const uint8_t *code, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	size_t n;

	assert_non_null(buf);
	memcpy(buf, code, len);
	n = probe_site__insn_len(buf, len);
	free(buf);
	return n;
}

#define EXPECT_LEN(n, ...)                                                     \
	do {                                                                   \
		static const uint8_t code_[] = { __VA_ARGS__ };                \
		assert_int_equal(insn_len_exact(code_, sizeof(code_)), n);     \
	} while (0)

/* --- real prologues from this machine --- */

static void test_probe_site__glibc_free_skips_test_to_je(void **state)
{
	/* test %rdi,%rdi ; je */
	EXPECT_SITE(3, true, 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55);
}

static void test_probe_site__glibc_malloc_push_r12_at_entry(void **state)
{
	EXPECT_SITE(0, true, 0x41, 0x54, 0x55, 0x53, 0x48, 0x89, 0xfb);
}

static void test_probe_site__glibc_calloc_push_r13_at_entry(void **state)
{
	EXPECT_SITE(0, true, 0x41, 0x55, 0x48, 0x89, 0xf8);
}

static void test_probe_site__glibc_posix_memalign_skips_rip_relative_cmpb(void **state)
{
	/* cmpb $0x0,0x140201(%rip) ; push %r12 */
	EXPECT_SITE(7, true, 0x80, 0x3d, 0x01, 0x02, 0x14, 0x00, 0x00, 0x41, 0x54, 0x49, 0x89, 0xd4);
}

static void test_probe_site__glibc_aligned_alloc_skips_cmpb_to_je(void **state)
{
	/* cmpb $0x0,0x140e71(%rip) ; je */
	EXPECT_SITE(7, true, 0x80, 0x3d, 0x71, 0x0e, 0x14, 0x00, 0x00, 0x74, 0x07, 0xe9);
}

static void test_probe_site__glibc_valloc_skips_cmpb_to_push_rbx(void **state)
{
	EXPECT_SITE(7, true, 0x80, 0x3d, 0x31, 0x0e, 0x14, 0x00, 0x00, 0x53, 0x48, 0x89, 0xfb);
}

static void test_probe_site__glibc_reallocarray_stops_at_mul_writing_rdx(void **state)
{
	/* mov %rsi,%rax ; mul %rdx ; mov %rax,%rsi ; jo */
	EXPECT_SITE(0, false, 0x48, 0x89, 0xf0, 0x48, 0xf7, 0xe2, 0x48, 0x89, 0xc6, 0x70, 0x05);
}

static void test_probe_site__libstdcxx_new_walks_endbr_test_mov_eax_to_push(void **state)
{
	/* endbr64 ; test %rdi,%rdi ; mov $1,%eax ; push %rbx */
	EXPECT_SITE(0xc, true, 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85, 0xff, 0xb8, 0x01, 0x00, 0x00,
		    0x00, 0x53, 0x48, 0x0f, 0x45, 0xc7);
}

static void test_probe_site__libstdcxx_new_array_jmp_after_endbr(void **state)
{
	EXPECT_SITE(4, true, 0xf3, 0x0f, 0x1e, 0xfa, 0xe9, 0xf7, 0x02, 0xff, 0xff);
}

static void test_probe_site__libstdcxx_delete_jmp_after_endbr(void **state)
{
	EXPECT_SITE(4, true, 0xf3, 0x0f, 0x1e, 0xfa, 0xe9, 0x87, 0x2f, 0xff, 0xff, 0x0f, 0x1f, 0x80,
		    0x00, 0x00, 0x00, 0x00);
}

static void test_probe_site__libstdcxx_new_nothrow_stops_at_sub_rsp(void **state)
{
	/* endbr64 ; sub $8,%rsp ; call _Znwm@plt */
	EXPECT_SITE(0, false, 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x83, 0xec, 0x08, 0xe8, 0x13, 0x03, 0xff,
		    0xff);
}

static void test_probe_site__libstdcxx_sized_aligned_delete_stops_at_mov_to_rsi(void **state)
{
	/* endbr64 ; mov %rdx,%rsi ; jmp */
	EXPECT_SITE(0, false, 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x89, 0xd6, 0xe9, 0x74, 0x12, 0xff, 0xff);
}

/* --- what stops the walk --- */

static void test_probe_site__unknown_first_insn_gives_entry_single_stepped(void **state)
{
	EXPECT_SITE(0, false, 0x0f, 0x0b, 0x53);             /* ud2 */
	EXPECT_SITE(0, false, 0xc3, 0x53);                   /* ret */
	EXPECT_SITE(0, false, 0xcc, 0x53);                   /* int3 */
	EXPECT_SITE(0, false, 0x0f, 0x05, 0x53);             /* syscall */
	EXPECT_SITE(0, false, 0xff, 0xe0, 0x53);             /* jmp *%rax */
	EXPECT_SITE(0, false, 0x48, 0x99, 0x53);             /* cqo: writes rdx */
	EXPECT_SITE(0, false, 0x48, 0x87, 0xc7, 0x53);       /* xchg */
	EXPECT_SITE(0, false, 0xf0, 0x48, 0x01, 0x07, 0x53); /* lock add */
}

static void test_probe_site__push_after_sub_rsp_is_not_chosen(void **state)
{
	EXPECT_SITE(0, false, 0x48, 0x83, 0xec, 0x18, 0x53);
	EXPECT_SITE(0, false, 0x48, 0x81, 0xec, 0x00, 0x01, 0x00, 0x00, 0x53);
	EXPECT_SITE(0, false, 0x48, 0x8d, 0x64, 0x24, 0xf8, 0x53); /* lea -8(%rsp),%rsp */
}

static void test_probe_site__writes_to_argument_registers_stop_the_walk(void **state)
{
	EXPECT_SITE(0, false, 0x31, 0xff, 0x53);             /* xor %edi,%edi (zeroes the upper half) */
	EXPECT_SITE(0, false, 0x89, 0xc7, 0x53);             /* mov %eax,%edi */
	EXPECT_SITE(0, false, 0x48, 0x8b, 0x37, 0x53);       /* mov (%rdi),%rsi */
	EXPECT_SITE(0, false, 0x48, 0x83, 0xc7, 0x08, 0x53); /* add $8,%rdi */
	EXPECT_SITE(0, false, 0x48, 0x8d, 0x3d, 0, 0, 0, 0, 0x53); /* lea (%rip),%rdi */
	EXPECT_SITE(0, false, 0x0f, 0xb6, 0xd0, 0x53);       /* movzbl %al,%edx */
	EXPECT_SITE(0, false, 0xba, 0x01, 0, 0, 0, 0x53);    /* mov $1,%edx */
	EXPECT_SITE(0, false, 0x66, 0x83, 0xc6, 0x01, 0x53); /* add $1,%si */
	EXPECT_SITE(0, false, 0x41, 0x8b, 0x3c, 0x24, 0x53); /* mov (%r12),%edi: reg is edi */
}

static void test_probe_site__byte_register_without_rex_is_high_byte(void **state)
{
	/* mov $5,%dh writes rdx */
	EXPECT_SITE(0, false, 0xb6, 0x05, 0x53);
	/* with a REX prefix the same number is %sil */
	EXPECT_SITE(0, false, 0x40, 0xb6, 0x05, 0x53);
	/* mov $5,%ah: rax only */
	EXPECT_SITE(2, true, 0xb4, 0x05, 0x53);
	/* mov %dl,%ah (88 d4): destination ah */
	EXPECT_SITE(2, true, 0x88, 0xd4, 0x53);
	/* mov %al,%dh (88 c6) */
	EXPECT_SITE(0, false, 0x88, 0xc6, 0x53);
	/* xor %dh,%dh via 32 f6 */
	EXPECT_SITE(0, false, 0x32, 0xf6, 0x53);
}

static void test_probe_site__extended_registers_may_be_written(void **state)
{
	/* mov %rdx,%r12 ; push %rbp */
	EXPECT_SITE(3, true, 0x49, 0x89, 0xd4, 0x55);
	/* mov (%rdi),%r10: REX.R turns reg 2 (rdx) into r10 */
	EXPECT_SITE(3, true, 0x4c, 0x8b, 0x17, 0x53);
	/* lea -0x10(%rdi),%r14: REX.R turns reg 6 (rsi) into r14 */
	EXPECT_SITE(4, true, 0x4c, 0x8d, 0x77, 0xf0, 0x53);
	/* xor %r14d,%r14d ; mov $1,%r10d ; push %rbx */
	EXPECT_SITE(9, true, 0x45, 0x31, 0xf6, 0x41, 0xba, 0x01, 0x00, 0x00, 0x00, 0x53);
	/* movabs $imm64,%r11 ; push */
	EXPECT_SITE(10, true, 0x49, 0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 0x53);
}

static void test_probe_site__memory_destinations_are_fine_except_the_stack(void **state)
{
	/* movl $0,(%rdi) ; push */
	EXPECT_SITE(6, true, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x00, 0x53);
	/* mov %rdi,(%r12): SIB base r12, not rsp */
	EXPECT_SITE(4, true, 0x49, 0x89, 0x3c, 0x24, 0x53);
	/* mov %rdi,(%rsp) would overwrite the return address */
	EXPECT_SITE(0, false, 0x48, 0x89, 0x3c, 0x24, 0x53);
	EXPECT_SITE(0, false, 0x48, 0x89, 0x7c, 0x24, 0x08, 0x53);
	/* cmpq $0,(%rsp) only reads */
	EXPECT_SITE(5, true, 0x48, 0x83, 0x3c, 0x24, 0x00, 0x53);
}

static void test_probe_site__reads_and_compares_are_walked_over(void **state)
{
	/* cmp %rdi,%rsi ; cmp $5,%al ; testb $1,(%rdi) ; test $0x1000,%edi ; jne */
	EXPECT_SITE(14, true, 0x48, 0x39, 0xfe, 0x3c, 0x05, 0xf6, 0x07, 0x01, 0xf7, 0xc7, 0x00, 0x10,
		    0x00, 0x00, 0x75, 0x02);
	/* mov 0x0,%eax (SIB, no base, disp32) ; mov rip(%rip),%rax ; push */
	EXPECT_SITE(14, true, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x48, 0x8b, 0x05, 0, 0, 0, 0, 0x53);
	/* movzbl (%rdi),%eax ; movsbq 3(%rsi),%rcx ; push */
	EXPECT_SITE(8, true, 0x0f, 0xb6, 0x07, 0x48, 0x0f, 0xbe, 0x4e, 0x03, 0x53);
}

static void test_probe_site__branch_with_operand_size_prefix_is_not_a_site(void **state)
{
	/* the kernel refuses 0x66 on branches; this decoder does not know them either */
	EXPECT_SITE(0, false, 0x66, 0xe9, 0x00, 0x00, 0x53);
	EXPECT_LEN(0, 0x66, 0xe9, 0x00, 0x00);
	EXPECT_LEN(0, 0x66, 0x74, 0x00);
}

static void test_probe_site__push_takes_only_rex_41(void **state)
{
	EXPECT_LEN(2, 0x41, 0x57);
	EXPECT_LEN(0, 0x48, 0x53);
	EXPECT_LEN(0, 0x66, 0x53);
	EXPECT_SITE(0, false, 0x49, 0x50);
}

static void test_probe_site__emulated_kinds_at_entry(void **state)
{
	EXPECT_SITE(0, true, 0x55);                               /* push %rbp */
	EXPECT_SITE(0, true, 0x90);                               /* nop */
	EXPECT_SITE(0, true, 0x66, 0x90);                         /* xchg %ax,%ax */
	EXPECT_SITE(0, true, 0x0f, 0x1f, 0x44, 0x00, 0x00);       /* nopl 0(%rax,%rax) */
	EXPECT_SITE(0, true, 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00); /* nopw */
	EXPECT_SITE(0, true, 0xeb, 0x10);                         /* jmp rel8 */
	EXPECT_SITE(0, true, 0x7f, 0x10);                         /* jg rel8 */
	EXPECT_SITE(0, true, 0x0f, 0x8f, 0, 0, 0, 0);             /* jg rel32 */
	EXPECT_SITE(0, true, 0xe8, 0, 0, 0, 0);                   /* call rel32 */
}

static void test_probe_site__nop_with_segment_prefix_is_unknown(void **state)
{
	/* cs nopw: segment prefixes make uprobe registration fail outright */
	EXPECT_LEN(0, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00);
	EXPECT_SITE(0, false, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00);
	/* REX.B 0x90 is xchg %r8,%rax, not a nop */
	EXPECT_LEN(0, 0x41, 0x90);
}

static void test_probe_site__endbr64_alone_is_not_a_site(void **state)
{
	EXPECT_SITE(0, false, 0xf3, 0x0f, 0x1e, 0xfa);
	EXPECT_SITE(0, false, 0xf3, 0x0f, 0x1e, 0xfb, 0x53); /* endbr32 is unknown */
	EXPECT_SITE(0, false, 0xf3, 0x90, 0x53);             /* pause */
}

/* --- limits and bounds --- */

static void test_probe_site__walk_stops_after_16_insns(void **state)
{
	uint8_t code[64];
	size_t i;

	/* 15 x test %rdi,%rdi, then push: the 16th instruction is the site */
	for (i = 0; i < 15; i++)
		memcpy(code + 3 * i, "\x48\x85\xff", 3);
	code[45] = 0x53;
	expect_site(code, 46, 45, true);
	/* 16 x test, then push: too far */
	memcpy(code + 45, "\x48\x85\xff", 3);
	code[48] = 0x53;
	expect_site(code, 49, 0, false);
}

static void test_probe_site__walk_stops_after_64_bytes(void **state)
{
	static const uint8_t cmpb[] = { 0x80, 0x3d, 0, 0, 0, 0, 0 };
	uint8_t code[80];
	size_t i;

	/* 9 x 7-byte cmpb, push at 63: its last byte is the 64th */
	for (i = 0; i < 9; i++)
		memcpy(code + 7 * i, cmpb, sizeof(cmpb));
	code[63] = 0x53;
	expect_site(code, 64, 63, true);
	expect_site(code, 80, 63, true);
	/* 10 x cmpb, push at 70 */
	memcpy(code + 63, cmpb, sizeof(cmpb));
	code[70] = 0x53;
	expect_site(code, 71, 0, false);
}

static void test_probe_site__truncated_buffer_does_not_overrun(void **state)
{
	static const uint8_t free_code[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00 };
	static const uint8_t new_code[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85, 0xff, 0xb8,
					    0x01, 0x00, 0x00, 0x00, 0x53 };
	size_t len;

	/* every cut short of the site's last byte falls back to 0 */
	for (len = 0; len < sizeof(free_code); len++)
		expect_site(free_code, len, 0, false);
	expect_site(free_code, sizeof(free_code), 3, true);
	for (len = 0; len < sizeof(new_code); len++)
		expect_site(new_code, len, 0, false);
	expect_site(new_code, sizeof(new_code), 12, true);
	EXPECT_LEN(0, 0xe9, 0x00, 0x00);           /* jmp rel32 cut short */
	EXPECT_LEN(0, 0x48, 0xb8, 1, 2, 3, 4, 5);  /* movabs cut short */
	EXPECT_LEN(0, 0x8b, 0x04);                 /* SIB missing */
	EXPECT_LEN(0, 0x8b, 0x84, 0x24, 0, 0, 0);  /* disp32 cut short */
}

static void test_probe_site__null_or_empty_code_gives_entry(void **state)
{
	struct probe_site site = { .offset = 5, .emulated = true };

	probe_site__choose(NULL, 10, &site);
	assert_int_equal(site.offset, 0);
	assert_false(site.emulated);
	assert_int_equal(probe_site__insn_len(NULL, 10), 0);
	expect_site((const uint8_t *)"", 0, 0, false);
}

static void test_probe_site__instruction_longer_than_15_bytes_is_unknown(void **state)
{
	uint8_t code[16];

	memset(code, 0x66, 15);
	code[15] = 0x90;
	assert_int_equal(insn_len_exact(code, 16), 0);
	assert_int_equal(insn_len_exact(code + 1, 15), 15);
}

static void test_probe_site__insn_len_of_known_encodings(void **state)
{
	EXPECT_LEN(4, 0xf3, 0x0f, 0x1e, 0xfa);                   /* endbr64 */
	EXPECT_LEN(3, 0x48, 0x85, 0xff);                         /* test */
	EXPECT_LEN(7, 0x80, 0x3d, 1, 2, 3, 4, 5);                /* cmpb rip-relative */
	EXPECT_LEN(5, 0x66, 0x81, 0x3f, 0x34, 0x12);             /* cmpw $imm16,(%rdi) */
	EXPECT_LEN(4, 0x66, 0xb8, 0x34, 0x12);                   /* mov $imm16,%ax */
	EXPECT_LEN(10, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8);      /* movabs */
	EXPECT_LEN(7, 0x48, 0xc7, 0xc0, 1, 0, 0, 0);             /* mov $1,%rax: imm32 */
	EXPECT_LEN(8, 0x48, 0x8b, 0x84, 0x24, 0x10, 0, 0, 0);    /* mov 0x10(%rsp),%rax */
	EXPECT_LEN(5, 0x48, 0x8b, 0x44, 0x24, 0x10);             /* disp8 with SIB */
	EXPECT_LEN(7, 0x8b, 0x04, 0x25, 0, 0, 0, 0);             /* SIB without base */
	EXPECT_LEN(4, 0x48, 0x83, 0xec, 0x08);                   /* sub $8,%rsp: known, not walked */
	EXPECT_LEN(6, 0x0f, 0x84, 0, 0, 0, 0);                   /* je rel32 */
	EXPECT_LEN(2, 0x41, 0x54);                               /* push %r12 */
	EXPECT_LEN(7, 0x0f, 0x1f, 0x80, 0, 0, 0, 0);             /* nopl 0(%rax) */
	EXPECT_LEN(2, 0x34, 0x01);                               /* xor $1,%al */
	EXPECT_LEN(5, 0x3d, 0, 1, 0, 0);                         /* cmp $imm32,%eax */
	EXPECT_LEN(4, 0x66, 0x3d, 0, 1);                         /* cmp $imm16,%ax */
	EXPECT_LEN(0, 0xf7, 0xe2);                               /* mul */
	EXPECT_LEN(0, 0x67, 0x8b, 0x07);                         /* address-size prefix */
	EXPECT_LEN(0, 0x8d, 0xc0);                               /* lea with a register operand */
}

/* Random bytes: whatever is chosen must lie inside the buffer, and valgrind must stay quiet. */
static void test_probe_site__random_bytes_stay_in_bounds(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t code[64];
	int iter;
	size_t i, len;

	for (iter = 0; iter < 20000; iter++) {
		struct probe_site site;
		size_t n;

		len = iter % 65;
		for (i = 0; i < len; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* bias towards bytes the decoder knows, or it would stop at once */
			code[i] = (x >> 8) & 1 ? "\x48\x85\xff\x80\x3d\x53\x41\x66\x0f\x1f\x89\xe9"[x % 12]
					       : (uint8_t)(x >> 16);
		}
		site = choose_exact(code, len);
		if (site.emulated) {
			n = insn_len_exact(code + site.offset, len - site.offset);
			assert_true(n > 0);
			assert_true(site.offset + n <= len);
		} else {
			assert_int_equal(site.offset, 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_site__glibc_free_skips_test_to_je),
		cmocka_unit_test(test_probe_site__glibc_malloc_push_r12_at_entry),
		cmocka_unit_test(test_probe_site__glibc_calloc_push_r13_at_entry),
		cmocka_unit_test(test_probe_site__glibc_posix_memalign_skips_rip_relative_cmpb),
		cmocka_unit_test(test_probe_site__glibc_aligned_alloc_skips_cmpb_to_je),
		cmocka_unit_test(test_probe_site__glibc_valloc_skips_cmpb_to_push_rbx),
		cmocka_unit_test(test_probe_site__glibc_reallocarray_stops_at_mul_writing_rdx),
		cmocka_unit_test(test_probe_site__libstdcxx_new_walks_endbr_test_mov_eax_to_push),
		cmocka_unit_test(test_probe_site__libstdcxx_new_array_jmp_after_endbr),
		cmocka_unit_test(test_probe_site__libstdcxx_delete_jmp_after_endbr),
		cmocka_unit_test(test_probe_site__libstdcxx_new_nothrow_stops_at_sub_rsp),
		cmocka_unit_test(test_probe_site__libstdcxx_sized_aligned_delete_stops_at_mov_to_rsi),
		cmocka_unit_test(test_probe_site__unknown_first_insn_gives_entry_single_stepped),
		cmocka_unit_test(test_probe_site__push_after_sub_rsp_is_not_chosen),
		cmocka_unit_test(test_probe_site__writes_to_argument_registers_stop_the_walk),
		cmocka_unit_test(test_probe_site__byte_register_without_rex_is_high_byte),
		cmocka_unit_test(test_probe_site__extended_registers_may_be_written),
		cmocka_unit_test(test_probe_site__memory_destinations_are_fine_except_the_stack),
		cmocka_unit_test(test_probe_site__reads_and_compares_are_walked_over),
		cmocka_unit_test(test_probe_site__branch_with_operand_size_prefix_is_not_a_site),
		cmocka_unit_test(test_probe_site__push_takes_only_rex_41),
		cmocka_unit_test(test_probe_site__emulated_kinds_at_entry),
		cmocka_unit_test(test_probe_site__nop_with_segment_prefix_is_unknown),
		cmocka_unit_test(test_probe_site__endbr64_alone_is_not_a_site),
		cmocka_unit_test(test_probe_site__walk_stops_after_16_insns),
		cmocka_unit_test(test_probe_site__walk_stops_after_64_bytes),
		cmocka_unit_test(test_probe_site__truncated_buffer_does_not_overrun),
		cmocka_unit_test(test_probe_site__null_or_empty_code_gives_entry),
		cmocka_unit_test(test_probe_site__instruction_longer_than_15_bytes_is_unknown),
		cmocka_unit_test(test_probe_site__insn_len_of_known_encodings),
		cmocka_unit_test(test_probe_site__random_bytes_stay_in_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
