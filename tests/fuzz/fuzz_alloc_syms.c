// SPDX-License-Identifier: MIT
/*
 * alloc_syms__scan() on the input as an ELF object (a memfd): a corrupt,
 * truncated or stripped file is an error or no symbols, never a crash, and
 * what it finds lies within the file.
 */
#include <errno.h>
#include <unistd.h>

#include "alloc_syms.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alloc_sym *syms = NULL;
	int fd = fuzz_memfd(data, size);
	size_t n = 0;
	int err;

	if (fd < 0)
		return 0;
	err = alloc_syms__scan(fd, &syms, &n);
	if (err > 0 || (err && (syms || n)))
		fuzz_fail("alloc_syms__scan returned %d with %zu symbols", err, n);
	for (size_t i = 0; i < n; i++) {
		if (!syms[i].name || !alloc_syms__fn_name(syms[i].fn))
			fuzz_fail("symbol %zu without a name", i);
		/* the probe goes on a byte the file has */
		if (syms[i].file_offset + syms[i].probe_offset >= size)
			fuzz_fail("'%s' probed at 0x%llx + %u, past the file's %zu bytes",
				  syms[i].name, (unsigned long long)syms[i].file_offset,
				  syms[i].probe_offset, size);
	}
	free(syms);
	close(fd);
	return 0;
}
