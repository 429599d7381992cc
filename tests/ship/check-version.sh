#!/bin/sh
# The version has one source, VERSION: --version, the man page, the Debian
# package's changelog and every report that has room for it (the text
# summary's first line, JSON, the HTML page's embedded JSON, the pprof
# profile's comment, the capture's header) say the same.  Folded stacks have
# no room for one.
# Usage: check-version.sh MEMSCOPE_BIN MANPAGE PROGRAM (root: it traces PROGRAM)
set -u
bin=$1 page=$2 prog=$3
version=$(cat VERSION)
fail=0
bad() {
	echo "check-version: $*" >&2
	fail=1
}

"$bin" --version | grep -qx "memscope-bpf $version" || bad "'$bin --version' is not $version"
grep -q "^\.TH .*\"memscope-bpf $version\"" "$page" || bad "'$page' is not at $version"
changelog=$(sed -n '1s/^memscope-bpf (\([^)]*\)).*/\1/p' debian/changelog)
[ "${changelog%-*}" = "$version" ] ||
	bad "debian/changelog's newest entry is $changelog, VERSION $version (dch -v $version)"

if [ "$(id -u)" -ne 0 ]; then
	echo "check-version: COULD NOT RUN the reports' part: not root" >&2
	[ "${CI:-}" = true ] && exit 1
	[ $fail -eq 0 ] && exit 77
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" --json "$tmp/r.json" --html "$tmp/r.html" --pprof "$tmp/r.pb.gz" --record "$tmp/r.msb" \
	-o "$tmp/r.txt" -- "$prog" 2> "$tmp/err" || { cat "$tmp/err" >&2; bad "tracing '$prog' failed"; }
sed -n 2p "$tmp/r.txt" | grep -q "^== memscope-bpf $version: pid " ||
	bad "the text summary is not at $version"
grep -q "^  \"version\": \"$version\",\$" "$tmp/r.json" || bad "the JSON report is not at $version"
grep -q "\"version\":\"$version\"" "$tmp/r.html" || bad "the HTML report is not at $version"
gzip -dc "$tmp/r.pb.gz" | grep -aq "memscope-bpf $version" || bad "the pprof profile is not at $version"
head -c 256 "$tmp/r.msb" | grep -aq "memscope-bpf $version" || bad "the capture is not at $version"
[ $fail -eq 0 ] && echo "check-version: $version in --version, the man page, debian/changelog, the text summary, JSON, HTML, pprof, capture"
exit $fail
