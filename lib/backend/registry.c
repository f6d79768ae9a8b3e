/* SPDX-License-Identifier: MIT */
/*
 * The table of backends compiled in: the only place where the meson option
 * `backends` shows in the code (GPUVA_HAVE_BACKEND_*, gpuva-config.h).
 */
#include <string.h>

#include "gpuva-config.h"
#include "registry.h"

const struct backend_entry backend_entries[] = {
	{ "sim", sim_backend_create, NULL },
#if GPUVA_HAVE_BACKEND_MSM
	{ "msm", msm_backend_create, msm_probe },
#endif
#if GPUVA_HAVE_BACKEND_PANTHOR
	{ "panthor", panthor_backend_create, panthor_probe },
#endif
#if GPUVA_HAVE_BACKEND_NOUVEAU
	{ "nouveau", nouveau_backend_create, nouveau_probe },
#endif
	{ NULL, NULL, NULL },
};

const char *const backend_names[] = {
	"sim",
#if GPUVA_HAVE_BACKEND_MSM
	"msm",
#endif
#if GPUVA_HAVE_BACKEND_PANTHOR
	"panthor",
#endif
#if GPUVA_HAVE_BACKEND_NOUVEAU
	"nouveau",
#endif
	NULL,
};

const struct backend_entry *
backend_find(const char *name)
{
	for (const struct backend_entry *e = backend_entries; name && e->name; e++)
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}
