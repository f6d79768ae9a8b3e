#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages named on the command line that dpkg says are
# missing: one `apt-get update`, then one `apt-get install`, quietly, the
# log shown only on failure. As root directly, otherwise through sudo.
# Used by tests/run.sh and examples/demo.sh, so that both work on a fresh
# Debian 12 machine.
#
# usage: tests/install-deps.sh PACKAGE...
set -eu
missing=
for p in "$@"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	as_root=
elif command -v sudo >/dev/null 2>&1; then
	as_root=sudo
else
	echo "missing Debian packages:$missing" >&2
	echo "run as root, or install sudo, or: apt-get install$missing" >&2
	exit 1
fi
echo "installing Debian packages:$missing"
log=$(mktemp)
apt="$as_root env DEBIAN_FRONTEND=noninteractive apt-get -q"
# shellcheck disable=SC2086  # $apt and $missing are word lists
if ! { $apt update && $apt install -y --no-install-recommends $missing; } \
	>"$log" 2>&1 </dev/null; then
	cat "$log" >&2
	rm -f "$log"
	echo "could not install:$missing" >&2
	exit 1
fi
rm -f "$log"
