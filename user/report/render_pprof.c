// SPDX-License-Identifier: MIT
/*
 * The pprof profile: profile.proto, gzip'd, encoded by pb_writer (the wire
 * format only; no protobuf library).  docs/report-format.md "pprof" is its
 * contract.  One sample per site with the four report_value values.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pb_writer.h"
#include "report.h"

/* profile.proto's field numbers, message by message */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	PROFILE_DEFAULT_SAMPLE_TYPE = 14,
};
enum { VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2 };
enum { SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3 };
enum { LABEL_KEY = 1, LABEL_NUM = 3 };
enum {
	MAPPING_ID = 1,
	MAPPING_MEMORY_START = 2,
	MAPPING_MEMORY_LIMIT = 3,
	MAPPING_FILE_OFFSET = 4,
	MAPPING_FILENAME = 5,
	MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	MAPPING_HAS_INLINE_FRAMES = 10,
};
enum { LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4 };
enum { LINE_FUNCTION_ID = 1, LINE_LINE = 2, LINE_COLUMN = 3 };
enum { FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4 };

/*
 * Ids (from 1) by 64-bit key, open addressing; 0 marks a free slot.  A key
 * that is a hash (strings) has its collisions told apart by same().
 */
struct id_table {
	uint64_t *keys;
	uint64_t *ids;
	size_t n, cap;
};

struct pprof {
	const struct report *r;
	int err;                      /* -ENOMEM: the profile is abandoned */
	struct pb_writer out;         /* header, samples, mappings; the rest appended */
	struct pb_writer locations;   /* written as first met */
	struct pb_writer functions;
	char **strs;                  /* the string table, "" first */
	size_t nstrs, cap_strs;
	struct id_table str_ids, loc_ids, fn_ids;
	uint64_t *sample_locs;        /* the sample being gathered, leaf first */
	size_t nsample_locs, cap_sample_locs;
	const struct report_frame **group; /* the location being gathered, innermost first */
	size_t ngroup, cap_group;
	char text[4 * REPORT_NAME_MAX];  /* report__safe_text()'s output */
};

/* v with room for need elements of size (*cap updated), or NULL and p->err set */
static void *room(struct pprof *p, void *v, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *nv;

	if (need <= *cap)
		return v;
	while (c < need)
		c *= 2;
	nv = realloc(v, c * size);
	if (!nv) {
		p->err = -ENOMEM;
		return NULL;
	}
	*cap = c;
	return nv;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

typedef bool (*same_fn)(const struct pprof *p, uint64_t id, const void *key);

/* The slot of key: its own, or the free one where it goes. */
static size_t id_slot(const struct pprof *p, const struct id_table *t, uint64_t key, same_fn same,
		      const void *ctx)
{
	size_t i = mix(key) & (t->cap - 1);

	while (t->ids[i] && (t->keys[i] != key || (same && !same(p, t->ids[i], ctx))))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static bool id_table_grow(struct pprof *p, struct id_table *t)
{
	struct id_table g = { .cap = t->cap ? t->cap * 2 : 256, .n = t->n };

	g.keys = calloc(g.cap, sizeof(*g.keys));
	g.ids = calloc(g.cap, sizeof(*g.ids));
	if (!g.keys || !g.ids) {
		free(g.keys);
		free(g.ids);
		p->err = -ENOMEM;
		return false;
	}
	/* re-placed by key alone: entries already in the table are distinct */
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->ids[i])
			continue;
		j = id_slot(p, &g, t->keys[i], NULL, NULL);
		while (g.ids[j])
			j = (j + 1) & (g.cap - 1);
		g.keys[j] = t->keys[i];
		g.ids[j] = t->ids[i];
	}
	free(t->keys);
	free(t->ids);
	*t = g;
	return true;
}

/*
 * The id of key; when it is new, *added is set and it gets next_id.  0
 * when out of memory.
 */
static uint64_t id_get(struct pprof *p, struct id_table *t, uint64_t key, same_fn same,
		       const void *ctx, uint64_t next_id, bool *added)
{
	size_t i;

	*added = false;
	if ((t->n + 1) * 2 > t->cap && !id_table_grow(p, t))
		return 0;
	i = id_slot(p, t, key, same, ctx);
	if (t->ids[i])
		return t->ids[i];
	t->keys[i] = key;
	t->ids[i] = next_id;
	t->n++;
	*added = true;
	return next_id;
}

static void id_table_free(struct id_table *t)
{
	free(t->keys);
	free(t->ids);
}

/* ---- the string table ---- */

static bool same_string(const struct pprof *p, uint64_t id, const void *key)
{
	return strcmp(p->strs[id - 1], key) == 0;
}

static uint64_t hash_string(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* The string table's index of s made safe (report__safe_text); NULL and "" are 0. */
static int64_t str_index(struct pprof *p, const char *s)
{
	const char *safe = report__safe_text(s, NULL, p->text, sizeof(p->text));
	uint64_t id;
	bool added;
	char *copy, **strs;

	if (!*safe || p->err)
		return 0;
	/* p->strs[k] is index k + 1 of the table, after "": its id */
	id = id_get(p, &p->str_ids, hash_string(safe), same_string, safe, p->nstrs + 1, &added);
	if (!added)
		return (int64_t)id;
	copy = strdup(safe);
	strs = copy ? room(p, p->strs, &p->cap_strs, p->nstrs + 1, sizeof(*p->strs)) : NULL;
	if (!id || !strs) {
		free(copy);
		p->err = -ENOMEM;
		return 0;
	}
	p->strs = strs;
	p->strs[p->nstrs++] = copy;
	return (int64_t)id;
}

/* ---- functions and locations ---- */

static uint64_t function_id(struct pprof *p, const struct report_frame *f)
{
	int64_t name = str_index(p, f->function), file = str_index(p, f->file);
	uint64_t id;
	size_t mark;
	bool added;

	id = id_get(p, &p->fn_ids, (uint64_t)name << 32 | (uint64_t)file, NULL, NULL,
		    p->fn_ids.n + 1, &added);
	if (!added)
		return id;
	mark = pb__begin(&p->functions, PROFILE_FUNCTION);
	pb__uint(&p->functions, FUNCTION_ID, id);
	pb__int(&p->functions, FUNCTION_NAME, name);
	/* only the demangled name is kept: the system's name is the same */
	pb__int(&p->functions, FUNCTION_SYSTEM_NAME, name);
	if (file)
		pb__int(&p->functions, FUNCTION_FILENAME, file);
	pb__end(&p->functions, mark);
	return id;
}

/* One line per frame with a name, innermost first: the last is the real function. */
static void write_location(struct pprof *p, uint64_t id)
{
	const struct report_frame *last = p->group[p->ngroup - 1];
	long map = last->mapping;
	size_t mark = pb__begin(&p->locations, PROFILE_LOCATION);

	pb__uint(&p->locations, LOCATION_ID, id);
	if (map >= 0)
		pb__uint(&p->locations, LOCATION_MAPPING_ID, (uint64_t)map + 1);
	/* a return address: ip - 1 is in the call, where the symbolizer looked */
	pb__uint(&p->locations, LOCATION_ADDRESS, last->ip ? last->ip - 1 : 0);
	for (size_t i = 0; i < p->ngroup; i++) {
		const struct report_frame *f = p->group[i];
		uint64_t fn;
		size_t line;

		if (!f->function)
			continue;
		fn = function_id(p, f);
		line = pb__begin(&p->locations, LOCATION_LINE);
		pb__uint(&p->locations, LINE_FUNCTION_ID, fn);
		if (f->line > 0)
			pb__int(&p->locations, LINE_LINE, f->line);
		if (f->column > 0)
			pb__int(&p->locations, LINE_COLUMN, f->column);
		pb__end(&p->locations, line);
	}
	pb__end(&p->locations, mark);
}

/*
 * A return address's frames make one location, keyed by the address: the
 * symbolizer resolves each address once, so its frames are always the same.
 */
static void end_location(struct pprof *p)
{
	uint64_t id, *locs;
	bool added;

	if (!p->ngroup || p->err)
		return;
	id = id_get(p, &p->loc_ids, p->group[0]->ip, NULL, NULL, p->loc_ids.n + 1, &added);
	if (added)
		write_location(p, id);
	locs = room(p, p->sample_locs, &p->cap_sample_locs, p->nsample_locs + 1,
		    sizeof(*p->sample_locs));
	if (id && locs) {
		p->sample_locs = locs;
		p->sample_locs[p->nsample_locs++] = id;
	}
	p->ngroup = 0;
}

static void add_frame(struct pprof *p, const struct report_frame *f)
{
	const struct report_frame **group = room(p, p->group, &p->cap_group, p->ngroup + 1,
					      sizeof(*p->group));

	if (!group)
		return;
	p->group = group;
	p->group[p->ngroup++] = f;
	/* the frame an address's inlined calls were inlined into ends them */
	if (!f->inlined)
		end_location(p);
}

/* ---- the profile ---- */

static void write_sample(struct pprof *p, const struct report_site *s)
{
	int64_t v[REPORT_VALUE__COUNT];
	size_t mark;

	const struct report_stack *st = report__stack(p->r, s->stack);

	p->nsample_locs = 0;
	p->ngroup = 0;
	for (uint32_t i = 0; st && i < st->nframes; i++)
		add_frame(p, report__frame(p->r, st, i));
	end_location(p);
	for (int i = 0; i < REPORT_VALUE__COUNT; i++)
		v[i] = (int64_t)report_site__value(s, i);
	mark = pb__begin(&p->out, PROFILE_SAMPLE);
	pb__packed_uint(&p->out, SAMPLE_LOCATION_ID, p->sample_locs, p->nsample_locs);
	pb__packed_int(&p->out, SAMPLE_VALUE, v, REPORT_VALUE__COUNT);
	/* -f: whose site it is, a numeric label "pid" (none with the target alone) */
	if (p->r->nprocesses) {
		size_t lm = pb__begin(&p->out, SAMPLE_LABEL);

		pb__int(&p->out, LABEL_KEY, str_index(p, "pid"));
		pb__int(&p->out, LABEL_NUM, s->pid);
		pb__end(&p->out, lm);
	}
	pb__end(&p->out, mark);
}

static void write_value_type(struct pprof *p, uint32_t field, const char *type, const char *unit)
{
	size_t mark = pb__begin(&p->out, field);

	pb__int(&p->out, VALUE_TYPE_TYPE, str_index(p, type));
	pb__int(&p->out, VALUE_TYPE_UNIT, str_index(p, unit));
	pb__end(&p->out, mark);
}

static void write_mappings(struct pprof *p)
{
	const struct report_mapping *m = p->r->mappings;

	for (size_t i = 0; i < p->r->nmappings; i++) {
		size_t mark = pb__begin(&p->out, PROFILE_MAPPING);

		pb__uint(&p->out, MAPPING_ID, i + 1);
		pb__uint(&p->out, MAPPING_MEMORY_START, m[i].start);
		pb__uint(&p->out, MAPPING_MEMORY_LIMIT, m[i].limit);
		pb__uint(&p->out, MAPPING_FILE_OFFSET, m[i].offset);
		pb__int(&p->out, MAPPING_FILENAME, str_index(p, m[i].path));
		if (m[i].build_id)
			pb__int(&p->out, MAPPING_BUILD_ID, str_index(p, m[i].build_id));
		pb__uint(&p->out, MAPPING_HAS_FUNCTIONS, m[i].has_functions);
		pb__uint(&p->out, MAPPING_HAS_FILENAMES, m[i].has_files);
		pb__uint(&p->out, MAPPING_HAS_LINE_NUMBERS, m[i].has_lines);
		/* inlined calls are looked for wherever there is line information */
		pb__uint(&p->out, MAPPING_HAS_INLINE_FRAMES, m[i].has_lines);
		pb__end(&p->out, mark);
	}
}

static void write_comment(struct pprof *p, const char *text)
{
	pb__int(&p->out, PROFILE_COMMENT, str_index(p, text));
}

static void write_header(struct pprof *p)
{
	const struct report_tracing *t = &p->r->tracing;
	char text[4096];

	for (int i = 0; i < REPORT_VALUE__COUNT; i++)
		write_value_type(p, PROFILE_SAMPLE_TYPE, report_value__name(i),
				 i == REPORT_ALLOC_SPACE || i == REPORT_INUSE_SPACE ? "bytes" : "count");
	pb__int(&p->out, PROFILE_DEFAULT_SAMPLE_TYPE,
		str_index(p, report_value__name(REPORT_INUSE_SPACE)));
	if (t->start_wall_ns)
		pb__int(&p->out, PROFILE_TIME_NANOS, (int64_t)t->start_wall_ns);
	pb__int(&p->out, PROFILE_DURATION_NANOS,
		t->end_ns > t->start_ns ? (int64_t)(t->end_ns - t->start_ns) : 0);
	write_value_type(p, PROFILE_PERIOD_TYPE, "space", "bytes");
	pb__int(&p->out, PROFILE_PERIOD, t->sample_bytes ? (int64_t)t->sample_bytes : 1);
	write_comment(p, "memscope-bpf " MEMSCOPE_VERSION);
	snprintf(text, sizeof(text), "target: pid %d, %s", p->r->target.pid,
		 p->r->target.cmdline ? p->r->target.cmdline : "");
	write_comment(p, text);
	if (t->sample_bytes) {
		snprintf(text, sizeof(text), "sampled: a block every %llu bytes on average; "
			 "values are estimates", (unsigned long long)t->sample_bytes);
		write_comment(p, text);
	}
}

/* Deflates data into f with the gzip wrapper that profile readers expect. */
static int write_gzip(const uint8_t *data, size_t len, FILE *f)
{
	z_stream z;
	uint8_t chunk[16384];
	int flush;

	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip header and trailer instead of zlib's */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)data;
	do {
		/* avail_in is 32 bits wide */
		size_t n = len > (1u << 30) ? (1u << 30) : len;

		z.avail_in = (uInt)n;
		len -= n;
		flush = len ? Z_NO_FLUSH : Z_FINISH;
		do {
			z.next_out = chunk;
			z.avail_out = sizeof(chunk);
			deflate(&z, flush);
			fwrite(chunk, 1, sizeof(chunk) - z.avail_out, f);
		} while (z.avail_out == 0);
	} while (flush != Z_FINISH);
	deflateEnd(&z);
	return ferror(f) ? -EIO : 0;
}

static void pprof_free(struct pprof *p)
{
	pb__free(&p->out);
	pb__free(&p->locations);
	pb__free(&p->functions);
	for (size_t i = 0; i < p->nstrs; i++)
		free(p->strs[i]);
	free(p->strs);
	id_table_free(&p->str_ids);
	id_table_free(&p->loc_ids);
	id_table_free(&p->fn_ids);
	free(p->sample_locs);
	free(p->group);
	free(p);
}

int report__write_pprof(const struct report *r, FILE *f)
{
	struct pprof *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->r = r;
	write_header(p);
	for (size_t i = 0; i < r->nsites && !p->err; i++)
		write_sample(p, &r->sites[i]);
	write_mappings(p);
	/* a message is its fields in any order: these were written apart */
	pb__raw(&p->out, p->locations.buf, p->locations.len);
	pb__raw(&p->out, p->functions.buf, p->functions.len);
	/* string_table[0] must be "" */
	pb__string(&p->out, PROFILE_STRING_TABLE, "");
	for (size_t i = 0; i < p->nstrs; i++)
		pb__string(&p->out, PROFILE_STRING_TABLE, p->strs[i]);
	err = p->err ? p->err : write_gzip(p->out.buf, p->out.len, f);
	pprof_free(p);
	return err;
}
