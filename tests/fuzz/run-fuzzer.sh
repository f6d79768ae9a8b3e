#!/bin/sh
# SPDX-License-Identifier: MIT
# A bounded libFuzzer run of fuzz-replay: SECONDS of fuzzing (the
# GPUVA_FUZZ_SECONDS environment variable overrides it) from the seed
# corpus, new inputs kept in WORK_DIR, never in the source tree. On a crash
# the offending input is printed, so the CI log alone reproduces it:
# save it to a file and run `fuzz-replay FILE` or `gpuva replay FILE`.
#
# usage: run-fuzzer.sh FUZZER SEED_CORPUS DICT WORK_DIR SECONDS
set -eu
fuzzer=$1 seeds=$2 dict=$3 work=$4
seconds=${GPUVA_FUZZ_SECONDS:-$5}

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
echo "fuzzing for ${seconds}s from $(ls "$seeds" | wc -l) seeds"
set +e
"$fuzzer" -max_total_time="$seconds" -max_len=4096 -timeout=30 \
	-rss_limit_mb=2048 -print_final_stats=1 -dict="$dict" \
	-artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" \
	>"$work/fuzz.log" 2>&1
rc=$?
set -e
grep -E '^(#[0-9]+.*DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)' \
	"$work/fuzz.log" || true
echo "corpus now $(ls "$work/corpus" | wc -l) inputs"
if [ "$rc" -ne 0 ]; then
	tail -n 60 "$work/fuzz.log"
	for f in "$work"/artifacts/*; do
		[ -f "$f" ] || continue
		echo "---- $f (base64) ----"
		base64 "$f"
	done
	echo "FAIL: libFuzzer exited with $rc"
	exit 1
fi
