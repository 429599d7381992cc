/*
 * Blocks of each reachability class, known by construction (sizes unique
 * per class), for the scan's end-to-end tests and valgrind's memcheck:
 *   definitely lost  3 blocks, 279 B: one whose only pointer is overwritten
 *                    (111 B), the head of a list whose head pointer is lost (48 B),
 *                    the main arena's last block (120 B: glibc's top chunk
 *                    header lies in its last word, and the arena points there)
 *   indirectly lost  3 blocks, 144 B: the rest of that list
 *   possibly lost    1 block,  200 B: pointed to only 64 bytes inside
 *   still reachable  4 blocks, 1220 B: a global's (300 B) and the block it
 *                    points to (20 B), a thread-local's (400 B), one held
 *                    only on another thread's stack (500 B)
 * With "wait" it first prints "ready PID" and waits for SIGUSR1 (a tracer
 * attaches meanwhile), then builds them, also one block held only in a
 * register of a spinning thread (600 B, still reachable: 5 blocks, 1820 B),
 * prints "built" and waits to be killed.  With "exit-register" it exits
 * (returns from main) while that spinning thread holds the block: 5 blocks,
 * 1820 B still reachable, as in valgrind, which reads every thread's
 * registers at exit.  With "big" (also after "wait": "wait big") it also
 * maps 256 MiB of writable memory, touched, and keeps 100,000 blocks of
 * 32 B in an array of 800,000 B (still reachable: 100,005 blocks,
 * 4,001,220 B without "wait"), for the scan's cost and its cap.  With
 * "leader-exits" its main thread ends first (pthread_exit) and another
 * thread exits the process 0.2 s later.
 * No stdio: its buffers would be blocks of their own.
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct node {
	struct node *next;
	char pad[40];
};

void *volatile slot;
struct node *volatile list_head;
char *volatile interior;
void **volatile global_root;
__thread void *volatile tls_root;

static sem_t started;
/* set by register_holder() once its block is in r12 alone */
volatile int held;
static int never[2];
static volatile sig_atomic_t go;

__attribute__((noinline)) void lose_one(void)
{
	slot = malloc(111);
	slot = NULL;
}

__attribute__((noinline)) void lose_last(void)
{
	slot = malloc(120);
	slot = NULL;
}

__attribute__((noinline)) void lose_list(void)
{
	for (int i = 0; i < 4; i++) {
		struct node *n = malloc(sizeof(*n));

		memset(n, 0, sizeof(*n));
		n->next = list_head;
		list_head = n;
	}
	list_head = NULL;
}

__attribute__((noinline)) void keep_interior(void)
{
	char *p = malloc(200);

	memset(p, 0, 200);
	interior = p + 64;
}

__attribute__((noinline)) void keep_global(void)
{
	global_root = malloc(300);
	memset(global_root, 0, 300);
	global_root[0] = malloc(20);
}

#define MANY 100000
void **volatile many;

__attribute__((noinline)) void keep_many(void)
{
	many = malloc(MANY * sizeof(*many));
	for (int i = 0; i < MANY; i++)
		many[i] = malloc(32);
}

__attribute__((noinline)) void keep_tls(void)
{
	tls_root = malloc(400);
}

/* Holds its block in a local while it waits forever. */
static void *stack_holder(void *arg)
{
	void *volatile local = malloc(500);
	char c;

	(void)arg;
	sem_post(&started);
	while (read(never[0], &c, 1) != 0)
		;
	return (void *)local;
}

__attribute__((noinline)) void *register_block(void)
{
	return malloc(600);
}

/*
 * Holds register_block()'s block in r12 alone: the stale copies below the
 * stack pointer that the call left are zeroed, then it spins.
 */
static void *register_holder(void *arg)
{
	(void)arg;
	sem_post(&started);
	__asm__ volatile("call register_block\n\t"
			 "mov %%rax, %%r12\n\t"
			 "lea -4096(%%rsp), %%rdi\n\t"
			 "xor %%eax, %%eax\n\t"
			 "mov $512, %%ecx\n\t"
			 "rep stosq\n\t"
			 "movl $1, held(%%rip)\n\t"
			 "1: pause\n\t"
			 "jmp 1b"
			 :
			 :
			 : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
			   "memory", "cc");
	return NULL;
}

/* Zeroes the stack below the caller: no stale pointer from the calls above. */
__attribute__((noinline)) void scrub_stack(void)
{
	volatile char pad[16384];

	memset((char *)pad, 0, sizeof(pad));
}

static void start(void *(*fn)(void *))
{
	pthread_t t;

	pthread_create(&t, NULL, fn, NULL);
	sem_wait(&started);
}

static void *exit_later(void *arg)
{
	(void)arg;
	sem_post(&started);
	usleep(200000);
	exit(0);
}

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static void say(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		_exit(1);
}

int main(int argc, char **argv)
{
	int wait = argc > 1 && !strcmp(argv[1], "wait");
	int big = argc > 1 + wait && !strcmp(argv[1 + wait], "big");
	char buf[64];

	if (pipe(never) < 0)
		return 1;
	sem_init(&started, 0, 0);
	if (big) {
		char *mem = mmap(NULL, 256u << 20, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (mem == MAP_FAILED)
			return 1;
		memset(mem, 1, 256u << 20);
	}
	if (wait) {
		sigset_t usr1, none;

		sigemptyset(&usr1);
		sigemptyset(&none);
		sigaddset(&usr1, SIGUSR1);
		sigprocmask(SIG_BLOCK, &usr1, NULL);
		signal(SIGUSR1, on_usr1);
		snprintf(buf, sizeof(buf), "ready %d\n", (int)getpid());
		say(buf);
		while (!go)
			sigsuspend(&none);
	}
	if (big)
		keep_many();
	lose_one();
	lose_list();
	keep_interior();
	keep_global();
	keep_tls();
	start(stack_holder);
	if (wait || (argc > 1 && !strcmp(argv[1], "exit-register"))) {
		start(register_holder);
		while (!held)
			;
	}
	lose_last();
	scrub_stack();
	if (argc > 1 && !strcmp(argv[1], "leader-exits")) {
		start(exit_later);
		pthread_exit(NULL);
	}
	if (!wait)
		return 0;
	say("built\n");
	for (;;)
		pause();
}
