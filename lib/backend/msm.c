/* SPDX-License-Identifier: MIT */
/*
 * The msm backend: libgpuva's VMs on the msm kernel's VM_BIND (Adreno,
 * Linux 6.17, driver 1.13.0), as a turnip-style driver drives it.
 *
 * It exists so that the same VM code that runs on sim drives a real
 * Adreno: the fd is set up as the kernel demands (VM_BIND mode before
 * anything creates the fd's VM), and every commit becomes one VM_BIND
 * ioctl carrying the batch's net effect, already sorted by address as the
 * kernel's page-table pre-allocation wants (one op travels inline in the
 * ioctl, more as an array). It leaves out command submission, and
 * everything the library above it does (the mirror, the net effect,
 * rollback).
 *
 * What the kernel would refuse is refused before the ioctl, with the
 * kernel's errno. Alignment, the VA window and BO bounds follow from the
 * library's own checks: the library VM lies inside the window and its
 * page size is a multiple of the kernel's (the CPU's). check() adds the
 * op flags (DUMP only) and GEM handles: 0 is refused at once; any other
 * handle is asked about once, with one GEM_INFO, when its BO enters the
 * VM (no mapping of it yet), which is when an unknown handle shows; a BO
 * that already has mappings is known to the kernel. Closing a GEM handle
 * behind the library's back while its BO stays mapped still reaches the
 * kernel, which refuses it (EINVAL) before changing anything, so the
 * commit fails and rolls back all the same. A BO whose size the driver
 * left 0 cannot be checked against its end; the kernel refuses that the
 * same way.
 *
 * NULL mappings: MAP_NULL when the GPU has PRR (HAS_PRR). Without PRR
 * MAP_NULL is refused, so the VM gets a zero-filled BO of its own
 * (MSM_ZERO_BO_SIZE), mapped repeatedly over each NULL range, one op per
 * piece. Reads return zero as with PRR; a GPU write to such a page is not
 * dropped but lands in the shared zero BO (as with panvk's blackhole BO).
 *
 * msm has no synchronous bind. Every job out-signals point job->seq of
 * the VM's timeline syncobj, which tells completed() and wait() what has
 * run; a synchronous commit is an asynchronous one plus a wait on that
 * point, and then one zero-op VM_BIND that tells whether the job failed
 * when it ran: the kernel signals a failed job's fence as if it had
 * succeeded and only poisons the VM, so that the next VM_BIND returns
 * EPIPE. The same check runs after any failed ioctl (a failure past the
 * first op poisons the VM too) and in wait(); an asynchronous commit's
 * failed job is found by the next commit. EPIPE is final: the VM is lost,
 * and the device must be reopened.
 *
 * Without timeline syncobjs (no kernel with VM_BIND lacks them; the fake
 * kernel can pretend), wait points must be 0 (-EOPNOTSUPP otherwise),
 * and a binary syncobj signalled by every job stands in: wait() and
 * completed() then only tell "everything has run".
 *
 * A batch too big for the kernel (ENOMEM: it sizes one allocation by the
 * op count) is retried as turnip does: the waits are waited for on the
 * CPU, then the ops go in halves (halving again on ENOMEM), the signals
 * and the out fence on the last. If one of those ioctls fails, the ones
 * before it stay applied and bind() says how far it got
 * (GPUVA_BIND_NET), so the mirror still equals the kernel.
 *
 * Locking: one VM per backend (msm has one VM per fd), serialised by the
 * VM's rules; bo_create() from another thread touches no shared state.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xf86drm.h>

#include "kernel.h"
#include "msm_abi.h"
#include "registry.h"

/*
 * The zero BO behind NULL ranges without PRR: 2 MiB, a block-PTE size, or
 * the VM's page size if that is bigger (a piece must be whole pages).
 */
#define MSM_ZERO_BO_SIZE (UINT64_C(2) << 20)

struct msm_backend {
	struct kernel_backend kb;
	uint64_t va_start, va_size;	/* the user VA window */
	uint64_t page_size;		/* the kernel's: the CPU page size */
	bool prr;			/* MAP_NULL works */
	uint32_t queue;			/* the VM_BIND submitqueue */
	bool has_vm;			/* a library VM is on the fd */
	bool lost;			/* the kernel poisoned the fd's VM */
};

struct msm_vm {
	struct msm_backend *m;
	uint64_t start, range;		/* the library VM */
	struct kernel_timeline tl;	/* point N: job N has run */
	uint32_t idle;			/* no timelines: every job signals it */
	uint64_t last_seq;		/* the last job bind() was called for */
	uint64_t idle_seq;		/* no timelines: known to have run */
	struct kernel_bo *zero;		/* no PRR: the zero BO */
	uint64_t zero_size;		/* its size: one piece of a NULL range */
	/* reused by every commit */
	struct msm_vm_bind_op *ops;
	size_t ops_cap;
	struct msm_syncobj *syncs;
	size_t syncs_cap;
};

static const struct gpuva_backend_ops msm_ops;

static struct msm_backend *
to_msm(const struct gpuva_backend *be)
{
	return gpuva_container_of(to_kernel(be), struct msm_backend, kb);
}

static uint64_t
cpu_page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (uint64_t)ps : 4096;
}

/* ---- device set-up (docs/kernels.md 3.1) ----------------------------------- */

/* What an fd in VM_BIND mode offers. */
struct msm_geom {
	uint64_t va_start, va_size;
	bool prr;
};

static int
get_param(int fd, uint32_t param, uint64_t *value)
{
	struct msm_param p = { .pipe = MSM_PIPE_3D0, .param = param };

	if (drmIoctl(fd, MSM_IOCTL_GET_PARAM, &p))
		return -errno;
	*value = p.value;
	return 0;
}

static bool
version_has_vm_bind(const int v[3])
{
	return v[0] > MSM_VM_BIND_MAJOR ||
	       (v[0] == MSM_VM_BIND_MAJOR && v[1] >= MSM_VM_BIND_MINOR);
}

/*
 * Switch a fresh fd to VM_BIND mode, first thing (any GET_PARAM would
 * create a kernel-managed VM and fix the mode for good), then read the
 * window and PRR, which creates the VM. 0, or a negative errno with @why.
 */
static int
msm_setup(int fd, struct msm_geom *g, char *why, size_t why_size)
{
	struct msm_param en = {
		.pipe = MSM_PIPE_3D0, .param = MSM_PARAM_EN_VM_BIND, .value = 1,
	};
	uint64_t prr = 0;
	int ret;

	if (drmIoctl(fd, MSM_IOCTL_SET_PARAM, &en)) {
		ret = -errno;
		snprintf(why, why_size, "EN_VM_BIND: %s%s", strerror(-ret),
			 ret == -EBUSY ? " (the fd already has a VM: enable "
					 "VM_BIND right after open())" :
			 ret == -EINVAL ? " (no per-process page tables)" :
			 ret == -ENXIO ? " (no GPU)" : "");
		return ret;
	}
	ret = get_param(fd, MSM_PARAM_VA_START, &g->va_start);
	if (!ret)
		ret = get_param(fd, MSM_PARAM_VA_SIZE, &g->va_size);
	if (ret) {
		snprintf(why, why_size, "VA_START/VA_SIZE: %s (no per-process "
			 "page tables)", strerror(-ret));
		return ret;
	}
	if (!g->va_size || g->va_size - 1 > UINT64_MAX - g->va_start) {
		snprintf(why, why_size, "VA window 0x%" PRIx64 " +0x%" PRIx64
			 ": empty or past 2^64", g->va_start, g->va_size);
		return -ENODEV;
	}
	/* a kernel with VM_BIND knows HAS_PRR; without an answer, no PRR */
	g->prr = !get_param(fd, MSM_PARAM_HAS_PRR, &prr) && prr;
	return 0;
}

static void
null_mode(bool prr, char *buf, size_t size)
{
	if (prr)
		snprintf(buf, size, "MAP_NULL (PRR)");
	else
		snprintf(buf, size, "%" PRIu64 " MiB zero BO, mapped repeatedly "
			 "(no PRR)", MSM_ZERO_BO_SIZE >> 20);
}

int
msm_probe(int fd, struct gpuva_drm_node *node)
{
	struct msm_geom g;

	if (!version_has_vm_bind(node->version)) {
		snprintf(node->why, sizeof(node->why), "msm %d.%d.%d < %d.%d.0: "
			 "no VM_BIND (Linux 6.17)", node->version[0],
			 node->version[1], node->version[2], MSM_VM_BIND_MAJOR,
			 MSM_VM_BIND_MINOR);
		return 0;
	}
	if (msm_setup(fd, &g, node->why, sizeof(node->why)))
		return 0;
	node->vm_bind = true;
	node->va_start = g.va_start;
	node->va_range = g.va_size;
	node->page_size = cpu_page_size();
	null_mode(g.prr, node->null_mode, sizeof(node->null_mode));
	return 0;
}

/* A GEM BO of @size bytes (a page multiple), write-combined. */
static int
gem_new(struct msm_backend *m, uint64_t size, uint32_t flags, uint32_t *handle)
{
	struct msm_gem_new g = { .size = size, .flags = MSM_BO_WC | flags };

	if (drmIoctl(m->kb.fd, MSM_IOCTL_GEM_NEW, &g))
		return -errno;
	*handle = g.handle;
	return 0;
}

static void
msm_destroy(struct gpuva_backend *be)
{
	struct msm_backend *m = to_msm(be);

	drmIoctl(m->kb.fd, MSM_IOCTL_SUBMITQUEUE_CLOSE, &m->queue);
	free(m);
}

/* Is @fd an msm render node with VM_BIND? 0, or -ENODEV with a reason. */
static int
check_driver(struct msm_backend *m)
{
	struct gpuva_backend *be = &m->kb.base;
	drmVersionPtr v = drmGetVersion(m->kb.fd);
	int ver[3];
	bool msm;

	if (!v)
		return gpuva_backend_reject(be, -ENODEV, "msm: fd %d is not a DRM "
					    "device", m->kb.fd);
	msm = v->name && !strcmp(v->name, "msm");
	ver[0] = v->version_major;
	ver[1] = v->version_minor;
	ver[2] = v->version_patchlevel;
	if (!msm) {
		int ret = gpuva_backend_reject(be, -ENODEV, "msm: fd %d is a %s "
					       "device, not msm", m->kb.fd,
					       v->name ? v->name : "nameless");

		drmFreeVersion(v);
		return ret;
	}
	drmFreeVersion(v);
	if (!version_has_vm_bind(ver))
		return gpuva_backend_reject(be, -ENODEV, "msm: driver %d.%d.%d < "
					    "%d.%d.0 has no VM_BIND (Linux 6.17)",
					    ver[0], ver[1], ver[2], MSM_VM_BIND_MAJOR,
					    MSM_VM_BIND_MINOR);
	return 0;
}

int
msm_backend_create(const struct gpuva_backend_desc *desc,
		   struct gpuva_backend **out)
{
	struct msm_submitqueue q = { .flags = MSM_SUBMITQUEUE_VM_BIND };
	struct msm_backend *m = calloc(1, sizeof(*m));
	struct gpuva_backend tmp;
	struct msm_geom g;
	char why[160];
	int ret;

	if (!m) {
		gpuva_backend_init(&tmp, &msm_ops, desc);
		return gpuva_backend_reject(&tmp, -ENOMEM, "msm: out of memory");
	}
	ret = kernel_backend_init(&m->kb, &msm_ops, desc);
	if (!ret && (desc->page_size || desc->flags))
		ret = gpuva_backend_reject(&m->kb.base, -EINVAL, "msm: page size "
					   "0x%" PRIx64 " and flags 0x%" PRIx32
					   " must be 0 (the kernel's page size "
					   "is the CPU's)", desc->page_size,
					   desc->flags);
	if (!ret)
		ret = check_driver(m);
	if (!ret && (ret = msm_setup(m->kb.fd, &g, why, sizeof(why))))
		gpuva_backend_reject(&m->kb.base, ret, "msm: %s", why);
	if (!ret && drmIoctl(m->kb.fd, MSM_IOCTL_SUBMITQUEUE_NEW, &q))
		ret = gpuva_backend_reject(&m->kb.base, -errno, "msm: a VM_BIND "
					   "submitqueue: %s", strerror(errno));
	if (ret) {
		free(m);
		return ret;
	}
	m->va_start = g.va_start;
	m->va_size = g.va_size;
	m->prr = g.prr;
	m->queue = q.id;
	m->page_size = cpu_page_size();
	*out = &m->kb.base;
	return 0;
}

/* ---- VM_BIND ioctls -------------------------------------------------------------- */

/*
 * One VM_BIND: @n ops (inline when one), waiting for @in, signalling @out;
 * @fence_in is used with FENCE_FD_IN, *@fence_out set with FENCE_FD_OUT.
 * 0 or -errno.
 */
static int
vm_bind_ioctl(struct msm_backend *m, const struct msm_vm_bind_op *ops, size_t n,
	      const struct msm_syncobj *in, uint32_t nin,
	      const struct msm_syncobj *out, uint32_t nout, uint32_t flags,
	      int fence_in, int *fence_out)
{
	struct msm_vm_bind b = {
		.flags = flags,
		.nr_ops = (uint32_t)n,
		.queue_id = m->queue,
		.in_syncobjs = nin ? (uint64_t)(uintptr_t)in : 0,
		.out_syncobjs = nout ? (uint64_t)(uintptr_t)out : 0,
		.nr_in_syncobjs = nin,
		.nr_out_syncobjs = nout,
		.syncobj_stride = sizeof(struct msm_syncobj),
		.op_stride = sizeof(struct msm_vm_bind_op),
	};

	if (flags & MSM_VM_BIND_FENCE_FD_IN)
		b.fence_fd = fence_in;
	if (n == 1)
		b.op = ops[0];
	else
		b.ops = (uint64_t)(uintptr_t)ops;
	if (drmIoctl(m->kb.fd, MSM_IOCTL_VM_BIND, &b))
		return -errno;
	if (flags & MSM_VM_BIND_FENCE_FD_OUT)
		*fence_out = b.fence_fd;
	return 0;
}

/*
 * A VM_BIND without ops, signalling @out: EPIPE when the kernel has
 * poisoned the VM, which is how a failed job shows (3.5).
 */
static int
vm_bind_fence(struct msm_vm *v, const struct msm_syncobj *out, uint32_t nout)
{
	return vm_bind_ioctl(v->m, NULL, 0, NULL, 0, out, nout, 0, -1, NULL);
}

static int
lose(struct msm_backend *m, struct gpuva_vm *vm, const char *what)
{
	m->lost = true;
	return gpuva_vm_reject(vm, -EPIPE, "msm: %s: the kernel poisoned the VM "
			       "after a failed bind job (EPIPE); close the device "
			       "and open it again", what);
}

/* ---- VMs ----------------------------------------------------------------------- */

static void
msm_vm_fini(struct gpuva_backend *be, void *priv)
{
	struct msm_backend *m = to_msm(be);
	struct msm_vm *v = priv;
	struct msm_vm_bind_op all = {
		.op = MSM_VM_BIND_OP_UNMAP, .iova = v->start, .range = v->range,
	};

	/* the kernel VM lives as long as the fd: empty it for the next one */
	if (!m->lost && v->last_seq)
		vm_bind_ioctl(m, &all, 1, NULL, 0, NULL, 0, 0, -1, NULL);
	kernel_timeline_fini(&m->kb, &v->tl);
	if (v->idle)
		drmSyncobjDestroy(m->kb.fd, v->idle);
	if (v->zero)
		kernel_bo_destroy(be, &v->zero->base);
	free(v->ops);
	free(v->syncs);
	free(v);
	m->has_vm = false;
}

/* The kernel objects a VM needs: timeline (or idle syncobj), zero BO. */
static int
vm_objects(struct msm_backend *m, struct msm_vm *v)
{
	uint32_t h = 0;
	int ret;

	ret = kernel_timeline_init(&m->kb, &v->tl);
	if (ret)
		return gpuva_backend_reject(&m->kb.base, ret, "vm: a timeline "
					    "syncobj: %s", strerror(-ret));
	if (!m->kb.timeline &&
	    drmSyncobjCreate(m->kb.fd, DRM_SYNCOBJ_CREATE_SIGNALED, &v->idle))
		return gpuva_backend_reject(&m->kb.base, -errno, "vm: a syncobj: %s",
					    strerror(errno));
	if (m->prr)
		return 0;
	ret = gem_new(m, v->zero_size, MSM_BO_NO_SHARE, &h);
	if (!ret && !(v->zero = kernel_bo_new(h, v->zero_size, v, 0))) {
		drmCloseBufferHandle(m->kb.fd, h);
		ret = -ENOMEM;
	}
	if (ret)
		return gpuva_backend_reject(&m->kb.base, ret, "vm: the zero BO for "
					    "NULL mappings (no PRR): %s",
					    strerror(-ret));
	return 0;
}

static int
msm_vm_init(struct gpuva_backend *be, struct gpuva_vm_desc *desc, void **priv)
{
	struct msm_backend *m = to_msm(be);
	uint64_t wend = m->va_start + (m->va_size - 1);	/* last byte */
	struct msm_vm *v;
	int ret;

	if (m->lost)
		return gpuva_backend_reject(be, -EPIPE, "vm: the kernel poisoned "
					    "this device's VM; close the device "
					    "and open it again");
	if (m->has_vm)
		return gpuva_backend_reject(be, -EBUSY, "vm: msm has one VM per "
					    "fd, and this device's is in use "
					    "(open the device again for another)");
	if (!desc->page_size)
		desc->page_size = m->page_size;
	if (desc->page_size % m->page_size)
		return gpuva_backend_reject(be, -EINVAL, "vm: page size 0x%" PRIx64
					    " is not a multiple of the kernel's "
					    "(the CPU's) 0x%" PRIx64,
					    desc->page_size, m->page_size);
	if (!desc->range && (!desc->start || desc->start == m->va_start)) {
		desc->start = m->va_start;
		desc->range = m->va_size;
	}
	if (!desc->range || desc->start < m->va_start || desc->start > wend ||
	    desc->range - 1 > wend - desc->start)
		return gpuva_backend_reject(be, -EINVAL, "vm 0x%" PRIx64 " 0x%" PRIx64
					    ": not inside msm's VA window 0x%" PRIx64
					    " +0x%" PRIx64, desc->start, desc->range,
					    m->va_start, m->va_size);
	v = calloc(1, sizeof(*v));
	if (!v)
		return gpuva_backend_reject(be, -ENOMEM, "vm: out of memory");
	v->m = m;
	v->start = desc->start;
	v->range = desc->range;
	v->zero_size = desc->page_size > MSM_ZERO_BO_SIZE ? desc->page_size
							  : MSM_ZERO_BO_SIZE;
	ret = vm_objects(m, v);
	if (ret) {
		m->has_vm = true;	/* msm_vm_fini() clears it */
		msm_vm_fini(be, v);
		return ret;
	}
	m->has_vm = true;
	*priv = v;
	return 0;
}

/* ---- requests ------------------------------------------------------------------- */

static int
msm_check(struct gpuva_backend *be, void *priv, struct gpuva_vm *vm,
	  const struct gpuva_bind_op *r, size_t index)
{
	struct msm_backend *m = to_msm(be);
	const struct gpuva_vm_bo *vb;
	struct msm_gem_info info = { .info = MSM_INFO_GET_OFFSET };
	uint32_t handle = r->bo ? r->bo->handle : 0;

	(void)priv;
	(void)index;
	if (r->driver_flags & ~MSM_VM_BIND_OP_DUMP)
		return gpuva_vm_reject(vm, -EINVAL, "map 0x%" PRIx64 " 0x%" PRIx64
				       " %" PRIu32 " 0x%" PRIx64 ": driver flags "
				       "0x%" PRIx32 ": msm knows only DUMP (0x1)",
				       r->addr, r->range, handle, r->offset,
				       r->driver_flags);
	if (r->kind != GPUVA_BIND_MAP)
		return 0;
	if (!handle)
		return gpuva_vm_reject(vm, -EINVAL, "map 0x%" PRIx64 " 0x%" PRIx64
				       " 0 0x%" PRIx64 ": the BO has GEM handle 0, "
				       "which msm refuses", r->addr, r->range,
				       r->offset);
	/* a BO that has mappings is known to the kernel; a new one is asked */
	vb = gpuva_vm_bo_find(vm, r->bo);
	if (vb && vb->va_count)
		return 0;
	info.handle = handle;
	if (!drmIoctl(m->kb.fd, MSM_IOCTL_GEM_INFO, &info))
		return 0;
	if (errno == ENOENT)
		return gpuva_vm_reject(vm, -EINVAL, "map 0x%" PRIx64 " 0x%" PRIx64
				       " %" PRIu32 " 0x%" PRIx64 ": GEM handle %"
				       PRIu32 " is not open on this device (msm "
				       "refuses it: EINVAL)", r->addr, r->range,
				       handle, r->offset, handle);
	return gpuva_vm_reject(vm, -errno, "map 0x%" PRIx64 " 0x%" PRIx64 " %"
			       PRIu32 " 0x%" PRIx64 ": GEM_INFO: %s", r->addr,
			       r->range, handle, r->offset, strerror(errno));
}

/* Kernel ops for one net-effect entry: one, or one per zero-BO piece. */
static size_t
entry_ops(const struct msm_vm *v, const struct gpuva_bind_op *e)
{
	if (e->kind != GPUVA_BIND_MAP_NULL || v->m->prr)
		return 1;
	return e->range / v->zero_size + !!(e->range % v->zero_size);
}

/* Make room for @n items of @size bytes in *@buf. */
static bool
reserve(void **buf, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *p;

	if (n <= *cap)
		return true;
	while (c < n)
		c = c > SIZE_MAX / 2 ? n : 2 * c;
	if (c > SIZE_MAX / size || !(p = realloc(*buf, c * size)))
		return false;
	*buf = p;
	*cap = c;
	return true;
}

/* The batch's net effect as kernel ops into v->ops; their count in @n. */
static int
build_ops(struct msm_vm *v, struct gpuva_vm *vm, const struct gpuva_bind_op *net,
	  size_t count, size_t *n)
{
	struct msm_vm_bind_op *o;
	size_t total = 0;

	for (size_t i = 0; i < count; i++)
		total += entry_ops(v, &net[i]);
	if (total > UINT32_MAX ||
	    !reserve((void **)&v->ops, &v->ops_cap, total, sizeof(*v->ops)))
		return gpuva_vm_reject(vm, -ENOMEM, "commit: out of memory for %zu "
				       "VM_BIND ops", total);
	o = v->ops;
	for (size_t i = 0; i < count; i++) {
		const struct gpuva_bind_op *e = &net[i];
		struct msm_vm_bind_op op = {
			.iova = e->addr, .range = e->range,
			.flags = e->driver_flags,
		};

		switch (e->kind) {
		case GPUVA_BIND_MAP:
			op.op = MSM_VM_BIND_OP_MAP;
			op.handle = e->bo->handle;
			op.obj_offset = e->offset;
			*o++ = op;
			break;
		case GPUVA_BIND_UNMAP:
			op.op = MSM_VM_BIND_OP_UNMAP;
			*o++ = op;
			break;
		default:
			if (v->m->prr) {
				op.op = MSM_VM_BIND_OP_MAP_NULL;
				*o++ = op;
				break;
			}
			/* the zero BO, piece by piece */
			op.op = MSM_VM_BIND_OP_MAP;
			op.handle = v->zero->base.handle;
			for (uint64_t off = 0; off < e->range; off += v->zero_size) {
				op.iova = e->addr + off;
				op.range = e->range - off < v->zero_size ?
					   e->range - off : v->zero_size;
				*o++ = op;
			}
			break;
		}
	}
	*n = total;
	return 0;
}

/* Points the kernel cannot take: -EOPNOTSUPP with a reason. */
static int
check_points(struct msm_backend *m, struct gpuva_vm *vm,
	     const struct gpuva_commit *c)
{
	int ret = kernel_check_points(&m->kb, vm, c->waits, c->wait_count, "wait");

	if (!ret)
		ret = kernel_check_points(&m->kb, vm, c->signals, c->signal_count,
					  "signal");
	for (uint32_t i = 0; !ret && i < c->wait_count; i++)
		if (c->waits[i].point > UINT32_MAX)
			ret = gpuva_vm_reject(vm, -EOPNOTSUPP, "commit: wait %"
					      PRIu32 ":%" PRIu64 ": msm reads "
					      "wait points as 32 bits (keep them "
					      "below 2^32)", c->waits[i].handle,
					      c->waits[i].point);
	return ret;
}

/*
 * The commit's waits, then its signals plus the VM's own point for job
 * @seq, into v->syncs.
 */
static int
build_syncs(struct msm_vm *v, struct gpuva_vm *vm, const struct gpuva_commit *c,
	    uint64_t seq)
{
	size_t n = (size_t)c->wait_count + c->signal_count + 1;
	struct msm_syncobj *s;

	if (!reserve((void **)&v->syncs, &v->syncs_cap, n, sizeof(*v->syncs)))
		return gpuva_vm_reject(vm, -ENOMEM, "commit: out of memory for "
				       "%zu syncobjs", n);
	s = v->syncs;
	for (uint32_t i = 0; i < c->wait_count; i++)
		*s++ = (struct msm_syncobj) {
			.handle = c->waits[i].handle, .point = c->waits[i].point,
		};
	for (uint32_t i = 0; i < c->signal_count; i++)
		*s++ = (struct msm_syncobj) {
			.handle = c->signals[i].handle, .point = c->signals[i].point,
		};
	*s = v->tl.handle ? (struct msm_syncobj) { .handle = v->tl.handle, .point = seq }
			  : (struct msm_syncobj) { .handle = v->idle };
	return 0;
}

/* Wait on the CPU for every wait point and the in fence (ENOMEM retry). */
static int
cpu_wait(struct msm_backend *m, const struct gpuva_commit *c)
{
	int64_t forever = kernel_deadline(INT64_MAX);

	for (uint32_t i = 0; i < c->wait_count; i++) {
		uint32_t h = c->waits[i].handle;
		uint64_t p = c->waits[i].point;
		/* no WAIT_FOR_SUBMIT: a point without a fence is EINVAL, as
		 * the kernel would answer */
		int ret = p
			  ? drmSyncobjTimelineWait(m->kb.fd, &h, &p, 1, forever,
						   DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL)
			  : drmSyncobjWait(m->kb.fd, &h, 1, forever,
					   DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL);

		if (ret)
			return ret;
	}
	if (c->flags & GPUVA_COMMIT_FENCE_FD_IN) {
		struct pollfd pfd = { .fd = c->fence_fd_in, .events = POLLIN };
		int r;

		while ((r = poll(&pfd, 1, -1)) < 0 && errno == EINTR)
			;
		if (r < 0 || (pfd.revents & (POLLERR | POLLNVAL)))
			return -EINVAL;	/* not a sync_file */
	}
	return 0;
}

/*
 * The batch again after ENOMEM, in smaller ioctls: the waits on the CPU,
 * the signals (@nsig of them, after the waits in v->syncs) and the out
 * fence on the last. 0, or the failing errno; *@sent: ops applied.
 */
static int
bind_in_pieces(struct msm_vm *v, struct gpuva_commit *c, size_t n,
	       uint32_t nsig, size_t *sent)
{
	const struct msm_syncobj *sig = v->syncs + c->wait_count;
	size_t piece = n / 2, pos = 0;
	int ret = cpu_wait(v->m, c);

	while (!ret && pos < n) {
		size_t k = n - pos < piece ? n - pos : piece;
		bool last = pos + k == n;
		uint32_t fd_out = c->flags & GPUVA_COMMIT_FENCE_FD_OUT ?
				  MSM_VM_BIND_FENCE_FD_OUT : 0;

		ret = vm_bind_ioctl(v->m, v->ops + pos, k, NULL, 0,
				    last ? sig : NULL, last ? nsig : 0,
				    last ? fd_out : 0, -1, &c->fence_fd_out);
		if (ret == -ENOMEM && k > 1) {
			piece = k / 2;
			ret = 0;
		} else if (!ret) {
			pos += k;
		}
	}
	*sent = pos;
	return ret;
}

/* After @sent of the batch's kernel ops went in: what that is in entries. */
static void
partial_result(const struct msm_vm *v, const struct gpuva_bind_job *job,
	       size_t sent, struct gpuva_bind_result *res)
{
	size_t i;

	if (!sent)
		return;
	for (i = 0; i < job->net_count; i++) {
		size_t k = entry_ops(v, &job->net[i]);

		if (sent < k)
			break;
		sent -= k;
	}
	res->unit = GPUVA_BIND_NET;
	res->applied = i;
	/* only a zero-BO NULL entry is several ops, each one BO long */
	res->applied_bytes = (uint64_t)sent * v->zero_size;
}

/*
 * After a failed ioctl (@err): a zero-op VM_BIND that both tells whether
 * the VM is now poisoned (a failure past the first op does that) and
 * signals the job's point, so that whatever of the batch went in counts
 * as job @seq. -EPIPE when the VM is lost, else 0.
 */
static int
after_failure(struct msm_vm *v, struct gpuva_vm *vm, uint64_t seq, int err)
{
	struct msm_syncobj point = { .handle = v->tl.handle, .point = seq };
	int ret;

	if (err == -EPIPE)
		return lose(v->m, vm, "VM_BIND");
	ret = vm_bind_fence(v, &point, v->tl.handle ? 1 : 0);
	if (ret == -EPIPE)
		return lose(v->m, vm, "VM_BIND");
	if (!ret && v->tl.handle)
		v->tl.submitted = seq;
	return 0;
}

/*
 * Name the wait behind an ioctl's EINVAL or ENOENT, if one is: a point
 * nothing has been submitted to signal yet (msm, like a DRM syncobj wait
 * without WAIT_FOR_SUBMIT, refuses it), or an unknown syncobj. True with
 * the reason set on @vm.
 */
static bool
explain_waits(struct msm_vm *v, struct gpuva_vm *vm, const struct gpuva_commit *c,
	      int err)
{
	int64_t now = kernel_deadline(0);

	for (uint32_t i = 0; i < c->wait_count; i++) {
		uint32_t h = c->waits[i].handle;
		uint64_t p = c->waits[i].point;
		/* no flags: a missing fence is EINVAL, at once */
		int ret = p ? drmSyncobjTimelineWait(v->m->kb.fd, &h, &p, 1, now, 0, NULL)
			    : drmSyncobjWait(v->m->kb.fd, &h, 1, now, 0, NULL);

		if (ret == -EINVAL || ret == -ENOENT) {
			gpuva_vm_reject(vm, err, "commit: wait %" PRIu32 ":%" PRIu64
					": %s", h, p, ret == -ENOENT ? "no such syncobj" :
					"nothing submitted signals it yet, and msm "
					"cannot wait for a point before that (EINVAL)");
			return true;
		}
	}
	return false;
}

/* A synchronous commit: wait until job @seq has run, then see it did. */
static int
wait_ran(struct msm_vm *v, struct gpuva_vm *vm, uint64_t seq)
{
	struct msm_backend *m = v->m;

	if (v->tl.handle)
		kernel_timeline_wait(&m->kb, &v->tl, seq, INT64_MAX);
	else
		drmSyncobjWait(m->kb.fd, &v->idle, 1, kernel_deadline(INT64_MAX),
			       DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL);
	if (vm_bind_fence(v, NULL, 0) == -EPIPE)
		return lose(m, vm, "the bind job failed when it ran");
	return 0;
}

static int
msm_bind(struct gpuva_backend *be, const struct gpuva_bind_job *job,
	 struct gpuva_bind_result *res)
{
	struct msm_backend *m = to_msm(be);
	struct msm_vm *v = job->vm_priv;
	struct gpuva_commit *c = job->commit;
	struct gpuva_vm *vm = job->vm;
	uint32_t nsig = c->signal_count + 1;
	uint32_t flags = 0;
	size_t n = 0, sent = 0;
	int ret;

	v->last_seq = job->seq;
	if (m->lost)
		return gpuva_vm_reject(vm, -EPIPE, "msm: the VM was lost before; "
				       "close the device and open it again");
	ret = check_points(m, vm, c);
	if (!ret)
		ret = build_ops(v, vm, job->net, job->net_count, &n);
	if (!ret)
		ret = build_syncs(v, vm, c, job->seq);
	if (ret)
		return ret;
	/* a batch that changes nothing and syncs nothing costs nothing */
	if (!n && !c->wait_count && !c->signal_count &&
	    !(c->flags & (GPUVA_COMMIT_FENCE_FD_IN | GPUVA_COMMIT_FENCE_FD_OUT)))
		return 0;
	if (c->flags & GPUVA_COMMIT_FENCE_FD_IN)
		flags |= MSM_VM_BIND_FENCE_FD_IN;
	if (c->flags & GPUVA_COMMIT_FENCE_FD_OUT)
		flags |= MSM_VM_BIND_FENCE_FD_OUT;
	ret = vm_bind_ioctl(m, v->ops, n, v->syncs, c->wait_count,
			    v->syncs + c->wait_count, nsig, flags,
			    c->fence_fd_in, &c->fence_fd_out);
	if (ret == -ENOMEM && n > 1)
		ret = bind_in_pieces(v, c, n, nsig, &sent);
	if (ret) {
		int err = ret;

		ret = after_failure(v, vm, job->seq, err);
		if (ret)
			return ret;
		partial_result(v, job, sent, res);
		if ((err == -EINVAL || err == -ENOENT) && !sent &&
		    explain_waits(v, vm, c, err))
			return err;
		return gpuva_vm_reject(vm, err, "commit: msm VM_BIND of %zu ops "
				       "(%zu went in): %s", n, sent, strerror(-err));
	}
	v->tl.submitted = job->seq;
	if (!(c->flags & GPUVA_COMMIT_ASYNC))
		return wait_ran(v, vm, job->seq);
	return 0;
}

/* ---- what has run --------------------------------------------------------------- */

static uint64_t
msm_completed(struct gpuva_backend *be, void *priv)
{
	struct msm_backend *m = to_msm(be);
	struct msm_vm *v = priv;
	uint64_t done;

	if (!v->tl.handle) {
		if (!drmSyncobjWait(m->kb.fd, &v->idle, 1, kernel_deadline(0),
				    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL))
			v->idle_seq = v->last_seq;
		return v->idle_seq;
	}
	/* jobs that failed before the kernel had them have nothing to run */
	done = kernel_timeline_completed(&m->kb, &v->tl);
	return done >= v->tl.submitted ? v->last_seq : done;
}

static int
msm_wait(struct gpuva_backend *be, void *priv, uint64_t seq, int64_t timeout_ns)
{
	struct msm_backend *m = to_msm(be);
	struct msm_vm *v = priv;
	int ret;

	if (seq > v->tl.submitted)
		seq = v->tl.submitted;
	if (v->tl.handle)
		ret = kernel_timeline_wait(&m->kb, &v->tl, seq, timeout_ns);
	else
		ret = drmSyncobjWait(m->kb.fd, &v->idle, 1,
				     kernel_deadline(timeout_ns),
				     DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL) ? -ETIME : 0;
	if (ret)
		return ret;
	if (vm_bind_fence(v, NULL, 0) == -EPIPE) {
		m->lost = true;
		return -EPIPE;
	}
	return 0;
}

/* ---- BOs (tools and tests) ------------------------------------------------------- */

static int
msm_bo_create(struct gpuva_backend *be, void *vm_priv, uint64_t size,
	      uint32_t flags, struct gpuva_bo **out)
{
	struct msm_backend *m = to_msm(be);
	uint64_t ps = m->page_size;
	struct kernel_bo *bo;
	uint32_t handle = 0;
	int ret;

	if (size > UINT64_MAX - (ps - 1))
		return gpuva_backend_reject(be, -EINVAL, "bo_create 0x%" PRIx64
					    ": too big", size);
	size = (size + ps - 1) & ~(ps - 1);
	ret = gem_new(m, size, flags & GPUVA_BACKEND_BO_PRIVATE ?
			       MSM_BO_NO_SHARE : 0, &handle);
	if (ret)
		return gpuva_backend_reject(be, ret, "bo_create 0x%" PRIx64
					    ": GEM_NEW: %s", size, strerror(-ret));
	bo = kernel_bo_new(handle, size, vm_priv, flags);
	if (!bo) {
		drmCloseBufferHandle(m->kb.fd, handle);
		return gpuva_backend_reject(be, -ENOMEM, "bo_create: out of memory");
	}
	*out = &bo->base;
	return 0;
}

static const struct gpuva_backend_ops msm_ops = {
	.name = "msm",
	.caps = GPUVA_BACKEND_PARTIAL_NET | GPUVA_BACKEND_SYNCS,
	.vm_init = msm_vm_init,
	.vm_fini = msm_vm_fini,
	.check = msm_check,
	.bind = msm_bind,
	.completed = msm_completed,
	.wait = msm_wait,
	.sync_create = kernel_sync_create,
	.sync_destroy = kernel_sync_destroy,
	.sync_signal = kernel_sync_signal,
	.sync_wait = kernel_sync_wait,
	.bo_create = msm_bo_create,
	.bo_destroy = kernel_bo_destroy,
	.destroy = msm_destroy,
};
