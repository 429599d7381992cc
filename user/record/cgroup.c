// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "cgroup.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* The kernfs node id: the 8 bytes of the directory's file handle (Linux 4.18). */
static int handle_id(const char *path, uint64_t *id)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[64];
	} h = { .fh.handle_bytes = 64 };
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0)
		return -errno;
	if (h.fh.handle_bytes != sizeof(*id))
		return -EINVAL;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

int cgroup__resolve(const char *path, uint64_t *id, uint32_t *level)
{
	char real[PATH_MAX], *slash;
	struct statfs sf;
	struct stat st, up;
	int err;

	if (!realpath(path, real) || stat(real, &st) < 0) {
		err = -errno;
		ms_err("cannot use --cgroup '%s': %s", path, strerror(-err));
		return err;
	}
	if (!S_ISDIR(st.st_mode) || statfs(real, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC) {
		ms_err("cannot use --cgroup '%s': not a cgroup v2 directory", path);
		return -ENOTDIR;
	}
	/* the inode number is the node id too on 64-bit kernels: the fallback */
	if (handle_id(real, id))
		*id = (uint64_t)st.st_ino;
	/* its depth: the parents on the same file system, the root excluded */
	*level = 0;
	while ((slash = strrchr(real, '/')) && slash != real) {
		*slash = 0;
		if (stat(real, &up) < 0 || up.st_dev != st.st_dev)
			break;
		(*level)++;
	}
	return 0;
}
