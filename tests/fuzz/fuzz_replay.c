// SPDX-License-Identifier: MIT
/*
 * `memscope-bpf report` on hostile captures: the records (user/record/recording.c)
 * as the model and the report take them.  The container's checks are
 * fuzz_capture's; here the input is a list of records, each
 *   u8 type, u16 length (little-endian), that many bytes of payload,
 * written into a well-formed capture (closed, or cut short when the first
 * byte is odd), so that every mutation reaches the records' decoding, the
 * model and the reports (JSON and text written to /dev/null).
 */
#include <fcntl.h>

#include "capture.h"
#include "fuzz.h"
#include "recording.h"
#include "report_input.h"

static void report_on(const char *path)
{
	struct replay *rp = replay__open(path);
	struct report *r;
	FILE *null;

	if (!rp)
		return;
	r = report__build(replay__input(rp));
	null = fopen("/dev/null", "w");
	if (!null)
		abort();
	report__write_json(r, null);
	report__write_text(r, null, 10);
	fclose(null);
	report__free(r);
	replay__free(rp);
}

/*
 * A capture's unnamed frames are looked up again by build id: not here (the
 * records are under test, not this machine's debug files, whose loading
 * would cost each run ~0.1 s), and never on a server.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsetenv("DEBUGINFOD_URLS");
	setenv("MEMSCOPE_DEBUGINFO_PATH", "/nonexistent", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capture_writer_opts wo = { .sz = sizeof(wo), .block_bytes = 4096 };
	int fd = memfd_create("fuzz-replay", MFD_CLOEXEC);
	struct capture_writer *w;
	bool cut;
	char path[64];

	if (fd < 0)
		abort();
	if (size < 1) {
		close(fd);
		return 0;
	}
	cut = data[0] & 1;
	data++;
	size--;
	w = capture_writer__new(fd, "fuzz", 4, &wo);
	if (!w)
		abort();
	while (size >= 3) {
		uint8_t type = data[0];
		size_t len = data[1] | (size_t)data[2] << 8;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		/* type 0 and records over a block are refused: skipped like the writer does */
		capture_writer__add(w, type, data, len);
		data += len;
		size -= len;
	}
	if (cut)
		capture_writer__flush(w);
	else
		capture_writer__close(w);
	capture_writer__free(w);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	report_on(path);
	close(fd);
	return 0;
}
