/* SPDX-License-Identifier: MIT */
/*
 * msm under the fake kernel: one test per rule of docs/kernels.md section 3,
 * each checking the errno and, for VM_BIND rejections, that the page record
 * did not change.
 */
#include "test-common.h"

#include <sys/resource.h>

#define VA_START 0x100000000ull
#define VA_END (VA_START + 0xffff00000000ull)

struct fx {
	int fd;
	uint32_t queue;
	uint32_t bo;		/* 64 KiB, WC | NO_SHARE */
	uint64_t before;	/* digest before the step under test */
};

static int
set_param(int fd, uint32_t param, uint64_t value)
{
	struct shim_msm_param p = { .pipe = SHIM_MSM_PIPE_3D0, .param = param, .value = value };

	return xioctl(fd, SHIM_IOCTL_MSM_SET_PARAM, &p);
}

static int
get_param(int fd, uint32_t param, uint64_t *value)
{
	struct shim_msm_param p = { .pipe = SHIM_MSM_PIPE_3D0, .param = param };
	int ret = xioctl(fd, SHIM_IOCTL_MSM_GET_PARAM, &p);

	*value = p.value;
	return ret;
}

static int
gem_new(int fd, uint64_t size, uint32_t flags, uint32_t *handle)
{
	struct shim_msm_gem_new g = { .size = size, .flags = flags };
	int ret = xioctl(fd, SHIM_IOCTL_MSM_GEM_NEW, &g);

	*handle = g.handle;
	return ret;
}

static int
queue_new(int fd, uint32_t flags, uint32_t prio, uint32_t *id)
{
	struct shim_msm_submitqueue q = { .flags = flags, .prio = prio };
	int ret = xioctl(fd, SHIM_IOCTL_MSM_SUBMITQUEUE_NEW, &q);

	*id = q.id;
	return ret;
}

static int
fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	uint64_t v;

	fx->fd = open_node();
	assert_int_equal(set_param(fx->fd, SHIM_MSM_PARAM_EN_VM_BIND, 1), 0);
	assert_int_equal(get_param(fx->fd, SHIM_MSM_PARAM_VA_START, &v), 0);
	assert_int_equal(queue_new(fx->fd, SHIM_MSM_SUBMITQUEUE_VM_BIND, 0, &fx->queue), 0);
	assert_int_equal(gem_new(fx->fd, 0x10000, SHIM_MSM_BO_WC | SHIM_MSM_BO_NO_SHARE, &fx->bo), 0);
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

static struct shim_msm_vm_bind_op
op(uint32_t code, uint32_t handle, uint64_t off, uint64_t iova, uint64_t range)
{
	return (struct shim_msm_vm_bind_op){ .op = code, .handle = handle, .obj_offset = off,
					     .iova = iova, .range = range };
}

static struct shim_msm_vm_bind
bind_args(const struct fx *fx, const struct shim_msm_vm_bind_op *ops, uint32_t n)
{
	struct shim_msm_vm_bind b = {
		.nr_ops = n,
		.queue_id = fx->queue,
		.syncobj_stride = sizeof(struct shim_msm_syncobj),
		.op_stride = sizeof(struct shim_msm_vm_bind_op),
	};

	if (n == 1) {
		b.op = ops[0];
	} else {
		b.ops = (uintptr_t)ops;
	}
	return b;
}

static int
bind(struct fx *fx, const struct shim_msm_vm_bind_op *ops, uint32_t n)
{
	struct shim_msm_vm_bind b = bind_args(fx, ops, n);

	return xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b);
}

static int
bind1(struct fx *fx, struct shim_msm_vm_bind_op o)
{
	return bind(fx, &o, 1);
}

static void
snap(struct fx *fx)
{
	fx->before = shim.digest(fx->fd, 0);
}

static void
assert_unchanged(const struct fx *fx)
{
	assert_true(shim.digest(fx->fd, 0) == fx->before);
}

/* A rejected bind: the errno, and nothing changed in the page record. */
static void
assert_rejected(struct fx *fx, struct shim_msm_vm_bind *b, int err)
{
	snap(fx);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, b), err);
	assert_unchanged(fx);
}

static void
assert_op_rejected(struct fx *fx, struct shim_msm_vm_bind_op o, int err)
{
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);

	assert_rejected(fx, &b, err);
}

/* ---- setup (3.1) ---- */

static void
en_vm_bind_after_any_get_param_is_ebusy(void **state)
{
	int fd = open_node();
	uint64_t v;

	(void)state;
	assert_int_equal(get_param(fd, SHIM_MSM_PARAM_CHIP_ID, &v), 0);
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 1), EBUSY);
	close(fd);
}

static void
a_failing_get_param_past_its_pipe_check_still_creates_the_vm(void **state)
{
	int fd = open_node();
	uint64_t v;

	(void)state;
	assert_int_equal(get_param(fd, 0x7777, &v), EINVAL);
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 1), EBUSY);
	close(fd);
}

static void
en_vm_bind_with_a_bad_pipe_pad_or_len_is_einval(void **state)
{
	int fd = open_node();
	struct shim_msm_param p = { .pipe = 0x11, .param = SHIM_MSM_PARAM_EN_VM_BIND, .value = 1 };

	(void)state;
	assert_int_equal(xioctl(fd, SHIM_IOCTL_MSM_SET_PARAM, &p), EINVAL);
	p.pipe = SHIM_MSM_PIPE_3D0;
	p.pad = 1;
	assert_int_equal(xioctl(fd, SHIM_IOCTL_MSM_SET_PARAM, &p), EINVAL);
	p.pad = 0;
	p.len = 4;
	assert_int_equal(xioctl(fd, SHIM_IOCTL_MSM_SET_PARAM, &p), EINVAL);
	close(fd);
}

static void
en_vm_bind_only_records_the_mode_and_is_repeatable_before_the_vm_exists(void **state)
{
	int fd = open_node();
	uint32_t q;

	(void)state;
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 1), 0);
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 0), 0);
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 1), 0);
	/* a VM_BIND queue that passes its checks creates the VM: mode fixed */
	assert_int_equal(queue_new(fd, SHIM_MSM_SUBMITQUEUE_VM_BIND, 0, &q), 0);
	assert_int_equal(shim.page_count(fd, 0), 0);
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 1), EBUSY);
	close(fd);
}

static void
a_vm_bind_queue_refused_in_legacy_mode_creates_no_vm(void **state)
{
	int fd = open_node();
	uint32_t q;

	(void)state;
	/* the mode is checked before anything is created (docs/kernels.md 3.1) */
	assert_int_equal(queue_new(fd, SHIM_MSM_SUBMITQUEUE_VM_BIND, 0, &q), EINVAL);
	assert_int_equal(shim.page_count(fd, 0), -ENOENT);
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 1), 0);
	/* so is the priority: a refused queue leaves the fd undecided */
	assert_int_equal(queue_new(fd, SHIM_MSM_SUBMITQUEUE_VM_BIND, 1, &q), EINVAL);
	assert_int_equal(shim.page_count(fd, 0), -ENOENT);
	assert_int_equal(queue_new(fd, SHIM_MSM_SUBMITQUEUE_VM_BIND, 0, &q), 0);
	assert_int_equal(shim.page_count(fd, 0), 0);
	close(fd);
}

static void
va_start_va_size_and_prr_have_the_a7xx_defaults(void **state)
{
	struct fx *fx = *state;
	uint64_t v;

	assert_int_equal(get_param(fx->fd, SHIM_MSM_PARAM_VA_START, &v), 0);
	assert_int_equal(v, VA_START);
	assert_int_equal(get_param(fx->fd, SHIM_MSM_PARAM_VA_SIZE, &v), 0);
	assert_int_equal(v, 0xffff00000000ull);
	assert_int_equal(get_param(fx->fd, SHIM_MSM_PARAM_HAS_PRR, &v), 0);
	assert_int_equal(v, 1);
}

static void
a_vm_bind_queue_needs_prio_0_and_known_flags(void **state)
{
	struct fx *fx = *state;
	uint32_t q;

	assert_int_equal(queue_new(fx->fd, SHIM_MSM_SUBMITQUEUE_VM_BIND, 1, &q), EINVAL);
	assert_int_equal(queue_new(fx->fd, 0x8, 0, &q), EINVAL);
	assert_int_equal(queue_new(fx->fd, 0, 3, &q), EINVAL);
	assert_int_equal(queue_new(fx->fd, 0, 2, &q), 0);
	assert_true(q > fx->queue);
}

static void
submitqueue_close_of_queue_0_or_an_unknown_id_is_enoent(void **state)
{
	struct fx *fx = *state;
	uint32_t id = 0;

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_SUBMITQUEUE_CLOSE, &id), ENOENT);
	id = 77;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_SUBMITQUEUE_CLOSE, &id), ENOENT);
	id = fx->queue;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_SUBMITQUEUE_CLOSE, &id), 0);
	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_UNMAP, 0, 0, VA_START, PAGE)), ENOENT);
}

static void
gem_new_needs_exactly_one_cache_mode(void **state)
{
	struct fx *fx = *state;
	uint32_t h;

	assert_int_equal(gem_new(fx->fd, PAGE, 0, &h), EINVAL);
	assert_int_equal(gem_new(fx->fd, PAGE, SHIM_MSM_BO_UNCACHED, &h), EINVAL);
	assert_int_equal(gem_new(fx->fd, PAGE, SHIM_MSM_BO_WC | SHIM_MSM_BO_CACHED, &h), EINVAL);
	assert_int_equal(gem_new(fx->fd, PAGE, SHIM_MSM_BO_CACHED, &h), 0);
	assert_int_equal(gem_new(fx->fd, PAGE, SHIM_MSM_BO_CACHED_COHERENT, &h), 0);
}

static void
gem_new_with_unknown_flags_or_size_0_is_einval(void **state)
{
	struct fx *fx = *state;
	uint32_t h;

	assert_int_equal(gem_new(fx->fd, PAGE, SHIM_MSM_BO_WC | 0x100, &h), EINVAL);
	assert_int_equal(gem_new(fx->fd, 0, SHIM_MSM_BO_WC, &h), EINVAL);
	/* rounds up to a page, so 1 byte is fine */
	assert_int_equal(gem_new(fx->fd, 1, SHIM_MSM_BO_WC, &h), 0);
}

static void
gem_new_no_share_before_the_vm_exists_is_einval(void **state)
{
	int fd = open_node();
	uint32_t h;

	(void)state;
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 1), 0);
	assert_int_equal(gem_new(fd, PAGE, SHIM_MSM_BO_WC | SHIM_MSM_BO_NO_SHARE, &h), EINVAL);
	assert_int_equal(gem_new(fd, PAGE, SHIM_MSM_BO_WC, &h), 0);
	close(fd);
}

static void
gem_info_get_and_set_iova_are_einval_with_vm_bind(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_gem_info i = { .handle = fx->bo, .info = SHIM_MSM_INFO_GET_IOVA };

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_GEM_INFO, &i), EINVAL);
	i.info = SHIM_MSM_INFO_SET_IOVA;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_GEM_INFO, &i), EINVAL);
	i.info = SHIM_MSM_INFO_GET_OFFSET;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_GEM_INFO, &i), 0);
}

/* ---- VM_BIND, whole-ioctl checks (3.4) ---- */

static void
vm_bind_on_a_legacy_fd_is_einval(void **state)
{
	int fd = open_node();
	struct shim_msm_vm_bind b = { .nr_ops = 0 };

	(void)state;
	assert_int_equal(xioctl(fd, SHIM_IOCTL_MSM_VM_BIND, &b), EINVAL);
	close(fd);
}

static void
vm_bind_with_unknown_flags_is_einval(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);

	b.flags = 4;
	assert_rejected(fx, &b, EINVAL);
}

static void
vm_bind_on_an_unknown_queue_is_enoent_and_on_a_normal_queue_einval(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);

	b.queue_id = 55;
	assert_rejected(fx, &b, ENOENT);
	b.queue_id = 0;
	assert_rejected(fx, &b, EINVAL);
}

static void
vm_bind_with_an_absurd_nr_ops_is_enomem_before_reading_ops(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind b = bind_args(fx, NULL, 2);

	b.nr_ops = 0xffffffffu;
	b.ops = 16;	/* never read */
	assert_rejected(fx, &b, ENOMEM);
}

static void
vm_bind_with_fence_fd_in_not_a_sync_file_is_einval(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);

	b.flags = SHIM_MSM_VM_BIND_FENCE_FD_IN;
	b.fence_fd = 0;
	assert_rejected(fx, &b, EINVAL);
}

static void
in_syncobjs_reject_bad_flags_unknown_handles_and_missing_fences(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);
	struct shim_msm_syncobj s = { .handle = syncobj_new(fx->fd, true), .flags = 2 };

	b.in_syncobjs = (uintptr_t)&s;
	b.nr_in_syncobjs = 1;
	assert_rejected(fx, &b, EINVAL);
	s.flags = 0;
	s.handle = 999;
	assert_rejected(fx, &b, ENOENT);
	s.handle = syncobj_new(fx->fd, false);
	assert_rejected(fx, &b, EINVAL);
	b.in_syncobjs = 8;
	assert_rejected(fx, &b, EFAULT);
}

static void
out_syncobjs_reject_any_flag_and_unknown_handles_with_einval(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);
	struct shim_msm_syncobj s = { .handle = syncobj_new(fx->fd, false), .flags = SHIM_MSM_SYNCOBJ_RESET };

	b.out_syncobjs = (uintptr_t)&s;
	b.nr_out_syncobjs = 1;
	assert_rejected(fx, &b, EINVAL);
	s.flags = 0;
	s.handle = 999;
	assert_rejected(fx, &b, EINVAL);
}

/* ---- VM_BIND, per-op checks ---- */

static void
an_op_flag_other_than_dump_is_einval(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);

	o.flags = 2;
	assert_op_rejected(fx, o, EINVAL);
	o.flags = SHIM_MSM_VM_BIND_OP_DUMP;
	assert_int_equal(bind1(fx, o), 0);
	assert_int_equal(page_at(fx->fd, 0, VA_START).flags, SHIM_MSM_VM_BIND_OP_DUMP);
}

static void
unaligned_iova_offset_or_range_is_einval(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START + 1, PAGE), EINVAL);
	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0x800, VA_START, PAGE), EINVAL);
	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, 0x1800), EINVAL);
}

static void
a_range_outside_the_va_window_or_overflowing_is_einval(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START - PAGE, 2 * PAGE), EINVAL);
	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_END - PAGE, 2 * PAGE), EINVAL);
	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_UNMAP, 0, 0, VA_START, -PAGE), EINVAL);
	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_END - PAGE, PAGE)), 0);
}

static void
handles_must_be_set_for_map_and_zero_otherwise(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_MAP, 0, 0, VA_START, PAGE), EINVAL);
	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_UNMAP, fx->bo, 0, VA_START, PAGE), EINVAL);
	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_MAP_NULL, fx->bo, 0, VA_START, PAGE), EINVAL);
}

static void
an_unknown_op_code_is_einval(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(3, 0, 0, VA_START, PAGE), EINVAL);
}

static void
map_null_without_prr_is_einval(void **state)
{
	struct fx *fx = *state;

	setenv("GPUVA_SHIM_MSM_PRR", "0", 1);
	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_MAP_NULL, 0, 0, VA_START, PAGE), EINVAL);
	unsetenv("GPUVA_SHIM_MSM_PRR");
	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_MAP_NULL, 0, 0, VA_START, PAGE)), 0);
	assert_page_kind(fx->fd, 0, VA_START, GPUVA_SHIM_PAGE_NULL);
}

static void
an_unknown_handle_is_einval_not_enoent(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_MAP, 999, 0, VA_START, PAGE), EINVAL);
}

static void
a_range_past_the_end_of_the_bo_is_einval(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, 0x11000), EINVAL);
	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0xf000, VA_START, 2 * PAGE), EINVAL);
	assert_op_rejected(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, -PAGE, VA_START, 2 * PAGE), EINVAL);
}

static void
a_bad_op_anywhere_in_the_array_rejects_the_whole_ioctl(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op ops[2] = {
		op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE),
		op(SHIM_MSM_VM_BIND_OP_MAP, 999, 0, VA_START + PAGE, PAGE),
	};
	struct shim_msm_vm_bind b = bind_args(fx, ops, 2);

	assert_rejected(fx, &b, EINVAL);
	b.ops = 8;
	assert_rejected(fx, &b, EFAULT);
}

/* ---- quirks: inline op, fixed stride ---- */

static void
one_op_is_read_inline_and_more_use_a_fixed_40_byte_stride(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op ops[3] = {
		op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE),
		op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, PAGE, VA_START + PAGE, PAGE),
		op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 2 * PAGE, VA_START + 2 * PAGE, PAGE),
	};
	struct shim_msm_vm_bind b = bind_args(fx, ops, 3);

	b.op_stride = 4096;	/* ignored */
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	assert_page_bo(fx->fd, 0, VA_START + 2 * PAGE, fx->bo, 2 * PAGE);
	b = bind_args(fx, ops, 1);
	b.op_stride = 0;
	b.op.iova = VA_START + 8 * PAGE;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	assert_page_bo(fx->fd, 0, VA_START + 8 * PAGE, fx->bo, 0);
	assert_int_equal(shim.page_count(fx->fd, 0), 4);
}

/* ---- semantics (2) ---- */

static void
map_over_a_mapping_replaces_it_and_unmap_may_cover_holes(void **state)
{
	struct fx *fx = *state;
	uint32_t bo2;

	assert_int_equal(gem_new(fx->fd, 0x10000, SHIM_MSM_BO_WC, &bo2), 0);
	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, 4 * PAGE)), 0);
	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_MAP, bo2, 0, VA_START + PAGE, PAGE)), 0);
	assert_page_bo(fx->fd, 0, VA_START, fx->bo, 0);
	assert_page_bo(fx->fd, 0, VA_START + PAGE, bo2, 0);
	assert_page_bo(fx->fd, 0, VA_START + 2 * PAGE, fx->bo, 2 * PAGE);
	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_UNMAP, 0, 0, VA_START + 2 * PAGE, 16 * PAGE)), 0);
	assert_int_equal(shim.page_count(fx->fd, 0), 2);
	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_UNMAP, 0, 0, VA_START + 64 * PAGE, PAGE)), 0);
}

static void
gem_close_does_not_unmap(void **state)
{
	struct fx *fx = *state;
	struct shim_drm_gem_close c = { .handle = fx->bo };

	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE)), 0);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_GEM_CLOSE, &c), 0);
	assert_page_bo(fx->fd, 0, VA_START, fx->bo, 0);
}

/* ---- syncs and fences ---- */

static void
out_syncobj_and_fence_fd_signal_when_the_job_has_run(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);
	struct shim_msm_syncobj s = { .handle = syncobj_new(fx->fd, false) };

	b.out_syncobjs = (uintptr_t)&s;
	b.nr_out_syncobjs = 1;
	b.flags = SHIM_MSM_VM_BIND_FENCE_FD_OUT;
	assert_int_equal(shim.hold(fx->fd, true), 0);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	assert_true(b.fence_fd >= 0);
	assert_int_equal(syncobj_wait1(fx->fd, s.handle, 1000000, 0), ETIME);
	assert_page_kind(fx->fd, 0, VA_START, GPUVA_SHIM_PAGE_NONE);
	assert_int_equal(shim.hold(fx->fd, false), 0);
	assert_int_equal(syncobj_wait1(fx->fd, s.handle, 1000000, 0), 0);
	assert_page_bo(fx->fd, 0, VA_START, fx->bo, 0);
	close(b.fence_fd);
}

static void
a_job_waits_for_its_in_fence_and_resets_in_syncobjs_flagged_reset(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);
	struct shim_msm_syncobj in = { .handle = syncobj_new(fx->fd, true), .flags = SHIM_MSM_SYNCOBJ_RESET };

	b.in_syncobjs = (uintptr_t)&in;
	b.nr_in_syncobjs = 1;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	assert_page_bo(fx->fd, 0, VA_START, fx->bo, 0);
	assert_int_equal(syncobj_wait1(fx->fd, in.handle, 0, 0), EINVAL);
}

/* ---- failure injection and poisoning (3.5) ---- */

static void
an_injected_ioctl_failure_returns_its_errno_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);

	setenv("GPUVA_SHIM_FAIL_BIND", "2:ENOMEM", 1);
	assert_int_equal(bind1(fx, o), 0);
	b.op.iova = VA_START + PAGE;
	assert_rejected(fx, &b, ENOMEM);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
}

static void
a_failed_job_signals_cleanly_runs_only_its_unmaps_and_then_everything_is_epipe(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op ops[2] = {
		op(SHIM_MSM_VM_BIND_OP_UNMAP, 0, 0, VA_START, PAGE),
		op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START + 4 * PAGE, PAGE),
	};
	struct shim_msm_vm_bind b = bind_args(fx, ops, 2);
	struct shim_msm_syncobj s = { .handle = syncobj_new(fx->fd, false) };
	uint64_t blob[9] = { 0 };

	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, 2 * PAGE)), 0);
	setenv("GPUVA_SHIM_FAIL_JOB", "1:ENOMEM", 1);
	b.out_syncobjs = (uintptr_t)&s;
	b.nr_out_syncobjs = 1;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	assert_int_equal(syncobj_wait1(fx->fd, s.handle, 0, 0), 0);
	assert_page_kind(fx->fd, 0, VA_START, GPUVA_SHIM_PAGE_NONE);
	assert_page_bo(fx->fd, 0, VA_START + PAGE, fx->bo, PAGE);
	assert_page_kind(fx->fd, 0, VA_START + 4 * PAGE, GPUVA_SHIM_PAGE_NONE);
	assert_rejected(fx, &b, EPIPE);
	assert_int_equal(xioctl(fx->fd, SHIM_IOC(SHIM_IOC_RW, SHIM_NR_MSM_GEM_SUBMIT, 72), blob), EPIPE);
}

/* ---- conditions CI cannot produce, behind switches (3.1, 3.4) ---- */

static void
without_a_gpu_en_vm_bind_and_vm_bind_are_enxio_and_change_nothing(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_param p = { .pipe = SHIM_MSM_PIPE_3D0, .param = SHIM_MSM_PARAM_EN_VM_BIND, .value = 1 };
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);
	uint64_t v;

	setenv("GPUVA_SHIM_MSM_NO_GPU", "1", 1);
	/* SET_PARAM: after the pipe/pad checks, before the len check */
	p.pipe = 0x11;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_SET_PARAM, &p), EINVAL);
	p.pipe = SHIM_MSM_PIPE_3D0;
	p.len = 4;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_SET_PARAM, &p), ENXIO);
	/* VM_BIND: the first whole-ioctl check, even before the queue lookup */
	assert_rejected(fx, &b, ENXIO);
	b.queue_id = 999;
	b.flags = 0x80;
	assert_rejected(fx, &b, ENXIO);
	unsetenv("GPUVA_SHIM_MSM_NO_GPU");
	assert_int_equal(get_param(fx->fd, SHIM_MSM_PARAM_EN_VM_BIND, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(bind1(fx, o), 0);
	assert_page_bo(fx->fd, 0, VA_START, fx->bo, 0);
}

static void
en_vm_bind_on_the_gpu_global_vm_is_einval_not_ebusy(void **state)
{
	uint64_t v;
	uint32_t h;

	(void)state;
	setenv("GPUVA_SHIM_MSM_NO_PPGTT", "1", 1);
	int fd = open_node();

	/* before the VM exists the mode is only recorded */
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 1), 0);
	assert_int_equal(get_param(fd, SHIM_MSM_PARAM_CHIP_ID, &v), 0);
	unsetenv("GPUVA_SHIM_MSM_NO_PPGTT");	/* read when the VM is made */
	uint64_t before = shim.digest(fd, 0);

	/* the fd now has the GPU-global VM */
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 1), EINVAL);
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 0), EINVAL);
	assert_int_equal(get_param(fd, SHIM_MSM_PARAM_VA_START, &v), EINVAL);
	assert_int_equal(get_param(fd, SHIM_MSM_PARAM_VA_SIZE, &v), EINVAL);
	assert_int_equal(gem_new(fd, PAGE, SHIM_MSM_BO_WC | SHIM_MSM_BO_NO_SHARE, &h), EINVAL);
	assert_true(shim.digest(fd, 0) == before);
	assert_int_equal(shim.page_count(fd, 0), 0);
	close(fd);
}

/* Lowers RLIMIT_NOFILE and opens fds until the table is full. */
struct full_fd_table {
	struct rlimit old;
	int fds[64];
	int n;
};

static void
fill_fd_table(struct full_fd_table *t)
{
	struct rlimit lim;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &t->old), 0);
	lim = t->old;
	lim.rlim_cur = 48;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	for (t->n = 0; t->n < (int)(sizeof(t->fds) / sizeof(t->fds[0])); t->n++) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			assert_int_equal(errno, EMFILE);
			return;
		}
		t->fds[t->n] = fd;
	}
	fail_msg("the fd table did not fill up");
}

static void
empty_fd_table(struct full_fd_table *t)
{
	while (t->n > 0) {
		close(t->fds[--t->n]);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &t->old), 0);
}

static void
a_full_fd_table_fails_fence_fd_out_with_emfile_before_the_sync_checks(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);
	struct shim_msm_syncobj s = { .handle = 999 };
	struct full_fd_table t;

	b.flags = SHIM_MSM_VM_BIND_FENCE_FD_OUT;
	fill_fd_table(&t);
	assert_rejected(fx, &b, EMFILE);
	/* the reservation comes before nr_ops, FENCE_FD_IN and syncobj checks */
	b.in_syncobjs = (uintptr_t)&s;
	b.nr_in_syncobjs = 1;
	assert_rejected(fx, &b, EMFILE);
	b.nr_ops = 0xffffffffu;
	assert_rejected(fx, &b, EMFILE);
	/* without FENCE_FD_OUT no fd is needed */
	b = bind_args(fx, &o, 1);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	empty_fd_table(&t);
	assert_page_bo(fx->fd, 0, VA_START, fx->bo, 0);
	/* a failure after the reservation gives the fd back */
	b.flags = SHIM_MSM_VM_BIND_FENCE_FD_OUT;
	b.in_syncobjs = (uintptr_t)&s;
	b.nr_in_syncobjs = 1;
	int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);

	close(probe);
	assert_rejected(fx, &b, ENOENT);
	int again = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_int_equal(again, probe);
	close(again);
}

static void
an_interrupted_queue_lock_is_eintr_after_the_queue_checks_and_before_the_in_fence(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);

	setenv("GPUVA_SHIM_EINTR_BIND", "1", 1);
	/* checks before the lock still answer first and do not reach it */
	b.queue_id = 999;
	assert_rejected(fx, &b, ENOENT);
	b.queue_id = fx->queue;
	b.nr_ops = 0xffffffffu;
	assert_rejected(fx, &b, ENOMEM);
	b = bind_args(fx, &o, 1);
	/* a bad FENCE_FD_IN is not looked at: the lock comes first */
	b.flags = SHIM_MSM_VM_BIND_FENCE_FD_IN | SHIM_MSM_VM_BIND_FENCE_FD_OUT;
	b.fence_fd = 0;
	assert_rejected(fx, &b, EINTR);
	assert_rejected(fx, &b, EINVAL);
	/* a retry of the interrupted call goes through */
	b = bind_args(fx, &o, 1);
	setenv("GPUVA_SHIM_EINTR_BIND", "1:", 1);
	assert_rejected(fx, &b, EINTR);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	assert_page_bo(fx->fd, 0, VA_START, fx->bo, 0);
}

static void
in_syncobj_points_without_timeline_support_are_eopnotsupp(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);
	struct shim_msm_syncobj s = { .handle = syncobj_new(fx->fd, true), .point = 1 };
	struct shim_drm_get_cap cap = { .capability = SHIM_DRM_CAP_SYNCOBJ_TIMELINE };

	setenv("GPUVA_SHIM_NO_TIMELINE", "1", 1);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_GET_CAP, &cap), 0);
	assert_int_equal(cap.value, 0);
	b.in_syncobjs = (uintptr_t)&s;
	b.nr_in_syncobjs = 1;
	assert_rejected(fx, &b, EOPNOTSUPP);
	/* before the flags and handle checks */
	s.flags = 2;
	s.handle = 999;
	assert_rejected(fx, &b, EOPNOTSUPP);
	/* point 0 is a binary wait and works */
	s = (struct shim_msm_syncobj){ .handle = syncobj_new(fx->fd, true) };
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	assert_page_bo(fx->fd, 0, VA_START, fx->bo, 0);
}

/* ---- more of 3.2-3.5 ---- */

static void
a_vm_bind_with_no_ops_is_a_pure_sync_point(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_syncobj s = { .handle = syncobj_new(fx->fd, false) };
	struct shim_msm_vm_bind b = bind_args(fx, NULL, 0);

	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE)), 0);
	b.out_syncobjs = (uintptr_t)&s;
	b.nr_out_syncobjs = 1;
	b.ops = 8;	/* never read */
	snap(fx);
	assert_int_equal(shim.hold(fx->fd, true), 0);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	assert_int_equal(syncobj_wait1(fx->fd, s.handle, 1000000, 0), ETIME);
	assert_int_equal(shim.hold(fx->fd, false), 0);
	assert_int_equal(syncobj_wait1(fx->fd, s.handle, 0, 0), 0);
	assert_unchanged(fx);
}

static uint64_t
last_point(int fd, uint32_t handle)
{
	uint64_t p = 0;
	struct shim_syncobj_timeline_array a = {
		.handles = (uintptr_t)&handle, .points = (uintptr_t)&p, .count_handles = 1,
	};

	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_QUERY, &a), 0);
	return p;
}

static void
out_syncobjs_replace_a_binary_fence_and_add_a_timeline_point(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_syncobj s[2] = {
		{ .handle = syncobj_new(fx->fd, true) },
		{ .handle = syncobj_new(fx->fd, false), .point = 7 },
	};
	struct shim_msm_vm_bind b = bind_args(fx, NULL, 0);

	b.out_syncobjs = (uintptr_t)s;
	b.nr_out_syncobjs = 2;
	assert_int_equal(shim.hold(fx->fd, true), 0);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	/* the signalled binary fence was replaced by the pending job's */
	assert_int_equal(syncobj_wait1(fx->fd, s[0].handle, 1000000, 0), ETIME);
	assert_int_equal(last_point(fx->fd, s[1].handle), 0);
	assert_int_equal(shim.hold(fx->fd, false), 0);
	assert_int_equal(syncobj_wait1(fx->fd, s[0].handle, 0, 0), 0);
	assert_int_equal(last_point(fx->fd, s[1].handle), 7);
}

static void
in_syncobj_points_are_truncated_to_32_bits(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);
	uint32_t h = syncobj_new(fx->fd, false);
	uint64_t one = 1;
	struct shim_syncobj_timeline_array sig = {
		.handles = (uintptr_t)&h, .points = (uintptr_t)&one, .count_handles = 1,
	};
	struct shim_msm_syncobj s = { .handle = h, .point = (1ull << 32) | 2 };

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &sig), 0);
	b.in_syncobjs = (uintptr_t)&s;
	b.nr_in_syncobjs = 1;
	/* read as point 2: not submitted yet */
	assert_rejected(fx, &b, EINVAL);
	/* read as point 1, which is signalled */
	s.point = (1ull << 32) | 1;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	assert_page_bo(fx->fd, 0, VA_START, fx->bo, 0);
}

static void
syncobj_entries_are_read_with_min_stride_16_bytes(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op o = op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE);
	struct shim_msm_vm_bind b = bind_args(fx, &o, 1);
	uint32_t narrow[4] = { syncobj_new(fx->fd, true), 0, syncobj_new(fx->fd, true), 0 };
	uint64_t wide[6] = { syncobj_new(fx->fd, true), 0, ~0ull, syncobj_new(fx->fd, true), 0, ~0ull };

	/* stride 8: handle and flags only, the point reads as 0 */
	b.in_syncobjs = (uintptr_t)narrow;
	b.nr_in_syncobjs = 2;
	b.syncobj_stride = 8;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	/* stride 24: the 8 bytes past each entry are ignored */
	b.in_syncobjs = (uintptr_t)wide;
	b.syncobj_stride = 24;
	b.op.iova = VA_START + PAGE;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_MSM_VM_BIND, &b), 0);
	assert_page_bo(fx->fd, 0, VA_START + PAGE, fx->bo, 0);
}

static void
a_job_starting_on_a_poisoned_vm_runs_only_its_unmaps(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op later[2] = {
		op(SHIM_MSM_VM_BIND_OP_UNMAP, 0, 0, VA_START, PAGE),
		op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START + 8 * PAGE, PAGE),
	};

	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, 2 * PAGE)), 0);
	assert_int_equal(shim.hold(fx->fd, true), 0);
	setenv("GPUVA_SHIM_FAIL_JOB", "1:ENOMEM", 1);
	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START + 4 * PAGE, PAGE)), 0);
	assert_int_equal(bind(fx, later, 2), 0);
	assert_int_equal(shim.hold(fx->fd, false), 0);
	assert_page_kind(fx->fd, 0, VA_START, GPUVA_SHIM_PAGE_NONE);
	assert_page_bo(fx->fd, 0, VA_START + PAGE, fx->bo, PAGE);
	assert_page_kind(fx->fd, 0, VA_START + 4 * PAGE, GPUVA_SHIM_PAGE_NONE);
	assert_page_kind(fx->fd, 0, VA_START + 8 * PAGE, GPUVA_SHIM_PAGE_NONE);
	assert_int_equal(bind1(fx, op(SHIM_MSM_VM_BIND_OP_UNMAP, 0, 0, VA_START, PAGE)), EPIPE);
}

static void
a_failure_after_the_first_op_was_applied_poisons_the_vm(void **state)
{
	struct fx *fx = *state;
	struct shim_msm_vm_bind_op ops[2] = {
		op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, 0, VA_START, PAGE),
		op(SHIM_MSM_VM_BIND_OP_MAP, fx->bo, PAGE, VA_START + PAGE, PAGE),
	};
	struct shim_msm_vm_bind b = bind_args(fx, ops, 2);

	/* at op 0 nothing was applied: the VM stays usable */
	setenv("GPUVA_SHIM_FAIL_BIND", "1:ENOMEM:0", 1);
	assert_rejected(fx, &b, ENOMEM);
	setenv("GPUVA_SHIM_FAIL_BIND", "1:ENOMEM:1", 1);
	assert_rejected(fx, &b, ENOMEM);
	assert_rejected(fx, &b, EPIPE);
	assert_page_kind(fx->fd, 0, VA_START, GPUVA_SHIM_PAGE_NONE);
}

static void
vm_bind_is_enomem_when_the_fd_s_vm_cannot_be_created(void **state)
{
	int fd = open_node();
	struct shim_msm_vm_bind b = { .nr_ops = 0, .flags = 0x80, .queue_id = 999 };
	uint64_t v;

	(void)state;
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 1), 0);
	setenv("GPUVA_SHIM_MSM_VM_ENOMEM", "1", 1);
	/* after the GPU check, before the mode, flags and queue checks */
	assert_int_equal(xioctl(fd, SHIM_IOCTL_MSM_VM_BIND, &b), ENOMEM);
	assert_int_equal(shim.page_count(fd, 0), -ENOENT);	/* still no VM */
	unsetenv("GPUVA_SHIM_MSM_VM_ENOMEM");
	/* the fd is still undecided: the mode can change, then the VM comes */
	assert_int_equal(set_param(fd, SHIM_MSM_PARAM_EN_VM_BIND, 1), 0);
	assert_int_equal(get_param(fd, SHIM_MSM_PARAM_VA_START, &v), 0);
	assert_int_equal(shim.page_count(fd, 0), 0);
	close(fd);
}

int
main(void)
{
	require_shim("msm");

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(en_vm_bind_after_any_get_param_is_ebusy),
		cmocka_unit_test(a_failing_get_param_past_its_pipe_check_still_creates_the_vm),
		cmocka_unit_test(en_vm_bind_with_a_bad_pipe_pad_or_len_is_einval),
		cmocka_unit_test(en_vm_bind_only_records_the_mode_and_is_repeatable_before_the_vm_exists),
		cmocka_unit_test(a_vm_bind_queue_refused_in_legacy_mode_creates_no_vm),
		T(va_start_va_size_and_prr_have_the_a7xx_defaults),
		T(a_vm_bind_queue_needs_prio_0_and_known_flags),
		T(submitqueue_close_of_queue_0_or_an_unknown_id_is_enoent),
		T(gem_new_needs_exactly_one_cache_mode),
		T(gem_new_with_unknown_flags_or_size_0_is_einval),
		cmocka_unit_test(gem_new_no_share_before_the_vm_exists_is_einval),
		T(gem_info_get_and_set_iova_are_einval_with_vm_bind),
		cmocka_unit_test(vm_bind_on_a_legacy_fd_is_einval),
		T(vm_bind_with_unknown_flags_is_einval),
		T(vm_bind_on_an_unknown_queue_is_enoent_and_on_a_normal_queue_einval),
		T(vm_bind_with_an_absurd_nr_ops_is_enomem_before_reading_ops),
		T(vm_bind_with_fence_fd_in_not_a_sync_file_is_einval),
		T(in_syncobjs_reject_bad_flags_unknown_handles_and_missing_fences),
		T(out_syncobjs_reject_any_flag_and_unknown_handles_with_einval),
		T(an_op_flag_other_than_dump_is_einval),
		T(unaligned_iova_offset_or_range_is_einval),
		T(a_range_outside_the_va_window_or_overflowing_is_einval),
		T(handles_must_be_set_for_map_and_zero_otherwise),
		T(an_unknown_op_code_is_einval),
		T(map_null_without_prr_is_einval),
		T(an_unknown_handle_is_einval_not_enoent),
		T(a_range_past_the_end_of_the_bo_is_einval),
		T(a_bad_op_anywhere_in_the_array_rejects_the_whole_ioctl),
		T(one_op_is_read_inline_and_more_use_a_fixed_40_byte_stride),
		T(map_over_a_mapping_replaces_it_and_unmap_may_cover_holes),
		T(gem_close_does_not_unmap),
		T(out_syncobj_and_fence_fd_signal_when_the_job_has_run),
		T(a_job_waits_for_its_in_fence_and_resets_in_syncobjs_flagged_reset),
		T(an_injected_ioctl_failure_returns_its_errno_and_changes_nothing),
		T(a_failed_job_signals_cleanly_runs_only_its_unmaps_and_then_everything_is_epipe),
		T(without_a_gpu_en_vm_bind_and_vm_bind_are_enxio_and_change_nothing),
		cmocka_unit_test(en_vm_bind_on_the_gpu_global_vm_is_einval_not_ebusy),
		T(a_full_fd_table_fails_fence_fd_out_with_emfile_before_the_sync_checks),
		T(an_interrupted_queue_lock_is_eintr_after_the_queue_checks_and_before_the_in_fence),
		T(in_syncobj_points_without_timeline_support_are_eopnotsupp),
		T(a_vm_bind_with_no_ops_is_a_pure_sync_point),
		T(out_syncobjs_replace_a_binary_fence_and_add_a_timeline_point),
		T(in_syncobj_points_are_truncated_to_32_bits),
		T(syncobj_entries_are_read_with_min_stride_16_bytes),
		T(a_job_starting_on_a_poisoned_vm_runs_only_its_unmaps),
		T(a_failure_after_the_first_op_was_applied_poisons_the_vm),
		cmocka_unit_test(vm_bind_is_enomem_when_the_fd_s_vm_cannot_be_created),
	};

	return cmocka_run_group_tests_name("msm", tests, NULL, NULL);
}
