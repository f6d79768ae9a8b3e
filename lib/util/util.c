/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers (util.h). Kept apart so that the VM and the heap report
 * rejections through one piece of code.
 */
#include <stdio.h>

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
