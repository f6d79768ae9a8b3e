/* SPDX-License-Identifier: MIT */
/*
 * Small helpers the layers share: the rejection-reason mechanism behind
 * vm_reject() and heap_reject(), and bit tests. Not a layer of its own.
 */
#ifndef GPUVA_LIB_UTIL_H
#define GPUVA_LIB_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpuva/common.h"

static inline bool
util_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* A 64-bit key and what goes with it, for util_sort_kv(). */
struct util_kv {
	uint64_t key, val;
};

/*
 * Sort @n pairs by key, stably, using @tmp (room for @n) as scratch: an
 * LSD radix sort over only the bits in which the keys differ, a byte at a
 * time, so that the few hundred addresses of a batch sort in a few passes
 * without a compare call each (libc's qsort cost more than the rest of a
 * commit). Cannot fail.
 */
void util_sort_kv(struct util_kv *a, struct util_kv *tmp, size_t n);

/*
 * Format a rejection reason into @buf (@size bytes), hand it to @fn if set,
 * and return @err: every rejecting call of the library ends here.
 */
int util_reject(char *buf, size_t size, gpuva_log_fn fn, void *priv, int err,
		const char *fmt, va_list ap);

#endif /* GPUVA_LIB_UTIL_H */
