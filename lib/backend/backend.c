/* SPDX-License-Identifier: MIT */
/*
 * The backend layer's common part: creating backends by name, and the
 * calls every backend answers the same way (BOs, sync objects, reasons).
 *
 * It exists so that a driver, a tool or a test speaks to any backend with
 * the same calls, and a backend implements only its vtable. It leaves out
 * the transactions (lib/bind), which are what calls bind(), and device
 * discovery (lib/drm).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "registry.h"
#include "util/util.h"
#include "vm/vm_internal.h"

void
gpuva_backend_init(struct gpuva_backend *be,
		   const struct gpuva_backend_ops *ops,
		   const struct gpuva_backend_desc *desc)
{
	memset(be, 0, sizeof(*be));
	be->ops = ops;
	if (desc) {
		be->log_fn = desc->log_fn;
		be->log_priv = desc->log_priv;
	}
}

int
gpuva_backend_reject(struct gpuva_backend *be, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = util_reject(be->last_error, sizeof(be->last_error), be->log_fn,
			  be->log_priv, err, fmt, ap);
	va_end(ap);
	return err;
}

const char *
gpuva_backend_last_error(const struct gpuva_backend *be)
{
	return be->last_error;
}

const char *const *
gpuva_backend_names(void)
{
	return backend_names;
}

bool
gpuva_backend_exists(const char *name)
{
	return backend_find(name) != NULL;
}

/* A creation failure has no object to hold its reason: tell the log only. */
static int
create_reject(const struct gpuva_backend_desc *desc, int err,
	      const char *fmt, ...)
{
	char buf[GPUVA_BACKEND_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	err = util_reject(buf, sizeof(buf), desc ? desc->log_fn : NULL,
			  desc ? desc->log_priv : NULL, err, fmt, ap);
	va_end(ap);
	return err;
}

int
gpuva_backend_create(const char *name, const struct gpuva_backend_desc *desc,
		     struct gpuva_backend **out)
{
	const struct backend_entry *e = backend_find(name);

	if (!e)
		return create_reject(desc, -ENOENT,
				     "backend %s: not compiled in (meson option "
				     "backends)", name ? name : "(null)");
	return e->create(desc, out);
}

void
gpuva_backend_destroy(struct gpuva_backend *be)
{
	if (!be)
		return;
	if (be->vm_count) {
		/* a caller bug; freeing would leave the VMs dangling */
		gpuva_backend_reject(be, -EBUSY, "destroy: %u VMs still on the "
				     "backend; destroy them first (backend leaked)",
				     be->vm_count);
		return;
	}
	be->ops->destroy(be);
}

const char *
gpuva_backend_name(const struct gpuva_backend *be)
{
	return be->ops->name;
}

/* ---- BOs --------------------------------------------------------------------- */

int
gpuva_backend_bo_create(struct gpuva_backend *be, struct gpuva_vm *vm,
			uint64_t size, uint32_t flags, struct gpuva_bo **out)
{
	if (!be->ops->bo_create)
		return gpuva_backend_reject(be, -EOPNOTSUPP,
					    "bo_create: the %s backend creates no BOs",
					    be->ops->name);
	if (!size)
		return gpuva_backend_reject(be, -EINVAL, "bo_create 0x0: size is zero");
	if (flags & ~(uint32_t)GPUVA_BACKEND_BO_PRIVATE)
		return gpuva_backend_reject(be, -EINVAL,
					    "bo_create 0x%" PRIx64 ": unknown flags 0x%"
					    PRIx32, size, flags);
	if ((flags & GPUVA_BACKEND_BO_PRIVATE) && (!vm || vm->backend != be))
		return gpuva_backend_reject(be, -EINVAL,
					    "bo_create 0x%" PRIx64 ": a private BO "
					    "needs a VM of this backend", size);
	return be->ops->bo_create(be, vm ? vm->be_priv : NULL, size, flags, out);
}

int
gpuva_backend_bo_destroy(struct gpuva_backend *be, struct gpuva_bo *bo)
{
	if (!bo)
		return 0;
	if (bo->vm_bos)
		return gpuva_backend_reject(be, -EBUSY,
					    "bo_destroy %" PRIu32 ": still mapped in a VM",
					    bo->handle);
	be->ops->bo_destroy(be, bo);
	return 0;
}

/* ---- sync objects -------------------------------------------------------------- */

static int
no_syncs(struct gpuva_backend *be, const char *what)
{
	return gpuva_backend_reject(be, -EOPNOTSUPP, "%s: the %s backend has no "
				    "sync objects", what, be->ops->name);
}

int
gpuva_backend_sync_create(struct gpuva_backend *be, uint32_t *handle)
{
	if (!be->ops->sync_create)
		return no_syncs(be, "sync_create");
	return be->ops->sync_create(be, handle);
}

void
gpuva_backend_sync_destroy(struct gpuva_backend *be, uint32_t handle)
{
	if (handle && be->ops->sync_destroy)
		be->ops->sync_destroy(be, handle);
}

int
gpuva_backend_sync_signal(struct gpuva_backend *be,
			  const struct gpuva_sync *points, uint32_t count)
{
	if (!be->ops->sync_signal)
		return no_syncs(be, "sync_signal");
	return be->ops->sync_signal(be, points, count);
}

int
gpuva_backend_sync_wait(struct gpuva_backend *be,
			const struct gpuva_sync *points, uint32_t count,
			int64_t timeout_ns)
{
	if (!be->ops->sync_wait)
		return no_syncs(be, "sync_wait");
	return be->ops->sync_wait(be, points, count, timeout_ns);
}

/* ---- a VM's backend ------------------------------------------------------------- */

struct gpuva_backend *
gpuva_vm_backend(const struct gpuva_vm *vm)
{
	return vm->backend;
}

void *
gpuva_vm_backend_priv(const struct gpuva_vm *vm)
{
	return vm->be_priv;
}
