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

/*
 * Format a rejection reason into @buf (@size bytes), hand it to @fn if set,
 * and return @err: every rejecting call of the library ends here.
 */
int util_reject(char *buf, size_t size, gpuva_log_fn fn, void *priv, int err,
		const char *fmt, va_list ap);

#endif /* GPUVA_LIB_UTIL_H */
