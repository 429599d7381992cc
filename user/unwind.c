// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <elfutils/libdwelf.h>
#include <libelf.h>

#include "unwind.h"
#include "unwind_table.h"
#include "util.h"

#define UW_BUILD_ID_MAX 64

/*
 * One object, by its file's (dev, inode) in the kernel's encoding.  Files
 * with the same build id (a library copied into a container, a hard copy)
 * share one set of rows.
 */
struct uw_object {
	uint64_t dev, ino;
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
	return u;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	if (u->map_rows)
		munmap(u->map_rows, u->map_len);
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
	*o = (struct uw_object){ .dev = dev, .ino = ino, .first = (uint32_t)u->nrows };
	return o;
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
 * Builds and records the rows of the object open at fd (stat st), uploading
 * when bound; an object whose build id is known takes that one's rows.
 * 1 when it was new, 0 when known.
 */
static int add_fd(struct unwinder *u, int fd, const struct stat *st, const char *path)
{
	uint64_t dev = kernel_dev(major(st->st_dev), minor(st->st_dev)), t0 = ms_now_ns();
	struct ms_unwind_row *rows = NULL;
	const struct uw_object *same;
	uint8_t id[UW_BUILD_ID_MAX];
	struct uw_object *o;
	size_t n = 0, id_len;
	uint32_t first = 0, count = 0;
	bool shared;
	int err = 0;

	if (find(u, dev, st->st_ino))
		return 0;
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
	o = add_object(u, dev, st->st_ino);
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
	if (u->map_rows)
		upload(u, o);
	return 1;
}

int unwinder__add_path(struct unwinder *u, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = fstat(fd, &st) < 0 ? -errno : add_fd(u, fd, &st, path);
	close(fd);
	if (err > 0 && u->gen)
		(*u->gen)++;
	return err < 0 ? err : 0;
}

/*
 * The file of one mapping: through map_files (deleted files, other mount
 * namespaces), else the target's root; checked to be the mapped inode.
 */
static int open_mapped(const struct unwinder *u, uint64_t start, uint64_t end, const char *path,
		       uint64_t ino, struct stat *st)
{
	char name[PATH_MAX + 64];
	int fd;

	snprintf(name, sizeof(name), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, u->pid, start, end);
	fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(name, sizeof(name), "/proc/%d/root%s", u->pid, path);
		fd = open(name, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0 || st->st_ino != ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* Adds the object of one line of the maps when it is executable code not seen yet: 1, else 0. */
static int scan_line(struct unwinder *u, char *line)
{
	struct ms_maps_line m;
	int fd, added;
	struct uw_object *o;
	uint64_t dev;
	struct stat st;

	if (ms_maps_parse(line, &m) <= 0 || m.perms[2] != 'x')
		return 0;
	dev = kernel_dev(m.dev_major, m.dev_minor);
	if (find(u, dev, m.ino))
		return 0;
	fd = open_mapped(u, m.start, m.end, m.path, m.ino, &st);
	if (fd < 0) {
		ms_info(1, "cannot open '%s' mapped by pid %d: %s", m.path, u->pid, strerror(-fd));
		/* known without rows, so that BPF does not ask for it again and again */
		o = add_object(u, dev, m.ino);
		if (u->map_rows)
			upload(u, o);
		return 1;
	}
	/* the object is keyed as the kernel sees the mapping, whatever fstat says */
	st.st_dev = makedev(m.dev_major, m.dev_minor);
	added = add_fd(u, fd, &st, m.path);
	close(fd);
	return added;
}

int unwinder__scan(struct unwinder *u)
{
	char name[64], *line = NULL;
	size_t len = 0;
	int added = 0;
	FILE *f;

	snprintf(name, sizeof(name), "/proc/%d/maps", u->pid);
	f = fopen(name, "re");
	if (!f)
		return -errno;
	while (getline(&line, &len, f) > 0)
		added += scan_line(u, line);
	free(line);
	fclose(f);
	if (added && u->gen)
		(*u->gen)++;
	return added;
}

size_t unwinder__rows(const struct unwinder *u)
{
	return u->nrows;
}

int unwinder__bind(struct unwinder *u, int rows_fd, int objs_fd, uint32_t capacity,
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
	u->capacity = capacity;
	u->gen = gen;
	for (size_t i = 0; i < u->nobjs; i++)
		if (!u->objs[i].uploaded)
			upload(u, &u->objs[i]);
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
