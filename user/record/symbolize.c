// SPDX-License-Identifier: MIT
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "debuginfo.h"
#include "procmaps.h"
#include "symbolize.h"
#include "util.h"

/* libstdc++'s demangler; declared here so that this file stays C */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/*
 * A miss re-reads /proc/PID/maps at most this often: addresses in JIT code
 * or in mappings already gone would otherwise cost a read per event.
 */
#define MISS_REREAD_NS (10ull * 1000 * 1000)

/* One address range of a DWARF unit. */
struct cu_range {
	Dwarf_Addr lo, hi;
	Dwarf_Die cu;
};

/* One distinct mapped file (dev + inode), kept open for the whole run. */
struct sym_object {
	uint64_t dev, ino;
	const char *path;  /* interned: the first path it was seen under */
	int fd;            /* -1 when it could not be opened or dwfl owns it */
	uint16_t e_type;   /* ET_NONE when it is not an ELF file */
	GElf_Phdr *loads;  /* its PT_LOAD headers, for the load bias */
	size_t nloads;
	char build_id[2 * SYM_BUILD_ID_MAX + 1]; /* hex; "" when it has none */
	unsigned char build_id_raw[SYM_BUILD_ID_MAX];
	size_t build_id_len;
	/* what the file holds itself (section headers) */
	bool has_symtab, has_dwarf, has_minidebug;
	char *debuglink;   /* .gnu_debuglink's file name; NULL when none */
	uint32_t debuglink_crc;
	/* its separate debug file (debug_src not NONE): found when first seen
	 * (local) or asked of debuginfod then; handed to dwfl on first use */
	bool seen;
	bool debug_asked;  /* the sources were all tried */
	int debug_fd;      /* -1 when none, or dwfl has it */
	char *debug_path;
	enum debuginfo_source debug_src;
	enum debuginfo_miss debug_miss; /* why debuginfod gave none */
	bool debug_given;  /* dwfl has the debug file: later calls ask for dwz's */
	bool local_done;   /* the local directories were searched */
	/* no file of its own: a capture's frames named from its debug file alone */
	bool debug_only;
	/* dwfl made without the debug file a server has yet to send: dropped
	 * when waiting starts (dwfl has a dup of fd, kept) */
	bool provisional;
	struct debuginfo *debuginfo; /* the symbolizer's */
	Dwfl *dwfl;        /* one per object, made on first use */
	Dwfl_Module *mod;
	bool dwfl_tried;
	struct cu_range *cus; /* sorted by lo; built when aranges fail */
	size_t ncus;
	Dwarf_Addr cu_bias;
	bool cus_built;
};

/* One file-backed line of /proc/PID/maps. */
struct sym_map {
	uint64_t start, end, offset, dev, ino;
	uint64_t bias;          /* run-time address - ELF vaddr */
	const char *path;       /* interned, as the maps file names it */
	struct sym_object *obj; /* NULL when not opened (never executable, or failed) */
	/* a capture's mapping: the build id its file must have (interned); else NULL */
	const char *want_build_id;
	bool exec;
};

enum entry_state {
	ENT_NEW,     /* not looked for yet */
	ENT_QUEUED,  /* missed while re-reads were rate-limited: retried at the next one */
	ENT_UNKNOWN, /* in no file-backed mapping, even after a fresh read */
	ENT_MAPPED,
};

struct sym_entry {
	uint64_t ip;
	bool used;
	uint8_t state;
	/*
	 * A copy of the mapping ip was in when first seen: a later dlclose and
	 * dlopen may put another object at the same address.
	 */
	struct sym_map map;
	struct sym_frame *frames; /* NULL until resolved */
	size_t nframes;
	bool provisional; /* resolved without a debug file still on its way */
};

/*
 * Another process whose executable mappings count too (-f: a child that
 * execed runs another program at other addresses): read like the target's.
 */
struct sym_space {
	int pid;
	struct procmaps *procmaps;
	struct sym_map *maps; /* sorted by start */
	size_t nmaps;
	bool gone;
	uint64_t last_read_ns;
};

struct symbolizer {
	int pid;
	/* goes stale when the target is reaped, so a reused pid is never read */
	struct procmaps *procmaps;
	bool demangle;
	bool no_symbols; /* module and offset only (--no-symbolize) */
	bool may_wait;   /* for a server's answer: not while tracing (no_wait_until_report) */
	bool gone;
	uint64_t maps_gen; /* changes when the maps do */
	bool read_err_said; /* a failing re-read is reported once, not every 10 ms */
	uint64_t last_read_ns;
	size_t page_size;

	struct sym_map *maps; /* sorted by start, as the kernel lists them */
	size_t nmaps;
	struct sym_object **objs;
	size_t nobjs;

	struct sym_entry *ents; /* open addressing, cap a power of two */
	size_t nents, cap_ents;
	uint64_t *queued;       /* ips in ENT_QUEUED */
	size_t nqueued, cap_queued;

	char **strs;            /* interned strings, open addressing */
	size_t nstrs, cap_strs;

	struct sym_space *spaces;    /* the other processes' (symbolizer__add_process()) */
	size_t nspaces;
	/* the process whose maps are being attached: its map_files open them */
	struct procmaps *attaching;

	struct debuginfo *debuginfo; /* separate debug files, local and debuginfod */
	struct sym_unnamed *unnamed; /* symbolizer__unnamed()'s list */
	size_t nunnamed;
};

struct frame_buf {
	struct sym_frame *v;
	size_t n, cap;
};

/*
 * Where separate debug files are looked for: MEMSCOPE_DEBUGINFO_PATH when
 * set (libdwfl's syntax), else libdwfl's default, ":.debug:/usr/lib/debug".
 */
static char *debuginfo_path;

static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name);

/*
 * find_debuginfo is ours, not libdwfl's standard one: that one would ask
 * debuginfod itself, one object at a time with no bound, and say nothing
 * of why a file was not found.
 */
static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_str(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h;
}

/* ---- interned strings ---- */

static void strs_grow(struct symbolizer *s)
{
	size_t cap = s->cap_strs ? s->cap_strs * 2 : 256;
	char **v = xcalloc(cap, sizeof(*v));

	for (size_t i = 0; i < s->cap_strs; i++) {
		size_t j;

		if (!s->strs[i])
			continue;
		j = hash_str(s->strs[i], strlen(s->strs[i])) & (cap - 1);
		while (v[j])
			j = (j + 1) & (cap - 1);
		v[j] = s->strs[i];
	}
	free(s->strs);
	s->strs = v;
	s->cap_strs = cap;
}

/* The symbolizer's copy of str, cut to SYM_NAME_MAX - 1 bytes; NULL stays NULL. */
static const char *intern(struct symbolizer *s, const char *str)
{
	size_t len, i;

	if (!str)
		return NULL;
	len = strnlen(str, SYM_NAME_MAX - 1);
	if ((s->nstrs + 1) * 2 > s->cap_strs)
		strs_grow(s);
	for (i = hash_str(str, len) & (s->cap_strs - 1); s->strs[i];
	     i = (i + 1) & (s->cap_strs - 1))
		if (strncmp(s->strs[i], str, len) == 0 && s->strs[i][len] == '\0')
			return s->strs[i];
	s->strs[i] = xmalloc(len + 1);
	memcpy(s->strs[i], str, len);
	s->strs[i][len] = '\0';
	s->nstrs++;
	return s->strs[i];
}

/* A function name as shown: demangled when asked and possible, interned. */
static const char *fn_name(struct symbolizer *s, const char *name)
{
	char *dem = NULL;
	const char *r;
	int status = -1;

	if (!name)
		return NULL;
	if (s->demangle && name[0] == '_' && name[1] == 'Z')
		dem = __cxa_demangle(name, NULL, NULL, &status);
	r = intern(s, status == 0 && dem ? dem : name);
	free(dem);
	return r;
}

/* ---- the ip cache ---- */

static void ents_grow(struct symbolizer *s)
{
	size_t cap = s->cap_ents ? s->cap_ents * 2 : 1024;
	struct sym_entry *v = xcalloc(cap, sizeof(*v));

	for (size_t i = 0; i < s->cap_ents; i++) {
		size_t j;

		if (!s->ents[i].used)
			continue;
		j = hash_u64(s->ents[i].ip) & (cap - 1);
		while (v[j].used)
			j = (j + 1) & (cap - 1);
		v[j] = s->ents[i];
	}
	free(s->ents);
	s->ents = v;
	s->cap_ents = cap;
}

static struct sym_entry *entry_find(struct symbolizer *s, uint64_t ip)
{
	size_t i;

	if (!s->cap_ents)
		return NULL;
	for (i = hash_u64(ip) & (s->cap_ents - 1); s->ents[i].used;
	     i = (i + 1) & (s->cap_ents - 1))
		if (s->ents[i].ip == ip)
			return &s->ents[i];
	return NULL;
}

/* Finds or adds ip.  Pointers to entries stay valid until the next entry_get(). */
static struct sym_entry *entry_get(struct symbolizer *s, uint64_t ip)
{
	struct sym_entry *e = entry_find(s, ip);
	size_t i;

	if (e)
		return e;
	if ((s->nents + 1) * 2 > s->cap_ents)
		ents_grow(s);
	i = hash_u64(ip) & (s->cap_ents - 1);
	while (s->ents[i].used)
		i = (i + 1) & (s->cap_ents - 1);
	e = &s->ents[i];
	e->ip = ip;
	e->used = true;
	/* a return address of 0 is no address: ip - 1 would wrap */
	e->state = ip ? ENT_NEW : ENT_UNKNOWN;
	s->nents++;
	return e;
}

static void queue_push(struct symbolizer *s, uint64_t ip)
{
	if (s->nqueued == s->cap_queued) {
		s->cap_queued = s->cap_queued ? s->cap_queued * 2 : 64;
		s->queued = xrealloc(s->queued, s->cap_queued * sizeof(*s->queued));
	}
	s->queued[s->nqueued++] = ip;
}

/* ---- objects ---- */

/* The GNU build id of elf in hex into o (profiles name the exact binary by it). */
static void object_read_build_id(struct sym_object *o, Elf *elf)
{
	const unsigned char *id;
	ssize_t n = dwelf_elf_gnu_build_id(elf, (const void **)&id);

	for (ssize_t i = 0; n > 0 && n <= SYM_BUILD_ID_MAX && i < n; i++)
		snprintf(o->build_id + 2 * i, 3, "%02x", id[i]);
	if (n > 0 && n <= SYM_BUILD_ID_MAX) {
		memcpy(o->build_id_raw, id, (size_t)n);
		o->build_id_len = (size_t)n;
	}
}

/* .gnu_debuglink: a NUL-terminated name, padded to 4 bytes, then the CRC */
static void object_read_debuglink(struct sym_object *o, Elf_Scn *scn)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	const char *name = data ? data->d_buf : NULL;
	size_t len = name ? strnlen(name, data->d_size) : 0;
	size_t crc_at = (len + 4) & ~(size_t)3;

	if (!len || len >= data->d_size || crc_at + 4 > data->d_size || len > NAME_MAX)
		return;
	o->debuglink = xstrdup(name);
	memcpy(&o->debuglink_crc, (const char *)data->d_buf + crc_at, 4);
}

/* Which names the file carries itself, and where its debug file is named. */
static void object_read_sections(struct sym_object *o, Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			o->has_symtab = true;
		else if (sh.sh_type == SHT_NOBITS)
			continue;
		else if (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info"))
			o->has_dwarf = true;
		else if (!strcmp(name, ".gnu_debugdata"))
			o->has_minidebug = true;
		else if (!strcmp(name, ".gnu_debuglink") && !o->debuglink)
			object_read_debuglink(o, scn);
	}
}

/* Reads the ELF type, PT_LOAD headers and build id; leaves e_type ET_NONE for other files. */
static void object_read_loads(struct sym_object *o)
{
	Elf *elf = elf_begin(o->fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	size_t phnum;

	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    elf_getphdrnum(elf, &phnum) != 0)
		goto cleanup;
	o->loads = xcalloc(phnum, sizeof(*o->loads));
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			o->loads[o->nloads++] = ph;
	}
	o->e_type = eh.e_type;
	object_read_build_id(o, elf);
	object_read_sections(o, elf);
cleanup:
	elf_end(elf);
}

/*
 * Opens the file mapped by m.  map_files reaches it even when deleted or in
 * another mount namespace, but needs CAP_SYS_ADMIN (or
 * CAP_CHECKPOINT_RESTORE); the target's root is the fallback.
 */
static int object_open_file(struct symbolizer *s, const struct sym_map *m)
{
	const struct procmap pm = { .start = m->start, .end = m->end, .ino = m->ino,
				    .path = m->path };
	int fd;

	/* a capture's mapping: the file where it was, on this machine (a
	 * hostile capture may name a FIFO or a device: never block on one) */
	if (!s->procmaps) {
		struct stat st;

		fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode))) {
			close(fd);
			fd = -1;
			errno = EINVAL;
		}
		if (fd < 0)
			ms_info(1, "cannot open '%s': %s", m->path, strerror(errno));
		return fd < 0 ? -errno : fd;
	}
	fd = procmaps__open(s->attaching ? s->attaching : s->procmaps, &pm, PROCMAPS_OPEN_ROOT);

	if (fd == -ESTALE)
		ms_info(1, "'%s' changed since pid %d mapped it", m->path, s->pid);
	else if (fd < 0)
		ms_info(1, "cannot open '%s' mapped by pid %d: %s", m->path, s->pid,
			strerror(-fd));
	return fd;
}

/* Records the object of m, opened.  Kept even when opening failed, so as not to retry. */
static struct sym_object *object_add(struct symbolizer *s, const struct sym_map *m)
{
	struct sym_object *o = xcalloc(1, sizeof(*o));

	o->dev = m->dev;
	o->ino = m->ino;
	o->path = m->path;
	o->debug_fd = -1;
	o->debuginfo = s->debuginfo;
	o->fd = object_open_file(s, m);
	if (o->fd >= 0)
		object_read_loads(o);
	/* another build of the file: its names would be wrong ones */
	if (o->fd >= 0 && m->want_build_id && strcmp(o->build_id, m->want_build_id)) {
		ms_warn("'%s' is not the file the capture saw (build id %s, not %s): its "
			"frames stay unnamed", m->path, o->build_id[0] ? o->build_id : "none",
			m->want_build_id);
		close(o->fd);
		o->fd = -1;
	}
	s->objs = xrealloc(s->objs, (s->nobjs + 1) * sizeof(*s->objs));
	s->objs[s->nobjs++] = o;
	return o;
}

static void object_free(struct sym_object *o)
{
	if (o->dwfl)
		dwfl_end(o->dwfl); /* closes the fd handed to it */
	if (o->fd >= 0)
		close(o->fd);
	if (o->debug_fd >= 0)
		close(o->debug_fd);
	free(o->debug_path);
	free(o->debuglink);
	free(o->loads);
	free(o->cus);
	free(o);
}

static const struct sym_map *map_find(const struct sym_map *v, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	/* the last map starting at or below addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < v[lo - 1].end ? &v[lo - 1] : NULL;
}

/*
 * The executable mapping of a return address.  A mapping without exec
 * permission is a stale read: the dynamic loader maps /etc/ld.so.cache
 * while it opens a library and then maps the library's code at the same
 * addresses, so the maps read during a dlopen must not name its code.
 */
static const struct sym_map *code_map_find(const struct symbolizer *s, uint64_t addr)
{
	const struct sym_map *m = map_find(s->maps, s->nmaps, addr);

	if (m && m->exec)
		return m;
	/* the target's first: an address mapped in both is the target's */
	for (size_t i = 0; i < s->nspaces; i++) {
		m = map_find(s->spaces[i].maps, s->spaces[i].nmaps, addr);
		if (m && m->exec)
			return m;
	}
	return NULL;
}

static struct sym_object *object_find(struct symbolizer *s, const struct sym_map *m)
{
	const struct sym_map *old = map_find(s->maps, s->nmaps, m->start);

	/* a capture's mappings have no device and inode: their (interned) paths name them */
	if (!s->procmaps) {
		for (size_t i = 0; i < s->nobjs; i++)
			if (s->objs[i]->path == m->path && !s->objs[i]->debug_only)
				return s->objs[i];
		return NULL;
	}

	/* most lines are unchanged since the last read */
	if (old && old->obj && old->dev == m->dev && old->ino == m->ino)
		return old->obj;
	for (size_t i = 0; i < s->nobjs; i++)
		if (s->objs[i]->dev == m->dev && s->objs[i]->ino == m->ino)
			return s->objs[i];
	return NULL;
}

static bool seg_exec(const GElf_Phdr *ph)
{
	return ph->p_flags & PF_X;
}

/*
 * Run-time address minus ELF vaddr for m.  The mapping's file offset falls
 * in one PT_LOAD (the kernel maps each from its page-aligned offset); that
 * segment's vaddr for the offset gives the bias.
 */
static uint64_t map_bias(const struct sym_map *m, size_t page)
{
	const struct sym_object *o = m->obj;
	const GElf_Phdr *best = NULL;

	if (o && o->e_type == ET_EXEC)
		return 0; /* not PIE: runs at its link-time addresses */
	for (size_t i = 0; o && i < o->nloads; i++) {
		const GElf_Phdr *ph = &o->loads[i];

		if (!ph->p_filesz || m->offset < (ph->p_offset & ~(uint64_t)(page - 1)) ||
		    m->offset >= ph->p_offset + ph->p_filesz)
			continue;
		/* without -z separate-code two segments can share a page: match the protection */
		if (!best || (seg_exec(ph) == m->exec && seg_exec(best) != m->exec))
			best = ph;
	}
	if (!best)
		return m->start - m->offset; /* not an ELF segment: offsets into the file */
	return m->start - (best->p_vaddr + (m->offset - best->p_offset));
}

/* Gives each map its object (opening objects of executable maps) and bias. */
static void maps_attach(struct symbolizer *s, struct sym_map *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		v[i].obj = object_find(s, &v[i]);
		/* only code is symbolized: data files need not hold an fd */
		if (!v[i].obj && v[i].exec)
			v[i].obj = object_add(s, &v[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (!v[i].obj)
			v[i].obj = object_find(s, &v[i]);
		v[i].bias = map_bias(&v[i], s->page_size);
	}
}

/* ---- /proc/PID/maps ---- */

/* pm's file mappings now, paths interned.  0 or negative errno (-ESRCH: the process is gone). */
static int maps_read(struct symbolizer *s, struct procmaps *pm, int pid, struct sym_map **out,
		     size_t *n)
{
	struct procmap *v = NULL;
	ssize_t r = procmaps__read(pm, &v);

	*out = NULL;
	*n = 0;
	if (r < 0) {
		if (r != -ESRCH && !s->read_err_said) {
			ms_err("cannot read '/proc/%d/maps': %s", pid, strerror((int)-r));
			s->read_err_said = true;
		}
		return (int)r;
	}
	if (r)
		*out = xcalloc((size_t)r, sizeof(**out));
	for (ssize_t i = 0; i < r; i++) {
		struct sym_map *m = &(*out)[i];

		m->start = v[i].start;
		m->end = v[i].end;
		m->offset = v[i].offset;
		m->ino = v[i].ino;
		m->dev = makedev(v[i].dev_major, v[i].dev_minor);
		m->exec = v[i].perms[2] == 'x';
		m->path = intern(s, v[i].path);
	}
	*n = (size_t)r;
	free(v);
	return 0;
}

/* ---- separate debug files ---- */

static bool object_readable(const struct sym_object *o)
{
	return (o->fd >= 0 || o->dwfl) && o->e_type != ET_NONE;
}

static void object_find_local(struct sym_object *o)
{
	const struct debuginfo_query q = {
		.path = o->path, .build_id = o->build_id_raw, .build_id_len = o->build_id_len,
		.debuglink = o->debuglink, .debuglink_crc = o->debuglink_crc,
	};

	if (o->local_done)
		return;
	o->local_done = true;
	o->debug_fd = debuginfo__find_local(o->debuginfo, &q, &o->debug_path, &o->debug_src);
	if (o->debug_fd >= 0)
		ms_info(1, "'%s': debug file '%s' (by %s)", o->path, o->debug_path,
			debuginfo__source_str(o->debug_src));
}

/*
 * An address in o will be symbolized: its debug file is looked for now,
 * and a server's lookup started, so that the answer is on its way while
 * the target still runs, not asked for when the report is written.
 */
static void object_seen(struct symbolizer *s, struct sym_object *o)
{
	if (!o || o->seen || s->no_symbols || !object_readable(o))
		return;
	o->seen = true;
	if (o->has_dwarf)
		return;
	object_find_local(o);
	if (o->debug_fd < 0)
		debuginfo__prefetch(o->debuginfo, o->build_id_raw, o->build_id_len);
}

static void entry_mapped(struct symbolizer *s, struct sym_entry *e, const struct sym_map *m)
{
	e->map = *m;
	object_seen(s, m->obj);
}

/* Every source in turn: the local directories, then debuginfod (within the budget). */
static void object_debug_lookup(struct sym_object *o)
{
	int fd;

	o->debug_asked = true;
	object_find_local(o);
	if (o->debug_fd >= 0)
		return;
	fd = debuginfo__fetch(o->debuginfo, o->build_id_raw, o->build_id_len, &o->debug_path,
			      &o->debug_miss);
	if (fd < 0) {
		ms_info(1, "'%s': no debug file (%s)", o->path,
			o->debug_miss == DEBUGINFO_MISS_OFF ? "not found"
							    : debuginfo__miss_str(o->debug_miss));
		return;
	}
	o->debug_fd = fd;
	o->debug_src = DEBUGINFO_DEBUGINFOD;
	ms_info(1, "'%s': debug file '%s' (from debuginfod)", o->path, o->debug_path);
}

/* .gnu_debugaltlink of the file at path: dwz's shared file, by name and build id */
static bool read_altlink(const char *path, char *name, size_t name_len, unsigned char *id,
			 size_t *id_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	bool found = false;

	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		while (!found && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			const char *sname;
			Elf_Data *data;
			size_t len;

			if (!gelf_getshdr(scn, &sh) ||
			    !(sname = elf_strptr(elf, shstrndx, sh.sh_name)) ||
			    strcmp(sname, ".gnu_debugaltlink") || !(data = elf_getdata(scn, NULL)))
				continue;
			len = strnlen(data->d_buf, data->d_size);
			if (len >= data->d_size || len >= name_len ||
			    data->d_size - len - 1 > SYM_BUILD_ID_MAX)
				break;
			memcpy(name, data->d_buf, len + 1);
			*id_len = data->d_size - len - 1;
			memcpy(id, (const char *)data->d_buf + len + 1, *id_len);
			found = *id_len > 0;
		}
	}
	elf_end(elf);
	if (fd >= 0)
		close(fd);
	return found;
}

/*
 * dwz's shared file of o's DWARF (Debian's -dbgsym packages have one), when
 * libdw's own search (by its name, and by build id in /usr/lib/debug) did
 * not find it: by build id in the debug directories, then from debuginfod.
 */
static int object_find_alt(struct sym_object *o, char **out)
{
	char name[PATH_MAX];
	unsigned char id[SYM_BUILD_ID_MAX];
	size_t len = 0;
	const char *dwarf_file = o->debug_given ? o->debug_path : o->path;
	struct debuginfo_query q = { 0 };
	enum debuginfo_source src;
	enum debuginfo_miss miss;
	int fd;

	if (!dwarf_file || !read_altlink(dwarf_file, name, sizeof(name), id, &len))
		return -1;
	q.build_id = id;
	q.build_id_len = len;
	fd = debuginfo__find_local(o->debuginfo, &q, out, &src);
	if (fd < 0)
		fd = debuginfo__fetch(o->debuginfo, id, len, out, &miss);
	return fd < 0 ? -1 : fd;
}

static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	struct sym_object *o = *userdata;
	int fd;

	if (!o || o->provisional)
		return -1;
	/* libdwfl asks for the debug file until it has one, then for dwz's file */
	if (o->debug_given || o->has_dwarf)
		return object_find_alt(o, debuginfo_file_name);
	if (!o->debug_asked)
		object_debug_lookup(o);
	if (o->debug_fd < 0)
		return -1;
	fd = o->debug_fd;
	o->debug_fd = -1;
	o->debug_given = true;
	*debuginfo_file_name = xstrdup(o->debug_path);
	return fd;
}

/* Queued misses get their answer from the maps just read (or the target's end). */
static void queue_settle(struct symbolizer *s)
{
	for (size_t i = 0; i < s->nqueued; i++) {
		struct sym_entry *e = entry_find(s, s->queued[i]);
		const struct sym_map *m;

		if (!e || e->state != ENT_QUEUED)
			continue;
		m = s->gone ? NULL : code_map_find(s, e->ip - 1);
		e->state = m ? ENT_MAPPED : ENT_UNKNOWN;
		if (m)
			entry_mapped(s, e, m);
	}
	s->nqueued = 0;
}

/* Re-reads another process's maps (gone: kept as they were).  0 or negative errno. */
static int space_refresh(struct symbolizer *s, struct sym_space *sp)
{
	struct sym_map *maps;
	size_t n;
	int err;

	if (sp->gone)
		return -ESRCH;
	sp->last_read_ns = ms_now_ns();
	err = maps_read(s, sp->procmaps, sp->pid, &maps, &n);
	if (err == -ESRCH)
		sp->gone = true;
	if (err)
		return err;
	s->attaching = sp->procmaps;
	maps_attach(s, maps, n);
	s->attaching = NULL;
	free(sp->maps);
	sp->maps = maps;
	sp->nmaps = n;
	s->maps_gen++;
	return 0;
}

int symbolizer__add_process(struct symbolizer *s, int pid)
{
	struct sym_space *sp;

	if (!s || !s->procmaps)
		return -EINVAL;
	for (size_t i = 0; i < s->nspaces; i++)
		if (s->spaces[i].pid == pid && !s->spaces[i].gone)
			return space_refresh(s, &s->spaces[i]);
	s->spaces = xrealloc(s->spaces, (s->nspaces + 1) * sizeof(*s->spaces));
	sp = &s->spaces[s->nspaces++];
	*sp = (struct sym_space){ .pid = pid, .procmaps = procmaps__new(pid) };
	if (!sp->procmaps) {
		sp->gone = true;
		return -errno;
	}
	return space_refresh(s, sp);
}

int symbolizer__refresh(struct symbolizer *s)
{
	struct sym_map *maps = NULL;
	size_t n = 0;
	int err;

	if (!s)
		return -EINVAL;
	/* the other processes' first: they may outlive the target */
	for (size_t i = 0; i < s->nspaces; i++)
		space_refresh(s, &s->spaces[i]);
	if (s->gone) {
		err = -ESRCH;
		goto cleanup;
	}
	s->last_read_ns = ms_now_ns();
	err = maps_read(s, s->procmaps, s->pid, &maps, &n);
	if (err == -ESRCH)
		s->gone = true;
	if (err)
		goto cleanup;
	maps_attach(s, maps, n);
	free(s->maps);
	s->maps = maps;
	s->nmaps = n;
	s->maps_gen++;
	maps = NULL;
	ms_info(2, "pid %d: %zu file mappings, %zu objects", s->pid, s->nmaps, s->nobjs);
cleanup:
	if (!err || s->gone)
		queue_settle(s);
	free(maps);
	return err;
}

/* ---- tracking ---- */

/* Finds e's mapping, re-reading the maps on a miss unless that was done just now. */
static int entry_locate(struct symbolizer *s, struct sym_entry *e)
{
	const struct sym_map *m;
	bool reread = false, limited = false;

	if (e->state == ENT_MAPPED)
		return 0;
	if (e->state == ENT_UNKNOWN)
		return -ENOENT;
	m = code_map_find(s, e->ip - 1);
	if (!m && !s->gone && ms_now_ns() - s->last_read_ns >= MISS_REREAD_NS) {
		/* adds no entry, so e stays valid */
		reread = symbolizer__refresh(s) == 0;
		m = code_map_find(s, e->ip - 1);
	}
	/* another process's address (-f: a child that execed), mapped since its last read */
	for (size_t i = 0; !m && i < s->nspaces; i++) {
		struct sym_space *sp = &s->spaces[i];

		if (sp->gone)
			continue;
		if (ms_now_ns() - sp->last_read_ns < MISS_REREAD_NS) {
			limited = true;
			continue;
		}
		if (space_refresh(s, sp) == 0)
			m = code_map_find(s, e->ip - 1);
	}
	if (m) {
		e->state = ENT_MAPPED;
		entry_mapped(s, e, m);
		return 0;
	}
	/* unknown once every process's maps were read after it came (else retried) */
	if ((reread || s->gone) && !limited) {
		e->state = ENT_UNKNOWN;
	} else if (e->state == ENT_NEW) {
		e->state = ENT_QUEUED;
		queue_push(s, e->ip);
	}
	return -ENOENT;
}

void symbolizer__settle(struct symbolizer *s)
{
	if (s && s->nqueued && ms_now_ns() - s->last_read_ns >= MISS_REREAD_NS)
		symbolizer__refresh(s);
}

int symbolizer__track(struct symbolizer *s, uint64_t ip)
{
	if (!s)
		return -ENOENT;
	return entry_locate(s, entry_get(s, ip));
}

/* ---- resolving ---- */

/* Where one address is looked up. */
struct lookup {
	struct sym_object *obj;
	Dwfl_Module *mod;
	uint64_t vaddr;   /* ELF vaddr: for the symbol table */
	Dwarf_Die cu;     /* the unit covering it, when has_cu */
	bool has_cu;
	Dwarf_Addr daddr; /* vaddr in the DWARF's own terms */
};

static void frames_push(struct frame_buf *fb, const struct sym_frame *f)
{
	if (fb->n == fb->cap) {
		fb->cap = fb->cap ? fb->cap * 2 : 4;
		fb->v = xrealloc(fb->v, fb->cap * sizeof(*fb->v));
	}
	fb->v[fb->n++] = *f;
}

/* dwfl for a debug-only object: its debug file stands for the whole (same vaddrs). */
static Dwfl_Module *object_debug_module(struct sym_object *o)
{
	void **ud;
	int fd;

	object_debug_lookup(o);
	if (o->debug_fd < 0)
		return NULL;
	o->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!o->dwfl)
		return NULL;
	dwfl_report_begin(o->dwfl);
	fd = o->debug_fd;
	o->mod = dwfl_report_elf(o->dwfl, o->path, o->debug_path, fd, 0, true);
	if (!o->mod) {
		ms_info(1, "cannot load symbols of '%s' from '%s': %s", o->path, o->debug_path,
			dwfl_errmsg(-1));
		dwfl_end(o->dwfl);
		o->dwfl = NULL;
		return NULL;
	}
	o->debug_fd = -1; /* dwfl owns it now */
	o->debug_given = true;
	dwfl_module_info(o->mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	*ud = o;
	dwfl_report_end(o->dwfl, NULL, NULL);
	return o->mod;
}

/* Whether o's names would now be made without a debug file a server is still sending. */
static bool object_debug_pending(const struct symbolizer *s, struct sym_object *o)
{
	return !s->may_wait && !o->has_dwarf && o->debug_fd < 0 &&
	       debuginfo__pending(o->debuginfo, o->build_id_raw, o->build_id_len);
}

/* dwfl for o, with module addresses equal to the ELF's own vaddrs. */
static Dwfl_Module *object_module(struct symbolizer *s, struct sym_object *o)
{
	void **ud;
	int fd;

	if (o->dwfl_tried)
		return o->mod;
	o->dwfl_tried = true;
	if (o->debug_only)
		return object_debug_module(o);
	if (o->fd < 0 || o->e_type == ET_NONE)
		return NULL;
	o->provisional = object_debug_pending(s, o);
	/* provisional: the file is kept for the dwfl made once the answer is in */
	fd = o->provisional ? fcntl(o->fd, F_DUPFD_CLOEXEC, 0) : o->fd;
	o->dwfl = fd >= 0 ? dwfl_begin(&dwfl_callbacks) : NULL;
	if (!o->dwfl)
		goto fail;
	dwfl_report_begin(o->dwfl);
	/* bias 0 so that one module serves wherever and however often it is mapped */
	o->mod = dwfl_report_elf(o->dwfl, o->path, o->path, fd, 0, true);
	if (!o->mod)
		goto fail;
	dwfl_module_info(o->mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	*ud = o; /* find_debuginfo's */
	if (!o->provisional)
		o->fd = -1; /* dwfl owns it now */
	dwfl_report_end(o->dwfl, NULL, NULL);
	return o->mod;
fail:
	ms_info(1, "cannot load symbols of '%s': %s", o->path, dwfl_errmsg(-1));
	if (o->dwfl)
		dwfl_end(o->dwfl);
	if (o->provisional && fd >= 0 && !o->mod)
		close(fd);
	o->provisional = false;
	o->dwfl = NULL;
	o->mod = NULL;
	return NULL;
}

static int cu_range_cmp(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Every unit's address ranges, from the units themselves. */
static void object_build_cus(struct sym_object *o)
{
	Dwarf_Die *cu = NULL;
	Dwarf_Addr bias = 0;
	size_t cap = 0;

	o->cus_built = true;
	while ((cu = dwfl_module_nextcu(o->mod, cu, &bias))) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		while ((off = dwarf_ranges(cu, off, &base, &lo, &hi)) > 0) {
			if (o->ncus == cap) {
				cap = cap ? cap * 2 : 64;
				o->cus = xrealloc(o->cus, cap * sizeof(*o->cus));
			}
			o->cus[o->ncus++] = (struct cu_range){ .lo = lo, .hi = hi, .cu = *cu };
		}
	}
	o->cu_bias = bias;
	if (o->ncus)
		qsort(o->cus, o->ncus, sizeof(*o->cus), cu_range_cmp);
}

static bool object_cu_by_ranges(struct sym_object *o, struct lookup *l)
{
	Dwarf_Addr addr;
	size_t lo = 0, hi;

	if (!o->cus_built)
		object_build_cus(o);
	addr = l->vaddr - o->cu_bias;
	hi = o->ncus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->cus[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= o->cus[lo - 1].hi)
		return false;
	l->cu = o->cus[lo - 1].cu;
	l->daddr = addr;
	return true;
}

/* Finds the unit covering l->vaddr, if any. */
static void lookup_cu(struct sym_object *o, struct lookup *l)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(l->mod, l->vaddr, &bias);

	if (cu) {
		l->cu = *cu;
		l->daddr = l->vaddr - bias;
		l->has_cu = true;
		return;
	}
	/*
	 * libdw before 0.191 finds units only through .debug_aranges, which
	 * clang does not write by default (and which may cover only some units).
	 */
	if (dwfl_module_getdwarf(l->mod, &bias))
		l->has_cu = object_cu_by_ranges(o, l);
}

static int clamp_int(Dwarf_Word v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

/* file:line:column of the instruction looked up, from the line table. */
static void frame_line_table(struct symbolizer *s, struct lookup *l, struct sym_frame *f)
{
	Dwarf_Line *line = l->has_cu ? dwarf_getsrc_die(&l->cu, l->daddr) : NULL;
	const char *file = line ? dwarf_linesrc(line, NULL, NULL) : NULL;
	int n = 0, col = 0;

	f->file = intern(s, file);
	f->line = file && dwarf_lineno(line, &n) == 0 && n > 0 ? n : 0;
	f->column = file && dwarf_linecol(line, &col) == 0 && col > 0 ? col : 0;
}

/* Where inlined call d was made: the position in the frame it was inlined into. */
static void frame_call_site(struct symbolizer *s, Dwarf_Die *d, struct sym_frame *f)
{
	Dwarf_Attribute a;
	Dwarf_Files *files;
	Dwarf_Word v;
	Dwarf_Die cu;
	size_t nfiles;

	f->file = NULL;
	f->line = f->column = 0;
	/* call_file indexes the line table of the unit d is in (a dwz partial unit maybe) */
	if (dwarf_formudata(dwarf_attr(d, DW_AT_call_file, &a), &v) == 0 &&
	    dwarf_diecu(d, &cu, NULL, NULL) &&
	    dwarf_getsrcfiles(&cu, &files, &nfiles) == 0 && v < nfiles)
		f->file = intern(s, dwarf_filesrc(files, v, NULL, NULL));
	if (f->file && dwarf_formudata(dwarf_attr(d, DW_AT_call_line, &a), &v) == 0)
		f->line = clamp_int(v);
	if (f->file && dwarf_formudata(dwarf_attr(d, DW_AT_call_column, &a), &v) == 0)
		f->column = clamp_int(v);
}

/*
 * Name of a subprogram or inlined call (integrate follows abstract_origin
 * and specification).  A C++ linkage name demangles to the qualified name
 * with parameters; other linkage names are asm labels (glibc's
 * __GI___libc_malloc), less telling than the name in the source.
 */
static const char *die_name(struct symbolizer *s, Dwarf_Die *d)
{
	Dwarf_Attribute a;
	const char *name = dwarf_formstring(dwarf_attr_integrate(d, DW_AT_linkage_name, &a));

	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(d, DW_AT_MIPS_linkage_name, &a));
	if (!name || strncmp(name, "_Z", 2) != 0) {
		const char *plain = dwarf_formstring(dwarf_attr_integrate(d, DW_AT_name, &a));

		if (plain)
			name = plain;
	}
	return fn_name(s, name);
}

/* Only .dynsym: the exported symbols, not the static functions between them. */
static bool object_exports_only(const struct sym_object *o)
{
	return !o->has_symtab && !o->debug_given && !o->has_minidebug;
}

static const char *elf_sym_name(struct symbolizer *s, const struct lookup *l)
{
	GElf_Off off;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(l->mod, l->vaddr, &off, &sym, NULL, NULL, NULL);

	/*
	 * libdwfl falls back to the nearest symbol of no size before the
	 * address; among exports alone that is any code up to the next one:
	 * "name + huge offset".  A name only when its size says it holds the
	 * address.
	 */
	if (name && l->obj && object_exports_only(l->obj) && (!sym.st_size || off >= sym.st_size))
		return NULL;
	return fn_name(s, name);
}

static bool is_function_scope(int tag)
{
	return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram ||
	       tag == DW_TAG_entry_point;
}

/* DIEs from the unit down to the innermost scope holding an address */
struct scope_path {
	Dwarf_Die *v; /* outermost first */
	size_t n, cap;
};

/* deeper nesting than any compiler writes: a bound for hostile DWARF */
#define SCOPE_DEPTH_MAX 256

enum scope_kind { SCOPE_NONE, SCOPE_CODE, SCOPE_HOLDER, SCOPE_IMPORT };

static enum scope_kind scope_kind(int tag)
{
	switch (tag) {
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_entry_point:
	case DW_TAG_lexical_block:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_with_stmt:
		return SCOPE_CODE;
	/* no addresses of their own, but clang puts function definitions in them */
	case DW_TAG_namespace:
	case DW_TAG_module:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
		return SCOPE_HOLDER;
	case DW_TAG_imported_unit: /* dwz */
		return SCOPE_IMPORT;
	default:
		return SCOPE_NONE;
	}
}

static void scope_push(struct scope_path *p, const Dwarf_Die *d)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	p->v[p->n++] = *d;
}

/*
 * Appends to p the scopes under parent that hold addr, outermost first.
 * libdw 0.188's dwarf_getscopes does not look inside namespaces, and past
 * an inlined call it continues in the callee's abstract definition; this
 * walks the concrete tree only, where the call sites are.
 */
static bool scope_descend(Dwarf_Die *parent, Dwarf_Addr addr, struct scope_path *p, int depth)
{
	Dwarf_Attribute a;
	Dwarf_Die c, unit;

	if (depth > SCOPE_DEPTH_MAX || dwarf_child(parent, &c) != 0)
		return false;
	do {
		switch (scope_kind(dwarf_tag(&c))) {
		case SCOPE_CODE:
			if (dwarf_haspc(&c, addr) != 1)
				break;
			scope_push(p, &c);
			scope_descend(&c, addr, p, depth + 1);
			return true;
		case SCOPE_HOLDER:
			if (scope_descend(&c, addr, p, depth + 1))
				return true;
			break;
		case SCOPE_IMPORT:
			if (dwarf_formref_die(dwarf_attr(&c, DW_AT_import, &a), &unit) &&
			    scope_descend(&unit, addr, p, depth + 1))
				return true;
			break;
		case SCOPE_NONE:
			break;
		}
	} while (dwarf_siblingof(&c, &c) == 0);
	return false;
}

/*
 * One frame per function scope on the path, from the innermost up to the
 * first real subprogram: the innermost takes the line table's position,
 * each outer one the call site of the inlined call inside it.
 */
static void frames_from_scopes(struct symbolizer *s, struct lookup *l,
			       const struct scope_path *p, const struct sym_frame *base,
			       struct frame_buf *fb)
{
	struct sym_frame f = *base;
	size_t first = fb->n;

	frame_line_table(s, l, &f);
	for (size_t i = p->n; i-- > 0;) {
		Dwarf_Die *d = &p->v[i];
		int tag = dwarf_tag(d);

		if (!is_function_scope(tag))
			continue;
		f.function = die_name(s, d);
		f.inlined = tag == DW_TAG_inlined_subroutine;
		frames_push(fb, &f);
		if (!f.inlined)
			break;
		frame_call_site(s, d, &f);
	}
	if (fb->n == first)
		return;
	/* the chain may end without a subprogram in broken DWARF */
	fb->v[fb->n - 1].inlined = false;
	if (!fb->v[fb->n - 1].function)
		fb->v[fb->n - 1].function = elf_sym_name(s, l);
}

/* Frames from DWARF; false when the address is in no DWARF function. */
static bool frames_from_dwarf(struct symbolizer *s, struct lookup *l,
			      const struct sym_frame *base, struct frame_buf *fb)
{
	struct scope_path p = { 0 };
	size_t first = fb->n;

	if (scope_descend(&l->cu, l->daddr, &p, 0))
		frames_from_scopes(s, l, &p, base, fb);
	free(p.v);
	return fb->n > first;
}

static void entry_resolve_mapped(struct symbolizer *s, const struct sym_entry *e,
				 struct frame_buf *fb)
{
	const struct sym_map *m = &e->map;
	struct sym_frame f = {
		.ip = e->ip,
		.module = m->path,
		.module_offset = e->ip - 1 - m->bias,
		.map_start = m->start,
		.map_end = m->end,
		.map_offset = m->offset,
		.build_id = m->obj && m->obj->build_id[0] ? intern(s, m->obj->build_id) : NULL,
	};
	struct lookup l = {
		.obj = m->obj,
		.mod = m->obj ? object_module(s, m->obj) : NULL,
		.vaddr = f.module_offset,
	};

	if (s->no_symbols)
		l.mod = NULL;
	if (l.mod)
		lookup_cu(m->obj, &l);
	if (l.has_cu && frames_from_dwarf(s, &l, &f, fb))
		return;
	if (l.mod) {
		/* no DWARF function here (stripped, or assembly): the symbol table, lines if any */
		f.function = elf_sym_name(s, &l);
		frame_line_table(s, &l, &f);
	}
	frames_push(fb, &f);
}

static void entry_resolve(struct symbolizer *s, struct sym_entry *e)
{
	struct frame_buf fb = { 0 };
	struct sym_frame unknown = { .ip = e->ip };

	if (e->state == ENT_MAPPED)
		entry_resolve_mapped(s, e, &fb);
	else
		frames_push(&fb, &unknown);
	e->frames = fb.v;
	e->nframes = fb.n;
	e->provisional = e->state == ENT_MAPPED && e->map.obj && e->map.obj->provisional;
}

void symbolizer__symbolize(struct symbolizer *s, uint64_t ip,
			   const struct sym_frame **frames, size_t *n)
{
	static __thread struct sym_frame bare;
	struct sym_entry *e;

	if (!s) {
		bare = (struct sym_frame){ .ip = ip };
		*frames = &bare;
		*n = 1;
		return;
	}
	e = entry_get(s, ip);
	if (!e->frames) {
		entry_locate(s, e);
		/* the answer is final: do not let the rate limit leave it unknown */
		if (e->state == ENT_QUEUED)
			symbolizer__refresh(s);
		entry_resolve(s, e);
	}
	*frames = e->frames;
	*n = e->nframes;
}

/* ---- life cycle ---- */

static bool opts_demangle(const struct symbolizer_opts *opts)
{
	size_t need = offsetof(struct symbolizer_opts, demangle) + sizeof(opts->demangle);

	return !opts || opts->sz < need ? true : opts->demangle;
}

static bool opts_no_symbols(const struct symbolizer_opts *opts)
{
	size_t need = offsetof(struct symbolizer_opts, no_symbols) + sizeof(opts->no_symbols);

	return opts && opts->sz >= need && opts->no_symbols;
}

static bool opts_no_wait(const struct symbolizer_opts *opts)
{
	size_t need = offsetof(struct symbolizer_opts, no_wait_until_report) +
		      sizeof(opts->no_wait_until_report);

	return opts && opts->sz >= need && opts->no_wait_until_report;
}

static bool opts_no_debuginfod(const struct symbolizer_opts *opts)
{
	size_t need = offsetof(struct symbolizer_opts, no_debuginfod) +
		      sizeof(opts->no_debuginfod);

	return opts && opts->sz >= need && opts->no_debuginfod;
}

static struct debuginfo *debuginfo_for(bool network)
{
	const struct debuginfo_opts o = { .sz = sizeof(o), .path = debuginfo_path,
					  .network = network };

	return debuginfo__new(&o);
}

struct symbolizer *symbolizer__new(int pid, const struct symbolizer_opts *opts)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));
	int err;

	s->pid = pid;
	s->demangle = opts_demangle(opts);
	s->no_symbols = opts_no_symbols(opts);
	s->may_wait = !opts_no_wait(opts);
	debuginfo_path = getenv("MEMSCOPE_DEBUGINFO_PATH");
	s->debuginfo = debuginfo_for(!opts_no_debuginfod(opts));
	s->page_size = (size_t)sysconf(_SC_PAGESIZE);
	elf_version(EV_CURRENT);
	s->procmaps = procmaps__new(pid);
	if (!s->procmaps) {
		err = -errno;
		ms_err("cannot open '/proc/%d': %s", pid, strerror(-err));
		goto cleanup;
	}
	err = symbolizer__refresh(s);
	if (err == -ESRCH)
		ms_err("cannot read '/proc/%d/maps': process is gone", pid);
cleanup:
	if (err) {
		symbolizer__free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

struct symbolizer *symbolizer__new_offline(void)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));

	s->pid = -1;
	s->gone = true;
	s->demangle = true;
	s->may_wait = true;
	debuginfo_path = getenv("MEMSCOPE_DEBUGINFO_PATH");
	s->debuginfo = debuginfo_for(true);
	s->page_size = (size_t)sysconf(_SC_PAGESIZE);
	elf_version(EV_CURRENT);
	return s;
}

void symbolizer__add_map(struct symbolizer *s, const struct sym_mapping *mp)
{
	struct sym_map m = {
		.start = mp->start, .end = mp->end, .offset = mp->offset,
		.path = intern(s, mp->path), .want_build_id = intern(s, mp->build_id),
		.exec = true,
	};
	size_t i = 0;

	if (!m.path || m.end <= m.start)
		return;
	m.obj = object_find(s, &m);
	if (!m.obj)
		m.obj = object_add(s, &m);
	m.bias = map_bias(&m, s->page_size);
	/* sorted by start; a later mapping at the same address (dlopen after dlclose) wins */
	while (i < s->nmaps && s->maps[i].start < m.start)
		i++;
	if (i < s->nmaps && s->maps[i].start == m.start) {
		s->maps[i] = m;
		return;
	}
	s->maps = xrealloc(s->maps, (s->nmaps + 1) * sizeof(*s->maps));
	memmove(&s->maps[i + 1], &s->maps[i], (s->nmaps - i) * sizeof(*s->maps));
	s->maps[i] = m;
	s->nmaps++;
}

void symbolizer__forget_maps(struct symbolizer *s)
{
	/* the objects stay open: a later mapping of the same file finds its object */
	s->nmaps = 0;
	s->maps_gen++;
}

uint64_t symbolizer__maps_gen(const struct symbolizer *s)
{
	return s ? s->maps_gen : 0;
}

static void each_map_of(const struct sym_map *v, size_t n, symbolizer_map_fn fn, void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		const struct sym_map *m = &v[i];
		struct sym_mapping mp = { .start = m->start, .end = m->end, .offset = m->offset,
					  .path = m->path };

		if (!m->exec || !m->obj)
			continue;
		mp.build_id = m->obj->build_id[0] ? m->obj->build_id : NULL;
		fn(ctx, &mp);
	}
}

void symbolizer__each_map(const struct symbolizer *s, symbolizer_map_fn fn, void *ctx)
{
	if (!s)
		return;
	each_map_of(s->maps, s->nmaps, fn, ctx);
	for (size_t i = 0; i < s->nspaces; i++)
		each_map_of(s->spaces[i].maps, s->spaces[i].nmaps, fn, ctx);
}

static bool hex_to_raw(const char *hex, unsigned char *raw, size_t *len)
{
	size_t n = strlen(hex);

	if (!n || n % 2 || n / 2 > SYM_BUILD_ID_MAX)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return false;
		raw[i] = (unsigned char)b;
	}
	*len = n / 2;
	return true;
}

/*
 * The object a capture's unnamed frame in module (build id hex) may be
 * named from here: the file mapped there if it is that build
 * (symbolizer__add_map's), else its debug file alone, by build id in the
 * debug directories or from a server (the lookup starts now).
 */
static struct sym_object *object_for_build_id(struct symbolizer *s, const char *module,
					      const char *hex)
{
	struct sym_object *o;

	for (size_t i = 0; i < s->nobjs; i++) {
		o = s->objs[i];
		if (!strcmp(o->build_id, hex) && (o->debug_only || object_readable(o)))
			return o;
	}
	o = xcalloc(1, sizeof(*o));
	if (!hex_to_raw(hex, o->build_id_raw, &o->build_id_len)) {
		free(o);
		return NULL;
	}
	snprintf(o->build_id, sizeof(o->build_id), "%s", hex);
	o->path = module;
	o->fd = -1;
	o->debug_fd = -1;
	o->debug_only = true;
	o->seen = true;
	o->debuginfo = s->debuginfo;
	s->objs = xrealloc(s->objs, (s->nobjs + 1) * sizeof(*s->objs));
	s->objs[s->nobjs++] = o;
	object_find_local(o);
	if (o->debug_fd < 0)
		debuginfo__prefetch(o->debuginfo, o->build_id_raw, o->build_id_len);
	return o;
}

/*
 * A capture's frame left without a name where it was recorded: resolved
 * again here, lazily, from the debug file this machine has for its build
 * id.  False when there is nothing to look it up by.
 */
static bool preload_unnamed(struct symbolizer *s, struct sym_entry *e, const struct sym_frame *f)
{
	struct sym_object *o;

	if (s->procmaps || s->no_symbols || f->function || !f->module || !f->build_id || !f->ip)
		return false;
	o = object_for_build_id(s, intern(s, f->module), intern(s, f->build_id));
	if (!o)
		return false;
	e->state = ENT_MAPPED;
	e->map = (struct sym_map){ .start = f->map_start, .end = f->map_end,
				   .offset = f->map_offset, .bias = f->ip - 1 - f->module_offset,
				   .path = o->path, .obj = o, .exec = true };
	return true;
}

void symbolizer__preload(struct symbolizer *s, const struct sym_frame *frames, size_t n)
{
	struct sym_entry *e;

	if (!n)
		return;
	e = entry_get(s, frames[0].ip);
	if (e->frames || (n == 1 && preload_unnamed(s, e, &frames[0])))
		return;
	e->frames = xcalloc(n, sizeof(*e->frames));
	e->nframes = n;
	e->state = frames[0].module ? ENT_MAPPED : ENT_UNKNOWN;
	for (size_t i = 0; i < n; i++) {
		e->frames[i] = frames[i];
		e->frames[i].ip = frames[0].ip;
		e->frames[i].function = intern(s, frames[i].function);
		e->frames[i].file = intern(s, frames[i].file);
		e->frames[i].module = intern(s, frames[i].module);
		e->frames[i].build_id = intern(s, frames[i].build_id);
	}
}

void symbolizer__each(const struct symbolizer *s, symbolizer_each_fn fn, void *ctx)
{
	for (size_t i = 0; i < s->cap_ents; i++)
		if (s->ents[i].used && s->ents[i].frames)
			fn(ctx, s->ents[i].frames, s->ents[i].nframes);
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap_ents; i++)
		free(s->ents[i].frames);
	free(s->ents);
	free(s->queued);
	for (size_t i = 0; i < s->nobjs; i++)
		object_free(s->objs[i]);
	free(s->objs);
	debuginfo__free(s->debuginfo);
	free(s->unnamed);
	free(s->maps);
	for (size_t i = 0; i < s->nspaces; i++) {
		free(s->spaces[i].maps);
		procmaps__free(s->spaces[i].procmaps);
	}
	free(s->spaces);
	for (size_t i = 0; i < s->cap_strs; i++)
		free(s->strs[i]);
	free(s->strs);
	procmaps__free(s->procmaps);
	free(s);
}

/* ---- what has no names, and why ---- */

/* "debug file not found", and what the server said when it was asked */
static const char *debug_missing(struct symbolizer *s, const struct sym_object *o)
{
	char buf[256];

	if (o->debug_miss == DEBUGINFO_MISS_NONE || o->debug_miss == DEBUGINFO_MISS_OFF ||
	    o->debug_miss == DEBUGINFO_MISS_NO_BUILD_ID)
		return "debug file not found";
	snprintf(buf, sizeof(buf), "debug file not found; %s", debuginfo__miss_str(o->debug_miss));
	return intern(s, buf);
}

static const char *object_why(struct symbolizer *s, const struct sym_object *o)
{
	if (!o)
		return "no names in the capture"; /* a capture's frames: the reason stayed there */
	if (o->debug_only)
		return o->debug_given ? "no function covers the address" : debug_missing(s, o);
	if (!object_readable(o))
		return o->e_type == ET_NONE && o->fd < 0 ? "file not readable" : "not an ELF file";
	if (o->has_dwarf || o->debug_given)
		return "no function covers the address";
	if (!o->build_id_len && !o->debuglink)
		return o->has_symtab || o->has_minidebug ? "no function covers the address"
							   : "no symbols";
	return debug_missing(s, o);
}

static void unnamed_add(struct symbolizer *s, const struct sym_entry *e)
{
	const struct sym_frame *f = &e->frames[e->nframes - 1];
	struct sym_unnamed *u = NULL;

	for (size_t i = 0; i < s->nunnamed && !u; i++)
		if (s->unnamed[i].module == f->module)
			u = &s->unnamed[i];
	if (!u) {
		s->unnamed = xrealloc(s->unnamed, (s->nunnamed + 1) * sizeof(*s->unnamed));
		u = &s->unnamed[s->nunnamed++];
		*u = (struct sym_unnamed){ .module = f->module, .build_id = f->build_id,
					   .reason = object_why(s, e->map.obj) };
	}
	u->addresses++;
}

static int unnamed_cmp(const void *a, const void *b)
{
	const struct sym_unnamed *x = a, *y = b;

	return strcmp(x->module, y->module);
}

/*
 * The report is being made: answers are waited for from now on, and what
 * was resolved without one still on its way is resolved again.
 */
static void provisional_drop(struct symbolizer *s)
{
	s->may_wait = true;
	for (size_t i = 0; i < s->nobjs; i++) {
		struct sym_object *o = s->objs[i];

		if (!o->provisional)
			continue;
		dwfl_end(o->dwfl); /* closes its dup of o->fd */
		o->dwfl = NULL;
		o->mod = NULL;
		o->dwfl_tried = false;
		free(o->cus);
		o->cus = NULL;
		o->ncus = 0;
		o->cus_built = false;
		o->provisional = false;
	}
	for (size_t i = 0; i < s->cap_ents; i++) {
		struct sym_entry *e = &s->ents[i];

		if (!e->used || !e->provisional)
			continue;
		free(e->frames);
		e->frames = NULL;
		e->nframes = 0;
		e->provisional = false;
	}
}

const struct sym_unnamed *symbolizer__unnamed(struct symbolizer *s, size_t *n)
{
	uint64_t t0 = ms_now_ns();
	size_t resolved = 0;

	*n = 0;
	if (!s)
		return NULL;
	provisional_drop(s);
	s->nunnamed = 0;
	if (s->no_symbols)
		return NULL;
	/* resolving adds no entry: the table does not move under the loop */
	for (size_t i = 0; i < s->cap_ents; i++) {
		struct sym_entry *e = &s->ents[i];
		const struct sym_frame *f;
		size_t nf;

		if (!e->used || e->state != ENT_MAPPED)
			continue;
		if (!e->frames) {
			symbolizer__symbolize(s, e->ip, &f, &nf);
			resolved++;
		}
		if (e->nframes && !e->frames[e->nframes - 1].function &&
		    e->frames[e->nframes - 1].module)
			unnamed_add(s, e);
	}
	if (s->nunnamed)
		qsort(s->unnamed, s->nunnamed, sizeof(*s->unnamed), unnamed_cmp);
	ms_info(1, "named %zu addresses in %.1f ms, %.1f ms of it waiting for debuginfod", resolved,
		(double)(ms_now_ns() - t0) / 1e6, (double)debuginfo__waited_ns(s->debuginfo) / 1e6);
	*n = s->nunnamed;
	return s->unnamed;
}

/* ---- formatting ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int sym_frame__format(const struct sym_frame *f, char *buf, size_t len)
{
	if (f->function && f->file && f->line > 0)
		return snprintf(buf, len, "%s (%s:%d)", f->function, f->file, f->line);
	if (f->function && f->file)
		return snprintf(buf, len, "%s (%s)", f->function, f->file);
	if (f->function && f->module)
		return snprintf(buf, len, "%s (%s+0x%" PRIx64 ")", f->function,
				base_name(f->module), f->module_offset);
	if (f->function)
		return snprintf(buf, len, "%s (0x%" PRIx64 ")", f->function, f->ip);
	if (f->module)
		return snprintf(buf, len, "%s+0x%" PRIx64, base_name(f->module),
				f->module_offset);
	return snprintf(buf, len, "0x%" PRIx64, f->ip);
}
