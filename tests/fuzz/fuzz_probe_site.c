// SPDX-License-Identifier: MIT
/*
 * The probe-site decoder on arbitrary bytes as a function's first
 * instructions: never reads past len, and the offset it picks is the start of
 * an instruction it decoded, within the bytes.
 */
#include "fuzz.h"
#include "probe_site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes: the fuzzer's own buffer may be larger */
	uint8_t *code = malloc(size ? size : 1);
	struct probe_site site;
	size_t off = 0, len;

	memcpy(code, data, size);
	len = probe_site__insn_len(code, size);
	if (len > size)
		fuzz_fail("instruction of %zu bytes in %zu", len, size);
	probe_site__choose(code, size, &site);
	if (site.offset) {
		if (site.offset >= size)
			fuzz_fail("offset %u past %zu bytes", site.offset, size);
		/* straight-line decoding from 0 lands on the offset */
		while (off < site.offset) {
			len = probe_site__insn_len(code + off, size - off);
			if (!len)
				fuzz_fail("offset %u after an unknown instruction at %zu",
					  site.offset, off);
			off += len;
		}
		if (off != site.offset)
			fuzz_fail("offset %u inside the instruction at %zu", site.offset, off);
		if (!site.emulated)
			fuzz_fail("a moved probe on an instruction that is not emulated");
	}
	free(code);
	return 0;
}
