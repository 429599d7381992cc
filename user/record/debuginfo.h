/* SPDX-License-Identifier: MIT */
/*
 * Finds the separate debug file of an object: by build id and by
 * .gnu_debuglink in the debug directories (MEMSCOPE_DEBUGINFO_PATH, else
 * ":.debug:/usr/lib/debug"), and from a debuginfod server when
 * DEBUGINFOD_URLS is set and the network is allowed.
 *
 * Server lookups run on a few threads of their own, started by
 * debuginfo__prefetch() as soon as the loader knows an object will be
 * symbolized; debuginfo__fetch() waits for one, and all waits together
 * last at most the budget (10 s, or DEBUGINFOD_TIMEOUT seconds), so a slow
 * server cannot stall the report.  elfutils' client library is loaded
 * with dlopen: without it the server is "unavailable", nothing else.
 * The client reads DEBUGINFOD_URLS, DEBUGINFOD_CACHE_PATH and
 * DEBUGINFOD_TIMEOUT itself.
 *
 * File descriptors and paths returned belong to the caller.
 */
#ifndef MS_DEBUGINFO_H
#define MS_DEBUGINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a debug file came from. */
enum debuginfo_source {
	DEBUGINFO_NONE,
	DEBUGINFO_BUILD_ID,   /* DIR/.build-id/xx/rest.debug */
	DEBUGINFO_DEBUGLINK,  /* .gnu_debuglink's name, beside the object or under DIR */
	DEBUGINFO_DEBUGINFOD, /* a debuginfod server (or its cache) */
};

/* Why a server gave no debug file. */
enum debuginfo_miss {
	DEBUGINFO_MISS_NONE,
	DEBUGINFO_MISS_OFF,         /* --no-debuginfod, or DEBUGINFOD_URLS unset */
	DEBUGINFO_MISS_NO_CLIENT,   /* libdebuginfod.so.1 not installed */
	DEBUGINFO_MISS_NO_BUILD_ID, /* the object has none: nothing to ask for */
	DEBUGINFO_MISS_NOT_FOUND,   /* every server answered: no such file */
	DEBUGINFO_MISS_UNREACHABLE, /* no server could be reached */
	DEBUGINFO_MISS_TIMEOUT,     /* no answer within the budget, or the client's timeout */
};

struct debuginfo_opts {
	size_t sz;           /* sizeof(struct debuginfo_opts) */
	const char *path;    /* debug directories, libdwfl's syntax; NULL: the default */
	bool network;        /* ask debuginfod when DEBUGINFOD_URLS is set */
	uint64_t budget_ns;  /* all waits together; 0: 10 s or DEBUGINFOD_TIMEOUT */
	int threads;         /* server lookups at once; 0: 4 */
};

/* An object whose debug file is looked for. */
struct debuginfo_query {
	const char *path;         /* the object's file, for .gnu_debuglink's directory */
	const unsigned char *build_id;
	size_t build_id_len;      /* 0 when it has none */
	const char *debuglink;    /* .gnu_debuglink's file name; NULL when none */
	uint32_t debuglink_crc;
};

struct debuginfo;

/* Never NULL (out of memory ends the loader, as everywhere); starts no thread yet. */
struct debuginfo *debuginfo__new(const struct debuginfo_opts *opts);
/* Stops the server lookups still running (they are cancelled) and frees d. */
void debuginfo__free(struct debuginfo *d);

/*
 * The debug file from the local directories: by build id first, then by
 * .gnu_debuglink (checked against the object's build id, else the CRC).
 * Returns an fd and sets *path (malloc'd) and *src, or -ENOENT.
 */
int debuginfo__find_local(struct debuginfo *d, const struct debuginfo_query *q, char **path,
			  enum debuginfo_source *src);

/* Whether a server would be asked (network allowed and DEBUGINFOD_URLS set). */
bool debuginfo__network(const struct debuginfo *d);

/* Starts the server lookup of build id in the background (once per id). */
void debuginfo__prefetch(struct debuginfo *d, const unsigned char *id, size_t len);

/* Whether the server lookup of build id was started and has not ended. */
bool debuginfo__pending(struct debuginfo *d, const unsigned char *id, size_t len);

/*
 * The server's debug file for build id, waiting for the lookup (started
 * here if need be) within what is left of the budget.  Returns an fd and
 * sets *path (malloc'd), or a negative errno and sets *miss.
 */
int debuginfo__fetch(struct debuginfo *d, const unsigned char *id, size_t len, char **path,
		     enum debuginfo_miss *miss);

/* How long debuginfo__fetch() calls waited, all together. */
uint64_t debuginfo__waited_ns(const struct debuginfo *d);

/* "server unreachable", ... for the report */
const char *debuginfo__miss_str(enum debuginfo_miss m);
const char *debuginfo__source_str(enum debuginfo_source s);

#endif
