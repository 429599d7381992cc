// SPDX-License-Identifier: MIT
/*
 * alloc_syms: against this machine's glibc and libstdc++ (checked against the
 * code the dynamic linker mapped into this very process), and against small
 * ELF objects the tests write themselves with libelf.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc_syms.h"

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

struct loaded {
	const char *needle;
	char path[PATH_MAX];
	uintptr_t base;
	bool found;
};

static int find_loaded_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct loaded *l = arg;
	const char *slash;

	if (!info->dlpi_name || !*info->dlpi_name)
		return 0;
	slash = strrchr(info->dlpi_name, '/');
	if (strcmp(slash ? slash + 1 : info->dlpi_name, l->needle))
		return 0;
	snprintf(l->path, sizeof(l->path), "%s", info->dlpi_name);
	l->base = info->dlpi_addr;
	l->found = true;
	return 1;
}

/* Path and load bias of a shared object mapped into this process. */
static bool find_loaded(const char *soname, struct loaded *l)
{
	memset(l, 0, sizeof(*l));
	l->needle = soname;
	dl_iterate_phdr(find_loaded_cb, l);
	return l->found;
}

static int scan_path(const char *path, struct alloc_sym **syms, size_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err;

	assert_true(fd >= 0);
	err = alloc_syms__scan(fd, syms, n);
	close(fd);
	return err;
}

static const struct alloc_sym *find_fn(const struct alloc_sym *syms, size_t n, enum ms_fn fn)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (syms[i].fn == fn)
			return &syms[i];
	return NULL;
}

/*
 * The bytes at each entry's file offset are the bytes the dynamic linker
 * mapped at its address, and dlsym() agrees on the address: that proves the
 * vaddr → file offset arithmetic on a real object.
 */
static void check_against_runtime(const struct loaded *l, void *handle,
				  const struct alloc_sym *syms, size_t n)
{
	int fd = open(l->path, O_RDONLY | O_CLOEXEC);
	size_t i;

	assert_true(fd >= 0);
	for (i = 0; i < n; i++) {
		const uint8_t *mapped = (const uint8_t *)(l->base + syms[i].vaddr);
		uint8_t from_file[16];

		assert_int_equal(pread(fd, from_file, sizeof(from_file), (off_t)syms[i].file_offset),
				 sizeof(from_file));
		if (memcmp(from_file, mapped, sizeof(from_file)))
			fail_msg("'%s': bytes at file offset 0x%llx differ from the mapped code",
				 syms[i].name, (unsigned long long)syms[i].file_offset);
		assert_ptr_equal(dlsym(handle, syms[i].name), mapped);
		assert_true(syms[i].probe_offset < 64);
	}
	close(fd);
}

/* An anonymous temp file: unlinked at once, so a failed test leaves nothing behind. */
static int temp_fd(void)
{
	char path[] = "/tmp/test_alloc_syms.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static int write_temp(const void *data, size_t len)
{
	int fd = temp_fd();

	assert_int_equal(write(fd, data, len), (ssize_t)len);
	return fd;
}

static void *read_whole(int fd, size_t *len)
{
	struct stat st;
	void *buf;

	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_size > 0);
	buf = malloc((size_t)st.st_size);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	*len = (size_t)st.st_size;
	return buf;
}

/* Scans fd, then closes it. */
static int scan_fd(int fd, struct alloc_sym **syms, size_t *n)
{
	int err = alloc_syms__scan(fd, syms, n);

	close(fd);
	return err;
}

/* --- the table --- */

static void test_alloc_syms__every_fn_has_one_name_and_one_table_entry(void **state)
{
	int fn, seen[MS_FN__COUNT] = { 0 };
	size_t i, j;

	for (i = 0; alloc_syms__table[i].name; i++) {
		assert_true(alloc_syms__table[i].fn > MS_FN_NONE && alloc_syms__table[i].fn < MS_FN__COUNT);
		seen[alloc_syms__table[i].fn]++;
		for (j = 0; j < i; j++)
			assert_string_not_equal(alloc_syms__table[i].name, alloc_syms__table[j].name);
	}
	for (fn = MS_FN_MALLOC; fn < MS_FN__COUNT; fn++) {
		assert_int_equal(seen[fn], 1);
		assert_string_not_equal(alloc_syms__fn_name(fn), "unknown");
		for (j = MS_FN_MALLOC; j < (size_t)fn; j++)
			assert_string_not_equal(alloc_syms__fn_name(fn), alloc_syms__fn_name(j));
	}
}

static void test_alloc_syms__fn_names_read_like_cxx(void **state)
{
	assert_string_equal(alloc_syms__fn_name(MS_FN_MALLOC), "malloc");
	assert_string_equal(alloc_syms__fn_name(MS_FN_FREE), "free");
	assert_string_equal(alloc_syms__fn_name(MS_FN_NEW), "operator new");
	assert_string_equal(alloc_syms__fn_name(MS_FN_NEW_NOTHROW), "operator new(nothrow)");
	assert_string_equal(alloc_syms__fn_name(MS_FN_NEW_ARRAY_ALIGNED), "operator new[](align_val_t)");
	assert_string_equal(alloc_syms__fn_name(MS_FN_DELETE_ARRAY_SIZED), "operator delete[](sized)");
	assert_string_equal(alloc_syms__fn_name(MS_FN__COUNT), "unknown");
	assert_string_equal(alloc_syms__fn_name((enum ms_fn)-1), "unknown");
}

/* --- this machine's libraries --- */

static void test_alloc_syms__libc_has_the_c_allocators(void **state)
{
	const struct alloc_sym *free_sym, *aa;
	struct alloc_sym *syms = NULL;
	struct loaded libc;
	void *handle;
	size_t n = 0;

	if (!find_loaded("libc.so.6", &libc))
		cannot_run("libc.so.6 is not mapped into the test (not glibc?)");
	assert_int_equal(scan_path(libc.path, &syms, &n), 0);
	assert_non_null(find_fn(syms, n, MS_FN_MALLOC));
	assert_non_null(find_fn(syms, n, MS_FN_CALLOC));
	assert_non_null(find_fn(syms, n, MS_FN_REALLOC));
	free_sym = find_fn(syms, n, MS_FN_FREE);
	assert_non_null(free_sym);
	/* test %rdi,%rdi ; je: the je is the cheap site (glibc 2.36) */
	assert_int_equal(free_sym->probe_offset, 3);
	assert_true(free_sym->emulated);

	/* aligned_alloc and memalign are one function in glibc: one probe, named aligned_alloc */
	handle = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(handle);
	aa = find_fn(syms, n, MS_FN_ALIGNED_ALLOC);
	assert_non_null(aa);
	assert_null(find_fn(syms, n, MS_FN_MEMALIGN));
	assert_ptr_equal(dlsym(handle, "memalign"), (void *)(libc.base + aa->vaddr));

	check_against_runtime(&libc, handle, syms, n);
	dlclose(handle);
	free(syms);
}

static void test_alloc_syms__libstdcxx_has_operator_new_and_delete(void **state)
{
	const struct alloc_sym *del;
	struct alloc_sym *syms = NULL;
	struct loaded cxx;
	void *handle;
	size_t n = 0;

	handle = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
	if (!handle || !find_loaded("libstdc++.so.6", &cxx)) {
		if (handle)
			dlclose(handle);
		cannot_run("libstdc++.so.6 cannot be loaded");
	}
	assert_int_equal(scan_path(cxx.path, &syms, &n), 0);
	assert_non_null(find_fn(syms, n, MS_FN_NEW));
	assert_non_null(find_fn(syms, n, MS_FN_NEW_ARRAY));
	assert_non_null(find_fn(syms, n, MS_FN_NEW_NOTHROW));
	assert_non_null(find_fn(syms, n, MS_FN_DELETE_ARRAY));
	del = find_fn(syms, n, MS_FN_DELETE);
	assert_non_null(del);
	/* [endbr64 ;] jmp free@plt: the jmp is emulated */
	assert_true(del->emulated);
	check_against_runtime(&cxx, handle, syms, n);
	dlclose(handle);
	free(syms);
}

/* --- files that are not (whole) ELF objects --- */

static void test_alloc_syms__non_elf_file_is_enoexec(void **state)
{
	static const char text[] = "#!/bin/sh\necho this is not an ELF object\n";
	struct alloc_sym *syms = (struct alloc_sym *)1;
	size_t n = 7;

	assert_int_equal(scan_fd(write_temp(text, sizeof(text) - 1), &syms, &n), -ENOEXEC);
	assert_null(syms);
	assert_int_equal(n, 0);
	assert_int_equal(scan_fd(write_temp("", 0), &syms, &n), -ENOEXEC);
}

static void test_alloc_syms__truncated_libc_is_an_error(void **state)
{
	static const size_t cuts[] = { 16, 63, 64, 100, 4096, 300000 };
	struct alloc_sym *syms;
	struct loaded libc;
	size_t i, len, n;
	uint8_t *image;
	int fd;

	if (!find_loaded("libc.so.6", &libc))
		cannot_run("libc.so.6 is not mapped into the test (not glibc?)");
	fd = open(libc.path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	image = read_whole(fd, &len);
	close(fd);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]) && cuts[i] < len; i++) {
		syms = NULL;
		n = 0;
		if (scan_fd(write_temp(image, cuts[i]), &syms, &n) >= 0)
			fail_msg("libc cut to %zu bytes was read without error", cuts[i]);
		assert_null(syms);
	}
	free(image);
}

static void test_alloc_syms__bad_fd_is_an_error(void **state)
{
	struct alloc_sym *syms;
	size_t n;

	assert_int_equal(alloc_syms__scan(-1, &syms, &n), -EBADF);
}

/* --- a hand-made object --- */

/*
 * Made with libelf: .text at a virtual address unlike its file offset, a
 * .data in a non-executable segment, a versioned .dynsym and a .symtab.
 */
#define TEXT_VADDR 0x401000ull
#define DATA_VADDR 0x603000ull

enum {
	F_FREE_LIKE = 0x00,  /* test %rdi,%rdi ; je: site +3 */
	F_PUSH = 0x10,       /* push %r12 */
	F_SHORT = 0x20,      /* free-like, but st_size 3 hides the je */
	F_CMPB = 0x30,       /* cmpb $0,rip ; push %rbx: site +7 */
	F_SYMTAB = 0x40,     /* push %rbx */
	F_LOCAL = 0x50,      /* push %rbx, local symbol */
	F_JMP = 0x60,        /* jmp */
	F_ENDBR_JMP = 0x70,  /* endbr64 ; jmp: site +4 */
	F_OTHER = 0x80,      /* push %rbx */
	TEXT_SIZE = 0x90,
};

struct fsym {
	const char *name;
	uint64_t value;
	uint64_t size;
	int type, bind;
	uint16_t shndx_kind; /* 0 text, 1 data, 2 undefined */
	uint16_t versym;
	bool bad_name;
};

static const struct fsym fixture_dynsym[] = {
	{ "malloc", TEXT_VADDR + F_FREE_LIKE, 9, STT_FUNC, STB_GLOBAL, 0, 0x8002, false }, /* compat */
	{ "malloc", TEXT_VADDR + F_PUSH, 3, STT_FUNC, STB_GLOBAL, 0, 3, false },           /* default */
	{ "free", TEXT_VADDR + F_FREE_LIKE, 9, STT_FUNC, STB_GLOBAL, 0, 1, false },
	{ "calloc", TEXT_VADDR + F_SHORT, 3, STT_FUNC, STB_WEAK, 0, 1, false },
	{ "realloc", 0, 0, STT_FUNC, STB_GLOBAL, 2, 1, false },                     /* undefined */
	{ "_Znwm", TEXT_VADDR + F_OTHER, 1, STT_OBJECT, STB_GLOBAL, 0, 1, false },  /* not a function */
	{ "aligned_alloc", TEXT_VADDR + F_CMPB, 8, STT_FUNC, STB_WEAK, 0, 1, false },
	{ "memalign", TEXT_VADDR + F_CMPB, 8, STT_FUNC, STB_WEAK, 0, 1, false },    /* alias */
	{ "valloc", DATA_VADDR, 8, STT_FUNC, STB_GLOBAL, 1, 1, false },             /* not executable */
	{ "pvalloc", 0x9999999, 8, STT_FUNC, STB_GLOBAL, 0, 1, false },             /* in no segment */
	{ "_ZdlPv", TEXT_VADDR + F_OTHER, 1, STT_FUNC, STB_GLOBAL, 0, 1, true },
	{ "_Znam", TEXT_VADDR + F_JMP, 0, STT_FUNC, STB_GLOBAL, 0, 0x8002, false }, /* compat only */
	{ "_ZdaPv", TEXT_VADDR + F_ENDBR_JMP, 9, STT_FUNC, STB_GLOBAL, 0, 2, false },
	{ "_ZdaPv", TEXT_VADDR + F_OTHER, 1, STT_FUNC, STB_GLOBAL, 0, 0x8003, false },
};

static const struct fsym fixture_symtab[] = {
	/* local: not taken */
	{ "reallocarray", TEXT_VADDR + F_LOCAL, 1, STT_FUNC, STB_LOCAL, 0, 0, false },
	/* .dynsym has one already: it wins */
	{ "malloc", TEXT_VADDR + F_SYMTAB, 1, STT_FUNC, STB_GLOBAL, 0, 0, false },
	/* only here: taken */
	{ "posix_memalign", TEXT_VADDR + F_SYMTAB, 1, STT_FUNC, STB_GLOBAL, 0, 0, false },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct strtab {
	char buf[512];
	size_t len;
};

static size_t str_add(struct strtab *s, const char *str)
{
	size_t off = s->len, n = strlen(str) + 1;

	assert_true(s->len + n <= sizeof(s->buf));
	memcpy(s->buf + s->len, str, n);
	s->len += n;
	return off;
}

static Elf_Scn *add_section(Elf *e, struct strtab *shstr, const char *name, uint32_t type,
			    uint64_t flags, uint64_t addr, void *buf, size_t size, Elf_Type dtype,
			    size_t entsize)
{
	Elf_Scn *scn = elf_newscn(e);
	Elf_Data *d;
	GElf_Shdr sh;

	assert_non_null(scn);
	d = elf_newdata(scn);
	assert_non_null(d);
	d->d_buf = buf;
	d->d_size = size;
	d->d_type = dtype;
	d->d_align = dtype == ELF_T_BYTE ? 1 : 8;
	d->d_version = EV_CURRENT;
	assert_non_null(gelf_getshdr(scn, &sh));
	sh.sh_name = str_add(shstr, name);
	sh.sh_type = type;
	sh.sh_flags = flags;
	sh.sh_addr = addr;
	sh.sh_entsize = entsize;
	sh.sh_addralign = d->d_align;
	assert_true(gelf_update_shdr(scn, &sh));
	return scn;
}

static void set_link(Elf_Scn *scn, Elf_Scn *to, uint32_t info)
{
	GElf_Shdr sh;

	assert_non_null(gelf_getshdr(scn, &sh));
	sh.sh_link = elf_ndxscn(to);
	sh.sh_info = info;
	assert_true(gelf_update_shdr(scn, &sh));
}

static void fill_syms(const struct fsym *in, size_t n, Elf64_Sym *out, Elf64_Half *ver,
		      struct strtab *str, Elf_Scn *text, Elf_Scn *data)
{
	size_t i;

	memset(&out[0], 0, sizeof(out[0]));
	for (i = 0; i < n; i++) {
		Elf64_Sym *s = &out[i + 1];

		s->st_name = in[i].bad_name ? 0x7fffffff : str_add(str, in[i].name);
		s->st_info = ELF64_ST_INFO(in[i].bind, in[i].type);
		s->st_shndx = in[i].shndx_kind == 2 ? SHN_UNDEF
			    : elf_ndxscn(in[i].shndx_kind == 1 ? data : text);
		s->st_value = in[i].value;
		s->st_size = in[i].size;
		if (ver)
			ver[i + 1] = in[i].versym;
	}
	if (ver)
		ver[0] = 0;
}

/* Writes the fixture to a temp file (returned open); *text_off is where .text landed in it. */
static int write_fixture(uint16_t machine, uint64_t *text_off)
{
	static uint8_t text[TEXT_SIZE], data[16];
	static Elf64_Sym dynsym[NELEM(fixture_dynsym) + 1], symtab[NELEM(fixture_symtab) + 1];
	static Elf64_Half versym[NELEM(fixture_dynsym) + 1];
	static struct strtab dynstr, strtab, shstr;
	Elf_Scn *s_text, *s_data, *s_dynstr, *s_dynsym, *s_ver, *s_strtab, *s_symtab, *s_shstr;
	GElf_Shdr sh_text, sh_data;
	GElf_Ehdr eh;
	GElf_Phdr ph;
	Elf *e;
	int fd;

	memset(&dynstr, 0, sizeof(dynstr));
	memset(&strtab, 0, sizeof(strtab));
	memset(&shstr, 0, sizeof(shstr));
	str_add(&dynstr, "");
	str_add(&strtab, "");
	str_add(&shstr, "");
	memset(text, 0xcc, sizeof(text));
	memcpy(text + F_FREE_LIKE, "\x48\x85\xff\x0f\x84\x00\x00\x00\x00", 9);
	memcpy(text + F_PUSH, "\x41\x54\xc3", 3);
	memcpy(text + F_SHORT, "\x48\x85\xff\x0f\x84\x00\x00\x00\x00", 9);
	memcpy(text + F_CMPB, "\x80\x3d\x00\x00\x00\x00\x00\x53", 8);
	text[F_SYMTAB] = 0x53;
	text[F_LOCAL] = 0x53;
	memcpy(text + F_JMP, "\xe9\x00\x00\x00\x00", 5);
	memcpy(text + F_ENDBR_JMP, "\xf3\x0f\x1e\xfa\xe9\x00\x00\x00\x00", 9);
	text[F_OTHER] = 0x53;

	fd = temp_fd();
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	e = elf_begin(fd, ELF_C_WRITE, NULL);
	assert_non_null(e);
	assert_non_null(gelf_newehdr(e, ELFCLASS64));
	assert_non_null(gelf_getehdr(e, &eh));
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_DYN;
	eh.e_machine = machine;
	eh.e_version = EV_CURRENT;
	assert_true(gelf_update_ehdr(e, &eh));
	assert_non_null(gelf_newphdr(e, 2));

	s_text = add_section(e, &shstr, ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR,
			     TEXT_VADDR, text, sizeof(text), ELF_T_BYTE, 0);
	s_data = add_section(e, &shstr, ".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, DATA_VADDR,
			     data, sizeof(data), ELF_T_BYTE, 0);
	fill_syms(fixture_dynsym, NELEM(fixture_dynsym), dynsym, versym, &dynstr, s_text, s_data);
	fill_syms(fixture_symtab, NELEM(fixture_symtab), symtab, NULL, &strtab, s_text, s_data);
	s_dynstr = add_section(e, &shstr, ".dynstr", SHT_STRTAB, SHF_ALLOC, 0, dynstr.buf,
			       dynstr.len, ELF_T_BYTE, 0);
	s_dynsym = add_section(e, &shstr, ".dynsym", SHT_DYNSYM, SHF_ALLOC, 0, dynsym,
			       sizeof(dynsym), ELF_T_SYM, sizeof(Elf64_Sym));
	s_ver = add_section(e, &shstr, ".gnu.version", SHT_GNU_versym, SHF_ALLOC, 0, versym,
			    sizeof(versym), ELF_T_HALF, sizeof(Elf64_Half));
	s_strtab = add_section(e, &shstr, ".strtab", SHT_STRTAB, 0, 0, strtab.buf, strtab.len,
			       ELF_T_BYTE, 0);
	s_symtab = add_section(e, &shstr, ".symtab", SHT_SYMTAB, 0, 0, symtab, sizeof(symtab),
			       ELF_T_SYM, sizeof(Elf64_Sym));
	s_shstr = add_section(e, &shstr, ".shstrtab", SHT_STRTAB, 0, 0, shstr.buf, 0, ELF_T_BYTE,
			      0);
	/* the last name was added above: now the size is final */
	elf_getdata(s_shstr, NULL)->d_size = shstr.len;
	set_link(s_dynsym, s_dynstr, 1);
	set_link(s_ver, s_dynsym, 0);
	set_link(s_symtab, s_strtab, 2); /* index of the first global */
	assert_non_null(gelf_getehdr(e, &eh)); /* fresh: gelf_newphdr() changed it */
	eh.e_shstrndx = elf_ndxscn(s_shstr);
	assert_true(gelf_update_ehdr(e, &eh));

	/* lay out, then point the segments at where the sections landed */
	assert_true(elf_update(e, ELF_C_NULL) >= 0);
	assert_non_null(gelf_getshdr(s_text, &sh_text));
	assert_non_null(gelf_getshdr(s_data, &sh_data));
	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_LOAD;
	ph.p_flags = PF_R | PF_X;
	ph.p_offset = sh_text.sh_offset;
	ph.p_vaddr = ph.p_paddr = TEXT_VADDR;
	ph.p_filesz = ph.p_memsz = sizeof(text);
	ph.p_align = 1;
	assert_true(gelf_update_phdr(e, 0, &ph));
	ph.p_flags = PF_R | PF_W;
	ph.p_offset = sh_data.sh_offset;
	ph.p_vaddr = ph.p_paddr = DATA_VADDR;
	ph.p_filesz = ph.p_memsz = sizeof(data);
	assert_true(gelf_update_phdr(e, 1, &ph));
	assert_true(elf_update(e, ELF_C_WRITE) >= 0);
	elf_end(e);
	*text_off = sh_text.sh_offset;
	assert_int_not_equal(*text_off, TEXT_VADDR);
	return fd;
}

static void expect_sym(const struct alloc_sym *s, enum ms_fn fn, uint64_t text_off, uint32_t at,
		       uint32_t probe_offset, bool emulated)
{
	assert_non_null(s);
	assert_int_equal(s->fn, fn);
	assert_non_null(s->name);
	assert_int_equal(s->vaddr, TEXT_VADDR + at);
	assert_int_equal(s->file_offset, text_off + at);
	assert_int_equal(s->probe_offset, probe_offset);
	assert_int_equal(s->emulated, emulated);
}

static void test_alloc_syms__fixture_follows_the_symbol_rules(void **state)
{
	struct alloc_sym *syms = NULL;
	uint64_t text_off;
	size_t n = 0;
	int fd = write_fixture(EM_X86_64, &text_off);

	assert_int_equal(scan_fd(fd, &syms, &n), 0);
	/* table order; the default version beats the compat one, .dynsym beats .symtab */
	assert_int_equal(n, 7);
	expect_sym(&syms[0], MS_FN_MALLOC, text_off, F_PUSH, 0, true);
	assert_string_equal(syms[0].name, "malloc");
	/* st_size 3 leaves only `test`: no site in reach */
	expect_sym(&syms[1], MS_FN_CALLOC, text_off, F_SHORT, 0, false);
	expect_sym(&syms[2], MS_FN_POSIX_MEMALIGN, text_off, F_SYMTAB, 0, true);
	/* memalign, at the same address, is folded into aligned_alloc */
	expect_sym(&syms[3], MS_FN_ALIGNED_ALLOC, text_off, F_CMPB, 7, true);
	assert_string_equal(syms[3].name, "aligned_alloc");
	expect_sym(&syms[4], MS_FN_FREE, text_off, F_FREE_LIKE, 3, true);
	/* only a compat version exists: it is taken */
	expect_sym(&syms[5], MS_FN_NEW_ARRAY, text_off, F_JMP, 0, true);
	/* default first, compat after: the default stays */
	expect_sym(&syms[6], MS_FN_DELETE_ARRAY, text_off, F_ENDBR_JMP, 4, true);
	/* realloc (undefined), _Znwm (object), valloc (data), pvalloc (nowhere),
	 * _ZdlPv (bad name), reallocarray (local) are all absent */
	free(syms);
}

static void test_alloc_syms__other_machines_get_entry_probes(void **state)
{
	struct alloc_sym *syms = NULL;
	uint64_t text_off;
	size_t i, n = 0;
	int fd = write_fixture(EM_AARCH64, &text_off);

	assert_int_equal(scan_fd(fd, &syms, &n), 0);
	assert_int_equal(n, 7);
	for (i = 0; i < n; i++) {
		assert_int_equal(syms[i].probe_offset, 0);
		assert_false(syms[i].emulated);
		assert_int_equal(syms[i].file_offset, text_off + (syms[i].vaddr - TEXT_VADDR));
	}
	free(syms);
}

/* Deterministic corruption of the fixture: never a crash, and any result stays in the file. */
static void test_alloc_syms__corrupted_fixture_never_crashes(void **state)
{
	uint64_t text_off, x = 0x2545f4914f6cdd1dull;
	size_t len, i, k, n;
	uint8_t *orig, *img;
	int fd = write_fixture(EM_X86_64, &text_off);
	int iter, err, errors = 0;

	orig = read_whole(fd, &len);
	close(fd);
	img = malloc(len);
	assert_non_null(img);
	for (iter = 0; iter < 1500; iter++) {
		struct alloc_sym *syms = NULL;

		memcpy(img, orig, len);
		for (k = 0; k < 1 + (size_t)iter % 8; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* half the hits in the headers, where corruption matters most */
			i = (x >> 1) & 1 ? (x >> 8) % 64 : (x >> 8) % len;
			img[i] = (x >> 3) & 1 ? (uint8_t)(x >> 32) : img[i] ^ (uint8_t)(1u << (x >> 40) % 8);
		}
		err = scan_fd(write_temp(img, len), &syms, &n);
		assert_true(err <= 0);
		if (err) {
			errors++;
			assert_null(syms);
		}
		for (k = 0; !err && k < n; k++) {
			assert_true(syms[k].file_offset < len);
			assert_true(syms[k].probe_offset < 64);
			assert_true(syms[k].fn > MS_FN_NONE && syms[k].fn < MS_FN__COUNT);
		}
		free(syms);
	}
	/* the corruption did reach the parser */
	assert_true(errors > 0);
	free(img);
	free(orig);
}

/* --- other allocators (test-deps installs them) --- */

static int open_lib(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		cannot_run("an allocator library is missing (make test-deps)");
	return fd;
}

static void test_alloc_syms__other_allocators_named_by_what_only_they_define(void **state)
{
	static const struct {
		const char *path, *kind;
	} libs[] = {
		{ "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "jemalloc" },
		{ "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "tcmalloc" },
		{ "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2", "mimalloc" },
		{ "/lib/x86_64-linux-gnu/libc.so.6", "glibc" },
	};

	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		int fd = open_lib(libs[i].path);

		assert_string_equal(alloc_syms__kind(fd), libs[i].kind);
		close(fd);
	}
	assert_null(alloc_syms__kind(-1));
}

/* tcmalloc's free is operator delete and delete[]: one probe, the families mixed */
static void test_alloc_syms__free_shared_with_delete_mixes_families(void **state)
{
	int fd = open_lib("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4");
	const struct alloc_sym *f;
	struct alloc_sym *syms;
	uint64_t mixed;
	size_t n;

	assert_int_equal(alloc_syms__scan(fd, &syms, &n), 0);
	close(fd);
	f = find_fn(syms, n, MS_FN_FREE);
	assert_non_null(f);
	assert_true(f->aliases & (1ull << MS_FN_DELETE));
	assert_true(f->aliases & (1ull << MS_FN_DELETE_ARRAY));
	assert_null(find_fn(syms, n, MS_FN_DELETE));
	mixed = alloc_syms__mixed_families(syms, n);
	assert_true(mixed & (1ull << MS_FN_FREE));
	assert_true(mixed & (1ull << MS_FN_DELETE));
	/* malloc has an address of its own: not mixed */
	assert_false(mixed & (1ull << MS_FN_MALLOC));
	free(syms);

	/* glibc: nothing shared across families (aligned_alloc and memalign are one family) */
	fd = open_lib("/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(alloc_syms__scan(fd, &syms, &n), 0);
	close(fd);
	assert_int_equal(alloc_syms__mixed_families(syms, n), 0);
	free(syms);
}

/* A prefix adds prefix + each C function's name; the C++ operators keep their names. */
static void test_alloc_syms__prefix_adds_the_c_functions_under_it(void **state)
{
	int fd = open_lib("/usr/lib/x86_64-linux-gnu/libmimalloc.so.2");
	struct alloc_sym *plain, *pre;
	size_t np, npre;

	assert_int_equal(alloc_syms__scan(fd, &plain, &np), 0);
	/*
	 * mi_malloc, mi_calloc, mi_realloc, mi_free are malloc ... free (one
	 * address each): nothing new; mimalloc's posix_memalign, memalign,
	 * valloc, pvalloc, aligned_alloc and reallocarray wrap mi_* functions
	 * of their own: six more entry points
	 */
	assert_int_equal(alloc_syms__scan_prefixed(fd, "mi_", &pre, &npre), 0);
	assert_int_equal(npre, np + 6);
	for (size_t i = np; i < npre; i++)
		assert_true(pre[i].fn >= MS_FN_REALLOCARRAY && pre[i].fn <= MS_FN_PVALLOC);
	free(pre);
	/* a prefix nothing has */
	assert_int_equal(alloc_syms__scan_prefixed(fd, "zz_", &pre, &npre), 0);
	assert_int_equal(npre, np);
	free(pre);
	free(plain);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_syms__every_fn_has_one_name_and_one_table_entry),
		cmocka_unit_test(test_alloc_syms__fn_names_read_like_cxx),
		cmocka_unit_test(test_alloc_syms__libc_has_the_c_allocators),
		cmocka_unit_test(test_alloc_syms__libstdcxx_has_operator_new_and_delete),
		cmocka_unit_test(test_alloc_syms__non_elf_file_is_enoexec),
		cmocka_unit_test(test_alloc_syms__truncated_libc_is_an_error),
		cmocka_unit_test(test_alloc_syms__bad_fd_is_an_error),
		cmocka_unit_test(test_alloc_syms__fixture_follows_the_symbol_rules),
		cmocka_unit_test(test_alloc_syms__other_machines_get_entry_probes),
		cmocka_unit_test(test_alloc_syms__corrupted_fixture_never_crashes),
		cmocka_unit_test(test_alloc_syms__other_allocators_named_by_what_only_they_define),
		cmocka_unit_test(test_alloc_syms__free_shared_with_delete_mixes_families),
		cmocka_unit_test(test_alloc_syms__prefix_adds_the_c_functions_under_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
