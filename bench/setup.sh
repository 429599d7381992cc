#!/bin/sh
# Installs the peers the benchmark compares against, only when missing:
# bpftrace, heaptrack, valgrind (Debian packages).  Never needed by `make test`.
# Runs `apt-get update` at most once.
set -eu
missing=
for p in bpftrace heaptrack valgrind; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "bench: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
