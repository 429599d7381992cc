// SPDX-License-Identifier: MIT
/*
 * The capture file's cost (user/record/capture.c): bytes per record after
 * compression and the writer's time per record, for a stream shaped like a
 * busy program's allocations and releases, and the reader's time to read it
 * back.  No kernel, no session: the container alone.
 *
 * The stream (made before the timed part): 60% allocations, 40% releases of a
 * live block (the last freed address of a size class comes back first, as
 * glibc's tcache does), 4 threads, 50-550 ns between calls, sizes mostly
 * 16-256 B with some 4 KiB and 64 KiB, 2000 distinct stacks of which a few
 * make most calls.  Each record is written in two ways:
 *   fixed   the fields as a 38-byte struct (fn, flags, tid, ts, ptr, size,
 *           stack hash): what copying the ring buffer's records costs;
 *   delta   the records' codec (capture.h): time and address as the change
 *           since the thread's previous record, the stack as a number given
 *           in the order stacks are first seen (a stack record says it once).
 * Each way is written to a memfd with blocks of 256 KiB and 1 MiB at zlib
 * levels 1 and 6, and with a flush every 1000, 100 and 10 records (a
 * session flushing after each 10 ms drain at 100 k, 10 k and 1 k records/s),
 * each 3 times: the fastest run is shown.
 *
 *   capture_bench [RECORDS]  (default 1000000)
 *
 * One line per configuration:
 *   memscope-bench capture encoding=E level=L block=B flush=F records=N raw_per_record=R
 *   bytes_per_record=C write_ns_per_record=W read_ns_per_record=D
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"

struct rec {
	uint8_t fn, flags;
	uint16_t pad;
	uint32_t tid;
	uint64_t ts, ptr, size, stack;
	uint32_t stack_id; /* the order the stack was first seen in */
};

#define FIXED_LEN 38
#define CLASSES 8

/* glibc's 48-bit generator from a fixed seed: the same stream every run */
static unsigned short seed[3] = { 0x1234, 0xabcd, 0x330e };

static uint64_t next_rand(void)
{
	return (uint64_t)(uint32_t)jrand48(seed) << 32 | (uint32_t)jrand48(seed);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t size_of_class(int c)
{
	static const uint64_t sizes[CLASSES] = { 16, 24, 32, 48, 64, 256, 4096, 65536 };

	return sizes[c];
}

/* A size class: mostly small blocks. */
static int pick_class(void)
{
	uint64_t r = next_rand() % 100;

	return r < 25 ? 0 : r < 45 ? 1 : r < 60 ? 2 : r < 72 ? 3 : r < 84 ? 4 : r < 95 ? 5 :
	       r < 99 ? 6 : 7;
}

static struct rec *make_stream(size_t n)
{
	struct rec *s = calloc(n, sizeof(*s));
	uint64_t *live[CLASSES], stacks[2000], ts = 1000000, brk = 0x55d0c0a00000ull;
	size_t nlive[CLASSES] = { 0 }, cap = n;

	if (!s)
		return NULL;
	for (int c = 0; c < CLASSES; c++) {
		live[c] = malloc(cap * sizeof(uint64_t));
		if (!live[c])
			return NULL;
	}
	for (int i = 0; i < 2000; i++)
		stacks[i] = next_rand();
	for (size_t i = 0; i < n; i++) {
		struct rec *r = &s[i];
		int c = pick_class();
		/* a few stacks make most calls: the square of a uniform pick */
		uint64_t u = next_rand() % 2000;

		ts += 50 + next_rand() % 500;
		r->ts = ts;
		r->tid = 4242 + next_rand() % 4;
		r->stack_id = u * u / 2000;
		r->stack = stacks[r->stack_id];
		if (nlive[c] && next_rand() % 100 < 40) {
			r->fn = 1;
			r->ptr = live[c][--nlive[c]];
			continue;
		}
		r->fn = 0;
		r->size = size_of_class(c) - next_rand() % 8;
		r->ptr = brk;
		brk += size_of_class(c) + 16;
		live[c][nlive[c]++] = r->ptr;
	}
	for (int c = 0; c < CLASSES; c++)
		free(live[c]);
	return s;
}

static size_t encode_fixed(const struct rec *r, uint8_t *p)
{
	p[0] = r->fn;
	p[1] = r->flags;
	memcpy(p + 2, &r->tid, 4);
	memcpy(p + 6, &r->ts, 8);
	memcpy(p + 14, &r->ptr, 8);
	memcpy(p + 22, &r->size, 8);
	memcpy(p + 30, &r->stack, 8);
	return FIXED_LEN;
}

struct delta {
	uint64_t ts[4], ptr[4];
};

static void encode_delta(struct cap_enc *e, struct delta *d, const struct rec *r)
{
	int t = r->tid - 4242;

	cap_enc__reset(e);
	cap_enc__uv(e, r->tid);
	cap_enc__uv(e, r->ts - d->ts[t]);
	cap_enc__sv(e, (int64_t)(r->ptr - d->ptr[t]));
	if (!r->fn)
		cap_enc__uv(e, r->size);
	cap_enc__uv(e, r->stack_id);
	d->ts[t] = r->ts;
	d->ptr[t] = r->ptr;
}

struct result {
	double write_s, read_s;
	uint64_t raw, file;
};

static int write_stream(int fd, const struct rec *s, size_t n, bool delta, int level,
			size_t block, size_t flush, struct result *res)
{
	struct capture_writer_opts opts = { .sz = sizeof(opts), .block_bytes = block, .level = level };
	struct capture_writer *w = capture_writer__new(fd, "bench", 5, &opts);
	struct capture_writer_stats st;
	struct cap_enc e = { 0 };
	struct delta d = { 0 };
	uint8_t buf[64];
	double t0 = now();
	int err = 0;

	if (!w)
		return -errno;
	for (size_t i = 0; i < n && !err; i++) {
		if (delta) {
			encode_delta(&e, &d, &s[i]);
			err = capture_writer__add(w, 1 + s[i].fn, e.p, e.len);
		} else {
			err = capture_writer__add(w, 1 + s[i].fn, buf, encode_fixed(&s[i], buf));
		}
		if (!err && flush && i % flush == flush - 1)
			err = capture_writer__flush(w);
	}
	if (!err)
		err = capture_writer__close(w);
	res->write_s = now() - t0;
	capture_writer__stats(w, &st);
	res->raw = st.raw;
	res->file = st.written;
	capture_writer__free(w);
	cap_enc__free(&e);
	return err;
}

static int read_stream(int fd, size_t n, struct result *res)
{
	uint8_t *file = malloc(res->file);
	struct capture_reader *r;
	const void *payload;
	uint64_t sum = 0;
	size_t len, got = 0;
	uint8_t type;
	double t0;

	if (!file || pread(fd, file, res->file, 0) != (ssize_t)res->file)
		return -EIO;
	t0 = now();
	r = capture_reader__from_mem(file, res->file, "bench", NULL, 0);
	while (r && capture_reader__next(r, &type, &payload, &len) == 1) {
		sum += type + len;
		got++;
	}
	res->read_s = now() - t0;
	capture_reader__free(r);
	free(file);
	return got == n && sum ? 0 : -EBADMSG;
}

static int run(const struct rec *s, size_t n, bool delta, int level, size_t block, size_t flush)
{
	struct result best = { .write_s = 1e9, .read_s = 1e9 }, res = { 0 };

	for (int rep = 0; rep < 3; rep++) {
		int fd = memfd_create("capture", MFD_CLOEXEC), err;

		if (fd < 0)
			return -errno;
		err = write_stream(fd, s, n, delta, level, block, flush, &res);
		if (!err)
			err = read_stream(fd, n, &res);
		close(fd);
		if (err) {
			fprintf(stderr, "capture_bench: %s\n", strerror(-err));
			return err;
		}
		best.raw = res.raw;
		best.file = res.file;
		if (res.write_s < best.write_s)
			best.write_s = res.write_s;
		if (res.read_s < best.read_s)
			best.read_s = res.read_s;
	}
	printf("memscope-bench capture encoding=%s level=%d block=%zu flush=%zu records=%zu "
	       "raw_per_record=%.1f bytes_per_record=%.2f write_ns_per_record=%.1f "
	       "read_ns_per_record=%.1f\n",
	       delta ? "delta" : "fixed", level, block, flush, n, (double)best.raw / n,
	       (double)best.file / n, best.write_s * 1e9 / n, best.read_s * 1e9 / n);
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	struct rec *s = n ? make_stream(n) : NULL;
	int err = 0;

	if (!s) {
		fprintf(stderr, "capture_bench: cannot make a stream of %zu records\n", n);
		return 1;
	}
	for (int delta = 0; delta < 2 && !err; delta++) {
		err = err ?: run(s, n, delta, 1, CAPTURE_BLOCK_DEFAULT, 0);
		err = err ?: run(s, n, delta, 6, CAPTURE_BLOCK_DEFAULT, 0);
		err = err ?: run(s, n, delta, 1, CAPTURE_BLOCK_MAX, 0);
		err = err ?: run(s, n, delta, 1, CAPTURE_BLOCK_DEFAULT, 1000);
		err = err ?: run(s, n, delta, 1, CAPTURE_BLOCK_DEFAULT, 100);
		err = err ?: run(s, n, delta, 1, CAPTURE_BLOCK_DEFAULT, 10);
	}
	free(s);
	return err ? 1 : 0;
}
