#!/bin/sh
# The Debian package as a user gets it: `apt-get install ./memscope-bpf_*.deb`
# on this machine (apt resolves its Depends), then the installed
# /usr/sbin/memscope-bpf traces tests/programs/leaks and CHECKER checks the
# report's numbers; man finds the page, the header is where a compiler
# looks; then the package is purged and its files are gone.
# Root.  A memscope-bpf package installed before is left alone: the test
# does not run (exit 77: a failure when CI=true).
# Usage: test-deb.sh DEB_DIR PROGRAM CHECKER
set -u
dir=$1 prog=$2 checker=$3
version=$(cat VERSION)
fail=0

cannot_run() {
	echo "deb-test: COULD NOT RUN: $*" >&2
	if [ "${CI:-}" = true ]; then
		echo "deb-test: CI=true: counted as a failure" >&2
		exit 1
	fi
	exit 77
}
bad() {
	echo "deb-test: FAILED: $*" >&2
	fail=1
}

[ "$(id -u)" -eq 0 ] || cannot_run "not root: apt-get install needs it"
deb=$(ls "$dir"/memscope-bpf_"$version"_*.deb 2> /dev/null | head -n 1)
[ -n "$deb" ] || { echo "deb-test: FAILED: no memscope-bpf_${version}_*.deb in '$dir'" >&2; exit 1; }
if dpkg-query -W -f='${Status}' memscope-bpf 2> /dev/null | grep -q 'ok installed'; then
	cannot_run "a memscope-bpf package is installed already; not replacing it"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; dpkg -P memscope-bpf > /dev/null 2>&1' EXIT

DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$(realpath "$deb")" \
	> "$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; echo "deb-test: FAILED: apt-get install" >&2; exit 1; }
dpkg-query -W -f='${Version}' memscope-bpf | grep -qx "$version" || bad "installed version is not $version"
/usr/sbin/memscope-bpf --version | grep -qx "memscope-bpf $version" || bad "--version is not $version"
if command -v man > /dev/null; then
	[ "$(man -w memscope-bpf 2> /dev/null)" = /usr/share/man/man8/memscope-bpf.8.gz ] ||
		bad "man -w memscope-bpf does not find the page"
	MANWIDTH=80 man memscope-bpf 2> /dev/null | grep -q "memscope-bpf $version" ||
		bad "man memscope-bpf does not show version $version"
fi
printf '#include <memscope.h>\nint main(void) { MEMSCOPE_SCOPE_BEGIN("s"); MEMSCOPE_SCOPE_END(); return 0; }\n' > "$tmp/a.c"
if [ -f /usr/include/sys/sdt.h ]; then
	cc -o "$tmp/a" "$tmp/a.c" || bad "a program including <memscope.h> does not build"
fi
/usr/sbin/memscope-bpf --json "$tmp/r.json" -- "$prog" 2> "$tmp/stderr" || {
	cat "$tmp/stderr" >&2
	bad "the installed memscope-bpf failed"
}
"$checker" "$tmp/r.json" "$version" || bad "the installed tool's report is wrong"
dpkg -P memscope-bpf > "$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log" >&2; bad "dpkg -P failed"; }
for f in /usr/sbin/memscope-bpf /usr/include/memscope.h /usr/share/man/man8/memscope-bpf.8.gz \
	/usr/share/bash-completion/completions/memscope-bpf /usr/share/doc/memscope-bpf; do
	[ -e "$f" ] && bad "'$f' is left after purging"
done
[ $fail -eq 0 ] && echo "deb-test: $(basename "$deb") installed with apt, traced leaks.c exactly, purged"
exit $fail
