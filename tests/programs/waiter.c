/*
 * A target for `-p`: prints "ready <pid>" and waits for SIGUSR1; then leaks
 * 7 blocks of 300 bytes from late_leak() and frees one block it allocated
 * before the signal (an unknown free for a tracer attached after start).
 * With argument "hang" it then waits to be killed instead of exiting; with
 * "ignore-term" it also ignores SIGTERM; with "status3" it exits with 3.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile sink[8];
static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

__attribute__((noinline)) void late_leak(int i)
{
	sink[i] = malloc(300); /* @late_leak */
}

int main(int argc, char **argv)
{
	void *early = malloc(5000);
	sigset_t none;

	sigset_t usr1;

	sigemptyset(&none);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	/* blocked until sigsuspend, so a signal sent early is not lost */
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	signal(SIGUSR1, on_usr1);
	if (argc > 1 && strcmp(argv[1], "ignore-term") == 0)
		signal(SIGTERM, SIG_IGN);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (!go)
		sigsuspend(&none);
	for (int i = 0; i < 7; i++)
		late_leak(i);
	free(early);
	if (argc > 1 && (strcmp(argv[1], "hang") == 0 || strcmp(argv[1], "ignore-term") == 0))
		for (;;)
			pause();
	return argc > 1 && strcmp(argv[1], "status3") == 0 ? 3 : 0;
}
