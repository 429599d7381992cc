// SPDX-License-Identifier: MIT
/*
 * embed_json IN.json OUT.html: the HTML report of an existing JSON report,
 * through the real renderer (user/report/render_html.c and the embedded assets),
 * with report__write_json() replaced by a copy of IN.json.  For the HTML
 * tests' hand-made fixtures, for bench/ (large synthetic reports), and for
 * working on the page without tracing anything.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct report;
int report__write_json(const struct report *r, FILE *f);
int report__write_html(const struct report *r, FILE *f);

static const char *json_path;

int report__write_json(const struct report *r, FILE *f)
{
	char buf[65536];
	size_t n;
	FILE *in = fopen(json_path, "r");
	int err = 0;

	if (!in)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, f) != n) {
			err = -EIO;
			break;
		}
	if (ferror(in))
		err = -EIO;
	fclose(in);
	return err;
}

int main(int argc, char **argv)
{
	FILE *out;
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: embed_json IN.json OUT.html\n");
		return 2;
	}
	json_path = argv[1];
	out = fopen(argv[2], "w");
	if (!out) {
		fprintf(stderr, "embed_json: cannot write '%s': %s\n", argv[2], strerror(errno));
		return 1;
	}
	err = report__write_html(NULL, out);
	if (fclose(out) != 0 && !err)
		err = -EIO;
	if (err) {
		fprintf(stderr, "embed_json: cannot render '%s': %s\n", argv[1], strerror(-err));
		return 1;
	}
	return 0;
}
