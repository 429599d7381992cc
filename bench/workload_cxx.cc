// SPDX-License-Identifier: MIT
/*
 * C++: half new/delete of a 48-byte object, a quarter new[]/delete[] of
 * objects with a destructor (so new[] stores a count before them), a quarter
 * new[]/delete[] of chars, 16-1024 B.  libstdc++'s operators call malloc and
 * free, so a tracer that probes both takes twice the hits.
 *
 * One pair is one new or new[] and its delete or delete[].
 *
 *   workload_cxx [PAIRS]     (default 100000)
 */
#include "workload.h"

struct node {
	node *next;
	long key, value[4];
	~node() { next = nullptr; }
};

/* volatile: the compiler may not pair up and elide the new and the delete */
static node *volatile obj_sink;
static char *volatile bytes_sink;

int main(int argc, char **argv)
{
	long pairs = wl_arg(argc, argv, 1, 100000);
	unsigned long long rng = 0x9e3779b97f4a7c15ull;
	struct wl_clock c;

	wl_start(&c);
	for (long i = 0; i < pairs; i++) {
		unsigned long long r = wl_rand(&rng);

		switch (r % 4) {
		case 0:
		case 1:
			obj_sink = new node();
			delete obj_sink;
			break;
		case 2:
			obj_sink = new node[1 + (r >> 8) % 8];
			delete[] obj_sink;
			break;
		default:
			bytes_sink = new char[16 + (r >> 8) % 1009];
			delete[] bytes_sink;
			break;
		}
	}
	wl_report(&c, "cxx", pairs);
	return 0;
}
