// SPDX-License-Identifier: MIT
/* The capture file's container (user/record/capture.c): blocks, cuts, corruption, versions, the codec */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "capture.h"

#define HDR "memscope-bpf 0.1.0 test"

/* ---- helpers ---- */

struct file {
	uint8_t *p;
	size_t len;
};

/* The max of payload_of() the file being read was written with. */
static size_t payload_max = 1;

/* Record i's payload: its length and bytes follow from i and max alone. */
static size_t payload_of(uint32_t i, uint8_t *buf, size_t max)
{
	size_t len = (i * 2654435761u >> 7) % max;

	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)(i + k * 7);
	if (len >= 4)
		memcpy(buf, &i, 4);
	return len;
}

static uint8_t type_of(uint32_t i)
{
	return 1 + i % 255;
}

static struct file slurp(int fd)
{
	struct stat st;
	struct file f;

	assert_int_equal(fstat(fd, &st), 0);
	f.len = st.st_size;
	f.p = malloc(f.len ? f.len : 1);
	assert_non_null(f.p);
	assert_int_equal(pread(fd, f.p, f.len, 0), (ssize_t)f.len);
	return f;
}

/* Where each block ends and how many records the file holds up to there. */
struct bounds {
	size_t n;
	uint64_t end[512];
	uint64_t records[512];
};

static void bounds__note(struct bounds *b, const struct capture_writer *w, uint64_t *blocks,
			 bool last_add_pending)
{
	struct capture_writer_stats st;

	capture_writer__stats(w, &st);
	if (st.blocks == *blocks)
		return;
	assert_true(b->n < 512);
	b->end[b->n] = st.written;
	/* a block written by add() holds the records before the one added */
	b->records[b->n] = st.records - last_add_pending;
	b->n++;
	*blocks = st.blocks;
}

/* A capture of n records, blocks of block_bytes, flushed every flush_every records. */
static struct file make_capture(uint32_t n, size_t block_bytes, uint32_t flush_every, size_t max,
				struct bounds *b)
{
	struct capture_writer_opts opts = { .sz = sizeof(opts), .block_bytes = block_bytes };
	int fd = memfd_create("capture", MFD_CLOEXEC);
	struct capture_writer *w;
	uint8_t buf[4096];
	uint64_t blocks = 0;
	struct file f;

	assert_true(fd >= 0 && max <= sizeof(buf));
	payload_max = max;
	w = capture_writer__new(fd, HDR, strlen(HDR), &opts);
	assert_non_null(w);
	if (b)
		b->n = 0;
	for (uint32_t i = 0; i < n; i++) {
		size_t len = payload_of(i, buf, max);

		assert_int_equal(capture_writer__add(w, type_of(i), buf, len), 0);
		if (b)
			bounds__note(b, w, &blocks, true);
		if (flush_every && i % flush_every == flush_every - 1) {
			assert_int_equal(capture_writer__flush(w), 0);
			if (b)
				bounds__note(b, w, &blocks, false);
		}
	}
	/* the last records' block apart from the end block, to note each */
	assert_int_equal(capture_writer__flush(w), 0);
	if (b)
		bounds__note(b, w, &blocks, false);
	assert_int_equal(capture_writer__close(w), 0);
	if (b)
		bounds__note(b, w, &blocks, false);
	capture_writer__free(w);
	f = slurp(fd);
	close(fd);
	return f;
}

/* Reads every record, checking each against payload_of(); the count read, or
 * -1 on an error (its message in msg). */
static long read_all(struct capture_reader *r, char *msg, size_t msglen)
{
	uint8_t want[4096];
	const void *p;
	uint8_t type;
	size_t len;
	long i = 0;
	int ret;

	while ((ret = capture_reader__next(r, &type, &p, &len)) == 1) {
		size_t wlen = payload_of(i, want, payload_max);

		assert_int_equal(type, type_of(i));
		assert_int_equal(len, wlen);
		if (len)
			assert_memory_equal(p, want, len);
		i++;
	}
	if (ret < 0) {
		snprintf(msg, msglen, "%s", capture_reader__error(r));
		assert_int_equal(capture_reader__next(r, &type, &p, &len), ret);
		return -1;
	}
	assert_string_equal(capture_reader__error(r), "");
	assert_int_equal(capture_reader__next(r, &type, &p, &len), 0);
	return i;
}

/* A copy of the first len bytes in a buffer of exactly that size (ASan sees over-reads). */
static uint8_t *copy_of(const struct file *f, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, f->p, len);
	return p;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static void reseal_file_header(uint8_t *p)
{
	put32(p + 20, crc32(0, p, 20));
}

/* A block as docs/capture-format.md lays it out, its data deflated from raw. */
static size_t put_block(uint8_t *out, uint32_t seq, uint8_t kind, const void *raw, uint32_t raw_len,
			uint32_t nrec)
{
	z_stream z = { 0 };
	uint32_t comp_len = 0;

	if (raw_len) {
		assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
		z.next_in = (uint8_t *)raw;
		z.avail_in = raw_len;
		z.next_out = out + CAPTURE_BLOCK_HDR_LEN;
		z.avail_out = 1 << 16;
		assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
		comp_len = z.total_out;
		deflateEnd(&z);
	}
	memcpy(out, "MSBK", 4);
	put32(out + 4, seq);
	out[8] = kind;
	out[9] = 0;
	out[10] = out[11] = 0;
	put32(out + 12, comp_len);
	put32(out + 16, raw_len);
	put32(out + 20, nrec);
	put32(out + 24, crc32(0, out + CAPTURE_BLOCK_HDR_LEN, comp_len));
	put32(out + 28, crc32(0, out, 28));
	return CAPTURE_BLOCK_HDR_LEN + comp_len;
}

/* The file's header (24 bytes + HDR) followed by the blocks given. */
static uint8_t *file_with_blocks(size_t *len, uint8_t *blocks, size_t blocks_len)
{
	struct file f = make_capture(0, 0, 0, 1, NULL);
	size_t hlen = CAPTURE_FILE_HDR_LEN + strlen(HDR);
	uint8_t *p = malloc(hlen + blocks_len);

	assert_non_null(p);
	memcpy(p, f.p, hlen);
	memcpy(p + hlen, blocks, blocks_len);
	free(f.p);
	*len = hlen + blocks_len;
	return p;
}

static void expect_block_error(uint8_t *blocks, size_t blocks_len, const char *want)
{
	size_t len;
	uint8_t *p = file_with_blocks(&len, blocks, blocks_len);
	struct capture_reader *r = capture_reader__from_mem(p, len, "t.msb", NULL, 0);
	char msg[256];

	assert_non_null(r);
	assert_int_equal(read_all(r, msg, sizeof(msg)), -1);
	if (!strstr(msg, want))
		fail_msg("'%s' does not say '%s'", msg, want);
	capture_reader__free(r);
	free(p);
}

/* ---- container ---- */

static void test_capture__many_records_across_many_blocks_round_trip(void **state)
{
	struct file f = make_capture(100000, 16 << 10, 7777, 300, NULL);
	struct capture_reader *r = capture_reader__from_mem(f.p, f.len, "t.msb", NULL, 0);
	uint16_t major, minor;
	const char *hdr;
	size_t hlen;
	char msg[256];

	assert_non_null(r);
	hdr = capture_reader__header(r, &hlen);
	assert_int_equal(hlen, strlen(HDR));
	assert_memory_equal(hdr, HDR, hlen);
	capture_reader__version(r, &major, &minor);
	assert_int_equal(major, CAPTURE_MAJOR);
	assert_int_equal(minor, CAPTURE_MINOR);
	assert_int_equal(read_all(r, msg, sizeof(msg)), 100000);
	assert_true(capture_reader__complete(r));
	assert_int_equal(capture_reader__offset(r), f.len);
	/* 15 MB of records in 16 KiB blocks */
	assert_true(capture_reader__block(r) > 900);
	capture_reader__free(r);
	free(f.p);
}

static void test_capture__open_reads_a_file_and_names_a_missing_one(void **state)
{
	char path[] = "/tmp/test_capture-XXXXXX";
	int fd = mkstemp(path);
	struct capture_writer *w;
	struct capture_reader *r;
	char err[256], msg[256];

	assert_true(fd >= 0);
	payload_max = 64;
	w = capture_writer__new(fd, NULL, 0, NULL);
	assert_non_null(w);
	for (uint32_t i = 0; i < 1000; i++) {
		uint8_t buf[64];
		size_t len = payload_of(i, buf, payload_max);

		assert_int_equal(capture_writer__add(w, type_of(i), buf, len), 0);
	}
	assert_int_equal(capture_writer__close(w), 0);
	/* closed: nothing more is taken */
	assert_int_equal(capture_writer__add(w, 1, "x", 1), -EINVAL);
	capture_writer__free(w);
	close(fd);

	r = capture_reader__open(path, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(read_all(r, msg, sizeof(msg)), 1000);
	assert_true(capture_reader__complete(r));
	capture_reader__free(r);
	unlink(path);

	assert_null(capture_reader__open(path, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "cannot open '/tmp/test_capture-"));
	assert_non_null(strstr(err, "': No such file or directory"));
}

/* A tracer killed at any moment leaves a file cut anywhere: read up to its last whole block. */
static void test_capture__a_cut_at_every_byte_reads_up_to_the_last_whole_block(void **state)
{
	struct bounds b;
	struct file f = make_capture(60, 96, 5, 40, &b);
	uint64_t hdr_end = CAPTURE_FILE_HDR_LEN + strlen(HDR);
	char msg[256];

	assert_true(b.n > 10);
	assert_int_equal(b.end[b.n - 1], f.len);
	for (size_t cut = 0; cut <= f.len; cut++) {
		uint8_t *p = copy_of(&f, cut);
		struct capture_reader *r = capture_reader__from_mem(p, cut, "t.msb", NULL, 0);
		uint64_t end = cut < hdr_end ? 0 : hdr_end, records = 0;
		size_t hlen;

		assert_non_null(r);
		for (size_t i = 0; i < b.n && b.end[i] <= cut; i++) {
			end = b.end[i];
			records = b.records[i];
		}
		assert_int_equal(read_all(r, msg, sizeof(msg)), records);
		assert_int_equal(capture_reader__offset(r), end);
		assert_int_equal(capture_reader__complete(r), cut == f.len);
		assert_int_equal(capture_reader__header(r, &hlen) != NULL, cut >= hdr_end);
		capture_reader__free(r);
		free(p);
	}
	free(f.p);
}

/* Every single-bit flip is caught: in the header when opening, in a block naming it. */
static void test_capture__a_flipped_bit_anywhere_is_an_error_naming_its_block(void **state)
{
	struct bounds b;
	struct file f = make_capture(40, 128, 6, 60, &b);
	size_t hdr_end = CAPTURE_FILE_HDR_LEN + strlen(HDR);
	char msg[256], want[64];

	for (size_t at = 0; at < f.len; at++) {
		size_t blk = 0;
		uint64_t start = hdr_end, before = 0;

		while (at >= hdr_end && b.end[blk] <= at) {
			start = b.end[blk];
			before = b.records[blk];
			blk++;
		}
		snprintf(want, sizeof(want), "'t.msb': block %zu at offset %llu: ", blk,
			 (unsigned long long)start);
		for (int bit = 0; bit < 8; bit++) {
			uint8_t *p = copy_of(&f, f.len);
			struct capture_reader *r;

			p[at] ^= 1 << bit;
			r = capture_reader__from_mem(p, f.len, "t.msb", msg, sizeof(msg));
			if (at < hdr_end) {
				assert_null(r);
				assert_true(strncmp(msg, "'t.msb': ", 9) == 0 && !strchr(msg, '\n'));
				free(p);
				continue;
			}
			assert_non_null(r);
			/* the blocks before it are read whole */
			for (uint64_t k = 0; k < before; k++) {
				const void *q;
				uint8_t type;
				size_t len;

				if (capture_reader__next(r, &type, &q, &len) != 1)
					fail_msg("flip at %zu bit %d: %s", at, bit, capture_reader__error(r));
			}
			{
				const void *q;
				uint8_t type;
				size_t len;
				int ret = capture_reader__next(r, &type, &q, &len);

				if (ret >= 0)
					fail_msg("flip at %zu bit %d of %zu (block %zu): %d", at, bit, f.len, blk, ret);
			}
			assert_int_equal(read_all(r, msg, sizeof(msg)), -1);
			if (strncmp(msg, want, strlen(want)))
				fail_msg("flip at %zu: '%s', not '%s...'", at, msg, want);
			assert_false(capture_reader__complete(r));
			assert_int_equal(capture_reader__offset(r), start);
			capture_reader__free(r);
			free(p);
		}
	}
	free(f.p);
}

static void test_capture__a_foreign_or_text_mangled_file_is_refused(void **state)
{
	const char *text = "hello, this is not a capture\n";
	const uint8_t elf[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct file f = make_capture(10, 0, 0, 20, NULL);
	struct capture_reader *r;
	char err[256];

	assert_null(capture_reader__from_mem(text, strlen(text), "x", err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "'x': not a memscope-bpf capture");
	assert_null(capture_reader__from_mem(elf, sizeof(elf), "x", err, sizeof(err)));
	assert_string_equal(err, "'x': not a memscope-bpf capture");
	/* a transfer in text mode: CR LF to LF, or LF to CR LF */
	for (int i = 0; i < 2; i++) {
		uint8_t *p = malloc(f.len + 1);
		size_t len = f.len + (i ? 1 : -1);

		if (i == 0) {
			memcpy(p, f.p, 4);
			memcpy(p + 4, f.p + 5, f.len - 5);
		} else {
			memcpy(p, f.p, 7);
			p[7] = '\r';
			memcpy(p + 8, f.p + 7, f.len - 7);
		}
		assert_null(capture_reader__from_mem(p, len, "x", err, sizeof(err)));
		assert_string_equal(err, "'x': not a memscope-bpf capture");
		free(p);
	}
	/* a 3-byte file that is not the magic's start is foreign, an empty one only cut short */
	assert_null(capture_reader__from_mem("MSB", 3, "x", err, sizeof(err)));
	r = capture_reader__from_mem("", 0, "x", err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(read_all(r, err, sizeof(err)), 0);
	assert_false(capture_reader__complete(r));
	assert_int_equal(capture_reader__offset(r), 0);
	capture_reader__free(r);
	free(f.p);
}

static void test_capture__a_newer_major_version_is_refused(void **state)
{
	struct file f = make_capture(10, 0, 0, 20, NULL);
	char err[256];

	f.p[8] = 3;
	reseal_file_header(f.p);
	assert_null(capture_reader__from_mem(f.p, f.len, "t.msb", err, sizeof(err)));
	assert_int_equal(errno, EPROTONOSUPPORT);
	assert_string_equal(err, "'t.msb': capture format 3 is newer than this memscope-bpf reads (1)");
	/* said even when the file is cut right after the version */
	assert_null(capture_reader__from_mem(f.p, 10, "t.msb", err, sizeof(err)));
	assert_string_equal(err, "'t.msb': capture format 3 is newer than this memscope-bpf reads (1)");
	free(f.p);
}

/* A newer minor version's record types and block kinds are passed over by a reader that
 * does not know them: records are given with their type for the caller to skip. */
static void test_capture__a_newer_minor_version_is_read_and_unknown_kinds_skipped(void **state)
{
	uint8_t blocks[4096], raw[64];
	size_t n = 0, len, plen, rec;
	uint8_t *p;
	struct capture_reader *r;
	uint16_t major, minor;
	const void *q;
	uint8_t type;

	/* record 0 of a known type, one of a type from the future, record 1 */
	plen = payload_of(0, raw + 2, 30);
	raw[0] = type_of(0);
	raw[1] = plen;
	rec = 2 + plen;
	raw[rec++] = 250;
	raw[rec++] = 3;
	memcpy(raw + rec, "new", 3);
	rec += 3;
	raw[rec++] = type_of(1);
	plen = payload_of(1, raw + rec + 1, 20);
	raw[rec++] = plen;
	rec += plen;
	n += put_block(blocks + n, 0, 0, raw, rec, 3);
	n += put_block(blocks + n, 1, 7, "future", 6, 0);
	n += put_block(blocks + n, 2, 1, NULL, 0, 0);
	p = file_with_blocks(&len, blocks, n);
	p[10] = 9;
	reseal_file_header(p);

	r = capture_reader__from_mem(p, len, "t.msb", NULL, 0);
	assert_non_null(r);
	capture_reader__version(r, &major, &minor);
	assert_int_equal(minor, 9);
	assert_int_equal(capture_reader__next(r, &type, &q, &plen), 1);
	assert_int_equal(type, type_of(0));
	assert_int_equal(capture_reader__next(r, &type, &q, &plen), 1);
	assert_int_equal(type, 250);
	assert_int_equal(plen, 3);
	assert_memory_equal(q, "new", 3);
	assert_int_equal(capture_reader__next(r, &type, &q, &plen), 1);
	assert_int_equal(type, type_of(1));
	assert_int_equal(capture_reader__next(r, &type, &q, &plen), 0);
	assert_string_equal(capture_reader__error(r), "");
	assert_true(capture_reader__complete(r));
	assert_int_equal(capture_reader__offset(r), len);
	capture_reader__free(r);
	free(p);
}

/* What follows the end block (a file appended to by mistake) is not read. */
static void test_capture__bytes_after_the_end_block_are_not_read(void **state)
{
	struct file f = make_capture(30, 256, 0, 20, NULL);
	uint8_t *p = malloc(f.len + 100);
	struct capture_reader *r;
	char msg[256];

	memcpy(p, f.p, f.len);
	memset(p + f.len, 0xee, 100);
	r = capture_reader__from_mem(p, f.len + 100, "t.msb", NULL, 0);
	assert_non_null(r);
	assert_int_equal(read_all(r, msg, sizeof(msg)), 30);
	assert_true(capture_reader__complete(r));
	assert_int_equal(capture_reader__offset(r), f.len);
	capture_reader__free(r);
	free(p);
	free(f.p);
}

/* Checksums right, contents wrong: each is named, nothing is allocated for a false claim. */
static void test_capture__bad_framing_with_good_checksums_is_an_error(void **state)
{
	uint8_t blocks[4096];
	size_t hdr_end = CAPTURE_FILE_HDR_LEN + strlen(HDR), n;
	char want[128];

	/* a record whose length runs past the block */
	n = put_block(blocks, 0, 0, "\x05\x09" "abc", 5, 1);
	snprintf(want, sizeof(want), "'t.msb': block 0 at offset %zu: record 0 (byte 0): length past the block",
		 hdr_end);
	expect_block_error(blocks, n, want);
	/* type 0, reserved */
	n = put_block(blocks, 0, 0, "\x01\x00\x00\x00", 4, 2);
	expect_block_error(blocks, n, "record 1 (byte 2): type 0");
	/* more records than the header says */
	n = put_block(blocks, 0, 0, "\x01\x00\x01\x00", 4, 1);
	expect_block_error(blocks, n, "2 records, header says 1");
	/* out of sequence (a block lost or repeated) */
	n = put_block(blocks, 1, 0, "\x01\x00", 2, 1);
	expect_block_error(blocks, n, "block 0 at offset");
	expect_block_error(blocks, n, ": out of sequence (sequence 1,");
	/* 2 GiB of records claimed: refused before allocating */
	n = put_block(blocks, 0, 0, "\x01\x00", 2, 1);
	put32(blocks + 16, 1u << 31);
	put32(blocks + 28, crc32(0, blocks, 28));
	expect_block_error(blocks, n, "records' length past the limit");
	/* the records shorter than the header says */
	put32(blocks + 16, 4);
	put32(blocks + 28, crc32(0, blocks, 28));
	expect_block_error(blocks, n, "records shorter than the header says");
	/* not deflate at all */
	memset(blocks + CAPTURE_BLOCK_HDR_LEN, 0xff, 8);
	put32(blocks + 12, 8);
	put32(blocks + 24, crc32(0, blocks + CAPTURE_BLOCK_HDR_LEN, 8));
	put32(blocks + 28, crc32(0, blocks, 28));
	expect_block_error(blocks, CAPTURE_BLOCK_HDR_LEN + 8, "bad deflate stream");
}

static void test_capture__writer_refuses_type_0_and_oversized_records_without_sticking(void **state)
{
	struct capture_writer_opts opts = { .sz = sizeof(opts), .block_bytes = 100 };
	int fd = memfd_create("capture", MFD_CLOEXEC);
	struct capture_writer *w = capture_writer__new(fd, NULL, 0, &opts);
	uint8_t big[200] = { 0 };
	struct capture_writer_stats st;

	assert_non_null(w);
	assert_int_equal(capture_writer__add(w, 0, "x", 1), -EINVAL);
	/* 1 type byte + 1 length byte + 98 = 100 fits, 99 does not */
	assert_int_equal(capture_writer__add(w, 1, big, 99), -EMSGSIZE);
	assert_int_equal(capture_writer__add(w, 1, big, 200), -EMSGSIZE);
	assert_int_equal(capture_writer__add(w, 1, big, 98), 0);
	assert_int_equal(capture_writer__add(w, 2, NULL, 0), 0);
	assert_int_equal(capture_writer__close(w), 0);
	capture_writer__stats(w, &st);
	assert_int_equal(st.records, 2);
	assert_int_equal(st.raw, 100 + 2);
	assert_int_equal(st.blocks, 3);
	capture_writer__free(w);
	close(fd);

	opts.block_bytes = CAPTURE_BLOCK_MAX + 1;
	assert_null(capture_writer__new(1, NULL, 0, &opts));
	assert_int_equal(errno, EINVAL);
}

/* The disk fills mid-block: the error sticks and the file reads up to the last whole block. */
static void test_capture__a_write_error_sticks_and_leaves_a_readable_file(void **state)
{
	char path[] = "/tmp/test_capture-XXXXXX";
	int fd = mkstemp(path), status;
	char err[256], msg[256];
	struct capture_reader *r;
	pid_t pid;
	long n;

	assert_true(fd >= 0);
	payload_max = 256;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* a file size limit: write() takes what fits, then fails with EFBIG */
		struct rlimit rl = { 20000, 20000 };
		struct capture_writer_opts opts = { .sz = sizeof(opts), .block_bytes = 3000,
						    .level = 9 };
		struct capture_writer *w;
		int ret = 0;
		uint32_t i;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl))
			_exit(10);
		w = capture_writer__new(fd, HDR, strlen(HDR), &opts);
		if (!w)
			_exit(11);
		for (i = 0; i < 100000 && !ret; i++) {
			uint8_t buf[256];

			ret = capture_writer__add(w, type_of(i), buf, payload_of(i, buf, payload_max));
		}
		if (ret != -EFBIG || i < 100 || capture_writer__add(w, 1, "x", 1) != -EFBIG ||
		    capture_writer__flush(w) != -EFBIG || capture_writer__close(w) != -EFBIG)
			_exit(12);
		capture_writer__free(w);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fd);

	r = capture_reader__open(path, err, sizeof(err));
	assert_non_null(r);
	n = read_all(r, msg, sizeof(msg));
	assert_true(n > 50);
	assert_false(capture_reader__complete(r));
	/* the block cut by the limit was partly written: a truncated tail */
	assert_true(capture_reader__offset(r) < 20000);
	capture_reader__free(r);
	unlink(path);
}

static void test_capture__a_closed_pipe_or_a_full_device_is_an_error(void **state)
{
	int fds[2], fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct capture_writer *w;

	assert_true(fd >= 0);
	assert_null(capture_writer__new(fd, HDR, strlen(HDR), NULL));
	assert_int_equal(errno, ENOSPC);
	close(fd);

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
	w = capture_writer__new(fds[1], HDR, strlen(HDR), NULL);
	assert_non_null(w);
	close(fds[0]);
	assert_int_equal(capture_writer__add(w, 1, "x", 1), 0);
	assert_int_equal(capture_writer__flush(w), -EPIPE);
	assert_int_equal(capture_writer__add(w, 1, "x", 1), -EPIPE);
	assert_int_equal(capture_writer__close(w), -EPIPE);
	capture_writer__free(w);
	close(fds[1]);
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
}

/* ---- codec ---- */

static void test_capture__codec_round_trips_and_encodes_compactly(void **state)
{
	const uint64_t uvs[] = { 0, 1, 127, 128, 300, 1ull << 35, UINT64_MAX };
	const int64_t svs[] = { 0, -1, 1, -64, 64, INT64_MIN, INT64_MAX };
	struct cap_enc e = { 0 };
	struct cap_dec d;
	size_t len;
	char buf[4];

	for (size_t i = 0; i < 7; i++)
		assert_int_equal(cap_enc__uv(&e, uvs[i]), 0);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(cap_enc__sv(&e, svs[i]), 0);
	assert_int_equal(cap_enc__u8(&e, 0xab), 0);
	assert_int_equal(cap_enc__str(&e, NULL), 0);
	assert_int_equal(cap_enc__str(&e, ""), 0);
	assert_int_equal(cap_enc__str(&e, "malloc"), 0);
	assert_int_equal(cap_enc__bytes(&e, "\0\1\2", 3), 0);
	assert_int_equal(cap_enc__str(&e, "a long name"), 0);
	assert_false(e.bad);

	cap_dec__init(&d, e.p, e.len);
	for (size_t i = 0; i < 7; i++)
		assert_true(cap_dec__uv(&d) == uvs[i]);
	for (size_t i = 0; i < 7; i++)
		assert_true(cap_dec__sv(&d) == svs[i]);
	assert_int_equal(cap_dec__u8(&d), 0xab);
	assert_null(cap_dec__str(&d, &len));
	assert_false(d.bad);
	assert_non_null(cap_dec__str(&d, &len));
	assert_int_equal(len, 0);
	assert_string_equal(cap_dec__strcpy(&d, buf, sizeof(buf)), "mal");
	assert_memory_equal(cap_dec__bytes(&d, &len), "\0\1\2", 3);
	assert_int_equal(len, 3);
	assert_non_null(cap_dec__str(&d, &len));
	assert_true(cap_dec__done(&d));

	/* the bytes themselves: LEB128, zigzag, NULL and "" apart */
	cap_enc__reset(&e);
	cap_enc__uv(&e, 300);
	cap_enc__sv(&e, -1);
	cap_enc__sv(&e, 1);
	cap_enc__str(&e, NULL);
	cap_enc__str(&e, "");
	cap_enc__str(&e, "a");
	assert_int_equal(e.len, 8);
	assert_memory_equal(e.p, "\xac\x02\x01\x02\x00\x01\x02" "a", 8);
	cap_enc__free(&e);
	assert_null(e.p);
}

/* Reading past the end, from every cut of an encoding: bad, zeros and NULLs, no over-read. */
static void test_capture__codec_never_reads_past_the_end(void **state)
{
	struct cap_enc e = { 0 };
	char buf[8];
	size_t len;

	cap_enc__uv(&e, UINT64_MAX);
	cap_enc__sv(&e, INT64_MIN);
	cap_enc__str(&e, "hello");
	cap_enc__bytes(&e, "xyz", 3);
	for (size_t cut = 0; cut < e.len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		struct cap_dec d;

		memcpy(p, e.p, cut);
		cap_dec__init(&d, p, cut);
		cap_dec__uv(&d);
		cap_dec__sv(&d);
		cap_dec__strcpy(&d, buf, sizeof(buf));
		cap_dec__bytes(&d, &len);
		assert_true(d.bad);
		assert_false(cap_dec__done(&d));
		/* once bad, everything is nothing */
		assert_int_equal(cap_dec__u8(&d), 0);
		assert_null(cap_dec__bytes(&d, &len));
		assert_int_equal(len, 0);
		assert_null(cap_dec__strcpy(&d, buf, sizeof(buf)));
		assert_string_equal(buf, "");
		free(p);
	}
	cap_enc__free(&e);
}

static void test_capture__codec_refuses_overlong_varints_and_huge_lengths(void **state)
{
	const uint8_t eleven[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	const uint8_t past64[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'a' };
	struct cap_dec d;
	size_t len;

	cap_dec__init(&d, eleven, sizeof(eleven));
	cap_dec__uv(&d);
	assert_true(d.bad);
	cap_dec__init(&d, past64, sizeof(past64));
	cap_dec__uv(&d);
	assert_true(d.bad);
	cap_dec__init(&d, huge, sizeof(huge));
	assert_null(cap_dec__bytes(&d, &len));
	assert_true(d.bad);
	cap_dec__init(&d, huge, sizeof(huge));
	assert_null(cap_dec__str(&d, &len));
	assert_true(d.bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture__many_records_across_many_blocks_round_trip),
		cmocka_unit_test(test_capture__open_reads_a_file_and_names_a_missing_one),
		cmocka_unit_test(test_capture__a_cut_at_every_byte_reads_up_to_the_last_whole_block),
		cmocka_unit_test(test_capture__a_flipped_bit_anywhere_is_an_error_naming_its_block),
		cmocka_unit_test(test_capture__a_foreign_or_text_mangled_file_is_refused),
		cmocka_unit_test(test_capture__a_newer_major_version_is_refused),
		cmocka_unit_test(test_capture__a_newer_minor_version_is_read_and_unknown_kinds_skipped),
		cmocka_unit_test(test_capture__bytes_after_the_end_block_are_not_read),
		cmocka_unit_test(test_capture__bad_framing_with_good_checksums_is_an_error),
		cmocka_unit_test(test_capture__writer_refuses_type_0_and_oversized_records_without_sticking),
		cmocka_unit_test(test_capture__a_write_error_sticks_and_leaves_a_readable_file),
		cmocka_unit_test(test_capture__a_closed_pipe_or_a_full_device_is_an_error),
		cmocka_unit_test(test_capture__codec_round_trips_and_encodes_compactly),
		cmocka_unit_test(test_capture__codec_never_reads_past_the_end),
		cmocka_unit_test(test_capture__codec_refuses_overlong_varints_and_huge_lengths),
	};

	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
