#!/bin/sh
# SPDX-License-Identifier: MIT
# Stage-install the built library, then build the consumer the way a driver
# outside meson would: with `pkg-config --cflags --libs libgpuva` against the
# staged copy, linked once to the shared library (and run with
# LD_LIBRARY_PATH) and once to the static archive.
#
# usage: pkgconfig-test.sh MESON BUILD_ROOT CONSUMER_C WORK_DIR CC...
set -eu
meson=$1 build=$2 src=$3 work=$4
shift 4

rm -rf "$work"
mkdir -p "$work"
stage=$work/stage
"$meson" install -C "$build" --destdir "$stage" --no-rebuild --quiet \
	>"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }

pc=$(find "$stage" -name libgpuva.pc | head -n 1)
[ -n "$pc" ] || { echo "no libgpuva.pc was installed"; exit 1; }
echo "installed: ${pc#$stage}"
# The staged prefix is the real one with $stage in front: the sysroot
# variable makes pkg-config put it before every -I and -L.
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

pkg-config --exists --print-errors 'libgpuva >= 0.1'
cflags=$(pkg-config --cflags libgpuva)
libs=$(pkg-config --libs libgpuva)
echo "pkg-config --cflags --libs libgpuva: $cflags $libs"
libdir=$stage$(pkg-config --variable=libdir libgpuva | sed "s|^$stage||")
for h in gpuva.h common.h vm.h ops.h; do
	[ -f "$stage$(pkg-config --variable=includedir libgpuva | sed "s|^$stage||")/gpuva/$h" ] ||
		{ echo "header gpuva/$h not installed"; exit 1; }
done

# shared: the soname is versioned and the binary needs exactly it
"$@" -std=c11 -Wall -Wextra -Werror $cflags "$src" $libs -o "$work/consumer-shared"
readelf -d "$work/consumer-shared" | grep -q 'NEEDED.*\[libgpuva\.so\.0\]' ||
	{ echo "consumer does not need libgpuva.so.0"; exit 1; }
LD_LIBRARY_PATH=$libdir "$work/consumer-shared"

# static: the same program from libgpuva.a, with --static's private libs
slibs=$(pkg-config --static --libs libgpuva | sed 's/-lgpuva\( \|$\)/-l:libgpuva.a /')
"$@" -std=c11 -Wall -Wextra -Werror $cflags "$src" $slibs -o "$work/consumer-static"
if readelf -d "$work/consumer-static" | grep -q 'NEEDED.*libgpuva'; then
	echo "static consumer still needs libgpuva.so"
	exit 1
fi
"$work/consumer-static"
