// SPDX-License-Identifier: MIT
/* ms_proc_classify() on the input as the text of /proc/PID/stat. */
#include <errno.h>

#include "fuzz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	int r = ms_proc_classify(s);

	if (r != MS_PROC_USER && r != MS_PROC_KTHREAD && r != MS_PROC_GONE && r != -EINVAL)
		fuzz_fail("ms_proc_classify returned %d", r);
	/* ms_proc_kind() reads at most 1023 bytes: no answer may need the text past ')' */
	if (r != -EINVAL && !strrchr(s, ')'))
		fuzz_fail("an answer without the command name's ')'");
	free(s);
	return 0;
}
