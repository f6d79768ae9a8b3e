/* SPDX-License-Identifier: MIT */
/*
 * panthor under the fake kernel: one test per rule of docs/kernels.md
 * section 4, each checking the errno and, for VM_BIND rejections, that the
 * page record did not change (or changed only as the partial-sync rule
 * says).
 */
#include "test-common.h"

#define TYPE_MAP SHIM_PANTHOR_VM_BIND_OP_TYPE_MAP
#define TYPE_UNMAP SHIM_PANTHOR_VM_BIND_OP_TYPE_UNMAP
#define TYPE_SYNC SHIM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY
#define BASE 0x10000000ull

struct fx {
	int fd;
	uint32_t vm;
	uint64_t limit;		/* user_va_range as VM_CREATE rewrote it */
	uint32_t bo;		/* 64 KiB */
	uint64_t before;
};

static int
vm_create(int fd, uint64_t range, uint32_t *id, uint64_t *limit)
{
	struct shim_panthor_vm_create c = { .user_va_range = range };
	int ret = xioctl(fd, SHIM_IOCTL_PANTHOR_VM_CREATE, &c);

	*id = c.id;
	if (limit) {
		*limit = c.user_va_range;
	}
	return ret;
}

static int
bo_create(int fd, uint64_t size, uint32_t flags, uint32_t excl, uint32_t *handle)
{
	struct shim_panthor_bo_create c = { .size = size, .flags = flags, .exclusive_vm_id = excl };
	int ret = xioctl(fd, SHIM_IOCTL_PANTHOR_BO_CREATE, &c);

	*handle = c.handle;
	return ret;
}

static int
fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->fd = open_node();
	assert_int_equal(vm_create(fx->fd, 0, &fx->vm, &fx->limit), 0);
	assert_int_equal(bo_create(fx->fd, 0x10000, 0, 0, &fx->bo), 0);
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

static struct shim_panthor_vm_bind_op
op(uint32_t flags, uint32_t handle, uint64_t off, uint64_t va, uint64_t size)
{
	return (struct shim_panthor_vm_bind_op){ .flags = flags, .bo_handle = handle, .bo_offset = off,
						 .va = va, .size = size };
}

static struct shim_panthor_vm_bind
bind_args(const struct fx *fx, struct shim_panthor_vm_bind_op *ops, uint32_t n, bool async)
{
	return (struct shim_panthor_vm_bind){
		.vm_id = fx->vm,
		.flags = async ? SHIM_PANTHOR_VM_BIND_ASYNC : 0,
		.ops = { .stride = sizeof(*ops), .count = n, .array = (uintptr_t)ops },
	};
}

static int
bind(struct fx *fx, struct shim_panthor_vm_bind_op *ops, uint32_t n, bool async)
{
	struct shim_panthor_vm_bind b = bind_args(fx, ops, n, async);

	return xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_BIND, &b);
}

static void
assert_rejected(struct fx *fx, struct shim_panthor_vm_bind *b, int err)
{
	uint64_t before = shim.digest(fx->fd, fx->vm);

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_BIND, b), err);
	assert_true(shim.digest(fx->fd, fx->vm) == before);
}

/* The op is rejected with @err in both modes; sync mode reports index 0. */
static void
assert_op_rejected(struct fx *fx, struct shim_panthor_vm_bind_op o, int err)
{
	struct shim_panthor_vm_bind b = bind_args(fx, &o, 1, false);

	assert_rejected(fx, &b, err);
	assert_int_equal(b.ops.count, 0);
	b = bind_args(fx, &o, 1, true);
	assert_rejected(fx, &b, err);
	assert_int_equal(b.ops.count, 1);
}

static uint32_t
vm_state(struct fx *fx)
{
	struct shim_panthor_vm_get_state s = { .vm_id = fx->vm };

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_GET_STATE, &s), 0);
	return s.state;
}

/* ---- DEV_QUERY ---- */

static void
dev_query_reports_its_size_rejects_short_buffers_and_unknown_types(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_dev_query q = { .type = SHIM_PANTHOR_DEV_QUERY_GPU_INFO };
	uint8_t buf[128];

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_DEV_QUERY, &q), 0);
	assert_int_equal(q.size, sizeof(struct shim_panthor_gpu_info));
	q.pointer = (uintptr_t)buf;
	q.size = 95;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_DEV_QUERY, &q), EINVAL);
	memset(buf, 0xaa, sizeof(buf));
	q.size = sizeof(buf);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_DEV_QUERY, &q), 0);
	assert_int_equal(((struct shim_panthor_gpu_info *)buf)->mmu_features & 0xff, 48);
	assert_int_equal(buf[sizeof(buf) - 1], 0);	/* extra user bytes cleared */
	q.type = 99;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_DEV_QUERY, &q), EINVAL);
}

/* ---- VMs ---- */

static void
vm_create_rewrites_user_va_range_to_the_kernel_start(void **state)
{
	struct fx *fx = *state;
	uint32_t id;
	uint64_t limit;

	assert_int_equal(fx->limit, 1ull << 47);
	assert_int_equal(vm_create(fx->fd, 1ull << 32, &id, &limit), 0);
	assert_int_equal(limit, 1ull << 47);
	assert_int_equal(vm_create(fx->fd, (1ull << 48) - (256ull << 20), &id, &limit), 0);
	assert_int_equal(limit, (1ull << 48) - (256ull << 20));
}

static void
vm_create_rejects_flags_and_ranges_eating_the_kernel_s_256_mib(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_vm_create c = { .flags = 1 };
	uint32_t id;

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_CREATE, &c), EINVAL);
	assert_int_equal(vm_create(fx->fd, (1ull << 48) - (256ull << 20) + PAGE, &id, NULL), EINVAL);
}

static void
the_33rd_vm_is_ebusy(void **state)
{
	struct fx *fx = *state;
	uint32_t id;

	for (int i = 1; i < 32; i++) {
		assert_int_equal(vm_create(fx->fd, 0, &id, NULL), 0);
	}
	assert_int_equal(id, 32);
	assert_int_equal(vm_create(fx->fd, 0, &id, NULL), EBUSY);
}

static void
vm_destroy_rejects_unknown_ids_and_pad_and_forbids_later_binds(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_vm_destroy d = { .id = 9 };
	struct shim_panthor_vm_bind_op o = op(TYPE_MAP, fx->bo, 0, BASE, PAGE);
	struct shim_panthor_vm_get_state s = { .vm_id = 9 };

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_DESTROY, &d), EINVAL);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_GET_STATE, &s), EINVAL);
	d.id = fx->vm;
	d.pad = 1;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_DESTROY, &d), EINVAL);
	d.pad = 0;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_DESTROY, &d), 0);
	assert_int_equal(bind(fx, &o, 1, false), EINVAL);
}

/* ---- BOs ---- */

static void
bo_create_rejects_size_0_pad_flags_and_unknown_exclusive_vms(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_bo_create c = { .size = 1, .pad = 1 };
	uint32_t h;

	assert_int_equal(bo_create(fx->fd, 0, 0, 0, &h), EINVAL);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_BO_CREATE, &c), EINVAL);
	assert_int_equal(bo_create(fx->fd, PAGE, 2, 0, &h), EINVAL);
	assert_int_equal(bo_create(fx->fd, PAGE, 0, 7, &h), EINVAL);
	c.pad = 0;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_BO_CREATE, &c), 0);
	assert_int_equal(c.size, PAGE);
}

static void
bo_mmap_offset_rejects_pad_unknown_handles_and_no_mmap_bos(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_bo_mmap_offset m = { .handle = fx->bo, .pad = 1 };
	uint32_t h;

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m), EINVAL);
	m.pad = 0;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m), 0);
	m.handle = 999;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m), ENOENT);
	assert_int_equal(bo_create(fx->fd, PAGE, SHIM_PANTHOR_BO_NO_MMAP, 0, &h), 0);
	m.handle = h;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m), EPERM);
}

/* ---- VM_BIND: the ioctl ---- */

static void
vm_bind_on_an_unknown_vm_is_einval(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_vm_bind_op o = op(TYPE_MAP, fx->bo, 0, BASE, PAGE);
	struct shim_panthor_vm_bind b = bind_args(fx, &o, 1, false);

	b.vm_id = 5;
	assert_rejected(fx, &b, EINVAL);
}

static void
the_ops_array_needs_stride_48_zero_tails_and_valid_memory_and_reports_nothing(void **state)
{
	struct fx *fx = *state;
	uint8_t raw[2 * 56] = { 0 };
	struct shim_panthor_vm_bind_op o = op(TYPE_MAP, fx->bo, 0, BASE, PAGE);
	struct shim_panthor_vm_bind b = bind_args(fx, &o, 1, false);

	b.ops.stride = 40;
	assert_rejected(fx, &b, EINVAL);
	memcpy(raw, &o, sizeof(o));
	memcpy(raw + 56, &o, sizeof(o));
	raw[56 + 50] = 1;
	b.ops = (struct shim_panthor_obj_array){ .stride = 56, .count = 2, .array = (uintptr_t)raw };
	assert_rejected(fx, &b, E2BIG);
	assert_int_equal(b.ops.count, 2);
	b.ops.array = 8;
	assert_rejected(fx, &b, EFAULT);
	assert_int_equal(b.ops.count, 2);
	raw[56 + 50] = 0;
	b.ops.array = (uintptr_t)raw;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_BIND, &b), 0);
	assert_page_bo(fx->fd, fx->vm, BASE, fx->bo, 0);
}

/* ---- VM_BIND: per-op rules (4.4) ---- */

static void
unaligned_va_size_or_bo_offset_is_einval(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(TYPE_MAP, fx->bo, 0, BASE + 0x800, PAGE), EINVAL);
	assert_op_rejected(fx, op(TYPE_MAP, fx->bo, 0, BASE, 0x1800), EINVAL);
	assert_op_rejected(fx, op(TYPE_MAP, fx->bo, 0x200, BASE, PAGE), EINVAL);
}

static void
a_range_reaching_past_user_va_range_is_einval_in_both_modes_and_the_vm_stays_usable(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(TYPE_MAP, fx->bo, 0, fx->limit - PAGE, 2 * PAGE), EINVAL);
	assert_op_rejected(fx, op(TYPE_UNMAP, 0, 0, fx->limit, PAGE), EINVAL);
	assert_op_rejected(fx, op(TYPE_UNMAP, 0, 0, PAGE, -PAGE), EINVAL);
	assert_int_equal(vm_state(fx), SHIM_PANTHOR_VM_STATE_USABLE);
}

static void
an_unknown_op_type_is_einval(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(0x30000000, 0, 0, BASE, PAGE), EINVAL);
}

static void
map_rejects_unknown_flags_bad_handles_short_bos_and_foreign_exclusive_bos(void **state)
{
	struct fx *fx = *state;
	uint32_t vm2, excl;

	assert_op_rejected(fx, op(TYPE_MAP | 0x8, fx->bo, 0, BASE, PAGE), EINVAL);
	assert_op_rejected(fx, op(TYPE_MAP, 999, 0, BASE, PAGE), EINVAL);
	assert_op_rejected(fx, op(TYPE_MAP, fx->bo, 0, BASE, 0x11000), EINVAL);
	assert_op_rejected(fx, op(TYPE_MAP, fx->bo, 0xf000, BASE, 2 * PAGE), EINVAL);
	assert_int_equal(vm_create(fx->fd, 0, &vm2, NULL), 0);
	assert_int_equal(bo_create(fx->fd, PAGE, 0, vm2, &excl), 0);
	assert_op_rejected(fx, op(TYPE_MAP, excl, 0, BASE, PAGE), EINVAL);
	struct shim_panthor_vm_bind_op ok = op(TYPE_MAP | 0x7, fx->bo, 0, BASE, PAGE);

	assert_int_equal(bind(fx, &ok, 1, false), 0);
	assert_int_equal(page_at(fx->fd, fx->vm, BASE).flags, 0x7);
}

static void
unmap_rejects_flags_handles_and_offsets(void **state)
{
	struct fx *fx = *state;

	assert_op_rejected(fx, op(TYPE_UNMAP | 1, 0, 0, BASE, PAGE), EINVAL);
	assert_op_rejected(fx, op(TYPE_UNMAP, fx->bo, 0, BASE, PAGE), EINVAL);
	assert_op_rejected(fx, op(TYPE_UNMAP, 0, PAGE, BASE, PAGE), EINVAL);
}

static void
sync_only_rejects_flags_fields_and_an_empty_sync_array(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_sync_op s = { .flags = SHIM_PANTHOR_SYNC_OP_SIGNAL, .handle = syncobj_new(fx->fd, false) };
	struct shim_panthor_vm_bind_op o = op(TYPE_SYNC, 0, 0, 0, 0);
	struct shim_panthor_vm_bind b = bind_args(fx, &o, 1, true);

	assert_rejected(fx, &b, EINVAL);	/* no syncs */
	o.syncs = (struct shim_panthor_obj_array){ .stride = sizeof(s), .count = 1, .array = (uintptr_t)&s };
	o.flags = TYPE_SYNC | 1;
	assert_rejected(fx, &b, EINVAL);
	o.flags = TYPE_SYNC;
	o.va = BASE;
	assert_rejected(fx, &b, EINVAL);
	o.va = 0;
	o.bo_handle = fx->bo;
	assert_rejected(fx, &b, EINVAL);
	o.bo_handle = 0;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_BIND, &b), 0);
	assert_int_equal(syncobj_wait1(fx->fd, s.handle, 0, 0), 0);
}

/* ---- sync mode (4.3) ---- */

static void
a_sync_op_with_syncs_is_einval(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_sync_op s = { .handle = syncobj_new(fx->fd, true) };
	struct shim_panthor_vm_bind_op o = op(TYPE_MAP, fx->bo, 0, BASE, PAGE);
	struct shim_panthor_vm_bind b = bind_args(fx, &o, 1, false);

	o.syncs = (struct shim_panthor_obj_array){ .stride = sizeof(s), .count = 1, .array = (uintptr_t)&s };
	assert_rejected(fx, &b, EINVAL);
	assert_int_equal(b.ops.count, 0);
}

static void
a_sync_op_of_size_0_is_skipped_unchecked(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_vm_bind_op o = op(0x70000000 | 0x55, 999, 0x123, 0x777, 0);

	assert_int_equal(bind(fx, &o, 1, false), 0);
	assert_int_equal(shim.page_count(fx->fd, fx->vm), 0);
}

static void
a_failing_sync_op_writes_its_index_back_and_earlier_ops_stay_applied(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_vm_bind_op ops[3] = {
		op(TYPE_MAP, fx->bo, 0, BASE, PAGE),
		op(TYPE_MAP, fx->bo, 0, BASE + PAGE, PAGE),
		op(TYPE_MAP, 999, 0, BASE + 2 * PAGE, PAGE),
	};
	struct shim_panthor_vm_bind b = bind_args(fx, ops, 3, false);

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_BIND, &b), EINVAL);
	assert_int_equal(b.ops.count, 2);
	assert_int_equal(shim.page_count(fx->fd, fx->vm), 2);
	assert_int_equal(vm_state(fx), SHIM_PANTHOR_VM_STATE_USABLE);
}

static void
an_injected_sync_failure_at_op_1_keeps_op_0(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_vm_bind_op ops[2] = {
		op(TYPE_MAP, fx->bo, 0, BASE, PAGE),
		op(TYPE_MAP, fx->bo, 0, BASE + PAGE, PAGE),
	};
	struct shim_panthor_vm_bind b = bind_args(fx, ops, 2, false);

	setenv("GPUVA_SHIM_FAIL_BIND", "1:ENOMEM:1", 1);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_BIND, &b), ENOMEM);
	assert_int_equal(b.ops.count, 1);
	assert_page_bo(fx->fd, fx->vm, BASE, fx->bo, 0);
	assert_page_kind(fx->fd, fx->vm, BASE + PAGE, GPUVA_SHIM_PAGE_NONE);
}

/* ---- async mode ---- */

static void
an_invalid_async_op_leaves_the_earlier_ones_unapplied(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_vm_bind_op ops[2] = {
		op(TYPE_MAP, fx->bo, 0, BASE, PAGE),
		op(TYPE_MAP, 999, 0, BASE + PAGE, PAGE),
	};
	struct shim_panthor_vm_bind b = bind_args(fx, ops, 2, true);

	assert_rejected(fx, &b, EINVAL);
	assert_int_equal(b.ops.count, 2);
	assert_int_equal(shim.page_count(fx->fd, fx->vm), 0);
}

static void
sync_ops_reject_bad_flags_types_and_binary_points(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_sync_op s = { .handle = syncobj_new(fx->fd, true) };
	struct shim_panthor_vm_bind_op o = op(TYPE_MAP, fx->bo, 0, BASE, PAGE);
	struct shim_panthor_vm_bind b = bind_args(fx, &o, 1, true);

	o.syncs = (struct shim_panthor_obj_array){ .stride = sizeof(s), .count = 1, .array = (uintptr_t)&s };
	s.flags = 0x100;
	assert_rejected(fx, &b, EINVAL);
	s.flags = 2;
	assert_rejected(fx, &b, EINVAL);
	s.flags = SHIM_PANTHOR_SYNC_OP_SYNCOBJ;
	s.timeline_value = 3;
	assert_rejected(fx, &b, EINVAL);
	s.timeline_value = 0;
	o.syncs.stride = 8;
	assert_rejected(fx, &b, EINVAL);
}

static void
signal_on_an_unknown_handle_is_einval_and_wait_on_one_enoent(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_sync_op s = { .flags = SHIM_PANTHOR_SYNC_OP_SIGNAL, .handle = 999 };
	struct shim_panthor_vm_bind_op o = op(TYPE_MAP, fx->bo, 0, BASE, PAGE);
	struct shim_panthor_vm_bind b = bind_args(fx, &o, 1, true);

	o.syncs = (struct shim_panthor_obj_array){ .stride = sizeof(s), .count = 1, .array = (uintptr_t)&s };
	assert_rejected(fx, &b, EINVAL);
	s.flags = 0;
	assert_rejected(fx, &b, ENOENT);
	s.handle = syncobj_new(fx->fd, false);
	assert_rejected(fx, &b, EINVAL);	/* no fence yet */
}

static void
a_wait_may_use_an_earlier_op_s_signal_but_not_a_later_one_s(void **state)
{
	struct fx *fx = *state;
	uint32_t h = syncobj_new(fx->fd, false);
	struct shim_panthor_sync_op sig = { .flags = SHIM_PANTHOR_SYNC_OP_SIGNAL, .handle = h };
	struct shim_panthor_sync_op wait = { .handle = h };
	struct shim_panthor_vm_bind_op ops[2] = {
		op(TYPE_MAP, fx->bo, 0, BASE, PAGE),
		op(TYPE_MAP, fx->bo, 0, BASE + PAGE, PAGE),
	};
	struct shim_panthor_vm_bind b = bind_args(fx, ops, 2, true);

	ops[0].syncs = (struct shim_panthor_obj_array){ sizeof(wait), 1, (uintptr_t)&wait };
	ops[1].syncs = (struct shim_panthor_obj_array){ sizeof(sig), 1, (uintptr_t)&sig };
	assert_rejected(fx, &b, EINVAL);
	ops[0].syncs.array = (uintptr_t)&sig;
	ops[1].syncs.array = (uintptr_t)&wait;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_BIND, &b), 0);
	assert_int_equal(shim.page_count(fx->fd, fx->vm), 2);
}

static void
a_bad_wait_sync_is_reported_only_when_every_op_and_signal_is_valid(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_sync_op w = { .handle = 999 };
	struct shim_panthor_sync_op sig = { .flags = SHIM_PANTHOR_SYNC_OP_SIGNAL, .handle = 998 };
	struct shim_panthor_vm_bind_op ops[2] = {
		op(TYPE_MAP, fx->bo, 0, BASE, PAGE),
		op(TYPE_MAP, fx->bo, 0, BASE + PAGE + 1, PAGE),
	};
	struct shim_panthor_vm_bind b = bind_args(fx, ops, 2, true);

	ops[0].syncs = (struct shim_panthor_obj_array){ .stride = sizeof(w), .count = 1, .array = (uintptr_t)&w };
	/* a later invalid op wins over op 0's unknown wait handle */
	assert_rejected(fx, &b, EINVAL);
	/* so does a later op's unknown signal handle (EINVAL, not ENOENT) */
	ops[1].va = BASE + PAGE;
	ops[1].syncs = (struct shim_panthor_obj_array){ .stride = sizeof(sig), .count = 1,
							.array = (uintptr_t)&sig };
	assert_rejected(fx, &b, EINVAL);
	sig.handle = syncobj_new(fx->fd, false);
	assert_rejected(fx, &b, ENOENT);
	w.handle = syncobj_new(fx->fd, true);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_PANTHOR_VM_BIND, &b), 0);
	assert_page_bo(fx->fd, fx->vm, BASE + PAGE, fx->bo, 0);
}

static void
signal_syncs_signal_when_the_op_s_job_has_run(void **state)
{
	struct fx *fx = *state;
	uint32_t h = syncobj_new(fx->fd, false);
	uint64_t point = 4;
	struct shim_panthor_sync_op sig = {
		.flags = SHIM_PANTHOR_SYNC_OP_SIGNAL | SHIM_PANTHOR_SYNC_OP_TIMELINE_SYNCOBJ,
		.handle = h, .timeline_value = point,
	};
	struct shim_panthor_vm_bind_op o = op(TYPE_MAP, fx->bo, 0, BASE, PAGE);

	o.syncs = (struct shim_panthor_obj_array){ sizeof(sig), 1, (uintptr_t)&sig };
	assert_int_equal(shim.hold(fx->fd, true), 0);
	assert_int_equal(bind(fx, &o, 1, true), 0);
	assert_page_kind(fx->fd, fx->vm, BASE, GPUVA_SHIM_PAGE_NONE);
	struct shim_syncobj_timeline_wait w = { .handles = (uintptr_t)&h, .points = (uintptr_t)&point,
						.count_handles = 1 };

	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &w), ETIME);
	assert_int_equal(shim.hold(fx->fd, false), 0);
	w.timeout_nsec = INT64_MAX;
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &w), 0);
	assert_page_bo(fx->fd, fx->vm, BASE, fx->bo, 0);
}

/* ---- semantics and failures ---- */

static void
map_over_a_mapping_replaces_it_and_unmap_may_cover_holes(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_vm_bind_op ops[3] = {
		op(TYPE_MAP, fx->bo, 0, BASE, 4 * PAGE),
		op(TYPE_MAP, fx->bo, 8 * PAGE, BASE + PAGE, PAGE),
		op(TYPE_UNMAP, 0, 0, BASE + 2 * PAGE, 64 * PAGE),
	};

	assert_int_equal(bind(fx, ops, 3, false), 0);
	assert_page_bo(fx->fd, fx->vm, BASE, fx->bo, 0);
	assert_page_bo(fx->fd, fx->vm, BASE + PAGE, fx->bo, 8 * PAGE);
	assert_int_equal(shim.page_count(fx->fd, fx->vm), 2);
}

static void
gem_close_does_not_unmap(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_vm_bind_op o = op(TYPE_MAP, fx->bo, 0, BASE, PAGE);
	struct shim_drm_gem_close c = { .handle = fx->bo };

	assert_int_equal(bind(fx, &o, 1, false), 0);
	assert_int_equal(xioctl(fx->fd, SHIM_IOCTL_GEM_CLOSE, &c), 0);
	assert_page_bo(fx->fd, fx->vm, BASE, fx->bo, 0);
	assert_op_rejected(fx, op(TYPE_MAP, fx->bo, 0, BASE + PAGE, PAGE), EINVAL);
}

static void
a_failed_async_job_makes_the_vm_unusable_but_sync_unmap_still_works(void **state)
{
	struct fx *fx = *state;
	struct shim_panthor_vm_bind_op m = op(TYPE_MAP, fx->bo, 0, BASE, PAGE);
	struct shim_panthor_vm_bind_op u = op(TYPE_UNMAP, 0, 0, BASE, PAGE);

	assert_int_equal(bind(fx, &m, 1, false), 0);
	setenv("GPUVA_SHIM_FAIL_JOB", "1:ENOMEM", 1);
	m.va = BASE + PAGE;
	assert_int_equal(bind(fx, &m, 1, true), 0);
	assert_page_kind(fx->fd, fx->vm, BASE + PAGE, GPUVA_SHIM_PAGE_NONE);
	assert_int_equal(vm_state(fx), SHIM_PANTHOR_VM_STATE_UNUSABLE);
	assert_int_equal(bind(fx, &u, 1, true), EINVAL);
	assert_int_equal(bind(fx, &m, 1, false), EINVAL);
	assert_int_equal(bind(fx, &u, 1, false), 0);
	assert_int_equal(shim.page_count(fx->fd, fx->vm), 0);
}

int
main(void)
{
	require_shim("panthor");

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(dev_query_reports_its_size_rejects_short_buffers_and_unknown_types),
		T(vm_create_rewrites_user_va_range_to_the_kernel_start),
		T(vm_create_rejects_flags_and_ranges_eating_the_kernel_s_256_mib),
		T(the_33rd_vm_is_ebusy),
		T(vm_destroy_rejects_unknown_ids_and_pad_and_forbids_later_binds),
		T(bo_create_rejects_size_0_pad_flags_and_unknown_exclusive_vms),
		T(bo_mmap_offset_rejects_pad_unknown_handles_and_no_mmap_bos),
		T(vm_bind_on_an_unknown_vm_is_einval),
		T(the_ops_array_needs_stride_48_zero_tails_and_valid_memory_and_reports_nothing),
		T(unaligned_va_size_or_bo_offset_is_einval),
		T(a_range_reaching_past_user_va_range_is_einval_in_both_modes_and_the_vm_stays_usable),
		T(an_unknown_op_type_is_einval),
		T(map_rejects_unknown_flags_bad_handles_short_bos_and_foreign_exclusive_bos),
		T(unmap_rejects_flags_handles_and_offsets),
		T(sync_only_rejects_flags_fields_and_an_empty_sync_array),
		T(a_sync_op_with_syncs_is_einval),
		T(a_sync_op_of_size_0_is_skipped_unchecked),
		T(a_failing_sync_op_writes_its_index_back_and_earlier_ops_stay_applied),
		T(an_injected_sync_failure_at_op_1_keeps_op_0),
		T(an_invalid_async_op_leaves_the_earlier_ones_unapplied),
		T(sync_ops_reject_bad_flags_types_and_binary_points),
		T(signal_on_an_unknown_handle_is_einval_and_wait_on_one_enoent),
		T(a_wait_may_use_an_earlier_op_s_signal_but_not_a_later_one_s),
		T(a_bad_wait_sync_is_reported_only_when_every_op_and_signal_is_valid),
		T(signal_syncs_signal_when_the_op_s_job_has_run),
		T(map_over_a_mapping_replaces_it_and_unmap_may_cover_holes),
		T(gem_close_does_not_unmap),
		T(a_failed_async_job_makes_the_vm_unusable_but_sync_unmap_still_works),
	};

	return cmocka_run_group_tests_name("panthor", tests, NULL, NULL);
}
