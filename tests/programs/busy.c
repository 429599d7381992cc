/*
 * A long-running target for the reliability suite (tests/reliability/):
 * WORKERS threads allocate, fill, check and free blocks in rounds, in step
 * (a barrier ends each round), from seeded generators, so the work done in
 * N rounds and its checksum are the same on every run, traced or not.
 *
 * Usage: busy ROUNDS [PROGRESS_FILE [fork]]
 *   ROUNDS         stop after that many rounds; 0: run until SIGINT, SIGTERM,
 *                  SIGHUP or SIGUSR1, then finish the round and stop
 *   PROGRESS_FILE  rewritten with the number of rounds done after each
 *                  round (a reader sees the program make progress)
 *   fork           every 16th round the main thread forks a child that
 *                  execs /bin/true and one that allocates and exits
 * Prints "ready PID" when it starts, and when it stops
 *   rounds N checksum C corrupt K
 * where K counts blocks whose contents changed under the program (0).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 4
#define SLOTS 32
#define STEPS 256

struct worker {
	pthread_t t;
	uint64_t seed, sum, corrupt;
	unsigned char *slots[SLOTS];
	size_t sizes[SLOTS];
} __attribute__((aligned(64)));

static struct worker workers[WORKERS];
static pthread_barrier_t begin, end;
static volatile sig_atomic_t stop_signal;
static volatile int finished;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

__attribute__((noinline)) void *busy_alloc(size_t size)
{
	return malloc(size);
}

static void step(struct worker *w)
{
	uint64_t r = next(&w->seed);
	unsigned slot = (unsigned)(r % SLOTS);
	size_t size = 1 + (r >> 32) % 4096;
	unsigned char *p = w->slots[slot];

	if (p) {
		unsigned char tag = (unsigned char)w->sizes[slot];

		if (p[0] != tag || p[w->sizes[slot] - 1] != tag ||
		    p[w->sizes[slot] / 2] != tag)
			w->corrupt++;
		w->sum = w->sum * 31 + p[w->sizes[slot] / 2] + w->sizes[slot];
		free(p);
	}
	p = busy_alloc(size);
	if (!p)
		abort();
	memset(p, (unsigned char)size, size);
	w->slots[slot] = p;
	w->sizes[slot] = size;
	if ((r & 7) == 0)
		free(busy_alloc(size / 3 + 1));
}

static void *work(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		pthread_barrier_wait(&begin);
		if (finished)
			return NULL;
		for (int i = 0; i < STEPS; i++)
			step(w);
		pthread_barrier_wait(&end);
	}
}

__attribute__((noinline)) void child_alloc(size_t size)
{
	void *volatile p = malloc(size);

	(void)p;
}

static void fork_children(void)
{
	pid_t a = fork(), b;

	if (a == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	b = fork();
	if (b == 0) {
		/* the child's own heap: never the parent's blocks */
		for (int i = 0; i < 10; i++)
			child_alloc(1000);
		_exit(0);
	}
	if (a > 0)
		waitpid(a, NULL, 0);
	if (b > 0)
		waitpid(b, NULL, 0);
}

static void progress(int fd, unsigned long long rounds)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%020llu\n", rounds);

	if (fd >= 0 && pwrite(fd, buf, (size_t)n, 0) != n)
		abort();
}

int main(int argc, char **argv)
{
	unsigned long long limit = argc > 1 ? strtoull(argv[1], NULL, 10) : 0, rounds = 0;
	int fd = argc > 2 ? open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
	int forks = argc > 3 && strcmp(argv[3], "fork") == 0;
	struct sigaction sa = { .sa_handler = on_stop };
	uint64_t checksum = 0, corrupt = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	pthread_barrier_init(&begin, NULL, WORKERS + 1);
	pthread_barrier_init(&end, NULL, WORKERS + 1);
	for (int i = 0; i < WORKERS; i++) {
		workers[i].seed = 0x2545f4914f6cdd1dull * (uint64_t)(i + 1);
		if (pthread_create(&workers[i].t, NULL, work, &workers[i]))
			return 1;
	}
	progress(fd, 0);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (!stop_signal && (!limit || rounds < limit)) {
		pthread_barrier_wait(&begin);
		pthread_barrier_wait(&end);
		rounds++;
		if (forks && rounds % 16 == 0)
			fork_children();
		progress(fd, rounds);
	}
	finished = 1;
	pthread_barrier_wait(&begin);
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(workers[i].t, NULL);
		checksum = checksum * 1000003 + workers[i].sum;
		corrupt += workers[i].corrupt;
	}
	printf("rounds %llu checksum %llu corrupt %llu\n", rounds, (unsigned long long)checksum,
	       (unsigned long long)corrupt);
	return 0;
}
