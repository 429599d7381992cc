// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "util.h"

/* "-", /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N: the fd, else -1 */
static int named_fd(const char *path)
{
	const char *n = NULL;
	char *end;
	long v;

	if (!strcmp(path, "-") || !strcmp(path, "/dev/stdout"))
		return 1;
	if (!strcmp(path, "/dev/stderr"))
		return 2;
	if (!strncmp(path, "/dev/fd/", 8))
		n = path + 8;
	else if (!strncmp(path, "/proc/self/fd/", 14))
		n = path + 14;
	if (!n || *n < '0' || *n > '9')
		return -1;
	errno = 0;
	v = strtol(n, &end, 10);
	return errno || *end || v > INT_MAX ? -1 : (int)v;
}

struct output_plan output__plan(const char *path, const struct stat *st)
{
	struct output_plan p = { .how = OUTPUT_REFUSE, .fd = -1 };
	size_t n = strlen(path);

	p.fd = named_fd(path);
	if (p.fd >= 0) {
		p.how = OUTPUT_FD;
		return p;
	}
	if (!n || path[n - 1] == '/') {
		p.why = "not a file name";
		return p;
	}
	if (!st || S_ISREG(st->st_mode))
		p.how = OUTPUT_REPLACE;
	else if (S_ISCHR(st->st_mode) || S_ISFIFO(st->st_mode))
		p.how = OUTPUT_STREAM;
	else if (S_ISDIR(st->st_mode))
		p.err = EISDIR;
	/* a link planted in a shared directory such as /tmp must not steer our write */
	else if (S_ISLNK(st->st_mode))
		p.why = "is a symbolic link: give the path of the file itself";
	else if (S_ISBLK(st->st_mode))
		p.why = "is a block device";
	else
		p.why = "is a socket";
	return p;
}

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
	struct output *o = c;
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(o->fd, buf + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!o->werr)
				o->werr = w < 0 ? errno : EIO;
			break;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

static int cookie_close(void *c)
{
	struct output *o = c;
	int r = close(o->fd);

	o->fd = -1;
	return r;
}

static bool use_tmpfile = true;

void output__use_tmpfile(bool on)
{
	use_tmpfile = on;
}

/*
 * An unnamed file in path's directory (O_TMPFILE): a tracer killed before
 * the report is complete leaves nothing behind.  -1 where the filesystem or
 * kernel has no O_TMPFILE.
 */
static int open_unnamed(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd;

	if (!use_tmpfile) {
		free(dir);
		return -1;
	}
	if (slash)
		slash[slash == dir] = 0; /* "/x": "/" */
	fd = open(slash ? dir : ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	free(dir);
	return fd;
}

static int open_replace(struct output *o, const char *path, const struct stat *st)
{
	size_t n = strlen(path);

	if (st && access(path, W_OK) < 0)
		return -errno;
	o->fd = open_unnamed(path);
	if (o->fd < 0) {
		o->tmp = xmalloc(n + 16);
		snprintf(o->tmp, n + 16, "%s.tmp.XXXXXX", path);
		o->fd = mkstemp(o->tmp);
	}
	if (o->fd < 0) {
		free(o->tmp);
		o->tmp = NULL;
		return -errno;
	}
	/* a replaced file keeps its mode: a report readable only by its owner stays so */
	fchmod(o->fd, st ? st->st_mode & 07777 : 0644);
	return 0;
}

/*
 * Gives the unnamed file a temporary name beside path (o->tmp), the one a
 * rename can move: linkat() cannot replace an existing file.  By the
 * descriptor (AT_EMPTY_PATH, which needs CAP_DAC_READ_SEARCH), else through
 * /proc/self/fd.
 */
static int name_unnamed(struct output *o)
{
	size_t n = strlen(o->path) + 32;
	char proc[64];
	int err;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
	o->tmp = xmalloc(n);
	for (unsigned i = 0; i < 100; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(o->tmp, n, "%s.tmp.%06lx", o->path,
			 ((unsigned long)ts.tv_nsec ^ (unsigned long)getpid() * 2654435761u ^ i) &
				 0xffffff);
		if (linkat(o->fd, "", AT_FDCWD, o->tmp, AT_EMPTY_PATH) == 0)
			return 0;
		if (errno != EEXIST &&
		    linkat(AT_FDCWD, proc, AT_FDCWD, o->tmp, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	err = -errno;
	free(o->tmp);
	o->tmp = NULL;
	return err;
}

static const char *kind_of(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "a directory";
	case S_IFLNK: return "a symbolic link";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	default: return "no regular file";
	}
}

/*
 * Moves the finished report from o->tmp to o->path, only if the path is
 * still a regular file or absent: what it became meanwhile (a symbolic
 * link, a directory, a device) is never replaced.  Then the report stays in
 * o->tmp, and the message says so.  A new path is never made to replace
 * what appeared there after this check (RENAME_NOREPLACE).
 */
static int move_into_place(struct output *o)
{
	struct stat st;

	for (int tries = 0; tries < 3; tries++) {
		if (lstat(o->path, &st) == 0) {
			if (!S_ISREG(st.st_mode)) {
				ms_err("cannot write '%s': it is now %s, left alone; the report is in '%s'",
				       o->path, kind_of(st.st_mode), o->tmp);
				o->kept = true;
				return -EEXIST;
			}
			if (rename(o->tmp, o->path) == 0)
				return 0;
		} else if (errno == ENOENT) {
			if (renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->path, RENAME_NOREPLACE) == 0)
				return 0;
			/* a filesystem without RENAME_NOREPLACE */
			if ((errno == EINVAL || errno == ENOSYS) && rename(o->tmp, o->path) == 0)
				return 0;
			if (errno == EEXIST)
				continue;
		}
		break;
	}
	return -errno;
}

/* Never creates, truncates or follows: the entry must still be what lstat saw. */
static int open_stream(struct output *o, const char *path, const struct stat *st)
{
	int flags = O_WRONLY | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC;
	struct stat now;

	o->fd = open(path, flags | O_NONBLOCK);
	if (o->fd < 0 && errno == ENXIO && S_ISFIFO(st->st_mode)) {
		ms_info(0, "waiting for a reader of '%s'", path);
		o->fd = open(path, flags);
	}
	if (o->fd < 0)
		return -errno;
	fcntl(o->fd, F_SETFL, fcntl(o->fd, F_GETFL) & ~O_NONBLOCK);
	if (fstat(o->fd, &now) < 0)
		return -errno;
	if (now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		return -EAGAIN;
	return 0;
}

int output__open(struct output *o, const char *path)
{
	cookie_io_functions_t io = { .write = cookie_write, .close = cookie_close };
	struct stat st, *stp = &st;
	struct output_plan p;
	int err = 0;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->path = xstrdup(path);
	if (lstat(path, &st) < 0)
		stp = NULL;
	p = output__plan(path, stp);
	o->how = p.how;
	switch (p.how) {
	case OUTPUT_REFUSE:
		err = p.err ? -p.err : -EINVAL;
		break;
	case OUTPUT_FD:
		o->fd = fcntl(p.fd, F_DUPFD_CLOEXEC, 3);
		err = o->fd < 0 ? -errno : 0;
		break;
	case OUTPUT_STREAM:
		err = open_stream(o, path, stp);
		break;
	case OUTPUT_REPLACE:
		err = open_replace(o, path, stp);
		break;
	}
	if (!err) {
		o->f = fopencookie(o, "w", io);
		err = o->f ? 0 : -ENOMEM;
	}
	if (err) {
		if (p.how == OUTPUT_REFUSE && p.why)
			ms_err("cannot write '%s': %s", path, p.why);
		else
			ms_err("cannot write '%s': %s", path, strerror(-err));
		output__abort(o);
	}
	return err;
}

int output__write_error(const struct output *o)
{
	return o->werr ? -o->werr : 0;
}

int output__commit(struct output *o)
{
	int err = 0;

	if (fflush(o->f) || ferror(o->f) || o->werr)
		err = -(o->werr ? o->werr : EIO);
	if (!err && o->how == OUTPUT_REPLACE && fsync(o->fd))
		err = -errno;
	if (!err && o->how == OUTPUT_REPLACE && !o->tmp)
		err = name_unnamed(o);
	if (fclose(o->f) && !err)
		err = -(o->werr ? o->werr : EIO);
	o->f = NULL;
	if (!err && o->tmp) {
		err = move_into_place(o);
		if (o->kept) {
			output__abort(o);
			return err;
		}
	}
	if (err) {
		ms_err("cannot write '%s': %s", o->path, strerror(-err));
		output__abort(o);
		return err;
	}
	free(o->tmp);
	o->tmp = NULL;
	output__abort(o);
	return 0;
}

void output__abort(struct output *o)
{
	if (o->f)
		fclose(o->f);
	else if (o->path && o->fd >= 0) /* a zeroed, never opened output has fd 0 */
		close(o->fd);
	if (o->tmp && !o->kept)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
	o->fd = -1;
}

int output__open_in_place(const char *path)
{
	struct stat st, *stp = &st;
	struct output_plan p;
	struct output o = { .fd = -1 };
	int fd = -1, err = 0;

	if (lstat(path, &st) < 0)
		stp = NULL;
	p = output__plan(path, stp);
	switch (p.how) {
	case OUTPUT_REFUSE:
		err = p.err ? -p.err : -EINVAL;
		break;
	case OUTPUT_FD:
		fd = fcntl(p.fd, F_DUPFD_CLOEXEC, 3);
		break;
	case OUTPUT_STREAM:
		err = open_stream(&o, path, stp);
		fd = o.fd;
		break;
	case OUTPUT_REPLACE:
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		break;
	}
	if (!err && fd < 0)
		err = -errno;
	if (err) {
		if (fd >= 0)
			close(fd);
		if (p.how == OUTPUT_REFUSE && p.why)
			ms_err("cannot write '%s': %s", path, p.why);
		else
			ms_err("cannot write '%s': %s", path, strerror(-err));
		return err;
	}
	return fd;
}
