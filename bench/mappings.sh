#!/bin/bash
# What tracing mmap & co. (the mappings' program on sys_exit) costs, as ratios
# taken in one run (root; bench/README.md "Mappings"):
#
#   bench/mappings.sh [-n RUNS] [PAIRS]
#
# workload_syscalls (mmap + munmap + getppid per pair) is run RUNS times
# (default 5) in each setting, round by round:
#   alone           nothing traced anywhere
#   other           memscope-bpf -p on another process (a sleeping shell), the
#                   mappings traced: what every other process pays
#   other-nomaps    the same with --no-mappings: the allocator probes alone
#   traced          the workload launched under memscope-bpf (its own mmaps)
#   traced-nomaps   the same with --no-mappings
# and prints each setting's median ns per pair and its ratio to alone, by wall
# time and by the workload's own CPU time (user and system: the BPF program
# runs in the workload's system calls), which other load on the machine
# disturbs less.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build/bench}
MEMSCOPE=${MEMSCOPE:-$TOP/memscope-bpf}
RUNS=5
[ "${1:-}" = -n ] && { RUNS=$2; shift 2; }
PAIRS=${1:-100000}
WL=$BUILD/workload_syscalls
TMP=$(mktemp -d)
trap 'kill $SLEEPER 2>/dev/null; rm -rf "$TMP"' EXIT

[ -x "$WL" ] || { echo "bench: build $WL first (make bench-build)" >&2; exit 1; }
sh -c 'while :; do sleep 1; done' &
SLEEPER=$!

# one run of setting $1: the workload's wall and CPU ns per pair
run() {
	local ms out
	case $1 in
	alone) out=$("$WL" "$PAIRS") ;;
	other|other-nomaps)
		[ "$1" = other ] && flags=() || flags=(--no-mappings)
		"$MEMSCOPE" "${flags[@]}" --no-scan -p "$SLEEPER" -o "$TMP/o.txt" 2>"$TMP/err" &
		ms=$!
		# tracing has begun once the probes are attached: give it a moment
		sleep 1.5
		out=$("$WL" "$PAIRS")
		kill -INT $ms; wait $ms ;;
	traced) out=$("$MEMSCOPE" --no-scan -o "$TMP/o.txt" -- "$WL" "$PAIRS") ;;
	traced-nomaps) out=$("$MEMSCOPE" --no-scan --no-mappings -o "$TMP/o.txt" -- "$WL" "$PAIRS") ;;
	esac
	sed -n 's/.*pairs=\([0-9]*\) ns_per_pair=\([0-9.]*\).* cpu_s=\([0-9.]*\) .*/\2 \3 \1/p' <<<"$out" |
		awk '{ printf "%s %.1f", $1, $2 * 1e9 / $3 }'
}

SETTINGS="alone other other-nomaps traced traced-nomaps"
for r in $(seq "$RUNS"); do
	echo "round $r of $RUNS" >&2
	for s in $SETTINGS; do
		echo "$s $(run "$s")" >>"$TMP/raw"
	done
done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
base=$(awk '$1 == "alone" { print $2 }' "$TMP/raw" | median)
cbase=$(awk '$1 == "alone" { print $3 }' "$TMP/raw" | median)
printf '%-15s %12s %8s %14s %8s\n' setting "ns/pair" ratio "CPU ns/pair" ratio
for s in $SETTINGS; do
	m=$(awk -v s="$s" '$1 == s { print $2 }' "$TMP/raw" | median)
	c=$(awk -v s="$s" '$1 == s { print $3 }' "$TMP/raw" | median)
	printf '%-15s %12.1f %8.2f %14.1f %8.2f\n' "$s" "$m" \
		"$(awk -v a="$m" -v b="$base" 'BEGIN { print a / b }')" "$c" \
		"$(awk -v a="$c" -v b="$cbase" 'BEGIN { print a / b }')"
done
