// SPDX-License-Identifier: MIT
/*
 * The capture reader (user/record/capture.c) on hostile files, and the records'
 * codec.  The first byte chooses how the rest is used:
 *   0  the file as it is (through a memfd and capture_reader__open() when
 *      bit 7 is set, else capture_reader__from_mem());
 *   1  the file with its checksums made right, so that the fuzzer reaches
 *      the limits, lengths and deflate streams behind them;
 *   2  blocks built from chunks (kind, method, record count, the records'
 *      bytes), deflated and sealed: the records' framing;
 *   3  records given to the writer and read back: they must come back equal;
 *   4  a program of decoder calls on the bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <zlib.h>

#include "capture.h"
#include "fuzz.h"

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

/* Reads the whole capture, checking what must hold for any input. */
static void read_capture(struct capture_reader *r, size_t size, const char *name)
{
	uint64_t last = capture_reader__offset(r), sum = 0;
	const void *payload;
	size_t len;
	uint8_t type;
	int ret;

	if (capture_reader__header(r, &len) && len > CAPTURE_HEADER_MAX)
		fuzz_fail("a header of %zu bytes", len);
	while ((ret = capture_reader__next(r, &type, &payload, &len)) == 1) {
		if (!type || len > CAPTURE_BLOCK_MAX)
			fuzz_fail("a record of type %u, %zu bytes", type, len);
		/* every byte touched: ASan sees a payload outside its buffer */
		for (size_t i = 0; i < len; i++)
			sum += ((const uint8_t *)payload)[i];
		if (capture_reader__offset(r) < last || capture_reader__offset(r) > size)
			fuzz_fail("offset %llu after %llu", (unsigned long long)capture_reader__offset(r),
				  (unsigned long long)last);
		last = capture_reader__offset(r);
	}
	if (ret < 0) {
		const char *msg = capture_reader__error(r);

		if (msg[0] != '\'' || strncmp(msg + 1, name, strlen(name)) || strchr(msg, '\n') ||
		    capture_reader__complete(r))
			fuzz_fail("error %d: '%s'", ret, msg);
		if (capture_reader__next(r, &type, &payload, &len) != ret)
			fuzz_fail("an error that does not stick");
	} else if (ret != 0 || *capture_reader__error(r)) {
		fuzz_fail("next returned %d, error '%s'", ret, capture_reader__error(r));
	}
	if (capture_reader__offset(r) > size)
		fuzz_fail("offset past the input");
	(void)sum;
}

static void read_mem(const uint8_t *data, size_t size, bool via_file)
{
	struct capture_reader *r;
	char err[256];

	if (via_file) {
		int fd = fuzz_memfd(data, size);
		char path[64];

		if (fd < 0)
			return;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		r = capture_reader__open(path, err, sizeof(err));
		close(fd);
		if (r)
			read_capture(r, size, path);
		else if (strncmp(err, "'/proc/self/fd/", 15) || strchr(err, '\n'))
			fuzz_fail("open: '%s'", err);
		capture_reader__free(r);
		return;
	}
	r = capture_reader__from_mem(data, size, "fuzz", err, sizeof(err));
	if (r)
		read_capture(r, size, "fuzz'");
	else if (strncmp(err, "'fuzz': ", 8) || strchr(err, '\n'))
		fuzz_fail("from_mem: '%s'", err);
	capture_reader__free(r);
}

/* The file header's and each block's checksums set to match what follows them. */
static void seal(uint8_t *p, size_t size)
{
	size_t at, len;

	if (size < CAPTURE_FILE_HDR_LEN)
		return;
	len = get32(p + 12);
	at = CAPTURE_FILE_HDR_LEN;
	if (len <= size - at)
		put32(p + 16, crc32(0, p + at, len));
	put32(p + 20, crc32(0, p, 20));
	at += len < size - at ? len : size - at;
	while (size - at >= CAPTURE_BLOCK_HDR_LEN) {
		uint8_t *b = p + at;
		size_t data = size - at - CAPTURE_BLOCK_HDR_LEN;

		len = get32(b + 12);
		put32(b + 24, crc32(0, b + CAPTURE_BLOCK_HDR_LEN, len < data ? len : data));
		put32(b + 28, crc32(0, b, 28));
		if (len > data)
			break;
		at += CAPTURE_BLOCK_HDR_LEN + len;
	}
}

static void read_sealed(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);

	memcpy(p, data, size);
	seal(p, size);
	read_mem(p, size, false);
	free(p);
}

/* Chunks: kind, method, record count, length (u16), the records' bytes. */
static void read_built(const uint8_t *data, size_t size)
{
	/* each chunk of 5 bytes or more: a 32-byte header, deflate's few bytes more */
	size_t cap = 64 + 12 * size, at = 0, len = 0;
	uint8_t *p = calloc(1, cap);
	uint32_t seq = 0;

	memcpy(p, "\x89MSB\r\n\x1a\n\x01\x00\x00\x00", 12);
	len = CAPTURE_FILE_HDR_LEN;
	while (size - at >= 5) {
		const uint8_t *c = data + at;
		size_t raw = c[3] | (size_t)c[4] << 8;
		uint8_t *b = p + len;
		uLongf comp;
		z_stream z = { 0 };

		if (raw > size - at - 5)
			raw = size - at - 5;
		memcpy(b, "MSBK", 4);
		put32(b + 4, seq++);
		b[8] = c[0] % 4;
		b[9] = c[1] % 2;
		put32(b + 16, raw);
		put32(b + 20, c[2]);
		if (deflateInit2(&z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			abort();
		z.next_in = (uint8_t *)c + 5;
		z.avail_in = raw;
		z.next_out = b + CAPTURE_BLOCK_HDR_LEN;
		z.avail_out = cap - len - CAPTURE_BLOCK_HDR_LEN;
		if (deflate(&z, Z_FINISH) != Z_STREAM_END)
			abort();
		comp = z.total_out;
		deflateEnd(&z);
		put32(b + 12, comp);
		len += CAPTURE_BLOCK_HDR_LEN + comp;
		at += 5 + raw;
	}
	seal(p, len);
	read_mem(p, len, false);
	free(p);
}

/* The next record of round_trip()'s input at *at: 0 when none is left. */
static int next_rec(const uint8_t *data, size_t size, size_t *at, uint8_t *type, size_t *len)
{
	if (size - *at < 2)
		return 0;
	*type = data[*at];
	*len = data[*at + 1] < size - *at - 2 ? data[*at + 1] : size - *at - 2;
	*at += 2;
	return 1;
}

/* Records (type, length, bytes; type 0 flushes) written and read back. */
static void round_trip(const uint8_t *data, size_t size)
{
	struct capture_writer_opts opts = { .sz = sizeof(opts) };
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	struct capture_writer *w;
	struct capture_reader *r;
	size_t at = 1, n = 0, len, got;
	const void *payload;
	uint8_t type, t, *file;
	off_t end;

	if (fd < 0 || !size)
		return;
	opts.block_bytes = 16 + data[0] * 8;
	w = capture_writer__new(fd, data, size < 16 ? size : 16, &opts);
	if (!w)
		fuzz_fail("writer: %s", strerror(errno));
	for (; next_rec(data, size, &at, &type, &len); at += len) {
		/* a record longer than a block is refused, and only that */
		bool fits = 1 + (len < 128 ? 1 : 2) + len <= opts.block_bytes;
		int ret = type ? capture_writer__add(w, type, data + at, len) : capture_writer__flush(w);

		if (ret != (fits || !type ? 0 : -EMSGSIZE))
			fuzz_fail("add: %d", ret);
	}
	if (capture_writer__close(w))
		fuzz_fail("close");
	capture_writer__free(w);
	end = lseek(fd, 0, SEEK_END);
	file = malloc(end);
	if (pread(fd, file, end, 0) != end)
		fuzz_fail("pread");
	close(fd);
	r = capture_reader__from_mem(file, end, "fuzz", NULL, 0);
	if (!r)
		fuzz_fail("a capture just written does not open");
	for (at = 1; next_rec(data, size, &at, &type, &len); at += len) {
		if (!type || 1 + (len < 128 ? 1 : 2) + len > opts.block_bytes)
			continue;
		if (capture_reader__next(r, &t, &payload, &got) != 1 || t != type || got != len ||
		    memcmp(payload, data + at, len))
			fuzz_fail("record %zu not read back", n);
		n++;
	}
	if (capture_reader__next(r, &t, &payload, &got) != 0 || !capture_reader__complete(r) ||
	    capture_reader__offset(r) != (uint64_t)end)
		fuzz_fail("not read to its end");
	capture_reader__free(r);
	free(file);
}

/* A program of decoder calls: whatever it reads, it stays inside the bytes. */
static void decode(const uint8_t *data, size_t size)
{
	size_t ops = size ? data[0] : 0, len;
	uint8_t *copy = malloc(size ? size : 1);
	struct cap_dec d;
	char buf[16] = { 0 };

	memcpy(copy, data, size);
	cap_dec__init(&d, copy, size);
	for (size_t i = 0; i < ops; i++) {
		const uint8_t *before = d.p;
		bool bad = d.bad;
		const char *s;

		switch (i % 6) {
		case 0: cap_dec__u8(&d); break;
		case 1: cap_dec__uv(&d); break;
		case 2: cap_dec__sv(&d); break;
		case 3: cap_dec__bytes(&d, &len); break;
		case 4:
			s = cap_dec__str(&d, &len);
			for (size_t k = 0; s && k < len; k++)
				buf[0] ^= s[k];
			break;
		default:
			if (cap_dec__strcpy(&d, buf, sizeof(buf)) && strlen(buf) >= sizeof(buf))
				fuzz_fail("strcpy past its buffer");
		}
		if (d.p < before || d.p > d.end || (bad && (!d.bad || d.p != before)))
			fuzz_fail("decoder moved outside the bytes");
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] & 0x7f) {
	case 0: read_mem(data + 1, size - 1, data[0] & 0x80); break;
	case 1: read_sealed(data + 1, size - 1); break;
	case 2: read_built(data + 1, size - 1); break;
	case 3: round_trip(data + 1, size - 1); break;
	case 4: decode(data + 1, size - 1); break;
	}
	return 0;
}
