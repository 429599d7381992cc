#!/bin/bash
# Time spent inside the BPF programs per call, from the kernel's own counters
# (sysctl kernel.bpf_stats_enabled, turned on for the run and restored): a
# finer view than the workload's CPU time, which also holds the traps and
# is disturbed by everything else on the machine.  As root:
#
#   bench/prog_time.sh [-n RUNS] [-p PAIRS] [-w WORKLOAD] NAME=CMD ...
#
# runs `CMD -- build/bench/workload_WORKLOAD PAIRS` RUNS times for each NAME,
# interleaved, reads the run time and count of the programs alloc_enter,
# alloc_exit and release near the end of each run (with the programs
# memscope-bpf has for single functions: enter_* with alloc_enter,
# release_* with release), and prints per NAME the median ns per run of
# each and their sum (one pair makes one run of each).
# The counters themselves cost ~70 ns per run here (the floor's empty
# programs show it): compare against NAME=build/bench/floor -m, not zero.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
RUNS=3 PAIRS=1000000 WL=loop

while getopts n:p:w: o; do
	case $o in
	n) RUNS=$OPTARG ;;
	p) PAIRS=$OPTARG ;;
	w) WL=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-n RUNS] [-p PAIRS] [-w WORKLOAD] NAME=CMD ..." >&2; exit 2; }
WORKLOAD=$TOP/build/bench/workload_$WL
[ -x "$WORKLOAD" ] || { echo "prog_time: no $WORKLOAD (make bench-build)" >&2; exit 1; }

OLD=$(sysctl -n kernel.bpf_stats_enabled) || exit 1
sysctl -qw kernel.bpf_stats_enabled=1 || exit 1
TMP=$(mktemp -d /tmp/memscope-progtime.XXXXXX) || exit 1
trap 'sysctl -qw kernel.bpf_stats_enabled=$OLD; rm -rf "$TMP"' EXIT

# one run: the last counters seen while the tracer's programs were loaded
one() {
	local out=$1; shift
	(cd "$TOP" && $@ -- "$WORKLOAD" "$PAIRS") >/dev/null 2>&1 &
	local pid=$! last=
	while kill -0 $pid 2>/dev/null; do
		local now
		now=$(bpftool prog show 2>/dev/null | grep -E ' name (alloc_enter|enter_[a-z]+|alloc_exit|release[a-z_]*) ')
		[ -n "$now" ] && last=$now
		sleep 0.1
	done
	wait $pid
	echo "$last" | sed -nE 's/.* name ([a-z_]+) .*run_time_ns ([0-9]+) run_cnt ([0-9]+).*/\1 \2 \3/p' >"$out"
}

for r in $(seq "$RUNS"); do
	for spec in "$@"; do
		name=${spec%%=*}
		one "$TMP/$name.$r" ${spec#*=}
	done
done

printf '%-28s %12s %12s %12s %12s\n' "ns per run (median)" alloc_enter alloc_exit release "sum per pair"
for spec in "$@"; do
	name=${spec%%=*}
	for f in "$TMP/$name".*; do
		# a kind's programs together: time over runs (one run per call)
		awk '{ k = $1 ~ /^(alloc_enter|enter_)/ ? "alloc_enter" : $1 ~ /^release/ ? "release" : $1
		       t[k] += $2; c[k] += $3 }
		     END { for (k in t) print k, t[k], c[k] }' "$f"
	done | awk -v name="$name" '
	$3 > 0 { v[$1] = v[$1] " " $2 / $3 }
	function median(s,   a, n, t, i, j) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		e = median(v["alloc_enter"]); x = median(v["alloc_exit"]); r = median(v["release"])
		printf "%-28s %12.0f %12.0f %12.0f %12.0f\n", name, e, x, r, e + x + r
	}'
done
