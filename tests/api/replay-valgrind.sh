#!/bin/sh
# SPDX-License-Identifier: MIT
# Replay a large generated trace (200,000 requests, ~110,000 live mappings at
# the end) under valgrind's memcheck, in both op modes: no invalid access,
# no use of uninitialised memory, no leak. The valgrind runs must also print
# the same statistics and ops_hash as a native run, so nothing behaves
# differently under the instrumented allocator.
#
# usage: replay-valgrind.sh GPUVA PYTHON GEN_TRACE WORK_DIR [N]
set -eu
gpuva=$1 python=$2 gen=$3 work=$4 n=${5:-200000}

if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind not installed: skipped"
	exit 77
fi
rm -rf "$work"
mkdir -p "$work"
"$python" "$gen" --n "$n" --seed 1 -o "$work/large.trace"
"$gpuva" replay --stats "$work/large.trace" >/dev/null 2>"$work/native.stats"
cat "$work/native.stats"

for mode in "" --ops-list; do
	log=$work/valgrind${mode:+-ops-list}.log
	if ! valgrind -q --error-exitcode=99 --leak-check=full \
		--show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible \
		"$gpuva" replay $mode --stats "$work/large.trace" >/dev/null 2>"$log"; then
		cat "$log"
		echo "FAIL: valgrind gpuva replay $mode"
		exit 1
	fi
	if ! grep -v '^==' "$log" | cmp -s - "$work/native.stats"; then
		cat "$log"
		echo "FAIL: replay $mode under valgrind differs from the native run"
		exit 1
	fi
	echo "valgrind gpuva replay ${mode:+$mode }large.trace: clean"
done
