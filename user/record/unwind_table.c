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

/*
 * Registers a CFI instruction may name.  x86-64 code names up to ~130 (the
 * mask registers); libdw (elfutils 0.188, cfi.c enough_registers()) grows a
 * frame to the largest number it meets, up to 2 GiB, zeroed: an object whose
 * CFI names more is refused before libdw runs it.
 */
#define CFI_MAX_REG 1024

struct cfi_reader {
	const uint8_t *p, *end;
	bool ok;
};

static uint64_t read_uleb(struct cfi_reader *r)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (r->ok) {
		uint8_t b;

		if (r->p >= r->end) {
			r->ok = false;
			break;
		}
		b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static void skip_bytes(struct cfi_reader *r, uint64_t n)
{
	if (!r->ok || n > (uint64_t)(r->end - r->p))
		r->ok = false;
	else
		r->p += n;
}

/* A pointer encoded as enc (DW_EH_PE_*): its size, or a LEB128's. */
static void skip_encoded(struct cfi_reader *r, uint8_t enc)
{
	static const uint8_t size[16] = { 8, 0, 2, 4, 8, 0, 0, 0, 0, 0, 2, 4, 8, 0, 0, 0 };

	if (enc == DW_EH_PE_omit)
		return;
	if ((enc & 0x0f) == DW_EH_PE_uleb128 || (enc & 0x0f) == DW_EH_PE_sleb128)
		read_uleb(r);
	else if (size[enc & 0x0f])
		skip_bytes(r, size[enc & 0x0f]);
	else
		r->ok = false;
}

static void read_reg(struct cfi_reader *r)
{
	if (read_uleb(r) >= CFI_MAX_REG)
		r->ok = false;
}

/*
 * Whether the CFA instructions in r name only registers below CFI_MAX_REG
 * and their operands fit.  An opcode this does not know stops the scan:
 * libdw refuses it too, before any instruction after it.
 */
static bool cfa_insns_sane(struct cfi_reader *r, uint8_t addr_enc)
{
	while (r->ok && r->p < r->end) {
		uint8_t op = *r->p++;

		if ((op >> 6) == 1 || (op >> 6) == 3) /* advance_loc, restore: a 6-bit operand */
			continue;
		if ((op >> 6) == 2) { /* offset: a 6-bit register, an offset */
			read_uleb(r);
			continue;
		}
		switch (op) {
		case DW_CFA_nop:
		case DW_CFA_remember_state:
		case DW_CFA_restore_state:
		case DW_CFA_GNU_window_save:
			break;
		case DW_CFA_set_loc:
			skip_encoded(r, addr_enc);
			break;
		case DW_CFA_advance_loc1:
			skip_bytes(r, 1);
			break;
		case DW_CFA_advance_loc2:
			skip_bytes(r, 2);
			break;
		case DW_CFA_advance_loc4:
			skip_bytes(r, 4);
			break;
		case DW_CFA_offset_extended:
		case DW_CFA_offset_extended_sf:
		case DW_CFA_val_offset:
		case DW_CFA_val_offset_sf:
		case DW_CFA_GNU_negative_offset_extended:
		case DW_CFA_def_cfa:
		case DW_CFA_def_cfa_sf:
			read_reg(r);
			read_uleb(r);
			break;
		case DW_CFA_restore_extended:
		case DW_CFA_undefined:
		case DW_CFA_same_value:
		case DW_CFA_def_cfa_register:
			read_reg(r);
			break;
		case DW_CFA_register:
			read_reg(r);
			read_reg(r);
			break;
		case DW_CFA_def_cfa_offset:
		case DW_CFA_def_cfa_offset_sf:
		case DW_CFA_GNU_args_size:
			read_uleb(r);
			break;
		case DW_CFA_def_cfa_expression:
			skip_bytes(r, read_uleb(r));
			break;
		case DW_CFA_expression:
		case DW_CFA_val_expression:
			read_reg(r);
			skip_bytes(r, read_uleb(r));
			break;
		default:
			return true;
		}
	}
	return r->ok;
}

/*
 * The encoding of a CIE's FDE addresses (augmentation 'R'), absptr without
 * one; false when its augmentation cannot be read.
 */
static bool fde_encoding(const Dwarf_CIE *cie, uint8_t *enc)
{
	struct cfi_reader r = { cie->augmentation_data,
				cie->augmentation_data + cie->augmentation_data_size, true };
	const char *a = cie->augmentation;

	*enc = DW_EH_PE_absptr;
	if (!a || a[0] != 'z')
		return !a || !a[0];
	if (!cie->augmentation_data)
		return false;
	for (a++; *a && r.ok; a++) {
		if (*a == 'R') {
			skip_bytes(&r, 1);
			if (r.ok)
				*enc = r.p[-1];
		} else if (*a == 'P') {
			uint8_t penc;

			skip_bytes(&r, 1);
			if (!r.ok)
				break;
			penc = r.p[-1];
			skip_encoded(&r, penc);
		} else if (*a == 'L') {
			skip_bytes(&r, 1);
		} else if (*a != 'S' && *a != 'B') {
			break;
		}
	}
	return r.ok;
}

/* An FDE's instructions: after its address, range and augmentation data. */
static bool fde_sane(const uint8_t *ident, Elf_Data *d, bool eh, const Dwarf_FDE *fde)
{
	struct cfi_reader r = { fde->start, fde->end, true };
	Dwarf_Off next;
	Dwarf_CFI_Entry c;
	uint8_t enc;

	if (dwarf_next_cfi(ident, d, eh, fde->CIE_pointer, &next, &c) != 0 ||
	    !dwarf_cfi_cie_p(&c))
		return false;
	if (!fde_encoding(&c.cie, &enc))
		return true; /* libdw cannot read its CIE either */
	skip_encoded(&r, enc);
	skip_encoded(&r, enc & 0x0f);
	if (c.cie.augmentation && c.cie.augmentation[0] == 'z')
		skip_bytes(&r, read_uleb(&r));
	return cfa_insns_sane(&r, enc);
}

/*
 * Whether every CIE and FDE of the CFI section d (.eh_frame when eh, else
 * .debug_frame) names only registers below CFI_MAX_REG and has operands
 * that fit it: what libdw is not to be given otherwise.
 */
static bool cfi_sane(Elf *elf, Elf_Data *d, bool eh)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	Dwarf_Off off = 0, next;

	if (!d || !ident)
		return false;
	for (;;) {
		Dwarf_CFI_Entry e;
		int r;

		next = off;
		r = dwarf_next_cfi(ident, d, eh, off, &next, &e);
		if (r > 0 || (r < 0 && (next == off || next == (Dwarf_Off)-1)))
			return true;
		off = next;
		if (r < 0)
			continue;
		if (dwarf_cfi_cie_p(&e)) {
			struct cfi_reader cr = { e.cie.initial_instructions,
						 e.cie.initial_instructions_end, true };
			uint8_t enc;

			if (e.cie.return_address_register >= CFI_MAX_REG)
				return false;
			if (fde_encoding(&e.cie, &enc) && !cfa_insns_sane(&cr, enc))
				return false;
		} else if (!fde_sane(ident, d, eh, &e.fde)) {
			return false;
		}
	}
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
		if (!err && !cfi_sane(elf, section_data(elf, ".eh_frame"), true))
			err = -EINVAL;
		cfi = err ? NULL : dwarf_getcfi_elf(elf);
	} else {
		/* no .eh_frame_hdr: .debug_frame, when it was kept */
		err = debug_frame_starts(elf, &starts, &nstarts);
		if (!err && !cfi_sane(elf, section_data(elf, ".debug_frame"), false))
			err = -EINVAL;
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
