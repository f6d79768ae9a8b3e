#!/bin/sh
# Golden test: an example program that prints its requests and ops as
# `gpuva replay` does prints exactly what `gpuva replay --backend sim
# --check` prints for the trace of the same requests, so the trace (which
# `gpuva map` draws for the demo) is what the example does.
#   check-example.sh EXAMPLE GPUVA TRACE
set -eu
example=$1 gpuva=$2 trace=$3
want=$(mktemp)
got=$(mktemp)
trap 'rm -f "$want" "$got"' EXIT
"$gpuva" replay --backend sim --check "$trace" > "$want"
"$example" --backend sim > "$got"
if ! cmp -s "$want" "$got"; then
	echo "$example differs from gpuva replay --backend sim $trace:"
	diff -u "$want" "$got" | head -40
	exit 1
fi
