#!/bin/bash
# What `memscope-bpf --all` costs the rest of the machine: a second workload,
# not traced on purpose, timed without memscope-bpf running, with --all
# running (it is then traced too, like every process), with --all
# --sample-bytes, and with --cgroup naming an empty cgroup (it is then not
# traced, but still traps: uprobes are set on files, not on cgroups).  As
# root, from anywhere:
#
#   bench/all-cost.sh [-n RUNS] [-p PAIRS]
#
# The workloads: build/bench/workload_loop PAIRS (nothing but malloc/free:
# the worst case), `sort` of a generated 40 MB file, `xz -T1 -3` of a
# generated 24 MB file.  RUNS rounds (default 3), modes interleaved in
# each; prints per workload and mode the median CPU seconds the workload
# used (user + system: its traps are system time) and the median
# wall-clock seconds, each with its ratio to the untraced median.  CPU time
# is the workload's own cost; wall-clock time also holds what every other
# process's traps and the loader take from a busy machine.  The ratios hold
# on this host alone (trap costs move 5-10x between hosts:
# shared/FACTS.md).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
MS=$TOP/memscope-bpf
RUNS=3 PAIRS=2000000

while getopts n:p: o; do
	case $o in
	n) RUNS=$OPTARG ;;
	p) PAIRS=$OPTARG ;;
	*) echo "usage: $0 [-n RUNS] [-p PAIRS]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "all-cost: run as root" >&2; exit 1; }
[ -x "$MS" ] || { echo "all-cost: no $MS (make)" >&2; exit 1; }
LOOP=$TOP/build/bench/workload_loop
[ -x "$LOOP" ] || make -s -C "$TOP/bench" ../build/bench/workload_loop >/dev/null || exit 1
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)

TMP=$(mktemp -d /tmp/memscope-allcost.XXXXXX) || exit 1
CG=${CG2:+$CG2/memscope-allcost-$$}
MSPID=
cleanup() {
	[ -n "$MSPID" ] && kill -INT "$MSPID" 2>/dev/null && wait "$MSPID" 2>/dev/null
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
[ -n "$CG" ] && mkdir "$CG"

# inputs: numbers in words-ish lines (sort), a mix of text and numbers (xz)
seq 1 4000000 | awk '{ printf "%08x %d\n", ($1 * 2654435761) % 4294967296, $1 }' >"$TMP/sort.in"
head -c 24000000 "$TMP/sort.in" >"$TMP/xz.in"

declare -A WL=(
	[loop]="$LOOP $PAIRS"
	[sort]="sort -S 64M -o $TMP/sort.out $TMP/sort.in"
	[xz]="xz -T1 -3 -c $TMP/xz.in"
)
MODES="none all all-sampled"
[ -n "$CG" ] && MODES="$MODES cgroup-elsewhere"

# starts memscope-bpf for mode $1 and waits until it traces
start() {
	local args
	case $1 in
	none) MSPID=; return ;;
	all) args="--all" ;;
	all-sampled) args="--all --sample-bytes 64k" ;;
	cgroup-elsewhere) args="--cgroup $CG" ;;
	esac
	"$MS" -v $args -o "$TMP/report.txt" 2>"$TMP/ms.err" &
	MSPID=$!
	for _ in $(seq 300); do
		grep -q "tracing pid" "$TMP/ms.err" 2>/dev/null && return
		sleep 0.1
	done
	echo "all-cost: memscope-bpf $args did not start:" >&2
	cat "$TMP/ms.err" >&2
	exit 1
}

stop() {
	[ -n "$MSPID" ] || return
	kill -INT "$MSPID"
	wait "$MSPID"
	MSPID=
	grep -E "lost events" "$TMP/report.txt" | sed 's/^ */    /' >>"$TMP/lost.$1"
}

for r in $(seq "$RUNS"); do
	for mode in $MODES; do
		start "$mode"
		# the loop times itself (its untraced run is too short for time(1))
		out=$(${WL[loop]} 2>/dev/null)
		echo "$out" | sed -nE 's/.* wall_s=([0-9.]+) .*/\1/p' >>"$TMP/loop.$mode.wall"
		echo "$out" | sed -nE 's/.* cpu_s=([0-9.]+) .*/\1/p' >>"$TMP/loop.$mode.cpu"
		for w in sort xz; do
			/usr/bin/time -f "%e %U %S" -o "$TMP/t" ${WL[$w]} >/dev/null 2>&1
			read -r wall user sys <"$TMP/t"
			echo "$wall" >>"$TMP/$w.$mode.wall"
			echo "$user + $sys" | bc >>"$TMP/$w.$mode.cpu"
		done
		stop "$mode"
	done
done

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf "%-6s %-18s %9s %8s %9s %8s\n" workload mode "cpu s" ratio "wall s" ratio
for w in loop sort xz; do
	cbase=$(median "$TMP/$w.none.cpu")
	wbase=$(median "$TMP/$w.none.wall")
	for mode in $MODES; do
		c=$(median "$TMP/$w.$mode.cpu")
		m=$(median "$TMP/$w.$mode.wall")
		printf "%-6s %-18s %9.3f %7.1fx %9.3f %7.1fx\n" "$w" "$mode" "$c" \
			"$(echo "$c / $cbase" | bc -l)" "$m" "$(echo "$m / $wbase" | bc -l)"
	done
done
for mode in $MODES; do
	[ -f "$TMP/lost.$mode" ] && { echo "$mode:"; sort -u "$TMP/lost.$mode"; }
done
echo "loop: $PAIRS malloc/free pairs a run; untraced $(echo "$(median "$TMP/loop.none.cpu") * 1000000000 / $PAIRS" | bc) ns a pair"
echo "host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
