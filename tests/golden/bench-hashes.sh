#!/bin/sh
# SPDX-License-Identifier: MIT
# `gpuva bench` generates the benchmark scenarios in-process (trace.c);
# its ops_hash must be drm_gpuvm's on the same scenario, N and seed. The
# expected hashes below were printed by a build of the kernel's drm_gpuvm.c
# as a userspace program (`gpuvm-oracle --bench S --n N`), kept outside the
# repository, as README.md's Performance section describes; the project
# never runs it. Every way of running a scenario must give the same
# op stream: step callbacks or op lists, one request at a time or in batches
# announced with gpuva_vm_warm() (--warm K).
#
#   bench-hashes.sh GPUVA
set -eu
gpuva=${1:?usage: bench-hashes.sh GPUVA}
fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
while read -r scenario n want; do
	for args in "" "--ops-list" "--warm 16" "--ops-list --warm 7" "--warm 1"; do
		# shellcheck disable=SC2086
		"$gpuva" bench "$scenario" --n "$n" $args > "$out"	# set -e: exit 0
		got=$(awk '$1 == "ops_hash" { print $2 }' "$out")
		if [ "$got" != "$want" ]; then
			echo "FAIL: bench $scenario --n $n $args: ops_hash $got, drm_gpuvm $want"
			fail=1
		else
			echo "ok: bench $scenario --n $n $args: $got"
		fi
	done
done <<'LIST'
random 20000 0x6fda801066979fbc
sparse-seq 4096 0x8751ae5d9b13eaf6
big-remap 3000 0x5aced7f466f19e72
populate 20000 0xc6a9633cb781eb5d
LIST
exit $fail
