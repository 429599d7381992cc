#!/bin/sh
# Runs each libFuzzer target for SECONDS from its seeds in
# tests/fuzz/corpus/NAME/ (read only: what the fuzzer finds goes to
# BUILD/corpus/NAME/), then prints one line per target: executions, their
# rate, coverage, inputs found.  A crash, a leak, a sanitizer report, a
# timeout or a missing seed folder fails the run; the input that did it is
# kept as BUILD/crashes/NAME-*, and its report is printed.
# Usage: run-fuzz.sh SECONDS BUILD BINARY...
# shellcheck disable=SC2086
set -u
secs=$1 build=$2; shift 2
fail=0
summary=$(mktemp)
log=$(mktemp)
trap 'rm -f "$summary" "$log"' EXIT
mkdir -p "$build/crashes"
for bin in "$@"; do
	name=$(basename "$bin"); name=${name#fuzz_}
	seeds=tests/fuzz/corpus/$name
	if [ ! -d "$seeds" ]; then
		echo "*** fuzz $name: no seeds in $seeds" >&2
		fail=$((fail + 1))
		continue
	fi
	mkdir -p "$build/corpus/$name"
	# tests/fuzz/fuzz_NAME.flags: a target's own limits, with why
	flags=
	if [ -f "tests/fuzz/fuzz_$name.flags" ]; then
		flags=$(tail -n 1 "tests/fuzz/fuzz_$name.flags")
	fi
	echo "  FUZZ     $name (${secs}s)"
	# -close_fd_mask=3: the targets' own messages (usage, errors) are noise;
	# libFuzzer and the sanitizers still report on their own copy of stderr
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=3 \
		-print_final_stats=1 -artifact_prefix="$build/crashes/$name-" $flags \
		"$build/corpus/$name" "$seeds" > "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(sed -n 's/.*DONE *cov: \([0-9]*\).*/\1/p' "$log")
	found=$(sed -n 's/^stat::new_units_added: *//p' "$log")
	result=ok
	if [ $rc -ne 0 ]; then
		result="FAILED (exit $rc)"
		fail=$((fail + 1))
		echo "*** fuzz $name failed; its report:" >&2
		grep -v '^#[0-9]' "$log" | tail -n 60 >&2
	fi
	printf '  %-14s %12s %10s %6s %6s  %s\n' "$name" "${execs:-?}" "${rate:-?}" \
		"${cov:-?}" "${found:-?}" "$result" >> "$summary"
done
echo "fuzz: ${secs}s a target"
printf '  %-14s %12s %10s %6s %6s  %s\n' target executions exec/s cov found result
cat "$summary"
[ $fail -eq 0 ]
