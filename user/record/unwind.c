// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <elfutils/libdwelf.h>
#include <libelf.h>

#include "procmaps.h"
#include "unwind.h"
#include "unwind_table.h"
#include "util.h"

#define UW_BUILD_ID_MAX 64

/*
 * One object, by its file's (dev, inode) in the kernel's encoding as BPF
 * sees it (bpf/memscope.bpf.c: file_key()).  That key is not always what
 * /proc/PID/maps or stat() show: on overlayfs the mapping holds the layer's
 * file, on another device than the overlay's.  So an object is found by
 * the key it was seen with and uploaded with BPF's, which the vma_keys
 * iterator gives for a mapping of the target's, or of the loader's own for
 * a program not launched yet.  Files with the same build id (a library
 * copied into a container, a hard copy) share one set of rows.
 */
struct uw_object {
	uint64_t dev, ino;           /* BPF's key, once resolved; the seen one until then */
	uint64_t seen_dev, seen_ino; /* as /proc/PID/maps or stat() show the file */
	uint64_t map_start;          /* where the target maps it; 0: found by path */
	void *self_map;              /* found by path: the loader's page of it, until resolved */
	bool resolved;
	uint32_t first, count; /* in rows; count 0: no CFI, or it did not fit */
	bool uploaded;
	bool shared;           /* its rows are another object's */
	uint8_t build_id_len;  /* 0: none */
	uint8_t build_id[UW_BUILD_ID_MAX];
};

struct unwinder {
	int pid;
	enum ms_unwind_mode mode;
	struct uw_object *objs;
	size_t nobjs;
	struct ms_unwind_row *rows; /* every object's rows, back to back */
	size_t nrows;
	size_t dropped;
	double build_ms;
	/* the BPF maps, once bound; the rows' map is mmap'ed (BPF_F_MMAPABLE) */
	struct ms_unwind_row *map_rows;
	size_t map_len;
	int objs_fd;
	int keys_fd;                /* the vma_keys iterator program; -1: keys as seen */
	uint32_t capacity;
	volatile uint64_t *gen;
};

static uint64_t kernel_dev(unsigned major, unsigned minor)
{
	return ((uint64_t)major << 20) | minor;
}

struct unwinder *unwinder__new(const struct unwinder_opts *opts)
{
	struct unwinder *u = xcalloc(1, sizeof(*u));

	u->pid = opts->pid;
	u->mode = opts->mode;
	u->objs_fd = -1;
	u->keys_fd = -1;
	return u;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	if (u->map_rows)
		munmap(u->map_rows, u->map_len);
	for (size_t i = 0; i < u->nobjs; i++)
		if (u->objs[i].self_map)
			munmap(u->objs[i].self_map, 1);
	free(u->objs);
	free(u->rows);
	free(u);
}

static struct uw_object *find(struct unwinder *u, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < u->nobjs; i++)
		if (u->objs[i].dev == dev && u->objs[i].ino == ino)
			return &u->objs[i];
	return NULL;
}

/* The object of a file by the key /proc/PID/maps or stat() showed, or NULL. */
static struct uw_object *find_seen(struct unwinder *u, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < u->nobjs; i++)
		if (u->objs[i].seen_dev == dev && u->objs[i].seen_ino == ino)
			return &u->objs[i];
	return NULL;
}

/*
 * The file mappings of process pid with BPF's keys, from the vma_keys
 * iterator, into *out (the caller frees).  Their count, or negative errno.
 */
static ssize_t read_vma_keys(const struct unwinder *u, int pid, struct ms_vma_key **out)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	union bpf_iter_link_info info = { 0 };
	struct ms_vma_key *v = NULL;
	size_t bytes = 0, cap = 0;
	int link, fd;
	ssize_t got = 0;

	info.task.pid = (uint32_t)pid;
	lo.iter_info = &info;
	lo.iter_info_len = sizeof(info);
	link = bpf_link_create(u->keys_fd, 0, BPF_TRACE_ITER, &lo);
	if (link < 0)
		return -errno;
	fd = bpf_iter_create(link);
	if (fd < 0) {
		got = -errno;
		close(link);
		return got;
	}
	for (;;) {
		if (bytes == cap * sizeof(*v)) {
			cap = cap ? cap * 2 : 256;
			v = xrealloc(v, cap * sizeof(*v));
		}
		got = read(fd, (char *)v + bytes, cap * sizeof(*v) - bytes);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		bytes += (size_t)got;
	}
	if (got < 0)
		got = -errno;
	close(fd);
	close(link);
	if (got < 0) {
		free(v);
		return got;
	}
	*out = v;
	return (ssize_t)(bytes / sizeof(*v));
}

/* BPF's key of process pid's mapping that contains addr, or NULL. */
static const struct ms_unwind_key *key_at(const struct ms_vma_key *v, ssize_t n, int pid,
					  uint64_t addr)
{
	for (ssize_t i = 0; i < n; i++)
		if (v[i].tgid == (uint32_t)pid && addr >= v[i].start && addr < v[i].end)
			return &v[i].key;
	return NULL;
}

/*
 * Gives the objects not resolved yet BPF's keys: those the target maps from
 * its mappings, those found by path from the loader's own.  An object whose
 * mapping is gone keeps the key it was seen with.
 */
static void resolve_keys(struct unwinder *u)
{
	struct ms_vma_key *target = NULL, *self = NULL;
	ssize_t ntarget = -1, nself = -1;

	if (u->keys_fd < 0)
		return;
	for (size_t i = 0; i < u->nobjs; i++) {
		struct uw_object *o = &u->objs[i];
		const struct ms_unwind_key *k = NULL;

		if (o->resolved || (!o->map_start && !o->self_map))
			continue;
		if (o->self_map) {
			if (nself < 0)
				nself = read_vma_keys(u, getpid(), &self);
			k = key_at(self, nself, getpid(), (uintptr_t)o->self_map);
			munmap(o->self_map, 1);
			o->self_map = NULL;
		} else {
			if (ntarget < 0)
				ntarget = read_vma_keys(u, u->pid, &target);
			k = key_at(target, ntarget, u->pid, o->map_start);
		}
		if (!k)
			continue;
		if (k->dev != o->dev || k->ino != o->ino)
			ms_info(2, "object %" PRIu64 ":%" PRIu64 " is %" PRIu64 ":%" PRIu64
				" for BPF", o->dev, o->ino, (uint64_t)k->dev, (uint64_t)k->ino);
		o->dev = k->dev;
		o->ino = k->ino;
		o->resolved = true;
	}
	free(self);
	free(target);
}

/*
 * Writes o's rows and then its entry (BPF must never see an entry before
 * its rows).  What does not fit is unwound as code without CFI, counted.
 */
static void upload(struct unwinder *u, struct uw_object *o)
{
	struct ms_unwind_key key = { .dev = o->dev, .ino = o->ino };
	struct ms_unwind_obj val;

	if (o->count && o->first + (uint64_t)o->count > u->capacity) {
		ms_info(1, "no room for %u unwind rows (map of %u): object %" PRIu64 ":%" PRIu64
			" without CFI", o->count, u->capacity, o->dev, o->ino);
		u->dropped++;
		o->count = 0;
	}
	/* no rows at all yet (a static program without .eh_frame_hdr): rows is NULL */
	if (o->count)
		memcpy(u->map_rows + o->first, u->rows + o->first, o->count * sizeof(*u->rows));
	val = (struct ms_unwind_obj){ .first = o->first, .count = o->count };
	o->uploaded = true;
	if (!bpf_map_update_elem(u->objs_fd, &key, &val, BPF_ANY))
		return;
	/* the table of objects is full: BPF takes the object for one not seen yet */
	ms_info(1, "cannot add object %" PRIu64 ":%" PRIu64 " to BPF's unwind table: %s", o->dev,
		o->ino, strerror(errno));
	u->dropped++;
	o->count = 0;
}

/* Records object (dev, ino) with no rows yet, uploading it when bound. */
static struct uw_object *add_object(struct unwinder *u, uint64_t dev, uint64_t ino)
{
	struct uw_object *o;

	u->objs = xrealloc(u->objs, (u->nobjs + 1) * sizeof(*u->objs));
	o = &u->objs[u->nobjs++];
	*o = (struct uw_object){ .dev = dev, .ino = ino, .seen_dev = dev, .seen_ino = ino,
				 .first = (uint32_t)u->nrows };
	return o;
}

/* Resolves the keys of the objects not uploaded yet, then uploads them. */
static void upload_new(struct unwinder *u)
{
	resolve_keys(u);
	for (size_t i = 0; i < u->nobjs; i++)
		if (!u->objs[i].uploaded)
			upload(u, &u->objs[i]);
}

/* The GNU build id of the ELF file open at fd into id; its length, 0 when none. */
static size_t read_build_id(int fd, uint8_t id[UW_BUILD_ID_MAX])
{
	Elf *elf;
	const void *p;
	ssize_t n = 0;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return 0;
	n = dwelf_elf_gnu_build_id(elf, &p);
	if (n > 0 && n <= UW_BUILD_ID_MAX)
		memcpy(id, p, n);
	else
		n = 0;
	elf_end(elf);
	return (size_t)n;
}

/* An object with rows whose build id is id, or NULL. */
static const struct uw_object *find_build_id(const struct unwinder *u, const uint8_t *id,
					     size_t len)
{
	for (size_t i = 0; len && i < u->nobjs; i++)
		if (u->objs[i].count && u->objs[i].build_id_len == len &&
		    !memcmp(u->objs[i].build_id, id, len))
			return &u->objs[i];
	return NULL;
}

/*
 * Builds and records the rows of the object open at fd, seen as (dev, ino)
 * (the kernel's encoding), not uploaded yet; an object whose build id is
 * known takes that one's rows.  NULL when the object is known.
 */
static struct uw_object *add_fd(struct unwinder *u, int fd, uint64_t dev, uint64_t ino,
				const char *path)
{
	struct ms_unwind_row *rows = NULL;
	const struct uw_object *same;
	uint8_t id[UW_BUILD_ID_MAX];
	struct uw_object *o;
	uint64_t t0 = ms_now_ns();
	size_t n = 0, id_len;
	uint32_t first = 0, count = 0;
	bool shared;
	int err = 0;

	if (find_seen(u, dev, ino))
		return NULL;
	id_len = read_build_id(fd, id);
	/* copied out: add_object() may move the objects */
	same = find_build_id(u, id, id_len);
	shared = same != NULL;
	if (shared) {
		first = same->first;
		count = same->count;
		ms_info(2, "'%s': the unwind rows of an object with its build id", path);
	} else {
		err = unwind_table__build(fd, &rows, &n);
		u->build_ms += (double)(ms_now_ns() - t0) / 1e6;
		if (err)
			ms_info(1, "'%s': no unwind rows (%s)%s", path, strerror(-err),
				u->mode == MS_UNWIND_AUTO ? ": frame pointers there" : "");
		else
			ms_info(2, "'%s': %zu unwind rows", path, n);
	}
	o = add_object(u, dev, ino);
	o->build_id_len = (uint8_t)id_len;
	memcpy(o->build_id, id, id_len);
	if (shared) {
		o->first = first;
		o->count = count;
		o->shared = true;
	} else if (!err && n && u->nrows + n <= UINT32_MAX) {
		u->rows = xrealloc(u->rows, (u->nrows + n) * sizeof(*u->rows));
		memcpy(u->rows + u->nrows, rows, n * sizeof(*rows));
		u->nrows += n;
		o->count = (uint32_t)n;
	}
	free(rows);
	return o;
}

int unwinder__add_path(struct unwinder *u, const char *path)
{
	struct uw_object *o = NULL;
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else
		o = add_fd(u, fd, kernel_dev(major(st.st_dev), minor(st.st_dev)), st.st_ino, path);
	/* mapped by the loader too, for BPF to tell its key (resolve_keys()) */
	if (o && st.st_size > 0) {
		p = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED)
			o->self_map = p;
	}
	close(fd);
	if (o && u->map_rows) {
		upload_new(u);
		(*u->gen)++;
	}
	return err;
}

/* One look at the maps: BPF's keys of the target's mappings, read when first needed. */
struct scan {
	struct ms_vma_key *keys;
	ssize_t nkeys; /* -1: not read yet */
};

/*
 * Whether BPF already has the object of mapping m under another key than
 * the maps show (a file found by path before the target ran, on a kernel
 * where stat() and the maps disagree).
 */
static bool known_to_bpf(struct unwinder *u, struct scan *sc, const struct procmap *m)
{
	const struct ms_unwind_key *k;

	if (u->keys_fd < 0 || !u->map_rows)
		return false;
	if (sc->nkeys < 0)
		sc->nkeys = read_vma_keys(u, u->pid, &sc->keys);
	k = key_at(sc->keys, sc->nkeys, u->pid, m->start);
	return k && find(u, k->dev, k->ino);
}

/* Adds the object of one mapping when it is executable code not seen yet: 1, else 0. */
static int scan_mapping(struct unwinder *u, struct scan *sc, const struct procmaps *pm,
			const struct procmap *m)
{
	struct uw_object *o;
	uint64_t dev;
	int fd;

	if (m->perms[2] != 'x')
		return 0;
	/* the maps show the major and minor numbers: encoded as the kernel does */
	dev = kernel_dev(m->dev_major, m->dev_minor);
	if (find_seen(u, dev, m->ino) || known_to_bpf(u, sc, m))
		return 0;
	/* checked to be the mapped inode however it was opened */
	fd = procmaps__open(pm, m, PROCMAPS_OPEN_ROOT | PROCMAPS_OPEN_CHECK_INODE);
	if (fd < 0) {
		ms_info(1, "cannot open '%s' mapped by pid %d: %s", m->path, u->pid, strerror(-fd));
		/* known without rows, so that BPF does not ask for it again and again */
		o = add_object(u, dev, m->ino);
	} else {
		/* keyed as the maps show it (fstat may show another device) until resolved */
		o = add_fd(u, fd, dev, m->ino, m->path);
		close(fd);
	}
	if (!o)
		return 0;
	o->map_start = m->start;
	return 1;
}

int unwinder__scan(struct unwinder *u)
{
	struct scan sc = { .nkeys = -1 };
	struct procmap *maps = NULL;
	struct procmaps *pm;
	ssize_t n;
	int added = 0;

	pm = procmaps__new(u->pid);
	n = pm ? procmaps__read(pm, &maps) : (errno == ENOENT ? -ESRCH : -errno);
	if (n < 0) {
		added = (int)n;
		goto cleanup;
	}
	for (ssize_t i = 0; i < n; i++)
		added += scan_mapping(u, &sc, pm, &maps[i]);
	if (added && u->map_rows) {
		upload_new(u);
		(*u->gen)++;
	}
cleanup:
	free(maps);
	free(sc.keys);
	procmaps__free(pm);
	return added;
}

size_t unwinder__rows(const struct unwinder *u)
{
	return u->nrows;
}

int unwinder__bind(struct unwinder *u, int rows_fd, int objs_fd, int keys_fd, uint32_t capacity,
		   volatile uint64_t *gen)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	u->map_len = ((size_t)capacity * sizeof(*u->rows) + page - 1) & ~(page - 1);
	p = mmap(NULL, u->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, rows_fd, 0);
	if (p == MAP_FAILED) {
		ms_err("cannot map the BPF unwind rows: %s", strerror(errno));
		return -errno;
	}
	u->map_rows = p;
	u->objs_fd = objs_fd;
	u->keys_fd = keys_fd;
	u->capacity = capacity;
	u->gen = gen;
	upload_new(u);
	(*u->gen)++;
	return 0;
}

void unwinder__stats(const struct unwinder *u, struct unwind_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < u->nobjs; i++) {
		if (u->objs[i].count) {
			out->objects++;
			if (u->objs[i].shared)
				out->shared++;
			else
				out->rows += u->objs[i].count;
		} else {
			out->objects_bare++;
		}
	}
	out->capacity = u->capacity;
	out->dropped = u->dropped;
	out->build_ms = u->build_ms;
}
