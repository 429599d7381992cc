// SPDX-License-Identifier: MIT
/* The capture file's container: header, blocks, records (docs/capture-format.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "capture.h"

/* 0x89 fails a 7-bit channel, \r\n and the lone \n a newline conversion
 * either way, ^Z a DOS 'type' (as PNG's signature) */
static const uint8_t file_magic[8] = { 0x89, 'M', 'S', 'B', '\r', '\n', 0x1a, '\n' };
static const uint8_t block_magic[4] = { 'M', 'S', 'B', 'K' };

enum block_kind { BLOCK_DATA = 0, BLOCK_END = 1 };
enum block_method { METHOD_DEFLATE = 0 };

#define LEVEL_DEFAULT 1
/* deflate's worst case is far below this (5 bytes per 16 KiB stored) */
#define COMP_MAX(raw) ((raw) + (raw) / 64 + 64)
#define UV_MAX_LEN 10

struct block_hdr {
	uint32_t seq;
	uint8_t kind, method;
	uint32_t comp_len, raw_len, nrec, data_crc;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] | (uint16_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc(const void *p, size_t len)
{
	return crc32(crc32(0, Z_NULL, 0), p, len);
}

static size_t uv_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)v | 0x80;
		v >>= 7;
	}
	p[n++] = v;
	return n;
}

/* Bytes read at p (at most end - p), or 0 when the varint runs past end or 64 bits. */
static size_t uv_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (size_t n = 0; n < UV_MAX_LEN && p + n < end; n++) {
		uint8_t b = p[n];

		if (n == UV_MAX_LEN - 1 && b > 1)
			return 0;
		x |= (uint64_t)(b & 0x7f) << (7 * n);
		if (!(b & 0x80)) {
			*v = x;
			return n + 1;
		}
	}
	return 0;
}

static void block_hdr__put(uint8_t *p, const struct block_hdr *h)
{
	memcpy(p, block_magic, 4);
	put32(p + 4, h->seq);
	p[8] = h->kind;
	p[9] = h->method;
	put16(p + 10, 0);
	put32(p + 12, h->comp_len);
	put32(p + 16, h->raw_len);
	put32(p + 20, h->nrec);
	put32(p + 24, h->data_crc);
	put32(p + 28, crc(p, 28));
}

/* ---- writer ---- */

struct capture_writer {
	int fd;
	int err;        /* the first write error, sticky */
	bool closed;
	size_t block_bytes;
	uint8_t *raw;   /* the current block's records */
	size_t raw_len;
	uint32_t nrec;
	uint8_t *out;   /* a block header and the compressed records */
	size_t out_cap;
	z_stream z;
	bool z_ready;
	uint32_t seq;
	struct capture_writer_stats st;
};

static int write_all(struct capture_writer *w, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* a write() that takes nothing without an error: say EIO */
			w->err = n < 0 ? -errno : -EIO;
			return w->err;
		}
		w->st.written += n;
		p += n;
		len -= n;
	}
	return 0;
}

static int write_block(struct capture_writer *w, enum block_kind kind)
{
	struct block_hdr h = { .seq = w->seq, .kind = kind, .method = METHOD_DEFLATE,
			       .raw_len = w->raw_len, .nrec = w->nrec };
	uint8_t *data = w->out + CAPTURE_BLOCK_HDR_LEN;
	int err;

	if (w->raw_len) {
		if (deflateReset(&w->z) != Z_OK)
			return -EINVAL;
		w->z.next_in = w->raw;
		w->z.avail_in = w->raw_len;
		w->z.next_out = data;
		w->z.avail_out = w->out_cap - CAPTURE_BLOCK_HDR_LEN;
		/* the buffer holds deflateBound() of a full block: one call ends it */
		if (deflate(&w->z, Z_FINISH) != Z_STREAM_END)
			return -EINVAL;
		h.comp_len = w->z.total_out;
	}
	h.data_crc = crc(data, h.comp_len);
	block_hdr__put(w->out, &h);
	err = write_all(w, w->out, CAPTURE_BLOCK_HDR_LEN + h.comp_len);
	if (err)
		return err;
	w->seq++;
	w->st.blocks++;
	w->raw_len = 0;
	w->nrec = 0;
	return 0;
}

static int write_file_header(struct capture_writer *w, const void *hdr, size_t hdr_len)
{
	uint8_t *p = w->out;

	memcpy(p, file_magic, 8);
	put16(p + 8, CAPTURE_MAJOR);
	put16(p + 10, CAPTURE_MINOR);
	put32(p + 12, hdr_len);
	put32(p + 16, crc(hdr, hdr_len));
	put32(p + 20, crc(p, 20));
	if (hdr_len)
		memcpy(p + CAPTURE_FILE_HDR_LEN, hdr, hdr_len);
	return write_all(w, p, CAPTURE_FILE_HDR_LEN + hdr_len);
}

static int writer_setup(struct capture_writer *w, const struct capture_writer_opts *opts)
{
	int level = LEVEL_DEFAULT;

	w->block_bytes = CAPTURE_BLOCK_DEFAULT;
	if (opts && opts->sz >= sizeof(*opts)) {
		if (opts->block_bytes > CAPTURE_BLOCK_MAX || opts->level < 0 || opts->level > 9)
			return -EINVAL;
		if (opts->block_bytes)
			w->block_bytes = opts->block_bytes;
		if (opts->level)
			level = opts->level;
	}
	/* raw deflate: the block's CRC32 is the check, zlib's Adler-32 would be a second */
	if (deflateInit2(&w->z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	w->z_ready = true;
	w->out_cap = CAPTURE_BLOCK_HDR_LEN + deflateBound(&w->z, w->block_bytes);
	if (w->out_cap < CAPTURE_FILE_HDR_LEN + CAPTURE_HEADER_MAX)
		w->out_cap = CAPTURE_FILE_HDR_LEN + CAPTURE_HEADER_MAX;
	w->raw = malloc(w->block_bytes);
	w->out = malloc(w->out_cap);
	return w->raw && w->out ? 0 : -ENOMEM;
}

struct capture_writer *capture_writer__new(int fd, const void *hdr, size_t hdr_len,
					   const struct capture_writer_opts *opts)
{
	struct capture_writer *w;
	int err;

	if (fd < 0 || hdr_len > CAPTURE_HEADER_MAX || (hdr_len && !hdr)) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->fd = fd;
	err = writer_setup(w, opts);
	if (!err)
		err = write_file_header(w, hdr, hdr_len);
	if (err) {
		capture_writer__free(w);
		errno = -err;
		return NULL;
	}
	return w;
}

int capture_writer__add(struct capture_writer *w, uint8_t type, const void *payload, size_t len)
{
	uint8_t *p;
	size_t need;
	int err;

	if (w->err)
		return w->err;
	if (w->closed || !type || (len && !payload))
		return -EINVAL;
	if (len > w->block_bytes)
		return -EMSGSIZE;
	need = 1 + UV_MAX_LEN + len;
	if (w->raw_len + need > w->block_bytes) {
		/* the exact framed size decides whether it fits at all */
		uint8_t tmp[UV_MAX_LEN];

		need = 1 + uv_put(tmp, len) + len;
		if (need > w->block_bytes)
			return -EMSGSIZE;
		if (w->raw_len + need > w->block_bytes) {
			err = write_block(w, BLOCK_DATA);
			if (err)
				return err;
		}
	}
	p = w->raw + w->raw_len;
	*p++ = type;
	p += uv_put(p, len);
	if (len)
		memcpy(p, payload, len);
	p += len;
	w->st.raw += p - (w->raw + w->raw_len);
	w->raw_len = p - w->raw;
	w->nrec++;
	w->st.records++;
	return 0;
}

int capture_writer__flush(struct capture_writer *w)
{
	if (w->err)
		return w->err;
	if (w->closed)
		return -EINVAL;
	return w->raw_len ? write_block(w, BLOCK_DATA) : 0;
}

int capture_writer__close(struct capture_writer *w)
{
	int err = capture_writer__flush(w);

	if (err)
		return err;
	err = write_block(w, BLOCK_END);
	if (!err)
		w->closed = true;
	return err;
}

void capture_writer__stats(const struct capture_writer *w, struct capture_writer_stats *st)
{
	*st = w->st;
}

void capture_writer__free(struct capture_writer *w)
{
	if (!w)
		return;
	if (w->z_ready)
		deflateEnd(&w->z);
	free(w->raw);
	free(w->out);
	free(w);
}

/* ---- reader ---- */

struct capture_reader {
	char *name;
	int fd;                 /* -1: reading mem */
	const uint8_t *mem;
	size_t mem_len;
	uint64_t pos;           /* the next byte read() gives */
	uint64_t offset;        /* just past the last whole block */
	uint16_t major, minor;
	uint8_t *hdr;
	size_t hdr_len;
	bool done, complete;
	int err;
	char msg[256];
	uint8_t *comp;          /* the current block's compressed bytes */
	uint8_t *raw;           /* and its records */
	size_t comp_cap, raw_cap;
	const uint8_t *next, *end;
	uint64_t seq;           /* the block expected next */
	uint64_t block;         /* the block the records come from */
	z_stream z;
	bool z_ready;
};

static void reader_fail(struct capture_reader *r, int err, const char *fmt, ...)
{
	int n = snprintf(r->msg, sizeof(r->msg), "'%s': ", r->name);
	va_list ap;

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(r->msg))
		vsnprintf(r->msg + n, sizeof(r->msg) - n, fmt, ap);
	va_end(ap);
	r->err = err;
}

/* Up to len bytes at the reading position: fewer only at the end of the input.
 * A negative errno (and the message) when the file cannot be read. */
static ssize_t reader_fetch(struct capture_reader *r, void *buf, size_t len)
{
	size_t got = 0;

	if (r->fd < 0) {
		if (r->pos < r->mem_len)
			got = r->mem_len - r->pos < len ? r->mem_len - r->pos : len;
		if (got)
			memcpy(buf, r->mem + r->pos, got);
	}
	while (r->fd >= 0 && got < len) {
		ssize_t n = read(r->fd, (uint8_t *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			reader_fail(r, -errno, "cannot read at offset %llu: %s",
				    (unsigned long long)(r->pos + got), strerror(errno));
			return r->err;
		}
		if (n == 0)
			break;
		got += n;
	}
	r->pos += got;
	return got;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (need <= *cap)
		return 0;
	p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

/* 0: read (or the file is cut inside it: done), else an error for open. */
static int read_file_header(struct capture_reader *r)
{
	uint8_t h[CAPTURE_FILE_HDR_LEN];
	ssize_t got = reader_fetch(r, h, sizeof(h));
	uint32_t len;

	if (got < 0)
		return got;
	/* a prefix of the magic is a file cut short, anything else is foreign */
	if (memcmp(h, file_magic, got < 8 ? got : 8)) {
		reader_fail(r, -EINVAL, "not a memscope-bpf capture");
		return r->err;
	}
	if (got >= 10 && get16(h + 8) != CAPTURE_MAJOR) {
		if (get16(h + 8) > CAPTURE_MAJOR)
			reader_fail(r, -EPROTONOSUPPORT,
				    "capture format %u is newer than this memscope-bpf reads (%u)",
				    get16(h + 8), CAPTURE_MAJOR);
		else
			reader_fail(r, -EPROTONOSUPPORT, "capture format %u is not read (%u is)",
				    get16(h + 8), CAPTURE_MAJOR);
		return r->err;
	}
	if (got < (ssize_t)sizeof(h)) {
		r->done = true;
		return 0;
	}
	if (get32(h + 20) != crc(h, 20)) {
		reader_fail(r, -EBADMSG, "header at offset 0: checksum mismatch");
		return r->err;
	}
	r->major = get16(h + 8);
	r->minor = get16(h + 10);
	len = get32(h + 12);
	if (len > CAPTURE_HEADER_MAX) {
		reader_fail(r, -EBADMSG, "header at offset 0: length %u past the limit (%u)",
			    len, CAPTURE_HEADER_MAX);
		return r->err;
	}
	r->hdr = malloc(len ? len : 1);
	if (!r->hdr)
		return -ENOMEM;
	got = reader_fetch(r, r->hdr, len);
	if (got < 0)
		return got;
	if (got < len) {
		free(r->hdr);
		r->hdr = NULL;
		r->done = true;
		return 0;
	}
	if (get32(h + 16) != crc(r->hdr, len)) {
		reader_fail(r, -EBADMSG, "header at offset 0: checksum mismatch");
		return r->err;
	}
	r->hdr_len = len;
	r->offset = r->pos;
	return 0;
}

static struct capture_reader *reader_new(int fd, const void *mem, size_t size, const char *name,
					 char *err, size_t errlen)
{
	struct capture_reader *r = calloc(1, sizeof(*r));
	int e = -ENOMEM;

	if (errlen)
		err[0] = 0;
	if (!r || !(r->name = strdup(name)))
		goto fail;
	r->fd = fd;
	r->mem = mem;
	r->mem_len = size;
	/* raw deflate, as written */
	if (inflateInit2(&r->z, -15) != Z_OK)
		goto fail;
	r->z_ready = true;
	e = read_file_header(r);
	if (e)
		goto fail;
	return r;
fail:
	if (errlen) {
		if (r && r->err)
			snprintf(err, errlen, "%s", r->msg);
		else
			snprintf(err, errlen, "'%s': %s", name, strerror(-e));
	}
	if (r)
		r->fd = -1; /* the caller closes what it opened */
	capture_reader__free(r);
	errno = -e;
	return NULL;
}

struct capture_reader *capture_reader__open(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct capture_reader *r;
	int e;

	if (fd < 0) {
		e = errno;
		if (errlen)
			snprintf(err, errlen, "cannot open '%s': %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	r = reader_new(fd, NULL, 0, path, err, errlen);
	if (!r) {
		e = errno;
		close(fd);
		errno = e;
	}
	return r;
}

struct capture_reader *capture_reader__from_mem(const void *data, size_t size, const char *name,
						char *err, size_t errlen)
{
	return reader_new(-1, data, size, name, err, errlen);
}

const void *capture_reader__header(const struct capture_reader *r, size_t *len)
{
	*len = r->hdr_len;
	return r->hdr;
}

void capture_reader__version(const struct capture_reader *r, uint16_t *major, uint16_t *minor)
{
	*major = r->major;
	*minor = r->minor;
}

/* A block header's fields, checked against each other and the limits before
 * anything is allocated for them. */
static int block_hdr__parse(struct capture_reader *r, const uint8_t *p, struct block_hdr *h,
			    uint64_t at)
{
	const char *why = NULL;

	if (memcmp(p, block_magic, 4))
		why = "not a block header";
	else if (get32(p + 28) != crc(p, 28))
		why = "header checksum mismatch";
	if (why) {
		reader_fail(r, -EBADMSG, "block %llu at offset %llu: %s",
			    (unsigned long long)r->seq, (unsigned long long)at, why);
		return r->err;
	}
	h->seq = get32(p + 4);
	h->kind = p[8];
	h->method = p[9];
	h->comp_len = get32(p + 12);
	h->raw_len = get32(p + 16);
	h->nrec = get32(p + 20);
	h->data_crc = get32(p + 24);
	if (h->seq != (uint32_t)r->seq)
		why = "out of sequence";
	else if (h->raw_len > CAPTURE_BLOCK_MAX)
		why = "records' length past the limit";
	else if (h->comp_len > COMP_MAX(h->raw_len))
		why = "compressed length past the limit";
	else if (h->kind == BLOCK_DATA && h->method != METHOD_DEFLATE)
		why = "unknown compression method";
	else if (h->kind == BLOCK_DATA && (!h->nrec || h->nrec > h->raw_len / 2))
		why = "record count does not fit its length";
	if (why) {
		reader_fail(r, -EBADMSG,
			    "block %llu at offset %llu: %s (sequence %u, kind %u, method %u, "
			    "%u bytes from %u, %u records)",
			    (unsigned long long)r->seq, (unsigned long long)at, why, h->seq, h->kind,
			    h->method, h->comp_len, h->raw_len, h->nrec);
		return r->err;
	}
	return 0;
}

static int inflate_block(struct capture_reader *r, const struct block_hdr *h, uint64_t at)
{
	const char *why;
	int ret;

	if (grow(&r->raw, &r->raw_cap, h->raw_len))
		return -ENOMEM;
	inflateReset(&r->z);
	r->z.next_in = r->comp;
	r->z.avail_in = h->comp_len;
	r->z.next_out = r->raw;
	r->z.avail_out = h->raw_len;
	ret = inflate(&r->z, Z_FINISH);
	if (ret == Z_STREAM_END && !r->z.avail_in && !r->z.avail_out)
		return 0;
	if (ret == Z_MEM_ERROR)
		return -ENOMEM;
	if (ret == Z_STREAM_END)
		why = r->z.avail_out ? "records shorter than the header says" :
				       "bytes after the deflate stream";
	else if (ret == Z_BUF_ERROR && !r->z.avail_out)
		why = "records longer than the header says";
	else if (ret == Z_BUF_ERROR)
		why = "deflate stream cut short";
	else
		why = "bad deflate stream";
	reader_fail(r, -EBADMSG, "block %llu at offset %llu: %s",
		    (unsigned long long)r->seq, (unsigned long long)at, why);
	return r->err;
}

/* Checks the records' framing (type, length within the block, count) before
 * any is returned: a block is read whole or not at all. */
static int frame_block(struct capture_reader *r, const struct block_hdr *h, uint64_t at)
{
	const uint8_t *p = r->raw, *end = r->raw + h->raw_len;
	uint32_t n = 0;

	while (p < end) {
		size_t off = p - r->raw;
		uint64_t len;
		size_t k;

		if (!*p) {
			reader_fail(r, -EBADMSG, "block %llu at offset %llu: record %u (byte %zu): type 0",
				    (unsigned long long)r->seq, (unsigned long long)at, n, off);
			return r->err;
		}
		k = uv_get(p + 1, end, &len);
		if (!k || len > (uint64_t)(end - p - 1 - k)) {
			reader_fail(r, -EBADMSG,
				    "block %llu at offset %llu: record %u (byte %zu): length past the block",
				    (unsigned long long)r->seq, (unsigned long long)at, n, off);
			return r->err;
		}
		p += 1 + k + len;
		n++;
	}
	if (n != h->nrec) {
		reader_fail(r, -EBADMSG, "block %llu at offset %llu: %u records, header says %u",
			    (unsigned long long)r->seq, (unsigned long long)at, n, h->nrec);
		return r->err;
	}
	r->next = r->raw;
	r->end = end;
	return 0;
}

/* Reads the next block: 1 one with records, 2 one skipped, 0 the end (or a
 * cut), <0 an error. */
static int read_block(struct capture_reader *r)
{
	uint8_t p[CAPTURE_BLOCK_HDR_LEN];
	uint64_t at = r->pos;
	struct block_hdr h = { 0 };
	ssize_t got = reader_fetch(r, p, sizeof(p));
	int err;

	if (got < (ssize_t)sizeof(p))
		return got < 0 ? got : 0;
	err = block_hdr__parse(r, p, &h, at);
	if (err)
		return err;
	if (grow(&r->comp, &r->comp_cap, h.comp_len ? h.comp_len : 1))
		return -ENOMEM;
	got = reader_fetch(r, r->comp, h.comp_len);
	if (got < (ssize_t)h.comp_len)
		return got < 0 ? got : 0;
	if (crc(r->comp, h.comp_len) != h.data_crc) {
		reader_fail(r, -EBADMSG, "block %llu at offset %llu: data checksum mismatch",
			    (unsigned long long)r->seq, (unsigned long long)at);
		return r->err;
	}
	if (h.kind == BLOCK_DATA) {
		err = inflate_block(r, &h, at);
		if (!err)
			err = frame_block(r, &h, at);
		if (err)
			return err;
	}
	r->block = r->seq++;
	r->offset = r->pos;
	if (h.kind == BLOCK_END) {
		r->complete = true;
		return 0;
	}
	/* a kind a newer minor version added: checked, then skipped */
	return h.kind == BLOCK_DATA ? 1 : 2;
}

int capture_reader__next(struct capture_reader *r, uint8_t *type, const void **payload,
			 size_t *len)
{
	uint64_t n;
	size_t k;

	while (!r->err && !r->done && r->next == r->end) {
		int ret = read_block(r);

		if (ret < 0 && !r->err)
			reader_fail(r, ret, "block %llu at offset %llu: %s",
				    (unsigned long long)r->seq, (unsigned long long)r->offset,
				    strerror(-ret));
		if (ret <= 0)
			r->done = true;
	}
	if (r->err)
		return r->err;
	if (r->next == r->end)
		return 0;
	/* framed by frame_block(): no check needed */
	*type = r->next[0];
	k = uv_get(r->next + 1, r->end, &n);
	*payload = r->next + 1 + k;
	*len = n;
	r->next += 1 + k + n;
	return 1;
}

const char *capture_reader__error(const struct capture_reader *r)
{
	return r->err ? r->msg : "";
}

bool capture_reader__complete(const struct capture_reader *r)
{
	return r->complete;
}

uint64_t capture_reader__offset(const struct capture_reader *r)
{
	return r->offset;
}

uint64_t capture_reader__block(const struct capture_reader *r)
{
	return r->block;
}

void capture_reader__free(struct capture_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->z_ready)
		inflateEnd(&r->z);
	free(r->name);
	free(r->hdr);
	free(r->comp);
	free(r->raw);
	free(r);
}

/* ---- codec ---- */

static uint8_t *enc_room(struct cap_enc *e, size_t n)
{
	if (e->bad)
		return NULL;
	if (n > e->cap - e->len) {
		size_t cap = e->cap ? e->cap : 64;
		uint8_t *p;

		while (cap - e->len < n) {
			if (cap > SIZE_MAX / 2) {
				e->bad = true;
				return NULL;
			}
			cap *= 2;
		}
		p = realloc(e->p, cap);
		if (!p) {
			e->bad = true;
			return NULL;
		}
		e->p = p;
		e->cap = cap;
	}
	return e->p + e->len;
}

int cap_enc__u8(struct cap_enc *e, uint8_t v)
{
	uint8_t *p = enc_room(e, 1);

	if (!p)
		return -ENOMEM;
	*p = v;
	e->len++;
	return 0;
}

int cap_enc__uv(struct cap_enc *e, uint64_t v)
{
	uint8_t *p = enc_room(e, UV_MAX_LEN);

	if (!p)
		return -ENOMEM;
	e->len += uv_put(p, v);
	return 0;
}

int cap_enc__sv(struct cap_enc *e, int64_t v)
{
	/* zigzag: small magnitudes either side of 0 stay short */
	return cap_enc__uv(e, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

int cap_enc__bytes(struct cap_enc *e, const void *p, size_t len)
{
	uint8_t *q;

	if (cap_enc__uv(e, len) || !(q = enc_room(e, len)))
		return -ENOMEM;
	if (len)
		memcpy(q, p, len);
	e->len += len;
	return 0;
}

int cap_enc__str(struct cap_enc *e, const char *s)
{
	size_t len;
	uint8_t *q;

	/* length + 1, so that 0 is NULL */
	if (!s)
		return cap_enc__uv(e, 0);
	len = strlen(s);
	if (cap_enc__uv(e, (uint64_t)len + 1) || !(q = enc_room(e, len)))
		return -ENOMEM;
	memcpy(q, s, len);
	e->len += len;
	return 0;
}

void cap_enc__reset(struct cap_enc *e)
{
	e->len = 0;
	e->bad = false;
}

void cap_enc__free(struct cap_enc *e)
{
	free(e->p);
	*e = (struct cap_enc){ 0 };
}

void cap_dec__init(struct cap_dec *d, const void *p, size_t len)
{
	d->p = p;
	d->end = d->p + len;
	d->bad = false;
}

uint8_t cap_dec__u8(struct cap_dec *d)
{
	if (d->bad || d->p >= d->end) {
		d->bad = true;
		return 0;
	}
	return *d->p++;
}

uint64_t cap_dec__uv(struct cap_dec *d)
{
	uint64_t v;
	size_t k;

	if (d->bad || !(k = uv_get(d->p, d->end, &v))) {
		d->bad = true;
		return 0;
	}
	d->p += k;
	return v;
}

int64_t cap_dec__sv(struct cap_dec *d)
{
	uint64_t v = cap_dec__uv(d);

	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* n bytes at the position, or NULL (bad) when fewer are left. */
static const uint8_t *dec_take(struct cap_dec *d, uint64_t n)
{
	const uint8_t *p = d->p;

	if (d->bad || n > (uint64_t)(d->end - d->p)) {
		d->bad = true;
		return NULL;
	}
	d->p += n;
	return p;
}

const void *cap_dec__bytes(struct cap_dec *d, size_t *len)
{
	uint64_t n = cap_dec__uv(d);
	const uint8_t *p = dec_take(d, n);

	*len = p ? n : 0;
	return p;
}

const char *cap_dec__str(struct cap_dec *d, size_t *len)
{
	uint64_t n = cap_dec__uv(d);
	const uint8_t *p;

	*len = 0;
	if (!n)
		return NULL;
	p = dec_take(d, n - 1);
	if (p)
		*len = n - 1;
	return (const char *)p;
}

char *cap_dec__strcpy(struct cap_dec *d, char *buf, size_t size)
{
	size_t len;
	const char *s = cap_dec__str(d, &len);

	if (!size)
		return NULL;
	buf[0] = 0;
	if (!s)
		return NULL;
	if (len > size - 1)
		len = size - 1;
	memcpy(buf, s, len);
	buf[len] = 0;
	return buf;
}

bool cap_dec__done(const struct cap_dec *d)
{
	return !d->bad && d->p == d->end;
}
