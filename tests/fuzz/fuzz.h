/* SPDX-License-Identifier: MIT */
/*
 * Helpers the libFuzzer targets share (tests/fuzz/fuzz_*.c, `make fuzz`).
 * A target checks what must hold for any input and calls fuzz_fail() when it
 * does not: libFuzzer then keeps the input as a crash.
 */
#ifndef MS_FUZZ_H
#define MS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define fuzz_fail(...)                                                   \
	do {                                                             \
		fprintf(stderr, "fuzz: " __VA_ARGS__);                   \
		fputc('\n', stderr);                                     \
		abort();                                                 \
	} while (0)

/* The input as a C string, in a buffer of exactly its length + 1 (ASan sees over-reads). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

/* The input as the contents of an anonymous file, open at offset 0; -1 on failure. */
static inline int fuzz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < size) {
		ssize_t r = write(fd, data + done, size - done);

		if (r <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)r;
	}
	return fd;
}

#endif
