/* SPDX-License-Identifier: MIT */
/*
 * nouveau under the fake kernel: one test per rule of docs/kernels.md
 * section 5, each checking the errno and, for VM_BIND rejections, that
 * neither the page record nor the sparse regions changed.
 */
#include "test-common.h"

#include <pthread.h>
#include <stdatomic.h>

#define KADDR (1ull << 39)
#define KSIZE (1ull << 39)
#define BASE 0x100000ull
#define OP_MAP SHIM_NOUVEAU_VM_BIND_OP_MAP
#define OP_UNMAP SHIM_NOUVEAU_VM_BIND_OP_UNMAP
#define SPARSE SHIM_NOUVEAU_VM_BIND_SPARSE
#define VRAM SHIM_NOUVEAU_GEM_DOMAIN_VRAM

struct fx {
	int fd;
	uint32_t bo;		/* 64 KiB in VRAM */
};

static int
vm_init(int fd, uint64_t addr, uint64_t size)
{
	struct shim_nouveau_vm_init v = { addr, size };

	return xioctl(fd, SHIM_IOCTL_NOUVEAU_VM_INIT, &v);
}

static int
gem_new(int fd, uint64_t size, uint32_t domain, uint32_t *handle)
{
	struct shim_nouveau_gem_new g = { .info = { .size = size, .domain = domain } };
	int ret = xioctl(fd, SHIM_IOCTL_NOUVEAU_GEM_NEW, &g);

	*handle = g.info.handle;
	return ret;
}

static int
fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->fd = open_node();
	assert_int_equal(vm_init(fx->fd, KADDR, KSIZE), 0);
	assert_int_equal(gem_new(fx->fd, 0x10000, VRAM, &fx->bo), 0);
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;

	clear_shim_switches();
	close(fx->fd);
	free(fx);
	return 0;
}

static struct shim_nouveau_vm_bind_op
op(uint32_t code, uint32_t flags, uint32_t handle, uint64_t off, uint64_t addr, uint64_t range)
{
	return (struct shim_nouveau_vm_bind_op){ .op = code, .flags = flags, .handle = handle,
						 .bo_offset = off, .addr = addr, .range = range };
}

static struct shim_nouveau_vm_bind
bind_args(struct shim_nouveau_vm_bind_op *ops, uint32_t n, bool async)
{
	return (struct shim_nouveau_vm_bind){
		.op_count = n,
		.flags = async ? SHIM_NOUVEAU_VM_BIND_RUN_ASYNC : 0,
		.op_ptr = (uintptr_t)ops,
	};
}

static int
bind(struct fx *fx, struct shim_nouveau_vm_bind_op *ops, uint32_t n)
{
	struct shim_nouveau_vm_bind b = bind_args(ops, n, false);

	return xioctl(fx->fd, SHIM_IOCTL_NOUVEAU_VM_BIND, &b);
}

static int
bind1(struct fx *fx, struct shim_nouveau_vm_bind_op o)
{
	return bind(fx, &o, 1);
}

static void
assert_rejected(struct fx *fx, struct shim_nouveau_vm_bind *b, int err)
{
	uint64_t before = shim.digest(fx->fd, 0);

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_NOUVEAU_VM_BIND, b), err);
	assert_true(shim.digest(fx->fd, 0) == before);
}

static void
assert_ops_rejected(struct fx *fx, struct shim_nouveau_vm_bind_op *ops, uint32_t n, int err)
{
	struct shim_nouveau_vm_bind b = bind_args(ops, n, false);

	assert_rejected(fx, &b, err);
}

static void
assert_op_rejected(struct fx *fx, struct shim_nouveau_vm_bind_op o, int err)
{
	assert_ops_rejected(fx, &o, 1, err);
}

/* ---- VM_INIT (5.1) ---- */

static void
vm_init_after_gem_new_is_enosys_even_if_gem_new_failed(void **state)
{
	int fd = open_node();
	uint32_t h;

	(void)state;
	assert_int_equal(gem_new(fd, 0, VRAM, &h), EINVAL);
	assert_int_equal(vm_init(fd, KADDR, KSIZE), ENOSYS);
	close(fd);
}

static void
vm_init_rejects_an_overflowing_or_too_high_window_before_enosys(void **state)
{
	int fd = open_node();
	uint32_t h;

	(void)state;
	assert_int_equal(vm_init(fd, -PAGE, 2 * PAGE), EINVAL);
	assert_int_equal(vm_init(fd, 1ull << 46, (1ull << 46) + PAGE), EINVAL);
	assert_int_equal(gem_new(fd, PAGE, VRAM, &h), 0);
	assert_int_equal(vm_init(fd, 1ull << 47, PAGE), EINVAL);
	assert_int_equal(vm_init(fd, KADDR, KSIZE), ENOSYS);
	close(fd);
}

static void
a_second_vm_init_succeeds_with_an_empty_vm(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(bind1(fx, op(OP_MAP, 0, fx->bo, 0, BASE, PAGE)), 0);
	assert_int_equal(vm_init(fx->fd, KADDR, KSIZE), 0);
	assert_int_equal(shim.page_count(fx->fd, 0), 0);
}

static void
gem_new_no_share_needs_vm_init_and_size_0_is_einval(void **state)
{
	int fd = open_node();
	uint32_t h;
	struct shim_nouveau_gem_new g = { .info = { .size = PAGE, .domain = VRAM } };

	(void)state;
	assert_int_equal(gem_new(fd, PAGE, VRAM | SHIM_NOUVEAU_GEM_DOMAIN_NO_SHARE, &h), EINVAL);
	close(fd);
	fd = open_node();
	assert_int_equal(vm_init(fd, KADDR, KSIZE), 0);
	assert_int_equal(gem_new(fd, 0, VRAM, &h), EINVAL);
	assert_int_equal(gem_new(fd, PAGE, VRAM | SHIM_NOUVEAU_GEM_DOMAIN_NO_SHARE, &h), 0);
	assert_int_equal(xioctl(fd, SHIM_IOCTL_NOUVEAU_GEM_NEW, &g), 0);
	assert_int_equal(g.info.offset, 0);	/* no kernel VA with a user VM */
	close(fd);
}

static void
getparam_reports_vma_tilemode_and_rejects_unknown_params(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_getparam p = { .param = SHIM_NOUVEAU_GETPARAM_HAS_VMA_TILEMODE };

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_NOUVEAU_GETPARAM, &p), 0);
	assert_int_equal(p.value, 1);
	p.param = 999;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_NOUVEAU_GETPARAM, &p), EINVAL);
}

/* ---- VM_BIND, in the kernel's order (5.4) ---- */

static void
vm_bind_without_vm_init_is_enosys(void **state)
{
	int fd = open_node();
	struct shim_nouveau_vm_bind b = { 0 };

	(void)state;
	assert_int_equal(xioctl(fd, SHIM_IOCTL_NOUVEAU_VM_BIND, &b), ENOSYS);
	close(fd);
}

static void
bad_arrays_are_efault_and_absurd_counts_enomem(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind b = bind_args((void *)8, 1, false);

	assert_rejected(fx, &b, EFAULT);
	b.op_count = 0xffffffffu;
	assert_rejected(fx, &b, ENOMEM);
}

static void
syncs_without_run_async_are_einval(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op o = op(OP_MAP, 0, fx->bo, 0, BASE, PAGE);
	struct shim_nouveau_sync s = { .handle = syncobj_new(fx->fd, true) };
	struct shim_nouveau_vm_bind b = bind_args(&o, 1, false);

	b.wait_count = 1;
	b.wait_ptr = (uintptr_t)&s;
	assert_rejected(fx, &b, EINVAL);
	b.wait_count = 0;
	b.sig_count = 1;
	b.sig_ptr = (uintptr_t)&s;
	assert_rejected(fx, &b, EINVAL);
}

static void
wait_syncs_reject_unknown_types_handles_and_missing_fences(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op o = op(OP_MAP, 0, fx->bo, 0, BASE, PAGE);
	struct shim_nouveau_sync s = { .flags = 2, .handle = syncobj_new(fx->fd, true) };
	struct shim_nouveau_vm_bind b = bind_args(&o, 1, true);

	b.wait_count = 1;
	b.wait_ptr = (uintptr_t)&s;
	assert_rejected(fx, &b, EOPNOTSUPP);
	s.flags = 0;
	s.handle = 999;
	assert_rejected(fx, &b, ENOENT);
	s.handle = syncobj_new(fx->fd, false);
	assert_rejected(fx, &b, EINVAL);
}

static void
signal_syncs_reject_unknown_types_with_einval_and_handles_with_enoent(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op o = op(OP_MAP, 0, fx->bo, 0, BASE, PAGE);
	struct shim_nouveau_sync s = { .flags = 2, .handle = syncobj_new(fx->fd, false) };
	struct shim_nouveau_vm_bind b = bind_args(&o, 1, true);

	b.sig_count = 1;
	b.sig_ptr = (uintptr_t)&s;
	assert_rejected(fx, &b, EINVAL);
	s.flags = 0;
	s.handle = 999;
	assert_rejected(fx, &b, ENOENT);
}

static void
map_with_an_unknown_handle_is_enoent(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(OP_MAP, 0, 999, 0, BASE, PAGE), ENOENT);
}

static void
map_bo_offset_must_be_aligned_inside_the_bo_and_leave_room_for_the_range(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(OP_MAP, 0, fx->bo, 0x800, BASE, PAGE), EINVAL);
	assert_op_rejected(fx, op(OP_MAP, 0, fx->bo, 0x10000, BASE, PAGE), EINVAL);
	assert_op_rejected(fx, op(OP_MAP, 0, fx->bo, 0xf000, BASE, 2 * PAGE), EINVAL);
}

static void
addresses_must_be_aligned_below_2_47_and_clear_of_the_kernel_window(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(OP_UNMAP, 0, 0, 0, BASE + 1, PAGE), EINVAL);
	assert_op_rejected(fx, op(OP_UNMAP, 0, 0, 0, BASE, 0x1800), EINVAL);
	assert_op_rejected(fx, op(OP_UNMAP, 0, 0, 0, BASE, -PAGE), EINVAL);
	assert_op_rejected(fx, op(OP_UNMAP, 0, 0, 0, (1ull << 47) - PAGE, 2 * PAGE), EINVAL);
	assert_op_rejected(fx, op(OP_MAP, 0, fx->bo, 0, KADDR - PAGE, 2 * PAGE), EINVAL);
	assert_op_rejected(fx, op(OP_MAP | 0, SPARSE, 0, 0, KADDR + KSIZE - PAGE, PAGE), EINVAL);
}

/* ---- sparse regions (5.3) ---- */

static void
a_map_inside_a_region_is_backed_and_its_unmap_makes_the_pages_sparse_again(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(bind1(fx, op(OP_MAP, SPARSE, 0, 0, BASE, 16 * PAGE)), 0);
	assert_page_kind(fx->fd, 0, BASE + 3 * PAGE, GPUVA_SHIM_PAGE_SPARSE);
	assert_int_equal(bind1(fx, op(OP_MAP, 0, fx->bo, 0, BASE + 2 * PAGE, 2 * PAGE)), 0);
	assert_page_bo(fx->fd, 0, BASE + 3 * PAGE, fx->bo, PAGE);
	assert_int_equal(bind1(fx, op(OP_UNMAP, 0, 0, 0, BASE, 4 * PAGE)), 0);
	assert_page_kind(fx->fd, 0, BASE + 3 * PAGE, GPUVA_SHIM_PAGE_SPARSE);
	assert_int_equal(shim.page_count(fx->fd, 0), 16);
}

static void
a_map_partly_over_a_region_is_enospc(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(bind1(fx, op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE)), 0);
	assert_op_rejected(fx, op(OP_MAP, 0, fx->bo, 0, BASE + 3 * PAGE, 2 * PAGE), ENOSPC);
}

static void
a_region_over_a_mapping_or_another_region_is_enospc(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(bind1(fx, op(OP_MAP, 0, fx->bo, 0, BASE, PAGE)), 0);
	assert_op_rejected(fx, op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE), ENOSPC);
	assert_int_equal(bind1(fx, op(OP_MAP, SPARSE, 0, 0, BASE + 8 * PAGE, 4 * PAGE)), 0);
	assert_op_rejected(fx, op(OP_MAP, SPARSE, 0, 0, BASE + 10 * PAGE, 4 * PAGE), ENOSPC);
}

static void
two_overlapping_regions_in_one_ioctl_are_eexist(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op ops[2] = {
		op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE),
		op(OP_MAP, SPARSE, 0, 0, BASE + 2 * PAGE, 4 * PAGE),
	};

	assert_ops_rejected(fx, ops, 2, EEXIST);
}

static void
destroying_a_region_needs_its_exact_range(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(bind1(fx, op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE)), 0);
	assert_op_rejected(fx, op(OP_UNMAP, SPARSE, 0, 0, BASE, 2 * PAGE), ENOENT);
	assert_op_rejected(fx, op(OP_UNMAP, SPARSE, 0, 0, BASE + 8 * PAGE, 4 * PAGE), ENOENT);
}

static void
destroying_a_region_removes_the_mappings_inside(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op ops[2] = {
		op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE),
		op(OP_MAP, 0, fx->bo, 0, BASE + PAGE, PAGE),	/* creating and mapping works */
	};

	assert_int_equal(bind(fx, ops, 2), 0);
	assert_page_bo(fx->fd, 0, BASE + PAGE, fx->bo, 0);
	assert_int_equal(bind1(fx, op(OP_UNMAP, SPARSE, 0, 0, BASE, 4 * PAGE)), 0);
	assert_int_equal(shim.page_count(fx->fd, 0), 0);
}

static void
recreating_a_region_destroyed_in_the_same_ioctl_is_enospc(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op ops[2] = {
		op(OP_UNMAP, SPARSE, 0, 0, BASE, 4 * PAGE),
		op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE),
	};

	assert_int_equal(bind1(fx, op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE)), 0);
	assert_ops_rejected(fx, ops, 2, ENOSPC);
}

static void
mapping_into_a_region_destroyed_in_the_same_ioctl_is_einval(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op ops[2] = {
		op(OP_UNMAP, SPARSE, 0, 0, BASE, 4 * PAGE),
		op(OP_MAP, 0, fx->bo, 0, BASE, PAGE),
	};

	assert_int_equal(bind1(fx, op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE)), 0);
	assert_ops_rejected(fx, ops, 2, EINVAL);
	assert_page_kind(fx->fd, 0, BASE, GPUVA_SHIM_PAGE_SPARSE);
}

static void
a_map_partly_over_a_region_an_earlier_op_creates_is_enospc_and_unwinds_the_ioctl(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op ops[2] = {
		op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE),
		op(OP_MAP, 0, fx->bo, 0, BASE + 3 * PAGE, 2 * PAGE),
	};

	/* validation sees no region yet; the apply phase does, and unwinds */
	assert_ops_rejected(fx, ops, 2, ENOSPC);
	assert_page_kind(fx->fd, 0, BASE, GPUVA_SHIM_PAGE_NONE);
	assert_int_equal(shim.page_count(fx->fd, 0), 0);
}

static void
an_unmap_earlier_in_the_ioctl_clears_the_range_for_a_region(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op ops[2] = {
		op(OP_UNMAP, 0, 0, 0, BASE, 4 * PAGE),
		op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE),
	};

	assert_int_equal(bind1(fx, op(OP_MAP, 0, fx->bo, 0, BASE + PAGE, 2 * PAGE)), 0);
	/* the region's range must be empty when its op is applied, not before */
	assert_int_equal(bind(fx, ops, 2), 0);
	assert_page_kind(fx->fd, 0, BASE + PAGE, GPUVA_SHIM_PAGE_SPARSE);
	assert_int_equal(shim.page_count(fx->fd, 0), 4);
}

static void
a_map_earlier_in_the_ioctl_keeps_a_region_out_of_its_range(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op ops[2] = {
		op(OP_MAP, 0, fx->bo, 0, BASE + PAGE, PAGE),
		op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE),
	};

	assert_ops_rejected(fx, ops, 2, ENOSPC);
	assert_int_equal(shim.page_count(fx->fd, 0), 0);
}

static void
a_region_over_one_made_and_destroyed_in_the_same_ioctl_is_eexist(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op ops[3] = {
		op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE),
		op(OP_UNMAP, SPARSE, 0, 0, BASE, 4 * PAGE),
		op(OP_MAP, SPARSE, 0, 0, BASE, 2 * PAGE),
	};

	/* the destroyed region stays in the tree until the job has run */
	assert_ops_rejected(fx, ops, 3, EEXIST);
}

static void
op_codes_2_and_3_act_as_sparse_map_and_unmap_and_4_is_einval(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(bind1(fx, op(2, 0, 0, 0, BASE, 4 * PAGE)), 0);
	assert_page_kind(fx->fd, 0, BASE, GPUVA_SHIM_PAGE_SPARSE);
	assert_int_equal(bind1(fx, op(3, 0, 0, 0, BASE, 4 * PAGE)), 0);
	assert_page_kind(fx->fd, 0, BASE, GPUVA_SHIM_PAGE_NONE);
	assert_op_rejected(fx, op(4, 0, 0, 0, BASE, PAGE), EINVAL);
}

/* ---- BOs, atomicity, semantics ---- */

static void
a_bo_outside_vram_and_gart_is_created_but_never_mapped(void **state)
{
	struct fx *fx = *state;
	uint32_t cpu;

	assert_int_equal(gem_new(fx->fd, PAGE, SHIM_NOUVEAU_GEM_DOMAIN_CPU, &cpu), 0);
	assert_op_rejected(fx, op(OP_MAP, 0, cpu, 0, BASE, PAGE), EINVAL);
}

static void
any_error_leaves_the_whole_ioctl_unapplied(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op ops[3] = {
		op(OP_MAP, 0, fx->bo, 0, BASE, PAGE),
		op(OP_MAP, SPARSE, 0, 0, BASE + 8 * PAGE, PAGE),
		op(OP_UNMAP, SPARSE, 0, 0, BASE + 16 * PAGE, PAGE),
	};

	assert_ops_rejected(fx, ops, 3, ENOENT);
	assert_int_equal(shim.page_count(fx->fd, 0), 0);
}

static void
map_replaces_mappings_unmap_covers_holes_and_the_pte_kind_is_kept(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op ops[3] = {
		op(OP_MAP, 0, fx->bo, 0, BASE, 4 * PAGE),
		op(OP_MAP, 0xfe, fx->bo, 8 * PAGE, BASE + PAGE, PAGE),
		op(OP_UNMAP, 0, 0, 0, BASE + 2 * PAGE, 64 * PAGE),
	};

	assert_int_equal(bind(fx, ops, 3), 0);
	assert_page_bo(fx->fd, 0, BASE + PAGE, fx->bo, 8 * PAGE);
	assert_int_equal(page_at(fx->fd, 0, BASE + PAGE).flags & 0xff, 0xfe);
	assert_int_equal(shim.page_count(fx->fd, 0), 2);
}

static void
an_async_bind_signals_its_syncobj_when_the_job_has_run_and_0_ops_are_a_sync_point(void **state)
{
	struct fx *fx = *state;
	struct shim_nouveau_vm_bind_op o = op(OP_MAP, 0, fx->bo, 0, BASE, PAGE);
	struct shim_nouveau_sync s = { .handle = syncobj_new(fx->fd, false) };
	struct shim_nouveau_vm_bind b = bind_args(&o, 1, true);

	b.sig_count = 1;
	b.sig_ptr = (uintptr_t)&s;
	assert_int_equal(shim.hold(fx->fd, true), 0);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_NOUVEAU_VM_BIND, &b), 0);
	assert_int_equal(syncobj_wait1(fx->fd, s.handle, 1000000, 0), ETIME);
	assert_page_kind(fx->fd, 0, BASE, GPUVA_SHIM_PAGE_NONE);
	assert_int_equal(shim.hold(fx->fd, false), 0);
	assert_int_equal(syncobj_wait1(fx->fd, s.handle, 0, 0), 0);
	assert_page_bo(fx->fd, 0, BASE, fx->bo, 0);
	b.op_count = 0;
	struct shim_syncobj_array r = { .handles = (uintptr_t)&s.handle, .count_handles = 1 };

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_SYNCOBJ_RESET, &r), 0);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_NOUVEAU_VM_BIND, &b), 0);
	assert_int_equal(syncobj_wait1(fx->fd, s.handle, 0, 0), 0);
}

static void
an_injected_failure_returns_its_errno_and_changes_nothing(void **state)
{
	struct fx *fx = *state;

	setenv("GPUVA_SHIM_FAIL_BIND", "1:EINTR", 1);
	assert_op_rejected(fx, op(OP_MAP, 0, fx->bo, 0, BASE, PAGE), EINTR);
	assert_int_equal(bind1(fx, op(OP_MAP, 0, fx->bo, 0, BASE, PAGE)), 0);
}

static void
channel_alloc_is_enodev_without_deciding_the_mode_and_pushbuf_is_enosys_after_vm_init(void **state)
{
	int fd = open_node();
	uint64_t blob[11] = { 0 };

	(void)state;
	/* no channels: refused before it could disable VM_BIND */
	assert_int_equal(xioctl(fd, SHIM_IOC(SHIM_IOC_RW, SHIM_NR_NOUVEAU_CHANNEL_ALLOC, 88), blob), ENODEV);
	assert_int_equal(vm_init(fd, KADDR, KSIZE), 0);
	assert_int_equal(xioctl(fd, SHIM_IOC(SHIM_IOC_RW, SHIM_NR_NOUVEAU_GEM_PUSHBUF, 64), blob), ENOSYS);
	assert_int_equal(shim.page_count(fd, 0), 0);
	close(fd);
}

/* ---- across ioctls: regions dying in a held job, interrupted waits (5.3, 5.4) ---- */

/* An async UNMAP|SPARSE of [addr, +range) whose job stays parked. */
static void
destroy_region_held(struct fx *fx, uint64_t addr, uint64_t range)
{
	struct shim_nouveau_vm_bind_op o = op(OP_UNMAP, SPARSE, 0, 0, addr, range);
	struct shim_nouveau_vm_bind b = bind_args(&o, 1, true);

	assert_int_equal(shim.hold(fx->fd, true), 0);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_NOUVEAU_VM_BIND, &b), 0);
}

static void
a_region_dying_in_an_earlier_job_cannot_be_destroyed_again(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(bind1(fx, op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE)), 0);
	assert_int_equal(bind1(fx, op(OP_MAP, 0, fx->bo, 0, BASE, PAGE)), 0);
	destroy_region_held(fx, BASE, 4 * PAGE);
	/* the job has not run: the page table still has the region */
	assert_page_bo(fx->fd, 0, BASE, fx->bo, 0);
	assert_page_kind(fx->fd, 0, BASE + PAGE, GPUVA_SHIM_PAGE_SPARSE);
	assert_op_rejected(fx, op(OP_UNMAP, SPARSE, 0, 0, BASE, 4 * PAGE), ENOENT);
	assert_int_equal(shim.hold(fx->fd, false), 0);
	assert_page_kind(fx->fd, 0, BASE, GPUVA_SHIM_PAGE_NONE);
	assert_page_kind(fx->fd, 0, BASE + PAGE, GPUVA_SHIM_PAGE_NONE);
	assert_op_rejected(fx, op(OP_UNMAP, SPARSE, 0, 0, BASE, 4 * PAGE), ENOENT);
}

struct releaser {
	pthread_t thread;
	int fd;
	atomic_bool released;
};

static void *
release_later(void *arg)
{
	struct releaser *r = arg;
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	atomic_store(&r->released, true);
	assert_int_equal(shim.hold(r->fd, false), 0);
	return NULL;
}

static void
a_map_over_a_region_dying_in_an_earlier_job_waits_for_that_job(void **state)
{
	struct fx *fx = *state;
	struct releaser r = { .fd = fx->fd };

	assert_int_equal(bind1(fx, op(OP_MAP, SPARSE, 0, 0, BASE, 4 * PAGE)), 0);
	destroy_region_held(fx, BASE, 4 * PAGE);
	assert_int_equal(pthread_create(&r.thread, NULL, release_later, &r), 0);
	/* re-creating the region blocks until the destroying job has run */
	assert_int_equal(bind1(fx, op(OP_MAP, SPARSE, 0, 0, BASE, 2 * PAGE)), 0);
	assert_true(atomic_load(&r.released));
	assert_int_equal(pthread_join(r.thread, NULL), 0);
	assert_page_kind(fx->fd, 0, BASE + PAGE, GPUVA_SHIM_PAGE_SPARSE);
	assert_page_kind(fx->fd, 0, BASE + 2 * PAGE, GPUVA_SHIM_PAGE_NONE);

	/* the same for a plain MAP that touches a dying region */
	r.released = false;
	destroy_region_held(fx, BASE, 2 * PAGE);
	assert_int_equal(pthread_create(&r.thread, NULL, release_later, &r), 0);
	assert_int_equal(bind1(fx, op(OP_MAP, 0, fx->bo, 0, BASE + PAGE, 2 * PAGE)), 0);
	assert_true(atomic_load(&r.released));
	assert_int_equal(pthread_join(r.thread, NULL), 0);
	assert_page_kind(fx->fd, 0, BASE, GPUVA_SHIM_PAGE_NONE);
	assert_page_bo(fx->fd, 0, BASE + PAGE, fx->bo, 0);
}

static void
a_sync_bind_woken_by_a_signal_returns_0_with_its_update_maybe_pending(void **state)
{
	struct fx *fx = *state;

	setenv("GPUVA_SHIM_EINTR_BIND", "1", 1);
	assert_int_equal(shim.hold(fx->fd, true), 0);
	assert_int_equal(bind1(fx, op(OP_MAP, 0, fx->bo, 0, BASE, PAGE)), 0);
	assert_page_kind(fx->fd, 0, BASE, GPUVA_SHIM_PAGE_NONE);
	assert_int_equal(shim.hold(fx->fd, false), 0);
	assert_page_bo(fx->fd, 0, BASE, fx->bo, 0);
	/* an uninterrupted sync bind waits, held or not */
	assert_int_equal(shim.hold(fx->fd, true), 0);
	assert_int_equal(bind1(fx, op(OP_MAP, 0, fx->bo, PAGE, BASE + PAGE, PAGE)), 0);
	assert_page_bo(fx->fd, 0, BASE + PAGE, fx->bo, PAGE);
	assert_int_equal(shim.hold(fx->fd, false), 0);
}

int
main(void)
{
	require_shim("nouveau");

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vm_init_after_gem_new_is_enosys_even_if_gem_new_failed),
		cmocka_unit_test(vm_init_rejects_an_overflowing_or_too_high_window_before_enosys),
		T(a_second_vm_init_succeeds_with_an_empty_vm),
		cmocka_unit_test(gem_new_no_share_needs_vm_init_and_size_0_is_einval),
		T(getparam_reports_vma_tilemode_and_rejects_unknown_params),
		cmocka_unit_test(vm_bind_without_vm_init_is_enosys),
		T(bad_arrays_are_efault_and_absurd_counts_enomem),
		T(syncs_without_run_async_are_einval),
		T(wait_syncs_reject_unknown_types_handles_and_missing_fences),
		T(signal_syncs_reject_unknown_types_with_einval_and_handles_with_enoent),
		T(map_with_an_unknown_handle_is_enoent),
		T(map_bo_offset_must_be_aligned_inside_the_bo_and_leave_room_for_the_range),
		T(addresses_must_be_aligned_below_2_47_and_clear_of_the_kernel_window),
		T(a_map_inside_a_region_is_backed_and_its_unmap_makes_the_pages_sparse_again),
		T(a_map_partly_over_a_region_is_enospc),
		T(a_region_over_a_mapping_or_another_region_is_enospc),
		T(two_overlapping_regions_in_one_ioctl_are_eexist),
		T(destroying_a_region_needs_its_exact_range),
		T(destroying_a_region_removes_the_mappings_inside),
		T(recreating_a_region_destroyed_in_the_same_ioctl_is_enospc),
		T(mapping_into_a_region_destroyed_in_the_same_ioctl_is_einval),
		T(a_map_partly_over_a_region_an_earlier_op_creates_is_enospc_and_unwinds_the_ioctl),
		T(an_unmap_earlier_in_the_ioctl_clears_the_range_for_a_region),
		T(a_map_earlier_in_the_ioctl_keeps_a_region_out_of_its_range),
		T(a_region_over_one_made_and_destroyed_in_the_same_ioctl_is_eexist),
		T(op_codes_2_and_3_act_as_sparse_map_and_unmap_and_4_is_einval),
		T(a_bo_outside_vram_and_gart_is_created_but_never_mapped),
		T(any_error_leaves_the_whole_ioctl_unapplied),
		T(map_replaces_mappings_unmap_covers_holes_and_the_pte_kind_is_kept),
		T(an_async_bind_signals_its_syncobj_when_the_job_has_run_and_0_ops_are_a_sync_point),
		T(an_injected_failure_returns_its_errno_and_changes_nothing),
		cmocka_unit_test(channel_alloc_is_enodev_without_deciding_the_mode_and_pushbuf_is_enosys_after_vm_init),
		T(a_region_dying_in_an_earlier_job_cannot_be_destroyed_again),
		T(a_map_over_a_region_dying_in_an_earlier_job_waits_for_that_job),
		T(a_sync_bind_woken_by_a_signal_returns_0_with_its_update_maybe_pending),
	};

	return cmocka_run_group_tests_name("nouveau", tests, NULL, NULL);
}
