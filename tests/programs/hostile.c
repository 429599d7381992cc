/*
 * Names that are markup, for the HTML report's escaping test (tests/html/):
 *   hostile_symbol: a function with no debug information whose symbol is
 *     HOSTILE_SYMBOL (so that is the name reported), leaks 77 bytes;
 *   hostile_file: its source file is named "<img src=x onerror=alert(2)>.c"
 *     (#line), leaks 55 bytes;
 *   a thread named "<img src=x>" (thread names hold 15 bytes) leaks 33 bytes;
 *   the main thread is renamed "<svg onload=1>".
 * A report that pasted any of them into its page unescaped would run them.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/prctl.h>

#define HOSTILE_SYMBOL "</script><img src=x onerror=alert(1)>&lt;b&gt;"
#define Q "\"" HOSTILE_SYMBOL "\""

void *volatile sink[4];

/*
 * Written in assembly so that no DWARF names it: the symbolizer then falls
 * back to the ELF symbol.  GNU as takes a quoted symbol name, and gcc passes
 * the asm label below through verbatim.
 */
__attribute__((visibility("hidden"))) void hostile_symbol(void) __asm__(Q);
__asm__(".text\n"
	".globl " Q "\n"
	".type " Q ", @function\n"
	Q ":\n"
#if defined(__x86_64__)
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	mov $77, %edi\n"
	"	call malloc@PLT\n"
	"	mov %rax, sink(%rip)\n"
	"	pop %rbp\n"
	"	ret\n"
#elif defined(__aarch64__)
	"	stp x29, x30, [sp, -16]!\n"
	"	mov x29, sp\n"
	"	mov x0, 77\n"
	"	bl malloc\n"
	"	adrp x1, sink\n"
	"	add x1, x1, :lo12:sink\n"
	"	str x0, [x1]\n"
	"	ldp x29, x30, [sp], 16\n"
	"	ret\n"
#else
#error "hostile_symbol: no assembly for this architecture"
#endif
	".size " Q ", . - " Q "\n");

void hostile_file(void);

static void *worker(void *arg)
{
	pthread_setname_np(pthread_self(), "<img src=x>");
	sink[2] = malloc(33); /* @hostile_thread */
	return arg;
}

int main(void)
{
	pthread_t t;

	prctl(PR_SET_NAME, "<svg onload=1>");
	hostile_symbol();
	hostile_file();
	pthread_create(&t, NULL, worker, NULL);
	pthread_join(t, NULL);
	return 0;
}

/* last in the file: every line from here on is in a file with a hostile name */
#line 1 "<img src=x onerror=alert(2)>.c"
__attribute__((noinline)) void hostile_file(void)
{
	sink[1] = malloc(55); /* line 3 of "<img src=x onerror=alert(2)>.c" */
}
