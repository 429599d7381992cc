/*
 * A prefork server whose allocations are known by construction, for the
 * tests of processes (issue 17).  `prefork N [wait]`:
 *   master:  master_table: 1 x 1000 bytes, never freed; forks N workers,
 *            reaps them, exits 0.
 *   worker i (0-based): serves 10 requests, each a 64-byte request and a
 *            200-byte reply, both freed; keeps worker_cache: 1 x 100 * (i + 1)
 *            bytes, never freed; exits 0.
 * With "wait": once the workers exist the master prints "ready <pid>" and
 * everyone waits for SIGUSR1 (sent to the master, which passes it on); the
 * master then also leaks master_late: 1 x 500 bytes.  `prefork N wait PROGRAM`:
 * then, once its workers are reaped, the master execs PROGRAM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 16

void *volatile sink[4];
static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static void wait_go(void)
{
	sigset_t none;

	sigemptyset(&none);
	while (!go)
		sigsuspend(&none);
}

__attribute__((noinline)) void master_table(void)
{
	sink[0] = malloc(1000); /* @master_table */
}

__attribute__((noinline)) void master_late(void)
{
	sink[1] = malloc(500); /* @master_late */
}

__attribute__((noinline)) void handle(int r)
{
	char *req = malloc(64); /* @request */
	char *reply = malloc(200); /* @reply */

	req[0] = (char)r;
	reply[0] = req[0];
	free(req);
	free(reply);
}

__attribute__((noinline)) void worker_cache(int i)
{
	sink[2] = malloc(100 * (size_t)(i + 1)); /* @worker_cache */
}

static void worker(int i, int wait)
{
	if (wait)
		wait_go();
	for (int r = 0; r < 10; r++)
		handle(r);
	worker_cache(i);
	exit(0);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2, wait = argc > 2 && !strcmp(argv[2], "wait");
	pid_t pids[MAX_WORKERS];
	sigset_t usr1;

	if (n < 0 || n > MAX_WORKERS)
		return 2;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	/* blocked until sigsuspend, so a signal sent early is not lost */
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	signal(SIGUSR1, on_usr1);
	master_table();
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return 1;
		if (pids[i] == 0)
			worker(i, wait);
	}
	if (wait) {
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		wait_go();
		for (int i = 0; i < n; i++)
			kill(pids[i], SIGUSR1);
		master_late();
	}
	for (int i = 0; i < n; i++)
		while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
	if (wait && argc > 3) {
		execl(argv[3], argv[3], (char *)NULL);
		return 127;
	}
	return 0;
}
