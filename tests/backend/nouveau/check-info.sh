#!/bin/sh
# `gpuva info`, listing every node and naming one, shows the fake nouveau
# node as the device layer probed it: driver version, VM_BIND, the VA space
# [0, 2^47), the page size, how NULL mappings are made.
#   check-info.sh GPUVA
set -eu
gpuva=$1
for args in "info" "info /dev/dri/renderD128"; do
	# shellcheck disable=SC2086
	out=$("$gpuva" $args)
	for want in "/dev/dri/renderD128" "  driver     nouveau 1.4.0" \
		    "  vm_bind    yes" "  va         0x0 +0x800000000000" \
		    "  page_size  0x$(printf '%x' "$(getconf PAGESIZE)")" \
		    "  null       sparse regions"; do
		if ! printf '%s\n' "$out" | grep -qxF -- "$want"; then
			echo "gpuva $args does not print \"$want\":"
			printf '%s\n' "$out"
			exit 1
		fi
	done
done
