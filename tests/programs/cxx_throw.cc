/*
 * C++ with exceptions and inlined frames, for unwinding by CFI:
 *   make_node (always inlined into step): 6 x new Node (40 bytes), leaked
 *   the catch handler of step: 3 x malloc(24), leaked; at -O2 the handler
 *   is code of its own (step [clone .cold]) with an FDE of its own
 * Each throw allocates and frees its exception and message inside
 * libstdc++.
 */
#include <cstdlib>
#include <stdexcept>

struct Node {
	long v[5];
};

void *volatile sink[32];
static int kept;

__attribute__((noinline)) void check(int i)
{
	if (i % 3 == 0)
		throw std::runtime_error("a multiple of three");
}

static inline __attribute__((always_inline)) Node *make_node(int i)
{
	Node *n = new Node; /* @inlined_new */

	n->v[0] = i;
	return n;
}

__attribute__((noinline)) void step(int i)
{
	try {
		check(i);
		sink[kept++] = make_node(i); /* @step_call */
	} catch (const std::runtime_error &) {
		sink[kept++] = malloc(24); /* @catch_alloc */
	}
}

int main()
{
	for (int i = 1; i <= 9; i++)
		step(i); /* @main_step */
	return 0;
}
