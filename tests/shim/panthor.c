/* SPDX-License-Identifier: MIT */
/*
 * The panthor (Mali CSF) driver of the fake kernel, docs/kernels.md section 4.
 *
 * What makes panthor different: up to 32 explicit VMs per fd whose
 * userspace part is rounded by VM_CREATE, a synchronous mode that stops at
 * the first failing op (earlier ops stay applied, the index goes back in
 * ops.count), an asynchronous mode where each op is its own job with its own
 * syncs, and VMs that become unusable when an async job fails.
 *
 * Where kernels differ the fake follows 6.12.117 (docs/kernels.md 4.4):
 * bo_offset must be aligned and every op must stay below user_va_range at
 * ioctl time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shim-private.h"

#define PANTHOR_VA_BITS	48
#define MiB		(1ull << 20)
#define GiB		(1ull << 30)

static struct shim_vm *
panthor_vm(struct shim_file *file, uint32_t id)
{
	return id >= 1 && id <= SHIM_PANTHOR_MAX_VMS ? file->vms[id] : NULL;
}

/*
 * Copies a drm_panthor_obj_array of @count elements of @size bytes: a larger
 * stride is fine if the extra bytes are zero (E2BIG otherwise), a smaller
 * one is EINVAL. *out stays NULL for an empty array.
 */
static int
copy_obj_array(const struct shim_panthor_obj_array *a, size_t size, void **out)
{
	*out = NULL;
	if (a->count == 0) {
		return 0;
	}
	if (a->stride < size) {
		return -EINVAL;
	}
	uint8_t *buf = calloc(a->count, size);

	if (!buf) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < a->count; i++) {
		uint64_t src = a->array + (uint64_t)i * a->stride;
		int ret = 0;

		for (uint64_t off = size; ret == 0 && off < a->stride; off++) {
			uint8_t byte;

			ret = shim_copy_in(&byte, src + off, 1);
			if (ret == 0 && byte) {
				ret = -E2BIG;
			}
		}
		if (ret == 0) {
			ret = shim_copy_in(buf + i * size, src, size);
		}
		if (ret) {
			free(buf);
			return ret;
		}
	}
	*out = buf;
	return 0;
}

/* ---- queries, VMs, BOs ---- */

static int
panthor_dev_query(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_panthor_dev_query *args = data;
	struct shim_panthor_gpu_info gpu = {
		.gpu_id = 0xa8670000,	/* Mali-G610 */
		.csf_id = 0x40a0412,
		.l2_features = 0x7120306,
		.mem_features = 0x301,
		.mmu_features = 0x2800 | PANTHOR_VA_BITS,
		.thread_features = 0x4010000,
		.max_threads = 2048,
		.thread_max_workgroup_size = 1024,
		.thread_max_barrier_size = 1024,
		.coherency_features = 0x1,
		.as_present = 0xff,
		.shader_present = 0x50005,
		.l2_present = 1,
		.tiler_present = 1,
		.core_features = 0x2,
	};
	struct shim_panthor_csif_info csif = { 8, 8, 96, 8, 0, 0 };
	const void *obj;
	uint32_t obj_size, min_size;

	(void)file;
	(void)user_size;
	switch (args->type) {
	case SHIM_PANTHOR_DEV_QUERY_GPU_INFO:
		obj = &gpu;
		obj_size = sizeof(gpu);
		min_size = SHIM_PANTHOR_GPU_INFO_MIN_SIZE;
		break;
	case SHIM_PANTHOR_DEV_QUERY_CSIF_INFO:
		obj = &csif;
		obj_size = min_size = sizeof(csif);
		break;
	default:
		return -EINVAL;
	}
	if (!args->pointer) {
		args->size = obj_size;
		return 0;
	}
	if (args->size < min_size) {
		return -EINVAL;
	}
	uint32_t n = args->size < obj_size ? args->size : obj_size;
	int ret = shim_copy_out(args->pointer, obj, n);

	/* a newer userspace's extra bytes are cleared */
	if (ret == 0 && args->size > obj_size) {
		void *zeros = calloc(1, args->size - obj_size);

		ret = zeros ? shim_copy_out(args->pointer + obj_size, zeros, args->size - obj_size) : -ENOMEM;
		free(zeros);
	}
	return ret;
}

static uint64_t
rounddown_pow2(uint64_t v)
{
	uint64_t p = 1;

	while (p <= v / 2) {
		p *= 2;
	}
	return p;
}

static int
panthor_vm_create(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_panthor_vm_create *args = data;
	uint64_t full = 1ull << PANTHOR_VA_BITS;
	/* the caller's TASK_SIZE: x86_64, or a compat/32-bit task */
	uint64_t task_size = sizeof(void *) == 8 ? 0x7ffffffff000ull : 0xffffe000ull;

	(void)user_size;
	if (args->flags) {
		return -EINVAL;
	}
	/* the kernel keeps at least 256 MiB for itself */
	if (full < 256 * MiB || args->user_va_range > full - 256 * MiB) {
		return -EINVAL;
	}
	uint64_t range = args->user_va_range;

	if (range == 0) {
		if (task_size < full) {
			range = task_size;
		} else {
			range = full / 2 > 4 * GiB ? full / 2 : full - 256 * MiB;
		}
	}
	uint32_t id = 0;

	for (uint32_t i = 1; i <= SHIM_PANTHOR_MAX_VMS && !id; i++) {
		if (!file->vms[i]) {
			id = i;
		}
	}
	if (!id) {
		return -EBUSY;
	}
	uint64_t kernel_start = full - rounddown_pow2(full - range);
	struct shim_vm *vm = shim_vm_new(id, 0, kernel_start);

	if (!vm) {
		return -ENOMEM;
	}
	file->vms[id] = vm;
	args->id = id;
	args->user_va_range = kernel_start;
	return 0;
}

static int
panthor_vm_destroy(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_panthor_vm_destroy *args = data;
	struct shim_vm *vm = panthor_vm(file, args->id);

	(void)user_size;
	if (!vm || args->pad) {
		return -EINVAL;
	}
	file->vms[args->id] = NULL;
	shim_vm_free(vm);
	return 0;
}

static int
panthor_vm_get_state(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_panthor_vm_get_state *args = data;
	struct shim_vm *vm = panthor_vm(file, args->vm_id);

	(void)user_size;
	if (!vm) {
		return -EINVAL;
	}
	args->state = vm->unusable ? SHIM_PANTHOR_VM_STATE_UNUSABLE : SHIM_PANTHOR_VM_STATE_USABLE;
	return 0;
}

static int
panthor_bo_create(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_panthor_bo_create *args = data;

	(void)user_size;
	if (!args->size || args->pad || (args->flags & ~SHIM_PANTHOR_BO_NO_MMAP)) {
		return -EINVAL;
	}
	if (args->exclusive_vm_id && !panthor_vm(file, args->exclusive_vm_id)) {
		return -EINVAL;
	}
	uint64_t size = (args->size + SHIM_PAGE_SIZE - 1) & ~(SHIM_PAGE_SIZE - 1);

	if (size == 0) {
		return -ENOMEM;
	}
	struct shim_bo *bo = shim_bo_new(file, size);

	if (!bo) {
		return -ENOMEM;
	}
	bo->flags = args->flags;
	bo->exclusive_vm = args->exclusive_vm_id;
	args->size = size;
	args->handle = bo->handle;
	return 0;
}

static int
panthor_bo_mmap_offset(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_panthor_bo_mmap_offset *args = data;

	(void)user_size;
	if (args->pad) {
		return -EINVAL;
	}
	struct shim_bo *bo = shim_bo_get(file, args->handle);

	if (!bo) {
		return -ENOENT;
	}
	if (bo->flags & SHIM_PANTHOR_BO_NO_MMAP) {
		return -EPERM;
	}
	args->offset = bo->mmap_offset;
	return 0;
}

/* ---- VM_BIND ---- */

/* docs/kernels.md 4.4, in order; the unusable test applies to async binds only. */
static int
check_op(struct shim_file *file, const struct shim_vm *vm, const struct shim_panthor_vm_bind_op *op, bool async)
{
	uint32_t type = op->flags & SHIM_PANTHOR_VM_BIND_OP_TYPE_MASK;
	uint32_t extra = op->flags & ~SHIM_PANTHOR_VM_BIND_OP_TYPE_MASK;

	if (async && vm->unusable) {
		return -EINVAL;
	}
	if (!shim_page_aligned(op->va) || !shim_page_aligned(op->size) || !shim_page_aligned(op->bo_offset)) {
		return -EINVAL;
	}
	/* 6.12.117: the whole range below user_va_range, overflow-safe */
	if (op->va >= vm->end || op->size > vm->end - op->va) {
		return -EINVAL;
	}
	switch (type) {
	case SHIM_PANTHOR_VM_BIND_OP_TYPE_MAP: {
		uint32_t map_flags = SHIM_PANTHOR_VM_BIND_OP_MAP_READONLY | SHIM_PANTHOR_VM_BIND_OP_MAP_NOEXEC |
				     SHIM_PANTHOR_VM_BIND_OP_MAP_UNCACHED;

		if (extra & ~map_flags) {
			return -EINVAL;
		}
		struct shim_bo *bo = shim_bo_get(file, op->bo_handle);

		if (!bo || op->size > bo->size || op->bo_offset > bo->size - op->size) {
			return -EINVAL;
		}
		if (bo->exclusive_vm && bo->exclusive_vm != vm->id) {
			return -EINVAL;
		}
		return 0;
	}
	case SHIM_PANTHOR_VM_BIND_OP_TYPE_UNMAP:
		return extra || op->bo_handle || op->bo_offset ? -EINVAL : 0;
	case SHIM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY:
		if (extra || op->bo_handle || op->bo_offset || op->va || op->size || op->syncs.count == 0) {
			return -EINVAL;
		}
		return 0;
	default:
		return -EINVAL;
	}
}

static void
apply_op(struct shim_vm *vm, const struct shim_panthor_vm_bind_op *op)
{
	switch (op->flags & SHIM_PANTHOR_VM_BIND_OP_TYPE_MASK) {
	case SHIM_PANTHOR_VM_BIND_OP_TYPE_MAP: {
		struct gpuva_shim_page p = {
			.kind = GPUVA_SHIM_PAGE_BO,
			.handle = op->bo_handle,
			.bo_offset = op->bo_offset,
			.flags = op->flags & ~SHIM_PANTHOR_VM_BIND_OP_TYPE_MASK,
		};

		shim_pages_map(vm, op->va, op->size, &p);
		break;
	}
	case SHIM_PANTHOR_VM_BIND_OP_TYPE_UNMAP:
		shim_pages_unmap(vm, op->va, op->size);
		break;
	default:
		break;
	}
}

static int
bind_sync(struct shim_file *file, struct shim_vm *vm, struct shim_panthor_vm_bind *args,
	  const struct shim_panthor_vm_bind_op *ops)
{
	uint32_t fail_op;
	int fail = shim_inject_bind(&fail_op);

	if (fail && args->ops.count == 0) {
		return -fail;
	}
	if (fail && fail_op >= args->ops.count) {
		fail_op = args->ops.count - 1;
	}
	for (uint32_t i = 0; i < args->ops.count; i++) {
		const struct shim_panthor_vm_bind_op *op = &ops[i];
		int ret = 0;

		if (op->syncs.count) {
			ret = -EINVAL;
		} else if (fail && i == fail_op) {
			ret = -fail;
		} else if (op->size == 0) {
			continue;	/* skipped unchecked (docs/kernels.md 4.3) */
		} else {
			ret = check_op(file, vm, op, false);
		}
		if (ret == 0 && vm->unusable &&
		    (op->flags & SHIM_PANTHOR_VM_BIND_OP_TYPE_MASK) == SHIM_PANTHOR_VM_BIND_OP_TYPE_MAP) {
			ret = -EINVAL;
		}
		if (ret) {
			/* earlier ops stay applied; the index goes back to userspace */
			args->ops.count = i;
			return ret;
		}
		apply_op(vm, op);
	}
	return 0;
}

static void
panthor_run(struct shim_job *job)
{
	const struct shim_panthor_vm_bind_op *op = job->ops;
	bool is_map = (op->flags & SHIM_PANTHOR_VM_BIND_OP_TYPE_MASK) == SHIM_PANTHOR_VM_BIND_OP_TYPE_MAP;

	if (job->fail) {
		job->vm->unusable = true;
		job->done->error = -job->fail;
		return;
	}
	if (job->vm->unusable && is_map) {
		job->done->error = -EINVAL;
		return;
	}
	apply_op(job->vm, op);
}

static bool
sync_is_signal(const struct shim_panthor_sync_op *s)
{
	return (s->flags & SHIM_PANTHOR_SYNC_OP_SIGNAL) != 0;
}

static uint64_t
sync_point(const struct shim_panthor_sync_op *s)
{
	return (s->flags & SHIM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK) == SHIM_PANTHOR_SYNC_OP_TIMELINE_SYNCOBJ ?
	       s->timeline_value : 0;
}

/* Whether an op before @op signals exactly (handle, point) in this ioctl. */
static int
earlier_signal(struct shim_panthor_sync_op **syncs, const struct shim_panthor_vm_bind_op *ops, uint32_t op,
	       const struct shim_panthor_sync_op *wait)
{
	for (uint32_t j = op; j-- > 0;) {
		for (uint32_t k = 0; k < ops[j].syncs.count; k++) {
			const struct shim_panthor_sync_op *s = &syncs[j][k];

			if (sync_is_signal(s) && s->handle == wait->handle && sync_point(s) == sync_point(wait)) {
				return (int)j;
			}
		}
	}
	return -1;
}

static int
bind_async(struct shim_file *file, struct shim_vm *vm, const struct shim_panthor_vm_bind *args,
	   struct shim_panthor_vm_bind_op *ops)
{
	uint32_t n = args->ops.count;
	struct shim_panthor_sync_op **syncs = calloc(n + 1, sizeof(*syncs));
	struct shim_job **jobs = calloc(n + 1, sizeof(*jobs));
	int ret = syncs && jobs ? 0 : -ENOMEM;

	/* op by op: the op, then its sync array */
	for (uint32_t i = 0; ret == 0 && i < n; i++) {
		ret = check_op(file, vm, &ops[i], true);
		if (ret == 0) {
			ret = copy_obj_array(&ops[i].syncs, sizeof(struct shim_panthor_sync_op), (void **)&syncs[i]);
		}
		for (uint32_t k = 0; ret == 0 && k < ops[i].syncs.count; k++) {
			const struct shim_panthor_sync_op *s = &syncs[i][k];
			uint32_t type = s->flags & SHIM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK;

			if ((s->flags & ~(SHIM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK | SHIM_PANTHOR_SYNC_OP_SIGNAL)) ||
			    type > SHIM_PANTHOR_SYNC_OP_TIMELINE_SYNCOBJ ||
			    (type == SHIM_PANTHOR_SYNC_OP_SYNCOBJ && s->timeline_value)) {
				ret = -EINVAL;
			}
		}
	}
	/* then every signal sync, then every wait sync */
	for (uint32_t i = 0; ret == 0 && i < n; i++) {
		for (uint32_t k = 0; ret == 0 && k < ops[i].syncs.count; k++) {
			if (sync_is_signal(&syncs[i][k]) && !shim_syncobj_get(file, syncs[i][k].handle)) {
				ret = -EINVAL;
			}
		}
	}
	for (uint32_t i = 0; ret == 0 && i < n; i++) {
		for (uint32_t k = 0; ret == 0 && k < ops[i].syncs.count; k++) {
			const struct shim_panthor_sync_op *s = &syncs[i][k];
			struct shim_fence *f;

			if (sync_is_signal(s) || earlier_signal(syncs, ops, i, s) >= 0) {
				continue;
			}
			ret = shim_syncobj_find_fence(file, s->handle, sync_point(s), &f);
			if (ret == 0) {
				shim_fence_unref(f);
			}
		}
	}
	if (ret == 0) {
		uint32_t unused;

		ret = -shim_inject_bind(&unused);
	}
	for (uint32_t i = 0; ret == 0 && i < n; i++) {
		jobs[i] = shim_job_new(file, vm, panthor_run);
		if (!jobs[i]) {
			ret = -ENOMEM;
		}
	}
	if (ret) {
		for (uint32_t i = 0; jobs && i < n; i++) {
			if (jobs[i]) {
				shim_job_abort(jobs[i]);
			}
		}
		goto out;
	}

	/* validated: nothing below fails in a way userspace could see */
	for (uint32_t i = 0; i < n; i++) {
		struct shim_job *job = jobs[i];

		for (uint32_t k = 0; k < ops[i].syncs.count; k++) {
			const struct shim_panthor_sync_op *s = &syncs[i][k];
			struct shim_fence *f = NULL;
			int j;

			if (sync_is_signal(s)) {
				continue;
			}
			j = earlier_signal(syncs, ops, i, s);
			if (j >= 0) {
				shim_job_add_wait(job, jobs[j]->done);
			} else if (shim_syncobj_find_fence(file, s->handle, sync_point(s), &f) == 0) {
				shim_job_add_wait(job, f);
				shim_fence_unref(f);
			}
		}
		for (uint32_t k = 0; k < ops[i].syncs.count; k++) {
			const struct shim_panthor_sync_op *s = &syncs[i][k];

			if (sync_is_signal(s)) {
				shim_syncobj_install(shim_syncobj_get(file, s->handle), sync_point(s), job->done);
			}
		}
		job->ops = malloc(sizeof(ops[i]));
		if (job->ops) {
			memcpy(job->ops, &ops[i], sizeof(ops[i]));
		}
		job->nops = 1;
		job->fail = shim_inject_job();
	}
	for (uint32_t i = 0; i < n; i++) {
		if (jobs[i]->ops) {
			shim_job_submit(jobs[i]);
		} else {
			shim_job_abort(jobs[i]);
		}
	}
out:
	for (uint32_t i = 0; syncs && i < n; i++) {
		free(syncs[i]);
	}
	free(syncs);
	free(jobs);
	return ret;
}

static int
panthor_vm_bind(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_panthor_vm_bind *args = data;
	struct shim_vm *vm = panthor_vm(file, args->vm_id);
	struct shim_panthor_vm_bind_op *ops;

	(void)user_size;
	if (!vm) {
		return -EINVAL;
	}
	int ret = copy_obj_array(&args->ops, sizeof(*ops), (void **)&ops);

	if (ret) {
		return ret;
	}
	if (args->flags & SHIM_PANTHOR_VM_BIND_ASYNC) {
		ret = bind_async(file, vm, args, ops);
	} else {
		ret = bind_sync(file, vm, args, ops);
	}
	free(ops);
	return ret;
}

static const struct shim_ioctl_desc panthor_ioctls[] = {
	SHIM_IOCTL_DEF(SHIM_NR_PANTHOR_DEV_QUERY, struct shim_panthor_dev_query, SHIM_IOC_RW, panthor_dev_query),
	SHIM_IOCTL_DEF(SHIM_NR_PANTHOR_VM_CREATE, struct shim_panthor_vm_create, SHIM_IOC_RW, panthor_vm_create),
	SHIM_IOCTL_DEF(SHIM_NR_PANTHOR_VM_DESTROY, struct shim_panthor_vm_destroy, SHIM_IOC_RW,
		       panthor_vm_destroy),
	SHIM_IOCTL_DEF(SHIM_NR_PANTHOR_VM_BIND, struct shim_panthor_vm_bind, SHIM_IOC_RW, panthor_vm_bind),
	SHIM_IOCTL_DEF(SHIM_NR_PANTHOR_VM_GET_STATE, struct shim_panthor_vm_get_state, SHIM_IOC_RW,
		       panthor_vm_get_state),
	SHIM_IOCTL_DEF(SHIM_NR_PANTHOR_BO_CREATE, struct shim_panthor_bo_create, SHIM_IOC_RW, panthor_bo_create),
	SHIM_IOCTL_DEF(SHIM_NR_PANTHOR_BO_MMAP_OFFSET, struct shim_panthor_bo_mmap_offset, SHIM_IOC_RW,
		       panthor_bo_mmap_offset),
};

const struct shim_ioctl_table shim_panthor_ioctls = {
	panthor_ioctls, SHIM_ARRAY_SIZE(panthor_ioctls)
};
