/* SPDX-License-Identifier: MIT */
/*
 * --cgroup PATH: the cgroup v2 directory's id and depth, as BPF's
 * bpf_get_current_ancestor_cgroup_id(level) names a task's ancestors.
 */
#ifndef MS_CGROUP_H
#define MS_CGROUP_H

#include <stdint.h>

/*
 * The id of the cgroup v2 directory path (its file handle, which is the
 * kernfs node id; its inode number where the handle cannot be had) and its
 * level: how many directories below the hierarchy's root it is (the root
 * is 0).  0, or a negative errno with one line printed (not a directory,
 * not on a cgroup v2 file system).  The level counts from the root this
 * process sees: one inside a cgroup namespace sees another root than BPF.
 */
int cgroup__resolve(const char *path, uint64_t *id, uint32_t *level);

#endif
