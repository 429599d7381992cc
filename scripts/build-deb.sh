#!/bin/sh
# Builds the Debian package (debian/) with dpkg-buildpackage from a copy of
# the tree in OUT/src, so neither its `make clean` nor its build outputs
# touch this tree; the .deb, .buildinfo and .changes land in OUT, and
# lintian's verdict on them in OUT/lintian.txt (it fails on an error).
# The copy holds the files git knows and the new ones it does not ignore.
# Usage: build-deb.sh OUT
set -eu
out=$1
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(cat "$top/VERSION")

die() {
	echo "build-deb: $*" >&2
	exit 1
}
for tool in dpkg-buildpackage dpkg-parsechangelog dh lintian; do
	command -v "$tool" > /dev/null || die "'$tool' not found (run 'make deps')"
done
# the package's version is VERSION's (debian/changelog is checked, not trusted)
deb_version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
[ "$deb_version" = "$version" ] || [ "${deb_version%-*}" = "$version" ] ||
	die "debian/changelog is at $deb_version, VERSION at $version: add a changelog entry (dch -v $version)"

rm -rf "$out"
src=$out/src/memscope-bpf-$version
mkdir -p "$src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src" 2> /dev/null) ||
	die "cannot copy the tree into '$src'"
echo "build-deb: building memscope-bpf $version in $src" >&2
(cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}" \
	dpkg-buildpackage -b -us -uc) > "$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log" >&2
	die "dpkg-buildpackage failed (whole log: $out/build.log)"
}
mv "$out"/src/*.deb "$out"/src/*.buildinfo "$out"/src/*.changes "$out"/
rm -rf "$out/src"
ls -l "$out"/*.deb
# lintian, pedantic and experimental tags too: errors fail the build, the rest is shown
lintian --info --display-info --display-experimental --pedantic "$out"/*.changes > "$out/lintian.txt" 2>&1 || true
cat "$out/lintian.txt"
if grep -q '^E: ' "$out/lintian.txt"; then
	die "lintian found errors (above)"
fi
echo "build-deb: $(basename "$out"/memscope-bpf_*.deb): lintian $(grep -c '^[EWIPX]: ' "$out/lintian.txt") tags, no error" >&2
