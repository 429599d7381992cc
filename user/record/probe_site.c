// SPDX-License-Identifier: MIT
/*
 * A whitelist x86-64 decoder, just wide enough for allocator prologues.
 *
 * It is deliberately not a general decoder: an instruction it does not know
 * ends the walk, and the answer falls back to offset 0, which is always a
 * correct probe site.  Being wrong the other way (walking past an
 * instruction that changes an argument register or %rsp) would make the
 * tracer read wrong arguments or corrupt the return hijack, so everything
 * here errs towards "unknown".
 */
#include <string.h>

#include "probe_site.h"

/* How far the walk looks; allocator prologues put a good site within a few instructions. */
#define WALK_MAX_BYTES 64
#define WALK_MAX_INSNS 16
#define INSN_MAX_LEN 15

enum reg {
	R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI,
};

/* What the BPF programs read at the site: the three arguments and %rsp. */
#define PROTECTED_REGS (1u << R_DI | 1u << R_SI | 1u << R_DX | 1u << R_SP)

#define REX_W 0x8
#define REX_R 0x4
#define REX_B 0x1

struct insn {
	size_t len;
	bool emulated;        /* the kernel emulates it instead of single-stepping */
	uint32_t writes;      /* general registers written, bit n = register n */
	bool writes_stack;    /* has a memory destination addressed from %rsp */
};

/* Cursor over one instruction's bytes; every read is bounds-checked. */
struct cur {
	const uint8_t *p;
	size_t len;
	size_t i;
	bool opsize; /* 0x66 seen */
	uint8_t rex; /* 0 when absent */
};

struct modrm {
	uint8_t mod;
	uint8_t reg; /* with REX.R */
	uint8_t rm;  /* with REX.B; the register when mod == 3 */
	int base;    /* memory base register with REX.B, -1 for none or %rip */
};

static bool take(struct cur *c, uint8_t *b)
{
	if (c->i >= c->len || c->i >= INSN_MAX_LEN)
		return false;
	*b = c->p[c->i++];
	return true;
}

static bool skip(struct cur *c, size_t n)
{
	if (n > c->len - c->i || c->i + n > INSN_MAX_LEN)
		return false;
	c->i += n;
	return true;
}

/* ModRM, then SIB and displacement as they require (64-bit addressing only). */
static bool parse_modrm(struct cur *c, struct modrm *m)
{
	uint8_t b, sib;

	if (!take(c, &b))
		return false;
	m->mod = b >> 6;
	m->reg = ((b >> 3) & 7) | (c->rex & REX_R ? 8 : 0);
	m->rm = (b & 7) | (c->rex & REX_B ? 8 : 0);
	m->base = -1;
	if (m->mod == 3)
		return true;
	if ((b & 7) == 4) {
		if (!take(c, &sib))
			return false;
		if ((sib & 7) == 5 && m->mod == 0)
			return skip(c, 4); /* disp32, no base */
		m->base = (sib & 7) | (c->rex & REX_B ? 8 : 0);
	} else if ((b & 7) == 5 && m->mod == 0) {
		return skip(c, 4); /* %rip + disp32 */
	} else {
		m->base = m->rm;
	}
	if (m->mod == 1)
		return skip(c, 1);
	if (m->mod == 2)
		return skip(c, 4);
	return true;
}

/*
 * The full register an 8-bit operand number names: without a REX prefix,
 * 4-7 are %ah, %ch, %dh, %bh (so writing %dh changes %rdx).
 */
static unsigned byte_reg(const struct cur *c, unsigned n)
{
	return !c->rex && n >= 4 && n < 8 ? n - 4 : n;
}

static void write_reg(struct insn *in, unsigned reg)
{
	in->writes |= 1u << reg;
}

/* The r/m operand is the destination. */
static void write_rm(const struct cur *c, const struct modrm *m, bool byte, struct insn *in)
{
	if (m->mod == 3)
		write_reg(in, byte ? byte_reg(c, m->rm) : m->rm);
	else if (m->base == R_SP)
		in->writes_stack = true; /* could overwrite the return address at [%rsp] */
}

/* Size of an Iz immediate (16 or 32 bits, sign-extended to 64 under REX.W). */
static size_t imm_z(const struct cur *c)
{
	return c->opsize && !(c->rex & REX_W) ? 2 : 4;
}

static bool mark_emulated(struct insn *in)
{
	in->emulated = true;
	return true;
}

/* Instructions the kernel emulates; only the exact forms it accepts. */
static bool decode_emulated(struct cur *c, uint8_t op, size_t nprefix, struct insn *in)
{
	struct modrm m;
	uint8_t op2;

	/* push reg: one byte, or REX 0x41 + one byte (push %r8..%r15) */
	if (op >= 0x50 && op <= 0x57 && !c->opsize && (c->rex == 0 || c->rex == 0x41))
		return mark_emulated(in);
	/* nop and multi-byte nop: the kernel allows 0x66 prefixes */
	if (op == 0x90 && !c->rex)
		return mark_emulated(in);
	if (op == 0x0f && !c->rex && c->i < c->len && c->p[c->i] == 0x1f) {
		c->i++;
		if (!parse_modrm(c, &m) || (m.reg & 7) != 0)
			return false;
		return mark_emulated(in);
	}
	/* branches: the kernel rejects 0x66 and this decoder takes no other prefix */
	if (nprefix)
		return false;
	switch (op) {
	case 0x70 ... 0x7f: /* jcc rel8 */
	case 0xeb:          /* jmp rel8 */
		return skip(c, 1) && mark_emulated(in);
	case 0xe8: /* call rel32 */
	case 0xe9: /* jmp rel32 */
		return skip(c, 4) && mark_emulated(in);
	case 0x0f: /* jcc rel32 */
		if (!take(c, &op2) || op2 < 0x80 || op2 > 0x8f)
			return false;
		return skip(c, 4) && mark_emulated(in);
	}
	return false;
}

/* add/or/adc/sbb/and/sub/xor/cmp in their 0x00-0x3d encodings */
static bool decode_alu(struct cur *c, uint8_t op, struct insn *in)
{
	bool is_cmp = (op >> 3) == 7;
	struct modrm m;

	switch (op & 7) {
	case 0: /* op r/m8, r8 */
	case 1: /* op r/m, r */
		if (!parse_modrm(c, &m))
			return false;
		if (!is_cmp)
			write_rm(c, &m, (op & 7) == 0, in);
		return true;
	case 2: /* op r8, r/m8 */
	case 3: /* op r, r/m */
		if (!parse_modrm(c, &m))
			return false;
		if (!is_cmp)
			write_reg(in, (op & 7) == 2 ? byte_reg(c, m.reg) : m.reg);
		return true;
	case 4: /* op %al, imm8 */
		if (!is_cmp)
			write_reg(in, R_AX);
		return skip(c, 1);
	case 5: /* op %eax, imm */
		if (!is_cmp)
			write_reg(in, R_AX);
		return skip(c, imm_z(c));
	}
	return false;
}

/* Whitelisted instructions that are single-stepped but can be walked over. */
static bool decode_plain(struct cur *c, uint8_t op, struct insn *in)
{
	struct modrm m;
	uint8_t op2;

	if (op <= 0x3d && (op & 7) <= 5)
		return decode_alu(c, op, in);
	switch (op) {
	case 0x80: /* group 1 r/m8, imm8 */
	case 0x81: /* group 1 r/m, imm */
	case 0x83: /* group 1 r/m, imm8 */
		if (!parse_modrm(c, &m))
			return false;
		if ((m.reg & 7) != 7) /* /7 is cmp */
			write_rm(c, &m, op == 0x80, in);
		return skip(c, op == 0x81 ? imm_z(c) : 1);
	case 0x84: /* test r/m8, r8 */
	case 0x85: /* test r/m, r */
		return parse_modrm(c, &m);
	case 0xf6: /* test r/m8, imm8; the rest of the group (mul, div...) is not known */
	case 0xf7:
		if (!parse_modrm(c, &m) || (m.reg & 7) != 0)
			return false;
		return skip(c, op == 0xf6 ? 1 : imm_z(c));
	case 0x88: /* mov r/m8, r8 */
	case 0x89: /* mov r/m, r */
		if (!parse_modrm(c, &m))
			return false;
		write_rm(c, &m, op == 0x88, in);
		return true;
	case 0x8a: /* mov r8, r/m8 */
	case 0x8b: /* mov r, r/m */
	case 0x8d: /* lea r, m */
		if (!parse_modrm(c, &m) || (op == 0x8d && m.mod == 3))
			return false;
		write_reg(in, op == 0x8a ? byte_reg(c, m.reg) : m.reg);
		return true;
	case 0xb0 ... 0xb7: /* mov r8, imm8 */
		write_reg(in, byte_reg(c, (op & 7) | (c->rex & REX_B ? 8 : 0)));
		return skip(c, 1);
	case 0xb8 ... 0xbf: /* mov r, imm (imm64 under REX.W) */
		write_reg(in, (op & 7) | (c->rex & REX_B ? 8 : 0));
		return skip(c, c->rex & REX_W ? 8 : imm_z(c));
	case 0xc6: /* mov r/m8, imm8 */
	case 0xc7: /* mov r/m, imm */
		if (!parse_modrm(c, &m) || (m.reg & 7) != 0)
			return false;
		write_rm(c, &m, op == 0xc6, in);
		return skip(c, op == 0xc6 ? 1 : imm_z(c));
	case 0x0f:
		if (!take(c, &op2))
			return false;
		switch (op2) {
		case 0xb6: /* movzx */
		case 0xb7:
		case 0xbe: /* movsx */
		case 0xbf:
			if (!parse_modrm(c, &m))
				return false;
			write_reg(in, m.reg);
			return true;
		}
		return false;
	}
	return false;
}

/* Decodes one instruction; false when it is unknown or cut short. */
static bool decode(const uint8_t *code, size_t len, struct insn *in)
{
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	struct cur c = { .p = code, .len = len }, after_opcode;
	size_t nprefix = 0;
	uint8_t op;
	bool ok;

	memset(in, 0, sizeof(*in));
	if (len >= sizeof(endbr64) && !memcmp(code, endbr64, sizeof(endbr64))) {
		in->len = sizeof(endbr64);
		return true;
	}
	/* 0x66 is the only legacy prefix taken: segment and lock prefixes make uprobes fail */
	while (c.i < c.len && code[c.i] == 0x66) {
		c.opsize = true;
		c.i++;
		nprefix++;
	}
	/* REX must come last, right before the opcode */
	if (c.i < c.len && (code[c.i] & 0xf0) == 0x40) {
		c.rex = code[c.i++];
		nprefix++;
	}
	if (!take(&c, &op))
		return false;

	after_opcode = c;
	ok = decode_emulated(&c, op, nprefix, in);
	if (!ok) {
		c = after_opcode;
		memset(in, 0, sizeof(*in));
		ok = decode_plain(&c, op, in);
	}
	if (!ok)
		return false;
	in->len = c.i;
	return true;
}

size_t probe_site__insn_len(const uint8_t *code, size_t len)
{
	struct insn in;

	if (!code)
		return 0;
	return decode(code, len, &in) ? in.len : 0;
}

void probe_site__choose(const uint8_t *code, size_t len, struct probe_site *out)
{
	size_t off = 0, avail = len < WALK_MAX_BYTES ? len : WALK_MAX_BYTES;
	struct insn in;
	int n;

	out->offset = 0;
	out->emulated = false;
	if (!code)
		return;
	for (n = 0; n < WALK_MAX_INSNS && off < avail; n++) {
		if (!decode(code + off, avail - off, &in))
			return;
		if (in.emulated) {
			out->offset = off;
			out->emulated = true;
			return;
		}
		/* the site must see the arguments and the return address as they were at entry */
		if ((in.writes & PROTECTED_REGS) || in.writes_stack)
			return;
		off += in.len;
	}
}
