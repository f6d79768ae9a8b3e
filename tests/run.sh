#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, as CI runs it (.ci/run) and as a newcomer types it:
#
#   ./tests/run.sh
#
# 1. installs the Debian 12 packages it needs that are missing;
# 2. main:     builds with -Dwerror=true and runs every suite (unit,
#              property, golden, examples, shim, backend, threads,
#              consumer, api, fuzz corpus; the heap and bind tests are in
#              unit and property);
# 3. asan:     a second build with -Db_sanitize=address,undefined and the
#              portable C forms (GPUVA_NO_ASM: no inline asm, no SSE2), running
#              the unit, property, golden, fuzz-corpus, threads and
#              fake-kernel suites (the shim and backend executables);
# 4. valgrind: a 200,000-request trace replayed under memcheck, the thread
#              stress test under helgrind (both the 'valgrind' suite), and
#              the unit and backend suites under `meson test --setup
#              valgrind` (the kernel backends against the fake kernel);
# 5. fuzz:     a clang build with libFuzzer, fuzzing the trace parser and the
#              engine for GPUVA_FUZZ_SECONDS (default 60) seconds;
# then prints one line `N passed, N failed, N skipped` counting every test
# of every pass and exits 1 if anything failed. A build that fails counts
# as one failure, and its pass runs no test (the valgrind pass uses the
# main build). With CI=true a skipped test counts as failed too: CI has
# every package, so a skip means something is missing.
#
# Build directories go to $GPUVA_BUILD_ROOT (default: _build/ in the source
# tree) and are reused by the next run.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${GPUVA_BUILD_ROOT:-$root/_build}
fuzz_seconds=${GPUVA_FUZZ_SECONDS:-60}
export GPUVA_FUZZ_SECONDS=$fuzz_seconds

# gcc/g++: the build and the C++ header test; clang + libclang-rt-14-dev:
# libFuzzer; valgrind: memcheck; python3: meson and two test scripts.
packages=(gcc g++ libc6-dev binutils python3 meson ninja-build pkg-config
	libcmocka-dev libdrm-dev valgrind clang libclang-rt-14-dev)
"$root/tests/install-deps.sh" "${packages[@]}" || {
	echo "0 passed, 1 failed"
	exit 1
}

passed=0 failed=0 skipped=0
start=$SECONDS

say() { printf '\n== %s\n' "$*"; }

# Run a quiet command; show its log only when it fails (counts as a failure).
quiet() {
	local log=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		tail -n 80 "$log"
		echo "FAILED: $*  (full log: $log)"
		failed=$((failed + 1))
		return 1
	fi
}

# meson setup a build dir, or reconfigure it if it exists, then compile.
build() {
	local dir=$1
	shift
	mkdir -p "$out"
	if [ -f "$dir/build.ninja" ]; then
		quiet "$dir.setup.log" meson setup --reconfigure "$dir" "$root" "$@" || return 1
	else
		rm -rf "$dir"
		quiet "$dir.setup.log" meson setup "$dir" "$root" "$@" || return 1
	fi
}

# The suites among $@ that the build dir defines, as --suite arguments.
suites() {
	local dir=$1
	shift
	meson introspect "$dir" --tests | python3 -c '
import json, sys
have = {s.split(":")[-1] for t in json.load(sys.stdin) for s in t["suite"]}
print(" ".join("--suite " + s for s in sys.argv[1:] if s in have))' "$@"
}

# meson test, then add its results (from the JSON log) to the counts.
mtest() {
	local dir=$1 json=$1/meson-logs/testlog.json
	shift
	for a in "$@"; do
		[[ $a == --setup=* ]] && json=$dir/meson-logs/testlog-${a#--setup=}.json
	done
	rm -f "$json"
	meson test -C "$dir" --no-rebuild --print-errorlogs "$@"
	local rc=$?
	if [ ! -f "$json" ]; then
		echo "FAILED: meson test $* wrote no results"
		failed=$((failed + 1))
		return 1
	fi
	read -r p f s < <(python3 -c '
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)' "$json")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# meson itself failed
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

elapsed() { echo "($((SECONDS - start)) s so far)"; }

say "main build: gcc, -Dwerror=true, every suite but valgrind"
main=$out/main main_built=false
if build "$main" -Dwerror=true &&
   quiet "$main.compile.log" meson compile -C "$main"; then
	main_built=true
	mtest "$main" --no-suite valgrind
fi
elapsed

say "sanitizers: ASan + UBSan, portable C forms (GPUVA_NO_ASM), suites unit, property, golden, fuzz, threads, fake-kernel"
asan=$out/asan
if build "$asan" -Db_sanitize=address,undefined -Db_lundef=false \
	-Dc_args=-DGPUVA_NO_ASM &&
   quiet "$asan.compile.log" meson compile -C "$asan"; then
	read -ra sel < <(suites "$asan" unit property golden fuzz threads fake-kernel)
	if [ ${#sel[@]} -gt 0 ]; then
		ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
		UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
			mtest "$asan" "${sel[@]}"
	fi
fi
elapsed

say "valgrind: a large trace under memcheck, thread stress under helgrind; unit and backend suites under --setup valgrind"
if $main_built; then
	mtest "$main" --suite valgrind
	read -ra sel < <(suites "$main" unit backend)
	if [ ${#sel[@]} -gt 0 ]; then
		mtest "$main" --setup=valgrind "${sel[@]}"
	fi
fi
elapsed

say "fuzz: clang + libFuzzer over the trace parser and the engine, ${fuzz_seconds}s"
fuzz=$out/fuzz
if CC=clang build "$fuzz" -Dfuzzer=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link &&
   quiet "$fuzz.compile.log" meson compile -C "$fuzz" \
	tests/fuzz/fuzz-replay tests/fuzz/fuzz-replay-corpus; then
	mtest "$fuzz" --suite fuzz
fi
elapsed

say "done in $((SECONDS - start)) s"
# CI has every package installed: a skip there is a missing piece, not a pass
if [ "${CI:-}" = true ] && [ "$skipped" -gt 0 ]; then
	echo "CI: $skipped skipped test(s) count as failed"
	failed=$((failed + skipped))
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
