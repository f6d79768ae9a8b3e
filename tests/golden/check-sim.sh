#!/bin/sh
# Golden test: replayed on the sim backend, each request a transaction of
# its own and the sim's page table compared with the mirror page by page
# after every commit (--check), a trace without transaction lines prints
# exactly what plain `gpuva replay` prints (docs/trace-format.md). PAGE_SIZE
# must divide every address, range and BO offset of the trace, or the sim
# refuses requests that plain replay takes.
#   check-sim.sh GPUVA TRACE PAGE_SIZE
set -eu
gpuva=$1 trace=$2 ps=$3
plain=$(mktemp)
sim=$(mktemp)
trap 'rm -f "$plain" "$sim"' EXIT
"$gpuva" replay "$trace" > "$plain"
"$gpuva" replay --backend sim --sim-page-size "$ps" --check "$trace" > "$sim"
if ! cmp -s "$plain" "$sim"; then
	echo "replay --backend sim --sim-page-size $ps --check $trace differs from plain replay:"
	diff -u "$plain" "$sim" | head -40
	exit 1
fi
