/*
 * Scale of the analysis and the JSON report (issue "Snapshots, timeline,
 * detectors and the JSON report"): replays EVENTS synthetic ring-buffer
 * records over NSTACKS distinct stacks through handle_event() (heap model,
 * detector), leaving LIVE blocks live, then builds the report and writes its
 * JSON to /dev/null.  Prints the time of each phase and the peak RSS.
 * Symbolization is left out (no target): frames are written unsymbolized.
 * Usage: report_scale [EVENTS [LIVE [NSTACKS]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "detect.h"
#include "events.h"
#include "model.h"
#include "report_input.h"
#include "stacks.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void send_stacks(struct event_sink *s, unsigned nstacks)
{
	struct ms_ev_stack st = { .type = MS_EV_STACK };

	for (unsigned i = 0; i < nstacks; i++) {
		st.nframes = 8 + i % 16;
		st.hash = 0x1000 + i;
		for (unsigned f = 0; f < st.nframes; f++)
			st.ips[f] = 0x400000 + (uint64_t)(i % 977) * 64 + f * 4096;
		handle_event(s, &st, MS_EV_STACK_HDR + st.nframes * 8);
	}
}

int main(int argc, char **argv)
{
	uint64_t events = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
	uint64_t live = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
	unsigned nstacks = argc > 3 ? (unsigned)atoi(argv[3]) : 10000;
	struct model_opts mo = { .sz = sizeof(mo), .live_hint = live, .freed_capacity = 256 * 1024,
				 .interval_ns = 100000000 };
	struct model *m = model__new(&mo);
	struct stack_table *stacks = m->stacks;
	struct heap *heap = m->heap;
	struct detector *det = m->detector;
	struct event_sink sink = { .model = m };
	uint64_t *ptrs = calloc(live, sizeof(*ptrs)), ts = 1000, sent = 0, next = 0x10000000;
	struct ms_ev_alloc a = { .type = MS_EV_ALLOC, .fn = MS_FN_MALLOC, .tid = 1 };
	struct ms_ev_free f = { .type = MS_EV_FREE, .fn = MS_FN_FREE, .tid = 1 };
	struct report_input in = { 0 };
	struct rusage ru;
	struct report *r;
	FILE *out = fopen("/dev/null", "w");
	double t0, t1, t2, t3;

	send_stacks(&sink, nstacks);
	t0 = now_s();
	/* fill to `live` blocks, then churn: free a random live one, allocate another */
	while (sent < events) {
		uint64_t slot = sent < live ? sent : rnd() % live;

		if (ptrs[slot]) {
			f.ptr = ptrs[slot];
			f.ts_ns = ts += 100;
			handle_event(&sink, &f, sizeof(f));
			sent++;
		}
		a.ret = ptrs[slot] = next += 64;
		a.args[0] = 16 + rnd() % 1000;
		a.stack = 0x1000 + rnd() % nstacks;
		a.ts_ns = ts += 100;
		handle_event(&sink, &a, sizeof(a));
		sent++;
	}
	model__flush(m);
	t1 = now_s();
	in.pid = 1;
	in.comm = "synthetic";
	in.exit_text = "exited";
	in.exited = true;
	in.heap = heap;
	in.stacks = stacks;
	in.detector = det;
	in.alloc_stacks = true;
	in.start_ns = 0;
	in.end_ns = ts;
	r = report__build(&in);
	t2 = now_s();
	if (report__write_json(r, out))
		fprintf(stderr, "report_scale: JSON writing failed\n");
	fclose(out);
	t3 = now_s();
	getrusage(RUSAGE_SELF, &ru);
	printf("events %llu live %llu stacks %u: replay %.2f s (%.1f M events/s), report %.2f s, "
	       "json %.2f s, peak rss %.0f MiB\n",
	       (unsigned long long)sent, (unsigned long long)heap__totals(heap)->live_allocations,
	       nstacks, t1 - t0, sent / (t1 - t0) / 1e6, t2 - t1, t3 - t2, ru.ru_maxrss / 1024.0);
	report__free(r);
	model__free(m);
	free(ptrs);
	return 0;
}
