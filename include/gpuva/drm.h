/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The device layer: find render nodes, tell which can do VM_BIND, open one
 * with the right kernel backend, and create VMs on it.
 *
 * Discovery goes through libdrm (drmGetDevices2(), render nodes only) and
 * each node's driver name (DRM_IOCTL_VERSION). A driver the library has a
 * backend for (msm, panthor, nouveau, as built) is probed on a throw-away
 * fd: version gate, VA window, page size, how NULL mappings are done. The
 * device a driver then opens is set up as its kernel demands before
 * anything else happens on the fd (msm: EN_VM_BIND right after open;
 * nouveau: VM_INIT before any BO).
 *
 * Errors: negative errno; the reason of a failed open is in the node's
 * @c why (gpuva_drm_probe()) or sent to the log callback of @p desc.
 *
 * Locking: none; a device is used like its backend (backend.h).
 */
#ifndef GPUVA_DRM_H
#define GPUVA_DRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpuva/backend.h"
#include "gpuva/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a render node is and whether libgpuva can drive it. */
struct gpuva_drm_node {
	char path[64];		/**< "/dev/dri/renderD128" */
	char driver[32];	/**< DRM driver name ("msm", "i915", ...) */
	int version[3];		/**< major, minor, patchlevel */
	/** a backend is built for the driver and the kernel can do VM_BIND */
	bool vm_bind;
	/** why not, when !vm_bind ("driver 1.12.0 < 1.13.0 ..."); else "" */
	char why[160];
	uint64_t va_start;	/**< user VA window (vm_bind only) */
	uint64_t va_range;
	uint64_t page_size;	/**< bind alignment (vm_bind only) */
	/** how a NULL mapping is made ("MAP_NULL (PRR)", "blackhole BO", ...) */
	char null_mode[48];
};

/**
 * Probe one render node by path: open it, read its driver and version,
 * and, for a driver with a backend, ask its kernel what VM_BIND offers
 * (on a throw-away fd, which is then closed).
 * @retval 0        @p out filled (check @c vm_bind and @c why)
 * @retval -errno   the node cannot be opened or is not a DRM device
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_drm_probe(const char *path, struct gpuva_drm_node *out);

/**
 * Probe every render node (libdrm's device list), in the order libdrm
 * gives. @p *nodes is malloc'd (free with gpuva_drm_list_free()), and may
 * be NULL with @p *count 0.
 * @retval -ENOMEM  out of memory
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_drm_list(struct gpuva_drm_node **nodes, size_t *count);

/** Free a list from gpuva_drm_list(). Accepts NULL. @since 0.1 */
GPUVA_EXPORT void
gpuva_drm_list_free(struct gpuva_drm_node *nodes);

struct gpuva_drm_device;

/** What gpuva_drm_open() needs. Zero-initialise, then fill. */
struct gpuva_drm_open_desc {
	/** a render node path; NULL: the first node that can do VM_BIND */
	const char *path;
	/** NULL, or only nodes of this driver ("msm", ...) */
	const char *driver;
	/** passed to the backend (struct gpuva_backend_desc::flags) */
	uint32_t flags;
	gpuva_log_fn log_fn;	/**< rejection reasons, as for a backend */
	void *log_priv;
};

/**
 * Open a render node and create its backend on it.
 * @retval -ENODEV  no such node can do VM_BIND (reason to the log callback)
 * @retval other    as gpuva_backend_create()
 * Ownership: the caller's; gpuva_drm_close() after its VMs.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_drm_open(const struct gpuva_drm_open_desc *desc,
	       struct gpuva_drm_device **out);

/** Destroy the backend and close the fd. Accepts NULL. @since 0.1 */
GPUVA_EXPORT void
gpuva_drm_close(struct gpuva_drm_device *dev);

/** The device's backend. @since 0.1 */
GPUVA_EXPORT struct gpuva_backend *
gpuva_drm_backend(const struct gpuva_drm_device *dev);

/** The device's fd (owned by the device). @since 0.1 */
GPUVA_EXPORT int
gpuva_drm_fd(const struct gpuva_drm_device *dev);

/** What the probe found for the opened node. @since 0.1 */
GPUVA_EXPORT const struct gpuva_drm_node *
gpuva_drm_device_node(const struct gpuva_drm_device *dev);

/**
 * Create a VM on the device: gpuva_vm_create() with @p desc's backend set
 * to the device's (range 0: the whole user VA window; page_size 0: the
 * kernel's).
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_drm_vm_create(struct gpuva_drm_device *dev,
		    const struct gpuva_vm_desc *desc, struct gpuva_vm **out);

#ifdef __cplusplus
}
#endif

#endif /* GPUVA_DRM_H */
