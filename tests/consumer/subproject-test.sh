#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the consumer as a driver does with libgpuva as a meson subproject:
# a copy of subproject-test/ whose subprojects/libgpuva is a symlink to this
# source tree, resolved by dependency('libgpuva') through the wrap's
# [provide] and libgpuva's meson.override_dependency().
#
# usage: subproject-test.sh MESON SOURCE_ROOT WORK_DIR
set -eu
meson=$1 root=$2 work=$3
here=$root/tests/consumer

rm -rf "$work"
mkdir -p "$work/proj/subprojects"
cp "$here/subproject-test/meson.build" "$here/consumer.c" "$work/proj/"
cp "$here/subproject-test/subprojects/libgpuva.wrap" "$work/proj/subprojects/"
ln -s "$root" "$work/proj/subprojects/libgpuva"

# --force-fallback-for: never pick up an installed libgpuva.pc instead
if ! "$meson" setup "$work/build" "$work/proj" --wrap-mode=nodownload \
	--force-fallback-for=libgpuva >"$work/setup.log" 2>&1; then
	cat "$work/setup.log"
	exit 1
fi
grep -q 'Executing subproject libgpuva' "$work/setup.log" ||
	{ cat "$work/setup.log"; echo "libgpuva was not used as a subproject"; exit 1; }
"$meson" compile -C "$work/build" >"$work/compile.log" 2>&1 ||
	{ cat "$work/compile.log"; exit 1; }
"$work/build/consumer"
