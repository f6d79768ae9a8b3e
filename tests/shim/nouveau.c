/* SPDX-License-Identifier: MIT */
/*
 * The nouveau driver of the fake kernel, docs/kernels.md section 5.
 *
 * What makes nouveau different: VM_INIT switches the fd to a userspace VM
 * only if no BO came first, a 2^47 VA space with a kernel-managed hole,
 * sparse regions with their own placement rules, ENOENT for bad handles,
 * op codes 2 and 3 aliasing the sparse variants, and whole-ioctl atomicity:
 * every op is validated and applied to the region tree before anything is
 * queued, and any error leaves the VM as it was.
 *
 * Sparse regions live in a list next to the page record (a region may span
 * gigabytes; only real mappings take page entries). A region destroyed by
 * an op is "dying" until the job that destroys it has run: jobs normally
 * run inside the ioctl, but while gpuva_shim_hold() parks an async job the
 * region stays dying, a later UNMAP|SPARSE of it is ENOENT and a later MAP
 * or MAP|SPARSE over it sleeps until the job has run (docs/kernels.md 5.3).
 *
 * Within one ioctl the apply phase sees the earlier ops' effects, as the
 * kernel's VA tree does: a MAP partly over a region an earlier op made is
 * ENOSPC, and a MAP|SPARSE needs its range free of mappings once the ops
 * before it are applied. That check reads the page record, which lags the
 * kernel's tree while jobs are held: a region over pages a held job
 * unmaps is refused here, where the kernel would accept it.
 *
 * GPUVA_SHIM_EINTR_BIND=N: the N-th synchronous VM_BIND is woken by a
 * signal while it waits for its update: it still returns 0, but the update
 * may still be pending (it is, while the fd is held).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shim-private.h"

#define NV_VA_END	(1ull << 47)
#define NV_OP_SIZE	sizeof(struct shim_nouveau_vm_bind_op)
#define NV_SYNC_SIZE	sizeof(struct shim_nouveau_sync)

static int
nouveau_getparam(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_nouveau_getparam *args = data;

	(void)file;
	(void)user_size;
	switch (args->param) {
	case SHIM_NOUVEAU_GETPARAM_PCI_VENDOR:
		args->value = 0x10de;
		return 0;
	case SHIM_NOUVEAU_GETPARAM_PCI_DEVICE:
		args->value = 0x2684;
		return 0;
	case SHIM_NOUVEAU_GETPARAM_BUS_TYPE:
		args->value = 2;	/* PCIe */
		return 0;
	case SHIM_NOUVEAU_GETPARAM_FB_SIZE:
	case SHIM_NOUVEAU_GETPARAM_VRAM_BAR_SIZE:
		args->value = 24ull << 30;
		return 0;
	case SHIM_NOUVEAU_GETPARAM_CHIPSET_ID:
		args->value = 0x192;	/* AD102 */
		return 0;
	case SHIM_NOUVEAU_GETPARAM_GRAPH_UNITS:
		args->value = 0x0c0c0090;
		return 0;
	case SHIM_NOUVEAU_GETPARAM_PTIMER_TIME: {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		args->value = (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
		return 0;
	}
	case SHIM_NOUVEAU_GETPARAM_HAS_BO_USAGE:
	case SHIM_NOUVEAU_GETPARAM_HAS_PAGEFLIP:
	case SHIM_NOUVEAU_GETPARAM_HAS_VMA_TILEMODE:
		args->value = 1;
		return 0;
	case SHIM_NOUVEAU_GETPARAM_EXEC_PUSH_MAX:
		args->value = 1023;
		return 0;
	case SHIM_NOUVEAU_GETPARAM_VRAM_USED:
		args->value = 0;
		return 0;
	default:
		return -EINVAL;
	}
}

static int
nouveau_vm_init(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_nouveau_vm_init *args = data;
	uint64_t end = args->kernel_managed_addr + args->kernel_managed_size;

	(void)user_size;
	if (end < args->kernel_managed_addr || end > NV_VA_END) {
		return -EINVAL;
	}
	if (file->nv_state == SHIM_NOUVEAU_DISABLED) {
		return -ENOSYS;
	}
	struct shim_vm *vm = shim_vm_new(0, 0, NV_VA_END);

	if (!vm) {
		return -ENOMEM;
	}
	vm->kernel_addr = args->kernel_managed_addr;
	vm->kernel_size = args->kernel_managed_size;
	/* a second VM_INIT silently replaces the VM by an empty one (docs/kernels.md 5.1) */
	shim_vm_free(file->vm);
	file->vm = vm;
	file->nv_state = SHIM_NOUVEAU_VM_BIND;
	return 0;
}

static int
nouveau_gem_new(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_nouveau_gem_new *args = data;

	(void)user_size;
	/* the first step, even if the call then fails: VM_BIND is off for good */
	if (file->nv_state == SHIM_NOUVEAU_UNDECIDED) {
		file->nv_state = SHIM_NOUVEAU_DISABLED;
	}
	if ((args->info.domain & SHIM_NOUVEAU_GEM_DOMAIN_NO_SHARE) && file->nv_state != SHIM_NOUVEAU_VM_BIND) {
		return -EINVAL;
	}
	uint64_t size = (args->info.size + SHIM_PAGE_SIZE - 1) & ~(SHIM_PAGE_SIZE - 1);

	if (size == 0) {
		return -EINVAL;
	}
	struct shim_bo *bo = shim_bo_new(file, size);

	if (!bo) {
		return -ENOMEM;
	}
	bo->domain = args->info.domain;
	args->info.handle = bo->handle;
	args->info.size = size;
	/* no kernel VA with a userspace VM; legacy fds get a made-up one */
	args->info.offset = file->nv_state == SHIM_NOUVEAU_VM_BIND ? 0 : bo->mmap_offset;
	args->info.map_handle = bo->mmap_offset;
	return 0;
}

static int
nouveau_gem_info(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_nouveau_gem_info *args = data;
	struct shim_bo *bo = shim_bo_get(file, args->handle);

	(void)user_size;
	if (!bo) {
		return -ENOENT;
	}
	args->domain = bo->domain;
	args->size = bo->size;
	args->offset = file->nv_state == SHIM_NOUVEAU_VM_BIND ? 0 : bo->mmap_offset;
	args->map_handle = bo->mmap_offset;
	args->tile_mode = 0;
	args->tile_flags = 0;
	return 0;
}

struct nv_blob64 {
	uint64_t words[8];
};

struct nv_blob88 {
	uint64_t words[11];
};

/* The fake GPU has no engines: channel allocation finds none. */
static int
nouveau_channel_alloc(struct shim_file *file, void *data, unsigned user_size)
{
	(void)file;
	(void)data;
	(void)user_size;
	return -ENODEV;
}

static int
nouveau_pushbuf(struct shim_file *file, void *data, unsigned user_size)
{
	(void)data;
	(void)user_size;
	return file->nv_state == SHIM_NOUVEAU_VM_BIND ? -ENOSYS : -ENOENT;
}

static int
nouveau_exec(struct shim_file *file, void *data, unsigned user_size)
{
	(void)data;
	(void)user_size;
	return file->nv_state == SHIM_NOUVEAU_VM_BIND ? -ENOENT : -ENOSYS;
}

/* ---- VM_BIND ---- */

enum nv_kind {
	NV_MAP,
	NV_UNMAP,
	NV_SPARSE_MAP,
	NV_SPARSE_UNMAP,
	NV_BAD,		/* op >= 4: refused in the apply phase */
};

struct nv_op {
	enum nv_kind kind;
	uint32_t flags;
	uint32_t handle;
	uint64_t addr, range, bo_offset;
};

static enum nv_kind
nv_kind(const struct shim_nouveau_vm_bind_op *op)
{
	bool sparse = op->flags & SHIM_NOUVEAU_VM_BIND_SPARSE;

	switch (op->op) {
	case SHIM_NOUVEAU_VM_BIND_OP_MAP:
		return sparse ? NV_SPARSE_MAP : NV_MAP;
	case SHIM_NOUVEAU_VM_BIND_OP_UNMAP:
		return sparse ? NV_SPARSE_UNMAP : NV_UNMAP;
	case 2:		/* passed through to the kernel's own sparse-map code */
		return NV_SPARSE_MAP;
	case 3:
		return NV_SPARSE_UNMAP;
	default:
		return NV_BAD;
	}
}

static bool
overlaps(uint64_t a, uint64_t ar, uint64_t b, uint64_t br)
{
	return a < b + br && b < a + ar;
}

static bool
inside(uint64_t a, uint64_t ar, uint64_t b, uint64_t br)
{
	return a >= b && a + ar <= b + br;
}

static int
check_op(struct shim_file *file, const struct shim_vm *vm, const struct nv_op *op)
{
	if (op->kind == NV_MAP) {
		struct shim_bo *bo = shim_bo_get(file, op->handle);

		if (!bo) {
			return -ENOENT;
		}
		if (!shim_page_aligned(op->bo_offset) || op->bo_offset >= bo->size || op->range > bo->size - op->bo_offset) {
			return -EINVAL;
		}
	}
	if (!shim_page_aligned(op->addr) || !shim_page_aligned(op->range) || op->addr + op->range < op->addr ||
	    op->addr + op->range > NV_VA_END) {
		return -EINVAL;
	}
	if (vm->kernel_size && overlaps(op->addr, op->range, vm->kernel_addr, vm->kernel_size)) {
		return -EINVAL;
	}
	return 0;
}

/* Region rules against the regions that existed before this ioctl. */
static int
check_regions(const struct shim_vm *vm, const struct nv_op *op)
{
	for (size_t i = 0; i < vm->nregions; i++) {
		const struct shim_region *r = &vm->regions[i];

		if (!overlaps(op->addr, op->range, r->addr, r->range)) {
			continue;
		}
		if (op->kind == NV_SPARSE_MAP) {
			return -ENOSPC;
		}
		if (op->kind == NV_MAP && !inside(op->addr, op->range, r->addr, r->range)) {
			return -ENOSPC;
		}
	}
	return 0;
}

struct region_set {
	struct shim_region *r;
	size_t n;
};

static int
region_add(struct region_set *set, uint64_t addr, uint64_t range, bool dying)
{
	struct shim_region *t = realloc(set->r, (set->n + 1) * sizeof(*t));

	if (!t) {
		return -ENOMEM;
	}
	set->r = t;
	set->r[set->n++] = (struct shim_region){ addr, range, dying };
	return 0;
}

/*
 * The mappings as the apply phase sees them: the VM's page record changed
 * by the ioctl's earlier ops (the kernel's VA tree changes op by op). A
 * copy of the record is made at the first op that changes it, and only
 * when a later MAP|SPARSE will look.
 */
struct tree_view {
	const struct shim_vm *vm;
	struct shim_vm *copy;
	uint32_t last_sparse_map;	/* index + 1 of the last MAP|SPARSE, 0: none */
};

static int
view_apply(struct tree_view *t, const struct nv_op *op, uint32_t index)
{
	if (op->kind == NV_SPARSE_MAP || index + 1 >= t->last_sparse_map) {
		return 0;
	}
	if (!t->copy) {
		t->copy = shim_vm_new(t->vm->id, t->vm->start, t->vm->end);
		if (!t->copy) {
			return -ENOMEM;
		}
		t->copy->pages.slots = malloc((t->vm->pages.cap ? t->vm->pages.cap : 1) * sizeof(struct shim_slot));
		if (!t->copy->pages.slots) {
			return -ENOMEM;
		}
		if (t->vm->pages.cap)	/* an empty VM may have no slots at all */
			memcpy(t->copy->pages.slots, t->vm->pages.slots,
			       t->vm->pages.cap * sizeof(struct shim_slot));
		t->copy->pages.cap = t->vm->pages.cap;
		t->copy->pages.count = t->vm->pages.count;
	}
	if (op->kind == NV_MAP) {
		struct gpuva_shim_page p = { .kind = GPUVA_SHIM_PAGE_BO, .handle = op->handle };

		return shim_pages_map(t->copy, op->addr, op->range, &p);
	}
	if (op->kind == NV_UNMAP || op->kind == NV_SPARSE_UNMAP) {
		shim_pages_unmap(t->copy, op->addr, op->range);
	}
	return 0;
}

/* The apply phase: the ops in order, each seeing the earlier ops' effects. */
static int
apply_regions(struct region_set *set, const struct tree_view *t, const struct nv_op *op)
{
	const struct shim_region *first = NULL;

	switch (op->kind) {
	case NV_SPARSE_MAP:
		/* the range must hold no mapping now, then no region at all */
		if (shim_pages_any(t->copy ? t->copy : t->vm, op->addr, op->range)) {
			return -ENOSPC;
		}
		for (size_t i = 0; i < set->n; i++) {
			/* a region dying in this ioctl is still in the tree */
			if (overlaps(op->addr, op->range, set->r[i].addr, set->r[i].range)) {
				return -EEXIST;
			}
		}
		return region_add(set, op->addr, op->range, false);
	case NV_SPARSE_UNMAP:
		for (size_t i = 0; i < set->n; i++) {
			if (!set->r[i].dying && set->r[i].addr == op->addr && set->r[i].range == op->range) {
				set->r[i].dying = true;
				return 0;
			}
		}
		return -ENOENT;
	case NV_MAP:
		/* the first region it touches, which may be one an earlier op made */
		for (size_t i = 0; i < set->n; i++) {
			if (overlaps(op->addr, op->range, set->r[i].addr, set->r[i].range) &&
			    (!first || set->r[i].addr < first->addr)) {
				first = &set->r[i];
			}
		}
		if (first && first->dying) {
			return -EINVAL;
		}
		if (first && !inside(op->addr, op->range, first->addr, first->range)) {
			return -ENOSPC;
		}
		return 0;
	case NV_UNMAP:
		return 0;
	default:
		return -EINVAL;
	}
}

/* Drops the dying region @op destroys: its job has run. */
static void
region_drop(struct shim_vm *vm, const struct nv_op *op)
{
	for (size_t i = 0; i < vm->nregions; i++) {
		struct shim_region *r = &vm->regions[i];

		if (r->dying && r->addr == op->addr && r->range == op->range) {
			*r = vm->regions[--vm->nregions];
			return;
		}
	}
}

/* The page-table update of one job (inline for an uninterrupted sync bind). */
static void
nouveau_apply(struct shim_vm *vm, const struct nv_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct nv_op *op = &ops[i];

		if (op->kind == NV_SPARSE_UNMAP) {
			region_drop(vm, op);
		}

		if (op->kind == NV_MAP) {
			struct gpuva_shim_page p = {
				.kind = GPUVA_SHIM_PAGE_BO,
				.handle = op->handle,
				.bo_offset = op->bo_offset,
				.flags = op->flags,	/* low 8 bits: PTE kind */
			};

			shim_pages_map(vm, op->addr, op->range, &p);
		} else if (op->kind == NV_UNMAP || op->kind == NV_SPARSE_UNMAP) {
			/* destroying a region also drops every mapping inside it */
			shim_pages_unmap(vm, op->addr, op->range);
		}
	}
}

static void
nouveau_run(struct shim_job *job)
{
	nouveau_apply(job->vm, job->ops, job->nops);
}

/* A MAP or MAP|SPARSE of @ops that touches a region dying in an earlier job. */
static bool
touches_dying_region(const struct shim_vm *vm, const struct nv_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ops[i].kind != NV_MAP && ops[i].kind != NV_SPARSE_MAP) {
			continue;
		}
		for (size_t j = 0; j < vm->nregions; j++) {
			const struct shim_region *r = &vm->regions[j];

			if (r->dying && overlaps(ops[i].addr, ops[i].range, r->addr, r->range)) {
				return true;
			}
		}
	}
	return false;
}

/* Copies count elements of @size; sizes past kvmalloc's INT_MAX are ENOMEM. */
static int
copy_array(uint64_t uptr, uint32_t count, size_t size, void **out)
{
	uint64_t bytes = (uint64_t)count * size;

	*out = NULL;
	if (count == 0) {
		return 0;
	}
#if SIZE_MAX < UINT64_MAX	/* EOVERFLOW (docs/kernels.md 5.2): 32-bit hosts only */
	if (bytes > SIZE_MAX) {
		return -EOVERFLOW;
	}
#endif
	if (bytes > 0x7fffffff) {
		return -ENOMEM;
	}
	*out = malloc(bytes);
	if (!*out) {
		return -ENOMEM;
	}
	int ret = shim_copy_in(*out, uptr, bytes);

	if (ret) {
		free(*out);
		*out = NULL;
	}
	return ret;
}

static int
nouveau_vm_bind(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_nouveau_vm_bind *args = data;
	struct shim_nouveau_vm_bind_op *uops = NULL;
	struct shim_nouveau_sync *waits = NULL, *sigs = NULL;
	struct nv_op *ops = NULL;
	struct region_set set = { 0 };
	struct shim_job *job = NULL;
	struct shim_vm *vm = file->vm;
	struct tree_view view = { .vm = vm };
	bool async = args->flags & SHIM_NOUVEAU_VM_BIND_RUN_ASYNC;
	int ret;

	(void)user_size;
	if (file->nv_state != SHIM_NOUVEAU_VM_BIND) {
		return -ENOSYS;
	}
	ret = copy_array(args->op_ptr, args->op_count, NV_OP_SIZE, (void **)&uops);
	if (ret == 0) {
		ret = copy_array(args->wait_ptr, args->wait_count, NV_SYNC_SIZE, (void **)&waits);
	}
	if (ret == 0) {
		ret = copy_array(args->sig_ptr, args->sig_count, NV_SYNC_SIZE, (void **)&sigs);
	}
	if (ret) {
		goto out;
	}
	if (!async && (args->wait_count || args->sig_count)) {
		ret = -EINVAL;
		goto out;
	}
	job = shim_job_new(file, vm, nouveau_run);
	ops = calloc(args->op_count + 1, sizeof(*ops));
	if (!job || !ops) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < args->wait_count; i++) {
		uint32_t type = waits[i].flags & SHIM_NOUVEAU_SYNC_TYPE_MASK;
		struct shim_fence *f;

		if (type > SHIM_NOUVEAU_SYNC_TIMELINE) {
			ret = -EOPNOTSUPP;
			goto out;
		}
		ret = shim_syncobj_find_fence(file, waits[i].handle,
					      type == SHIM_NOUVEAU_SYNC_TIMELINE ? waits[i].timeline_value : 0, &f);
		if (ret) {
			goto out;
		}
		ret = shim_job_add_wait(job, f);
		shim_fence_unref(f);
		if (ret) {
			goto out;
		}
	}
	for (uint32_t i = 0; i < args->sig_count; i++) {
		if ((sigs[i].flags & SHIM_NOUVEAU_SYNC_TYPE_MASK) > SHIM_NOUVEAU_SYNC_TIMELINE) {
			ret = -EINVAL;
			goto out;
		}
		if (!shim_syncobj_get(file, sigs[i].handle)) {
			ret = -ENOENT;
			goto out;
		}
	}
	for (uint32_t i = 0; i < args->op_count; i++) {
		ops[i] = (struct nv_op){
			.kind = nv_kind(&uops[i]),
			.flags = uops[i].flags,
			.handle = uops[i].handle,
			.addr = uops[i].addr,
			.range = uops[i].range,
			.bo_offset = uops[i].bo_offset,
		};
		ret = check_op(file, vm, &ops[i]);
		if (ret) {
			goto out;
		}
	}
	/* uninterruptible, like the kernel's wait for the destroying job */
	while (touches_dying_region(vm, ops, args->op_count)) {
		pthread_cond_wait(&shim_cond, &shim_lock);
	}
	for (uint32_t i = 0; i < args->op_count; i++) {
		ret = check_regions(vm, &ops[i]);
		if (ret) {
			goto out;
		}
	}
	for (size_t i = 0; i < vm->nregions; i++) {
		ret = region_add(&set, vm->regions[i].addr, vm->regions[i].range, vm->regions[i].dying);
		if (ret) {
			goto out;
		}
	}
	for (uint32_t i = 0; i < args->op_count; i++) {
		if (ops[i].kind == NV_SPARSE_MAP) {
			view.last_sparse_map = i + 1;
		}
	}
	for (uint32_t i = 0; i < args->op_count; i++) {
		ret = apply_regions(&set, &view, &ops[i]);
		if (ret == 0) {
			ret = view_apply(&view, &ops[i], i);
		}
		if (ret) {
			goto out;
		}
	}
	/* last, BO validation: a BO outside VRAM and GART cannot be mapped */
	for (uint32_t i = 0; i < args->op_count; i++) {
		const struct shim_bo *bo = ops[i].kind == NV_MAP ? shim_bo_get(file, ops[i].handle) : NULL;

		if (bo && !(bo->domain & (SHIM_NOUVEAU_GEM_DOMAIN_VRAM | SHIM_NOUVEAU_GEM_DOMAIN_GART))) {
			ret = -EINVAL;
			goto out;
		}
	}
	uint32_t unused;

	ret = -shim_inject_bind(&unused);
	if (ret) {
		goto out;
	}

	/*
	 * commit: the region tree changes now (destroyed regions stay, dying,
	 * until the job has run), the page table when the job runs
	 */
	free(vm->regions);
	vm->regions = set.r;
	vm->nregions = vm->capregions = set.n;
	set.r = NULL;

	if (!async && !shim_inject_eintr()) {
		/* sync binds wait for the update inside the ioctl, held or not */
		nouveau_apply(vm, ops, args->op_count);
		goto out;
	}
	for (uint32_t i = 0; i < args->sig_count; i++) {
		uint64_t point = (sigs[i].flags & SHIM_NOUVEAU_SYNC_TYPE_MASK) == SHIM_NOUVEAU_SYNC_TIMELINE ?
				 sigs[i].timeline_value : 0;

		shim_syncobj_install(shim_syncobj_get(file, sigs[i].handle), point, job->done);
	}
	job->ops = ops;
	job->nops = args->op_count;
	ops = NULL;
	shim_job_submit(job);
	job = NULL;
out:
	if (job) {
		shim_job_abort(job);
	}
	shim_vm_free(view.copy);
	free(set.r);
	free(ops);
	free(uops);
	free(waits);
	free(sigs);
	return ret;
}

static const struct shim_ioctl_desc nouveau_ioctls[] = {
	SHIM_IOCTL_DEF(SHIM_NR_NOUVEAU_GETPARAM, struct shim_nouveau_getparam, SHIM_IOC_RW, nouveau_getparam),
	SHIM_IOCTL_DEF(SHIM_NR_NOUVEAU_CHANNEL_ALLOC, struct nv_blob88, SHIM_IOC_RW, nouveau_channel_alloc),
	SHIM_IOCTL_DEF(SHIM_NR_NOUVEAU_VM_INIT, struct shim_nouveau_vm_init, SHIM_IOC_RW, nouveau_vm_init),
	SHIM_IOCTL_DEF(SHIM_NR_NOUVEAU_VM_BIND, struct shim_nouveau_vm_bind, SHIM_IOC_RW, nouveau_vm_bind),
	SHIM_IOCTL_DEF(SHIM_NR_NOUVEAU_EXEC, struct shim_nouveau_vm_bind, SHIM_IOC_RW, nouveau_exec),
	SHIM_IOCTL_DEF(SHIM_NR_NOUVEAU_GEM_NEW, struct shim_nouveau_gem_new, SHIM_IOC_RW, nouveau_gem_new),
	SHIM_IOCTL_DEF(SHIM_NR_NOUVEAU_GEM_PUSHBUF, struct nv_blob64, SHIM_IOC_RW, nouveau_pushbuf),
	SHIM_IOCTL_DEF(SHIM_NR_NOUVEAU_GEM_INFO, struct shim_nouveau_gem_info, SHIM_IOC_RW, nouveau_gem_info),
};

const struct shim_ioctl_table shim_nouveau_ioctls = {
	nouveau_ioctls, SHIM_ARRAY_SIZE(nouveau_ioctls)
};
