// SPDX-License-Identifier: MIT
/*
 * synth_report [STACKS] > report.json: a synthetic JSON report
 * (docs/report-format.md) with STACKS distinct allocation stacks (default
 * 10000), for measuring how the HTML report copes with a large profile
 * (bench/README.md, docs/html-report.md).  Deterministic: the same STACKS
 * always gives the same file.
 *
 * Stacks share prefixes the way real ones do (a call tree, 5-22 frames deep,
 * 1,500 functions in 40 files and 3 modules); sizes and counts are skewed so
 * that a few sites dominate.  8 threads, 600 timeline samples, a window
 * entry per stack and bucket it allocated in, per-thread sites.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

#define NFUNCS 1500
#define NFILES 40
#define NTHREADS 8
#define NSAMPLES 600
#define NBUCKETS 200
#define BUCKET_US 50000

static unsigned depth_of(unsigned i)
{
	return 5 + mix(i * 7 + 1) % 18;
}

/* Frame j (root first) of stack i: prefixes shared by stacks with equal high bits */
static unsigned func_of(unsigned i, unsigned j, unsigned depth)
{
	unsigned shift = j < 6 ? 14 - 2 * j : 0;
	uint64_t key = j < 6 ? (i >> shift) : i;

	if (j == 0)
		return 0; /* main */
	return 1 + mix(key * 131 + j * 7919 + (j >= 6 ? depth : 0)) % (NFUNCS - 1);
}

static void frame(unsigned f, int first)
{
	unsigned file = f % NFILES;
	int lib = f % 17 == 3;

	printf("%s{\"ip\":\"0x%" PRIx64 "\",\"function\":\"%s_%u\",\"file\":\"src/module_%u/part_%u.c\","
	       "\"line\":%u,\"module\":\"%s\",\"inlined\":%s}",
	       first ? "" : ",", (uint64_t)0x555555554000ull + f * 64 + 13,
	       f ? (lib ? "lib_helper" : "compute_step") : "main", f, file / 8, file,
	       20 + f % 900, lib ? "/usr/lib/x86_64-linux-gnu/libsynth.so.1" : "/opt/synth/bin/synth",
	       f % 29 == 5 ? "true" : "false");
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10000;
	uint64_t tot_alloc = 0, tot_bytes = 0, live_n = 0, live_b = 0, temp = 0;
	uint64_t *allocs = calloc(n + 1, 8), *bytes = calloc(n + 1, 8), *live = calloc(n + 1, 8);
	uint64_t *liveb = calloc(n + 1, 8);

	if (!allocs || !bytes || !live || !liveb || !n)
		return 1;
	for (unsigned i = 1; i <= n; i++) {
		uint64_t r = mix(i);
		/* skewed: a few big sites, many small ones */
		allocs[i] = 1 + (r % 1000 < 20 ? r % 100000 : r % 300);
		bytes[i] = allocs[i] * (16 + (r >> 20) % 4096);
		live[i] = (r >> 40) % 5 == 0 ? 1 + (r >> 44) % (allocs[i] < 50 ? allocs[i] : 50) : 0;
		liveb[i] = live[i] * (bytes[i] / allocs[i]);
		tot_alloc += allocs[i];
		tot_bytes += bytes[i];
		live_n += live[i];
		live_b += liveb[i];
		temp += allocs[i] / 3;
	}
	printf("{\"schema\":\"memscope-bpf/report/1\",\"version\":\"0.1.0\",");
	printf("\"target\":{\"pid\":4242,\"comm\":\"synth\",\"cmdline\":\"/opt/synth/bin/synth --stacks %u\","
	       "\"launched\":true,\"exited\":true,\"exit_status\":0,\"exit_signal\":null,"
	       "\"exit\":\"exited with status 0\"},", n);
	printf("\"tracing\":{\"stacks\":\"frame-pointer\",\"free_stacks\":\"caller-only\",\"probes\":17,"
	       "\"allocators\":[\"/lib/x86_64-linux-gnu/libc.so.6\"],\"interval_us\":%u,"
	       "\"leak_rule\":\"live at exit\",\"min_age_us\":0},", NBUCKETS * BUCKET_US / NSAMPLES);
	printf("\"summary\":{\"allocations\":%" PRIu64 ",\"frees\":%" PRIu64 ",\"bytes_allocated\":%" PRIu64
	       ",\"bytes_freed\":%" PRIu64 ",\"peak_bytes\":%" PRIu64 ",\"peak_t_us\":%u,"
	       "\"live_allocations\":%" PRIu64 ",\"live_bytes\":%" PRIu64 ",\"leaked_allocations\":%" PRIu64
	       ",\"leaked_bytes\":%" PRIu64 ",\"temporary_allocations\":%" PRIu64 ",\"failed_allocations\":0,"
	       "\"lost_events\":0,\"lost_stacks\":0,\"unknown_frees\":0,\"duration_us\":%u},",
	       tot_alloc, tot_alloc - live_n, tot_bytes, tot_bytes - live_b, live_b * 3, NBUCKETS * BUCKET_US / 2,
	       live_n, live_b, live_n, live_b, temp, NBUCKETS * BUCKET_US);
	printf("\"stacks\":[");
	for (unsigned i = 1; i <= n; i++) {
		unsigned d = depth_of(i);

		printf("%s{\"id\":%u,\"truncated\":false,\"frames\":[", i > 1 ? "," : "", i);
		for (unsigned k = 0; k < d; k++) /* innermost first */
			frame(func_of(i, d - 1 - k, d), k == 0);
		printf("],\"site_frame\":0}");
	}
	printf("],\"leaks\":[");
	for (unsigned i = 1, first = 1; i <= n; i++) {
		if (!live[i])
			continue;
		printf("%s{\"stack\":%u,\"count\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"oldest_age_us\":%" PRIu64
		       ",\"variables\":[]}", first ? "" : ",", i, live[i], liveb[i], mix(i) % 9000000);
		first = 0;
	}
	printf("],\"findings\":[{\"kind\":\"double_free\",\"ptr\":\"0x5555deadbee0\",\"stack\":1,"
	       "\"alloc_stack\":2,\"free_stack\":3,\"thread\":4242,\"t_us\":120000,\"occurrences\":3,"
	       "\"function\":\"free\",\"alloc_function\":\"malloc\",\"free_function\":\"free\","
	       "\"message\":\"free of 0x5555deadbee0, already released by free\"}],");
	printf("\"sites\":[");
	for (unsigned i = 1; i <= n; i++)
		printf("%s{\"stack\":%u,\"allocations\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"live_count\":%" PRIu64
		       ",\"live_bytes\":%" PRIu64 ",\"peak_count\":%" PRIu64 ",\"peak_bytes\":%" PRIu64
		       ",\"temporary\":%" PRIu64 "}", i > 1 ? "," : "", i, allocs[i], bytes[i], live[i], liveb[i],
		       live[i] * 3, liveb[i] * 3, allocs[i] / 3);
	printf("],\"threads\":[");
	for (unsigned t = 0; t < NTHREADS; t++)
		printf("%s{\"tid\":%u,\"name\":\"%s%u\",\"allocations\":%" PRIu64 ",\"bytes\":%" PRIu64
		       ",\"frees\":%" PRIu64 ",\"live_count\":%" PRIu64 ",\"live_bytes\":%" PRIu64
		       ",\"temporary\":%" PRIu64 "}", t ? "," : "", 4242 + t, t ? "worker-" : "synth", t,
		       tot_alloc / NTHREADS, tot_bytes / NTHREADS, (tot_alloc - live_n) / NTHREADS,
		       live_n / NTHREADS, live_b / NTHREADS, temp / NTHREADS);
	printf("],\"thread_sites\":[");
	for (unsigned i = 1; i <= n; i++)
		printf("%s[%u,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]", i > 1 ? "," : "",
		       4242 + i % NTHREADS, i, allocs[i], bytes[i], live[i], liveb[i], allocs[i] / 3);
	printf("],\"timeline\":[");
	for (unsigned s = 0; s < NSAMPLES; s++) {
		double x = (double)s / NSAMPLES;
		uint64_t heap = (uint64_t)(live_b * 3 * (x < 0.5 ? 2 * x : 1.0 - (1.0 - 1.0 / 3) * (x - 0.5) * 2));

		printf("%s{\"t_us\":%u,\"live_bytes\":%" PRIu64 ",\"allocations\":%" PRIu64 ",\"frees\":%" PRIu64
		       ",\"rss_bytes\":%" PRIu64 "}", s ? "," : "", (s + 1) * (NBUCKETS * BUCKET_US / NSAMPLES),
		       heap, tot_alloc / NSAMPLES + mix(s) % 100, tot_alloc / NSAMPLES, heap + 8 * 1024 * 1024);
	}
	printf("],\"peak\":{\"t_us\":%u,\"bytes\":%" PRIu64 ",\"sites\":[", NBUCKETS * BUCKET_US / 2, live_b * 3);
	for (unsigned i = 1, first = 1; i <= n; i++) {
		if (!live[i])
			continue;
		printf("%s{\"stack\":%u,\"bytes\":%" PRIu64 ",\"count\":%" PRIu64 "}", first ? "" : ",", i,
		       liveb[i] * 3, live[i] * 3);
		first = 0;
	}
	printf("]},\"histograms\":{\"sizes\":[");
	for (unsigned b = 4; b < 14; b++)
		printf("%s{\"max\":%u,\"count\":%" PRIu64 "}", b > 4 ? "," : "", (1u << b) - 1, tot_alloc / (b + 1));
	printf("],\"lifetimes_us\":[");
	for (unsigned b = 1; b < 20; b++)
		printf("%s{\"max\":%u,\"count\":%" PRIu64 "}", b > 1 ? "," : "", (1u << b) - 1, tot_alloc / (b + 3));
	printf("]},\"windows\":{\"bucket_us\":%u,\"origin_us\":0,\"entries\":[", BUCKET_US);
	for (unsigned i = 1, first = 1; i <= n; i++) {
		unsigned a = mix(i * 3) % NBUCKETS, k = 1 + mix(i * 5) % 4;

		for (unsigned j = 0; j < k && a + j < NBUCKETS; j++) {
			int freed = j + 1 < k || !live[i];

			printf("%s[%u,%u,%d,%" PRIu64 ",%" PRIu64 "]", first ? "" : ",", i, a + j,
			       freed ? (int)(a + j + mix(i + j) % 20 < NBUCKETS ? a + j + mix(i + j) % 20 : NBUCKETS - 1) : -1,
			       freed ? allocs[i] / k + 1 : live[i], freed ? bytes[i] / k + 1 : liveb[i]);
			first = 0;
		}
	}
	printf("]}}\n");
	free(allocs);
	free(bytes);
	free(live);
	free(liveb);
	return 0;
}
