/* SPDX-License-Identifier: MIT */
/*
 * The capture file's container (docs/capture-format.md): a versioned header
 * with the caller's payload, then checksummed, deflate-compressed blocks of
 * records (a type byte and a payload each), then an end block written by
 * capture_writer__close().  It knows nothing of what the records mean; the
 * small codec at the end writes and reads their fields.
 *
 * Writer: records are buffered and a block is written whole, with one write()
 * loop, when it is full or at capture_writer__flush(): a tracer killed at any
 * moment leaves a file readable up to its last whole block.  The first write
 * error (ENOSPC, EIO, EPIPE: the caller ignores SIGPIPE) is returned as a
 * negative errno and by every later call; what was written stays readable.
 *
 * Reader: a file cut anywhere reads cleanly up to its last whole block, with
 * capture_reader__complete() false; anything else that is wrong (a checksum,
 * a deflate stream, a record past its block, a limit) is an error whose
 * message names the file, the block and its offset.  Every length is checked
 * against the limits below before anything is allocated, and nothing is read
 * outside the input whatever it holds.
 */
#ifndef MS_CAPTURE_H
#define MS_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAPTURE_MAJOR 1
#define CAPTURE_MINOR 6
/* bytes of the header's fixed part, and of a block header */
#define CAPTURE_FILE_HDR_LEN 24
#define CAPTURE_BLOCK_HDR_LEN 32
/* the largest header payload, and block (uncompressed) */
#define CAPTURE_HEADER_MAX (64u << 10)
#define CAPTURE_BLOCK_MAX (1u << 20)
#define CAPTURE_BLOCK_DEFAULT (256u << 10)

struct capture_writer_opts {
	size_t sz;          /* sizeof(struct capture_writer_opts), for growing it later */
	size_t block_bytes; /* records' bytes a block holds; 0: CAPTURE_BLOCK_DEFAULT, at most CAPTURE_BLOCK_MAX */
	int level;          /* zlib level 1 (fast) to 9 (small); 0: the default, 1 */
};

struct capture_writer_stats {
	uint64_t records; /* records added */
	uint64_t raw;     /* their bytes as framed in blocks, before compression */
	uint64_t blocks;  /* blocks written, the end block included */
	uint64_t written; /* bytes write() took, headers included */
};

struct capture_writer;

/* Writes the file header with hdr (at most CAPTURE_HEADER_MAX bytes) at fd's
 * position.  The fd stays the caller's.  NULL with errno set on failure. */
struct capture_writer *capture_writer__new(int fd, const void *hdr, size_t hdr_len,
					   const struct capture_writer_opts *opts);
/* Buffers one record; writes the current block first when the record does not
 * fit in it.  type 0 is reserved (-EINVAL); a record larger than a block is
 * -EMSGSIZE.  Neither sticks; a write error does. */
int capture_writer__add(struct capture_writer *w, uint8_t type, const void *payload, size_t len);
/* Writes the current block now, if it holds anything. */
int capture_writer__flush(struct capture_writer *w);
/* Flushes and writes the end block: the file is complete.  Does not close fd;
 * later calls but capture_writer__stats() return -EINVAL. */
int capture_writer__close(struct capture_writer *w);
void capture_writer__stats(const struct capture_writer *w, struct capture_writer_stats *st);
/* Frees w (NULL is fine) without writing anything: records not flushed are lost. */
void capture_writer__free(struct capture_writer *w);

struct capture_reader;

/* NULL with errno set and one line in err (when errlen > 0) if the file
 * cannot be read, is not a capture, is of a newer major version or its
 * header is corrupt.  A file cut inside its header opens, with no header
 * and no records. */
struct capture_reader *capture_reader__open(const char *path, char *err, size_t errlen);
/* The same on data the caller keeps until capture_reader__free(); name is
 * what messages call it. */
struct capture_reader *capture_reader__from_mem(const void *data, size_t size, const char *name,
						char *err, size_t errlen);
/* The caller's header payload, NULL (and *len 0) when the file is cut inside it. */
const void *capture_reader__header(const struct capture_reader *r, size_t *len);
/* The format version the file was written with. */
void capture_reader__version(const struct capture_reader *r, uint16_t *major, uint16_t *minor);
/* The next record: 1 and its type and payload (valid until the next call), 0
 * at the end (the end block, or where the file is cut), or a negative errno
 * (-EBADMSG: corrupt; the message is capture_reader__error()).  An error sticks. */
int capture_reader__next(struct capture_reader *r, uint8_t *type, const void **payload,
			 size_t *len);
/* The error's one line, "" when there is none. */
const char *capture_reader__error(const struct capture_reader *r);
/* The end block was read: the writer closed the file. */
bool capture_reader__complete(const struct capture_reader *r);
/* The offset just past the last whole block read: where the readable data ends. */
uint64_t capture_reader__offset(const struct capture_reader *r);
/* The number of the block the last record came from (0 is the first). */
uint64_t capture_reader__block(const struct capture_reader *r);
void capture_reader__free(struct capture_reader *r);

/*
 * The records' codec: LEB128 unsigned varints, zigzag signed ones, and
 * length-prefixed bytes and strings (a NULL string is distinct from "").
 * The encoder grows its buffer (the caller frees p with cap_enc__free());
 * an allocation failure sets bad and makes later calls do nothing, so many
 * fields may be written before one check.  The decoder never reads past end:
 * reading too far sets bad and returns 0 or NULL.
 */
struct cap_enc {
	uint8_t *p;
	size_t len, cap;
	bool bad;
};

int cap_enc__u8(struct cap_enc *e, uint8_t v);
int cap_enc__uv(struct cap_enc *e, uint64_t v);
int cap_enc__sv(struct cap_enc *e, int64_t v);
int cap_enc__bytes(struct cap_enc *e, const void *p, size_t len);
int cap_enc__str(struct cap_enc *e, const char *s);
/* Empties e, keeping its buffer. */
void cap_enc__reset(struct cap_enc *e);
void cap_enc__free(struct cap_enc *e);

struct cap_dec {
	const uint8_t *p, *end;
	bool bad;
};

void cap_dec__init(struct cap_dec *d, const void *p, size_t len);
uint8_t cap_dec__u8(struct cap_dec *d);
uint64_t cap_dec__uv(struct cap_dec *d);
int64_t cap_dec__sv(struct cap_dec *d);
/* Pointers into the payload, *len bytes long. */
const void *cap_dec__bytes(struct cap_dec *d, size_t *len);
/* NULL for a NULL string (bad is not set then) or when bad; the bytes are
 * not NUL-terminated and may hold NULs (they came from the target). */
const char *cap_dec__str(struct cap_dec *d, size_t *len);
/* The string copied into buf, cut to size - 1 bytes and NUL-terminated;
 * NULL (buf holding "") for a NULL string or when bad. */
char *cap_dec__strcpy(struct cap_dec *d, char *buf, size_t size);
/* All was read, and nothing too far. */
bool cap_dec__done(const struct cap_dec *d);

#endif
