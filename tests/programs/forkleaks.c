/*
 * A parent and two children leaking different known amounts at different
 * lines, for -f's per-process leak sites (issue 17).  `forkleaks`:
 *   parent:  shared_block: 4 x 40 bytes before the forks (each child holds
 *            copies), freed after both children ended; parent_leak: 2 x 300
 *            bytes never freed; exits 0.
 *   child A: child_a_leak: 3 x 700 bytes never freed; releases its copies of
 *            the parent's blocks: 3 with free, the fourth by realloc to 400
 *            bytes (child_a_realloc, never freed); exits 3.
 *   child B: child_b_leak: 1 x 5000 bytes never freed; child_b_twice: a 24-byte
 *            block freed twice (child_b_free, child_b_free_again): glibc
 *            aborts it (SIGABRT).
 * `forkleaks linger`: the parent then waits 0.5 s before it exits (run
 * through an exec, the tracer reads its maps while it lives).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile keep[8];

__attribute__((noinline)) void *shared_block(void)
{
	return malloc(40); /* @shared_block */
}

__attribute__((noinline)) void parent_leak(int i)
{
	keep[i] = malloc(300); /* @parent_leak */
}

__attribute__((noinline)) void child_a_leak(int i)
{
	keep[i] = malloc(700); /* @child_a_leak */
}

__attribute__((noinline)) void *child_a_realloc(void *p)
{
	return realloc(p, 400); /* @child_a_realloc */
}

__attribute__((noinline)) void child_b_leak(void)
{
	keep[0] = malloc(5000); /* @child_b_leak */
}

__attribute__((noinline)) void *child_b_twice(void)
{
	return malloc(24); /* @child_b_twice */
}

__attribute__((noinline)) void child_b_free(void *p)
{
	free(p); /* @child_b_free */
}

__attribute__((noinline)) void child_b_free_again(void *p)
{
	free(p); /* @child_b_free_again */
}

static void child_a(void *shared[4])
{
	for (int i = 0; i < 3; i++)
		child_a_leak(i);
	for (int i = 0; i < 3; i++)
		free(shared[i]);
	keep[3] = child_a_realloc(shared[3]);
	_exit(3);
}

static void child_b(void)
{
	void *p;

	child_b_leak();
	p = child_b_twice();
	child_b_free(p);
	child_b_free_again(p);
	_exit(0);
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	void *shared[4];
	pid_t a, b;

	for (int i = 0; i < 4; i++)
		shared[i] = shared_block();
	a = fork();
	if (a < 0)
		return 1;
	if (a == 0)
		child_a(shared);
	reap(a);
	b = fork();
	if (b < 0)
		return 1;
	if (b == 0)
		child_b();
	reap(b);
	parent_leak(0);
	parent_leak(1);
	for (int i = 0; i < 4; i++)
		free(shared[i]);
	if (argc > 1 && !strcmp(argv[1], "linger"))
		nanosleep(&(struct timespec){ .tv_nsec = 500 * 1000 * 1000 }, NULL);
	return 0;
}
