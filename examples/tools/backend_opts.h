/* SPDX-License-Identifier: MIT */
/*
 * The tools' backend options, shared by `replay`, `map` and `bench`:
 *
 *   --backend NAME        sim, msm, panthor, nouveau (default: $GPUVA_BACKEND,
 *                         else none: the plain mirror)
 *   --device PATH         kernel backends: the render node (default: the
 *                         first of that driver that can do VM_BIND)
 *   --sim-page-size N     sim: page size, a power of two (default 4096)
 *   --sim-fail K:ERRNO    sim: the K-th backend call fails with ERRNO (a
 *                         number or a name: 12, ENOMEM)
 *   --sim-fail K:ERRNO:J  ... after applying its first J requests
 *   --sim-fail K:lose     ... and loses the VM
 *   --sim-bookkeeping     sim: no page table
 */
#ifndef GPUVA_TOOLS_BACKEND_OPTS_H
#define GPUVA_TOOLS_BACKEND_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include <gpuva/gpuva.h>

struct backend_opts {
	const char *name;		/* NULL: no backend */
	const char *device;
	uint64_t sim_page_size;
	uint32_t sim_flags;
	bool fail_set;
	struct gpuva_sim_fail fail;
};

/*
 * Is argv[i] a backend option? Returns how many arguments it took (1 or
 * 2), 0 when it is not one, or -1 after printing why it is bad.
 */
int backend_opt_parse(struct backend_opts *o, int argc, char **argv, int i);

/* The usage lines of the options above. */
extern const char backend_opts_usage[];

/*
 * Open the chosen backend: a sim, or a device through drm.h. *be is NULL
 * when no backend was asked for. 0, or -1 after printing why.
 */
int backend_open(struct backend_opts *o, struct gpuva_backend **be,
		 struct gpuva_drm_device **dev);

/* Close what backend_open() opened. Accepts NULLs. */
void backend_close(struct gpuva_backend *be, struct gpuva_drm_device *dev);

/* Parse an errno as a number or a name ("ENOMEM"); false if neither. */
bool parse_errno(const char *s, int *err);

#endif
