/*
 * Loads lib/plugin.c's library (next to this program) with dlopen and
 * leaks through it: plugin_leak 4 x 72 bytes.  The first call's stack meets
 * the library before the tracer has its unwind rows; the tracer adds them
 * within a drain (10 ms), so the three calls 300 ms later unwind whole.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	void (*entry)(int);
	void *h;

	if (n <= 0)
		return 2;
	path[n] = 0;
	strcpy(strrchr(path, '/') + 1, "libplugin-nofp.so");
	h = dlopen(path, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	entry = (void (*)(int))dlsym(h, "plugin_entry");
	entry(0); /* @first_call */
	usleep(300 * 1000);
	for (int i = 1; i <= 3; i++)
		entry(i); /* @later_calls */
	return 0;
}
