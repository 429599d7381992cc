// SPDX-License-Identifier: MIT
/*
 * unwind_table: the rows built from this test binary's own .eh_frame for
 * small functions written in assembly with known CFI, found at run time
 * through /proc/self/maps as the BPF unwinder finds them (file offsets).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "procmaps.h"
#include "unwind_table.h"

/*
 * uwt_frame: a frame-pointer prologue and epilogue; uwt_expr: a CFA given
 * by a DWARF expression (as in PLT entries; a lone DW_OP_bregN would be
 * register + offset, which the builder takes as such), then by rsp again;
 * uwt_outer: the return address undefined (as in _start).  Each is
 * followed by a gap of code without CFI (uwt_gap*).  Byte offsets: push
 * %rbp 1, mov %rsp,%rbp 3, sub $0x20,%rsp 4, nop 1, leave 1, ret 1.
 */
__asm__(".text\n"
	".globl uwt_frame\n"
	".type uwt_frame,@function\n"
	"uwt_frame:\n"
	".cfi_startproc\n"
	"push %rbp\n"                  /* +0 */
	".cfi_def_cfa_offset 16\n"
	".cfi_offset rbp, -16\n"
	"mov %rsp, %rbp\n"             /* +1 */
	".cfi_def_cfa_register rbp\n"
	"sub $0x20, %rsp\n"            /* +4 */
	"nop\n"                        /* +8 */
	"leave\n"                      /* +9 */
	".cfi_def_cfa rsp, 8\n"
	"ret\n"                        /* +10 */
	".cfi_endproc\n"
	".size uwt_frame, .-uwt_frame\n"
	"uwt_gap1:\n"
	"nop; nop; nop; nop\n"
	".globl uwt_expr\n"
	".type uwt_expr,@function\n"
	"uwt_expr:\n"
	".cfi_startproc\n"
	/* DW_CFA_def_cfa_expression: DW_OP_breg7 (rsp) 8, DW_OP_deref */
	".cfi_escape 0x0f, 0x03, 0x77, 0x08, 0x06\n"
	"nop\n"                        /* +0 */
	".cfi_def_cfa rsp, 8\n"
	"ret\n"                        /* +1 */
	".cfi_endproc\n"
	".size uwt_expr, .-uwt_expr\n"
	"uwt_gap2:\n"
	"nop; nop; nop; nop\n"
	".globl uwt_outer\n"
	".type uwt_outer,@function\n"
	"uwt_outer:\n"
	".cfi_startproc\n"
	".cfi_undefined rip\n"
	"nop\n"
	"ret\n"
	".cfi_endproc\n"
	".size uwt_outer, .-uwt_outer\n"
	"uwt_gap3:\n"
	"nop; nop; nop; nop\n");

void uwt_frame(void);
void uwt_expr(void);
void uwt_outer(void);

struct fixture {
	struct ms_unwind_row *rows;
	size_t n;
};

/* The file offset of code address addr in this process, as BPF computes it. */
static uint32_t file_offset_of(const void *addr)
{
	uint64_t a = (uintptr_t)addr;
	struct procmaps *p = procmaps__new(getpid());
	struct procmap *v = NULL;
	uint32_t off = 0;
	ssize_t n;

	assert_non_null(p);
	n = procmaps__read(p, &v);
	for (ssize_t i = 0; i < n; i++) {
		if (a >= v[i].start && a < v[i].end) {
			off = (uint32_t)(a - v[i].start + v[i].offset);
			break;
		}
	}
	free(v);
	procmaps__free(p);
	assert_int_not_equal(off, 0);
	return off;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	int fd = open("/proc/self/exe", O_RDONLY);

	if (fd < 0 || unwind_table__build(fd, &fx->rows, &fx->n)) {
		free(fx);
		return -1;
	}
	close(fd);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	free(fx->rows);
	free(fx);
	return 0;
}

static const struct ms_unwind_row *at(void **state, const void *fn, uint32_t delta)
{
	struct fixture *fx = *state;
	const struct ms_unwind_row *r;

	r = unwind_table__lookup(fx->rows, fx->n, file_offset_of(fn) + delta);
	assert_non_null(r);
	return r;
}

static void assert_row(const struct ms_unwind_row *r, int rule, int cfa_off, int rbp_rule,
		       int rbp_off)
{
	assert_int_equal(r->rule, rule);
	assert_int_equal(r->cfa_off, cfa_off);
	assert_int_equal(r->rbp_rule, rbp_rule);
	assert_int_equal(r->rbp_off, rbp_off);
}

static void test_unwind_table__frame_pointer_prologue_rows(void **state)
{
	uint32_t base = file_offset_of((const void *)uwt_frame);

	/* at entry: the return address at [rsp] */
	assert_row(at(state, (const void *)uwt_frame, 0), MS_UW_CFA_RSP, 8, MS_UW_RBP_SAME, 0);
	assert_int_equal(at(state, (const void *)uwt_frame, 0)->pc, base);
	/* after push %rbp */
	assert_row(at(state, (const void *)uwt_frame, 1), MS_UW_CFA_RSP, 16, MS_UW_RBP_AT_CFA, -16);
	assert_row(at(state, (const void *)uwt_frame, 3), MS_UW_CFA_RSP, 16, MS_UW_RBP_AT_CFA, -16);
	/* after mov %rsp,%rbp, through the body, mid-instruction too */
	assert_row(at(state, (const void *)uwt_frame, 4), MS_UW_CFA_RBP, 16, MS_UW_RBP_AT_CFA, -16);
	assert_row(at(state, (const void *)uwt_frame, 6), MS_UW_CFA_RBP, 16, MS_UW_RBP_AT_CFA, -16);
	assert_row(at(state, (const void *)uwt_frame, 9), MS_UW_CFA_RBP, 16, MS_UW_RBP_AT_CFA, -16);
	assert_int_equal(at(state, (const void *)uwt_frame, 9)->pc, base + 4);
	/* after leave: rsp again (rbp's rule is not reset by the assembler) */
	assert_row(at(state, (const void *)uwt_frame, 10), MS_UW_CFA_RSP, 8, MS_UW_RBP_AT_CFA, -16);
	/* the gap after the function has no CFI */
	assert_row(at(state, (const void *)uwt_frame, 11), MS_UW_NONE, 0, 0, 0);
	assert_row(at(state, (const void *)uwt_frame, 14), MS_UW_NONE, 0, 0, 0);
}

static void test_unwind_table__expression_cfa_is_unsupported(void **state)
{
	assert_row(at(state, (const void *)uwt_expr, 0), MS_UW_UNSUPPORTED, 0, 0, 0);
	assert_row(at(state, (const void *)uwt_expr, 1), MS_UW_CFA_RSP, 8, MS_UW_RBP_SAME, 0);
	assert_row(at(state, (const void *)uwt_expr, 2), MS_UW_NONE, 0, 0, 0);
}

static void test_unwind_table__undefined_return_address_is_outermost(void **state)
{
	assert_row(at(state, (const void *)uwt_outer, 0), MS_UW_OUTERMOST, 0, 0, 0);
	assert_row(at(state, (const void *)uwt_outer, 1), MS_UW_OUTERMOST, 0, 0, 0);
	assert_row(at(state, (const void *)uwt_outer, 2), MS_UW_NONE, 0, 0, 0);
}

static void test_unwind_table__rows_sorted_and_merged(void **state)
{
	struct fixture *fx = *state;

	assert_true(fx->n > 10);
	for (size_t i = 1; i < fx->n; i++) {
		assert_true(fx->rows[i].pc > fx->rows[i - 1].pc);
		/* a row that changed nothing would have been merged */
		assert_false(fx->rows[i].rule == fx->rows[i - 1].rule &&
			     fx->rows[i].cfa_off == fx->rows[i - 1].cfa_off &&
			     fx->rows[i].rbp_rule == fx->rows[i - 1].rbp_rule &&
			     fx->rows[i].rbp_off == fx->rows[i - 1].rbp_off);
	}
}

static void test_unwind_table__lookup_edges(void **state)
{
	const struct ms_unwind_row rows[] = {
		{ .pc = 0x10, .rule = MS_UW_CFA_RSP, .cfa_off = 8 },
		{ .pc = 0x20, .rule = MS_UW_CFA_RSP, .cfa_off = 16 },
		{ .pc = 0x30, .rule = MS_UW_NONE },
	};

	assert_null(unwind_table__lookup(rows, 3, 0x0f));
	assert_null(unwind_table__lookup(rows, 0, 0x10));
	assert_ptr_equal(unwind_table__lookup(rows, 3, 0x10), &rows[0]);
	assert_ptr_equal(unwind_table__lookup(rows, 3, 0x1f), &rows[0]);
	assert_ptr_equal(unwind_table__lookup(rows, 3, 0x20), &rows[1]);
	assert_ptr_equal(unwind_table__lookup(rows, 3, 0x2f), &rows[1]);
	assert_ptr_equal(unwind_table__lookup(rows, 3, 0xffffffff), &rows[2]);
}

/*
 * An object whose CFI is only in .debug_frame (built without unwind tables,
 * with -g): tests/programs/lib/plugin.c as the Makefile builds it for this
 * test.  At -O2 plugin_leak is push %rbx (1 byte) ... pop %rbx, ret.
 */
#define DEBUGFRAME_LIB "build/programs/libplugin-debugframe.so"

static void test_unwind_table__debug_frame_when_there_is_no_eh_frame(void **state)
{
	struct ms_unwind_row *rows;
	const struct ms_unwind_row *r;
	uint32_t off;
	void *h = dlopen("./" DEBUGFRAME_LIB, RTLD_NOW);
	void *fn;
	size_t n;
	int fd;

	if (!h)
		fail_msg("cannot load the fixture: %s", dlerror());
	fn = dlsym(h, "plugin_leak");
	assert_non_null(fn);
	off = file_offset_of(fn);
	fd = open(DEBUGFRAME_LIB, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(unwind_table__build(fd, &rows, &n), 0);
	close(fd);
	r = unwind_table__lookup(rows, n, off);
	assert_non_null(r);
	assert_int_equal(r->pc, off);
	assert_row(r, MS_UW_CFA_RSP, 8, MS_UW_RBP_SAME, 0);
	assert_row(unwind_table__lookup(rows, n, off + 1), MS_UW_CFA_RSP, 16, MS_UW_RBP_SAME, 0);
	/* the pop before the ret */
	r = unwind_table__lookup(rows, n, off + 1);
	assert_row(unwind_table__lookup(rows, n, r[1].pc), MS_UW_CFA_RSP, 8, MS_UW_RBP_SAME, 0);
	assert_int_equal(r[1].pc + 1, r[2].pc);
	assert_int_equal(r[2].rule, MS_UW_NONE);
	free(rows);
	dlclose(h);
}

/*
 * CFI that names register 100000000 (tests/programs/lib/absurd_cfi.c): the
 * object is refused (-EINVAL, no rows) before libdw would zero a frame of
 * that many registers; real objects' CFI is taken as before.
 */
#define ABSURD_LIB "build/programs/libabsurd-cfi.so"

static void test_unwind_table__absurd_cfi_register_refused_before_libdw(void **state)
{
	const char *real[] = { "/lib/x86_64-linux-gnu/libc.so.6",
			       "/lib64/ld-linux-x86-64.so.2" };
	struct ms_unwind_row *rows = (void *)1;
	size_t n = 1;
	int fd = open(ABSURD_LIB, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(unwind_table__build(fd, &rows, &n), -EINVAL);
	assert_null(rows);
	assert_int_equal(n, 0);
	close(fd);
	for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		fd = open(real[i], O_RDONLY);
		if (fd < 0)
			continue;
		assert_int_equal(unwind_table__build(fd, &rows, &n), 0);
		assert_true(n > 100);
		free(rows);
		close(fd);
	}
}

static void test_unwind_table__not_elf_is_einval(void **state)
{
	char path[] = "/tmp/uwt-not-elf.XXXXXX";
	struct ms_unwind_row *rows = (void *)1;
	size_t n = 1;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello, not an ELF file\n", 23), 23);
	assert_int_equal(unwind_table__build(fd, &rows, &n), -EINVAL);
	assert_null(rows);
	assert_int_equal(n, 0);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwind_table__frame_pointer_prologue_rows),
		cmocka_unit_test(test_unwind_table__expression_cfa_is_unsupported),
		cmocka_unit_test(test_unwind_table__undefined_return_address_is_outermost),
		cmocka_unit_test(test_unwind_table__rows_sorted_and_merged),
		cmocka_unit_test(test_unwind_table__lookup_edges),
		cmocka_unit_test(test_unwind_table__debug_frame_when_there_is_no_eh_frame),
		cmocka_unit_test(test_unwind_table__absurd_cfi_register_refused_before_libdw),
		cmocka_unit_test(test_unwind_table__not_elf_is_einval),
	};

	return cmocka_run_group_tests_name("unwind_table", tests, setup, teardown);
}
