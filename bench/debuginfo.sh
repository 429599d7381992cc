#!/bin/bash
# What looking up debug files adds to a trace of the e2e programs: each program
# traced RUNS times under each way of running, interleaved; printed per program
# and way, medians: the time spent naming the frames before the reports are
# written (-v's "named N addresses in X ms, Y ms of it waiting for debuginfod"),
# in parentheses Y, and in brackets the wall time of the whole run (attach to
# report written).
# As root, after `make` and `make e2e`'s programs (build/programs):
#
#   bench/debuginfo.sh [-n RUNS] [PROGRAM ...]
#
# The ways:
#   off          --no-debuginfod: the local directories only (as before issue 19)
#   served-cold  DEBUGINFOD_URLS at Debian's debuginfod on 127.0.0.1 (started here
#                over a folder holding the stripped program's debug file), a new
#                client cache each run: every object without local debug info is asked
#   served-warm  the same, one cache kept across runs (answers and misses cached)
#   unreachable  DEBUGINFOD_URLS at a port nothing listens on
# "stripped" is tests/programs/leaks stripped (objcopy --strip-all), its debug
# file only on the server: served-* fetch it, the others leave it unnamed.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
RUNS=5

while getopts n: o; do
	case $o in
	n) RUNS=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
PROGS=${*:-leaks threads cxx cxx_throw mismatch annotated_cxx dlopen demo qsort_cb static_stdio stripped}
command -v debuginfod >/dev/null || { echo "debuginfod.sh: no debuginfod (apt-get install debuginfod)" >&2; exit 1; }
cd "$TOP" || exit 1

TMP=$(mktemp -d /tmp/memscope-debuginfo.XXXXXX) || exit 1
SRV=
trap '[ -n "$SRV" ] && kill "$SRV" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
mkdir -p "$TMP/served" "$TMP/bin"
objcopy --only-keep-debug build/programs/leaks "$TMP/served/leaks.debug" || exit 1
objcopy --strip-all build/programs/leaks "$TMP/bin/stripped" || exit 1
id=$(readelf -n "$TMP/bin/stripped" | sed -n 's/.*Build ID: *//p')

# a free port on 127.0.0.1, then the server, until it serves the debug file
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
debuginfod -F -p "$port" -d "$TMP/db.sqlite" -t 0 -g 0 -c 1 "$TMP/served" >"$TMP/debuginfod.log" 2>&1 &
SRV=$!
for _ in $(seq 300); do
	DEBUGINFOD_URLS=http://127.0.0.1:$port DEBUGINFOD_CACHE_PATH=$TMP/probe \
		debuginfod-find debuginfo "$id" >/dev/null 2>&1 && break
	sleep 0.1
done

prog_path() {
	if [ "$1" = stripped ]; then echo "$TMP/bin/stripped"; else echo "build/programs/$1"; fi
}

# one run: "NAMING_MS WAIT_MS WALL_MS"
one() {
	local way=$1 prog=$2 t0 t1 n=$3
	local env=(env -u DEBUGINFOD_URLS) args=()

	case $way in
	off) args=(--no-debuginfod) ;;
	served-cold) env=(env DEBUGINFOD_URLS=http://127.0.0.1:$port DEBUGINFOD_CACHE_PATH=$TMP/cold-$n) ;;
	served-warm) env=(env DEBUGINFOD_URLS=http://127.0.0.1:$port DEBUGINFOD_CACHE_PATH=$TMP/warm) ;;
	unreachable) env=(env DEBUGINFOD_URLS=http://127.0.0.1:$dead DEBUGINFOD_CACHE_PATH=$TMP/dead-$n) ;;
	esac
	t0=$(date +%s%N)
	"${env[@]}" ./memscope-bpf -v "${args[@]}" -o "$TMP/out.txt" -- "$(prog_path "$prog")" \
		>/dev/null 2>"$TMP/err.txt" </dev/null
	t1=$(date +%s%N)
	echo "$(sed -n 's/.*named [0-9]* addresses in \([0-9.]*\) ms, \([0-9.]*\) ms.*/\1 \2/p' \
		"$TMP/err.txt" | head -1)" $(((t1 - t0) / 1000000))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

WAYS="off served-cold served-warm unreachable"
# the warm cache filled once beforehand
for p in $PROGS; do one served-warm "$p" 0 >/dev/null; done
printf '%-14s' program; for w in $WAYS; do printf '%24s' "$w"; done
printf '   (median ms of %d: naming (waits) [whole run])\n' "$RUNS"
for p in $PROGS; do
	declare -A nm=() wt=() wall=()
	for i in $(seq "$RUNS"); do
		for w in $WAYS; do
			read -r a b c <<<"$(one "$w" "$p" "$i")"
			nm[$w]+="$a " wt[$w]+="$b " wall[$w]+="$c "
		done
	done
	printf '%-14s' "$p"
	for w in $WAYS; do
		printf '%24s' "$(echo "${nm[$w]}" | tr ' ' '\n' | grep . | median) ($(echo "${wt[$w]}" |
			tr ' ' '\n' | grep . | median)) [$(echo "${wall[$w]}" | tr ' ' '\n' | grep . | median)]"
	done
	printf '\n'
	unset nm wt wall
done
