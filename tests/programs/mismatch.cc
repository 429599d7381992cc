/* new[] released with delete (Valgrind: "Mismatched free() / delete / delete []"). */
void *volatile sink;

__attribute__((noinline)) int *make_array()
{
	return new int[10]; /* @mm_alloc */
}

__attribute__((noinline)) void drop(int *p)
{
	delete p; /* @mm_delete */
}

int main()
{
	drop(make_array());
	return 0;
}
