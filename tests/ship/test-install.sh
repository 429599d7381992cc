#!/bin/sh
# make install into a scratch DESTDIR lays out exactly the files below (for
# PREFIX /usr/local, the default, and /usr); the installed tool runs, its man
# page renders, its bash completion completes; make uninstall removes every
# file again.  Run from the top of the tree (make install-test).
set -u
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$(cat VERSION)

bad() {
	echo "install-test: FAILED: $*" >&2
	fail=1
}

# what PREFIX holds after make install, besides the docs
expected() {
	cat << EOF
$1/include/memscope.h
$1/sbin/memscope-bpf
$1/share/bash-completion/completions/memscope-bpf
$1/share/doc/memscope-bpf/README.md
$1/share/man/man8/memscope-bpf.8
EOF
	for d in docs/*.md; do
		echo "$1/share/doc/memscope-bpf/$d"
	done
}

for prefix in "" /usr; do
	dest=$tmp/dest
	rm -rf "$dest"
	shown=${prefix:-/usr/local}
	make --no-print-directory -s install DESTDIR="$dest" ${prefix:+PREFIX=$prefix} > "$tmp/log" 2>&1 ||
		{ cat "$tmp/log" >&2; bad "make install PREFIX=$shown failed"; continue; }
	(cd "$dest" && find . -type f -o -type l) | sed 's,^\.,,' | sort > "$tmp/got"
	expected "$shown" | sort > "$tmp/want"
	if ! cmp -s "$tmp/got" "$tmp/want"; then
		bad "PREFIX=$shown: installed files differ from the list (- expected, + installed):"
		diff -u "$tmp/want" "$tmp/got" | sed -n 's/^\([-+]\/\)/\1/p' >&2
	fi
	[ "$(stat -c %a "$dest$shown/sbin/memscope-bpf")" = 755 ] || bad "the tool is not mode 755"
	[ "$(stat -c %a "$dest$shown/include/memscope.h")" = 644 ] || bad "memscope.h is not mode 644"
	"$dest$shown/sbin/memscope-bpf" --version | grep -qx "memscope-bpf $version" ||
		bad "the installed tool's --version is not $version"
	grep -q "memscope-bpf $version" "$dest$shown/share/man/man8/memscope-bpf.8" ||
		bad "the installed man page does not carry version $version"
	if command -v man > /dev/null; then
		MANWIDTH=80 man -l "$dest$shown/share/man/man8/memscope-bpf.8" 2> /dev/null |
			grep -q '^EXIT STATUS' || bad "the installed man page does not render"
	fi
	if [ -f /usr/share/bash-completion/bash_completion ]; then
		# the completion reads the options from the installed tool's --help
		got=$(PATH="$dest$shown/sbin:$PATH" bash -c '
			. /usr/share/bash-completion/bash_completion
			. "$1"
			COMP_WORDS=(memscope-bpf --no-s); COMP_CWORD=1
			COMP_LINE="memscope-bpf --no-s"; COMP_POINT=${#COMP_LINE}
			_memscope_bpf memscope-bpf --no-s memscope-bpf
			printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
			sh "$dest$shown/share/bash-completion/completions/memscope-bpf")
		[ "$got" = "--no-scan --no-stacks --no-symbolize " ] ||
			bad "completion of '--no-s' gave '$got'"
	fi
	make --no-print-directory -s uninstall DESTDIR="$dest" ${prefix:+PREFIX=$prefix} > "$tmp/log" 2>&1 ||
		{ cat "$tmp/log" >&2; bad "make uninstall PREFIX=$shown failed"; }
	left=$(cd "$dest" && find . -type f -o -type l)
	[ -z "$left" ] || bad "PREFIX=$shown: make uninstall left: $left"
	[ -d "$dest$shown/share/doc/memscope-bpf" ] && bad "make uninstall left the doc folder"
	[ $fail -eq 0 ] && echo "install-test: PREFIX=$shown: $(wc -l < "$tmp/want") files installed, all removed again"
done
exit $fail
