/* SPDX-License-Identifier: MIT */
/*
 * The panthor backend: Arm Mali CSF GPUs through panthor's VM_CREATE and
 * VM_BIND (Linux 6.10+; the kernel's panthor_drm.h and panthor_drv.c).
 *
 * It exists so that a panvk-style driver runs the same VM code as on any
 * other kernel: each commit's net effect goes to the kernel in one VM_BIND,
 * and what the kernel did (all of it, the first k ops of a synchronous
 * bind, or nothing) comes back as the contract of backend.h demands, so the
 * mirror always equals the kernel's page tables.
 *
 * What panthor asks for, and how it is met:
 * - VMs: up to 32 per fd, each created with the user VA range the caller
 *   asks for; the kernel rounds it up and keeps everything above for its
 *   own heaps and rings. The library VM ends where the kernel's part
 *   starts (or is the caller's range inside the user part), so no request
 *   can reach the kernel's part.
 * - Synchronous binds take no syncs: a synchronous commit waits for the
 *   VM's queued jobs and for its waits on the CPU (without a time limit,
 *   as the batch cannot run before them), binds, then signals its signals
 *   from the CPU. When a synchronous bind fails at op k (the kernel
 *   writes k back), the ops before k stay applied; the backend reports
 *   them as whole net-effect entries plus bytes of the next one
 *   (GPUVA_BIND_NET).
 * - A driver's own BOs (not from gpuva_backend_bo_create()) are checked
 *   only for handle 0: whether a handle resolves, and to which VM a BO is
 *   exclusive, only the kernel knows. It refuses such an op with EINVAL;
 *   in synchronous mode the ops before it stay applied and are reported.
 * - Asynchronous binds: every op is a kernel job of its own with its own
 *   syncs; the commit's waits go on the first op, its signals (and the
 *   VM's job timeline point) on the last. A job that fails makes the VM
 *   UNUSABLE for good: the backend reports it lost (-EPIPE).
 * - No NULL mapping: a NULL entry maps a shared, zero-filled 2 MiB
 *   "blackhole" BO, one op per 2 MiB-aligned chunk, as panvk does. The
 *   mirror still shows one NULL mapping. Reads return zero until the GPU
 *   writes there: writes are not dropped (unlike msm's PRR pages) but land
 *   in the blackhole BO, which every NULL page of the device shares.
 * - Errors panthor would give are found before the ioctl where the backend
 *   can know them (check()): driver flags, GEM handle 0, a BO of ours that
 *   is exclusive to another VM. Alignment, the user VA range and BO bounds
 *   are the library's own checks against the VM this backend set up.
 *
 * It leaves out GPU job submission (groups, queues, tiler heaps) and BO
 * mmap: a driver has its own.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xf86drm.h>

#include "kernel.h"
#include "panthor_abi.h"
#include "registry.h"
#include "util/util.h"

/* Bind alignment: the smallest page of Mali's page-table format. */
#define PANTHOR_PAGE_SIZE	4096ull
/*
 * The blackhole: the largest Mali page size up to 2 MiB (the format has
 * 4 KiB and 2 MiB pages), so that aligned 2 MiB chunks of a NULL mapping
 * can use huge pages.
 */
#define BLACKHOLE_SIZE		(2ull << 20)
/* The kernel keeps at least this much VA for itself (docs/kernels.md 4.1). */
#define KERNEL_MIN_VA		(256ull << 20)

struct panthor_backend {
	struct kernel_backend kb;
	unsigned va_bits;		/* from GPU_INFO */
	pthread_mutex_t lock;		/* bos, nbos and blackhole */
	struct kernel_bo **bos;		/* BOs we created, by GEM handle */
	uint32_t nbos;			/* slots in bos */
	uint32_t blackhole;		/* GEM handle; 0 until a NULL map */
};

struct panthor_vm {
	uint32_t id;			/* the kernel's VM id */
	uint64_t limit;			/* user_va_range as the kernel wrote it */
	struct kernel_timeline tl;	/* async jobs signal their seq */
	uint64_t usable_upto;		/* GET_STATE said usable after this */
	bool unusable;			/* GET_STATE said UNUSABLE: lost */
};

/* What a VM whose exclusive BOs outlive it is, to check(): none. */
static char dead_vm;

static const struct gpuva_backend_ops panthor_ops;

static struct panthor_backend *
to_panthor(const struct gpuva_backend *be)
{
	return gpuva_container_of(to_kernel(be), struct panthor_backend, kb);
}

/* An ioctl: 0 or -errno (drmIoctl retries EINTR and EAGAIN). */
static int
pt_ioctl(int fd, unsigned long request, void *arg)
{
	return drmIoctl(fd, request, arg) ? -errno : 0;
}

/* GPU_INFO's VA bits into @va_bits. 0 or the kernel's -errno. */
static int
query_va_bits(int fd, unsigned *va_bits)
{
	struct panthor_gpu_info info = { 0 };
	struct panthor_dev_query q = {
		.type = PANTHOR_DEV_QUERY_GPU_INFO,
		.size = sizeof(info),
		.pointer = (uintptr_t)&info,
	};
	int ret = pt_ioctl(fd, PANTHOR_IOCTL_DEV_QUERY, &q);

	if (!ret)
		*va_bits = PANTHOR_MMU_VA_BITS(info.mmu_features);
	return ret;
}

/* The largest user range VM_CREATE accepts: all but the kernel's 256 MiB. */
static uint64_t
max_user_range(unsigned va_bits)
{
	uint64_t full = va_bits >= 64 ? 0 : 1ull << va_bits;

	return full > KERNEL_MIN_VA ? full - KERNEL_MIN_VA : 0;
}

/* VM_CREATE: the id and the user range the kernel gave for @asked. */
static int
vm_create(int fd, uint64_t asked, uint32_t *id, uint64_t *limit)
{
	struct panthor_vm_create c = { .user_va_range = asked };
	int ret = pt_ioctl(fd, PANTHOR_IOCTL_VM_CREATE, &c);

	if (!ret) {
		*id = c.id;
		*limit = c.user_va_range;
	}
	return ret;
}

static void
vm_destroy(int fd, uint32_t id)
{
	struct panthor_vm_destroy d = { .id = id };

	pt_ioctl(fd, PANTHOR_IOCTL_VM_DESTROY, &d);
}

/* ---- the probe -------------------------------------------------------------- */

int
panthor_probe(int fd, struct gpuva_drm_node *node)
{
	unsigned va_bits;
	uint32_t id;
	uint64_t limit;
	int ret = query_va_bits(fd, &va_bits);

	if (ret) {
		snprintf(node->why, sizeof(node->why),
			 "DEV_QUERY GPU_INFO failed: %s", strerror(-ret));
		return 0;
	}
	/* the window a default VM gets: make one and look */
	ret = vm_create(fd, 0, &id, &limit);
	if (ret) {
		snprintf(node->why, sizeof(node->why),
			 "VM_CREATE failed: %s (%u VA bits)", strerror(-ret),
			 va_bits);
		return 0;
	}
	vm_destroy(fd, id);
	node->vm_bind = true;
	node->va_start = 0;
	node->va_range = limit;
	node->page_size = PANTHOR_PAGE_SIZE;
	snprintf(node->null_mode, sizeof(node->null_mode), "blackhole BO");
	return 0;
}

/* ---- BOs ---------------------------------------------------------------------- */

/* Remember a BO we created, by handle. -ENOMEM with nothing kept. */
static int
bo_table_add(struct panthor_backend *pb, struct kernel_bo *bo)
{
	uint32_t h = bo->base.handle;

	if (h >= pb->nbos) {
		uint32_t n = pb->nbos ? pb->nbos : 64;
		struct kernel_bo **t;

		while (n <= h)
			n *= 2;
		t = realloc(pb->bos, (size_t)n * sizeof(*t));
		if (!t)
			return -ENOMEM;
		memset(t + pb->nbos, 0, (size_t)(n - pb->nbos) * sizeof(*t));
		pb->bos = t;
		pb->nbos = n;
	}
	pb->bos[h] = bo;
	return 0;
}

/*
 * The VM a BO is exclusive to, if we created it: its vm_priv (NULL for a
 * shared BO, &dead_vm once that VM is gone). A driver's own BO is not
 * ours, whatever its handle: NULL.
 */
static void *
bo_exclusive_vm(struct panthor_backend *pb, const struct gpuva_bo *bo)
{
	void *vm = NULL;

	pthread_mutex_lock(&pb->lock);
	if (bo->handle < pb->nbos && pb->bos[bo->handle] &&
	    &pb->bos[bo->handle]->base == bo)
		vm = pb->bos[bo->handle]->vm_priv;
	pthread_mutex_unlock(&pb->lock);
	return vm;
}

static int
bo_create_ioctl(struct panthor_backend *pb, uint64_t size, uint32_t flags,
		uint32_t exclusive_vm, uint32_t *handle, uint64_t *real_size)
{
	struct panthor_bo_create c = {
		.size = size, .flags = flags, .exclusive_vm_id = exclusive_vm,
	};
	int ret = pt_ioctl(pb->kb.fd, PANTHOR_IOCTL_BO_CREATE, &c);

	if (!ret) {
		*handle = c.handle;
		*real_size = c.size;
	}
	return ret;
}

static int
panthor_bo_create(struct gpuva_backend *be, void *vm_priv, uint64_t size,
		  uint32_t flags, struct gpuva_bo **out)
{
	struct panthor_backend *pb = to_panthor(be);
	struct panthor_vm *v = flags & GPUVA_BACKEND_BO_PRIVATE ? vm_priv : NULL;
	struct kernel_bo *bo;
	uint32_t handle;
	uint64_t real;
	int ret;

	ret = bo_create_ioctl(pb, size, 0, v ? v->id : 0, &handle, &real);
	if (ret)
		return gpuva_backend_reject(be, ret, "bo_create 0x%" PRIx64
					    "%s: BO_CREATE failed: %s", size,
					    v ? " private" : "", strerror(-ret));
	bo = kernel_bo_new(handle, real, v, flags);
	pthread_mutex_lock(&pb->lock);
	ret = bo ? bo_table_add(pb, bo) : -ENOMEM;
	pthread_mutex_unlock(&pb->lock);
	if (ret) {
		drmCloseBufferHandle(pb->kb.fd, handle);
		free(bo);
		return gpuva_backend_reject(be, -ENOMEM, "bo_create 0x%" PRIx64
					    ": out of memory", size);
	}
	*out = &bo->base;
	return 0;
}

static void
panthor_bo_destroy(struct gpuva_backend *be, struct gpuva_bo *bo)
{
	struct panthor_backend *pb = to_panthor(be);

	pthread_mutex_lock(&pb->lock);
	if (bo->handle < pb->nbos && pb->bos[bo->handle] &&
	    &pb->bos[bo->handle]->base == bo)
		pb->bos[bo->handle] = NULL;
	pthread_mutex_unlock(&pb->lock);
	kernel_bo_destroy(be, bo);
}

/*
 * The blackhole BO, created on first use and shared by every VM of the
 * device (exclusive to none; nobody maps it on the CPU). The kernel hands
 * out zero-filled BOs. 0 or a negative errno with a reason on @vm.
 */
static int
blackhole_get(struct panthor_backend *pb, struct gpuva_vm *vm, uint32_t *out)
{
	uint64_t size;
	int ret = 0;

	pthread_mutex_lock(&pb->lock);
	if (!pb->blackhole)
		ret = bo_create_ioctl(pb, BLACKHOLE_SIZE, PANTHOR_BO_NO_MMAP, 0,
				      &pb->blackhole, &size);
	*out = pb->blackhole;
	pthread_mutex_unlock(&pb->lock);
	if (ret)
		return gpuva_vm_reject(vm, ret, "panthor: creating the blackhole "
				       "BO for NULL mappings (BO_CREATE 0x%llx): %s",
				       BLACKHOLE_SIZE, strerror(-ret));
	return 0;
}

/* ---- VMs ---------------------------------------------------------------------- */

/* Ask the kernel whether the VM is still usable; a failed ask means no. */
static bool
vm_state_usable(struct panthor_backend *pb, struct panthor_vm *v)
{
	struct panthor_vm_get_state s = { .vm_id = v->id };

	if (!v->unusable &&
	    (pt_ioctl(pb->kb.fd, PANTHOR_IOCTL_VM_GET_STATE, &s) ||
	     s.state != PANTHOR_VM_STATE_USABLE))
		v->unusable = true;
	return !v->unusable;
}

static int
lost(struct gpuva_vm *vm, struct panthor_vm *v)
{
	return gpuva_vm_reject(vm, -EPIPE, "panthor: VM %" PRIu32 " is UNUSABLE "
			       "(an asynchronous bind job failed); destroy it "
			       "and create a new VM", v->id);
}

/*
 * Fill in @d's geometry: [start, start + range) inside the user part the
 * kernel gives. A range of 0 asks for the kernel's default window;
 * otherwise the kernel is asked for a user part reaching start + range.
 */
static int
panthor_vm_init(struct gpuva_backend *be, struct gpuva_vm_desc *d, void **priv)
{
	struct panthor_backend *pb = to_panthor(be);
	uint64_t max = max_user_range(pb->va_bits), asked = 0, limit;
	struct panthor_vm *v;
	uint32_t id;
	int ret;

	if (!d->page_size)
		d->page_size = PANTHOR_PAGE_SIZE;
	if (!util_is_pow2(d->page_size) || d->page_size < PANTHOR_PAGE_SIZE ||
	    d->page_size > BLACKHOLE_SIZE)
		return gpuva_backend_reject(be, -EINVAL, "vm: page size 0x%" PRIx64
					    ": panthor needs a power of two from "
					    "0x%llx (its page) to 0x%llx (the "
					    "blackhole BO's size)", d->page_size,
					    PANTHOR_PAGE_SIZE, BLACKHOLE_SIZE);
	if ((d->start | d->range) & (d->page_size - 1))
		return gpuva_backend_reject(be, -EINVAL, "vm 0x%" PRIx64 " 0x%"
					    PRIx64 ": not aligned to the page size "
					    "0x%" PRIx64, d->start, d->range,
					    d->page_size);
	if (d->range) {
		asked = d->start + d->range;
		if (d->range > max || d->start > max - d->range)
			return gpuva_backend_reject(be, -EINVAL, "vm 0x%" PRIx64
						    " 0x%" PRIx64 ": outside panthor's "
						    "user VA window [0x0, 0x%" PRIx64
						    ") (%u VA bits, the kernel keeps "
						    "the top 256 MiB or more)",
						    d->start, d->range, max,
						    pb->va_bits);
	}
	ret = vm_create(pb->kb.fd, asked, &id, &limit);
	if (ret == -EBUSY)
		return gpuva_backend_reject(be, -EBUSY, "vm: VM_CREATE: this "
					    "device fd already has %u VMs, "
					    "panthor's most", PANTHOR_MAX_VMS_PER_FD);
	if (ret)
		return gpuva_backend_reject(be, ret, "vm 0x%" PRIx64 " 0x%" PRIx64
					    ": VM_CREATE (user_va_range 0x%" PRIx64
					    ") failed: %s", d->start, d->range,
					    asked, strerror(-ret));
	if (asked > limit) {
		/* the kernel only ever rounds up; never bind past its limit */
		vm_destroy(pb->kb.fd, id);
		return gpuva_backend_reject(be, -EINVAL, "vm 0x%" PRIx64 " 0x%"
					    PRIx64 ": VM_CREATE gave a user VA "
					    "range of 0x%" PRIx64 " only",
					    d->start, d->range, limit);
	}
	if (!d->range) {
		if (d->start >= limit) {
			vm_destroy(pb->kb.fd, id);
			return gpuva_backend_reject(be, -EINVAL, "vm 0x%" PRIx64
						    " 0x0: starts outside the user "
						    "VA window [0x0, 0x%" PRIx64 ")",
						    d->start, limit);
		}
		d->range = limit - d->start;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		vm_destroy(pb->kb.fd, id);
		return gpuva_backend_reject(be, -ENOMEM, "vm: out of memory");
	}
	ret = kernel_timeline_init(&pb->kb, &v->tl);
	if (ret) {
		free(v);
		vm_destroy(pb->kb.fd, id);
		return gpuva_backend_reject(be, ret, "vm: creating its job "
					    "timeline syncobj: %s", strerror(-ret));
	}
	v->id = id;
	v->limit = limit;
	*priv = v;
	return 0;
}

static void
panthor_vm_fini(struct gpuva_backend *be, void *priv)
{
	struct panthor_backend *pb = to_panthor(be);
	struct panthor_vm *v = priv;

	vm_destroy(pb->kb.fd, v->id);
	/* the kernel lets no other VM map a BO that was exclusive to it */
	pthread_mutex_lock(&pb->lock);
	for (uint32_t h = 0; h < pb->nbos; h++)
		if (pb->bos[h] && pb->bos[h]->vm_priv == v)
			pb->bos[h]->vm_priv = &dead_vm;
	pthread_mutex_unlock(&pb->lock);
	kernel_timeline_fini(&pb->kb, &v->tl);
	free(v);
}

/* ---- requests ----------------------------------------------------------------- */

static int
panthor_check(struct gpuva_backend *be, void *vm_priv, struct gpuva_vm *vm,
	      const struct gpuva_bind_op *req, size_t index)
{
	struct panthor_backend *pb = to_panthor(be);
	void *owner;
	uint32_t bh;

	(void)index;
	if (req->kind == GPUVA_BIND_UNMAP)
		return 0;
	if (req->driver_flags & ~PANTHOR_VM_BIND_OP_MAP_FLAGS)
		return gpuva_vm_reject(vm, -EINVAL, "map 0x%" PRIx64 " 0x%" PRIx64
				       ": panthor driver flags 0x%" PRIx32 ": only "
				       "READONLY 0x1, NOEXEC 0x2 and UNCACHED 0x4 "
				       "exist", req->addr, req->range,
				       req->driver_flags);
	if (req->kind == GPUVA_BIND_MAP_NULL)
		return blackhole_get(pb, vm, &bh);
	if (!req->bo->handle)
		return gpuva_vm_reject(vm, -EINVAL, "map 0x%" PRIx64 " 0x%" PRIx64
				       " 0x%" PRIx64 ": GEM handle 0 names no BO",
				       req->addr, req->range, req->offset);
	owner = bo_exclusive_vm(pb, req->bo);
	if (owner && owner != vm_priv)
		return gpuva_vm_reject(vm, -EINVAL, "map 0x%" PRIx64 " 0x%" PRIx64
				       " 0x%" PRIx64 ": BO %" PRIu32 " is exclusive "
				       "to %s", req->addr, req->range, req->offset,
				       req->bo->handle, owner == &dead_vm ?
				       "a destroyed VM" : "another VM");
	return 0;
}

/* ---- building the ops ----------------------------------------------------------- */

/* Kernel ops one net-effect entry takes: one, or a NULL entry's chunks. */
static uint64_t
entry_ops(const struct gpuva_bind_op *e)
{
	uint64_t first, last;

	if (e->kind != GPUVA_BIND_MAP_NULL)
		return 1;
	first = e->addr & ~(BLACKHOLE_SIZE - 1);
	last = (e->addr + e->range - 1) & ~(BLACKHOLE_SIZE - 1);
	return (last - first) / BLACKHOLE_SIZE + 1;
}

/* Where chunk @j of a NULL entry starts (the next 2 MiB line after 0). */
static uint64_t
chunk_start(const struct gpuva_bind_op *e, uint64_t j)
{
	return j ? (e->addr & ~(BLACKHOLE_SIZE - 1)) + j * BLACKHOLE_SIZE : e->addr;
}

/* Write entry @e's ops at @o; returns how many. */
static uint64_t
emit_entry(struct panthor_vm_bind_op *o, const struct gpuva_bind_op *e,
	   uint32_t blackhole)
{
	uint64_t n = entry_ops(e), end = e->addr + e->range;

	memset(o, 0, (size_t)n * sizeof(*o));
	if (e->kind == GPUVA_BIND_UNMAP) {
		o->flags = PANTHOR_VM_BIND_OP_TYPE_UNMAP;
		o->va = e->addr;
		o->size = e->range;
		return 1;
	}
	if (e->kind == GPUVA_BIND_MAP) {
		o->flags = PANTHOR_VM_BIND_OP_TYPE_MAP | e->driver_flags;
		o->bo_handle = e->bo->handle;
		o->bo_offset = e->offset;
		o->va = e->addr;
		o->size = e->range;
		return 1;
	}
	/* each chunk at the blackhole offset its VA has within 2 MiB */
	for (uint64_t j = 0; j < n; j++) {
		uint64_t s = chunk_start(e, j);
		uint64_t next = (s & ~(BLACKHOLE_SIZE - 1)) + BLACKHOLE_SIZE;

		o[j].flags = PANTHOR_VM_BIND_OP_TYPE_MAP | e->driver_flags;
		o[j].bo_handle = blackhole;
		o[j].bo_offset = s & (BLACKHOLE_SIZE - 1);
		o[j].va = s;
		o[j].size = (next < end ? next : end) - s;
	}
	return n;
}

/*
 * The kernel ops of a job's net effect, into a new array. -ENOMEM or
 * -EINVAL (more ops than one VM_BIND carries) with a reason on the VM.
 */
static int
build_ops(struct panthor_backend *pb, const struct gpuva_bind_job *j,
	  struct panthor_vm_bind_op **out, uint32_t *count)
{
	uint64_t n = 0, k = 0;
	uint32_t bh = 0;
	struct panthor_vm_bind_op *ops;

	for (size_t i = 0; i < j->net_count; i++) {
		n += entry_ops(&j->net[i]);
		if (j->net[i].kind == GPUVA_BIND_MAP_NULL && !bh) {
			int ret = blackhole_get(pb, j->vm, &bh);

			if (ret)
				return ret;
		}
	}
	if (n > UINT32_MAX - 1)
		return gpuva_vm_reject(j->vm, -EINVAL, "panthor: commit: %" PRIu64
				       " kernel ops (NULL mappings take one per "
				       "2 MiB) do not fit one VM_BIND", n);
	ops = malloc((size_t)(n ? n : 1) * sizeof(*ops));
	if (!ops)
		return gpuva_vm_reject(j->vm, -ENOMEM, "panthor: commit: out of "
				       "memory for %" PRIu64 " ops", n);
	for (size_t i = 0; i < j->net_count; i++)
		k += emit_entry(ops + k, &j->net[i], bh);
	*out = ops;
	*count = (uint32_t)n;
	return 0;
}

/* A sync point as a panthor sync op. */
static struct panthor_sync_op
sync_op(const struct gpuva_sync *p, uint32_t dir)
{
	return (struct panthor_sync_op){
		.flags = dir | (p->point ? PANTHOR_SYNC_OP_TIMELINE_SYNCOBJ
					 : PANTHOR_SYNC_OP_SYNCOBJ),
		.handle = p->handle,
		.timeline_value = p->point,
	};
}

static int
vm_bind_ioctl(struct panthor_backend *pb, struct panthor_vm *v, uint32_t flags,
	      struct panthor_vm_bind_op *ops, uint32_t *count)
{
	struct panthor_vm_bind b = {
		.vm_id = v->id,
		.flags = flags,
		.ops = { .stride = sizeof(*ops), .count = *count,
			 .array = (uintptr_t)ops },
	};
	int ret = pt_ioctl(pb->kb.fd, PANTHOR_IOCTL_VM_BIND, &b);

	*count = b.ops.count;
	return ret;
}

/* Name an op in a reason: "map 0x.. 0x.." or "unmap 0x.. 0x..". */
static const char *
op_verb(const struct panthor_vm_bind_op *o)
{
	return (o->flags & PANTHOR_VM_BIND_OP_TYPE_MASK) ==
	       PANTHOR_VM_BIND_OP_TYPE_UNMAP ? "unmap" : "map";
}

/* ---- synchronous commits ----------------------------------------------------- */

/* Op @k of the job's ops as (entry, bytes of it before the op). */
static void
locate_op(const struct gpuva_bind_job *j, uint64_t k, size_t *entry,
	  uint64_t *bytes)
{
	for (size_t i = 0; i < j->net_count; i++) {
		uint64_t c = entry_ops(&j->net[i]);

		if (k < c) {
			*entry = i;
			*bytes = chunk_start(&j->net[i], k) - j->net[i].addr;
			return;
		}
		k -= c;
	}
	*entry = j->net_count;
	*bytes = 0;
}

/*
 * After a failed VM_BIND: was it the VM (UNUSABLE: lost) or the batch?
 * Only an EINVAL can come from an unusable VM.
 */
static int
bind_failed(struct panthor_backend *pb, struct panthor_vm *v,
	    struct gpuva_vm *vm, int ret)
{
	if (ret == -EINVAL && !vm_state_usable(pb, v))
		return lost(vm, v);
	return ret;
}

static int
bind_sync(struct panthor_backend *pb, struct panthor_vm *v,
	  const struct gpuva_bind_job *j, struct panthor_vm_bind_op *ops,
	  uint32_t n, struct gpuva_bind_result *res)
{
	struct gpuva_vm *vm = j->vm;
	uint32_t k = n;
	size_t entry;
	uint64_t bytes;
	int ret;

	/* the batch runs after the VM's queued jobs, as it would queued */
	if (kernel_timeline_completed(&pb->kb, &v->tl) < v->tl.submitted) {
		kernel_timeline_wait(&pb->kb, &v->tl, v->tl.submitted, INT64_MAX);
		if (!vm_state_usable(pb, v))
			return lost(vm, v);
	}
	ret = kernel_cpu_waits(&pb->kb, vm, j->commit);
	if (ret)
		return ret;
	if (n)
		ret = vm_bind_ioctl(pb, v, 0, ops, &k);
	if (ret) {
		ret = bind_failed(pb, v, vm, ret);
		if (ret == -EPIPE || k >= n)
			return ret == -EPIPE ? ret :
			       gpuva_vm_reject(vm, ret, "panthor: VM_BIND of %"
					       PRIu32 " ops failed before any op "
					       "ran: %s", n, strerror(-ret));
		/* the ops before k stay applied: say which entries they were */
		locate_op(j, k, &entry, &bytes);
		if (k) {
			res->unit = GPUVA_BIND_NET;
			res->applied = entry;
			res->applied_bytes = bytes;
		}
		return gpuva_vm_reject(vm, ret, "panthor: VM_BIND op %" PRIu32
				       " of %" PRIu32 " (%s 0x%" PRIx64 " 0x%" PRIx64
				       ") failed: %s; the %" PRIu32 " ops before it "
				       "stay applied (%zu net entries and 0x%"
				       PRIx64 " bytes)", k, n, op_verb(&ops[k]),
				       ops[k].va, ops[k].size, strerror(-ret), k,
				       entry, bytes);
	}
	/* applied: a failing signal now cannot undo it, only be told */
	kernel_cpu_signals(&pb->kb, vm, j->commit);
	return 0;
}

/* ---- asynchronous commits ---------------------------------------------------- */

static int
bind_async(struct panthor_backend *pb, struct panthor_vm *v,
	   const struct gpuva_bind_job *j, struct panthor_vm_bind_op *ops,
	   uint32_t n)
{
	const struct gpuva_commit *c = j->commit;
	struct gpuva_vm *vm = j->vm;
	uint32_t nsig = c->signal_count + (v->tl.handle ? 1 : 0);
	uint32_t nsync = c->wait_count + nsig, k;
	struct panthor_sync_op *syncs;
	struct panthor_vm_bind_op *last;
	int ret;

	ret = kernel_check_points(&pb->kb, vm, c->waits, c->wait_count, "wait");
	if (!ret)
		ret = kernel_check_points(&pb->kb, vm, c->signals,
					  c->signal_count, "signal");
	if (ret)
		return ret;
	/* nothing to run or signal: completed() counts it run with the rest */
	if (!n && !c->wait_count && !c->signal_count)
		return 0;
	syncs = malloc((nsync ? nsync : 1) * sizeof(*syncs));
	if (!syncs)
		return gpuva_vm_reject(vm, -ENOMEM, "panthor: commit: out of memory");
	for (uint32_t i = 0; i < c->wait_count; i++)
		syncs[i] = sync_op(&c->waits[i], PANTHOR_SYNC_OP_WAIT);
	for (uint32_t i = 0; i < c->signal_count; i++)
		syncs[c->wait_count + i] = sync_op(&c->signals[i],
						   PANTHOR_SYNC_OP_SIGNAL);
	if (v->tl.handle) {
		struct gpuva_sync t = { .handle = v->tl.handle, .point = j->seq };

		syncs[nsync - 1] = sync_op(&t, PANTHOR_SYNC_OP_SIGNAL);
	}
	/* a batch without ops orders and signals through one SYNC_ONLY op */
	if (!n) {
		memset(ops, 0, sizeof(*ops));
		ops->flags = PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY;
		n = 1;
	}
	last = &ops[n - 1];
	if (c->wait_count) {
		ops[0].syncs.stride = sizeof(*syncs);
		ops[0].syncs.count = c->wait_count;
		ops[0].syncs.array = (uintptr_t)syncs;
	}
	if (nsig) {
		last->syncs.stride = sizeof(*syncs);
		/* one op alone carries the waits and the signals */
		last->syncs.count = nsig + (n == 1 ? c->wait_count : 0);
		last->syncs.array = (uintptr_t)(syncs + (n == 1 ? 0 : c->wait_count));
	}
	k = n;
	ret = vm_bind_ioctl(pb, v, PANTHOR_VM_BIND_ASYNC, ops, &k);
	free(syncs);
	if (ret) {
		ret = bind_failed(pb, v, vm, ret);
		/* every op is checked before any job is queued: nothing ran */
		if (ret == -EPIPE || kernel_blame_syncs(&pb->kb, vm, c, ret))
			return ret;
		return gpuva_vm_reject(vm, ret, "panthor: asynchronous VM_BIND of "
				       "%" PRIu32 " ops failed: %s (nothing queued)",
				       n, strerror(-ret));
	}
	v->tl.submitted = j->seq;
	return 0;
}

static int
panthor_bind(struct gpuva_backend *be, const struct gpuva_bind_job *j,
	     struct gpuva_bind_result *res)
{
	struct panthor_backend *pb = to_panthor(be);
	struct panthor_vm *v = j->vm_priv;
	const struct gpuva_commit *c = j->commit;
	struct panthor_vm_bind_op *ops = NULL;
	uint32_t n = 0;
	int ret;

	if (v->unusable)
		ret = lost(j->vm, v);
	else if (c->flags & (GPUVA_COMMIT_FENCE_FD_IN | GPUVA_COMMIT_FENCE_FD_OUT))
		ret = gpuva_vm_reject(j->vm, -EOPNOTSUPP, "panthor: commit: "
				      "panthor's VM_BIND takes syncobjs, not "
				      "sync_file fds");
	else
		ret = build_ops(pb, j, &ops, &n);
	if (!ret && (c->flags & GPUVA_COMMIT_ASYNC))
		ret = bind_async(pb, v, j, ops, n);
	else if (!ret)
		ret = bind_sync(pb, v, j, ops, n, res);
	free(ops);
	/* synchronous, failed or empty: done when the jobs before it are */
	if (v->tl.submitted != j->seq)
		kernel_timeline_skip(&v->tl, j->seq);
	return ret;
}

/*
 * The highest job known to have run (the VM's job timeline, kernel.h). A
 * VM found UNUSABLE stops where it was last seen usable, so that the
 * library's wait() reports it lost.
 */
static uint64_t
panthor_completed(struct gpuva_backend *be, void *vm_priv)
{
	struct panthor_backend *pb = to_panthor(be);
	struct panthor_vm *v = vm_priv;
	uint64_t done = kernel_timeline_completed(&pb->kb, &v->tl);

	if (done > v->usable_upto) {
		/* a job that ran may have failed: the VM says */
		if (!vm_state_usable(pb, v))
			return v->usable_upto;
		v->usable_upto = done;
	}
	return done;
}

static int
panthor_wait(struct gpuva_backend *be, void *vm_priv, uint64_t seq,
	     int64_t timeout_ns)
{
	struct panthor_backend *pb = to_panthor(be);
	struct panthor_vm *v = vm_priv;
	int ret = 0;

	if (!v->unusable)
		ret = kernel_timeline_wait(&pb->kb, &v->tl, seq, timeout_ns);
	if (!vm_state_usable(pb, v))
		return -EPIPE;
	return ret;
}

/* ---- the backend -------------------------------------------------------------- */

static void
panthor_destroy(struct gpuva_backend *be)
{
	struct panthor_backend *pb = to_panthor(be);

	if (pb->blackhole)
		drmCloseBufferHandle(pb->kb.fd, pb->blackhole);
	pthread_mutex_destroy(&pb->lock);
	free(pb->bos);
	free(pb);
}

static const struct gpuva_backend_ops panthor_ops = {
	.name = "panthor",
	.caps = GPUVA_BACKEND_PARTIAL_NET | GPUVA_BACKEND_SYNCS,
	.vm_init = panthor_vm_init,
	.vm_fini = panthor_vm_fini,
	.check = panthor_check,
	.bind = panthor_bind,
	.completed = panthor_completed,
	.wait = panthor_wait,
	.sync_create = kernel_sync_create,
	.sync_destroy = kernel_sync_destroy,
	.sync_signal = kernel_sync_signal,
	.sync_wait = kernel_sync_wait,
	.bo_create = panthor_bo_create,
	.bo_destroy = panthor_bo_destroy,
	.destroy = panthor_destroy,
};

int
panthor_backend_create(const struct gpuva_backend_desc *desc,
		       struct gpuva_backend **out)
{
	struct panthor_backend *pb = calloc(1, sizeof(*pb));
	drmVersionPtr ver;
	int ret;

	if (!pb) {
		struct gpuva_backend tmp;

		gpuva_backend_init(&tmp, &panthor_ops, desc);
		return gpuva_backend_reject(&tmp, -ENOMEM, "panthor: out of memory");
	}
	ret = kernel_backend_init(&pb->kb, &panthor_ops, desc);
	if (!ret && desc->page_size)
		ret = gpuva_backend_reject(&pb->kb.base, -EINVAL, "panthor: "
					   "page_size 0x%" PRIx64 ": a kernel "
					   "backend takes the kernel's (0)",
					   desc->page_size);
	if (!ret && desc->flags)
		ret = gpuva_backend_reject(&pb->kb.base, -EINVAL, "panthor: unknown "
					   "flags 0x%" PRIx32, desc->flags);
	if (!ret) {
		ver = drmGetVersion(pb->kb.fd);
		if (!ver || !ver->name || strcmp(ver->name, "panthor"))
			ret = gpuva_backend_reject(&pb->kb.base, -ENODEV,
						   "panthor: fd %d is a %s device, "
						   "not panthor", pb->kb.fd,
						   ver && ver->name ? ver->name
						   : "non-DRM");
		drmFreeVersion(ver);
	}
	if (!ret) {
		ret = query_va_bits(pb->kb.fd, &pb->va_bits);
		if (ret)
			gpuva_backend_reject(&pb->kb.base, ret, "panthor: DEV_QUERY "
					     "GPU_INFO failed: %s", strerror(-ret));
	}
	if (!ret && pthread_mutex_init(&pb->lock, NULL))
		ret = gpuva_backend_reject(&pb->kb.base, -ENOMEM,
					   "panthor: no mutex");
	if (ret) {
		free(pb);
		return ret;
	}
	*out = &pb->kb.base;
	return 0;
}
