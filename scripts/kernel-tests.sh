#!/bin/sh
# What runs inside each kernel of `make kernel-matrix` (scripts/kernel-vm.sh):
# the verifier budget, then the e2e subset.  Both run; it fails if either does.
# Usage: kernel-tests.sh LABEL VERIFIER_TEST E2E_BIN E2E_FILTER
set -u
label=$1 verifier=$2 e2e=$3 filter=$4
rc=0
scripts/run-tests.sh "verifier-$label" "$verifier" || rc=1
E2E_FILTER=$filter scripts/run-tests.sh "e2e-$label" "$e2e" || rc=1
exit $rc
