// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "discover.h"
#include "procmaps.h"
#include "util.h"

void discover__free(struct alloc_objects *objs)
{
	for (size_t i = 0; i < objs->n; i++) {
		free(objs->v[i].path);
		free(objs->v[i].attach_path);
		free(objs->v[i].syms);
	}
	free(objs->v);
	objs->v = NULL;
	objs->n = 0;
	for (size_t i = 0; i < objs->nothers; i++)
		free(objs->others[i]);
	free(objs->others);
	objs->others = NULL;
	objs->nothers = 0;
}

static bool known(const struct alloc_objects *objs, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < objs->n; i++)
		if (objs->v[i].dev == dev && objs->v[i].ino == ino)
			return true;
	return false;
}

/* --symbol-prefix, for the scans of this discovery (one at a time) */
static const char *symbol_prefix;
/* discover_opts.skip and .seen, likewise */
static const struct alloc_objects *skip_objs;
static struct discover_seen *seen_files;

void discover__free_seen(struct discover_seen *seen)
{
	free(seen->v);
	*seen = (struct discover_seen){ 0 };
}

/* Whether (dev, ino) was scanned before; if not, it is now noted as scanned. */
static bool seen_before(struct discover_seen *seen, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < seen->n; i++)
		if (seen->v[i].dev == dev && seen->v[i].ino == ino)
			return true;
	if (seen->n == seen->cap) {
		seen->cap = seen->cap ? seen->cap * 2 : 64;
		seen->v = xrealloc(seen->v, seen->cap * sizeof(*seen->v));
	}
	seen->v[seen->n].dev = dev;
	seen->v[seen->n++].ino = ino;
	return false;
}

/* Scans the object open at fd; keeps it when it defines allocator symbols. */
static int add_object(struct alloc_objects *objs, int fd, const char *path,
		      const char *attach_path)
{
	struct alloc_object o = { 0 };
	struct stat st;
	int err;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || known(objs, st.st_dev, st.st_ino) ||
	    (skip_objs && known(skip_objs, st.st_dev, st.st_ino)) ||
	    (seen_files && seen_before(seen_files, st.st_dev, st.st_ino)))
		return 0;
	err = alloc_syms__scan_prefixed(fd, symbol_prefix, &o.syms, &o.nsyms);
	if (err) {
		ms_info(2, "skipping '%s': %s", path, strerror(-err));
		return 0;
	}
	o.nannotations = discover__count_usdt(fd, "memscope");
	if (o.nsyms)
		o.kind = alloc_syms__kind(fd);
	o.dev = st.st_dev;
	o.ino = st.st_ino;
	if (!o.nsyms) {
		free(o.syms);
		/* remember it so it is not scanned again */
		o.syms = NULL;
	}
	o.path = xstrdup(path);
	o.attach_path = xstrdup(attach_path);
	objs->v = xrealloc(objs->v, (objs->n + 1) * sizeof(*objs->v));
	objs->v[objs->n++] = o;
	ms_info(2, "'%s': %zu allocator entry points, %zu annotation sites", path, o.nsyms,
		o.nannotations);
	return 0;
}

static bool defines_malloc(const struct alloc_object *o)
{
	for (size_t i = 0; i < o->nsyms; i++)
		if (o->syms[i].fn == MS_FN_MALLOC)
			return true;
	return false;
}

/* objs->used and objs->mixed_fns, once the objects are known. */
static void find_used(struct alloc_objects *objs)
{
	objs->used = -1;
	objs->mixed_fns = 0;
	for (size_t i = 0; i < objs->n; i++) {
		const struct alloc_object *o = &objs->v[i];

		objs->mixed_fns |= alloc_syms__mixed_families(o->syms, o->nsyms);
		if (!defines_malloc(o))
			continue;
		if (objs->used < 0 ||
		    (objs->v[objs->used].kind && !strcmp(objs->v[objs->used].kind, "glibc") &&
		     !(o->kind && !strcmp(o->kind, "glibc"))))
			objs->used = (ssize_t)i;
	}
}

const char *discover__allocator(const struct alloc_objects *objs)
{
	if (objs->used < 0 || (size_t)objs->used >= objs->n)
		return NULL;
	return objs->v[objs->used].kind ? objs->v[objs->used].kind : "unknown";
}

static void drop_empty(struct alloc_objects *objs)
{
	size_t j = 0;

	for (size_t i = 0; i < objs->n; i++) {
		if (objs->v[i].nsyms || objs->v[i].nannotations) {
			objs->v[j++] = objs->v[i];
		} else {
			objs->others = xrealloc(objs->others,
						(objs->nothers + 1) * sizeof(*objs->others));
			objs->others[objs->nothers++] = objs->v[i].path;
			free(objs->v[i].attach_path);
		}
	}
	objs->n = j;
	find_used(objs);
}

/* Counts the notes of one SHT_NOTE section owned by "stapsdt" for provider. */
static size_t count_section_notes(Elf_Data *data, const char *provider)
{
	size_t off = 0, name_off, desc_off, count = 0;
	size_t plen = strlen(provider);
	GElf_Nhdr nh;

	while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *name = (const char *)data->d_buf + name_off;
		const char *desc = (const char *)data->d_buf + desc_off;

		/* desc: pc, base, semaphore (3 addresses), then "provider\0name\0args\0" */
		if (nh.n_type != 3 || nh.n_namesz != 8 || memcmp(name, "stapsdt", 8) != 0 ||
		    nh.n_descsz < 24 + plen + 1)
			continue;
		if (memcmp(desc + 24, provider, plen + 1) == 0)
			count++;
	}
	return count;
}

size_t discover__count_usdt(int fd, const char *provider)
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx, count = 0;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx)) {
		elf_end(elf);
		return 0;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".note.stapsdt") != 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (data && data->d_buf)
			count += count_section_notes(data, provider);
	}
	elf_end(elf);
	return count;
}

/* The path through which the kernel can find the object the target maps. */
static char *attach_path_for(const struct procmaps *pm, const struct procmap *m, int fd)
{
	char buf[PATH_MAX + 64];
	struct stat a, b;

	/* the root's path unless it names another file (overlayfs, an upgrade) */
	procmaps__root_path(pm, m, buf, sizeof(buf));
	if (stat(buf, &a) == 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return xstrdup(buf);
	procmaps__map_files_path(pm, m, buf, sizeof(buf));
	return xstrdup(buf);
}

static void scan_mapping(struct alloc_objects *objs, const struct procmaps *pm,
			 const struct procmap *m)
{
	char *attach;
	int fd;

	if (m->perms[2] != 'x')
		return;
	fd = procmaps__open(pm, m, 0);
	if (fd < 0) {
		ms_info(1, "cannot open '%s' through map_files: %s", m->path, strerror(-fd));
		return;
	}
	attach = attach_path_for(pm, m, fd);
	add_object(objs, fd, m->path, attach);
	free(attach);
	close(fd);
}

static int add_allocator_libs(struct alloc_objects *objs, const struct discover_opts *opts);

int discover__pid(int pid, struct alloc_objects *out)
{
	return discover__pid_opts(pid, NULL, out);
}

int discover__pid_opts(int pid, const struct discover_opts *opts, struct alloc_objects *out)
{
	struct procmap *maps = NULL;
	struct procmaps *pm;
	ssize_t n;
	int err = 0;

	memset(out, 0, sizeof(*out));
	pm = procmaps__new(pid);
	n = pm ? procmaps__read(pm, &maps) : (errno == ENOENT ? -ESRCH : -errno);
	if (n < 0) {
		err = (int)n;
		/* gone between the pid check and here: the race the session names so */
		if (opts && opts->quiet)
			;
		else if (err == -ESRCH)
			ms_err("target '%d' exited during attach", pid);
		else
			ms_err("cannot read '/proc/%d/maps': %s", pid, strerror(-err));
		goto cleanup;
	}
	symbol_prefix = opts ? opts->symbol_prefix : NULL;
	skip_objs = opts ? opts->skip : NULL;
	seen_files = opts ? opts->seen : NULL;
	for (ssize_t i = 0; i < n; i++)
		scan_mapping(out, pm, &maps[i]);
	skip_objs = NULL;
	seen_files = NULL;
	err = add_allocator_libs(out, opts);
	drop_empty(out);
cleanup:
	free(maps);
	procmaps__free(pm);
	return err;
}

int discover__parse_ldso_list(const char *text, char ***paths, size_t *n)
{
	const char *p = text;

	while (*p) {
		const char *eol = strchr(p, '\n'), *arrow, *s;
		size_t len;

		if (!eol)
			eol = p + strlen(p);
		arrow = memmem(p, eol - p, "=> ", 3);
		s = arrow ? arrow + 3 : p;
		while (s < eol && (*s == ' ' || *s == '\t'))
			s++;
		if (s < eol && *s == '/') {
			const char *paren = memmem(s, eol - s, " (0x", 4);

			len = (paren ? paren : eol) - s;
			while (len && s[len - 1] == ' ')
				len--;
			*paths = xrealloc(*paths, (*n + 1) * sizeof(**paths));
			(*paths)[(*n)++] = strndup(s, len);
		}
		p = *eol ? eol + 1 : eol;
	}
	return 0;
}

/* The PT_INTERP of an ELF executable into buf; "" for a static one. */
static int elf_interp(const char *exe, char *buf, size_t len)
{
	int fd = open(exe, O_RDONLY | O_CLOEXEC), err = -ENOEXEC;
	Elf *elf = NULL;
	size_t nph, i;

	buf[0] = 0;
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph))
		goto cleanup;
	err = 0;
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz == 0 || ph.p_filesz >= len ||
		    pread(fd, buf, ph.p_filesz, ph.p_offset) != (ssize_t)ph.p_filesz) {
			err = -ENOEXEC;
			buf[0] = 0;
			break;
		}
		buf[ph.p_filesz] = 0;
		break;
	}
cleanup:
	elf_end(elf);
	close(fd);
	return err;
}

/* The interpreter named by a "#!" line, or 0 when exe is not a script. */
static int script_interp(const char *exe, char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen(exe, "re");
	size_t n;

	buf[0] = 0;
	if (!f)
		return -errno;
	if (fgets(line, sizeof(line), f) && line[0] == '#' && line[1] == '!') {
		char *s = line + 2;

		s += strspn(s, " \t");
		n = strcspn(s, " \t\n");
		if (n && n < len)
			snprintf(buf, len, "%.*s", (int)n, s);
	}
	fclose(f);
	return 0;
}

/* Runs `interp --list exe` (in envp, when not NULL) and returns its output (malloc'ed) or NULL. */
static char *run_ldso_list(const char *interp, const char *exe, char *const envp[])
{
	int fds[2], st;
	size_t len = 0, cap = 4096;
	char *out;
	pid_t pid;
	ssize_t r;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return NULL;
	pid = fork();
	if (pid < 0) {
		close(fds[0]), close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(fds[1], 1);
		if (null >= 0)
			dup2(null, 0), dup2(null, 2);
		if (envp)
			execle(interp, interp, "--list", exe, (char *)NULL, envp);
		else
			execl(interp, interp, "--list", exe, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	out = xmalloc(cap);
	while ((r = read(fds[0], out + len, cap - len - 1)) > 0 || (r < 0 && errno == EINTR)) {
		if (r < 0)
			continue;
		len += r;
		if (cap - len < 2)
			out = xrealloc(out, cap *= 2);
	}
	out[len] = 0;
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void add_path(struct alloc_objects *objs, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		ms_info(1, "cannot open '%s': %s", path, strerror(errno));
		return;
	}
	add_object(objs, fd, path, path);
	close(fd);
}

static void add_loader_list(struct alloc_objects *objs, const char *interp, const char *exe,
			    char *const envp[])
{
	char *text = run_ldso_list(interp, exe, envp), **paths = NULL;
	size_t n = 0, i;

	if (!text) {
		ms_warn("'%s --list %s' failed: probing only the executable and the loader",
			interp, exe);
		add_path(objs, interp);
		return;
	}
	discover__parse_ldso_list(text, &paths, &n);
	for (i = 0; i < n; i++) {
		add_path(objs, paths[i]);
		free(paths[i]);
	}
	free(paths);
	free(text);
}

/*
 * --allocator-lib: each path probed as the target's (by its inode: the
 * kernel places the breakpoints when the target maps it, dlopen too).
 */
static int add_allocator_libs(struct alloc_objects *objs, const struct discover_opts *opts)
{
	for (size_t i = 0; opts && i < opts->nallocator_libs; i++) {
		const char *path = opts->allocator_libs[i];
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		size_t before = objs->n;
		struct stat st;

		if (fd < 0) {
			ms_err("cannot open '%s' (--allocator-lib): %s", path, strerror(errno));
			return -errno;
		}
		if (fstat(fd, &st) == 0 && known(objs, st.st_dev, st.st_ino)) {
			close(fd);
			continue;
		}
		add_object(objs, fd, path, path);
		close(fd);
		if (objs->n == before || !objs->v[before].nsyms) {
			ms_err("'%s' (--allocator-lib) defines no allocator function%s%s%s", path,
			       opts->symbol_prefix ? " (with the prefix '" : "",
			       opts->symbol_prefix ? opts->symbol_prefix : "",
			       opts->symbol_prefix ? "')" : "");
			return -ENOENT;
		}
	}
	return 0;
}

int discover__program(const char *exe, struct alloc_objects *out)
{
	return discover__program_opts(exe, NULL, out);
}

int discover__program_opts(const char *exe, const struct discover_opts *opts,
			   struct alloc_objects *out)
{
	char interp[PATH_MAX], script[PATH_MAX];
	int err;

	memset(out, 0, sizeof(*out));
	script_interp(exe, script, sizeof(script));
	if (script[0]) {
		ms_info(1, "'%s' is a script run by '%s'", exe, script);
		exe = script;
	}
	err = elf_interp(exe, interp, sizeof(interp));
	if (err) {
		ms_err("cannot run '%s': not an ELF executable or a script (%s)", exe,
		       strerror(-err));
		return err;
	}
	symbol_prefix = opts ? opts->symbol_prefix : NULL;
	add_path(out, exe);
	if (interp[0])
		add_loader_list(out, interp, exe, opts ? opts->envp : NULL);
	err = add_allocator_libs(out, opts);
	drop_empty(out);
	return err;
}

/*
 * --all: each object is attached through the path of the first process
 * found mapping it (/proc/PID/root/...), which is gone with that process.
 * Our own path to the same file is used where there is one; an object
 * that can no longer be reached is dropped (its process exited meanwhile).
 */
static void stable_attach_paths(struct alloc_objects *objs)
{
	size_t j = 0;

	for (size_t i = 0; i < objs->n; i++) {
		struct alloc_object *o = &objs->v[i];
		struct stat st;

		if (stat(o->path, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino) {
			free(o->attach_path);
			o->attach_path = xstrdup(o->path);
		} else if (stat(o->attach_path, &st) < 0 || st.st_dev != o->dev ||
			   st.st_ino != o->ino) {
			ms_info(1, "'%s': its process is gone, not probed", o->path);
			free(o->path);
			free(o->attach_path);
			free(o->syms);
			continue;
		}
		objs->v[j++] = *o;
	}
	objs->n = j;
	find_used(objs);
}

int discover__all(int skip_pid, const struct discover_opts *opts, struct alloc_objects *out,
		  size_t *nprocs)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	int err;

	memset(out, 0, sizeof(*out));
	*nprocs = 0;
	if (!d) {
		err = -errno;
		ms_err("cannot read '/proc': %s", strerror(-err));
		return err;
	}
	symbol_prefix = opts ? opts->symbol_prefix : NULL;
	while ((de = readdir(d))) {
		struct procmap *maps = NULL;
		struct procmaps *pm;
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		ssize_t n;

		if (*end || pid <= 0 || pid == skip_pid)
			continue;
		/* kernel threads have no maps; a process gone meanwhile has none either */
		pm = procmaps__new((int)pid);
		n = pm ? procmaps__read(pm, &maps) : -1;
		if (n > 0)
			(*nprocs)++;
		for (ssize_t i = 0; i < n; i++)
			scan_mapping(out, pm, &maps[i]);
		free(maps);
		procmaps__free(pm);
	}
	closedir(d);
	err = add_allocator_libs(out, opts);
	drop_empty(out);
	stable_attach_paths(out);
	return err;
}
