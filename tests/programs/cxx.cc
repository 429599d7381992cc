/*
 * C++ allocations known by construction:
 *   leak_new:        2 x new Widget (24 bytes each) never deleted
 *   leak_new_array:  1 x new int[50] (200 bytes) never deleted
 *   balanced:        10 x (new Widget, delete) and 10 x (new char[64], delete[])
 *   leak_nothrow:    1 x new (std::nothrow) Widget
 */
#include <new>

struct Widget {
	long a, b, c;
};

void *volatile sink[8];

__attribute__((noinline)) void leak_new(int i)
{
	sink[i] = new Widget(); /* @leak_new */
}

__attribute__((noinline)) void leak_new_array()
{
	sink[2] = new int[50]; /* @leak_new_array */
}

__attribute__((noinline)) void balanced()
{
	for (int i = 0; i < 10; i++) {
		Widget *w = new Widget(); /* @balanced_new */
		delete w;
		char *c = new char[64]; /* @balanced_array */
		delete[] c;
	}
}

__attribute__((noinline)) void leak_nothrow()
{
	sink[3] = new (std::nothrow) Widget(); /* @leak_nothrow */
}

int main()
{
	leak_new(0);
	leak_new(1);
	leak_new_array();
	balanced();
	leak_nothrow();
	return 0;
}
