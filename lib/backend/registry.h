/* SPDX-License-Identifier: MIT */
/*
 * The backends compiled in, found by name (registry.c is the one place
 * that knows which: meson's `backends` option decides).
 *
 * Each backend's .c file provides its entry's functions; a kernel backend
 * also a probe, which the device layer (lib/drm) calls on a freshly opened
 * render node of that driver to fill in what `gpuva info` shows.
 */
#ifndef GPUVA_LIB_BACKEND_REGISTRY_H
#define GPUVA_LIB_BACKEND_REGISTRY_H

#include "gpuva/backend.h"
#include "gpuva/drm.h"

struct backend_entry {
	const char *name;
	/* gpuva_backend_create() for this backend */
	int (*create)(const struct gpuva_backend_desc *desc,
		      struct gpuva_backend **out);
	/*
	 * Kernel backends: fill @node's vm_bind, why, va_start, va_range,
	 * page_size and null_mode for an open render node of this driver
	 * (path, driver and version are filled in already), on a throw-away
	 * fd the caller closes afterwards. 0, or a negative errno when the
	 * probe itself could not run (why says so). NULL for sim.
	 */
	int (*probe)(int fd, struct gpuva_drm_node *node);
};

/* The entry of a backend by name, or NULL. */
const struct backend_entry *backend_find(const char *name);

/* Every entry, sim first, then a NULL name; and their names alone. */
extern const struct backend_entry backend_entries[];
extern const char *const backend_names[];

/* The backends' own entry points (one pair per .c file). */
int sim_backend_create(const struct gpuva_backend_desc *desc,
		       struct gpuva_backend **out);
int msm_backend_create(const struct gpuva_backend_desc *desc,
		       struct gpuva_backend **out);
int msm_probe(int fd, struct gpuva_drm_node *node);
int panthor_backend_create(const struct gpuva_backend_desc *desc,
			   struct gpuva_backend **out);
int panthor_probe(int fd, struct gpuva_drm_node *node);
int nouveau_backend_create(const struct gpuva_backend_desc *desc,
			   struct gpuva_backend **out);
int nouveau_probe(int fd, struct gpuva_drm_node *node);

#endif /* GPUVA_LIB_BACKEND_REGISTRY_H */
