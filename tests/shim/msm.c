/* SPDX-License-Identifier: MIT */
/*
 * The msm (Adreno) driver of the fake kernel, docs/kernels.md section 3.
 *
 * What makes msm different: the VM is created lazily by the first call that
 * needs it and fixes the fd's mode (so EN_VM_BIND must come first), every
 * VM_BIND is asynchronous on a special queue, a single op travels inline in
 * the ioctl struct and op_stride is ignored, and a failed job poisons the
 * fd (EPIPE) while its fence still signals without an error.
 *
 * Switches for conditions a CI machine cannot produce (read at every use):
 * GPUVA_SHIM_MSM_NO_GPU=1 (the device has no GPU: ENXIO), and
 * GPUVA_SHIM_MSM_NO_PPGTT=1 (no per-process page tables: a VM created while
 * it is set is the GPU-global one), GPUVA_SHIM_MSM_VM_ENOMEM=1 (the fd's VM
 * cannot be created: ENOMEM, and the fd stays without one).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shim-private.h"

#define MSM_VA_START	0x100000000ull
#define MSM_VA_SIZE	0xffff00000000ull
#define MSM_PRIORITIES	3
/* The kernel sizes one allocation by nr_ops; past kmalloc's limit: ENOMEM. */
#define MSM_MAX_OPS	((4u << 20) / 48)

static bool
msm_has_prr(void)
{
	const char *env = getenv("GPUVA_SHIM_MSM_PRR");

	return !env || strcmp(env, "0") != 0;
}

void
shim_msm_file_init(struct shim_file *file)
{
	/* every fd starts with the normal queue 0 */
	file->queues[0] = (struct shim_msm_queue){ .id = 0, .vm_bind = false, .open = true };
	file->next_queue_id = 1;
}

static bool
msm_no_gpu(void)
{
	return shim_env_flag("GPUVA_SHIM_MSM_NO_GPU");
}

/* The first VM-needing call fixes the fd's mode for good (docs/kernels.md 3.1). */
static struct shim_vm *
msm_vm(struct shim_file *file)
{
	if (!file->msm_vm_created) {
		if (shim_env_flag("GPUVA_SHIM_MSM_VM_ENOMEM")) {
			return NULL;
		}
		file->vm = shim_vm_new(0, MSM_VA_START, MSM_VA_START + MSM_VA_SIZE);
		if (!file->vm) {
			return NULL;
		}
		file->msm_vm_created = true;
		file->msm_vm_global = shim_env_flag("GPUVA_SHIM_MSM_NO_PPGTT");
	}
	return file->vm;
}

static int
msm_get_param(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_msm_param *args = data;

	(void)user_size;
	if (args->pipe != SHIM_MSM_PIPE_3D0 || args->pad) {
		return -EINVAL;
	}
	/* even a GET_PARAM that fails below has created the VM */
	if (!msm_vm(file)) {
		return -ENOMEM;
	}
	if (args->len) {
		return -EINVAL;
	}
	switch (args->param) {
	case SHIM_MSM_PARAM_GPU_ID:
		args->value = 0;	/* a7xx report by CHIP_ID only */
		return 0;
	case SHIM_MSM_PARAM_GMEM_SIZE:
		args->value = 0x300000;
		return 0;
	case SHIM_MSM_PARAM_CHIP_ID:
		args->value = 0x43050a01;
		return 0;
	case SHIM_MSM_PARAM_MAX_FREQ:
		args->value = 900000000;
		return 0;
	case SHIM_MSM_PARAM_TIMESTAMP: {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		args->value = (uint64_t)ts.tv_sec * 19200000 + (uint64_t)ts.tv_nsec / 52;
		return 0;
	}
	case SHIM_MSM_PARAM_GMEM_BASE:
		args->value = 0x100000;
		return 0;
	case SHIM_MSM_PARAM_PRIORITIES:
		args->value = MSM_PRIORITIES;
		return 0;
	case SHIM_MSM_PARAM_FAULTS:
	case SHIM_MSM_PARAM_SUSPENDS:
		args->value = 0;
		return 0;
	case SHIM_MSM_PARAM_VA_START:
	case SHIM_MSM_PARAM_VA_SIZE:
		/* the global VM has no userspace range to report */
		if (file->msm_vm_global) {
			return -EINVAL;
		}
		args->value = args->param == SHIM_MSM_PARAM_VA_START ? MSM_VA_START : MSM_VA_SIZE;
		return 0;
	case SHIM_MSM_PARAM_HAS_PRR:
		args->value = msm_has_prr();
		return 0;
	case SHIM_MSM_PARAM_EN_VM_BIND:
		args->value = file->msm_vm_bind_mode;
		return 0;
	default:
		return -EINVAL;
	}
}

static int
msm_set_param(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_msm_param *args = data;

	(void)user_size;
	if (args->pipe != SHIM_MSM_PIPE_3D0 || args->pad) {
		return -EINVAL;
	}
	if (msm_no_gpu()) {
		return -ENXIO;
	}
	switch (args->param) {
	case SHIM_MSM_PARAM_EN_VM_BIND:
		if (args->len) {
			return -EINVAL;
		}
		/* VM_BIND needs per-process page tables; then the mode is fixed */
		if (file->msm_vm_created) {
			return file->msm_vm_global ? -EINVAL : -EBUSY;
		}
		/* only recorded: the VM comes with the next VM-creating call */
		file->msm_vm_bind_mode = args->value != 0;
		return 0;
	case 0x0c:	/* COMM */
	case 0x0d:	/* CMDLINE: names for crash dumps, nothing to model */
		return 0;
	default:
		return -EINVAL;
	}
}

static int
msm_gem_new(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_msm_gem_new *args = data;
	uint32_t valid = SHIM_MSM_BO_SCANOUT | SHIM_MSM_BO_GPU_READONLY | SHIM_MSM_BO_NO_SHARE |
			 SHIM_MSM_BO_CACHE_MASK;

	(void)user_size;
	if (args->flags & ~valid) {
		return -EINVAL;
	}
	uint64_t size = (args->size + SHIM_PAGE_SIZE - 1) & ~(SHIM_PAGE_SIZE - 1);

	if (size == 0) {
		return -EINVAL;
	}
	uint32_t cache = args->flags & SHIM_MSM_BO_CACHE_MASK;

	/* exactly one mode; UNCACHED's promotion to WC never takes effect */
	if (cache != SHIM_MSM_BO_CACHED && cache != SHIM_MSM_BO_WC && cache != SHIM_MSM_BO_CACHED_COHERENT) {
		return -EINVAL;
	}
	/*
	 * merged kernels oops without a VM; the fake answers with the safe
	 * EINVAL, as the later fix does for the GPU-global VM
	 */
	if ((args->flags & SHIM_MSM_BO_NO_SHARE) && (!file->msm_vm_created || file->msm_vm_global)) {
		return -EINVAL;
	}
	struct shim_bo *bo = shim_bo_new(file, size);

	if (!bo) {
		return -ENOMEM;
	}
	bo->flags = args->flags;
	args->handle = bo->handle;
	return 0;
}

static int
msm_gem_info(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_msm_gem_info *args = data;

	(void)user_size;
	if (args->pad) {
		return -EINVAL;
	}
	switch (args->info) {
	case SHIM_MSM_INFO_GET_OFFSET:
	case SHIM_MSM_INFO_GET_IOVA:
	case SHIM_MSM_INFO_SET_IOVA:
		if (args->len) {
			return -EINVAL;
		}
		break;
	default:
		return -EINVAL;
	}
	struct shim_bo *bo = shim_bo_get(file, args->handle);

	if (!bo) {
		return -ENOENT;
	}
	if (args->info == SHIM_MSM_INFO_GET_OFFSET) {
		args->value = bo->mmap_offset;
		return 0;
	}
	msm_vm(file);
	/* kernel-chosen iovas do not exist with a userspace-managed VM */
	return file->msm_vm_bind_mode ? -EINVAL : -EOPNOTSUPP;
}

static int
msm_submitqueue_new(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_msm_submitqueue *args = data;

	(void)user_size;
	if (args->flags & ~(SHIM_MSM_SUBMITQUEUE_ALLOW_PREEMPT | SHIM_MSM_SUBMITQUEUE_VM_BIND)) {
		return -EINVAL;
	}
	if (args->flags & SHIM_MSM_SUBMITQUEUE_VM_BIND) {
		/* the mode is checked before anything is created: a refused
		 * queue leaves the fd undecided (docs/kernels.md 3.1) */
		if (!file->msm_vm_bind_mode || args->prio != 0) {
			return -EINVAL;
		}
		msm_vm(file);
	} else if (args->prio >= MSM_PRIORITIES) {
		return -EINVAL;
	}
	for (size_t i = 0; i < SHIM_MSM_MAX_QUEUES; i++) {
		if (!file->queues[i].open) {
			file->queues[i] = (struct shim_msm_queue){
				.id = file->next_queue_id++,
				.vm_bind = (args->flags & SHIM_MSM_SUBMITQUEUE_VM_BIND) != 0,
				.open = true,
			};
			args->id = file->queues[i].id;
			return 0;
		}
	}
	return -ENOMEM;
}

static struct shim_msm_queue *
msm_queue(struct shim_file *file, uint32_t id)
{
	for (size_t i = 0; i < SHIM_MSM_MAX_QUEUES; i++) {
		if (file->queues[i].open && file->queues[i].id == id) {
			return &file->queues[i];
		}
	}
	return NULL;
}

static int
msm_submitqueue_close(struct shim_file *file, void *data, unsigned user_size)
{
	uint32_t id = *(uint32_t *)data;

	(void)user_size;
	struct shim_msm_queue *q = id ? msm_queue(file, id) : NULL;

	if (!q) {
		return -ENOENT;	/* queue 0 cannot be closed either */
	}
	q->open = false;
	return 0;
}

struct msm_submit_blob {
	uint64_t words[9];
};
static_assert(sizeof(struct msm_submit_blob) == 72, "drm_msm_gem_submit");

/* Command submission is not emulated; only the poisoning is visible. */
static int
msm_gem_submit(struct shim_file *file, void *data, unsigned user_size)
{
	(void)data;
	(void)user_size;
	struct shim_vm *vm = msm_vm(file);

	if (vm && vm->unusable) {
		return -EPIPE;
	}
	return -EOPNOTSUPP;
}

/* ---- VM_BIND ---- */

struct msm_out_sync {
	struct shim_syncobj *obj;
	uint64_t point;
};

static int
msm_check_op(const struct shim_vm *vm, const struct shim_msm_vm_bind_op *op)
{
	if (op->flags & ~SHIM_MSM_VM_BIND_OP_DUMP) {
		return -EINVAL;
	}
	if (!shim_page_aligned(op->iova) || !shim_page_aligned(op->obj_offset) || !shim_page_aligned(op->range)) {
		return -EINVAL;
	}
	if (op->iova + op->range < op->iova || op->iova < vm->start || op->iova + op->range > vm->end) {
		return -EINVAL;
	}
	if (op->op == SHIM_MSM_VM_BIND_OP_MAP && op->handle == 0) {
		return -EINVAL;
	}
	if (op->op != SHIM_MSM_VM_BIND_OP_MAP && op->handle != 0) {
		return -EINVAL;
	}
	if (op->op > SHIM_MSM_VM_BIND_OP_MAP_NULL) {
		return -EINVAL;
	}
	if (op->op == SHIM_MSM_VM_BIND_OP_MAP_NULL && !msm_has_prr()) {
		return -EINVAL;
	}
	return 0;
}

static void
msm_run(struct shim_job *job)
{
	struct shim_msm_vm_bind_op *ops = job->ops;
	struct shim_vm *vm = job->vm;

	if (job->fail) {
		vm->unusable = true;
	}
	for (size_t i = 0; i < job->nops; i++) {
		const struct shim_msm_vm_bind_op *op = &ops[i];

		shim_pages_unmap(vm, op->iova, op->range);
		/* a failed or poisoned job still runs its unmaps, nothing else */
		if (vm->unusable || op->op == SHIM_MSM_VM_BIND_OP_UNMAP) {
			continue;
		}
		struct gpuva_shim_page p = {
			.kind = op->op == SHIM_MSM_VM_BIND_OP_MAP ? GPUVA_SHIM_PAGE_BO : GPUVA_SHIM_PAGE_NULL,
			.handle = op->handle,
			.bo_offset = op->obj_offset,
			.flags = op->flags,
		};

		shim_pages_map(vm, op->iova, op->range, &p);
	}
	/* the fence cannot tell failure from success (docs/kernels.md 3.5) */
	job->done->error = 0;
}

/*
 * VM_BIND from the job allocation on, after the whole-ioctl checks up to the
 * out-fence fd reservation (docs/kernels.md 3.4): @out_fd is a reserved fd for
 * the out fence (or -1), which the caller gives back when this fails.
 */
static int
msm_vm_bind_job(struct shim_file *file, struct shim_vm *vm, struct shim_msm_vm_bind *args, int out_fd)
{
	if (args->nr_ops > MSM_MAX_OPS) {
		return -ENOMEM;
	}
	/* the queue lock is taken interruptibly */
	int ret = -shim_inject_eintr();

	if (ret) {
		return ret;
	}

	struct shim_job *job = shim_job_new(file, vm, msm_run);
	struct msm_out_sync *outs = calloc(args->nr_out_syncobjs + 1, sizeof(*outs));
	struct shim_syncobj **resets = calloc(args->nr_in_syncobjs + 1, sizeof(*resets));
	struct shim_msm_vm_bind_op *ops = calloc(args->nr_ops + 1, sizeof(*ops));
	size_t nouts = 0, nresets = 0;

	ret = job && outs && resets && ops ? 0 : -ENOMEM;
	size_t stride = args->syncobj_stride < sizeof(struct shim_msm_syncobj) ?
			args->syncobj_stride : sizeof(struct shim_msm_syncobj);

	if (ret) {
		goto out;
	}
	if (args->flags & SHIM_MSM_VM_BIND_FENCE_FD_IN) {
		struct shim_fence *f = shim_sync_file_fence(args->fence_fd);

		if (!f) {
			ret = -EINVAL;
			goto out;
		}
		ret = shim_job_add_wait(job, f);
		shim_fence_unref(f);
		if (ret) {
			goto out;
		}
	}
	for (uint32_t i = 0; args->in_syncobjs && i < args->nr_in_syncobjs; i++) {
		struct shim_msm_syncobj s = { 0 };
		struct shim_fence *f;

		ret = shim_copy_in(&s, args->in_syncobjs + (uint64_t)i * args->syncobj_stride, stride);
		if (ret) {
			goto out;
		}
		if (s.point && !shim_has_timeline()) {
			ret = -EOPNOTSUPP;
			goto out;
		}
		if (s.flags & ~SHIM_MSM_SYNCOBJ_RESET) {
			ret = -EINVAL;
			goto out;
		}
		/* the kernel helper takes a 32-bit point (docs/kernels.md 3.2) */
		ret = shim_syncobj_find_fence(file, s.handle, (uint32_t)s.point, &f);
		if (ret) {
			goto out;
		}
		ret = shim_job_add_wait(job, f);
		shim_fence_unref(f);
		if (ret) {
			goto out;
		}
		if (s.flags & SHIM_MSM_SYNCOBJ_RESET) {
			resets[nresets++] = shim_syncobj_get(file, s.handle);
		}
	}
	for (uint32_t i = 0; args->out_syncobjs && i < args->nr_out_syncobjs; i++) {
		struct shim_msm_syncobj s = { 0 };

		ret = shim_copy_in(&s, args->out_syncobjs + (uint64_t)i * args->syncobj_stride, stride);
		if (ret) {
			goto out;
		}
		if (s.flags) {
			ret = -EINVAL;
			goto out;
		}
		outs[nouts].obj = shim_syncobj_get(file, s.handle);
		if (!outs[nouts].obj) {
			ret = -EINVAL;
			goto out;
		}
		outs[nouts++].point = s.point;
	}

	/* first pass: each op alone; one op is inline, more use a fixed stride */
	for (uint32_t i = 0; i < args->nr_ops; i++) {
		if (args->nr_ops == 1) {
			ops[i] = args->op;
		} else {
			ret = shim_copy_in(&ops[i], args->ops + (uint64_t)i * sizeof(ops[i]), sizeof(ops[i]));
			if (ret) {
				goto out;
			}
		}
		ret = msm_check_op(vm, &ops[i]);
		if (ret) {
			goto out;
		}
	}
	/* second pass: the BOs */
	for (uint32_t i = 0; i < args->nr_ops; i++) {
		if (!ops[i].handle) {
			continue;
		}
		struct shim_bo *bo = shim_bo_get(file, ops[i].handle);

		if (!bo || ops[i].range > bo->size || ops[i].obj_offset > bo->size - ops[i].range) {
			ret = -EINVAL;
			goto out;
		}
	}

	/*
	 * an injected lock/pin/prepare failure: past the first op, that op was
	 * already applied to the VM tree, so the VM is poisoned
	 * (docs/kernels.md 3.4); the page tables never see the job
	 */
	uint32_t fail_op;

	ret = -shim_inject_bind(&fail_op);
	if (ret) {
		if (fail_op > 0 && fail_op < args->nr_ops) {
			vm->unusable = true;
		}
		goto out;
	}
	if (out_fd >= 0) {
		ret = shim_sync_file_install(out_fd, job->done);
		if (ret < 0) {
			goto out;
		}
		args->fence_fd = out_fd;
		ret = 0;
	}
	for (size_t i = 0; i < nouts; i++) {
		shim_syncobj_install(outs[i].obj, outs[i].point, job->done);
	}
	for (size_t i = 0; i < nresets; i++) {
		shim_syncobj_reset(resets[i]);
	}
	job->fail = shim_inject_job();
	job->ops = ops;
	job->nops = args->nr_ops;
	ops = NULL;
	shim_job_submit(job);
	job = NULL;
out:
	if (job) {
		job->ops = ops;
		ops = NULL;
		shim_job_abort(job);
	}
	free(ops);
	free(outs);
	free(resets);
	return ret;
}

static int
msm_vm_bind(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_msm_vm_bind *args = data;

	(void)user_size;
	if (msm_no_gpu()) {
		return -ENXIO;
	}
	struct shim_vm *vm = msm_vm(file);

	if (!vm) {
		return -ENOMEM;
	}
	if (vm->unusable) {
		return -EPIPE;
	}
	if (!file->msm_vm_bind_mode) {
		return -EINVAL;
	}
	if (args->flags & ~(SHIM_MSM_VM_BIND_FENCE_FD_IN | SHIM_MSM_VM_BIND_FENCE_FD_OUT)) {
		return -EINVAL;
	}
	struct shim_msm_queue *q = msm_queue(file, args->queue_id);

	if (!q) {
		return -ENOENT;
	}
	if (!q->vm_bind) {
		return -EINVAL;
	}
	/* get_unused_fd_flags() comes before everything that can fail below */
	int out_fd = -1;

	if (args->flags & SHIM_MSM_VM_BIND_FENCE_FD_OUT) {
		out_fd = shim_fd_reserve();
		if (out_fd < 0) {
			return out_fd;
		}
	}
	int ret = msm_vm_bind_job(file, vm, args, out_fd);

	if (ret && out_fd >= 0) {
		shim_fd_unreserve(out_fd);
	}
	return ret;
}

static const struct shim_ioctl_desc msm_ioctls[] = {
	SHIM_IOCTL_DEF(SHIM_NR_MSM_GET_PARAM, struct shim_msm_param, SHIM_IOC_RW, msm_get_param),
	SHIM_IOCTL_DEF(SHIM_NR_MSM_SET_PARAM, struct shim_msm_param, SHIM_IOC_W, msm_set_param),
	SHIM_IOCTL_DEF(SHIM_NR_MSM_GEM_NEW, struct shim_msm_gem_new, SHIM_IOC_RW, msm_gem_new),
	SHIM_IOCTL_DEF(SHIM_NR_MSM_GEM_INFO, struct shim_msm_gem_info, SHIM_IOC_RW, msm_gem_info),
	SHIM_IOCTL_DEF(SHIM_NR_MSM_GEM_SUBMIT, struct msm_submit_blob, SHIM_IOC_RW, msm_gem_submit),
	SHIM_IOCTL_DEF(SHIM_NR_MSM_SUBMITQUEUE_NEW, struct shim_msm_submitqueue, SHIM_IOC_RW,
		       msm_submitqueue_new),
	SHIM_IOCTL_DEF(SHIM_NR_MSM_SUBMITQUEUE_CLOSE, uint32_t, SHIM_IOC_W, msm_submitqueue_close),
	SHIM_IOCTL_DEF(SHIM_NR_MSM_VM_BIND, struct shim_msm_vm_bind, SHIM_IOC_RW, msm_vm_bind),
};

const struct shim_ioctl_table shim_msm_ioctls = {
	msm_ioctls, SHIM_ARRAY_SIZE(msm_ioctls)
};
