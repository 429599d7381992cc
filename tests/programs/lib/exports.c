// SPDX-License-Identifier: MIT
/*
 * A fixture of tests/unit/test_symbolize.c, stripped to its exports
 * (.dynsym): an exported label of no size, then a static function no
 * export names, then an exported function of known size.  Built with
 * -fno-toplevel-reorder, so the label comes first.
 */
__asm__(".text\n"
	".globl exports_label\n"
	".type exports_label, @function\n"
	"exports_label:\n"
	"\tret\n");

static __attribute__((noinline)) int exports_hidden(int x)
{
	return x * 3 + 1;
}

int exports_sized(int x)
{
	return exports_hidden(x) + 1;
}

/* an address inside exports_hidden */
void *exports_hidden_addr(void)
{
	return (void *)((char *)exports_hidden + 2);
}
