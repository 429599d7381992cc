/* SPDX-License-Identifier: MIT */
/*
 * Turns return addresses from the target into function, file:line, module,
 * with inlined frames, using libdw.
 *
 * The symbolizer records the target's file-backed mappings and keeps each
 * mapped object open (through /proc/PID/map_files or /proc/PID/root, so a
 * target in another mount namespace or with a deleted binary works), so that
 * symbolization still works after the target exited.  Call
 * symbolizer__track() for every address while the target lives (cheap when
 * the address is in a known mapping; re-reads /proc/PID/maps otherwise), and
 * symbolizer__symbolize() whenever, even after the target exited.
 *
 * Names come from, per object and in this order: its own .symtab and
 * DWARF; a separate debug file by build id, then by .gnu_debuglink, in the
 * debug directories (MEMSCOPE_DEBUGINFO_PATH, else ":.debug:/usr/lib/debug");
 * a debuginfod server when DEBUGINFOD_URLS is set (debuginfo.h: looked up in
 * the background from the first address tracked in the object, waited for
 * within a budget); its MiniDebugInfo (.gnu_debugdata, names only); last its
 * exported symbols (.dynsym), only where a symbol's size covers the address.
 *
 * Each distinct address is resolved once and cached.  All strings returned
 * are owned by the symbolizer and live until symbolizer__free().  Names from
 * the target are untrusted: they are cut to SYM_NAME_MAX bytes, otherwise
 * returned as they are (escaping is the renderers' job).
 */
#ifndef MS_SYMBOLIZE_H
#define MS_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYM_NAME_MAX 1024
/* longer build ids (the note allows any length) are not reported */
#define SYM_BUILD_ID_MAX 64

struct sym_frame {
	uint64_t ip;            /* the return address asked about */
	const char *function;   /* demangled; NULL when unknown */
	const char *file;       /* source file; NULL when there is no line info */
	int line;               /* 0 when unknown */
	int column;             /* 0 when unknown */
	const char *module;     /* mapped object's path as in /proc/PID/maps;
				   NULL when the address is in no known mapping */
	uint64_t module_offset; /* ip - 1 as an address within the object (ELF vaddr) */
	/* the executable mapping of module holding ip - 1: [map_start, map_end),
	 * from map_offset in the file; all 0 when module is NULL */
	uint64_t map_start, map_end, map_offset;
	const char *build_id;   /* module's GNU build id in lowercase hex; NULL when none */
	bool inlined;           /* inlined into the frame that follows it */
};

struct symbolizer_opts {
	size_t sz;     /* sizeof(struct symbolizer_opts), for growing it later */
	bool demangle; /* C++ names through __cxa_demangle (default true when sz is 0) */
	bool no_symbols; /* frames are module and offset only: no debug info is read */
	bool no_debuginfod; /* never ask a debuginfod server, whatever DEBUGINFOD_URLS says */
	/*
	 * While the target is traced (the live view, the runtime's checks), wait
	 * for no server: an address in an object whose debug file is still on
	 * its way gets provisional frames, resolved again by symbolizer__unnamed(),
	 * from which on answers are waited for (within the budget).
	 */
	bool no_wait_until_report;
};

/* An object some of whose frames have no function name, and why. */
struct sym_unnamed {
	const char *module;   /* its path as the maps name it */
	const char *build_id; /* hex; NULL when it has none */
	/* "no symbols", "debug file not found", "debug file not found;
	 * debuginfod server unreachable", ... (debuginfo.h's reasons) */
	const char *reason;
	size_t addresses;     /* distinct addresses in it left without a name */
};

/* One executable file mapping of the target, as a capture keeps it. */
struct sym_mapping {
	uint64_t start, end, offset;
	const char *path;
	const char *build_id; /* hex; NULL when the file has none */
};

struct symbolizer;

/* Reads /proc/PID/maps once.  NULL with errno set on failure. */
struct symbolizer *symbolizer__new(int pid, const struct symbolizer_opts *opts);
void symbolizer__free(struct symbolizer *s);

/*
 * A symbolizer of no process: it knows the frames given to
 * symbolizer__preload() (a capture's), and any other address as unknown.
 */
struct symbolizer *symbolizer__new_offline(void);
/* The frames of one address (frames[0].ip), as symbolizer__symbolize() gave
 * them; copied.  An address already known keeps its frames. */
void symbolizer__preload(struct symbolizer *s, const struct sym_frame *frames, size_t n);

/*
 * An offline symbolizer's mapping (a capture's): addresses in it are
 * resolved from the file at its path on this machine, when that file has
 * the build id the capture saw (else they stay unnamed, with a warning).
 */
void symbolizer__add_map(struct symbolizer *s, const struct sym_mapping *m);

/*
 * An offline symbolizer's mappings so far are dropped (a capture's target
 * execed: the old image's addresses mean nothing in the new one); the
 * frames given to symbolizer__preload() stay.
 */
void symbolizer__forget_maps(struct symbolizer *s);

typedef void (*symbolizer_map_fn)(void *ctx, const struct sym_mapping *m);
/* Calls fn for each executable file mapping known now, by address. */
void symbolizer__each_map(const struct symbolizer *s, symbolizer_map_fn fn, void *ctx);
/* A number that changes whenever the mappings known do. */
uint64_t symbolizer__maps_gen(const struct symbolizer *s);

typedef void (*symbolizer_each_fn)(void *ctx, const struct sym_frame *frames, size_t n);
/* Calls fn with the frames of every address resolved so far (any order). */
void symbolizer__each(const struct symbolizer *s, symbolizer_each_fn fn, void *ctx);

/*
 * Makes sure the object mapped at ip is recorded and open.  Returns 0, or
 * -ENOENT when no mapping holds ip even after re-reading the maps (or the
 * target is gone).
 */
int symbolizer__track(struct symbolizer *s, uint64_t ip);

/* Re-reads /proc/PID/maps (and the other processes'), opening new objects.  0 or negative errno. */
int symbolizer__refresh(struct symbolizer *s);

/*
 * Addresses missed while re-reads were rate-limited are looked for again,
 * when the limit allows (a re-read): call it now and then while tracing,
 * so a short-lived process's objects are found while it lives.
 */
void symbolizer__settle(struct symbolizer *s);

/*
 * -f: process pid's executable mappings count too (a traced child that
 * execed: another program at other addresses), read now and again on a
 * miss, kept when it is gone.  An address mapped in both is the target's.
 * Not for an offline symbolizer.  0 or negative errno.
 */
int symbolizer__add_process(struct symbolizer *s, int pid);

/*
 * Resolves return address ip (looked up at ip - 1).  *frames gets 1 or more
 * frames, innermost (most inlined) first, the last one the real function.
 * Never fails: an unknown address yields one frame with only ip/module set.
 */
void symbolizer__symbolize(struct symbolizer *s, uint64_t ip,
			   const struct sym_frame **frames, size_t *n);

/*
 * From now on waits for the server's answers (no_wait_until_report ends);
 * resolves again the provisional frames, and every address tracked so far;
 * then lists the objects holding
 * addresses left without a function name, by path, with the reason.  The
 * list is the symbolizer's, valid until the next call or symbolizer__free();
 * empty with no_symbols (the names come later, from `report`).
 */
const struct sym_unnamed *symbolizer__unnamed(struct symbolizer *s, size_t *n);

/*
 * Writes a one-line form of f into buf (always NUL-terminated, cut to len):
 * "func (file:line)", "func (module+0xoff)", "module+0xoff" or "0xip".
 * Returns the length it wanted, like snprintf.
 */
int sym_frame__format(const struct sym_frame *f, char *buf, size_t len);

#endif
