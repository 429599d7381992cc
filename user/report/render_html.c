// SPDX-License-Identifier: MIT
/*
 * The self-contained HTML report (docs/html-report.md): the page template
 * user/report/html/report.html with its stylesheet, its script, the vendored
 * libraries and the JSON report embedded, so the file works offline.
 *
 * The template marks where each asset goes with "<!--@name-->".  The JSON is
 * streamed through a filter that drops the pretty-printing whitespace and
 * writes every '<' as \u003c: json_writer already escapes '<' in strings and
 * JSON has no '<' outside them, so this is a second guarantee that nothing
 * from the target can close the <script> element it sits in.
 *
 * A third: the page's Content-Security-Policy allows only the scripts whose
 * SHA-256 it lists (ours, hashed here), loads nothing from anywhere, and so
 * would neither run nor fetch markup that escaped despite the above (an
 * onerror= attribute, an injected <script>).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

#define ASSET(name)                                                    \
	extern const char name[];                                      \
	extern const uint64_t name##_len

ASSET(ms_html_page);
ASSET(ms_html_css);
ASSET(ms_html_js);
ASSET(ms_html_d3_js);
ASSET(ms_html_flamegraph_js);
ASSET(ms_html_uplot_js);
ASSET(ms_html_uplot_css);

/* ---- SHA-256 (FIPS 180-4), for the policy's script hashes ---- */

struct sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	uint64_t len;
};

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
	return x >> n | x << (32 - n);
}

static void sha256_block(struct sha256 *c, const uint8_t *p)
{
	uint32_t w[64], v[8], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
		       p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = w[i - 16] + (ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3) + w[i - 7] +
		       (ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10);
	memcpy(v, c->h, sizeof(v));
	for (i = 0; i < 64; i++) {
		t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) + ((v[4] & v[5]) ^ (~v[4] & v[6])) +
		     sha256_k[i] + w[i];
		t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
		     ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		c->h[i] += v[i];
}

static void sha256(const void *data, size_t len, uint8_t out[32])
{
	struct sha256 c = { .h = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f,
				   0x9b05688c, 0x1f83d9ab, 0x5be0cd19 } };
	const uint8_t *p = data;
	size_t i, rest;

	for (i = 0; i + 64 <= len; i += 64)
		sha256_block(&c, p + i);
	rest = len - i;
	memcpy(c.buf, p + i, rest);
	c.buf[rest++] = 0x80;
	if (rest > 56) {
		memset(c.buf + rest, 0, 64 - rest);
		sha256_block(&c, c.buf);
		rest = 0;
	}
	memset(c.buf + rest, 0, 56 - rest);
	c.len = (uint64_t)len * 8;
	for (i = 0; i < 8; i++)
		c.buf[56 + i] = c.len >> (56 - 8 * i);
	sha256_block(&c, c.buf);
	for (i = 0; i < 32; i++)
		out[i] = c.h[i / 4] >> (24 - 8 * (i % 4));
}

/* 'sha256-BASE64' for the Content-Security-Policy */
static int write_script_hash(FILE *f, const char *script, size_t len)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t d[33] = { 0 };
	char out[45];
	int n = 0;

	sha256(script, len, d);
	for (int i = 0; i < 33; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];

		out[n++] = b64[v >> 18 & 63];
		out[n++] = b64[v >> 12 & 63];
		out[n++] = b64[v >> 6 & 63];
		out[n++] = b64[v & 63];
	}
	out[43] = '='; /* 32 bytes: 43 digits and one pad */
	out[44] = 0;
	return fprintf(f, " 'sha256-%s'", out) < 0 ? -EIO : 0;
}

struct json_filter {
	FILE *out;
	bool in_string;
	bool escaped; /* the previous byte in a string was a backslash */
};

static ssize_t json_filter_write(void *cookie, const char *buf, size_t size)
{
	struct json_filter *jf = cookie;

	for (size_t i = 0; i < size; i++) {
		char c = buf[i];

		if (jf->in_string) {
			if (jf->escaped)
				jf->escaped = false;
			else if (c == '\\')
				jf->escaped = true;
			else if (c == '"')
				jf->in_string = false;
		} else if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
			continue;
		} else if (c == '"') {
			jf->in_string = true;
		}
		if (c == '<' ? fputs("\\u003c", jf->out) < 0 : putc(c, jf->out) == EOF)
			return -1;
	}
	return size;
}

static int write_json(const struct report *r, FILE *f)
{
	struct json_filter jf = { .out = f };
	cookie_io_functions_t io = { .write = json_filter_write };
	FILE *jsf = fopencookie(&jf, "w", io);
	int err;

	if (!jsf)
		return -errno;
	err = report__write_json(r, jsf);
	if (fclose(jsf) != 0 && !err)
		err = -EIO;
	return err;
}

static int write_asset(FILE *f, const char *name, size_t len, const struct report *r)
{
	static const struct {
		const char *name;
		const char *data;
		const uint64_t *len;
		bool script;
	} assets[] = {
		{ "css", ms_html_css, &ms_html_css_len, false },
		{ "js", ms_html_js, &ms_html_js_len, true },
		{ "d3", ms_html_d3_js, &ms_html_d3_js_len, true },
		{ "flamegraph", ms_html_flamegraph_js, &ms_html_flamegraph_js_len, true },
		{ "uplot", ms_html_uplot_js, &ms_html_uplot_js_len, true },
		{ "uplot-css", ms_html_uplot_css, &ms_html_uplot_css_len, false },
	};

	if (len == 4 && !memcmp(name, "data", 4))
		return write_json(r, f);
	if (len == 13 && !memcmp(name, "script-hashes", 13)) {
		/* every asset that goes into a <script> element of the template */
		int err = 0;

		for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]) && !err; i++)
			if (assets[i].script)
				err = write_script_hash(f, assets[i].data, *assets[i].len);
		return err;
	}
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		if (strlen(assets[i].name) != len || memcmp(assets[i].name, name, len))
			continue;
		return fwrite(assets[i].data, 1, *assets[i].len, f) == *assets[i].len ? 0 : -EIO;
	}
	return -EINVAL; /* the template names an asset we do not have */
}

int report__write_html(const struct report *r, FILE *f)
{
	const char *p = ms_html_page, *end = ms_html_page + ms_html_page_len;
	int err = 0;

	while (!err && p < end) {
		const char *mark = memmem(p, end - p, "<!--@", 5);
		const char *name, *close;

		if (!mark) {
			if (fwrite(p, 1, end - p, f) != (size_t)(end - p))
				err = -EIO;
			break;
		}
		if (fwrite(p, 1, mark - p, f) != (size_t)(mark - p)) {
			err = -EIO;
			break;
		}
		name = mark + 5;
		close = memmem(name, end - name, "-->", 3);
		if (!close) {
			err = -EINVAL;
			break;
		}
		err = write_asset(f, name, close - name, r);
		p = close + 3;
	}
	if (!err && ferror(f))
		err = -EIO;
	return err;
}
