/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers (util.h). Kept apart so that the VM and the heap report
 * rejections through one piece of code, and the bind layer's sorts share
 * one sort.
 */
#include <stdio.h>
#include <string.h>

#include "util.h"

int
util_reject(char *buf, size_t size, gpuva_log_fn fn, void *priv, int err,
	    const char *fmt, va_list ap)
{
	vsnprintf(buf, size, fmt, ap);
	if (fn)
		fn(priv, buf);
	return err;
}

/* Few enough for an insertion sort to beat the passes' fixed cost. */
#define SORT_SMALL 24

void
util_sort_kv(struct util_kv *a, struct util_kv *tmp, size_t n)
{
	uint64_t vary = 0;
	unsigned shift = 0;

	if (n <= SORT_SMALL) {
		for (size_t i = 1; i < n; i++) {
			struct util_kv x = a[i];
			size_t j = i;

			for (; j > 0 && a[j - 1].key > x.key; j--)
				a[j] = a[j - 1];
			a[j] = x;
		}
		return;
	}
	/* the bits in which some key differs from the first: only those */
	for (size_t i = 1; i < n; i++)
		vary |= a[i].key ^ a[0].key;
	while (shift < 64 && !((vary >> shift) & 0xff))
		shift += 8;
	for (; shift < 64 && (vary >> shift); shift += 8) {
		size_t count[256] = { 0 }, sum = 0;

		for (size_t i = 0; i < n; i++)
			count[(a[i].key >> shift) & 0xff]++;
		for (unsigned d = 0; d < 256; d++) {
			size_t c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(a[i].key >> shift) & 0xff]++] = a[i];
		memcpy(a, tmp, n * sizeof(*a));
	}
}
