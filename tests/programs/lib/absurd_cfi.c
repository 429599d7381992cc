/*
 * A fixture of tests/unit/test_unwind_table.c: one function whose CFI
 * names register 100000000, as a corrupt .eh_frame may (libdw would make a
 * frame of that many registers, 2.4 GB), beside one with ordinary CFI.
 */
int absurd_cfi_fine(int x)
{
	return x + 1;
}

int absurd_cfi_reg(int x)
{
	__asm__ volatile(".cfi_undefined 100000000");
	return x * 3;
}
