// SPDX-License-Identifier: MIT
/*
 * symbolize: against this very test process (its own return addresses, its
 * inlined calls, the libc it runs on), against a forked copy that exits
 * before symbolization, and against a copy of this binary deleted while it
 * runs.  The lines expected are taken with __LINE__ on the call lines.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "symbolize.h"

/* --- code to symbolize --- */

/* a clone (call_site.isra.0) would still be named right, but keep it plain */
#ifdef __clang__
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif

/* stores after the calls keep them from becoming tail calls */
static volatile uintptr_t sink;

static NOINLINE uintptr_t return_address(void)
{
	uintptr_t ra = (uintptr_t)__builtin_return_address(0);

	sink = ra;
	return ra;
}

static NOINLINE uintptr_t call_site(int *line)
{
	uintptr_t ra;

	*line = __LINE__; ra = return_address();
	sink = ra;
	return ra;
}

static inline __attribute__((always_inline)) uintptr_t inline_leaf(int *line)
{
	uintptr_t ra;

	*line = __LINE__; ra = return_address();
	return ra;
}

static inline __attribute__((always_inline)) uintptr_t inline_mid(int lines[2])
{
	uintptr_t ra;

	lines[1] = __LINE__; ra = inline_leaf(&lines[0]);
	return ra;
}

/* lines[0..2]: the call lines in inline_leaf, inline_mid, inline_outer */
static NOINLINE uintptr_t inline_outer(int lines[3])
{
	uintptr_t ra;

	lines[2] = __LINE__; ra = inline_mid(lines);
	sink = ra;
	return ra;
}

/*
 * A function under a C++ name with no DWARF (its own section, so no unit's
 * ranges cover it): its name comes from the symbol table.
 */
#if defined(__x86_64__) || defined(__aarch64__)
#define HAVE_MANGLED_PROBE 1
#define MANGLED "_ZN8memscope4test5probeEi"
__asm__(".pushsection .text.memscope_mangled_probe,\"ax\",%progbits\n"
	".type " MANGLED ", %function\n"
	MANGLED ":\n"
	"nop\n"
	"nop\n"
	"ret\n"
	".size " MANGLED ", . - " MANGLED "\n"
	".popsection\n");
void mangled_probe(int) __asm__(MANGLED);
#endif

/* --- helpers --- */

static bool in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && !strcmp(ci, "true");
}

/* A test that cannot run says so loudly, and fails in CI. */
static void cannot_run(const char *why)
{
	if (in_ci())
		fail_msg("cannot run: %s", why);
	fprintf(stderr, "SKIPPED: %s\n", why);
	skip();
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The dynamic linker's load bias of the object holding addr. */
static uint64_t load_bias(uintptr_t addr)
{
	struct link_map *lm = NULL;
	Dl_info info;

	assert_true(dladdr1((void *)addr, &info, (void **)&lm, RTLD_DL_LINKMAP));
	assert_non_null(lm);
	return lm->l_addr;
}

static void assert_frame(const struct sym_frame *f, const char *function, int line)
{
	assert_non_null(f->function);
	assert_string_equal(f->function, function);
	assert_non_null(f->file);
	assert_string_equal(base_name(f->file), "test_symbolize.c");
	assert_int_equal(f->line, line);
}

static struct symbolizer *self_symbolizer(bool demangle)
{
	struct symbolizer_opts opts = { .sz = sizeof(opts), .demangle = demangle };
	struct symbolizer *s = symbolizer__new(getpid(), &opts);

	assert_non_null(s);
	return s;
}

/* Entry point of a copy of this binary run by a test: report a call site, wait. */
static __attribute__((noreturn)) void print_call_site(void)
{
	int line;
	uintptr_t ra = call_site(&line);

	printf("%" PRIxPTR " %d\n", ra, line);
	fflush(stdout);
	for (;;)
		pause();
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_TRUNC | O_CLOEXEC, 0700);
	ssize_t n;

	assert_true(in >= 0);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	assert_int_equal(close(out), 0);
}

static void reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* An object this process has not loaded yet: glibc's, so with debuginfo when libc6-dbg is in. */
static void *load_resolv(uintptr_t *ip)
{
	void *h = dlopen("libresolv.so.2", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		cannot_run("no libresolv.so.2 to load");
	*ip = (uintptr_t)dlsym(h, "__b64_ntop") + 1;
	assert_true(*ip > 1);
	return h;
}

static void assert_in_resolv(struct symbolizer *s, uintptr_t ip)
{
	const struct sym_frame *f;
	size_t n;

	symbolizer__symbolize(s, ip, &f, &n);
	assert_non_null(f[n - 1].module);
	assert_non_null(strstr(f[n - 1].module, "libresolv"));
	assert_non_null(f[n - 1].function);
	assert_non_null(strstr(f[n - 1].function, "b64_ntop"));
	assert_int_equal(f[n - 1].module_offset, ip - 1 - load_bias(ip));
}

/* --- tests --- */

#define EXPORTS_LIB "build/programs/libexports-stripped.so"

/*
 * An object stripped to its exports (tests/programs/lib/exports.c): an
 * address in a static function after an exported label of no size gets no
 * name, never "exports_label+0x13"; one inside an exported function of
 * known size gets its name.  The object is listed as unnamed, with why.
 */
static void test_symbolize__exports_name_an_address_only_when_their_size_covers_it(void **state)
{
	void *h = dlopen("./" EXPORTS_LIB, RTLD_NOW | RTLD_LOCAL);
	const struct sym_unnamed *u;
	const struct sym_frame *f;
	struct symbolizer *s;
	uintptr_t hidden, sized, label;
	void *(*hidden_addr)(void);
	size_t n, nu;

	if (!h)
		fail_msg("cannot load the fixture: %s", dlerror());
	unsetenv("DEBUGINFOD_URLS");
	hidden_addr = (void *(*)(void))dlsym(h, "exports_hidden_addr");
	label = (uintptr_t)dlsym(h, "exports_label");
	assert_non_null(hidden_addr);
	/* return addresses: the symbolizer looks at ip - 1 */
	hidden = (uintptr_t)hidden_addr() + 1;
	sized = (uintptr_t)dlsym(h, "exports_sized") + 2;
	/* the premise: the label of no size is the nearest export before the static function */
	assert_true(label && label < hidden - 1 && hidden - 1 < sized - 2);
	s = symbolizer__new(getpid(), NULL);
	assert_non_null(s);
	symbolizer__symbolize(s, hidden, &f, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(f[0].module, "libexports-stripped.so"));
	assert_null(f[0].function);
	symbolizer__symbolize(s, sized, &f, &n);
	assert_string_equal(f[n - 1].function, "exports_sized");
	u = symbolizer__unnamed(s, &nu);
	for (; nu && !strstr(u->module, "libexports-stripped.so"); nu--)
		u++;
	assert_true(nu > 0);
	assert_string_equal(u->reason, "debug file not found");
	assert_int_equal(u->addresses, 1);
	assert_non_null(u->build_id);
	symbolizer__free(s);
	dlclose(h);
}

static void test_symbolize__return_address_gives_caller_file_and_line(void **state)
{
	struct symbolizer *s = self_symbolizer(true);
	const struct sym_frame *f;
	size_t n;
	int line;
	uintptr_t ra = call_site(&line);

	assert_int_equal(symbolizer__track(s, ra), 0);
	symbolizer__symbolize(s, ra, &f, &n);
	assert_int_equal(n, 1);
	assert_frame(&f[0], "call_site", line);
	assert_false(f[0].inlined);
	assert_true(f[0].column > 0);
	assert_int_equal(f[0].ip, ra);
	assert_non_null(f[0].module);
	assert_int_equal(f[0].module_offset, ra - 1 - load_bias(ra));
	symbolizer__free(s);
}

static void test_symbolize__inlined_calls_give_one_frame_each(void **state)
{
	struct symbolizer *s = self_symbolizer(true);
	const struct sym_frame *f;
	int lines[3];
	uintptr_t ra = inline_outer(lines);
	size_t n;

	symbolizer__symbolize(s, ra, &f, &n);
	assert_int_equal(n, 3);
	assert_frame(&f[0], "inline_leaf", lines[0]);
	assert_true(f[0].inlined);
	assert_frame(&f[1], "inline_mid", lines[1]);
	assert_true(f[1].inlined);
	assert_frame(&f[2], "inline_outer", lines[2]);
	assert_false(f[2].inlined);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(f[i].ip, ra);
		assert_int_equal(f[i].module_offset, f[0].module_offset);
		assert_ptr_equal(f[i].module, f[0].module);
	}
	symbolizer__free(s);
}

static void test_symbolize__same_ip_is_resolved_once(void **state)
{
	struct symbolizer *s = self_symbolizer(true);
	const struct sym_frame *a, *b;
	size_t na, nb;
	int line;
	uintptr_t ra = call_site(&line);

	symbolizer__symbolize(s, ra, &a, &na);
	symbolizer__symbolize(s, ra, &b, &nb);
	assert_ptr_equal(a, b);
	assert_int_equal(na, nb);
	symbolizer__free(s);
}

static void test_symbolize__unknown_address_gives_one_bare_frame(void **state)
{
	struct symbolizer *s = self_symbolizer(true);
	const uint64_t ips[] = { 0x10, 0, UINT64_MAX };

	assert_int_equal(symbolizer__track(s, 0x10), -ENOENT);
	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		const struct sym_frame *f;
		size_t n;

		symbolizer__symbolize(s, ips[i], &f, &n);
		assert_int_equal(n, 1);
		assert_int_equal(f[0].ip, ips[i]);
		assert_null(f[0].module);
		assert_null(f[0].function);
		assert_null(f[0].file);
		assert_false(f[0].inlined);
	}
	symbolizer__free(s);
}

static void test_symbolize__null_symbolizer_gives_one_bare_frame(void **state)
{
	const struct sym_frame *f;
	size_t n;

	assert_int_equal(symbolizer__track(NULL, 0x1234), -ENOENT);
	symbolizer__symbolize(NULL, 0x1234, &f, &n);
	assert_int_equal(n, 1);
	assert_int_equal(f[0].ip, 0x1234);
	assert_null(f[0].module);
}

static void test_symbolize__libc_malloc_is_named_in_libc(void **state)
{
	struct symbolizer *s = self_symbolizer(true);
	/* libc's own malloc, also when a preload (valgrind) interposes another */
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	const struct sym_frame *f, *last;
	uintptr_t ip;
	size_t n;

	assert_non_null(libc);
	ip = (uintptr_t)dlsym(libc, "malloc") + 1;
	assert_int_equal(symbolizer__track(s, ip), 0);
	symbolizer__symbolize(s, ip, &f, &n);
	assert_true(n >= 1);
	last = &f[n - 1];
	assert_non_null(last->module);
	assert_non_null(strstr(base_name(last->module), "libc"));
	assert_non_null(last->function);
	if (strcmp(last->function, "malloc") && strcmp(last->function, "__libc_malloc"))
		fail_msg("malloc symbolized as '%s'", last->function);
	assert_false(last->inlined);
	assert_int_equal(last->module_offset, ip - 1 - load_bias(ip));
	dlclose(libc);
	symbolizer__free(s);
}

static void test_symbolize__cxx_symbol_is_demangled(void **state)
{
#ifdef HAVE_MANGLED_PROBE
	struct symbolizer *on = self_symbolizer(true), *off = self_symbolizer(false);
	uintptr_t ip = (uintptr_t)&mangled_probe + 1;
	const struct sym_frame *f;
	size_t n;

	symbolizer__symbolize(on, ip, &f, &n);
	assert_int_equal(n, 1);
	assert_non_null(f[0].function);
	assert_string_equal(f[0].function, "memscope::test::probe(int)");
	symbolizer__symbolize(off, ip, &f, &n);
	assert_int_equal(n, 1);
	assert_non_null(f[0].function);
	assert_string_equal(f[0].function, MANGLED);
	symbolizer__free(on);
	symbolizer__free(off);
#else
	cannot_run("no mangled probe written for this architecture");
#endif
}

static void test_symbolize__format_has_four_forms(void **state)
{
	const struct sym_frame with_line = {
		.ip = 0x401234, .function = "main", .file = "/src/app/main.c", .line = 42,
		.module = "/usr/bin/app", .module_offset = 0x1233,
	};
	const struct sym_frame no_line = {
		.ip = 0x7f0000001234, .function = "helper", .module = "/usr/lib/libx.so.1",
		.module_offset = 0x1233,
	};
	const struct sym_frame module_only = {
		.ip = 0x7f0000001234, .module = "/usr/lib/libx.so.1", .module_offset = 0x1233,
	};
	const struct sym_frame bare = { .ip = 0xdeadbeef };
	char buf[128];

	assert_int_equal(sym_frame__format(&with_line, buf, sizeof(buf)), 25);
	assert_string_equal(buf, "main (/src/app/main.c:42)");
	assert_int_equal(sym_frame__format(&no_line, buf, sizeof(buf)), 25);
	assert_string_equal(buf, "helper (libx.so.1+0x1233)");
	assert_int_equal(sym_frame__format(&module_only, buf, sizeof(buf)), 16);
	assert_string_equal(buf, "libx.so.1+0x1233");
	assert_int_equal(sym_frame__format(&bare, buf, sizeof(buf)), 10);
	assert_string_equal(buf, "0xdeadbeef");
}

static void test_symbolize__format_cuts_like_snprintf(void **state)
{
	const struct sym_frame f = {
		.function = "main", .file = "/src/app/main.c", .line = 42,
	};
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(sym_frame__format(&f, buf, sizeof(buf)), 25);
	assert_string_equal(buf, "main (/");
	assert_int_equal(sym_frame__format(&f, NULL, 0), 25);
}

static void test_symbolize__works_after_target_exited(void **state)
{
	const struct sym_frame *f;
	struct symbolizer *s;
	pid_t child;
	size_t n;
	int line;
	/* the child is a fork: this address is the same in it */
	uintptr_t ra = call_site(&line);

	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		for (;;)
			pause();
	s = symbolizer__new(child, NULL);
	assert_non_null(s);
	reap(child);

	symbolizer__symbolize(s, ra, &f, &n);
	assert_int_equal(n, 1);
	assert_frame(&f[0], "call_site", line);
	assert_true(symbolizer__refresh(s) < 0);
	assert_int_equal(symbolizer__track(s, 0x10), -ENOENT);
	symbolizer__free(s);
}

static void test_symbolize__deleted_binary_is_still_read(void **state)
{
	char exe[] = "/tmp/test_symbolize.XXXXXX";
	const struct sym_frame *f;
	struct symbolizer *s;
	int fd, pipefd[2], line = 0;
	uintptr_t ra = 0;
	FILE *in;
	pid_t child;
	size_t n;

	/* a deleted file is reachable only through /proc/PID/map_files */
	if (geteuid() != 0)
		cannot_run("reading /proc/PID/map_files needs root");
	fd = mkstemp(exe);
	assert_true(fd >= 0);
	close(fd);
	copy_file("/proc/self/exe", exe);
	assert_int_equal(chmod(exe, 0700), 0);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		execl(exe, exe, "--print-call-site", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	in = fdopen(pipefd[0], "r");
	assert_non_null(in);
	assert_int_equal(fscanf(in, "%" SCNxPTR " %d", &ra, &line), 2);
	fclose(in);
	assert_int_equal(unlink(exe), 0);

	s = symbolizer__new(child, NULL);
	assert_non_null(s);
	assert_int_equal(symbolizer__track(s, ra), 0);
	reap(child);
	symbolizer__symbolize(s, ra, &f, &n);
	assert_int_equal(n, 1);
	assert_frame(&f[0], "call_site", line);
	assert_non_null(strstr(f[0].module, "(deleted)"));
	symbolizer__free(s);
}

static void test_symbolize__object_loaded_later_is_found_on_a_miss(void **state)
{
	struct symbolizer *s = self_symbolizer(true);
	uintptr_t ip;
	void *h = load_resolv(&ip);

	/* past the re-read rate limit: the miss reads the maps again */
	usleep(20 * 1000);
	assert_int_equal(symbolizer__track(s, ip), 0);
	assert_in_resolv(s, ip);
	dlclose(h);
	symbolizer__free(s);
}

static void test_symbolize__miss_within_rate_limit_is_settled_later(void **state)
{
	struct symbolizer *s = self_symbolizer(true);
	uintptr_t ip;
	void *h = load_resolv(&ip);
	int err;

	/* most likely within 10 ms of the first read: queued, not re-read */
	err = symbolizer__track(s, ip);
	assert_true(err == 0 || err == -ENOENT);
	assert_in_resolv(s, ip);
	dlclose(h);
	symbolizer__free(s);
}

static void test_symbolize__free_closes_every_fd(void **state)
{
	int before = count_fds();
	struct symbolizer *s = self_symbolizer(true);
	uintptr_t ip;
	void *h = load_resolv(&ip);

	usleep(20 * 1000);
	assert_in_resolv(s, ip);
	assert_true(count_fds() > before);
	symbolizer__free(s);
	dlclose(h);
	assert_int_equal(count_fds(), before);
}

static void test_symbolize__missing_pid_fails_with_errno(void **state)
{
	/* above any pid_max the kernel allows */
	errno = 0;
	assert_null(symbolizer__new(0x7ffffff0, NULL));
	assert_int_equal(errno, ENOENT);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symbolize__return_address_gives_caller_file_and_line),
		cmocka_unit_test(test_symbolize__inlined_calls_give_one_frame_each),
		cmocka_unit_test(test_symbolize__same_ip_is_resolved_once),
		cmocka_unit_test(test_symbolize__unknown_address_gives_one_bare_frame),
		cmocka_unit_test(test_symbolize__null_symbolizer_gives_one_bare_frame),
		cmocka_unit_test(test_symbolize__libc_malloc_is_named_in_libc),
		cmocka_unit_test(test_symbolize__cxx_symbol_is_demangled),
		cmocka_unit_test(test_symbolize__format_has_four_forms),
		cmocka_unit_test(test_symbolize__format_cuts_like_snprintf),
		cmocka_unit_test(test_symbolize__works_after_target_exited),
		cmocka_unit_test(test_symbolize__deleted_binary_is_still_read),
		cmocka_unit_test(test_symbolize__object_loaded_later_is_found_on_a_miss),
		cmocka_unit_test(test_symbolize__miss_within_rate_limit_is_settled_later),
		cmocka_unit_test(test_symbolize__free_closes_every_fd),
		cmocka_unit_test(test_symbolize__missing_pid_fails_with_errno),
		cmocka_unit_test(test_symbolize__exports_name_an_address_only_when_their_size_covers_it),
	};

	if (argc == 2 && !strcmp(argv[1], "--print-call-site"))
		print_call_site();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
