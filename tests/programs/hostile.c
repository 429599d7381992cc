/*
 * Names that are markup, for the HTML report's escaping test (tests/html/):
 *   hostile_symbol: a function with no debug information whose symbol is
 *     HOSTILE_SYMBOL (so that is the name reported), leaks 77 bytes;
 *   hostile_file: its source file is named "<img src=x onerror=alert(2)>.c"
 *     (#line), leaks 55 bytes;
 *   a thread named "<img src=x>" (thread names hold 15 bytes) leaks 33 bytes;
 *   the main thread is renamed "<svg onload=1>".
 * A report that pasted any of them into its page unescaped would run them.
 *
 * With "--every-field" as its first argument (tests/reliability/) it also
 * puts quotes, newlines, invalid UTF-8, "</script>" and huge lengths in
 * every string a report takes from it:
 *   hostile_long: a symbol of 3014 bytes with invalid UTF-8 and markup (GNU
 *     as takes no quote or newline in a name), leaks 99;
 *   hostile_file_2: its file name (#line) has them too and is 2000 bytes
 *     long, leaks 66;
 *   a thread named with a quote, a newline and a 0xff byte, leaks 22;
 *   annotations: a block named and typed with them (names longer than the
 *     63 and 31 bytes read), inside a scope named with them.
 * The rest of the command line is the test's to make hostile.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "memscope.h"

#define HOSTILE_SYMBOL "</script><img src=x onerror=alert(1)>&lt;b&gt;"
#define Q "\"" HOSTILE_SYMBOL "\""

void *volatile sink[8];

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

/* GNU as takes neither a quote nor a newline in a name: invalid UTF-8, markup, length */
#define X10 "AAAAAAAAAA"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define X1000 X100 X100 X100 X100 X100 X100 X100 X100 X100 X100
#define LONG_SYMBOL "long\xff\xfe</script>&" X1000 X1000 X1000 "end"
#define QL "\"" LONG_SYMBOL "\""

__attribute__((visibility("hidden"))) void hostile_long(void) __asm__(QL);
__asm__(".text\n"
	".globl " QL "\n"
	".type " QL ", @function\n"
	QL ":\n"
#if defined(__x86_64__)
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	mov $99, %edi\n"
	"	call malloc@PLT\n"
	"	mov %rax, sink+24(%rip)\n"
	"	pop %rbp\n"
	"	ret\n"
#elif defined(__aarch64__)
	"	stp x29, x30, [sp, -16]!\n"
	"	mov x29, sp\n"
	"	mov x0, 99\n"
	"	bl malloc\n"
	"	adrp x1, sink\n"
	"	add x1, x1, :lo12:sink\n"
	"	str x0, [x1, 24]\n"
	"	ldp x29, x30, [sp], 16\n"
	"	ret\n"
#endif
	".size " QL ", . - " QL "\n");

void hostile_file(void);
void hostile_file_2(void);

#define EVIL "\"q\n\xff</script>"

static void *evil_worker(void *arg)
{
	pthread_setname_np(pthread_self(), "w" EVIL);
	sink[6] = malloc(22);
	return arg;
}

static void every_field(void)
{
	pthread_t t;
	char *named = malloc(44);

	hostile_long();
	hostile_file_2();
	pthread_create(&t, NULL, evil_worker, NULL);
	pthread_join(t, NULL);
	MEMSCOPE_SCOPE_BEGIN("scope" EVIL X100);
	sink[3] = named;
	MEMSCOPE_TRACK_TYPED(named, "var" EVIL X100, "type" EVIL X100);
	MEMSCOPE_SCOPE_END();
}

static void *worker(void *arg)
{
	pthread_setname_np(pthread_self(), "<img src=x>");
	sink[2] = malloc(33); /* @hostile_thread */
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc > 1 && strcmp(argv[1], "--every-field") == 0)
		every_field();
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

#line 1 "dir\"q\n\xff</script>/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBfile.c"
__attribute__((noinline)) void hostile_file_2(void)
{
	sink[5] = malloc(66); /* line 3 */
}
