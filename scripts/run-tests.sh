#!/bin/sh
# Runs cmocka test binaries and prints one closing line
# "LABEL: N passed, N failed, N skipped".  A binary that exits 77 could not
# run (e.g. no BPF): a loud skip, or a failure when CI=true.
# MEMSCOPE_SAN_LOGS (make san): the folder the sanitizers write their reports
# to, one file a process; any that appears during a binary's run fails it.
# Usage: run-tests.sh LABEL BINARY...
set -u
label=$1; shift
pass=0 fail=0 skip=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
san=
if [ -n "${MEMSCOPE_SAN_LOGS:-}" ]; then
	san=$MEMSCOPE_SAN_LOGS/$label
	rm -rf "$san"
	mkdir -p "$san"
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$san/asan"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$san/ubsan"
fi
for t in "$@"; do
	# to a file, not a pipe: a stray grandchild cannot keep us waiting;
	# and a hung test ends after 20 minutes instead of eating CI's 90
	timeout -k 10 1200 "$t" > "$log" 2>&1; rc=$?
	out=$(cat "$log")
	printf '%s\n' "$out"
	if [ -n "$san" ] && [ -n "$(ls -A "$san")" ]; then
		for r in "$san"/*; do
			echo "*** $t: sanitizer report $(basename "$r"):" >&2
			cat "$r" >&2
			rm -f "$r"
		done
		fail=$((fail + 1))
	fi
	if [ $rc -eq 77 ]; then
		if [ "${CI:-}" = true ]; then
			echo "*** $t could not run and CI=true: counted as a failure" >&2
			fail=$((fail + 1))
		else
			echo "*** $t COULD NOT RUN (skipped): see the message above" >&2
			skip=$((skip + 1))
		fi
		continue
	fi
	n_run=$(printf '%s\n' "$out" | sed -n 's/^\[==========\] \([0-9]*\) test(s) run\./\1/p' | tail -n 1)
	n_bad=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' | tail -n 1)
	# a test that called skip() (it said why: "NOT RUN" above)
	n_skip=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below:/\1/p' | tail -n 1)
	n_run=${n_run:-0}
	n_bad=${n_bad:-0}
	n_skip=${n_skip:-0}
	pass=$((pass + n_run - n_bad - n_skip))
	fail=$((fail + n_bad))
	if [ "$n_skip" -gt 0 ]; then
		if [ "${CI:-}" = true ]; then
			echo "*** $t: $n_skip test(s) could not run and CI=true: counted as failures" >&2
			fail=$((fail + n_skip))
		else
			echo "*** $t: $n_skip test(s) COULD NOT RUN (skipped): see NOT RUN above" >&2
			skip=$((skip + n_skip))
		fi
	fi
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "*** $t timed out" >&2
	fi
	if [ $rc -ne 0 ] && [ "$n_bad" -eq 0 ]; then
		echo "*** $t exited $rc" >&2
		fail=$((fail + 1))
	fi
done
echo "$label: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
