/* SPDX-License-Identifier: MIT */
/*
 * What the kernel backends (msm.c, panthor.c, nouveau.c) share: an open
 * render node, DRM syncobjs as the backend's sync objects, BOs they create
 * for tools and tests, and a per-VM timeline syncobj that tells which jobs
 * have run. The logic is the same on the three kernels, so it is here once;
 * each backend embeds struct kernel_backend and calls these from its ops.
 */
#ifndef GPUVA_LIB_BACKEND_KERNEL_H
#define GPUVA_LIB_BACKEND_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "gpuva/backend.h"

struct kernel_backend {
	struct gpuva_backend base;
	int fd;			/* the caller's render node; not owned */
	/* the kernel reports DRM_CAP_SYNCOBJ_TIMELINE: points other than 0 */
	bool timeline;
};

/* A BO a kernel backend created (gpuva_backend_bo_create()). */
struct kernel_bo {
	struct gpuva_bo base;	/* size and GEM handle */
	void *vm_priv;		/* the VM a private BO belongs to, or NULL */
	uint32_t flags;		/* enum gpuva_backend_bo_flags */
};

/*
 * Set up the common part: the base, the fd, whether timelines exist.
 * -EINVAL when @desc has no fd.
 */
int kernel_backend_init(struct kernel_backend *kb,
			const struct gpuva_backend_ops *ops,
			const struct gpuva_backend_desc *desc);

static inline struct kernel_backend *
to_kernel(const struct gpuva_backend *be)
{
	return gpuva_container_of(be, struct kernel_backend, base);
}

static inline struct kernel_bo *
to_kernel_bo(const struct gpuva_bo *bo)
{
	return gpuva_container_of(bo, struct kernel_bo, base);
}

/* The sync_* ops of struct gpuva_backend_ops, on DRM syncobjs. */
int kernel_sync_create(struct gpuva_backend *be, uint32_t *handle);
void kernel_sync_destroy(struct gpuva_backend *be, uint32_t handle);
int kernel_sync_signal(struct gpuva_backend *be,
		       const struct gpuva_sync *points, uint32_t count);
int kernel_sync_wait(struct gpuva_backend *be, const struct gpuva_sync *points,
		     uint32_t count, int64_t timeout_ns);

/*
 * Refuse points a kernel without timeline syncobjs cannot take (a non-zero
 * point): -EOPNOTSUPP with a reason on @vm. 0 otherwise.
 */
int kernel_check_points(struct kernel_backend *kb, struct gpuva_vm *vm,
			const struct gpuva_sync *points, uint32_t count,
			const char *what);

/*
 * A synchronous commit on a kernel whose synchronous bind takes no syncs
 * (panthor, nouveau): the commit's waits are waited for on the CPU before
 * the ioctl and its signals signalled from the CPU after it. First every
 * point is checked (a non-zero point without timelines: -EOPNOTSUPP; an
 * unknown handle: -ENOENT; reason on @vm), so that the signals cannot fail
 * once the bind is done; then the waits are waited for, without a time
 * limit (a synchronous commit runs after its waits). 0 or a negative errno,
 * nothing signalled.
 */
int kernel_cpu_waits(struct kernel_backend *kb, struct gpuva_vm *vm,
		     const struct gpuva_commit *c);

/* After the bind: signal the commit's signals from the CPU. */
int kernel_cpu_signals(struct kernel_backend *kb, struct gpuva_vm *vm,
		       const struct gpuva_commit *c);

/*
 * After a bind ioctl refused with @err, the sync point to blame, if one
 * is: an unknown syncobj among @c's waits and signals, or a wait point no
 * fence has been submitted for yet (VM_BIND kernels do not wait for one:
 * EINVAL). True with the reason set on @vm.
 */
bool kernel_blame_syncs(struct kernel_backend *kb, struct gpuva_vm *vm,
			const struct gpuva_commit *c, int err);

/* A new kernel_bo for a created GEM handle (NULL: out of memory). */
struct kernel_bo *kernel_bo_new(uint32_t handle, uint64_t size,
				void *vm_priv, uint32_t flags);

/* bo_destroy: GEM_CLOSE and free a kernel_bo. */
void kernel_bo_destroy(struct gpuva_backend *be, struct gpuva_bo *bo);

/*
 * A VM's job timeline: one timeline syncobj whose point N is signalled by
 * job N (the backend adds it to each bind's signals), so that completed()
 * and wait() can answer without keeping fences.
 */
struct kernel_timeline {
	uint32_t handle;	/* 0 when the kernel has no timelines */
	uint64_t submitted;	/* the last point handed to the kernel */
	uint64_t skipped;	/* the last job that handed the kernel nothing */
};

/*
 * Job @seq handed the kernel nothing (its bind failed, or it had nothing to
 * do): it signals no point of its own, and counts as run once every job
 * before it has. Without this a failed bind would hold up
 * gpuva_vm_wait_idle() and deferred VA frees for good.
 */
void kernel_timeline_skip(struct kernel_timeline *t, uint64_t seq);

/* Create it (a no-op without timeline support). 0 or a negative errno. */
int kernel_timeline_init(struct kernel_backend *kb, struct kernel_timeline *t);
void kernel_timeline_fini(struct kernel_backend *kb, struct kernel_timeline *t);

/*
 * The highest job known to have run: the timeline's value, or every job
 * handed over when there is no timeline (the caller then waits itself).
 */
uint64_t kernel_timeline_completed(struct kernel_backend *kb,
				   const struct kernel_timeline *t);

/* Wait until job @seq has run: 0, -ETIME. */
int kernel_timeline_wait(struct kernel_backend *kb,
			 const struct kernel_timeline *t, uint64_t seq,
			 int64_t timeout_ns);

/* Absolute CLOCK_MONOTONIC deadline for a relative timeout (DRM waits). */
int64_t kernel_deadline(int64_t timeout_ns);

#endif /* GPUVA_LIB_BACKEND_KERNEL_H */
