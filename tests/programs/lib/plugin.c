/*
 * A library that dlopen.c loads at run time, built -O2 without frame
 * pointers: its frames unwind only by its CFI, which the tracer has to add
 * once it sees the library mapped.
 */
#include <stdlib.h>

void *volatile plugin_sink[16];

__attribute__((noinline)) void plugin_leak(int i)
{
	plugin_sink[i] = malloc(72); /* @plugin_leak */
}

__attribute__((noinline)) void plugin_entry(int i)
{
	plugin_leak(i); /* @plugin_entry */
	plugin_sink[15] = NULL;
}
