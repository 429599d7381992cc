// SPDX-License-Identifier: MIT
/* memscope-bpf: an eBPF memory tracer.  See README.md and docs/. */
#include <stdlib.h>

#include "check.h"
#include "options.h"
#include "session.h"
#include "util.h"

int main(int argc, char **argv)
{
	struct ms_options o;

	switch (options__parse(&o, argc, argv)) {
	case OPTIONS_EXIT_OK:
		return 0;
	case OPTIONS_EXIT_ERROR:
		return 2;
	case OPTIONS_RUN:
		break;
	}
	ms_verbose = o.verbose;
	/* symbolization must never reach for the network */
	unsetenv("DEBUGINFOD_URLS");
	if (o.check)
		return check__run(o.verbose > 0);
	if (o.command == MS_CMD_REPORT)
		return session__report(&o);
	return session__run(&o);
}
