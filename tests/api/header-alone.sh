#!/bin/sh
# SPDX-License-Identifier: MIT
# Each public header compiles on its own, as C11 and as C++ (when a C++
# compiler is given), with -pedantic -Werror: a header includes what it uses
# and uses nothing a driver's compiler would warn about.
#
# usage: header-alone.sh INCLUDE_DIR CC [CXX]
set -eu
inc=$1 cc=$2 cxx=${3:-}
warn="-pedantic -Werror -Wall -Wextra -Wshadow -Wundef"
n=0
for h in "$inc"/gpuva/*.h; do
	h=gpuva/$(basename "$h")
	printf '#include <%s>\n' "$h" |
		$cc -std=c11 $warn -Wstrict-prototypes -I"$inc" -fsyntax-only -x c - ||
		{ echo "FAIL: $h as C11"; exit 1; }
	if [ -n "$cxx" ]; then
		for std in c++11 c++17; do
			printf '#include <%s>\n' "$h" |
				$cxx -std=$std $warn -I"$inc" -fsyntax-only -x c++ - ||
				{ echo "FAIL: $h as $std"; exit 1; }
		done
	fi
	n=$((n + 1))
done
echo "$n headers compile alone as C11${cxx:+, C++11 and C++17}"
