#!/bin/bash
# memscope-bpf's benchmark suite, in one command (as root):
#
#   bench/run.sh [-n RUNS] [-w WORKLOADS] [-t TRACERS] [-x NAME=CMD] [-o DIR]
#                [--no-build] [--no-replay]
#
# For each workload it runs, RUNS times (default 3), interleaved (round by
# round, the tracers' order rotated each round) so noise hits all alike:
#   untraced        the workload alone
#   floor           the same probes at the same sites with empty BPF programs,
#                   attached as memscope-bpf attaches them (uprobe_multi links)
#   memscope        memscope-bpf, default mode (stacks)
#   memscope-nostacks  memscope-bpf --no-stacks
#   memscope-record memscope-bpf record -o FILE.msb (the default mode, and the
#                   capture file written as it runs)
#   bpftrace        bench/memleak.bt, memleak's work in bpftrace
#   heaptrack       heaptrack launching the workload (LD_PRELOAD)
#   massif          valgrind --tool=massif
# and, only when asked for with -t:
#   floor-perf      the floor attached as one perf-event uprobe per probe
#                   (memscope-bpf's fallback on kernels without uprobe_multi)
#   memscope-fp     memscope-bpf --unwind=fp (frame pointers only)
#   memscope-dwarf  memscope-bpf --unwind=dwarf (the objects' CFI only)
#   memscope-nobatch, memscope-nostacks-nobatch  memscope-bpf --no-batch (each
#                   record sent on its own, as before batching), with and
#                   without stacks
#   rec-shared, rec-percpu  the floor sending one 64-byte record per
#                   allocation and per release (floor -r), into one ring buffer
#                   or into one per CPU: what the records cost, and the sharing
#   rawcopy-8k, rawcopy-16k  the floor copying 8 or 16 KiB of user stack per
#                   allocation to userspace (floor -s): unwinding from raw
#                   copies, before any unwinding
# (the workloads have frame pointers, so fp and dwarf walk the same stacks;
# the workload deep, only with -w, is loop's calls 30 frames deeper)
# then prints medians: ns per pair, the cost added over untraced, that cost as
# a multiple of the floor's, lost events, the tracer's CPU while the workload
# ran as a share of one core, and how many CPUs the machine kept busy
# meanwhile (other load shows there); then the same from the workload's own
# CPU time per pair, which other load disturbs less.  Then the loader's
# throughput without the kernel (replay) and the live table alone
# (live_table_bench).
#
# Options:
#   -n RUNS        runs of each (workload, tracer) (default 3; medians of them)
#   -w LIST        workloads, comma-separated (default loop,mix,threads,cxx)
#   -t LIST        tracers, comma-separated (default all but floor-perf)
#   -o DIR         where results go (default build/bench/results)
#   --no-build     use what is built (memscope-bpf and build/bench/*)
#   --no-replay    skip the loader throughput runs
#   -x NAME=CMD    one more tracer, NAME, run as `CMD -- WORKLOAD PAIRS` (CMD is
#                  split on spaces; repeatable): e.g. a patched memscope-bpf,
#                  -x fpwalk=/tmp/other/memscope-bpf
# Environment:
#   MEMSCOPE=path  the memscope-bpf to measure (default ./memscope-bpf, built)
#   SCALE=x        multiplies every workload's pairs (default 1)
#
# Writes DIR/raw.tsv (one row per run), DIR/results.md (the tables with the
# machine, kernel and date) and each run's output under DIR/log/.
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build/bench}
RUNS=3
WORKLOADS=loop,mix,threads,cxx
TRACERS=untraced,floor,memscope,memscope-nostacks,bpftrace,heaptrack,massif
OUT=
BUILD_FIRST=1
REPLAY=1
SCALE=${SCALE:-1}
MEMSCOPE=${MEMSCOPE:-}
declare -A EXTRA=()
EXTRA_NAMES=

die() { echo "bench: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	-n) RUNS=$2; shift ;;
	-w) WORKLOADS=$2; shift ;;
	-t) TRACERS=$2; shift ;;
	-o) OUT=$2; shift ;;
	--no-build) BUILD_FIRST=0 ;;
	--no-replay) REPLAY=0 ;;
	-x)
		case $2 in *=?*) ;; *) die "-x wants NAME=CMD, not '$2'" ;; esac
		EXTRA[${2%%=*}]=${2#*=}
		EXTRA_NAMES="$EXTRA_NAMES,${2%%=*}"
		shift
		;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1' (see bench/run.sh --help)" ;;
	esac
	shift
done
case $RUNS in ''|*[!0-9]*|0) die "bad run count '$RUNS'" ;; esac
[ "$(id -u)" -eq 0 ] || die "needs root (BPF)"
OUT=${OUT:-$BUILD/results}
TRACERS=$TRACERS$EXTRA_NAMES

# pairs per workload: about a second each under memscope-bpf here
pairs_of() {
	local n
	case $1 in
	loop) n=200000 ;;
	mix) n=100000 ;;
	threads) n=400000 ;;
	cxx) n=100000 ;;
	deep) n=100000 ;;
	*) die "unknown workload '$1'" ;;
	esac
	awk -v n="$n" -v s="$SCALE" 'BEGIN { printf "%d", n * s }'
}

build() {
	if [ -z "$MEMSCOPE" ]; then
		make -s -C "$TOP" memscope-bpf || die "cannot build memscope-bpf"
	fi
	make -s -C "$TOP/bench" || die "cannot build the benchmark"
}

[ $BUILD_FIRST -eq 1 ] && build
MEMSCOPE=${MEMSCOPE:-$TOP/memscope-bpf}
[ -x "$MEMSCOPE" ] || die "no memscope-bpf at '$MEMSCOPE'"
# a workload's program: deep is loop with its calls 30 frames down
wl_prog() { [ "$1" = deep ] && echo "$BUILD/workload_loop" || echo "$BUILD/workload_$1"; }
for w in ${WORKLOADS//,/ }; do
	pairs_of "$w" >/dev/null
	[ -x "$(wl_prog "$w")" ] || die "no '$(wl_prog "$w")' (run make -C bench)"
done

mkdir -p "$OUT/log" || die "cannot create '$OUT'"
RAW=$OUT/raw.tsv
printf 'round\tworkload\ttracer\tns_per_pair\tcpu_ns_per_pair\twall_s\tcpu_s\ttracer_cpu_s\tlost_events\tlost_stacks\tbusy_cpus\tnote\n' >"$RAW"
TMP=$(mktemp -d /tmp/memscope-bench.XXXXXX) || die "cannot create a temporary directory"
trap 'rm -rf "$TMP"' EXIT

# bpftrace: the C library the workloads use, and whether it can run here
LIBC=$(ldd "$BUILD/workload_loop" | awk '/libc\.so/ { print $3 }')
BPFTRACE_NOTE=
if ! command -v bpftrace >/dev/null; then
	BPFTRACE_NOTE="not available here: bpftrace not installed (bench/setup.sh installs it)"
fi
sed "s|LIBC|$LIBC|g" "$TOP/bench/memleak.bt" >"$TMP/memleak.bt"
# bpftrace's hash maps hold 4096 keys unless told; the mix keeps ~17k blocks live
export BPFTRACE_MAP_KEYS_MAX=262144
TRACEFS_TRIED=0

# the value of key=value in the workload's result line
field() { sed -n "s/^memscope-bench .*[ ]$1=\([^ ]*\).*/\1/p" "$2" | head -1; }

# runs tracer $1 on workload $2 ($3 pairs), output to $4; fails when the workload did not report
run_one() {
	local tracer=$1 w=$2 pairs=$3 log=$4 wl
	local to="timeout -k 5 600" args=("$3")

	wl=$(wl_prog "$w")
	[ "$w" = deep ] && args+=(64 30)
	case $tracer in
	untraced) $to "$wl" "${args[@]}" ;;
	floor) $to "$BUILD/floor" -m -- "$wl" "${args[@]}" ;;
	floor-perf) $to "$BUILD/floor" -- "$wl" "${args[@]}" ;;
	rec-shared) $to "$BUILD/floor" -m -r shared -- "$wl" "${args[@]}" ;;
	rec-percpu) $to "$BUILD/floor" -m -r percpu -- "$wl" "${args[@]}" ;;
	rawcopy-8k) $to "$BUILD/floor" -m -s 8192 -- "$wl" "${args[@]}" ;;
	rawcopy-16k) $to "$BUILD/floor" -m -s 16384 -- "$wl" "${args[@]}" ;;
	memscope) $to "$MEMSCOPE" --json "$TMP/ms.json" -- "$wl" "${args[@]}" ;;
	memscope-nostacks) $to "$MEMSCOPE" --no-stacks --json "$TMP/ms.json" -- "$wl" "${args[@]}" ;;
	memscope-record)
		$to "$MEMSCOPE" record -o "$TMP/ms.msb" --json "$TMP/ms.json" -- "$wl" "${args[@]}" ;;
	memscope-fp) $to "$MEMSCOPE" --unwind=fp --json "$TMP/ms.json" -- "$wl" "${args[@]}" ;;
	memscope-dwarf) $to "$MEMSCOPE" --unwind=dwarf --json "$TMP/ms.json" -- "$wl" "${args[@]}" ;;
	memscope-nobatch) $to "$MEMSCOPE" --no-batch --json "$TMP/ms.json" -- "$wl" "${args[@]}" ;;
	memscope-nostacks-nobatch)
		$to "$MEMSCOPE" --no-stacks --no-batch --json "$TMP/ms.json" -- "$wl" "${args[@]}" ;;
	bpftrace)
		[ -n "$BPFTRACE_NOTE" ] && { echo "$BPFTRACE_NOTE" >&2; return 1; }
		$to bpftrace "$TMP/memleak.bt" -c "$wl ${args[*]}"
		;;
	heaptrack)
		command -v heaptrack >/dev/null || { echo "not available here: heaptrack not installed" >&2; return 1; }
		$to heaptrack -o "$TMP/heaptrack" "$wl" "${args[@]}"
		;;
	massif)
		command -v valgrind >/dev/null || { echo "not available here: valgrind not installed" >&2; return 1; }
		$to valgrind --tool=massif --massif-out-file="$TMP/massif.out" "$wl" "${args[@]}"
		;;
	*)
		[ -n "${EXTRA[$tracer]:-}" ] || { echo "unknown tracer '$tracer'" >&2; return 1; }
		# shellcheck disable=SC2086
		$to ${EXTRA[$tracer]} -- "$wl" "${args[@]}"
		;;
	esac >"$log" 2>"$log.err"
	grep -q '^memscope-bench ' "$log"
}

# bpftrace may need tracefs for uprobes: mount it once and retry
retry_bpftrace() {
	[ $TRACEFS_TRIED -eq 0 ] || return 1
	TRACEFS_TRIED=1
	[ -e /sys/kernel/tracing/uprobe_events ] && return 1
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || return 1
	echo "bench: mounted tracefs at /sys/kernel/tracing for bpftrace" >&2
}

# one row of raw.tsv per run; see the header line for the columns
record() {
	local round=$1 w=$2 tracer=$3 log=$4 ok=$5
	local ns=NA cns=NA wall=NA cpu=NA tcpu=NA lost=NA lstacks=NA busy=NA note=

	if [ "$ok" -eq 1 ]; then
		ns=$(field ns_per_pair "$log")
		wall=$(field wall_s "$log")
		cpu=$(field cpu_s "$log")
		cns=$(awk -v c="$cpu" -v p="$(field pairs "$log")" 'BEGIN { printf "%.1f", c * 1e9 / p }')
		busy=$(field busy_cpus "$log")
		case $tracer in
		untraced|heaptrack|massif) ;;
		*) tcpu=$(field parent_cpu_s "$log") ;;
		esac
		if [ "${tracer#memscope}" != "$tracer" ]; then
			lost=$(grep -o '"lost_events": *[0-9]*' "$TMP/ms.json" | head -1 | grep -o '[0-9]*$')
			lstacks=$(grep -o '"lost_stacks": *[0-9]*' "$TMP/ms.json" | head -1 | grep -o '[0-9]*$')
			rm -f "$TMP/ms.json"
		fi
	else
		note=$(grep -m1 -iE 'error|not available|cannot|fail' "$log.err" || tail -n1 "$log.err")
		note=${note:-exited without a result}
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$w" "$tracer" "$ns" \
		"$cns" "$wall" "$cpu" "$tcpu" "${lost:-NA}" "${lstacks:-NA}" "${busy:-NA}" "$note" >>"$RAW"
	printf '  %-8s %-22s %10s ns/pair %10s CPU ns/pair%s\n' "$w" "$tracer" "$ns" "$cns" \
		"${note:+  ($note)}" >&2
}

TRACER_LIST=(${TRACERS//,/ })
START=$(date +%s)
for round in $(seq 1 "$RUNS"); do
	echo "bench: round $round of $RUNS" >&2
	# rotate the order each round, so no tracer always runs first
	k=$(( (round - 1) % ${#TRACER_LIST[@]} ))
	order=("${TRACER_LIST[@]:k}" "${TRACER_LIST[@]:0:k}")
	for w in ${WORKLOADS//,/ }; do
		pairs=$(pairs_of "$w")
		for tracer in "${order[@]}"; do
			log="$OUT/log/$w.$tracer.$round"
			ok=0
			run_one "$tracer" "$w" "$pairs" "$log" && ok=1
			if [ $ok -eq 0 ] && [ "$tracer" = bpftrace ] && [ -z "$BPFTRACE_NOTE" ] &&
			   retry_bpftrace; then
				run_one "$tracer" "$w" "$pairs" "$log" && ok=1
			fi
			if [ $ok -eq 0 ] && [ "$tracer" = bpftrace ] && [ -z "$BPFTRACE_NOTE" ]; then
				BPFTRACE_NOTE="not available here: $(grep -m1 -iE 'error|cannot' "$log.err")"
			fi
			record "$round" "$w" "$tracer" "$log" $ok
			rm -f "$TMP"/heaptrack* "$TMP/massif.out"
		done
	done
done
ELAPSED=$(( $(date +%s) - START ))

# The medians, one row per (workload, tracer); untraced and the floor of the
# same workload set the scale.  $1 = wall: ns/pair from wall time, with the
# other columns; $1 = cpu: the workload's own CPU time per pair, which other
# load on the machine disturbs less (the uprobes' cost is spent in the
# workload's own context; heaptrack's waiting on its pipe is not counted).
summarize() {
	awk -F'\t' -v workloads="$WORKLOADS" -v tracers="$TRACERS" -v metric="$1" '
	function median(s,   a, n, t, i, j) {
		n = split(s, a, " ")
		if (n == 0) return "NA"
		for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function spread(s,   a, n, lo, hi, i) {
		n = split(s, a, " "); lo = hi = a[1] + 0
		for (i = 2; i <= n; i++) { if (a[i] + 0 < lo) lo = a[i] + 0; if (a[i] + 0 > hi) hi = a[i] + 0 }
		return n ? sprintf("%.0f-%.0f", lo, hi) : ""
	}
	NR > 1 {
		k = $2 SUBSEP $3
		v = metric == "cpu" ? $5 : $4
		if (v != "NA") {
			val[k] = val[k] " " v
			if ($8 != "NA") tcpu[k] = tcpu[k] " " $8 / $6
			# too short a run spans no tick of /proc/stat
			if ($11 != "NA" && $6 >= 0.1) busy[k] = busy[k] " " $11
		} else if (!(k in note)) {
			note[k] = $12
		}
		# the worst run: a lost event in any run is worth seeing
		if ($9 != "NA" && (!(k in lost) || $9 + 0 > lost[k] + 0)) lost[k] = $9
		if ($10 != "NA" && (!(k in lstk) || $10 + 0 > lstk[k] + 0)) lstk[k] = $10
	}
	END {
		if (metric == "cpu") {
			print "| workload | tracer | CPU ns/pair | range | added | × floor added |"
			print "|---|---|---:|---:|---:|---:|"
		} else {
			print "| workload | tracer | ns/pair | range | added | × floor added | lost events (stacks) | tracer CPU | busy CPUs |"
			print "|---|---|---:|---:|---:|---:|---:|---:|---:|"
		}
		nw = split(workloads, W, ","); nt = split(tracers, T, ",")
		for (w = 1; w <= nw; w++) {
			base = median(val[W[w], "untraced"]); fl = median(val[W[w], "floor"])
			for (t = 1; t <= nt; t++) {
				k = W[w] SUBSEP T[t]
				if (!(k in val)) {
					printf "| %s | %s | %s | | | |%s\n", W[w], T[t], (k in note) ? note[k] : "not run", metric == "cpu" ? "" : " | | |"
					continue
				}
				m = median(val[k])
				added = (base != "NA" && T[t] != "untraced") ? sprintf("%.0f", m - base) : ""
				ratio = (added != "" && fl != "NA" && fl - base > 0) ? sprintf("%.2f", (m - base) / (fl - base)) : ""
				printf "| %s | %s | %.0f | %s | %s | %s |", W[w], T[t], m, spread(val[k]), added, ratio
				if (metric != "cpu") {
					c = median(tcpu[k]); cs = c != "NA" ? sprintf("%.1f%%", 100 * c) : ""
					l = (k in lost) ? lost[k] " (" lstk[k] ")" : ""
					b = median(busy[k]); bs = b != "NA" ? sprintf("%.2f", b) : ""
					printf " %s | %s | %s |", l, cs, bs
				}
				printf "\n"
			}
		}
	}' "$RAW"
}

# The ratio to the floor taken within each round, from the workload's CPU
# time: the runs of one round are seconds apart, so the machine's slower
# drifts (other guests on the host) cancel; the median and the range over
# rounds.
per_round() {
	awk -F'\t' -v workloads="$WORKLOADS" -v tracers="$TRACERS" '
	function median(s,   a, n, t, i, j) {
		n = split(s, a, " ")
		if (n == 0) return "NA"
		for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	NR > 1 && $5 != "NA" { v[$1, $2, $3] = $5; if (!($1 in seen)) { seen[$1]; rounds[++nr] = $1 } }
	END {
		print "| workload | tracer | × floor added, median of rounds | range |"
		print "|---|---|---:|---:|"
		nw = split(workloads, W, ","); nt = split(tracers, T, ",")
		for (w = 1; w <= nw; w++) {
			for (t = 1; t <= nt; t++) {
				if (T[t] == "untraced" || T[t] == "floor") continue
				s = ""; lo = ""; hi = ""
				for (i = 1; i <= nr; i++) {
					r = rounds[i]
					if (!((r, W[w], T[t]) in v) || !((r, W[w], "floor") in v) ||
					    !((r, W[w], "untraced") in v)) continue
					u = v[r, W[w], "untraced"]; f = v[r, W[w], "floor"] - u
					if (f <= 0) continue
					x = (v[r, W[w], T[t]] - u) / f
					s = s " " x
					if (lo == "" || x < lo) lo = x
					if (hi == "" || x > hi) hi = x
				}
				if (s != "")
					printf "| %s | %s | %.2f | %.2f-%.2f |\n", W[w], T[t], median(s), lo, hi
			}
		}
	}' "$RAW"
}

REPLAY_LINE=
LTB_OUT=
if [ $REPLAY -eq 1 ]; then
	echo "bench: loader throughput (replay, live_table_bench)" >&2
	"$BUILD/replay" >"$OUT/log/replay" 2>&1 || echo "bench: replay failed (see $OUT/log/replay)" >&2
	REPLAY_LINE=$(grep '^memscope-bench replay' "$OUT/log/replay")
	"$BUILD/live_table_bench" >"$OUT/log/live_table_bench" 2>&1 ||
		echo "bench: live_table_bench failed" >&2
	LTB_OUT=$(cat "$OUT/log/live_table_bench")
fi

{
	echo "## Results"
	echo
	echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "- kernel: $(uname -r); $(ldd --version | head -1 | sed 's/.*) //' | sed 's/^/glibc /'); libbpf $(dpkg-query -W -f='${Version}' libbpf-dev 2>/dev/null | cut -d- -f1)"
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); memscope-bpf: $("$MEMSCOPE" --version 2>/dev/null | head -1) ($(git -C "$TOP" describe --always --dirty 2>/dev/null))"
	echo "- $RUNS runs each, medians; pairs: $(for w in ${WORKLOADS//,/ }; do printf '%s %s, ' "$w" "$(pairs_of "$w")"; done | sed 's/, $//'); $ELAPSED s"
	echo
	summarize wall
	echo
	echo "The workload's own CPU time per pair (less disturbed by other load on the machine):"
	echo
	summarize cpu
	echo
	echo "The same ratio to the floor taken within each round (less disturbed by slow drifts):"
	echo
	per_round
	echo
	if [ -n "$REPLAY_LINE" ]; then
		echo "Loader without the kernel (bench/replay, one thread):"
		echo
		echo '```'
		grep -v '^memscope-bench' "$OUT/log/replay"
		echo '```'
		echo
		echo "Live table alone (bench/live_table_bench):"
		echo
		echo '```'
		echo "$LTB_OUT"
		echo '```'
	fi
} >"$OUT/results.md"
cat "$OUT/results.md"
echo >&2
echo "bench: results in '$OUT/results.md', every run in '$RAW'" >&2
