#!/bin/sh
# Golden test: `GPUVA ARGS...` must exit 0 and print EXPECTED byte for byte.
#   check-output.sh EXPECTED GPUVA ARGS...
set -eu
expected=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" > "$out"
if ! cmp -s "$out" "$expected"; then
	echo "$* differs from $expected:"
	diff -u "$expected" "$out" | head -40
	exit 1
fi
