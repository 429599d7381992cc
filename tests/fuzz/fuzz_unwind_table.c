// SPDX-License-Identifier: MIT
/*
 * unwind_table__build() on the input as an ELF object (a memfd): its CFI
 * (.eh_frame through .eh_frame_hdr, or .debug_frame) corrupt, truncated or
 * missing is an error, never a crash; rows that come back are sorted, and
 * lookups in them stay in bounds.
 */
#include <unistd.h>

#include "fuzz.h"
#include "unwind_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_unwind_row *rows = NULL;
	int fd = fuzz_memfd(data, size);
	size_t n = 0;
	int err;

	if (fd < 0)
		return 0;
	err = unwind_table__build(fd, &rows, &n);
	if (err > 0 || (err && (rows || n)))
		fuzz_fail("unwind_table__build returned %d with %zu rows", err, n);
	for (size_t i = 0; i < n; i++) {
		const struct ms_unwind_row *r = unwind_table__lookup(rows, n, rows[i].pc);

		if (i && rows[i].pc <= rows[i - 1].pc)
			fuzz_fail("rows %zu and %zu out of order", i - 1, i);
		if (r != &rows[i])
			fuzz_fail("lookup of row %zu's pc found another", i);
	}
	if (n && rows[0].pc && unwind_table__lookup(rows, n, rows[0].pc - 1))
		fuzz_fail("a row before the first");
	free(rows);
	close(fd);
	return 0;
}
