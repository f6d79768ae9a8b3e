#!/bin/sh
# Golden test: `gpuva replay TRACE` (step callbacks and --ops-list) must
# print EXPECTED byte for byte. The expected files were produced by gpuva
# and checked line by line against the kernel's drm_gpuvm run as a
# userspace program (only the zero-range requests differ: we reject them,
# trace-format.md says so).
#   check-replay.sh GPUVA TRACE EXPECTED
set -eu
gpuva=$1 trace=$2 expected=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for mode in "" --ops-list; do
	# shellcheck disable=SC2086
	"$gpuva" replay $mode "$trace" > "$out"
	if ! cmp -s "$out" "$expected"; then
		echo "replay $mode $trace differs from $expected:"
		diff -u "$expected" "$out" | head -40
		exit 1
	fi
done
