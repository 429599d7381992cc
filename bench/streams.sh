#!/bin/bash
# How many busy CPUs one loader core keeps up with (bench/README.md, "Scale of
# the loader"): bench/replay --streams N for each N, ROUNDS times, the N
# alternated in each round so noise hits all alike; prints the median of each
# column per N.  No root, no kernel: the loader's pipeline only.
#
#   bench/streams.sh [-n ROUNDS] [-s "1 4 16 64 128"] [-r CPU_RATE] [-- REPLAY_ARGS]
#
# Each round also runs the plain replay (one stream of old, all applied at
# once: bench/README.md's "Loader throughput" figure), to scale this run's
# rates to a quieter machine's.  REPLAY_ARGS go to every run (e.g. -- --sample-bytes 1048576 100000000, or
# -- --no-batch); the defaults: 10 M calls, 1 M blocks live, 4 threads per
# CPU, 500 k calls a second per CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=3
STREAMS="1 4 16 64 128"
RATE=500000
while [ $# -gt 0 ]; do
	case "$1" in
	-n) ROUNDS=$2; shift 2 ;;
	-s) STREAMS=$2; shift 2 ;;
	-r) RATE=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "usage: bench/streams.sh [-n ROUNDS] [-s LIST] [-r CPU_RATE] [-- REPLAY_ARGS]" >&2; exit 2 ;;
	esac
done
BIN=${BUILD:-build/bench}/replay
[ -x "$BIN" ] || make -C bench "../$BIN" >&2
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
PLAIN=""
for r in $(seq "$ROUNDS"); do
	PLAIN="$PLAIN $("$BIN" | sed -n 's/^cpu *\([0-9.]*\) M events.*/\1/p')"
	for n in $STREAMS; do
		"$BIN" --streams "$n" --cpu-rate "$RATE" "$@" | grep '^memscope-bench replay-streams' >>"$LOG"
	done
done
# one row per N: medians of the rate, the CPUs kept up with, the share of time
# reading batches into queues, the records waiting after a drain, peak RSS growth
awk -v plain="$PLAIN" '
function med(s,   a, n, t, i, j) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	n = f["streams"]; if (!(n in seen)) { seen[n] = 1; order[++k] = n }
	rps[n] = rps[n] " " f["records_per_s"]; cps[n] = cps[n] " " f["calls_per_s"]
	kept[n] = kept[n] " " f["cpus_kept"]; qs[n] = qs[n] " " f["queue_share"]
	pend[n] = pend[n] " " f["max_pending"]; peak[n] = peak[n] " " f["peak_rss_bytes"]
	thr[n] = f["threads"]
}
END {
	printf "plain replay (10 M events, 1 M live, all applied at once): %.2f M events/s of CPU time, median\n",
	       med(plain)
	printf "%8s %8s %14s %12s %10s %12s %14s %12s\n", "streams", "threads", "M records/s", "M calls/s",
	       "CPUs kept", "queue share", "max pending", "peak MiB"
	for (i = 1; i <= k; i++) {
		n = order[i]
		printf "%8s %8s %14.2f %12.2f %10.1f %12.2f %14d %12.0f\n", n, thr[n], med(rps[n]) / 1e6,
		       med(cps[n]) / 1e6, med(kept[n]), med(qs[n]), med(pend[n]), med(peak[n]) / 1048576
	}
}' "$LOG"
