#!/bin/sh
# Attaches and detaches the tracer RUNS times while both CPUs make syscalls
# as fast as they can: each run enables and disables the tracepoints the
# tracer uses (sys_exit among them, on every syscall's way out), and each
# run's JSON report of tests/programs/leaks.c must have exact numbers
# (tests/ship/check_leaks).  Part of `make kernel-matrix`: on a kernel that
# mishandles that patching the guest crashes, which kernel-vm.sh reports.
# Usage: attach-stress.sh LABEL TOOL LEAKS CHECK_LEAKS VERSION [RUNS]
set -u
label=$1 tool=$2 leaks=$3 check=$4 version=$5 runs=${6:-20}
out=$(mktemp -d)
busy() {
	while :; do dd if=/dev/zero of=/dev/null bs=1 count=50000 2> /dev/null; done
}
busy & b1=$!
busy & b2=$!
trap 'kill $b1 $b2 2> /dev/null; rm -rf "$out"' EXIT
ok=0 failed=0
i=0
while [ $i -lt "$runs" ]; do
	i=$((i + 1))
	if "$tool" --json "$out/r.json" -o /dev/null -- "$leaks" > "$out/log" 2>&1 &&
		"$check" "$out/r.json" "$version" >> "$out/log" 2>&1; then
		ok=$((ok + 1))
	else
		failed=$((failed + 1))
		echo "*** $label: run $i:" >&2
		tail -n 5 "$out/log" >&2
	fi
done
echo "$label: $ok passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
