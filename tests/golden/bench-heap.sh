#!/bin/sh
# SPDX-License-Identifier: MIT
# `gpuva bench heap-churn|heap-frag`, small: every request succeeds on all
# three sides (the heap, the first-fit list, util_vma_heap's algorithm),
# the heap passes gpuva_heap_check() at the end, and the list and
# util_vma_heap's algorithm place every block at the same address (the
# bench checks that itself, with each list in its own order, and exits 1
# otherwise). Also that the report has each side's line and both ratios,
# and that the two lists end the timed runs with the same holes. Timings
# are printed, never compared.
#
#   bench-heap.sh GPUVA
set -eu
gpuva=${1:?usage: bench-heap.sh GPUVA}
fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for run in "heap-churn --n 100 --ops 20000" "heap-churn --n 3000 --ops 6000" \
	   "heap-frag --n 100 --ops 4000" "heap-frag --n 3000 --ops 4000"; do
	rc=0
	# shellcheck disable=SC2086
	"$gpuva" bench $run --reps 2 > "$out" || rc=$?
	if [ "$rc" != 0 ]; then
		echo "FAIL: bench $run: exit status $rc"
		fail=1
		continue
	fi
	for side in heap list vma; do
		grep -q "^  $side fill_ns_per_op [0-9.]* ns_per_op [0-9.]*" "$out" || {
			echo "FAIL: bench $run: no '$side' line"; fail=1; }
	done
	for r in list vma; do
		grep -q "^  ratio $r/heap [0-9.]*" "$out" || {
			echo "FAIL: bench $run: no '$r/heap' ratio"; fail=1; }
	done
	lh=$(awk '$1 == "list" { print $NF }' "$out")
	vh=$(awk '$1 == "vma" { print $NF }' "$out")
	if [ -z "$lh" ] || [ "$lh" != "$vh" ]; then
		echo "FAIL: bench $run: list ends with '$lh' holes, util_vma_heap's algorithm '$vh'"
		fail=1
	else
		echo "ok: bench $run: list and util_vma_heap's algorithm end with $lh holes"
	fi
done
exit $fail
