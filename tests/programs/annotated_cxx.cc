/* C++: names on new'd objects and arrays; a scope around a vector's growth. */
#include <vector>

#include "memscope.h"

struct Node {
	long key, value;
	Node *next;
};

void *volatile sink[4];

int main()
{
	Node *head = new Node();
	int *ids = new int[25];

	MEMSCOPE_TRACK_TYPED(head, "head", "Node"); /* @track_head */
	MEMSCOPE_TRACK_VAR(ids); /* @track_ids */
	MEMSCOPE_SCOPE_BEGIN("build");
	{
		std::vector<long> v;

		for (long i = 0; i < 100; i++)
			v.push_back(i);
	}
	MEMSCOPE_SCOPE_END();
	sink[0] = head;
	delete[] ids;
	return 0;
}
