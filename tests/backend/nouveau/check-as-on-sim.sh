#!/bin/sh
# `CMD ARGS --backend nouveau` (under the fake kernel) must exit 0 and print
# exactly what `CMD ARGS --backend sim` prints: the same requests, ops and
# dumps on nouveau's sparse regions as on the sim's page table.
#   check-as-on-sim.sh CMD ARGS...
set -eu
sim=$(mktemp)
nv=$(mktemp)
trap 'rm -f "$sim" "$nv"' EXIT
"$@" --backend sim > "$sim"
"$@" --backend nouveau > "$nv"
if ! cmp -s "$sim" "$nv"; then
	echo "$* --backend nouveau differs from --backend sim:"
	diff -u "$sim" "$nv" | head -40
	exit 1
fi
