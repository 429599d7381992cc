// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procmaps.h"
#include "util.h"

struct procmaps {
	int pid;
	int dir_fd; /* /proc/PID */
};

struct procmaps *procmaps__new(int pid)
{
	struct procmaps *p = xcalloc(1, sizeof(*p));
	char path[32];

	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	p->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dir_fd < 0) {
		int err = errno;

		free(p);
		errno = err;
		return NULL;
	}
	return p;
}

void procmaps__free(struct procmaps *p)
{
	if (!p)
		return;
	close(p->dir_fd);
	free(p);
}

/*
 * One line into m, its newline cut: 1 when it maps a file (an inode, a
 * path from '/'; a memfd's name counts), 0 when not, -EINVAL when malformed.
 * m->path points into line.
 */
static int parse_line(char *line, struct procmap *m)
{
	int pos = 0;

	memset(m, 0, sizeof(*m));
	m->path = "";
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
		   &m->start, &m->end, m->perms, &m->offset, &m->dev_major, &m->dev_minor,
		   &m->ino, &pos) < 7 || !pos)
		return -EINVAL;
	line[pos + strcspn(line + pos, "\n")] = '\0';
	m->path = line + pos;
	return m->ino && m->path[0] == '/';
}

/* The lines of text into *out: the file mappings, or every mapping when all. */
static ssize_t parse_maps(char *text, struct procmap **out, bool all)
{
	struct procmap *v = NULL, *block;
	size_t n = 0, cap = 0, bytes = 0;
	char *line = text, *next, *tail;

	for (; *line; line = next) {
		struct procmap m;

		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		int kind = parse_line(line, &m);

		if (kind < 0 || (!kind && !all))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = m;
		bytes += strlen(m.path) + 1;
	}
	/* one allocation: the array, then its paths */
	block = xmalloc(n * sizeof(*block) + bytes);
	tail = (char *)(block + n);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i].path) + 1;

		block[i] = v[i];
		block[i].path = memcpy(tail, v[i].path, len);
		tail += len;
	}
	free(v);
	*out = block;
	return (ssize_t)n;
}

ssize_t procmaps__parse(char *text, struct procmap **out)
{
	return parse_maps(text, out, false);
}

ssize_t procmaps__parse_all(char *text, struct procmap **out)
{
	return parse_maps(text, out, true);
}

/* The whole text of the maps into *text (the caller frees it). */
static int read_text(const struct procmaps *p, char **text)
{
	size_t len = 0, cap = 16384;
	char *buf = xmalloc(cap);
	int fd, err = 0;

	*text = NULL;
	fd = openat(p->dir_fd, "maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno == ENOENT ? -ESRCH : -errno;
		goto cleanup;
	}
	for (;;) {
		ssize_t r;

		if (cap - len < 4096) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto cleanup;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	/* a zombie's maps are empty: it is gone */
	if (!len)
		err = -ESRCH;
cleanup:
	if (fd >= 0)
		close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

static ssize_t read_maps(const struct procmaps *p, struct procmap **out, bool all)
{
	char *text;
	ssize_t n;
	int err;

	*out = NULL;
	err = read_text(p, &text);
	if (err)
		return err;
	n = parse_maps(text, out, all);
	free(text);
	return n;
}

ssize_t procmaps__read(const struct procmaps *p, struct procmap **out)
{
	return read_maps(p, out, false);
}

ssize_t procmaps__read_all(const struct procmaps *p, struct procmap **out)
{
	return read_maps(p, out, true);
}

static int check_inode(int fd, const struct procmap *m)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || st.st_ino != m->ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

int procmaps__open(const struct procmaps *p, const struct procmap *m, unsigned flags)
{
	char name[PATH_MAX + 16];
	int fd;

	snprintf(name, sizeof(name), "map_files/%" PRIx64 "-%" PRIx64, m->start, m->end);
	fd = openat(p->dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return flags & PROCMAPS_OPEN_CHECK_INODE ? check_inode(fd, m) : fd;
	if (!(flags & PROCMAPS_OPEN_ROOT))
		return -errno;
	snprintf(name, sizeof(name), "root%s", m->path);
	fd = openat(p->dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return check_inode(fd, m);
}

void procmaps__map_files_path(const struct procmaps *p, const struct procmap *m, char *buf,
			      size_t len)
{
	snprintf(buf, len, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, p->pid, m->start, m->end);
}

void procmaps__root_path(const struct procmaps *p, const struct procmap *m, char *buf,
			 size_t len)
{
	snprintf(buf, len, "/proc/%d/root%s", p->pid, m->path);
}
