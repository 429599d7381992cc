#!/bin/sh
# How long the HTML report takes to draw a large profile: a synthetic report
# with N distinct stacks (default 10000), rendered by the real renderer, loaded
# RUNS times (default 3) in headless Chromium.  Prints the page's size and the
# time from navigation start until it has drawn everything (its render-done
# sentinel's data-ms).  Run from the top of the tree after `make html`.
# Usage: tests/html/bench-load.sh [N] [RUNS]
set -eu
n=${1:-10000}
runs=${2:-3}
build=${BUILD:-build}
chromium=${CHROMIUM:-chromium}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$build/tests/html/synth_report" "$n" >"$dir/report.json"
"$build/tests/html/embed_json" "$dir/report.json" "$dir/report.html"
echo "stacks: $n  page: $(wc -c <"$dir/report.html") bytes (JSON $(wc -c <"$dir/report.json"))"
i=0
while [ $i -lt "$runs" ]; do
	i=$((i + 1))
	mkdir "$dir/profile-$i"
	start=$(date +%s.%N)
	"$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run \
		--user-data-dir="$dir/profile-$i" --dump-dom "file://$dir/report.html" \
		2>/dev/null >"$dir/dom.html"
	end=$(date +%s.%N)
	ms=$(grep -o 'id="render-done"[^>]*data-ms="[0-9]*"' "$dir/dom.html" | sed 's/.*data-ms="\([0-9]*\)"/\1/')
	if [ -z "$ms" ]; then
		echo "run $i: the page did not finish drawing" >&2
		exit 1
	fi
	echo "run $i: drawn ${ms} ms after navigation start (chromium process, dump included: $(awk "BEGIN { printf \"%.1f\", $end - $start }") s)"
done
