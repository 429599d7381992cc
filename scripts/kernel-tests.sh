#!/bin/sh
# What runs inside each kernel of `make kernel-matrix` (scripts/kernel-vm.sh):
# the verifier budget, the e2e subset, then attaching and detaching under
# syscall load (scripts/attach-stress.sh).  All run; it fails if any does.
# Usage: kernel-tests.sh LABEL VERIFIER_TEST E2E_BIN E2E_FILTER
#                        TOOL LEAKS CHECK_LEAKS VERSION STRESS_RUNS
set -u
label=$1 verifier=$2 e2e=$3 filter=$4
tool=$5 leaks=$6 check=$7 version=$8 stress_runs=$9
rc=0
scripts/run-tests.sh "verifier-$label" "$verifier" || rc=1
E2E_FILTER=$filter scripts/run-tests.sh "e2e-$label" "$e2e" || rc=1
scripts/attach-stress.sh "attach-stress-$label" "$tool" "$leaks" "$check" "$version" \
	"$stress_runs" || rc=1
exit $rc
