/* SPDX-License-Identifier: MIT */
/*
 * The msm backend against the fake kernel: set-up as the kernel demands,
 * one commit as one VM_BIND, both ways of making NULL mappings, sync
 * points and fences, every rule the library checks before the ioctl, and
 * what failures leave (the mirror equal to the kernel, or the VM lost and
 * saying so). Each test ends with the mirror compared page by page with
 * the fake kernel's record.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xf86drm.h>

#include "fixture.h"

#define VA_START 0x100000000ull
#define VA_SIZE 0xffff00000000ull

static char logged[512];

static void
log_fn(void *priv, const char *reason)
{
	(void)priv;
	snprintf(logged, sizeof(logged), "%s", reason);
}

static void
assert_reason(const char *reason, const char *part)
{
	if (!strstr(reason, part))
		fail_msg("reason '%s' does not say '%s'", reason, part);
}

static int
setup_no_prr(void **state)
{
	setenv("GPUVA_SHIM_MSM_PRR", "0", 1);
	return fx_setup(state);
}

static int
setup_no_timeline(void **state)
{
	setenv("GPUVA_SHIM_NO_TIMELINE", "1", 1);
	return fx_setup(state);
}

/* No VM yet: only the device. */
static int
setup_device(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct gpuva_drm_open_desc od = { .path = RENDER_NODE };

	assert_int_equal(gpuva_drm_open(&od, &fx->dev), 0);
	fx->be = gpuva_drm_backend(fx->dev);
	fx->fd = gpuva_drm_fd(fx->dev);
	fx->base = VA_START;
	memset(&io, 0, sizeof(io));
	*state = fx;
	return 0;
}

static int
get_param(int fd, uint32_t param, uint64_t *value)
{
	struct msm_param p = { .pipe = MSM_PIPE_3D0, .param = param };
	int ret = drmIoctl(fd, MSM_IOCTL_GET_PARAM, &p) ? errno : 0;

	*value = p.value;
	return ret;
}

static int
create_on(int fd, struct gpuva_backend **be)
{
	struct gpuva_backend_desc d = { .fd = fd, .log_fn = log_fn };

	logged[0] = '\0';
	return gpuva_backend_create("msm", &d, be);
}

/* ---- set-up (docs/kernels.md 3.1) -------------------------------------------- */

static void
the_backend_leaves_the_fd_in_vm_bind_mode_with_its_vm_created(void **state)
{
	struct fx *fx = *state;
	struct msm_param en = {
		.pipe = MSM_PIPE_3D0, .param = MSM_PARAM_EN_VM_BIND, .value = 1,
	};
	uint64_t mode;

	assert_int_equal(get_param(fx->fd, MSM_PARAM_EN_VM_BIND, &mode), 0);
	assert_int_equal(mode, 1);
	/* the VM exists, so the mode is fixed for the fd's life */
	assert_int_equal(drmIoctl(fx->fd, MSM_IOCTL_SET_PARAM, &en), -1);
	assert_int_equal(errno, EBUSY);
}

static void
a_backend_on_an_fd_whose_vm_exists_already_is_ebusy_and_says_why(void **state)
{
	int fd = open(RENDER_NODE, O_RDWR | O_CLOEXEC);
	struct gpuva_backend *be = NULL;
	uint64_t v;

	(void)state;
	/* any GET_PARAM creates a kernel-managed VM */
	assert_int_equal(get_param(fd, MSM_PARAM_VA_START, &v), 0);
	assert_int_equal(create_on(fd, &be), -EBUSY);
	assert_null(be);
	assert_reason(logged, "enable VM_BIND right after open()");
	close(fd);
}

static void
a_backend_on_a_file_that_is_no_drm_device_is_enodev(void **state)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct gpuva_backend *be = NULL;

	(void)state;
	assert_int_equal(create_on(fd, &be), -ENODEV);
	assert_reason(logged, "not a DRM device");
	close(fd);
}

static void
a_backend_takes_neither_a_page_size_nor_flags(void **state)
{
	int fd = open(RENDER_NODE, O_RDWR | O_CLOEXEC);
	struct gpuva_backend_desc d = { .fd = fd, .page_size = 0x1000, .log_fn = log_fn };
	struct gpuva_backend *be = NULL;

	(void)state;
	assert_int_equal(gpuva_backend_create("msm", &d, &be), -EINVAL);
	d.page_size = 0;
	d.flags = 1;
	assert_int_equal(gpuva_backend_create("msm", &d, &be), -EINVAL);
	assert_reason(logged, "must be 0");
	/* refused before anything reached the device: it still sets up */
	d.flags = 0;
	assert_int_equal(gpuva_backend_create("msm", &d, &be), 0);
	gpuva_backend_destroy(be);
	close(fd);
}

static void
without_a_gpu_the_node_cannot_do_vm_bind_and_says_why(void **state)
{
	struct gpuva_drm_node node;
	int fd;
	struct gpuva_backend *be = NULL;

	(void)state;
	setenv("GPUVA_SHIM_MSM_NO_GPU", "1", 1);
	assert_int_equal(gpuva_drm_probe(RENDER_NODE, &node), 0);
	assert_false(node.vm_bind);
	assert_reason(node.why, "EN_VM_BIND");
	assert_reason(node.why, "no GPU");
	fd = open(RENDER_NODE, O_RDWR | O_CLOEXEC);
	assert_int_equal(create_on(fd, &be), -ENXIO);
	assert_reason(logged, "no GPU");
	close(fd);
	unsetenv("GPUVA_SHIM_MSM_NO_GPU");
}

static void
without_per_process_page_tables_the_node_cannot_do_vm_bind(void **state)
{
	struct gpuva_drm_node node;

	(void)state;
	setenv("GPUVA_SHIM_MSM_NO_PPGTT", "1", 1);
	assert_int_equal(gpuva_drm_probe(RENDER_NODE, &node), 0);
	assert_false(node.vm_bind);
	assert_reason(node.why, "VA_START");
	assert_reason(node.why, "no per-process page tables");
	unsetenv("GPUVA_SHIM_MSM_NO_PPGTT");
}

/*
 * VM_BIND came with msm 1.13.0 (Linux 6.17). An older driver is refused by
 * the probe and by the backend, before anything sets the fd's mode; 1.13.0
 * and anything later are taken.
 */
static void
a_driver_before_1_13_has_no_vm_bind_and_the_fd_keeps_its_mode(void **state)
{
	static const char *const before[] = { "1.12.9", "0.99.0" };
	static const char *const since[] = { "1.13.0", "1.14.2", "2.0.0" };
	struct gpuva_drm_node node;
	struct gpuva_backend *be = NULL;
	uint64_t mode;
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
		setenv("GPUVA_SHIM_VERSION", before[i], 1);
		assert_int_equal(gpuva_drm_probe(RENDER_NODE, &node), 0);
		assert_false(node.vm_bind);
		assert_reason(node.why, before[i]);
		assert_reason(node.why, "< 1.13.0");
		fd = open(RENDER_NODE, O_RDWR | O_CLOEXEC);
		assert_int_equal(create_on(fd, &be), -ENODEV);
		assert_null(be);
		assert_reason(logged, before[i]);
		assert_reason(logged, "< 1.13.0 has no VM_BIND");
		/* not switched to VM_BIND: the fd is as open() left it */
		assert_int_equal(get_param(fd, MSM_PARAM_EN_VM_BIND, &mode), 0);
		assert_int_equal(mode, 0);
		close(fd);
	}
	for (size_t i = 0; i < sizeof(since) / sizeof(since[0]); i++) {
		setenv("GPUVA_SHIM_VERSION", since[i], 1);
		assert_int_equal(gpuva_drm_probe(RENDER_NODE, &node), 0);
		assert_true(node.vm_bind);
		assert_string_equal(node.why, "");
		fd = open(RENDER_NODE, O_RDWR | O_CLOEXEC);
		assert_int_equal(create_on(fd, &be), 0);
		gpuva_backend_destroy(be);
		be = NULL;
		close(fd);
	}
	unsetenv("GPUVA_SHIM_VERSION");
}

/* ---- discovery (drm.h) ------------------------------------------------------- */

static void
discovery_lists_the_node_with_its_window_page_size_and_null_mode(void **state)
{
	struct gpuva_drm_node *nodes;
	size_t n;

	(void)state;
	assert_int_equal(gpuva_drm_list(&nodes, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(nodes[0].path, RENDER_NODE);
	assert_string_equal(nodes[0].driver, "msm");
	assert_int_equal(nodes[0].version[0], 1);
	assert_int_equal(nodes[0].version[1], 13);
	assert_true(nodes[0].vm_bind);
	assert_string_equal(nodes[0].why, "");
	assert_int_equal(nodes[0].va_start, VA_START);
	assert_int_equal(nodes[0].va_range, VA_SIZE);
	assert_int_equal(nodes[0].page_size, sysconf(_SC_PAGESIZE));
	assert_string_equal(nodes[0].null_mode, "MAP_NULL (PRR)");
	gpuva_drm_list_free(nodes);
}

static void
without_prr_the_node_says_null_mappings_use_a_zero_bo(void **state)
{
	struct gpuva_drm_node node;

	(void)state;
	setenv("GPUVA_SHIM_MSM_PRR", "0", 1);
	assert_int_equal(gpuva_drm_probe(RENDER_NODE, &node), 0);
	assert_true(node.vm_bind);
	assert_reason(node.null_mode, "zero BO");
	unsetenv("GPUVA_SHIM_MSM_PRR");
}

static void
opening_without_a_path_finds_the_first_msm_node(void **state)
{
	struct gpuva_drm_open_desc od = { .driver = "msm" };
	struct gpuva_drm_device *dev;

	(void)state;
	assert_int_equal(gpuva_drm_open(&od, &dev), 0);
	assert_string_equal(gpuva_drm_device_node(dev)->path, RENDER_NODE);
	assert_string_equal(gpuva_backend_name(gpuva_drm_backend(dev)), "msm");
	gpuva_drm_close(dev);
	od.driver = "panthor";
	assert_int_equal(gpuva_drm_open(&od, &dev), -ENODEV);
}

/* ---- VMs ------------------------------------------------------------------------ */

static void
a_vm_without_a_range_covers_the_whole_window_in_cpu_pages(void **state)
{
	struct fx *fx = *state;
	struct gpuva_vm_info info;

	gpuva_vm_get_info(fx->vm, &info);
	assert_int_equal(info.start, VA_START);
	assert_int_equal(info.range, VA_SIZE);
	assert_int_equal(info.page_size, sysconf(_SC_PAGESIZE));
}

static void
a_vm_may_cover_part_of_the_window(void **state)
{
	struct fx fx;
	struct gpuva_vm_info info;

	(void)state;
	fx_open(&fx, 0x100000);
	gpuva_vm_get_info(fx.vm, &info);
	assert_int_equal(info.start, VA_START);
	assert_int_equal(info.range, 0x100000);
	assert_int_equal(fx_batch(&fx, NULL, "map 0xff000 0x1000 1 0x0"), 0);
	fx_assert_kernel_is_mirror(&fx);
	fx_close(&fx);
}

static void
a_vm_outside_the_window_is_einval_and_names_the_window(void **state)
{
	struct fx *fx = *state;
	static const struct gpuva_vm_desc bad[] = {
		{ .start = 0, .range = 0x100000000 },
		{ .start = VA_START - 0x1000, .range = 0x2000 },
		{ .start = VA_START, .range = VA_SIZE + 0x1000 },
		{ .start = VA_START + VA_SIZE - 0x1000, .range = 0x2000 },
		{ .start = VA_START + VA_SIZE, .range = 0x1000 },
		{ .start = 0x2000, .range = 0 },
	};
	struct gpuva_vm *vm = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(gpuva_drm_vm_create(fx->dev, &bad[i], &vm), -EINVAL);
		assert_null(vm);
		assert_reason(gpuva_backend_last_error(fx->be),
			      "not inside msm's VA window 0x100000000 +0xffff00000000");
	}
	/* the window's last page is inside */
	assert_int_equal(gpuva_drm_vm_create(fx->dev, &(struct gpuva_vm_desc) {
		.start = VA_START + VA_SIZE - 0x1000, .range = 0x1000 }, &fx->vm), 0);
}

static void
a_page_size_that_is_no_multiple_of_the_cpu_s_is_einval(void **state)
{
	struct fx *fx = *state;
	struct gpuva_vm_desc d = { .page_size = 0x800 };
	struct gpuva_vm_info info;

	assert_int_equal(gpuva_drm_vm_create(fx->dev, &d, &fx->vm), -EINVAL);
	assert_reason(gpuva_backend_last_error(fx->be), "multiple of the kernel's");
	d.page_size = 0x10000;
	assert_int_equal(gpuva_drm_vm_create(fx->dev, &d, &fx->vm), 0);
	gpuva_vm_get_info(fx->vm, &info);
	assert_int_equal(info.page_size, 0x10000);
}

static void
a_second_vm_is_ebusy_until_the_first_is_destroyed_which_empties_the_kernel_vm(void **state)
{
	struct fx *fx = *state;
	struct gpuva_vm *second = NULL;

	assert_int_equal(fx_batch(fx, NULL, "map 0x0 0x4000 1 0x0; map 0x10000 0x2000 0 0x0"), 0);
	assert_int_equal(gpuva_drm_vm_create(fx->dev, NULL, &second), -EBUSY);
	assert_reason(gpuva_backend_last_error(fx->be), "one VM per fd");
	gpuva_vm_destroy(fx->vm);
	fx->vm = NULL;
	assert_int_equal(shim.page_count(fx->fd, 0), 0);
	assert_int_equal(gpuva_drm_vm_create(fx->dev, NULL, &fx->vm), 0);
}

/* ---- commits as VM_BINDs (3.2) ------------------------------------------------ */

static void
a_commit_is_one_vm_bind_of_the_net_effect_sorted_by_address(void **state)
{
	struct fx *fx = *state;
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC };

	assert_int_equal(fx_batch(fx, &c, "map 0x40000 0x10000 2 0x0;"
				  "map 0x0 0x10000 1 0x0;"
				  "map 0x20000 0x4000 0 0x0;"
				  "unmap 0x0 0x1000"), 0);
	assert_int_equal(io.vm_binds, 1);
	/* the unmap of a page that was empty before is no op at all */
	assert_int_equal(c.net_count, 3);
	assert_int_equal(io.last.nr_ops, 3);
	assert_int_equal(io.last.op_stride, sizeof(struct msm_vm_bind_op));
	assert_int_equal(io.last.syncobj_stride, sizeof(struct msm_syncobj));
	assert_int_equal(io.ops[0].op, MSM_VM_BIND_OP_MAP);
	assert_int_equal(io.ops[0].iova, fx->base + 0x1000);
	assert_int_equal(io.ops[0].obj_offset, 0x1000);
	assert_int_equal(io.ops[0].handle, fx->bos[1]->handle);
	assert_int_equal(io.ops[1].op, MSM_VM_BIND_OP_MAP_NULL);
	assert_int_equal(io.ops[1].iova, fx->base + 0x20000);
	assert_int_equal(io.ops[2].iova, fx->base + 0x40000);
	assert_int_equal(io.ops[2].handle, fx->bos[2]->handle);
	fx_assert_kernel_is_mirror(fx);
}

static void
a_single_op_travels_inline_in_the_ioctl(void **state)
{
	struct fx *fx = *state;
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC };

	assert_int_equal(fx_batch(fx, &c, "map 0x3000 0x2000 2 0x5000"), 0);
	assert_int_equal(io.last.nr_ops, 1);
	assert_int_equal(io.last.op.op, MSM_VM_BIND_OP_MAP);
	assert_int_equal(io.last.op.iova, fx->base + 0x3000);
	assert_int_equal(io.last.op.range, 0x2000);
	assert_int_equal(io.last.op.obj_offset, 0x5000);
	assert_int_equal(io.last.op.handle, fx->bos[2]->handle);
	fx_assert_kernel_is_mirror(fx);
}

static void
a_batch_that_changes_nothing_makes_no_ioctl_unless_it_signals(void **state)
{
	struct fx *fx = *state;
	struct gpuva_sync s = { .point = 2 };
	struct gpuva_commit c = { .signal_count = 1, .signals = &s };

	assert_int_equal(fx_batch(fx, NULL, "map 0x0 0x1000 1 0x0; unmap 0x0 0x1000"), 0);
	assert_int_equal(io.vm_binds, 0);
	/* its signal must still come after the jobs before it */
	assert_int_equal(gpuva_backend_sync_create(fx->be, &s.handle), 0);
	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x1000 1 0x0; unmap 0x0 0x1000"), 0);
	assert_int_equal(io.vm_binds, 2);	/* a zero-op bind, then the check */
	assert_int_equal(io.op_binds, 0);
	assert_int_equal(gpuva_backend_sync_wait(fx->be, &s, 1, 0), 0);
	fx_assert_kernel_is_mirror(fx);
	gpuva_backend_sync_destroy(fx->be, s.handle);
}

static void
a_map_carries_its_bo_handle_offset_and_the_dump_flag(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(fx_batch(fx, NULL, "map 0x10000 0x8000 1 0x4000 dump"), 0);
	assert_int_equal(io.ops[0].flags, MSM_VM_BIND_OP_DUMP);
	assert_int_equal(gpuva_driver_flags(gpuva_vm_find_at(fx->vm, fx->base + 0x10000)),
			 MSM_VM_BIND_OP_DUMP);
	fx_assert_kernel_is_mirror(fx);
	/* the same range again without DUMP is a change the kernel gets */
	assert_int_equal(fx_batch(fx, NULL, "map 0x10000 0x8000 1 0x4000"), 0);
	assert_int_equal(io.op_binds, 2);
	assert_int_equal(io.ops[0].flags, 0);
	fx_assert_kernel_is_mirror(fx);
}

static void
a_null_mapping_is_map_null_when_the_gpu_has_prr(void **state)
{
	struct fx *fx = *state;
	struct gpuva_shim_page p;

	assert_int_equal(fx_batch(fx, NULL, "map 0x0 0x5000 0 0x0 dump"), 0);
	assert_int_equal(io.ops[0].op, MSM_VM_BIND_OP_MAP_NULL);
	assert_int_equal(io.ops[0].handle, 0);
	assert_int_equal(shim.lookup(fx->fd, 0, fx->base + 0x4000, &p), 0);
	assert_int_equal(p.kind, GPUVA_SHIM_PAGE_NULL);
	fx_assert_kernel_is_mirror(fx);
}

static void
without_prr_a_null_range_maps_the_zero_bo_piece_by_piece(void **state)
{
	struct fx *fx = *state;
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC };

	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x500000 0 0x0"), 0);
	assert_int_equal(c.net_count, 1);
	assert_int_equal(io.last.nr_ops, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(io.ops[i].op, MSM_VM_BIND_OP_MAP);
		assert_int_equal(io.ops[i].handle, io.ops[0].handle);
		assert_int_equal(io.ops[i].obj_offset, 0);
		assert_int_equal(io.ops[i].iova, fx->base + i * 0x200000ull);
		assert_int_equal(io.ops[i].range, i < 2 ? 0x200000 : 0x100000);
	}
	for (int i = 1; i < FX_NBOS; i++)
		assert_int_not_equal(io.ops[0].handle, fx->bos[i]->handle);
	/* one NULL mapping in the mirror, zero-BO pages in the kernel */
	assert_int_equal(gpuva_vm_count(fx->vm), 1);
	fx_assert_kernel_is_mirror(fx);
	/* a tile made resident, then NULL again */
	assert_int_equal(fx_batch(fx, NULL, "map 0x210000 0x10000 1 0x0"), 0);
	fx_assert_kernel_is_mirror(fx);
	assert_int_equal(fx_batch(fx, NULL, "map 0x210000 0x10000 0 0x0"), 0);
	fx_assert_kernel_is_mirror(fx);
}

/* ---- sync points and fences ------------------------------------------------------ */

static void
signal_points_are_reached_once_the_batch_has_run(void **state)
{
	struct fx *fx = *state;
	struct gpuva_sync s = { 0 };
	struct gpuva_commit c = {
		.flags = GPUVA_COMMIT_ASYNC, .signal_count = 1, .signals = &s,
	};

	assert_int_equal(gpuva_backend_sync_create(fx->be, &s.handle), 0);
	s.point = 3;
	assert_int_equal(shim.hold(fx->fd, true), 0);
	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x2000 1 0x0"), 0);
	/* queued: the mirror shows it, the page tables do not yet */
	assert_int_equal(shim.page_count(fx->fd, 0), 0);
	assert_int_equal(io.last.nr_out_syncobjs, 2);
	assert_int_equal(io.outs[0].handle, s.handle);
	assert_int_equal(io.outs[0].point, 3);
	assert_int_equal(gpuva_backend_sync_wait(fx->be, &s, 1, 0), -ETIME);
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), -ETIME);
	assert_int_equal(shim.hold(fx->fd, false), 0);
	assert_int_equal(gpuva_backend_sync_wait(fx->be, &s, 1, 0), 0);
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
	fx_assert_kernel_is_mirror(fx);
	gpuva_backend_sync_destroy(fx->be, s.handle);
}

static void
wait_points_become_in_syncobjs(void **state)
{
	struct fx *fx = *state;
	struct gpuva_sync s = { .point = 7 };
	struct gpuva_commit c = { .wait_count = 1, .waits = &s };

	assert_int_equal(gpuva_backend_sync_create(fx->be, &s.handle), 0);
	assert_int_equal(gpuva_backend_sync_signal(fx->be, &s, 1), 0);
	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x1000 1 0x0"), 0);
	assert_int_equal(io.last.nr_in_syncobjs, 1);
	assert_int_equal(((const struct msm_syncobj *)(uintptr_t)io.last.in_syncobjs)->point, 7);
	fx_assert_kernel_is_mirror(fx);
	gpuva_backend_sync_destroy(fx->be, s.handle);
}

static void
a_wait_point_of_2_to_the_32_or_more_is_eopnotsupp_before_the_ioctl(void **state)
{
	struct fx *fx = *state;
	struct gpuva_sync s = { .point = 1ull << 32 };
	struct gpuva_commit c = { .wait_count = 1, .waits = &s };
	struct fx_state before;

	assert_int_equal(gpuva_backend_sync_create(fx->be, &s.handle), 0);
	before = fx_save(fx);
	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x1000 1 0x0"), -EOPNOTSUPP);
	assert_reason(gpuva_vm_last_error(fx->vm), "32 bits");
	fx_assert_unchanged(fx, &before);
	gpuva_backend_sync_destroy(fx->be, s.handle);
}

static void
without_timelines_points_must_be_0_and_waiting_still_works(void **state)
{
	struct fx *fx = *state;
	struct gpuva_sync s = { .point = 5 };
	struct gpuva_commit c = { .signal_count = 1, .signals = &s };
	struct fx_state before;

	assert_int_equal(gpuva_backend_sync_create(fx->be, &s.handle), 0);
	before = fx_save(fx);
	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x1000 1 0x0"), -EOPNOTSUPP);
	assert_reason(gpuva_vm_last_error(fx->vm), "no timeline syncobjs");
	c = (struct gpuva_commit) { .wait_count = 1, .waits = &s };
	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x1000 1 0x0"), -EOPNOTSUPP);
	fx_assert_unchanged(fx, &before);
	/* binary syncobjs work, and the VM's own idle syncobj tells what ran */
	s.point = 0;
	c = (struct gpuva_commit) {
		.flags = GPUVA_COMMIT_ASYNC, .signal_count = 1, .signals = &s,
	};
	assert_int_equal(shim.hold(fx->fd, true), 0);
	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x1000 1 0x0"), 0);
	assert_int_equal(io.outs[1].point, 0);
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), -ETIME);
	assert_int_equal(shim.hold(fx->fd, false), 0);
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
	assert_int_equal(gpuva_backend_sync_wait(fx->be, &s, 1, 0), 0);
	assert_int_equal(fx_batch(fx, NULL, "map 0x1000 0x1000 1 0x1000"), 0);
	fx_assert_kernel_is_mirror(fx);
	gpuva_backend_sync_destroy(fx->be, s.handle);
}

static void
fence_fd_out_gives_a_sync_file_that_fence_fd_in_takes(void **state)
{
	struct fx *fx = *state;
	struct gpuva_commit c = {
		.flags = GPUVA_COMMIT_ASYNC | GPUVA_COMMIT_FENCE_FD_OUT,
		.fence_fd_out = -1,
	};

	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x1000 1 0x0"), 0);
	assert_true(c.fence_fd_out >= 0);
	assert_int_equal(io.last.flags, MSM_VM_BIND_FENCE_FD_OUT);
	c = (struct gpuva_commit) {
		.flags = GPUVA_COMMIT_FENCE_FD_IN, .fence_fd_in = c.fence_fd_out,
	};
	assert_int_equal(fx_batch(fx, &c, "map 0x1000 0x1000 2 0x0"), 0);
	assert_int_equal(io.last.flags, MSM_VM_BIND_FENCE_FD_IN);
	assert_int_equal(io.last.fence_fd, c.fence_fd_in);
	close(c.fence_fd_in);
	fx_assert_kernel_is_mirror(fx);
}

static void
an_unknown_signal_syncobj_is_refused_by_the_kernel_and_rolled_back(void **state)
{
	struct fx *fx = *state;
	struct gpuva_sync s = { .handle = 999 };
	struct gpuva_commit c = { .signal_count = 1, .signals = &s };
	struct fx_state before;

	assert_int_equal(fx_batch(fx, NULL, "map 0x0 0x4000 1 0x0"), 0);
	before = fx_save(fx);
	assert_int_equal(fx_batch(fx, &c, "map 0x2000 0x4000 2 0x0"), -EINVAL);
	fx_assert_rolled_back(fx, &before);
	/* the failed job owes nothing: the VM is idle, and usable */
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
	assert_int_equal(fx_batch(fx, NULL, "map 0x2000 0x4000 2 0x0"), 0);
	fx_assert_kernel_is_mirror(fx);
}

static void
a_wait_for_a_point_nothing_will_signal_yet_is_refused_by_the_kernel_and_says_so(void **state)
{
	struct fx *fx = *state;
	struct gpuva_sync s = { .point = 4 };
	struct gpuva_commit c = {
		.flags = GPUVA_COMMIT_ASYNC, .wait_count = 1, .waits = &s,
	};
	struct fx_state before;

	assert_int_equal(gpuva_backend_sync_create(fx->be, &s.handle), 0);
	before = fx_save(fx);
	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x1000 1 0x0"), -EINVAL);
	assert_reason(gpuva_vm_last_error(fx->vm), "cannot wait for a point before");
	fx_assert_rolled_back(fx, &before);
	s.handle = 4321;
	before = fx_save(fx);
	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x1000 1 0x0"), -ENOENT);
	assert_reason(gpuva_vm_last_error(fx->vm), "4321:4: no such syncobj");
	fx_assert_rolled_back(fx, &before);
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
}

/* ---- refused before the ioctl (3.4) ------------------------------------------- */

/* @line is refused with @err before any VM_BIND, and nothing changes. */
static void
assert_refused(struct fx *fx, const char *line, int err, const char *why)
{
	struct fx_state before = fx_save(fx);

	assert_int_equal(fx_batch(fx, NULL, line), err);
	assert_reason(gpuva_vm_last_error(fx->vm), why);
	fx_assert_unchanged(fx, &before);
}

static void
an_unaligned_request_is_einval_before_the_ioctl(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(fx_batch(fx, NULL, "map 0x0 0x10000 1 0x0"), 0);
	assert_refused(fx, "map 0x800 0x1000 1 0x0", -EINVAL, "not aligned");
	assert_refused(fx, "map 0x1000 0x1800 1 0x0", -EINVAL, "not aligned");
	assert_refused(fx, "map 0x1000 0x1000 1 0x800", -EINVAL, "not aligned");
	assert_refused(fx, "unmap 0x1000 0x800", -EINVAL, "not aligned");
	fx_assert_kernel_is_mirror(fx);
}

static void
a_request_outside_the_vm_is_einval_before_the_ioctl(void **state)
{
	struct fx fx;

	(void)state;
	fx_open(&fx, 0x100000);
	assert_refused(&fx, "map 0x100000 0x1000 1 0x0", -EINVAL, "0x100100000");
	assert_refused(&fx, "map 0xff000 0x2000 1 0x0", -EINVAL, "0x1000ff000");
	/* below the window */
	assert_refused(&fx, "unmap 0xfffffffffffff000 0x1000", -EINVAL, "0xfffff000");
	fx_close(&fx);
}

static void
a_map_past_the_end_of_its_bo_is_einval_before_the_ioctl(void **state)
{
	struct fx *fx = *state;

	assert_refused(fx, "map 0x0 0x2000 1 0xff000", -EINVAL, "0xff000");
	assert_refused(fx, "map 0x0 0x101000 1 0x0", -EINVAL, "0x101000");
}

static void
driver_flags_other_than_dump_are_einval_before_the_ioctl(void **state)
{
	struct fx *fx = *state;
	struct fx_state before = fx_save(fx);
	struct gpuva_bind *txn;
	struct gpuva_map_req req = {
		.addr = fx->base, .range = 0x1000, .bo = fx->bos[1],
		.driver_flags = 2,
	};

	assert_int_equal(gpuva_bind_begin(fx->vm, &txn), 0);
	assert_int_equal(gpuva_bind_map(txn, &req), -EINVAL);
	assert_reason(gpuva_vm_last_error(fx->vm), "only DUMP");
	req.bo = NULL;
	assert_int_equal(gpuva_bind_map(txn, &req), -EINVAL);
	gpuva_bind_abort(txn);
	fx_assert_unchanged(fx, &before);
}

/* Map a BO of the test's own making, as a driver would. */
static int
map_driver_bo(struct fx *fx, struct gpuva_bo *bo)
{
	struct gpuva_bind *txn;
	struct gpuva_map_req req = { .addr = fx->base, .range = 0x1000, .bo = bo };
	int ret;

	assert_int_equal(gpuva_bind_begin(fx->vm, &txn), 0);
	ret = gpuva_bind_map(txn, &req);
	if (ret) {
		gpuva_bind_abort(txn);
		return ret;
	}
	return gpuva_bind_commit(txn, NULL);
}

static void
a_bo_with_gem_handle_0_is_einval_before_the_ioctl(void **state)
{
	struct fx *fx = *state;
	struct fx_state before = fx_save(fx);
	struct gpuva_bo bo = { 0 };

	gpuva_bo_init(&bo, 0x1000);
	assert_int_equal(map_driver_bo(fx, &bo), -EINVAL);
	assert_reason(gpuva_vm_last_error(fx->vm), "GEM handle 0");
	fx_assert_unchanged(fx, &before);
}

static void
an_unknown_gem_handle_is_einval_before_the_ioctl(void **state)
{
	struct fx *fx = *state;
	struct fx_state before = fx_save(fx);
	struct gpuva_bo bo;

	gpuva_bo_init(&bo, 0);
	bo.handle = 777;
	assert_int_equal(map_driver_bo(fx, &bo), -EINVAL);
	assert_reason(gpuva_vm_last_error(fx->vm), "GEM handle 777 is not open");
	fx_assert_unchanged(fx, &before);
}

static void
a_bo_is_asked_about_once_when_it_enters_the_vm(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(fx_batch(fx, NULL, "map 0x0 0x1000 1 0x0; map 0x4000 0x1000 1 0x8000"), 0);
	assert_int_equal(io.gem_infos, 2);
	/* mapped already: the kernel knows the handle */
	assert_int_equal(fx_batch(fx, NULL, "map 0x10000 0x1000 1 0x0"), 0);
	assert_int_equal(io.gem_infos, 2);
	/* gone from the VM, then back: asked again */
	assert_int_equal(fx_batch(fx, NULL, "unmap 0x0 0x20000"), 0);
	assert_int_equal(fx_batch(fx, NULL, "map 0x10000 0x1000 1 0x0"), 0);
	assert_int_equal(io.gem_infos, 3);
	fx_assert_kernel_is_mirror(fx);
}

static void
a_handle_closed_while_its_bo_is_mapped_is_refused_by_the_kernel_and_rolled_back(void **state)
{
	struct fx *fx = *state;
	struct fx_state before;

	assert_int_equal(fx_batch(fx, NULL, "map 0x0 0x1000 1 0x0"), 0);
	/* behind the library's back; the mapping keeps the BO alive */
	assert_int_equal(drmCloseBufferHandle(fx->fd, fx->bos[1]->handle), 0);
	before = fx_save(fx);
	assert_int_equal(fx_batch(fx, NULL, "map 0x8000 0x1000 1 0x0"), -EINVAL);
	fx_assert_rolled_back(fx, &before);
	fx_assert_kernel_is_mirror(fx);
	assert_false(gpuva_vm_is_lost(fx->vm));
}

/* ---- failures (3.4, 3.5) ------------------------------------------------------ */

static void
a_failed_vm_bind_returns_its_errno_and_the_mirror_rolls_back(void **state)
{
	struct fx *fx = *state;
	static const char *const fail[] = { "EIO" };
	struct fx_state before;

	assert_int_equal(fx_batch(fx, NULL, "map 0x0 0x4000 1 0x0"), 0);
	before = fx_save(fx);
	fx_fail_binds(fail, 1);
	assert_int_equal(fx_batch(fx, NULL, "map 0x2000 0x4000 2 0x0; unmap 0x0 0x1000"), -EIO);
	assert_reason(gpuva_vm_last_error(fx->vm), "Input/output error");
	fx_assert_rolled_back(fx, &before);
	assert_false(gpuva_vm_is_lost(fx->vm));
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
	assert_int_equal(fx_batch(fx, NULL, "map 0x2000 0x4000 2 0x0; unmap 0x0 0x1000"), 0);
	fx_assert_kernel_is_mirror(fx);
}

/* The VM is lost, says to reopen the device, and stays lost. */
static void
assert_lost(struct fx *fx)
{
	struct gpuva_bind *txn;
	struct gpuva_vm *vm = NULL;

	assert_true(gpuva_vm_is_lost(fx->vm));
	assert_reason(gpuva_vm_last_error(fx->vm), "open it again");
	assert_int_equal(gpuva_bind_begin(fx->vm, &txn), -EPIPE);
	gpuva_vm_destroy(fx->vm);
	fx->vm = NULL;
	/* the fd's VM is poisoned for good: no new VM on it */
	assert_int_equal(gpuva_drm_vm_create(fx->dev, NULL, &vm), -EPIPE);
	assert_reason(gpuva_backend_last_error(fx->be), "open it again");
}

static void
a_failure_after_the_first_op_was_applied_loses_the_vm(void **state)
{
	struct fx *fx = *state;
	static const char *const fail[] = { "EIO:1" };

	fx_fail_binds(fail, 1);
	assert_int_equal(fx_batch(fx, NULL, "map 0x0 0x1000 1 0x0; map 0x8000 0x1000 2 0x0"),
			 -EPIPE);
	assert_lost(fx);
}

static void
a_job_that_fails_when_it_runs_loses_the_vm_at_a_synchronous_commit(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(fx_batch(fx, NULL, "map 0x0 0x1000 1 0x0"), 0);
	fx_shim_switch("GPUVA_SHIM_FAIL_JOB", "EIO");
	assert_int_equal(fx_batch(fx, NULL, "map 0x8000 0x1000 2 0x0"), -EPIPE);
	assert_lost(fx);
}

static void
after_an_asynchronous_job_failed_the_next_commit_finds_the_vm_lost(void **state)
{
	struct fx *fx = *state;
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC };

	fx_shim_switch("GPUVA_SHIM_FAIL_JOB", "EIO");
	/* the kernel cannot tell yet: the job's fence signals cleanly */
	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x1000 1 0x0"), 0);
	assert_int_equal(fx_batch(fx, &c, "map 0x8000 0x1000 2 0x0"), -EPIPE);
	assert_lost(fx);
}

static void
an_interrupted_vm_bind_is_restarted_and_lands(void **state)
{
	struct fx *fx = *state;

	fx_shim_switch("GPUVA_SHIM_EINTR_BIND", "EINTR");
	assert_int_equal(fx_batch(fx, NULL, "map 0x0 0x3000 1 0x0; map 0x5000 0x1000 0 0x0"), 0);
	/* drmIoctl() restarts it: one call, which succeeds */
	assert_int_equal(io.op_binds, 1);
	fx_assert_kernel_is_mirror(fx);
}

/* "map 0x0 0x1000 1 0x0; map 0x2000 0x1000 1 0x0; ...": @n entries. */
static char *
spaced_maps(unsigned n)
{
	size_t size = (size_t)n * 40 + 1, len = 0;
	char *s = malloc(size);

	assert_non_null(s);
	s[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, size - len, "map 0x%x 0x1000 1 0x0;",
					i * 0x2000);
	return s;
}

static void
enomem_for_a_batch_is_retried_in_halves_with_the_signals_on_the_last(void **state)
{
	struct fx *fx = *state;
	static const char *const fail[] = { "ENOMEM" };
	struct gpuva_sync s = { .point = 1 }, w = { .point = 9 };
	struct gpuva_commit c = {
		.flags = GPUVA_COMMIT_ASYNC | GPUVA_COMMIT_FENCE_FD_OUT,
		.wait_count = 1, .waits = &w, .signal_count = 1, .signals = &s,
	};
	char *maps = spaced_maps(8);

	assert_int_equal(gpuva_backend_sync_create(fx->be, &s.handle), 0);
	assert_int_equal(gpuva_backend_sync_create(fx->be, &w.handle), 0);
	assert_int_equal(gpuva_backend_sync_signal(fx->be, &w, 1), 0);
	fx_fail_binds(fail, 1);
	assert_int_equal(fx_batch(fx, &c, maps), 0);
	/* 8 ops refused, then 4 and 4; the wait was waited for on the CPU */
	assert_int_equal(io.op_binds, 3);
	assert_int_equal(io.last.nr_ops, 4);
	assert_int_equal(io.last.nr_in_syncobjs, 0);
	assert_int_equal(io.last.flags, MSM_VM_BIND_FENCE_FD_OUT);
	assert_int_equal(io.last.nr_out_syncobjs, 2);
	assert_int_equal(io.outs[0].handle, s.handle);
	assert_true(c.fence_fd_out >= 0);
	close(c.fence_fd_out);
	assert_int_equal(gpuva_backend_sync_wait(fx->be, &s, 1, 0), 0);
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
	fx_assert_kernel_is_mirror(fx);
	gpuva_backend_sync_destroy(fx->be, s.handle);
	gpuva_backend_sync_destroy(fx->be, w.handle);
	free(maps);
}

static void
the_kernel_s_enomem_for_too_many_ops_is_retried_in_pieces(void **state)
{
	struct fx *fx = *state;
	/* past the kernel's one-allocation limit for nr_ops */
	char *maps = spaced_maps(90000);

	assert_int_equal(fx_batch(fx, NULL, maps), 0);
	assert_int_equal(io.op_binds, 3);
	assert_int_equal(io.last.nr_ops, 45000);
	assert_int_equal(gpuva_vm_count(fx->vm), 90000);
	fx_assert_kernel_is_mirror(fx);
	free(maps);
}

static void
a_failure_between_the_pieces_keeps_exactly_the_pieces_before_it(void **state)
{
	struct fx *fx = *state;
	static const char *const fail[] = { "ENOMEM", NULL, "EIO" };
	struct gpuva_commit c = { 0 };
	char *maps = spaced_maps(8);

	fx_fail_binds(fail, 3);
	assert_int_equal(fx_batch(fx, &c, maps), -EIO);
	assert_int_equal(c.applied_unit, GPUVA_BIND_NET);
	assert_int_equal(c.applied, 4);
	assert_int_equal(c.applied_bytes, 0);
	assert_int_equal(gpuva_vm_count(fx->vm), 4);
	assert_false(gpuva_vm_is_lost(fx->vm));
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
	fx_assert_kernel_is_mirror(fx);
	free(maps);
}

static void
a_failure_inside_a_null_range_split_over_the_zero_bo_keeps_its_first_bytes(void **state)
{
	struct fx *fx = *state;
	static const char *const fail[] = { "ENOMEM", NULL, "EIO" };
	struct gpuva_commit c = { 0 };
	struct gpuva *va;

	fx_fail_binds(fail, 3);
	/* 1 + 4 ops: pieces [map, zero 2M], [zero 2M, zero 2M] fails, ... */
	assert_int_equal(fx_batch(fx, &c, "map 0x0 0x10000 1 0x0; map 0x800000 0x800000 0 0x0"),
			 -EIO);
	assert_int_equal(c.applied_unit, GPUVA_BIND_NET);
	assert_int_equal(c.applied, 1);
	assert_int_equal(c.applied_bytes, 0x200000);
	va = gpuva_vm_find_at(fx->vm, fx->base + 0x800000);
	assert_non_null(va);
	assert_null(gpuva_bo_of(va));
	assert_int_equal(va->range, 0x200000);
	fx_assert_kernel_is_mirror(fx);
}

/* ---- the rest -------------------------------------------------------------------- */

static void
destroying_the_vm_unmaps_everything_in_the_kernel(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(fx_batch(fx, NULL, "map 0x0 0x10000 1 0x0; map 0x100000 0x300000 0 0x0"), 0);
	assert_true(shim.page_count(fx->fd, 0) > 0);
	gpuva_vm_destroy(fx->vm);
	fx->vm = NULL;
	assert_int_equal(shim.page_count(fx->fd, 0), 0);
}

static void
device_bos_are_whole_pages(void **state)
{
	struct fx *fx = *state;
	struct gpuva_bo *bo;

	assert_int_equal(gpuva_backend_bo_create(fx->be, NULL, 1, 0, &bo), 0);
	assert_int_equal(bo->size, sysconf(_SC_PAGESIZE));
	assert_int_not_equal(bo->handle, 0);
	assert_int_equal(gpuva_backend_bo_destroy(fx->be, bo), 0);
	assert_int_equal(gpuva_backend_bo_create(fx->be, fx->vm, 0x3001,
						 GPUVA_BACKEND_BO_PRIVATE, &bo), 0);
	assert_int_equal(bo->size, 0x4000);
	assert_int_equal(gpuva_backend_bo_destroy(fx->be, bo), 0);
}

/* Run with the fake kernel playing panthor (its own meson test). */
static void
a_backend_on_another_driver_s_node_is_enodev_and_names_the_driver(void **state)
{
	int fd = open(RENDER_NODE, O_RDWR | O_CLOEXEC);
	struct gpuva_backend *be = NULL;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(create_on(fd, &be), -ENODEV);
	assert_null(be);
	assert_reason(logged, "is a panthor device, not msm");
	close(fd);
}

int
main(void)
{
	const char *drv = getenv("GPUVA_SHIM_DRIVER");

	if (drv && !strcmp(drv, "panthor")) {
		const struct CMUnitTest other[] = {
			cmocka_unit_test(a_backend_on_another_driver_s_node_is_enodev_and_names_the_driver),
		};

		return cmocka_run_group_tests_name("msm-on-panthor", other, NULL, NULL);
	}
	fx_require_shim();
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
#define T_DEV(name) cmocka_unit_test_setup_teardown(name, setup_device, fx_teardown)
#define T_NO_PRR(name) cmocka_unit_test_setup_teardown(name, setup_no_prr, fx_teardown)
#define T_NO_TL(name) cmocka_unit_test_setup_teardown(name, setup_no_timeline, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(the_backend_leaves_the_fd_in_vm_bind_mode_with_its_vm_created),
		cmocka_unit_test(a_backend_on_an_fd_whose_vm_exists_already_is_ebusy_and_says_why),
		cmocka_unit_test(a_backend_on_a_file_that_is_no_drm_device_is_enodev),
		cmocka_unit_test(a_backend_takes_neither_a_page_size_nor_flags),
		cmocka_unit_test(a_driver_before_1_13_has_no_vm_bind_and_the_fd_keeps_its_mode),
		cmocka_unit_test(without_a_gpu_the_node_cannot_do_vm_bind_and_says_why),
		cmocka_unit_test(without_per_process_page_tables_the_node_cannot_do_vm_bind),
		cmocka_unit_test(discovery_lists_the_node_with_its_window_page_size_and_null_mode),
		cmocka_unit_test(without_prr_the_node_says_null_mappings_use_a_zero_bo),
		cmocka_unit_test(opening_without_a_path_finds_the_first_msm_node),
		T(a_vm_without_a_range_covers_the_whole_window_in_cpu_pages),
		cmocka_unit_test(a_vm_may_cover_part_of_the_window),
		T_DEV(a_vm_outside_the_window_is_einval_and_names_the_window),
		T_DEV(a_page_size_that_is_no_multiple_of_the_cpu_s_is_einval),
		T(a_second_vm_is_ebusy_until_the_first_is_destroyed_which_empties_the_kernel_vm),
		T(a_commit_is_one_vm_bind_of_the_net_effect_sorted_by_address),
		T(a_single_op_travels_inline_in_the_ioctl),
		T(a_batch_that_changes_nothing_makes_no_ioctl_unless_it_signals),
		T(a_map_carries_its_bo_handle_offset_and_the_dump_flag),
		T(a_null_mapping_is_map_null_when_the_gpu_has_prr),
		T_NO_PRR(without_prr_a_null_range_maps_the_zero_bo_piece_by_piece),
		T(signal_points_are_reached_once_the_batch_has_run),
		T(wait_points_become_in_syncobjs),
		T(a_wait_point_of_2_to_the_32_or_more_is_eopnotsupp_before_the_ioctl),
		T_NO_TL(without_timelines_points_must_be_0_and_waiting_still_works),
		T(fence_fd_out_gives_a_sync_file_that_fence_fd_in_takes),
		T(an_unknown_signal_syncobj_is_refused_by_the_kernel_and_rolled_back),
		T(a_wait_for_a_point_nothing_will_signal_yet_is_refused_by_the_kernel_and_says_so),
		T(an_unaligned_request_is_einval_before_the_ioctl),
		cmocka_unit_test(a_request_outside_the_vm_is_einval_before_the_ioctl),
		T(a_map_past_the_end_of_its_bo_is_einval_before_the_ioctl),
		T(driver_flags_other_than_dump_are_einval_before_the_ioctl),
		T(a_bo_with_gem_handle_0_is_einval_before_the_ioctl),
		T(an_unknown_gem_handle_is_einval_before_the_ioctl),
		T(a_bo_is_asked_about_once_when_it_enters_the_vm),
		T(a_handle_closed_while_its_bo_is_mapped_is_refused_by_the_kernel_and_rolled_back),
		T(a_failed_vm_bind_returns_its_errno_and_the_mirror_rolls_back),
		T(a_failure_after_the_first_op_was_applied_loses_the_vm),
		T(a_job_that_fails_when_it_runs_loses_the_vm_at_a_synchronous_commit),
		T(after_an_asynchronous_job_failed_the_next_commit_finds_the_vm_lost),
		T(an_interrupted_vm_bind_is_restarted_and_lands),
		T(enomem_for_a_batch_is_retried_in_halves_with_the_signals_on_the_last),
		T(the_kernel_s_enomem_for_too_many_ops_is_retried_in_pieces),
		T(a_failure_between_the_pieces_keeps_exactly_the_pieces_before_it),
		T_NO_PRR(a_failure_inside_a_null_range_split_over_the_zero_bo_keeps_its_first_bytes),
		T(destroying_the_vm_unmaps_everything_in_the_kernel),
		T(device_bos_are_whole_pages),
	};

	return cmocka_run_group_tests_name("msm", tests, NULL, NULL);
}
