/*
 * vfork() (as dash runs commands): the child shares the parent's address
 * space until it calls _exit() or exec.  Here it allocates 3 blocks of 100
 * bytes and frees one of them before _exit; the parent frees a second, so
 * one of the child's blocks is released by the traced process.  With an
 * argument the child execs /bin/true instead of calling _exit.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile shared[3];

__attribute__((noinline)) static void child_allocs(void)
{
	for (int i = 0; i < 3; i++)
		shared[i] = malloc(100); /* @vfork_child_alloc */
	free(shared[2]);
}

int main(int argc, char **argv)
{
	void *own = malloc(200); /* @vfork_parent_alloc */
	pid_t pid = vfork();
	int st;

	if (pid == 0) {
		child_allocs();
		if (argc > 1)
			execl("/bin/true", "true", (char *)NULL);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	free(shared[0]); /* a block the child allocated */
	free(own);
	return 0;
}
