#!/bin/sh
# The man page and --help name the same options, and both name every option
# the parser accepts (user/options.c's long_opts); the page carries VERSION.
# Usage: check-manpage.sh MEMSCOPE_BIN MANPAGE (the built page, not the .in)
set -eu
bin=$1 page=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --help: "  -p, --pid PID" and "      --json FILE" lines
"$bin" --help | sed -n 's/^\(  -[a-zA-Z], \|      \)\(--[a-z][a-z-]*\).*/\2/p' | sort -u > "$tmp/help"
"$bin" --help | sed -n 's/^  \(-[a-zA-Z]\), --.*/\1/p' | sort -u > "$tmp/help-short"
# the page's OPTIONS section: the option names in its .TP headings
sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$page" | grep -A1 '^\.TP' | grep -v '^\.TP\|^--$' > "$tmp/headings"
sed 's/\\-/-/g' "$tmp/headings" | grep -o -- '--[a-z][a-z-]*' | sort -u > "$tmp/man"
sed 's/\\-/-/g' "$tmp/headings" | grep -o -- '^\.[A-Z]* -[a-zA-Z]\b' | sed 's/.* //' | sort -u > "$tmp/man-short"
# what the parser accepts
src=$(dirname "$0")/../../user/options.c
sed -n 's/^	{ "\([a-z-]*\)", .*/--\1/p' "$src" | sort -u > "$tmp/parser"

for pair in "help man" "man help" "parser help" "help parser" "help-short man-short" "man-short help-short"; do
	set -- $pair
	missing=$(comm -23 "$tmp/$1" "$tmp/$2")
	if [ -n "$missing" ]; then
		echo "check-manpage: in $1, not in $2:" $missing >&2
		fail=1
	fi
done
[ -s "$tmp/help" ] || { echo "check-manpage: no options read from '$bin --help'" >&2; fail=1; }

version=$(cat "$(dirname "$0")/../../VERSION")
grep -q "^\.TH MEMSCOPE-BPF 8 .*\"memscope-bpf $version\"" "$page" || {
	echo "check-manpage: '$page' does not carry version $version in .TH" >&2
	fail=1
}
"$bin" --version | grep -qx "memscope-bpf $version\( (.*)\)\{0,1\}" || {
	echo "check-manpage: '$bin --version' is not version $version" >&2
	fail=1
}
if command -v man > /dev/null; then
	# groff's warnings (bad macros, unknown escapes) on stderr
	warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 > /dev/null) || true
	if [ -n "$warn" ]; then
		echo "check-manpage: man warns about '$page':" >&2
		printf '%s\n' "$warn" >&2
		fail=1
	fi
fi
n=$(wc -l < "$tmp/help")
[ $fail -eq 0 ] && echo "check-manpage: $n long options, the same in --help, the man page and the parser"
exit $fail
