// SPDX-License-Identifier: MIT
/*
 * Allocator entry points in one ELF object, and where to probe each.
 *
 * The object may be anything the traced process maps, so it is untrusted:
 * every index, offset and string goes through libelf's checked accessors or
 * an explicit bound here, and a malformed object is reported as -ENOEXEC.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc_syms.h"
#include "probe_site.h"
#include "util.h"

/* the versym bit of a non-default version (name@VER, not name@@VER) */
#ifndef VERSYM_HIDDEN
#define VERSYM_HIDDEN 0x8000
#endif

/* probe_site__choose() never looks further than this */
#define CODE_BYTES 64

const struct alloc_sym_name alloc_syms__table[] = {
	{ "malloc", MS_FN_MALLOC },
	{ "calloc", MS_FN_CALLOC },
	{ "realloc", MS_FN_REALLOC },
	{ "reallocarray", MS_FN_REALLOCARRAY },
	{ "posix_memalign", MS_FN_POSIX_MEMALIGN },
	/* before memalign: glibc defines both at one address, one probe named aligned_alloc */
	{ "aligned_alloc", MS_FN_ALIGNED_ALLOC },
	{ "memalign", MS_FN_MEMALIGN },
	{ "valloc", MS_FN_VALLOC },
	{ "pvalloc", MS_FN_PVALLOC },
	{ "free", MS_FN_FREE },
	{ "_Znwm", MS_FN_NEW },
	{ "_ZnwmRKSt9nothrow_t", MS_FN_NEW_NOTHROW },
	{ "_ZnwmSt11align_val_t", MS_FN_NEW_ALIGNED },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", MS_FN_NEW_ALIGNED_NOTHROW },
	{ "_Znam", MS_FN_NEW_ARRAY },
	{ "_ZnamRKSt9nothrow_t", MS_FN_NEW_ARRAY_NOTHROW },
	{ "_ZnamSt11align_val_t", MS_FN_NEW_ARRAY_ALIGNED },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", MS_FN_NEW_ARRAY_ALIGNED_NOTHROW },
	{ "_ZdlPv", MS_FN_DELETE },
	{ "_ZdlPvm", MS_FN_DELETE_SIZED },
	{ "_ZdlPvRKSt9nothrow_t", MS_FN_DELETE_NOTHROW },
	{ "_ZdlPvSt11align_val_t", MS_FN_DELETE_ALIGNED },
	{ "_ZdlPvmSt11align_val_t", MS_FN_DELETE_SIZED_ALIGNED },
	{ "_ZdlPvSt11align_val_tRKSt9nothrow_t", MS_FN_DELETE_ALIGNED_NOTHROW },
	{ "_ZdaPv", MS_FN_DELETE_ARRAY },
	{ "_ZdaPvm", MS_FN_DELETE_ARRAY_SIZED },
	{ "_ZdaPvRKSt9nothrow_t", MS_FN_DELETE_ARRAY_NOTHROW },
	{ "_ZdaPvSt11align_val_t", MS_FN_DELETE_ARRAY_ALIGNED },
	{ "_ZdaPvmSt11align_val_t", MS_FN_DELETE_ARRAY_SIZED_ALIGNED },
	{ "_ZdaPvSt11align_val_tRKSt9nothrow_t", MS_FN_DELETE_ARRAY_ALIGNED_NOTHROW },
	{ "__call_tls_dtors", MS_FN_THREAD_EXIT },
	{ NULL, MS_FN_NONE },
};

#define TABLE_LEN (sizeof(alloc_syms__table) / sizeof(alloc_syms__table[0]) - 1)

static const char *const fn_names[MS_FN__COUNT] = {
	[MS_FN_NONE] = "none",
	[MS_FN_MALLOC] = "malloc",
	[MS_FN_CALLOC] = "calloc",
	[MS_FN_REALLOC] = "realloc",
	[MS_FN_REALLOCARRAY] = "reallocarray",
	[MS_FN_POSIX_MEMALIGN] = "posix_memalign",
	[MS_FN_ALIGNED_ALLOC] = "aligned_alloc",
	[MS_FN_MEMALIGN] = "memalign",
	[MS_FN_VALLOC] = "valloc",
	[MS_FN_PVALLOC] = "pvalloc",
	[MS_FN_NEW] = "operator new",
	[MS_FN_NEW_NOTHROW] = "operator new(nothrow)",
	[MS_FN_NEW_ALIGNED] = "operator new(align_val_t)",
	[MS_FN_NEW_ALIGNED_NOTHROW] = "operator new(align_val_t, nothrow)",
	[MS_FN_NEW_ARRAY] = "operator new[]",
	[MS_FN_NEW_ARRAY_NOTHROW] = "operator new[](nothrow)",
	[MS_FN_NEW_ARRAY_ALIGNED] = "operator new[](align_val_t)",
	[MS_FN_NEW_ARRAY_ALIGNED_NOTHROW] = "operator new[](align_val_t, nothrow)",
	[MS_FN_FREE] = "free",
	[MS_FN_DELETE] = "operator delete",
	[MS_FN_DELETE_SIZED] = "operator delete(sized)",
	[MS_FN_DELETE_NOTHROW] = "operator delete(nothrow)",
	[MS_FN_DELETE_ALIGNED] = "operator delete(align_val_t)",
	[MS_FN_DELETE_SIZED_ALIGNED] = "operator delete(sized, align_val_t)",
	[MS_FN_DELETE_ALIGNED_NOTHROW] = "operator delete(align_val_t, nothrow)",
	[MS_FN_DELETE_ARRAY] = "operator delete[]",
	[MS_FN_DELETE_ARRAY_SIZED] = "operator delete[](sized)",
	[MS_FN_DELETE_ARRAY_NOTHROW] = "operator delete[](nothrow)",
	[MS_FN_DELETE_ARRAY_ALIGNED] = "operator delete[](align_val_t)",
	[MS_FN_DELETE_ARRAY_SIZED_ALIGNED] = "operator delete[](sized, align_val_t)",
	[MS_FN_DELETE_ARRAY_ALIGNED_NOTHROW] = "operator delete[](align_val_t, nothrow)",
	[MS_FN_THREAD_EXIT] = "thread exit",
};

const char *alloc_syms__fn_name(enum ms_fn fn)
{
	if ((unsigned)fn >= MS_FN__COUNT || !fn_names[fn])
		return "unknown";
	return fn_names[fn];
}

/* The symbol chosen so far for one name of the table. */
struct candidate {
	bool found;
	bool hidden;  /* a non-default (compat) version */
	int symtab;   /* 0 .dynsym, 1 .symtab: which table it came from */
	uint64_t vaddr;
	uint64_t size;
};

/* What the scan works on; the sections are NULL when absent. */
struct elf_view {
	Elf *elf;
	uint64_t file_size;
	bool x86_64;
	size_t phnum;
	Elf_Scn *dynsym, *symtab, *versym;
};

/* The C functions (not the C++ operators): what a symbol prefix renames. */
static bool prefixable(enum ms_fn fn)
{
	return (fn >= MS_FN_MALLOC && fn <= MS_FN_PVALLOC) || fn == MS_FN_FREE;
}

/*
 * The candidate slot of name: the table's index, or TABLE_LEN + the index
 * for prefix + a C function's name (a second entry point of that function,
 * probed as well); -1 when it is none of them.
 */
static int table_index(const char *name, const char *prefix)
{
	size_t i, plen = prefix ? strlen(prefix) : 0;

	for (i = 0; i < TABLE_LEN; i++)
		if (!strcmp(name, alloc_syms__table[i].name))
			return (int)i;
	if (!plen || strncmp(name, prefix, plen))
		return -1;
	for (i = 0; i < TABLE_LEN; i++)
		if (prefixable(alloc_syms__table[i].fn) && !strcmp(name + plen, alloc_syms__table[i].name))
			return (int)(TABLE_LEN + i);
	return -1;
}

static void consider(struct candidate *c, int symtab, bool hidden, const GElf_Sym *sym)
{
	/*
	 * The first name found wins, except that a default version replaces a
	 * hidden compat one from the same table: new programs bind to it.
	 */
	if (c->found && !(c->symtab == symtab && c->hidden && !hidden))
		return;
	c->found = true;
	c->hidden = hidden;
	c->symtab = symtab;
	c->vaddr = sym->st_value;
	c->size = sym->st_size;
}

/* Reads one symbol table into cand; -ENOEXEC when the table itself is unreadable. */
static int scan_table(const struct elf_view *v, Elf_Scn *scn, int symtab, struct candidate *cand,
		      const char *prefix)
{
	Elf_Data *data, *versym = NULL;
	GElf_Shdr sh, vsh;
	size_t i, count, entsize;

	if (!gelf_getshdr(scn, &sh) || !(data = elf_getdata(scn, NULL)))
		return -ENOEXEC;
	entsize = gelf_fsize(v->elf, ELF_T_SYM, 1, EV_CURRENT);
	if (!entsize)
		return -ENOEXEC;
	count = data->d_size / entsize;
	if (count > INT_MAX) /* libelf indexes with int */
		count = INT_MAX;
	/* versions belong to .dynsym only, and only when they say they describe it */
	if (!symtab && v->versym && gelf_getshdr(v->versym, &vsh) && vsh.sh_link == elf_ndxscn(scn))
		versym = elf_getdata(v->versym, NULL);

	for (i = 1; i < count; i++) {
		GElf_Versym ver;
		GElf_Sym sym;
		const char *name;
		bool hidden;
		int bind, k;

		if (!gelf_getsym(data, (int)i, &sym))
			continue;
		bind = GELF_ST_BIND(sym.st_info);
		if (sym.st_shndx == SHN_UNDEF || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    (bind != STB_GLOBAL && bind != STB_WEAK))
			continue;
		name = elf_strptr(v->elf, sh.sh_link, sym.st_name);
		if (!name || (k = table_index(name, prefix)) < 0)
			continue;
		hidden = versym && gelf_getversym(versym, (int)i, &ver) && (ver & VERSYM_HIDDEN);
		consider(&cand[k], symtab, hidden, &sym);
	}
	return 0;
}

/*
 * File offset of vaddr, and how many file bytes follow it in its segment.
 * Only executable PT_LOAD segments count: code is never anywhere else.
 */
static bool vaddr_to_offset(const struct elf_view *v, uint64_t vaddr, uint64_t *off,
			    uint64_t *avail)
{
	GElf_Phdr ph;
	size_t i;

	for (i = 0; i < v->phnum; i++) {
		if (!gelf_getphdr(v->elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz)
			continue;
		if (ph.p_offset > v->file_size || ph.p_filesz > v->file_size - ph.p_offset)
			continue; /* segment claims bytes the file does not have */
		*off = vaddr - ph.p_vaddr + ph.p_offset;
		*avail = ph.p_filesz - (vaddr - ph.p_vaddr);
		return true;
	}
	return false;
}

static ssize_t pread_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t r;

	while (done < len) {
		r = pread(fd, buf + done, len - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* Fills s for table entry k; 1 when it is usable, 0 to skip it, or a negative errno. */
static int resolve(const struct elf_view *v, int fd, size_t k, const struct candidate *c,
		   struct alloc_sym *s)
{
	uint8_t code[CODE_BYTES];
	uint64_t off, avail, want = CODE_BYTES;
	struct probe_site site = { 0 };
	ssize_t got;

	if (!vaddr_to_offset(v, c->vaddr, &off, &avail)) {
		ms_info(2, "'%s' at 0x%llx is in no executable segment, skipped",
			alloc_syms__table[k].name, (unsigned long long)c->vaddr);
		return 0;
	}
	if (c->size && c->size < want)
		want = c->size;
	if (avail < want)
		want = avail;
	got = pread_full(fd, code, want, off);
	if (got < 0)
		return (int)got;
	if (v->x86_64)
		probe_site__choose(code, (size_t)got, &site);

	s->fn = alloc_syms__table[k].fn;
	s->name = alloc_syms__table[k].name;
	s->vaddr = c->vaddr;
	s->file_offset = off;
	s->probe_offset = site.offset;
	s->emulated = site.emulated;
	return 1;
}

/* A table of n entries of entsize bytes at off lies within the file (or is empty). */
static bool table_fits(uint64_t off, uint64_t n, uint64_t entsize, uint64_t file_size)
{
	uint64_t bytes;

	if (n == 0)
		return true;
	if (__builtin_mul_overflow(n, entsize, &bytes))
		return false;
	return off <= file_size && bytes <= file_size - off;
}

/* Opens fd with libelf and finds the sections the scan needs. */
static int open_view(int fd, struct elf_view *v)
{
	Elf_Scn *scn = NULL;
	size_t i, shnum;
	GElf_Ehdr eh;
	GElf_Phdr ph;
	GElf_Shdr sh;
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	v->file_size = (uint64_t)st.st_size;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOEXEC;
	(void)elf_errno(); /* clear what an earlier scan left, see below */
	v->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!v->elf || elf_kind(v->elf) != ELF_K_ELF || !gelf_getehdr(v->elf, &eh) ||
	    elf_getphdrnum(v->elf, &v->phnum))
		return -ENOEXEC;
	/* the decoder knows x86-64 only; elsewhere every probe goes at offset 0 */
	v->x86_64 = eh.e_machine == EM_X86_64;
	/*
	 * libelf quietly reports no sections when the section table lies past
	 * the end of the file; a truncated object must be an error instead.
	 */
	if (elf_getshdrnum(v->elf, &shnum) || (eh.e_shnum && shnum != eh.e_shnum) ||
	    (eh.e_phnum != PN_XNUM && v->phnum != eh.e_phnum) ||
	    !table_fits(eh.e_shoff, eh.e_shoff ? (shnum ? shnum : 1) : 0, eh.e_shentsize,
			v->file_size) ||
	    !table_fits(eh.e_phoff, v->phnum, eh.e_phentsize, v->file_size))
		return -ENOEXEC;
	for (i = 0; i < v->phnum; i++)
		if (!gelf_getphdr(v->elf, (int)i, &ph))
			return -ENOEXEC;
	while ((scn = elf_nextscn(v->elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if (sh.sh_type == SHT_DYNSYM && !v->dynsym)
			v->dynsym = scn;
		else if (sh.sh_type == SHT_SYMTAB && !v->symtab)
			v->symtab = scn;
		else if (sh.sh_type == SHT_GNU_versym && !v->versym)
			v->versym = scn;
	}
	/* a section table that cannot be read at all is corruption, not "no sections" */
	if (elf_errno() != 0)
		return -ENOEXEC;
	return 0;
}

/* The entry already made for vaddr, or NULL. */
static struct alloc_sym *same_address_seen(struct alloc_sym *syms, size_t n, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (syms[i].vaddr == vaddr)
			return &syms[i];
	return NULL;
}

int alloc_syms__scan(int fd, struct alloc_sym **out, size_t *n)
{
	return alloc_syms__scan_prefixed(fd, NULL, out, n);
}

int alloc_syms__scan_prefixed(int fd, const char *prefix, struct alloc_sym **out, size_t *n)
{
	struct candidate cand[2 * TABLE_LEN] = { 0 };
	struct elf_view v = { 0 };
	struct alloc_sym *syms = NULL, *first;
	size_t k, cnt = 0;
	int err;

	*out = NULL;
	*n = 0;
	err = open_view(fd, &v);
	if (err)
		goto cleanup;
	/* .dynsym first: it carries the versions; .symtab adds what only it has */
	if (v.dynsym && (err = scan_table(&v, v.dynsym, 0, cand, prefix)))
		goto cleanup;
	if (v.symtab && (err = scan_table(&v, v.symtab, 1, cand, prefix)))
		goto cleanup;

	syms = xcalloc(2 * TABLE_LEN, sizeof(*syms));
	for (k = 0; k < 2 * TABLE_LEN; k++) {
		size_t t = k % TABLE_LEN; /* the table's entry (prefixed ones after the others) */

		if (!cand[k].found)
			continue;
		if ((first = same_address_seen(syms, cnt, cand[k].vaddr))) {
			ms_info(2, "'%s%s' shares its address with '%s', one probe for both",
				k >= TABLE_LEN ? prefix : "", alloc_syms__table[t].name, first->name);
			if (first->fn != alloc_syms__table[t].fn)
				first->aliases |= 1ull << alloc_syms__table[t].fn;
			continue;
		}
		err = resolve(&v, fd, t, &cand[k], &syms[cnt]);
		if (err < 0)
			goto cleanup;
		cnt += (size_t)err;
	}
	err = 0;
	*out = syms;
	*n = cnt;
	syms = NULL;
cleanup:
	free(syms);
	if (v.elf)
		elf_end(v.elf);
	return err;
}

/* A function's family for matching releases to allocations (as the detector sees them). */
static int family(unsigned fn)
{
	if (fn >= MS_FN_MALLOC && fn <= MS_FN_PVALLOC)
		return 1;
	if (fn >= MS_FN_NEW && fn <= MS_FN_NEW_ALIGNED_NOTHROW)
		return 2;
	if (fn >= MS_FN_NEW_ARRAY && fn <= MS_FN_NEW_ARRAY_ALIGNED_NOTHROW)
		return 3;
	if (fn == MS_FN_FREE)
		return 1;
	if (fn >= MS_FN_DELETE && fn <= MS_FN_DELETE_ALIGNED_NOTHROW)
		return 2;
	if (fn >= MS_FN_DELETE_ARRAY && fn <= MS_FN_DELETE_ARRAY_ALIGNED_NOTHROW)
		return 3;
	return 0;
}

uint64_t alloc_syms__mixed_families(const struct alloc_sym *syms, size_t n)
{
	uint64_t mixed = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t all = syms[i].aliases | 1ull << syms[i].fn;
		bool mixes = false;

		for (unsigned f = 0; f < MS_FN__COUNT; f++)
			if ((all >> f & 1) && family(f) != family(syms[i].fn))
				mixes = true;
		if (mixes)
			mixed |= all;
	}
	return mixed;
}

/*
 * Names only one allocator defines, and the allocator they name; glibc's
 * last: tcmalloc and mimalloc define __libc_malloc too, as glibc's
 * stand-ins.
 */
static const struct {
	const char *sym, *kind;
} kind_marks[] = {
	{ "mallctl", "jemalloc" },
	{ "je_mallctl", "jemalloc" },
	{ "tc_malloc", "tcmalloc" },
	{ "mi_malloc", "mimalloc" },
	{ "__libc_malloc", "glibc" },
};

#define KIND_MARKS (sizeof(kind_marks) / sizeof(kind_marks[0]))

/* The first of kind_marks a symbol table defines (an index), or KIND_MARKS. */
static size_t table_kind(const struct elf_view *v, Elf_Scn *scn)
{
	size_t best = KIND_MARKS;
	Elf_Data *data;
	GElf_Shdr sh;
	size_t i, count, entsize = gelf_fsize(v->elf, ELF_T_SYM, 1, EV_CURRENT);

	if (!entsize || !gelf_getshdr(scn, &sh) || !(data = elf_getdata(scn, NULL)))
		return best;
	count = data->d_size / entsize;
	if (count > INT_MAX)
		count = INT_MAX;
	for (i = 1; i < count; i++) {
		GElf_Sym sym;
		const char *name;

		if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
		    GELF_ST_TYPE(sym.st_info) != STT_FUNC)
			continue;
		name = elf_strptr(v->elf, sh.sh_link, sym.st_name);
		for (size_t k = 0; name && k < best; k++)
			if (!strcmp(name, kind_marks[k].sym))
				best = k;
	}
	return best;
}

const char *alloc_syms__kind(int fd)
{
	struct elf_view v = { 0 };
	size_t k = KIND_MARKS, t;

	if (!open_view(fd, &v)) {
		if (v.dynsym)
			k = table_kind(&v, v.dynsym);
		if (v.symtab && (t = table_kind(&v, v.symtab)) < k)
			k = t;
	}
	if (v.elf)
		elf_end(v.elf);
	return k < KIND_MARKS ? kind_marks[k].kind : NULL;
}
