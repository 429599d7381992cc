// SPDX-License-Identifier: MIT
/* memscope-bpf: an eBPF memory tracer.  See README.md and docs/. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "options.h"
#include "session.h"
#include "util.h"

/*
 * Started with stderr closed (`2>&-`), the next file opened would be fd 2
 * and get every message meant for stderr: a report file among them.  fd 2
 * gets /dev/null instead; returns whether it was closed.
 */
static bool stderr_was_closed(void)
{
	int fd;

	if (fcntl(2, F_GETFD) >= 0 || errno != EBADF)
		return false;
	fd = open("/dev/null", O_WRONLY);
	if (fd >= 0 && fd != 2) {
		dup2(fd, 2);
		close(fd);
	}
	return true;
}

/*
 * The static build has no debuginfod client (it is a shared library): a
 * DEBUGINFOD_URLS the user set is said to be ignored, and dropped so that
 * libdw does not try to load the client either.
 */
static void no_client_in_static_build(void)
{
#ifdef MEMSCOPE_STATIC
	const char *urls = getenv("DEBUGINFOD_URLS");

	if (urls && *urls) {
		ms_warn("debuginfod is unavailable in the static build: DEBUGINFOD_URLS is ignored "
			"(the Debian package or a build from source has it)");
		unsetenv("DEBUGINFOD_URLS");
	}
#endif
}

int main(int argc, char **argv)
{
	bool no_stderr = stderr_was_closed();
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
	o.stderr_closed = no_stderr;
	/* no library of ours may reach for the network, libdw's nor libdebuginfod's */
	if (o.no_debuginfod)
		unsetenv("DEBUGINFOD_URLS");
	no_client_in_static_build();
	if (o.check)
		return check__run(o.verbose > 0);
	if (o.command == MS_CMD_REPORT)
		return session__report(&o);
	return session__run(&o);
}
