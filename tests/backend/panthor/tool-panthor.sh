#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The gpuva tool and the examples on panthor, under the fake kernel
# (LD_PRELOAD and GPUVA_SHIM_DRIVER=panthor come from meson):
#
#   tool-panthor.sh replay GPUVA TRACE [SIM_FAIL SHIM_FAIL]
#       `gpuva replay --backend panthor --check TRACE` prints byte for byte
#       what `gpuva replay TRACE` prints (`--backend sim --check` for a
#       trace with transaction lines). With SIM_FAIL (a --sim-fail value)
#       and SHIM_FAIL (the GPUVA_SHIM_FAIL_BIND value failing the same
#       commit on the fake kernel: one VM_BIND per commit), panthor prints
#       what the sim prints with that failure.
#   tool-panthor.sh example EXAMPLE
#       the example prints on panthor what it prints on sim.
#   tool-panthor.sh info GPUVA
#       `gpuva info` lists the node as panthor, with VM_BIND, its default
#       user window, 4 KiB pages and the blackhole BO.
#   tool-panthor.sh outside GPUVA
#       a trace whose VM reaches past panthor's user window fails, saying
#       which window.
#
# Under `meson test --setup valgrind` this script is memcheck's client (its
# preload shows in LD_PRELOAD); memcheck does not follow children, so the
# programs under test run under memcheck of their own.
set -euo pipefail

mc=()
case ${LD_PRELOAD:-} in
*vgpreload_memcheck*)
	mc=(valgrind --error-exitcode=99 --leak-check=full
	    --errors-for-leak-kinds=definite,indirect --quiet)
	;;
esac

fail() {
	echo "tool-panthor.sh: $*" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The two outputs must be the same bytes.
same() {
	if ! cmp -s "$1" "$2"; then
		diff -u "$1" "$2" | head -40
		fail "$3"
	fi
	echo "$3: no difference ($(wc -l < "$1") lines)"
}

case ${1:-} in
replay)
	[ $# -eq 3 ] || [ $# -eq 5 ] || fail "usage: replay GPUVA TRACE [SIM_FAIL SHIM_FAIL]"
	gpuva=$2 trace=$3 sim_fail=${4:-} shim_fail=${5:-}
	if [ -n "$sim_fail" ]; then
		set -- --backend sim --check --sim-fail "$sim_fail"
	elif grep -qE '^[[:space:]]*(begin|commit|abort)' "$trace"; then
		set -- --backend sim --check
	else
		set --
	fi
	"${mc[@]}" "$gpuva" replay "$@" "$trace" > "$tmp/want" ||
		fail "the reference failed: $*"
	GPUVA_SHIM_FAIL_BIND=$shim_fail \
		"${mc[@]}" "$gpuva" replay --backend panthor --check "$trace" > "$tmp/got" ||
		fail "gpuva replay --backend panthor --check $trace failed"
	same "$tmp/want" "$tmp/got" "$trace on panthor${shim_fail:+ (fail $shim_fail)} vs replay $*"
	;;
example)
	[ $# -eq 2 ] || fail "usage: example EXAMPLE"
	"${mc[@]}" "$2" --backend sim > "$tmp/want" || fail "$2 --backend sim failed"
	"${mc[@]}" "$2" --backend panthor > "$tmp/got" || fail "$2 --backend panthor failed"
	same "$tmp/want" "$tmp/got" "$2 on panthor vs sim"
	;;
info)
	[ $# -eq 2 ] || fail "usage: info GPUVA"
	"${mc[@]}" "$2" info > "$tmp/info" || fail "gpuva info failed"
	cat "$tmp/info"
	for want in 'driver +panthor ' 'vm_bind +yes' \
		    'va +0x0 \+0x800000000000' 'page_size +0x1000' \
		    'null +blackhole BO'; do
		grep -qE "^ +$want" "$tmp/info" || fail "gpuva info: no line '$want'"
	done
	;;
outside)
	[ $# -eq 2 ] || fail "usage: outside GPUVA"
	printf 'vm 0x0 0x1000000000000\nmap 0x0 0x1000 1 0x0\ndump\n' > "$tmp/t"
	status=0
	"${mc[@]}" "$2" replay --backend panthor "$tmp/t" > "$tmp/out" 2> "$tmp/err" ||
		status=$?
	# 1: the VM was refused (memcheck reports its findings as 99)
	[ $status -eq 1 ] || fail "a VM past the user window: exit $status, not 1"
	cat "$tmp/err"
	grep -q "outside panthor's user VA window \[0x0, 0xfffff0000000)" "$tmp/err" ||
		fail "the error does not name the window"
	;;
*)
	fail "usage: replay|example|info|outside ..."
	;;
esac
