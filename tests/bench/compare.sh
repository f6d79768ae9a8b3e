#!/bin/sh
# Compare `gpuva bench` with any reference binary that speaks the same
# bench output (e.g. the kernel's drm_gpuvm built as a userspace program):
# both run each scenario REPS times, alternating which goes first; the
# medians of ns_per_request are compared and ops_hash must be identical.
#
#   tests/bench/compare.sh REF [GPUVA] [REPS] [-- extra bench args]
#
# REF is run as `REF --bench SCENARIO ARGS`; GPUVA (default: the one in
# _build/main or build/) as `GPUVA bench SCENARIO ARGS`. Scenarios come
# from $SCENARIOS (default: all four). Prints one line per scenario and
# the goals (README.md, Performance) beside the ratios. $GPUVA_ARGS goes to
# gpuva only (GPUVA_ARGS=--ops-list measures the op-list mode; the default
# is step callbacks). Never part of the test suite: timings are not
# assertions.
set -eu
ref=${1:?usage: compare.sh REF [GPUVA] [REPS] [-- ARGS]}
shift
gpuva=
for c in _build/main/examples/tools/gpuva build/examples/tools/gpuva; do
	[ -x "$c" ] && { gpuva=$c; break; }
done
if [ $# -gt 0 ] && [ "$1" != -- ]; then gpuva=$1; shift; fi
reps=5
if [ $# -gt 0 ] && [ "$1" != -- ]; then reps=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = -- ] && shift
[ -x "$gpuva" ] || { echo "compare.sh: no gpuva binary (build first or pass GPUVA)" >&2; exit 2; }
scenarios=${SCENARIOS:-random sparse-seq big-remap populate}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
median() { sort -n | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); print v[m] }'; }
goal() {
	case $1 in
	random) echo 0.333 ;; sparse-seq) echo 0.25 ;; big-remap) echo 0.5 ;;
	populate) echo 0.333 ;; *) echo - ;;
	esac
}

printf '%-11s %12s %12s %8s %7s  %s\n' scenario ref_ns/req gpuva_ns/req ratio goal ops_hash
for s in $scenarios; do
	: > "$tmp/r" ; : > "$tmp/g"
	i=0
	while [ $i -lt "$reps" ]; do
		if [ $((i % 2)) -eq 0 ]; then
			"$ref" --bench "$s" "$@" > "$tmp/ro" 2>/dev/null
			"$gpuva" bench "$s" ${GPUVA_ARGS:-} "$@" > "$tmp/go"
		else
			"$gpuva" bench "$s" ${GPUVA_ARGS:-} "$@" > "$tmp/go"
			"$ref" --bench "$s" "$@" > "$tmp/ro" 2>/dev/null
		fi
		key ns_per_request "$tmp/ro" >> "$tmp/r"
		key ns_per_request "$tmp/go" >> "$tmp/g"
		i=$((i + 1))
	done
	rh=$(key ops_hash "$tmp/ro"); gh=$(key ops_hash "$tmp/go")
	same=identical; [ "$rh" = "$gh" ] || same="DIFFERENT ($rh vs $gh)"
	r=$(median < "$tmp/r"); g=$(median < "$tmp/g")
	printf '%-11s %12s %12s %8s %7s  %s\n' "$s" "$r" "$g" \
		"$(awk -v a="$g" -v b="$r" 'BEGIN { printf "%.3f", a / b }')" \
		"$(goal "$s")" "$same"
done
echo "bytes_per_va (gpuva, last run of $s): $(key bytes_per_va "$tmp/go"), sizeof(struct gpuva): $(key sizeof_gpuva "$tmp/go")"
