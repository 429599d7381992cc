// SPDX-License-Identifier: MIT
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "unwind_table.h"
#include "util.h"

/* x86-64 DWARF register numbers */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

/* .eh_frame_hdr encodings (DW_EH_PE_*) that GNU ld, gold and lld write */
#define PE_UDATA4 0x03
#define PE_SDATA4 0x0b
#define PE_PCREL_SDATA4 0x1b
#define PE_DATAREL_SDATA4 0x3b

struct row_buf {
	struct ms_unwind_row *v;
	size_t n, cap;
};

/* the executable PT_LOADs, to turn ELF addresses into file offsets */
struct segs {
	GElf_Phdr v[8];
	size_t n;
};

static bool same_rules(const struct ms_unwind_row *a, const struct ms_unwind_row *b)
{
	return a->rule == b->rule && a->cfa_off == b->cfa_off && a->rbp_rule == b->rbp_rule &&
	       a->rbp_off == b->rbp_off;
}

/* Appends r; a row at the last row's pc replaces it; a row that changes nothing is dropped. */
static void rows_push(struct row_buf *b, const struct ms_unwind_row *r)
{
	if (b->n && b->v[b->n - 1].pc == r->pc) {
		b->v[b->n - 1] = *r;
		if (b->n >= 2 && same_rules(&b->v[b->n - 2], r))
			b->n--;
		return;
	}
	if (b->n && same_rules(&b->v[b->n - 1], r))
		return;
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->v = xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	b->v[b->n++] = *r;
}

static bool file_offset(const struct segs *s, uint64_t addr, uint32_t *off)
{
	for (size_t i = 0; i < s->n; i++) {
		const GElf_Phdr *ph = &s->v[i];
		uint64_t o;

		/* the end of a segment is the end of its last function's rows */
		if (addr < ph->p_vaddr || addr > ph->p_vaddr + ph->p_filesz)
			continue;
		o = addr - ph->p_vaddr + ph->p_offset;
		if (o > UINT32_MAX)
			return false;
		*off = (uint32_t)o;
		return true;
	}
	return false;
}

/* The executable segments, and PT_GNU_EH_FRAME when there is one (*have_hdr). */
static int read_segs(Elf *elf, struct segs *s, GElf_Phdr *eh_hdr, bool *have_hdr)
{
	size_t phnum;

	*have_hdr = false;
	if (elf_getphdrnum(elf, &phnum))
		return -EINVAL;
	s->n = 0;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			return -EINVAL;
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && s->n < 8)
			s->v[s->n++] = ph;
		if (ph.p_type == PT_GNU_EH_FRAME) {
			*eh_hdr = ph;
			*have_hdr = true;
		}
	}
	return s->n ? 0 : -ENOENT;
}

static int32_t get_s32(const unsigned char *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * The start addresses of all FDEs, sorted: .eh_frame_hdr's search table
 * (initial location, FDE address), both relative to the header.
 */
static int fde_starts(Elf *elf, const GElf_Phdr *hdr, uint64_t **out, size_t *n)
{
	Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)hdr->p_offset, hdr->p_filesz, ELF_T_BYTE);
	const unsigned char *p;
	uint32_t count;

	if (!d || d->d_size < 12)
		return -EINVAL;
	p = d->d_buf;
	if (p[0] != 1)
		return -ENOTSUP;
	if ((p[1] != PE_PCREL_SDATA4 && p[1] != PE_SDATA4 && p[1] != PE_UDATA4) ||
	    p[2] != PE_UDATA4 || p[3] != PE_DATAREL_SDATA4)
		return -ENOTSUP;
	memcpy(&count, p + 8, 4);
	if ((uint64_t)count * 8 > d->d_size - 12)
		return -EINVAL;
	*out = xcalloc(count ? count : 1, sizeof(**out));
	for (uint32_t i = 0; i < count; i++)
		(*out)[i] = hdr->p_vaddr + (int64_t)get_s32(p + 12 + 8 * (size_t)i);
	*n = count;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The data of section name, decompressed; NULL when there is none. */
static Elf_Data *section_data(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *sname;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		sname = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, name))
			continue;
		if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
			return NULL;
		return elf_getdata(scn, NULL);
	}
	return NULL;
}

/*
 * The start addresses of the FDEs of .debug_frame (an object built without
 * .eh_frame), sorted.  There an FDE's initial location is a plain address.
 */
static int debug_frame_starts(Elf *elf, uint64_t **out, size_t *n)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	Elf_Data *d = section_data(elf, ".debug_frame");
	Dwarf_Off off = 0, next;
	size_t cap = 0;

	if (!d || !ident)
		return -ENOENT;
	if (ident[EI_CLASS] != ELFCLASS64)
		return -ENOTSUP;
	for (;;) {
		Dwarf_CFI_Entry e;
		uint64_t loc;
		int r;

		next = off;
		r = dwarf_next_cfi(ident, d, false, off, &next, &e);
		if (r > 0 || (r < 0 && (next == off || next == (Dwarf_Off)-1)))
			break;
		off = next;
		if (r < 0 || dwarf_cfi_cie_p(&e) || e.fde.end - e.fde.start < 16)
			continue;
		memcpy(&loc, e.fde.start, 8);
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		(*out)[(*n)++] = loc;
	}
	if (!*n)
		return -ENOENT;
	qsort(*out, *n, sizeof(**out), cmp_u64);
	return 0;
}

/* A register saved at CFA + off: libdw's DW_OP_call_frame_cfa [DW_OP_plus_uconst off]. */
static bool saved_at_cfa(const Dwarf_Op *ops, size_t nops, int64_t *off)
{
	if (nops < 1 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (nops == 1) {
		*off = 0;
		return true;
	}
	if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*off = (int64_t)ops[1].number;
		return true;
	}
	return false; /* val_offset, or an expression */
}

/* The CFA as register + offset: DW_OP_bregx reg off, or DW_OP_bregN off. */
static bool cfa_rule(Dwarf_Frame *fr, struct ms_unwind_row *r)
{
	Dwarf_Op *ops;
	size_t nops;
	unsigned reg;
	int64_t off;

	if (dwarf_frame_cfa(fr, &ops, &nops) || nops != 1)
		return false;
	if (ops[0].atom == DW_OP_bregx) {
		reg = (unsigned)ops[0].number;
		off = (int64_t)ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		reg = ops[0].atom - DW_OP_breg0;
		off = (int64_t)ops[0].number;
	} else {
		return false;
	}
	if (off < INT32_MIN || off > INT32_MAX || (reg != REG_RSP && reg != REG_RBP))
		return false;
	r->rule = reg == REG_RSP ? MS_UW_CFA_RSP : MS_UW_CFA_RBP;
	r->cfa_off = (int32_t)off;
	return true;
}

static bool rbp_rule(Dwarf_Frame *fr, struct ms_unwind_row *r)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;
	int64_t off;

	if (dwarf_frame_register(fr, REG_RBP, mem, &ops, &nops))
		return false;
	/* undefined or same value: the value in the register is the best there is */
	if (nops == 0)
		return true;
	if (!saved_at_cfa(ops, nops, &off) || off < INT16_MIN || off > INT16_MAX)
		return false;
	r->rbp_rule = MS_UW_RBP_AT_CFA;
	r->rbp_off = (int16_t)off;
	return true;
}

/* The rules of one CFI row; pc is left to the caller. */
static void row_rules(Dwarf_Frame *fr, bool signal, struct ms_unwind_row *r)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;
	int64_t off;

	memset(r, 0, sizeof(*r));
	r->rule = MS_UW_UNSUPPORTED;
	if (signal || dwarf_frame_register(fr, REG_RA, mem, &ops, &nops))
		return;
	if (nops == 0 && ops == mem) {
		r->rule = MS_UW_OUTERMOST;
		return;
	}
	if (!saved_at_cfa(ops, nops, &off) || off != -8)
		return;
	if (!cfa_rule(fr, r) || !rbp_rule(fr, r)) {
		memset(r, 0, sizeof(*r));
		r->rule = MS_UW_UNSUPPORTED;
	}
}

/*
 * The rows of the FDE that starts at start (and ends before limit), then a
 * MS_UW_NONE row at its end, which the next FDE replaces when it starts
 * there.  An address libdw has no frame for (not an FDE start) adds nothing.
 */
static void fde_rows(Dwarf_CFI *cfi, const struct segs *segs, uint64_t start, uint64_t limit,
		     struct row_buf *b)
{
	uint64_t addr = start;
	struct ms_unwind_row r;

	while (addr < limit) {
		Dwarf_Frame *fr;
		Dwarf_Addr lo, hi;
		uint32_t off;
		bool signal;

		if (dwarf_cfi_addrframe(cfi, addr, &fr))
			break;
		if (dwarf_frame_info(fr, &lo, &hi, &signal) < 0 || hi <= addr ||
		    !file_offset(segs, addr, &off)) {
			free(fr);
			break;
		}
		row_rules(fr, signal, &r);
		r.pc = off;
		rows_push(b, &r);
		free(fr);
		addr = hi;
	}
	if (addr == start)
		return;
	memset(&r, 0, sizeof(r));
	if (file_offset(segs, addr, &r.pc))
		rows_push(b, &r);
}

static bool sorted(const struct row_buf *b)
{
	for (size_t i = 1; i < b->n; i++)
		if (b->v[i].pc <= b->v[i - 1].pc)
			return false;
	return true;
}

int unwind_table__build(int fd, struct ms_unwind_row **rows, size_t *n)
{
	struct row_buf b = { 0 };
	uint64_t *starts = NULL;
	Dwarf_CFI *cfi = NULL;
	Dwarf *dw = NULL;
	struct segs segs;
	GElf_Phdr hdr = { 0 };
	size_t nstarts = 0;
	bool have_hdr;
	Elf *elf;
	int err;

	*rows = NULL;
	*n = 0;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -EINVAL;
		goto cleanup;
	}
	err = read_segs(elf, &segs, &hdr, &have_hdr);
	if (err)
		goto cleanup;
	if (have_hdr) {
		err = fde_starts(elf, &hdr, &starts, &nstarts);
		cfi = err ? NULL : dwarf_getcfi_elf(elf);
	} else {
		/* no .eh_frame_hdr: .debug_frame, when it was kept */
		err = debug_frame_starts(elf, &starts, &nstarts);
		dw = err ? NULL : dwarf_begin_elf(elf, DWARF_C_READ, NULL);
		cfi = dw ? dwarf_getcfi(dw) : NULL;
	}
	if (err)
		goto cleanup;
	if (!cfi) {
		err = -ENOENT;
		goto cleanup;
	}
	for (size_t i = 0; i < nstarts; i++)
		fde_rows(cfi, &segs, starts[i], i + 1 < nstarts ? starts[i + 1] : UINT64_MAX, &b);
	if (!sorted(&b)) {
		err = -EINVAL;
		goto cleanup;
	}
	*rows = b.v;
	*n = b.n;
	b.v = NULL;
cleanup:
	free(b.v);
	free(starts);
	/* .debug_frame's CFI belongs to dw */
	if (cfi && !dw)
		dwarf_cfi_end(cfi);
	dwarf_end(dw);
	elf_end(elf);
	return err;
}

const struct ms_unwind_row *unwind_table__lookup(const struct ms_unwind_row *rows, size_t n,
						 uint32_t off)
{
	size_t lo = 0, hi = n;

	/* the last row at or below off */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rows[mid].pc <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &rows[lo - 1] : NULL;
}
