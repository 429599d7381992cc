/* SPDX-License-Identifier: MIT */
/*
 * System calls, no malloc: one pair = mmap of one anonymous page, munmap,
 * and getppid().  What the mappings' program on sys_exit costs: the target's
 * own mmap and munmap (traced), and, run beside a trace of another process,
 * what every other process pays (bench/mappings.sh).
 *
 *   workload_syscalls [PAIRS]     (default 200000)
 */
#include <sys/mman.h>

#include "workload.h"

int main(int argc, char **argv)
{
	long pairs = wl_arg(argc, argv, 1, 200000);
	struct wl_clock c;

	wl_start(&c);
	for (long i = 0; i < pairs; i++) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p != MAP_FAILED)
			munmap(p, 4096);
		getppid();
	}
	wl_report(&c, "syscalls", pairs);
	return 0;
}
