#!/bin/sh
# Runs test binaries, prints one closing line "N passed, N failed[, N skipped]".
# A binary that exits 77 could not run (e.g. no BPF): loud skip, a failure when
# CI=true.  Usage: run-tests.sh LABEL BINARY...
set -u
label=$1; shift
pass=0 fail=0 skip=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	printf '%s\n' "$out"
	n_ok=$(printf '%s\n' "$out" | grep -c '^\[       OK \]')
	n_bad=$(printf '%s\n' "$out" | grep -c '^\[  FAILED  \]\|^\[  ERROR   \]')
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
	pass=$((pass + n_ok))
	fail=$((fail + n_bad))
	if [ $rc -ne 0 ] && [ "$n_bad" -eq 0 ]; then
		echo "*** $t exited $rc" >&2
		fail=$((fail + 1))
	fi
done
echo "$label: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
