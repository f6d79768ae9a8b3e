/* SPDX-License-Identifier: MIT */
/*
 * The part of the kernel backends that is the same on every kernel: DRM
 * syncobjs, created BOs, the per-VM job timeline (kernel.h says why).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xf86drm.h>

#include "kernel.h"

int
kernel_backend_init(struct kernel_backend *kb,
		    const struct gpuva_backend_ops *ops,
		    const struct gpuva_backend_desc *desc)
{
	uint64_t cap = 0;

	gpuva_backend_init(&kb->base, ops, desc);
	if (!desc || desc->fd < 0)
		return gpuva_backend_reject(&kb->base, -EINVAL,
					    "%s: needs the fd of a render node",
					    ops->name);
	kb->fd = desc->fd;
	kb->timeline = !drmGetCap(kb->fd, DRM_CAP_SYNCOBJ_TIMELINE, &cap) && cap;
	return 0;
}

int64_t
kernel_deadline(int64_t timeout_ns)
{
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (timeout_ns <= 0)
		return now;
	return timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
}

int
kernel_sync_create(struct gpuva_backend *be, uint32_t *handle)
{
	if (drmSyncobjCreate(to_kernel(be)->fd, 0, handle))
		return gpuva_backend_reject(be, -errno, "sync_create: %s",
					    strerror(errno));
	return 0;
}

void
kernel_sync_destroy(struct gpuva_backend *be, uint32_t handle)
{
	drmSyncobjDestroy(to_kernel(be)->fd, handle);
}

int
kernel_sync_signal(struct gpuva_backend *be, const struct gpuva_sync *points,
		   uint32_t count)
{
	struct kernel_backend *kb = to_kernel(be);

	for (uint32_t i = 0; i < count; i++) {
		uint32_t h = points[i].handle;
		uint64_t p = points[i].point;
		int ret;

		if (p && !kb->timeline)
			return gpuva_backend_reject(be, -EOPNOTSUPP,
						    "sync_signal %" PRIu32 ":%" PRIu64
						    ": the kernel has no timelines",
						    h, p);
		ret = p ? drmSyncobjTimelineSignal(kb->fd, &h, &p, 1)
			: drmSyncobjSignal(kb->fd, &h, 1);
		if (ret)
			return gpuva_backend_reject(be, -errno,
						    "sync_signal %" PRIu32 ":%" PRIu64
						    ": %s", h, p, strerror(errno));
	}
	return 0;
}

int
kernel_sync_wait(struct gpuva_backend *be, const struct gpuva_sync *points,
		 uint32_t count, int64_t timeout_ns)
{
	struct kernel_backend *kb = to_kernel(be);
	int64_t deadline = kernel_deadline(timeout_ns);

	for (uint32_t i = 0; i < count; i++) {
		uint32_t h = points[i].handle;
		uint64_t p = points[i].point;
		int ret;

		if (p && !kb->timeline)
			return gpuva_backend_reject(be, -EOPNOTSUPP,
						    "sync_wait %" PRIu32 ":%" PRIu64
						    ": the kernel has no timelines",
						    h, p);
		/* libdrm's waits return -errno */
		ret = kb->timeline
			? drmSyncobjTimelineWait(kb->fd, &h, &p, 1, deadline,
						 DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL |
						 DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
						 NULL)
			: drmSyncobjWait(kb->fd, &h, 1, deadline,
					 DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL |
					 DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
					 NULL);
		if (ret == -ETIME)
			return -ETIME;
		if (ret)
			return gpuva_backend_reject(be, ret,
						    "sync_wait %" PRIu32 ":%" PRIu64
						    ": %s", h, p, strerror(-ret));
	}
	return 0;
}

int
kernel_check_points(struct kernel_backend *kb, struct gpuva_vm *vm,
		    const struct gpuva_sync *points, uint32_t count,
		    const char *what)
{
	if (kb->timeline)
		return 0;
	for (uint32_t i = 0; i < count; i++)
		if (points[i].point)
			return gpuva_vm_reject(vm, -EOPNOTSUPP,
					       "commit: %s %" PRIu32 ":%" PRIu64
					       ": the kernel has no timeline "
					       "syncobjs (point must be 0)",
					       what, points[i].handle,
					       points[i].point);
	return 0;
}

/* Unknown handles among @points: -ENOENT with a reason on @vm. */
static int
check_handles(struct kernel_backend *kb, struct gpuva_vm *vm,
	      const struct gpuva_sync *points, uint32_t count, const char *what)
{
	for (uint32_t i = 0; i < count; i++) {
		uint32_t h = points[i].handle;

		/* a wait that has already timed out: only ENOENT matters */
		if (drmSyncobjWait(kb->fd, &h, 1, 0, 0, NULL) == -ENOENT)
			return gpuva_vm_reject(vm, -ENOENT,
					       "commit: %s %" PRIu32 ":%" PRIu64
					       ": no such syncobj", what, h,
					       points[i].point);
	}
	return 0;
}

int
kernel_cpu_waits(struct kernel_backend *kb, struct gpuva_vm *vm,
		 const struct gpuva_commit *c)
{
	int ret = kernel_check_points(kb, vm, c->waits, c->wait_count, "wait");

	if (!ret)
		ret = kernel_check_points(kb, vm, c->signals, c->signal_count,
					  "signal");
	if (!ret)
		ret = check_handles(kb, vm, c->waits, c->wait_count, "wait");
	if (!ret)
		ret = check_handles(kb, vm, c->signals, c->signal_count, "signal");
	if (ret || !c->wait_count)
		return ret;
	ret = kernel_sync_wait(&kb->base, c->waits, c->wait_count, INT64_MAX);
	if (ret)
		return gpuva_vm_reject(vm, ret, "commit: waiting for the waits "
				       "on the CPU: %s", kb->base.last_error);
	return 0;
}

int
kernel_cpu_signals(struct kernel_backend *kb, struct gpuva_vm *vm,
		   const struct gpuva_commit *c)
{
	int ret;

	if (!c->signal_count)
		return 0;
	ret = kernel_sync_signal(&kb->base, c->signals, c->signal_count);
	if (ret)
		return gpuva_vm_reject(vm, ret, "commit: signalling the signals "
				       "from the CPU: %s", kb->base.last_error);
	return 0;
}

/* Is there a fence at @p? 0 or -ETIME: yes; -EINVAL: none yet; -ENOENT. */
static int
probe_point(struct kernel_backend *kb, const struct gpuva_sync *p)
{
	uint32_t h = p->handle;
	uint64_t v = p->point;
	int64_t now = kernel_deadline(0);

	/* no WAIT_FOR_SUBMIT: a point without a fence is EINVAL at once */
	return kb->timeline ? drmSyncobjTimelineWait(kb->fd, &h, &v, 1, now, 0, NULL)
			    : drmSyncobjWait(kb->fd, &h, 1, now, 0, NULL);
}

bool
kernel_blame_syncs(struct kernel_backend *kb, struct gpuva_vm *vm,
		   const struct gpuva_commit *c, int err)
{
	for (uint32_t i = 0; i < c->wait_count + c->signal_count; i++) {
		bool wait = i < c->wait_count;
		const struct gpuva_sync *p = wait ? &c->waits[i]
						  : &c->signals[i - c->wait_count];
		int ret = probe_point(kb, p);

		if (ret == -ENOENT || (wait && ret == -EINVAL)) {
			gpuva_vm_reject(vm, err, "commit: %s %" PRIu32 ":%" PRIu64
					": %s; nothing changed", wait ? "wait" : "signal",
					p->handle, p->point, ret == -ENOENT ?
					"no such syncobj" : "no fence has been "
					"submitted for it yet, and VM_BIND does not "
					"wait for one");
			return true;
		}
	}
	return false;
}

struct kernel_bo *
kernel_bo_new(uint32_t handle, uint64_t size, void *vm_priv, uint32_t flags)
{
	struct kernel_bo *bo = calloc(1, sizeof(*bo));

	if (!bo)
		return NULL;
	gpuva_bo_init(&bo->base, size);
	bo->base.handle = handle;
	bo->vm_priv = vm_priv;
	bo->flags = flags;
	return bo;
}

void
kernel_bo_destroy(struct gpuva_backend *be, struct gpuva_bo *bo)
{
	drmCloseBufferHandle(to_kernel(be)->fd, bo->handle);
	free(to_kernel_bo(bo));
}

int
kernel_timeline_init(struct kernel_backend *kb, struct kernel_timeline *t)
{
	memset(t, 0, sizeof(*t));
	if (!kb->timeline)
		return 0;
	if (drmSyncobjCreate(kb->fd, 0, &t->handle))
		return -errno;
	return 0;
}

void
kernel_timeline_fini(struct kernel_backend *kb, struct kernel_timeline *t)
{
	if (t->handle)
		drmSyncobjDestroy(kb->fd, t->handle);
	t->handle = 0;
}

void
kernel_timeline_skip(struct kernel_timeline *t, uint64_t seq)
{
	t->skipped = seq;
}

uint64_t
kernel_timeline_completed(struct kernel_backend *kb,
			  const struct kernel_timeline *t)
{
	uint32_t h = t->handle;
	uint64_t v = t->submitted;

	if (h && drmSyncobjQuery(kb->fd, &h, &v, 1))
		return 0;
	/* jobs skipped after the last one submitted have run once it has */
	if (v >= t->submitted && t->skipped > v)
		v = t->skipped;
	return v;
}

int
kernel_timeline_wait(struct kernel_backend *kb, const struct kernel_timeline *t,
		     uint64_t seq, int64_t timeout_ns)
{
	uint32_t h = t->handle;
	int ret;

	/* past the last job submitted, only skipped ones: nothing of their own */
	if (seq > t->submitted)
		seq = t->submitted;
	if (!h || seq == 0)
		return 0;
	ret = drmSyncobjTimelineWait(kb->fd, &h, &seq, 1,
				     kernel_deadline(timeout_ns),
				     DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL |
				     DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, NULL);
	return ret ? -ETIME : 0;
}
