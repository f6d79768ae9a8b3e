#!/bin/sh
# SPDX-License-Identifier: MIT
# The demo: install what is missing (Debian 12), build the library and the
# gpuva tool, then replay a sample bind trace on the sim backend, printing
# the ops each request generates and the final state.
#
#   ./examples/demo.sh [TRACE]      (default: examples/traces/sparse.trace)
#
# The build goes to $GPUVA_BUILD_ROOT/demo (default: _build/demo).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${GPUVA_BUILD_ROOT:-$root/_build}
dir=$out/demo
trace=${1:-$root/examples/traces/sparse.trace}

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
echo "\$ gpuva replay ${trace#$root/}"
exec "$dir/examples/tools/gpuva" replay "$trace"
