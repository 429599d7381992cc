// SPDX-License-Identifier: MIT
#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "debuginfo.h"
#include "util.h"

#define DEFAULT_PATH ":.debug:/usr/lib/debug"
#define DEFAULT_BUDGET_NS (10ull * 1000 * 1000 * 1000)
#define DEFAULT_THREADS 4
#define MAX_THREADS 16
#define BUILD_ID_MAX 64

/*
 * elfutils' client, loaded with dlopen (the loader runs without it), once
 * per process and never closed: libcurl's global state lives in its
 * libraries, and unloading them would strand it.
 */
struct client_lib {
	void *so;
	__typeof__(debuginfod_begin) *begin;
	__typeof__(debuginfod_end) *end;
	__typeof__(debuginfod_find_debuginfo) *find_debuginfo;
	__typeof__(debuginfod_set_progressfn) *set_progressfn;
	__typeof__(debuginfod_set_user_data) *set_user_data;
	__typeof__(debuginfod_get_user_data) *get_user_data;
};

enum job_state { JOB_PENDING, JOB_RUNNING, JOB_DONE };

/* One server lookup, by build id. */
struct job {
	unsigned char id[BUILD_ID_MAX];
	size_t len;
	enum job_state state;
	int fd;     /* when done: the file (callers get a dup), or negative errno */
	char *path;
};

struct debuginfo {
	char **dirs;       /* the path's elements, '+'/'-' prefixes dropped */
	size_t ndirs;
	bool network;
	uint64_t budget_ns; /* what is left of the waiting budget */
	uint64_t waited_ns;

	bool lib_said; /* a missing client library is said once */
	int nthreads;
	pthread_t threads[MAX_THREADS];
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a job was queued, finished, or cancel set */
	struct job *jobs;
	size_t njobs, cap_jobs;
	bool cancel; /* stop: lookups running are aborted */
};

static void split_path(struct debuginfo *d, const char *path)
{
	const char *p = path;

	for (;;) {
		size_t n = strcspn(p, ":");
		char *e;

		if (*p == '+' || *p == '-') {
			p++;
			n = n ? n - 1 : 0;
		}
		e = xmalloc(n + 1);
		memcpy(e, p, n);
		e[n] = '\0';
		d->dirs = xrealloc(d->dirs, (d->ndirs + 1) * sizeof(*d->dirs));
		d->dirs[d->ndirs++] = e;
		if (p[n] != ':')
			break;
		p += n + 1;
	}
}

static uint64_t opts_budget(const struct debuginfo_opts *o)
{
	const char *t = getenv(DEBUGINFOD_TIMEOUT_ENV_VAR);
	char *end;
	long v;

	if (o && o->budget_ns)
		return o->budget_ns;
	if (t && *t) {
		v = strtol(t, &end, 10);
		if (*end == '\0' && v > 0 && v < 24 * 3600)
			return (uint64_t)v * 1000000000ull;
	}
	return DEFAULT_BUDGET_NS;
}

struct debuginfo *debuginfo__new(const struct debuginfo_opts *opts)
{
	struct debuginfo *d = xcalloc(1, sizeof(*d));
	const char *urls = getenv(DEBUGINFOD_URLS_ENV_VAR);
	pthread_condattr_t ca;

	split_path(d, opts && opts->path ? opts->path : DEFAULT_PATH);
	d->network = opts && opts->network && urls && *urls;
	d->budget_ns = opts_budget(opts);
	d->nthreads = opts && opts->threads > 0 ? opts->threads : DEFAULT_THREADS;
	if (d->nthreads > MAX_THREADS)
		d->nthreads = MAX_THREADS;
	pthread_mutex_init(&d->lock, NULL);
	/* waits are bounded in monotonic time: a clock step must not stretch them */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	return d;
}

void debuginfo__free(struct debuginfo *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	__atomic_store_n(&d->cancel, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	for (int i = 0; i < d->started; i++)
		pthread_join(d->threads[i], NULL);
	for (size_t i = 0; i < d->njobs; i++) {
		if (d->jobs[i].fd >= 0)
			close(d->jobs[i].fd);
		free(d->jobs[i].path);
	}
	free(d->jobs);
	for (size_t i = 0; i < d->ndirs; i++)
		free(d->dirs[i]);
	free(d->dirs);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

bool debuginfo__network(const struct debuginfo *d)
{
	return d && d->network;
}

/* ---- local files ---- */

/* Opens a regular file, never blocking on a FIFO or device that a hostile path names. */
static int open_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode))) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool fd_has_build_id(int fd, const unsigned char *id, size_t len)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	const void *got;
	ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &got) : -1;
	bool same = n > 0 && (size_t)n == len && memcmp(got, id, len) == 0;

	elf_end(elf);
	return same;
}

/* GNU debuglink's CRC is zlib's CRC-32 of the whole file. */
static bool fd_has_crc(int fd, uint32_t want)
{
	unsigned char buf[65536];
	uLong crc = crc32(0, NULL, 0);
	ssize_t n;
	off_t off = 0;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		crc = crc32(crc, buf, (uInt)n);
		off += n;
	}
	return n == 0 && (uint32_t)crc == want;
}

/* fd of path when it is the debug file q asks for; else -1 */
static int open_candidate(const struct debuginfo_query *q, const char *path, bool by_crc)
{
	int fd = open_regular(path);
	bool ok;

	if (fd < 0)
		return -1;
	if (q->build_id_len)
		ok = fd_has_build_id(fd, q->build_id, q->build_id_len);
	else
		ok = !by_crc || fd_has_crc(fd, q->debuglink_crc);
	if (!ok) {
		ms_info(1, "'%s' is not the debug file of '%s'", path, q->path);
		close(fd);
		return -1;
	}
	return fd;
}

static int find_by_build_id(struct debuginfo *d, const struct debuginfo_query *q, char **path)
{
	char hex[2 * BUILD_ID_MAX + 1], file[PATH_MAX];

	if (!q->build_id_len || q->build_id_len > BUILD_ID_MAX || q->build_id_len < 2)
		return -ENOENT;
	for (size_t i = 0; i < q->build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", q->build_id[i]);
	for (size_t i = 0; i < d->ndirs; i++) {
		int fd;

		if (d->dirs[i][0] != '/')
			continue;
		if (snprintf(file, sizeof(file), "%s/.build-id/%.2s/%s.debug", d->dirs[i], hex,
			     hex + 2) >= (int)sizeof(file))
			continue;
		fd = open_candidate(q, file, false);
		if (fd >= 0) {
			*path = xstrdup(file);
			return fd;
		}
	}
	return -ENOENT;
}

/*
 * gdb's and libdwfl's places for a debuglink name N of /a/b/obj: /a/b/N,
 * /a/b/.debug/N (relative elements are under the object's directory), and
 * DIR/a/b/N for each absolute DIR.
 */
static int find_by_debuglink(struct debuginfo *d, const struct debuginfo_query *q, char **path)
{
	char objdir[PATH_MAX], file[PATH_MAX];
	const char *slash;

	if (!q->debuglink || !*q->debuglink || strchr(q->debuglink, '/') || !q->path)
		return -ENOENT;
	slash = strrchr(q->path, '/');
	snprintf(objdir, sizeof(objdir), "%.*s", slash ? (int)(slash - q->path) : 1,
		 slash ? q->path : ".");
	for (size_t i = 0; i < d->ndirs; i++) {
		const char *e = d->dirs[i];
		int n, fd;

		if (!*e)
			n = snprintf(file, sizeof(file), "%s/%s", objdir, q->debuglink);
		else if (*e != '/')
			n = snprintf(file, sizeof(file), "%s/%s/%s", objdir, e, q->debuglink);
		else
			n = snprintf(file, sizeof(file), "%s%s/%s", e, objdir, q->debuglink);
		if (n >= (int)sizeof(file) || !strcmp(file, q->path))
			continue;
		fd = open_candidate(q, file, true);
		if (fd >= 0) {
			*path = xstrdup(file);
			return fd;
		}
	}
	return -ENOENT;
}

int debuginfo__find_local(struct debuginfo *d, const struct debuginfo_query *q, char **path,
			  enum debuginfo_source *src)
{
	int fd = find_by_build_id(d, q, path);

	*src = DEBUGINFO_BUILD_ID;
	if (fd < 0) {
		fd = find_by_debuglink(d, q, path);
		*src = DEBUGINFO_DEBUGLINK;
	}
	if (fd < 0) {
		*path = NULL;
		*src = DEBUGINFO_NONE;
	}
	return fd;
}

/* ---- debuginfod ---- */

static struct client_lib lib;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

/*
 * The static build loads nothing: a shared library in a static binary would
 * bring a second C library of whatever version the host has (main() drops
 * DEBUGINFOD_URLS there, saying so, and nothing gets here).
 */
#ifdef MEMSCOPE_STATIC
static void lib_load_once(void)
{
}

/*
 * libdw asks for its own debuginfod client when an object's file is not
 * found locally (dwfl_build_id_find_elf): the static build is linked with
 * --wrap=dlopen (Makefile), and this refuses, so no dlopen is linked in.
 */
void *__wrap_dlopen(const char *file, int mode);
void *__wrap_dlopen(const char *file, int mode)
{
	(void)file;
	(void)mode;
	return NULL;
}
#else
static void lib_load_once(void)
{
	void *so = dlopen(DEBUGINFOD_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!so)
		return;
	lib.begin = (__typeof__(lib.begin))dlsym(so, "debuginfod_begin");
	lib.end = (__typeof__(lib.end))dlsym(so, "debuginfod_end");
	lib.find_debuginfo = (__typeof__(lib.find_debuginfo))dlsym(so, "debuginfod_find_debuginfo");
	lib.set_progressfn = (__typeof__(lib.set_progressfn))dlsym(so, "debuginfod_set_progressfn");
	lib.set_user_data = (__typeof__(lib.set_user_data))dlsym(so, "debuginfod_set_user_data");
	lib.get_user_data = (__typeof__(lib.get_user_data))dlsym(so, "debuginfod_get_user_data");
	if (lib.begin && lib.end && lib.find_debuginfo && lib.set_progressfn && lib.set_user_data &&
	    lib.get_user_data)
		lib.so = so;
	else
		dlclose(so);
}
#endif

static bool lib_load(struct debuginfo *d)
{
	pthread_once(&lib_once, lib_load_once);
	if (!lib.so && !d->lib_said)
		ms_info(1, "cannot load '%s': debuginfod is not asked", DEBUGINFOD_SONAME);
	d->lib_said = true;
	return lib.so != NULL;
}

/*
 * Called by the client while it waits on the network (about once a second,
 * libdebuginfod 0.188): non-zero aborts the transfer.
 */
static int progress(debuginfod_client *c, long a, long b)
{
	struct debuginfo *d = lib.get_user_data(c);

	(void)a;
	(void)b;
	return __atomic_load_n(&d->cancel, __ATOMIC_RELAXED);
}

/* The next pending job, marked running; NULL when cancelled. */
static struct job *job_take(struct debuginfo *d, size_t *idx)
{
	struct job *j = NULL;

	pthread_mutex_lock(&d->lock);
	while (!d->cancel && !j) {
		for (size_t i = 0; i < d->njobs && !j; i++) {
			if (d->jobs[i].state == JOB_PENDING) {
				j = &d->jobs[i];
				*idx = i;
			}
		}
		if (!j)
			pthread_cond_wait(&d->cond, &d->lock);
	}
	if (j)
		j->state = JOB_RUNNING;
	pthread_mutex_unlock(&d->lock);
	return j;
}

/* A server lookup thread: one client each (a client is not shared between threads). */
static void *worker(void *arg)
{
	struct debuginfo *d = arg;
	debuginfod_client *c = lib.begin();
	size_t idx;

	if (c) {
		lib.set_user_data(c, d);
		lib.set_progressfn(c, progress);
	}
	while (job_take(d, &idx)) {
		unsigned char id[BUILD_ID_MAX];
		char *path = NULL;
		size_t len;
		int fd;

		/* jobs may move as the array grows: copy the id out, write back by index */
		pthread_mutex_lock(&d->lock);
		len = d->jobs[idx].len;
		memcpy(id, d->jobs[idx].id, len);
		pthread_mutex_unlock(&d->lock);
		fd = c ? lib.find_debuginfo(c, id, (int)len, &path) : -ENOMEM;
		pthread_mutex_lock(&d->lock);
		d->jobs[idx].fd = fd;
		d->jobs[idx].path = fd >= 0 ? path : NULL;
		d->jobs[idx].state = JOB_DONE;
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
		if (fd < 0)
			free(path);
	}
	if (c)
		lib.end(c);
	return NULL;
}

/* Index of the job for id, queued when new.  Called with the lock held. */
static size_t job_get(struct debuginfo *d, const unsigned char *id, size_t len)
{
	for (size_t i = 0; i < d->njobs; i++)
		if (d->jobs[i].len == len && !memcmp(d->jobs[i].id, id, len))
			return i;
	if (d->njobs == d->cap_jobs) {
		d->cap_jobs = d->cap_jobs ? d->cap_jobs * 2 : 16;
		d->jobs = xrealloc(d->jobs, d->cap_jobs * sizeof(*d->jobs));
	}
	d->jobs[d->njobs] = (struct job){ .len = len, .state = JOB_PENDING, .fd = -1 };
	memcpy(d->jobs[d->njobs].id, id, len);
	pthread_cond_broadcast(&d->cond);
	return d->njobs++;
}

/* Starts one more thread while there are fewer than jobs and the limit allows. */
static void threads_grow(struct debuginfo *d)
{
	if (d->started >= d->nthreads || (size_t)d->started >= d->njobs)
		return;
	if (pthread_create(&d->threads[d->started], NULL, worker, d) == 0)
		d->started++;
	else if (!d->started)
		ms_warn("cannot start a debuginfod lookup thread: %s", strerror(errno));
}

static bool can_ask(struct debuginfo *d, size_t len, enum debuginfo_miss *miss)
{
	*miss = DEBUGINFO_MISS_NONE;
	if (!d->network)
		*miss = DEBUGINFO_MISS_OFF;
	else if (!len || len > BUILD_ID_MAX)
		*miss = DEBUGINFO_MISS_NO_BUILD_ID;
	else if (!lib_load(d))
		*miss = DEBUGINFO_MISS_NO_CLIENT;
	return *miss == DEBUGINFO_MISS_NONE;
}

void debuginfo__prefetch(struct debuginfo *d, const unsigned char *id, size_t len)
{
	enum debuginfo_miss miss;

	if (!d || !can_ask(d, len, &miss))
		return;
	pthread_mutex_lock(&d->lock);
	job_get(d, id, len);
	threads_grow(d);
	pthread_mutex_unlock(&d->lock);
}

bool debuginfo__pending(struct debuginfo *d, const unsigned char *id, size_t len)
{
	bool pending = false;

	if (!d || !d->network || !len || len > BUILD_ID_MAX)
		return false;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->njobs && !pending; i++)
		pending = d->jobs[i].len == len && !memcmp(d->jobs[i].id, id, len) &&
			  d->jobs[i].state != JOB_DONE && !d->cancel;
	pthread_mutex_unlock(&d->lock);
	return pending;
}

static enum debuginfo_miss miss_of(int err)
{
	switch (-err) {
	case ENOENT:
		return DEBUGINFO_MISS_NOT_FOUND;
	case ETIME:
	case ETIMEDOUT:
	case ECONNABORTED:
		return DEBUGINFO_MISS_TIMEOUT;
	default:
		return DEBUGINFO_MISS_UNREACHABLE;
	}
}

static void deadline_after(struct timespec *ts, uint64_t ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ns / 1000000000ull);
	ts->tv_nsec += (long)(ns % 1000000000ull);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits for job idx within the budget left, which it uses up.  Called with the lock held. */
static void job_wait(struct debuginfo *d, size_t idx)
{
	uint64_t t0 = ms_now_ns(), spent;
	struct timespec until;

	if (d->jobs[idx].state == JOB_DONE || !d->budget_ns)
		return;
	deadline_after(&until, d->budget_ns);
	while (d->jobs[idx].state != JOB_DONE)
		if (pthread_cond_timedwait(&d->cond, &d->lock, &until) == ETIMEDOUT)
			break;
	spent = ms_now_ns() - t0;
	d->waited_ns += spent;
	d->budget_ns = spent >= d->budget_ns ? 0 : d->budget_ns - spent;
	if (!d->budget_ns) {
		/* nothing more will be waited for: stop the lookups on the network */
		ms_warn("debuginfod: no answer within the time allowed; frames without one stay "
			"unnamed");
		__atomic_store_n(&d->cancel, true, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&d->cond);
	}
}

int debuginfo__fetch(struct debuginfo *d, const unsigned char *id, size_t len, char **path,
		     enum debuginfo_miss *miss)
{
	struct job *j;
	size_t idx;
	int fd;

	*path = NULL;
	if (!d || !can_ask(d, len, miss)) {
		if (!d)
			*miss = DEBUGINFO_MISS_OFF;
		return -ENOENT;
	}
	pthread_mutex_lock(&d->lock);
	idx = job_get(d, id, len);
	threads_grow(d);
	job_wait(d, idx);
	j = &d->jobs[idx];
	if (j->state != JOB_DONE) {
		fd = -ETIME;
		*miss = DEBUGINFO_MISS_TIMEOUT;
	} else if (j->fd < 0) {
		fd = j->fd;
		*miss = miss_of(fd);
	} else {
		/* one server answer may serve two objects: copies of one file, dwz's shared file */
		fd = fcntl(j->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			fd = -errno;
			*miss = DEBUGINFO_MISS_UNREACHABLE;
		} else {
			*path = xstrdup(j->path);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return fd;
}

uint64_t debuginfo__waited_ns(const struct debuginfo *d)
{
	return d ? d->waited_ns : 0;
}

const char *debuginfo__miss_str(enum debuginfo_miss m)
{
	switch (m) {
	case DEBUGINFO_MISS_NONE:
		return "";
	case DEBUGINFO_MISS_OFF:
		return "debuginfod not asked";
	case DEBUGINFO_MISS_NO_CLIENT:
		return "debuginfod client library not installed";
	case DEBUGINFO_MISS_NO_BUILD_ID:
		return "no build id to ask debuginfod for";
	case DEBUGINFO_MISS_NOT_FOUND:
		return "not on the debuginfod server";
	case DEBUGINFO_MISS_UNREACHABLE:
		return "debuginfod server unreachable";
	case DEBUGINFO_MISS_TIMEOUT:
		return "debuginfod server timed out";
	}
	return "";
}

const char *debuginfo__source_str(enum debuginfo_source s)
{
	switch (s) {
	case DEBUGINFO_NONE:
		return "none";
	case DEBUGINFO_BUILD_ID:
		return "build id";
	case DEBUGINFO_DEBUGLINK:
		return "debuglink";
	case DEBUGINFO_DEBUGINFOD:
		return "debuginfod";
	}
	return "none";
}
