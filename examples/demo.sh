#!/bin/sh
# SPDX-License-Identifier: MIT
# The demo: install what is missing (Debian 12), build the library, the
# gpuva tool and the examples, then run the sparse texture residency
# example on the sim backend: the requests of each bind batch and the ops
# they generate, the final state, and a picture of it (`gpuva map` of
# examples/traces/sparse-residency.trace, the same run as a trace).
#
#   ./examples/demo.sh            the sparse residency example
#   ./examples/demo.sh TRACE      replay TRACE on the sim backend and draw it
#
# The build goes to $GPUVA_BUILD_ROOT/demo (default: _build/demo).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${GPUVA_BUILD_ROOT:-$root/_build}
dir=$out/demo
trace=${1:-}

"$root/tests/install-deps.sh" gcc libc6-dev python3 meson ninja-build \
	pkg-config libdrm-dev
mkdir -p "$out"
if [ -f "$dir/build.ninja" ]; then
	set -- meson setup --reconfigure "$dir" "$root" -Dtests=false
else
	set -- meson setup "$dir" "$root" -Dtests=false
fi
if ! "$@" >"$dir.log" 2>&1 || ! meson compile -C "$dir" >>"$dir.log" 2>&1; then
	cat "$dir.log"
	exit 1
fi

gpuva=$dir/examples/tools/gpuva
if [ -z "$trace" ]; then
	echo "\$ examples/sparse-residency"
	"$dir/examples/sparse-residency"
	trace=$root/examples/traces/sparse-residency.trace
else
	echo "\$ gpuva replay --backend sim ${trace#"$root"/}"
	"$gpuva" replay --backend sim "$trace"
fi
echo
echo "\$ gpuva map --backend sim ${trace#"$root"/}"
exec "$gpuva" map --backend sim "$trace"
