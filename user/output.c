// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"
#include "util.h"

int output__open(struct output *o, const char *path)
{
	size_t n = strlen(path);
	int fd, err;

	memset(o, 0, sizeof(*o));
	if (!n || path[n - 1] == '/') {
		ms_err("cannot write '%s': not a file name", path);
		return -EINVAL;
	}
	o->path = xstrdup(path);
	o->tmp = xmalloc(n + 16);
	snprintf(o->tmp, n + 16, "%s.tmp.XXXXXX", path);
	fd = mkstemp(o->tmp);
	if (fd < 0) {
		err = -errno;
		ms_err("cannot write '%s': %s", path, strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		output__abort(o);
		return err;
	}
	fchmod(fd, 0644);
	o->f = fdopen(fd, "w");
	return 0;
}

int output__commit(struct output *o)
{
	int err = 0;

	if (fflush(o->f) || fsync(fileno(o->f)) || ferror(o->f))
		err = -errno ? -errno : -EIO;
	if (fclose(o->f) && !err)
		err = -errno;
	o->f = NULL;
	if (!err && rename(o->tmp, o->path))
		err = -errno;
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
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}
