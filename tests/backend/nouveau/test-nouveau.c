/* SPDX-License-Identifier: MIT */
/*
 * The nouveau backend on the fake kernel: device set-up, one commit per ioctl,
 * the one sparse model over nouveau's sparse regions, sync points, and every
 * rule of docs/kernels.md section 5 the library checks itself, refused before
 * the ioctl with the kernel's errno and nothing changed (mirror, VM info, the
 * fake's record). Each test ends with the mirror equal to the record, page for
 * page.
 */
#include <stddef.h>

#include "nouveau-fixture.h"

#include "backend/nouveau_abi.h"

#define BASE	((uint64_t)0x100000)	/* where tests bind: below the kernel window */

static int
setup(void **state)
{
	struct nv *n = calloc(1, sizeof(*n));

	nv_open(n, NULL);
	*state = n;
	return 0;
}

static int
teardown(void **state)
{
	struct nv *n = *state;

	nv_close(n);
	free(n);
	return 0;
}

/* ---- the ABI ------------------------------------------------------------ */

static void
the_library_and_the_fake_kernel_declare_the_same_abi(void **state)
{
	(void)state;
	/* two declarations written apart from docs/kernels.md, checked against each other */
	assert_int_equal(sizeof(struct nv_abi_vm_init), sizeof(struct shim_nouveau_vm_init));
	assert_int_equal(sizeof(struct nv_abi_sync), sizeof(struct shim_nouveau_sync));
	assert_int_equal(sizeof(struct nv_abi_vm_bind_op), sizeof(struct shim_nouveau_vm_bind_op));
	assert_int_equal(sizeof(struct nv_abi_vm_bind), sizeof(struct shim_nouveau_vm_bind));
	assert_int_equal(sizeof(struct nv_abi_gem_new), sizeof(struct shim_nouveau_gem_new));
	assert_int_equal(offsetof(struct nv_abi_vm_bind_op, addr),
			 offsetof(struct shim_nouveau_vm_bind_op, addr));
	assert_int_equal(offsetof(struct nv_abi_vm_bind_op, bo_offset),
			 offsetof(struct shim_nouveau_vm_bind_op, bo_offset));
	assert_int_equal(offsetof(struct nv_abi_vm_bind, op_ptr),
			 offsetof(struct shim_nouveau_vm_bind, op_ptr));
	assert_int_equal(offsetof(struct nv_abi_vm_bind, sig_ptr),
			 offsetof(struct shim_nouveau_vm_bind, sig_ptr));
	assert_int_equal(NV_ABI_BIND_SPARSE, SHIM_NOUVEAU_VM_BIND_SPARSE);
	assert_int_equal(NV_ABI_BIND_RUN_ASYNC, SHIM_NOUVEAU_VM_BIND_RUN_ASYNC);
	assert_int_equal(DRM_IOWR(DRM_COMMAND_BASE + NV_ABI_VM_BIND, struct nv_abi_vm_bind),
			 SHIM_IOCTL_NOUVEAU_VM_BIND);
	assert_int_equal(DRM_IOWR(DRM_COMMAND_BASE + NV_ABI_VM_INIT, struct nv_abi_vm_init),
			 SHIM_IOCTL_NOUVEAU_VM_INIT);
	assert_int_equal(DRM_IOWR(DRM_COMMAND_BASE + NV_ABI_GEM_NEW, struct nv_abi_gem_new),
			 SHIM_IOCTL_NOUVEAU_GEM_NEW);
}

/* ---- the device and the VM (docs/kernels.md 5.1) ---------------------------- */

/* A raw UNMAP of one page at @addr: EINVAL inside the kernel window. */
static int
raw_unmap(int fd, uint64_t addr)
{
	struct shim_nouveau_vm_bind_op o = {
		.op = SHIM_NOUVEAU_VM_BIND_OP_UNMAP, .addr = addr, .range = PAGE,
	};
	struct shim_nouveau_vm_bind b = { .op_count = 1, .op_ptr = (uintptr_t)&o };

	return xioctl(fd, SHIM_IOCTL_NOUVEAU_VM_BIND, &b);
}

static void
creating_the_backend_sends_nothing_that_decides_the_fds_mode(void **state)
{
	struct nv n;
	struct shim_nouveau_vm_init v = { NV_WIN, NV_WIN };

	(void)state;
	nv_open_backend(&n);
	/* VM_BIND still possible: the backend only asked VERSION and GET_CAP */
	assert_int_equal(xioctl(n.fd, SHIM_IOCTL_NOUVEAU_VM_INIT, &v), 0);
	nv_close(&n);
}

static void
a_backend_needs_a_nouveau_fd_and_no_flags(void **state)
{
	struct gpuva_backend_desc d = { .fd = -1 };
	struct gpuva_backend *be = NULL;

	(void)state;
	assert_int_equal(gpuva_backend_create("nouveau", &d, &be), -EINVAL);
	d.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_int_equal(gpuva_backend_create("nouveau", &d, &be), -ENODEV);
	close(d.fd);
	d.fd = open_node();
	d.flags = 1;
	assert_int_equal(gpuva_backend_create("nouveau", &d, &be), -EINVAL);
	d.flags = 0;
	d.page_size = 0x10000;
	assert_int_equal(gpuva_backend_create("nouveau", &d, &be), -EINVAL);
	assert_null(be);
	close(d.fd);
}

/*
 * VM_BIND came with nouveau 1.4.0 (Linux 6.6): an older driver is refused
 * by the probe and by the backend, with the version in the reason.
 */
static void
a_driver_before_1_4_has_no_vm_bind_and_says_which_it_is(void **state)
{
	static const char *const before[] = { "1.3.1", "0.9.0" };
	static const char *const since[] = { "1.4.0", "1.5.3", "2.0.0" };
	struct gpuva_drm_node node;
	struct nv n = { .fd = -1 };
	struct gpuva_backend_desc d = { .log_fn = nv_log, .log_priv = &n };
	struct gpuva_backend *be = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
		setenv("GPUVA_SHIM_VERSION", before[i], 1);
		assert_int_equal(gpuva_drm_probe(RENDER_NODE, &node), 0);
		assert_false(node.vm_bind);
		assert_non_null(strstr(node.why, before[i]));
		assert_non_null(strstr(node.why, "< 1.4.0: no VM_BIND"));
		d.fd = open_node();
		n.log[0] = '\0';
		assert_int_equal(gpuva_backend_create("nouveau", &d, &be), -ENODEV);
		assert_null(be);
		assert_non_null(strstr(n.log, before[i]));
		assert_non_null(strstr(n.log, "< 1.4.0: no VM_BIND"));
		close(d.fd);
	}
	for (size_t i = 0; i < sizeof(since) / sizeof(since[0]); i++) {
		setenv("GPUVA_SHIM_VERSION", since[i], 1);
		assert_int_equal(gpuva_drm_probe(RENDER_NODE, &node), 0);
		assert_true(node.vm_bind);
		assert_string_equal(node.why, "");
		d.fd = open_node();
		assert_int_equal(gpuva_backend_create("nouveau", &d, &be), 0);
		gpuva_backend_destroy(be);
		be = NULL;
		close(d.fd);
	}
	unsetenv("GPUVA_SHIM_VERSION");
}

static void
a_vm_of_range_0_is_all_of_nouveaus_space_minus_nvks_kernel_window(void **state)
{
	struct nv *n = *state;
	struct gpuva_vm_info info;

	gpuva_vm_get_info(n->vm, &info);
	assert_int_equal(info.start, 0);
	assert_true(info.range == NV_END);
	assert_true(info.reserved_start == NV_WIN);
	assert_true(info.reserved_range == NV_WIN);
	assert_int_equal(info.page_size, sysconf(_SC_PAGESIZE));
	/* the kernel has the same window */
	assert_int_equal(raw_unmap(n->fd, NV_WIN), EINVAL);
	assert_int_equal(raw_unmap(n->fd, 2 * NV_WIN - PAGE), EINVAL);
	assert_int_equal(raw_unmap(n->fd, 2 * NV_WIN), 0);
	assert_int_equal(raw_unmap(n->fd, NV_WIN - PAGE), 0);
}

static void
a_vm_of_its_own_range_leaves_the_default_window_to_the_kernel(void **state)
{
	struct gpuva_vm_desc d = { .start = BASE, .range = 1ull << 30 };
	struct gpuva_vm_info info;
	struct nv n;

	(void)state;
	nv_open(&n, &d);
	gpuva_vm_get_info(n.vm, &info);
	assert_true(info.start == BASE && info.range == 1ull << 30);
	assert_int_equal(info.reserved_range, 0);
	assert_int_equal(raw_unmap(n.fd, NV_WIN), EINVAL);
	nv_close(&n);
}

static void
a_vms_reserved_range_becomes_the_kernel_window(void **state)
{
	struct gpuva_vm_desc d = {
		.range = 1ull << 40, .reserved_range = 1ull << 32,
	};
	struct nv n;

	(void)state;
	nv_open(&n, &d);
	assert_int_equal(raw_unmap(n.fd, PAGE), EINVAL);
	assert_int_equal(raw_unmap(n.fd, NV_WIN), 0);
	/* and the library refuses requests there itself */
	assert_int_equal(nv_map(&n, PAGE, PAGE, 1, 0), -EINVAL);
	nv_close(&n);
}

static void
vms_nouveau_cannot_have_are_refused_and_the_fd_stays_undecided(void **state)
{
	static const struct gpuva_vm_desc bad[] = {
		{ .start = 0, .range = 1ull << 40 },		/* over the default window */
		{ .start = 1ull << 46, .range = (1ull << 46) + PAGE },	/* past 2^47 */
		{ .range = 1ull << 38, .reserved_start = 1ull << 47, .reserved_range = PAGE },
		{ .start = PAGE, .range = 0 },			/* range 0 needs start 0 */
		{ .range = 1ull << 30, .page_size = 0x800 },	/* below the CPU page */
		{ .range = 1ull << 30, .page_size = 0x3000 },	/* not a power of two */
		{ .start = 0x800, .range = 1ull << 30 },	/* not page-aligned */
	};
	struct gpuva_vm *vm = NULL;
	struct nv n;

	(void)state;
	nv_open_backend(&n);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gpuva_vm_desc d = bad[i];

		d.backend = n.be;
		assert_int_equal(gpuva_vm_create(&d, &vm), -EINVAL);
		assert_null(vm);
		assert_true(n.log[0] != '\0');
		n.log[0] = '\0';
	}
	assert_non_null(strstr(gpuva_backend_last_error(n.be), "aligned"));
	/* no VM_INIT went out: any window is still possible */
	{
		struct gpuva_vm_desc d = { .range = 1ull << 40, .reserved_range = 1ull << 32,
					   .backend = n.be };

		assert_int_equal(gpuva_vm_create(&d, &n.vm), 0);
	}
	assert_int_equal(raw_unmap(n.fd, PAGE), EINVAL);
	nv_close(&n);
}

static void
one_vm_per_fd_and_the_next_one_gets_the_same_window_emptied(void **state)
{
	struct nv *n = *state;
	struct gpuva_vm_desc d = { .backend = n->be };
	struct gpuva_vm *second = NULL;

	assert_int_equal(gpuva_vm_create(&d, &second), -EBUSY);
	assert_non_null(strstr(gpuva_backend_last_error(n->be), "one VM per fd"));
	assert_int_equal(nv_map(n, BASE, P(4), 1, 0), 0);
	assert_int_equal(nv_map(n, BASE + P(16), P(8), 0, 0), 0);
	assert_int_equal(nv_map(n, BASE + P(17), P(2), 2, 0), 0);
	gpuva_vm_destroy(n->vm);
	n->vm = NULL;
	/* everything it held went with it: mappings and the region */
	assert_int_equal(shim.page_count(n->fd, 0), 0);
	assert_regions(n, "");
	/* a window other than the one VM_INIT set cannot be had on this fd */
	d.range = 1ull << 38;
	d.reserved_range = PAGE;
	assert_int_equal(gpuva_vm_create(&d, &second), -EBUSY);
	assert_non_null(strstr(gpuva_backend_last_error(n->be), "VM_INIT runs once"));
	d.range = 0;
	d.reserved_range = 0;
	assert_int_equal(gpuva_vm_create(&d, &n->vm), 0);
	assert_int_equal(nv_map(n, BASE, P(4), 0, 0), 0);
	assert_mirror_is_record(n);
}

static void
a_fd_whose_first_bo_came_before_the_vm_cannot_have_one(void **state)
{
	struct shim_nouveau_gem_new g = { .info = { .size = PAGE,
						      .domain = SHIM_NOUVEAU_GEM_DOMAIN_VRAM } };
	struct gpuva_vm_desc d = { 0 };
	struct gpuva_vm *vm = NULL;
	struct nv n;

	(void)state;
	nv_open_backend(&n);
	/* someone else's BO on the fd: VM_BIND is off for good */
	assert_int_equal(xioctl(n.fd, SHIM_IOCTL_NOUVEAU_GEM_NEW, &g), 0);
	d.backend = n.be;
	assert_int_equal(gpuva_vm_create(&d, &vm), -ENOSYS);
	assert_non_null(strstr(n.log, "VM_BIND is off on this fd"));
	assert_null(vm);
	nv_close(&n);
}

static void
a_vm_whose_teardown_failed_leaves_the_fd_to_no_other(void **state)
{
	struct nv *n = *state;
	struct gpuva_vm_desc d = { .backend = n->be };
	struct gpuva_vm *vm = NULL;

	assert_int_equal(nv_map(n, BASE, P(4), 0, 0), 0);
	setenv("GPUVA_SHIM_FAIL_BIND", "1:EIO", 1);
	gpuva_vm_destroy(n->vm);
	n->vm = NULL;
	assert_non_null(strstr(n->log, "could not be emptied"));
	assert_int_equal(gpuva_vm_create(&d, &vm), -EBUSY);
	assert_non_null(strstr(n->log, "open the device again"));
	assert_null(vm);
}

static void
bos_come_after_vm_init_in_vram_or_gart(void **state)
{
	struct gpuva_bo *bo = NULL, *priv = NULL;
	struct shim_nouveau_gem_info info;
	struct nv n;

	(void)state;
	nv_open_backend(&n);
	assert_int_equal(gpuva_backend_bo_create(n.be, NULL, PAGE, 0, &bo), -EINVAL);
	assert_non_null(strstr(n.log, "VM_INIT"));
	{
		struct gpuva_vm_desc d = { .backend = n.be };

		assert_int_equal(gpuva_vm_create(&d, &n.vm), 0);
	}
	assert_int_equal(gpuva_backend_bo_create(n.be, NULL, UINT64_MAX, 0, &bo), -EINVAL);
	assert_non_null(strstr(n.log, "too big"));
	assert_int_equal(gpuva_backend_bo_create(n.be, NULL, 100, 0, &bo), 0);
	assert_int_equal(bo->size, PAGE);
	info = (struct shim_nouveau_gem_info){ .handle = bo->handle };
	assert_int_equal(xioctl(n.fd, SHIM_IOCTL_NOUVEAU_GEM_INFO, &info), 0);
	assert_int_equal(info.domain, SHIM_NOUVEAU_GEM_DOMAIN_VRAM | SHIM_NOUVEAU_GEM_DOMAIN_GART);
	assert_int_equal(gpuva_backend_bo_create(n.be, n.vm, PAGE,
						 GPUVA_BACKEND_BO_PRIVATE, &priv), 0);
	info = (struct shim_nouveau_gem_info){ .handle = priv->handle };
	assert_int_equal(xioctl(n.fd, SHIM_IOCTL_NOUVEAU_GEM_INFO, &info), 0);
	assert_true(info.domain & SHIM_NOUVEAU_GEM_DOMAIN_NO_SHARE);
	assert_int_equal(gpuva_backend_bo_destroy(n.be, bo), 0);
	assert_int_equal(gpuva_backend_bo_destroy(n.be, priv), 0);
	nv_close(&n);
}

/* ---- binding BOs (docs/kernels.md 5.2, 5.4) ---------------------------------- */

static void
maps_and_unmaps_reach_the_kernel_page_for_page(void **state)
{
	struct nv *n = *state;

	assert_int_equal(nv_map(n, BASE, P(16), 1, P(8)), 0);
	assert_int_equal(nv_map(n, BASE + P(4), P(4), 2, 0), 0);
	assert_int_equal(nv_unmap(n, BASE + P(12), P(8)), 0);
	assert_mirror_is_record(n);
	assert_int_equal(shim.page_count(n->fd, 0), 12);
}

static void
a_batch_is_one_ioctl(void **state)
{
	struct nv *n = *state;
	struct gpuva_bind *t;

	assert_int_equal(nv_map(n, BASE, P(4), 1, 0), 0);
	/* the second VM_BIND from now fails: a batch of five requests is one */
	setenv("GPUVA_SHIM_FAIL_BIND", "2:EIO", 1);
	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(txn_map(t, n, BASE + P(8 * i), P(4), 1 + i % 2, 0, 0), 0);
	assert_int_equal(gpuva_bind_unmap(t, BASE + P(2), P(4)), 0);
	assert_int_equal(gpuva_bind_commit(t, NULL), 0);
	assert_mirror_is_record(n);
	assert_int_equal(nv_map(n, BASE + P(40), P(1), 1, 0), -EIO);
	assert_mirror_is_record(n);
}

static void
the_pte_kind_rides_in_a_maps_driver_flags(void **state)
{
	struct nv *n = *state;
	struct gpuva_bind *t;

	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(txn_map(t, n, BASE, P(2), 1, 0, 0xfe), 0);
	assert_int_equal(gpuva_bind_commit(t, NULL), 0);
	assert_int_equal(page_at(n->fd, 0, BASE + PAGE).flags, 0xfe);
	assert_mirror_is_record(n);
}

/* A request refused when it is added: @err, a reason saying @why, no change. */
static void
assert_map_refused(struct nv *n, uint64_t addr, uint64_t range, int bo,
		   uint64_t off, uint32_t df, int err, const char *why)
{
	struct backend_state s = save_state(n);
	struct gpuva_bind *t;

	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(txn_map(t, n, addr, range, bo, off, df), err);
	assert_reason(n, why);
	assert_int_equal(gpuva_bind_count(t), 0);
	gpuva_bind_abort(t);
	assert_unchanged(n, &s);
}

static void
assert_unmap_refused(struct nv *n, uint64_t addr, uint64_t range, int err,
		     const char *why)
{
	struct backend_state s = save_state(n);
	struct gpuva_bind *t;

	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(gpuva_bind_unmap(t, addr, range), err);
	assert_reason(n, why);
	gpuva_bind_abort(t);
	assert_unchanged(n, &s);
}

static void
driver_flags_past_the_pte_kind_are_refused_before_the_ioctl(void **state)
{
	struct nv *n = *state;

	assert_int_equal(nv_map(n, BASE, P(4), 1, 0), 0);
	assert_map_refused(n, BASE, P(2), 2, 0, 0x100, -EINVAL, "PTE kind, bits 0-7");
	/* a sparse page has no kind to keep */
	assert_map_refused(n, BASE + P(8), P(2), 0, 0, 0x7, -EINVAL, "no PTE kind");
	assert_mirror_is_record(n);
}

static void
what_nouveau_refuses_is_refused_before_the_ioctl_with_its_errno(void **state)
{
	struct nv *n = *state;
	struct gpuva_bo ghost, unchecked;

	assert_int_equal(nv_map(n, BASE, P(4), 1, 0), 0);
	/* alignment, past 2^47, the kernel window: the VM's own rules */
	assert_map_refused(n, BASE + 0x800, P(1), 1, 0, 0, -EINVAL, "not aligned");
	assert_map_refused(n, BASE, P(1), 1, 0x800, 0, -EINVAL, "0x800");
	assert_map_refused(n, NV_END - P(1), P(2), 1, 0, 0, -EINVAL, "outside the VM");
	assert_map_refused(n, NV_WIN - P(1), P(2), 1, 0, 0, -EINVAL, "kernel-reserved");
	assert_unmap_refused(n, 2 * NV_WIN - P(1), P(2), -EINVAL, "kernel-reserved");
	/* a GEM handle the fd does not have: ENOENT, as VM_BIND says */
	gpuva_bo_init(&ghost, 0);
	ghost.handle = 999;
	n->bo[0] = &ghost;
	assert_map_refused(n, BASE, P(1), 0, 0, 0, -ENOENT, "no GEM handle 999");
	/* past the GEM object, even when the library was not told its size */
	gpuva_bo_init(&unchecked, 0);
	unchecked.handle = n->bo[1]->handle;
	n->bo[0] = &unchecked;
	assert_map_refused(n, BASE, P(2), 0, P(63), 0, -EINVAL, "beyond the end");
	assert_map_refused(n, BASE, P(1), 0, P(64), 0, -EINVAL, "beyond the end");
	n->bo[0] = NULL;
	assert_mirror_is_record(n);
}

static void
a_bo_the_kernel_cannot_map_fails_the_whole_commit_and_changes_nothing(void **state)
{
	struct nv *n = *state;
	struct shim_nouveau_gem_new g = { .info = { .size = PAGE,
						      .domain = SHIM_NOUVEAU_GEM_DOMAIN_CPU } };
	struct gpuva_bo cpu;
	struct gpuva_bind *t;
	struct backend_state s;

	assert_int_equal(nv_map(n, BASE, P(4), 1, 0), 0);
	assert_int_equal(xioctl(n->fd, SHIM_IOCTL_NOUVEAU_GEM_NEW, &g), 0);
	gpuva_bo_init(&cpu, PAGE);
	cpu.handle = g.info.handle;
	s = save_state(n);
	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(gpuva_bind_unmap(t, BASE, P(2)), 0);
	assert_int_equal(txn_map(t, n, BASE + P(8), P(4), 0, 0, 0), 0);
	n->bo[0] = &cpu;
	assert_int_equal(txn_map(t, n, BASE + P(16), P(1), 0, 0, 0), 0);
	n->bo[0] = NULL;
	/* only BO validation, last in the kernel, knows: all ops or none */
	assert_int_equal(gpuva_bind_commit(t, NULL), -EINVAL);
	assert_reason(n, "nothing changed");
	assert_unchanged(n, &s);
	assert_int_equal(gpuva_bo_fini(&cpu), 0);
	assert_mirror_is_record(n);
}

/* ---- one sparse model over sparse regions (docs/kernels.md 5.3) ---------------- */

static void
a_null_map_touching_no_region_makes_one(void **state)
{
	struct nv *n = *state;

	assert_int_equal(nv_map(n, BASE, P(16), 0, 0), 0);
	assert_regions(n, "0x100000 0x10000 sparse region\n");
	assert_mirror_is_record(n);
}

static void
a_null_map_over_bo_pages_unmaps_them_and_makes_a_region_in_one_commit(void **state)
{
	struct nv *n = *state;

	assert_int_equal(nv_map(n, BASE + P(2), P(4), 1, 0), 0);
	setenv("GPUVA_SHIM_FAIL_BIND", "2:EIO", 1);	/* one ioctl, not two */
	assert_int_equal(nv_map(n, BASE, P(8), 0, 0), 0);
	assert_page_kind(n->fd, 0, BASE + P(3), GPUVA_SHIM_PAGE_SPARSE);
	assert_regions(n, "0x100000 0x8000 sparse region\n");
	assert_mirror_is_record(n);
}

static void
bo_maps_inside_a_region_are_backed_and_a_null_map_there_makes_them_sparse(void **state)
{
	struct nv *n = *state;

	assert_int_equal(nv_map(n, BASE, P(16), 0, 0), 0);
	assert_int_equal(nv_map(n, BASE + P(4), P(4), 1, P(2)), 0);
	assert_int_equal(nv_map(n, BASE + P(8), P(8), 2, 0), 0);
	assert_page_bo(n->fd, 0, BASE + P(5), n->bo[1]->handle, P(3));
	assert_mirror_is_record(n);
	assert_int_equal(nv_map(n, BASE + P(6), P(4), 0, 0), 0);
	assert_page_kind(n->fd, 0, BASE + P(7), GPUVA_SHIM_PAGE_SPARSE);
	assert_regions(n, "0x100000 0x10000 sparse region\n");
	assert_mirror_is_record(n);
}

static void
an_unmap_of_whole_regions_destroys_them_with_their_bo_pages(void **state)
{
	struct nv *n = *state;

	assert_int_equal(nv_map(n, BASE, P(4), 0, 0), 0);
	assert_int_equal(nv_map(n, BASE + P(4), P(4), 0, 0), 0);	/* a neighbour */
	assert_int_equal(nv_map(n, BASE + P(1), P(2), 1, 0), 0);
	assert_int_equal(nv_map(n, BASE + P(10), P(2), 2, 0), 0);
	assert_int_equal(nv_unmap(n, BASE, P(16)), 0);
	assert_int_equal(shim.page_count(n->fd, 0), 0);
	assert_regions(n, "");
	assert_mirror_is_record(n);
}

static void
maps_across_a_regions_edge_are_refused_and_say_what_to_do(void **state)
{
	struct nv *n = *state;

	assert_int_equal(nv_map(n, BASE, P(8), 0, 0), 0);
	assert_int_equal(nv_map(n, BASE + P(8), P(8), 0, 0), 0);
	assert_map_refused(n, BASE + P(6), P(4), 0, 0, 0, -EINVAL,
			   "inside one sparse region (to unbind pages of a sparse "
			   "resource) or touches none");
	assert_map_refused(n, BASE + P(12), P(8), 0, 0, 0, -EINVAL, "straddles");
	assert_map_refused(n, BASE - P(2), P(4), 1, 0, 0, -EINVAL,
			   "inside one sparse region or outside all");
	assert_map_refused(n, BASE, P(16), 1, 0, 0, -EINVAL, "straddles");
	assert_unmap_refused(n, BASE + P(2), P(2), -EINVAL,
			     "unmap the whole region to free it, or map NULL");
	assert_unmap_refused(n, BASE, P(12), -EINVAL, "cuts sparse region [0x108000, 0x110000)");
	assert_mirror_is_record(n);
}

static void
a_region_made_and_filled_in_one_commit_is_one_ioctl(void **state)
{
	struct nv *n = *state;
	struct gpuva_bind *t;

	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(txn_map(t, n, BASE, P(8), 0, 0, 0), 0);
	assert_int_equal(txn_map(t, n, BASE, P(4), 1, 0, 0), 0);
	/* the same BO on, past the region: the net effect merges the two */
	assert_int_equal(txn_map(t, n, BASE + P(8), P(4), 1, P(8), 0), 0);
	assert_int_equal(txn_map(t, n, BASE + P(4), P(4), 1, P(4), 0), 0);
	assert_int_equal(gpuva_bind_commit(t, NULL), 0);
	assert_regions(n, "0x100000 0x8000 sparse region\n");
	assert_mirror_is_record(n);
	/* the region is whole: unmapping it leaves the BO pages past it */
	assert_int_equal(nv_unmap(n, BASE, P(8)), 0);
	assert_page_bo(n->fd, 0, BASE + P(8), n->bo[1]->handle, P(8));
	assert_regions(n, "");
	assert_mirror_is_record(n);
}

static void
a_region_made_over_unchanged_bo_pages_keeps_them(void **state)
{
	struct nv *n = *state;
	struct gpuva_bind *t;

	assert_int_equal(nv_map(n, BASE, P(8), 1, 0), 0);
	/* NULL over it, then the same BO pages again: the net effect is empty */
	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(txn_map(t, n, BASE, P(8), 0, 0, 0), 0);
	assert_int_equal(txn_map(t, n, BASE, P(8), 1, 0, 0), 0);
	assert_int_equal(gpuva_bind_commit(t, NULL), 0);
	assert_regions(n, "0x100000 0x8000 sparse region\n");
	assert_mirror_is_record(n);
	/* now the range is a sparse region: part of it cannot be unmapped */
	assert_unmap_refused(n, BASE, P(4), -EINVAL, "cuts sparse region");
	assert_int_equal(nv_map(n, BASE, P(4), 0, 0), 0);
	assert_mirror_is_record(n);
}

static void
a_region_made_and_unmapped_in_one_batch_never_reaches_the_kernel(void **state)
{
	struct nv *n = *state;
	struct gpuva_bind *t;
	uint64_t digest = shim.digest(n->fd, 0);

	setenv("GPUVA_SHIM_FAIL_BIND", "1:EIO", 1);	/* any ioctl would fail */
	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(txn_map(t, n, BASE, P(8), 0, 0, 0), 0);
	assert_int_equal(txn_map(t, n, BASE + P(2), P(2), 1, 0, 0), 0);
	assert_int_equal(gpuva_bind_unmap(t, BASE, P(8)), 0);
	assert_int_equal(gpuva_bind_commit(t, NULL), 0);
	assert_int_equal(gpuva_vm_count(n->vm), 0);
	assert_true(shim.digest(n->fd, 0) == digest);
	assert_int_equal(gpuva_vm_wait_idle(n->vm, 0), 0);
	/* the region is gone for the library too */
	assert_int_equal(nv_map(n, BASE - P(2), P(4), 2, 0), -EIO);
	unsetenv("GPUVA_SHIM_FAIL_BIND");
	assert_int_equal(nv_map(n, BASE - P(2), P(4), 2, 0), 0);
	assert_mirror_is_record(n);
}

static void
a_region_unmapped_and_made_again_whole_in_one_batch_stays(void **state)
{
	struct nv *n = *state;
	struct gpuva_bind *t;

	assert_int_equal(nv_map(n, BASE, P(8), 0, 0), 0);
	assert_int_equal(nv_map(n, BASE + P(2), P(2), 1, 0), 0);
	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(gpuva_bind_unmap(t, BASE, P(8)), 0);
	assert_int_equal(txn_map(t, n, BASE, P(8), 0, 0, 0), 0);
	assert_int_equal(txn_map(t, n, BASE + P(6), P(1), 2, 0, 0), 0);
	assert_int_equal(gpuva_bind_commit(t, NULL), 0);
	assert_page_kind(n->fd, 0, BASE + P(2), GPUVA_SHIM_PAGE_SPARSE);
	assert_regions(n, "0x100000 0x8000 sparse region\n");
	assert_mirror_is_record(n);
}

static void
a_region_unmapped_earlier_in_the_batch_cannot_be_reused_before_the_commit(void **state)
{
	struct nv *n = *state;
	struct gpuva_bind *t;
	struct backend_state s;

	assert_int_equal(nv_map(n, BASE, P(8), 0, 0), 0);
	s = save_state(n);
	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(gpuva_bind_unmap(t, BASE, P(8)), 0);
	/* nouveau frees the region only when the batch has run */
	assert_int_equal(txn_map(t, n, BASE, P(4), 0, 0, 0), -ENOSPC);
	assert_reason(n, "commit the unmap first");
	assert_int_equal(txn_map(t, n, BASE + P(2), P(2), 1, 0, 0), -EINVAL);
	assert_reason(n, "which this transaction unmaps");
	assert_int_equal(txn_map(t, n, BASE + P(6), P(4), 1, 0, 0), -EINVAL);
	assert_reason(n, "commit the unmap first");
	/* refused requests are not part of the batch; the rest goes through */
	assert_int_equal(txn_map(t, n, BASE + P(8), P(4), 1, 0, 0), 0);
	assert_int_equal(gpuva_bind_count(t), 2);
	gpuva_bind_abort(t);
	assert_unchanged(n, &s);
	assert_int_equal(nv_unmap(n, BASE, P(8)), 0);
	assert_int_equal(nv_map(n, BASE, P(4), 0, 0), 0);
	assert_mirror_is_record(n);
}

static void
a_request_sees_the_regions_the_accepted_ones_before_it_left(void **state)
{
	struct nv *n = *state;
	struct gpuva_bind *t;

	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(txn_map(t, n, BASE, P(8), 0, 0, 0), 0);
	/* refused: it would cut the region the first request makes */
	assert_int_equal(gpuva_bind_unmap(t, BASE, P(4)), -EINVAL);
	assert_int_equal(txn_map(t, n, BASE + P(4), P(8), 1, 0, 0), -EINVAL);
	assert_int_equal(txn_map(t, n, BASE + P(4), P(4), 1, 0, 0), 0);
	assert_int_equal(gpuva_bind_commit(t, NULL), 0);
	assert_regions(n, "0x100000 0x8000 sparse region\n");
	assert_mirror_is_record(n);
}

static void
an_aborted_batch_leaves_no_region_behind(void **state)
{
	struct nv *n = *state;
	struct gpuva_bind *t;

	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(txn_map(t, n, BASE, P(8), 0, 0, 0), 0);
	gpuva_bind_abort(t);
	/* no region: a BO map across where its edge was is fine */
	assert_int_equal(nv_map(n, BASE + P(6), P(4), 1, 0), 0);
	assert_regions(n, "");
	assert_mirror_is_record(n);
}

static void
a_failed_commit_leaves_its_regions_out_and_nothing_to_wait_for(void **state)
{
	struct nv *n = *state;
	struct backend_state s;

	assert_int_equal(nv_map(n, BASE + P(16), P(4), 0, 0), 0);
	s = save_state(n);
	setenv("GPUVA_SHIM_FAIL_BIND", "1:ENOMEM", 1);
	assert_int_equal(nv_map(n, BASE, P(8), 0, 0), -ENOMEM);
	assert_reason(n, "nothing changed");
	assert_unchanged(n, &s);
	/* the failed batch signals nothing: it does not hold up the VM */
	assert_int_equal(gpuva_vm_wait_idle(n->vm, 0), 0);
	assert_int_equal(nv_unmap(n, BASE + P(16), P(4)), 0);
	assert_int_equal(nv_map(n, BASE + P(6), P(4), 1, 0), 0);	/* no region at BASE */
	assert_regions(n, "");
	assert_mirror_is_record(n);
}

/* ---- sync points (docs/kernels.md 5.4) ---------------------------------------- */

static void
an_async_commit_signals_its_points_once_the_kernel_has_run_it(void **state)
{
	struct nv *n = *state;
	uint32_t bin, tl;
	struct gpuva_sync sig[2];
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC, .signal_count = 2,
				  .signals = sig };
	struct gpuva_bind *t;

	assert_int_equal(gpuva_backend_sync_create(n->be, &bin), 0);
	assert_int_equal(gpuva_backend_sync_create(n->be, &tl), 0);
	sig[0] = (struct gpuva_sync){ .handle = bin };
	sig[1] = (struct gpuva_sync){ .handle = tl, .point = 7 };
	assert_int_equal(shim.hold(n->fd, true), 0);
	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(txn_map(t, n, BASE, P(4), 1, 0, 0), 0);
	assert_int_equal(gpuva_bind_commit(t, &c), 0);
	assert_page_kind(n->fd, 0, BASE, GPUVA_SHIM_PAGE_NONE);
	assert_int_equal(gpuva_backend_sync_wait(n->be, sig, 2, 1000000), -ETIME);
	assert_int_equal(gpuva_vm_wait_idle(n->vm, 0), -ETIME);
	assert_int_equal(shim.hold(n->fd, false), 0);
	assert_int_equal(gpuva_backend_sync_wait(n->be, sig, 2, 0), 0);
	assert_int_equal(gpuva_vm_wait_idle(n->vm, 0), 0);
	assert_mirror_is_record(n);
	gpuva_backend_sync_destroy(n->be, bin);
	gpuva_backend_sync_destroy(n->be, tl);
}

static void
a_sync_commit_with_points_returns_when_its_batch_has_run(void **state)
{
	struct nv *n = *state;
	uint32_t in, out;
	struct gpuva_sync w, s;
	struct gpuva_commit c = { .wait_count = 1, .waits = &w,
				  .signal_count = 1, .signals = &s };
	struct gpuva_bind *t;

	assert_int_equal(gpuva_backend_sync_create(n->be, &in), 0);
	assert_int_equal(gpuva_backend_sync_create(n->be, &out), 0);
	w = (struct gpuva_sync){ .handle = in, .point = 3 };
	s = (struct gpuva_sync){ .handle = out, .point = 1 };
	assert_int_equal(gpuva_backend_sync_signal(n->be, &w, 1), 0);
	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(txn_map(t, n, BASE, P(4), 0, 0, 0), 0);
	assert_int_equal(gpuva_bind_commit(t, &c), 0);
	assert_int_equal(gpuva_backend_sync_wait(n->be, &s, 1, 0), 0);
	assert_int_equal(gpuva_vm_wait_idle(n->vm, 0), 0);
	assert_mirror_is_record(n);
	gpuva_backend_sync_destroy(n->be, in);
	gpuva_backend_sync_destroy(n->be, out);
}

static void
sync_points_the_kernel_refuses_fail_the_commit_and_change_nothing(void **state)
{
	struct nv *n = *state;
	uint32_t fresh;
	struct gpuva_sync p;
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC };
	struct gpuva_bind *t;
	struct backend_state s;

	assert_int_equal(gpuva_backend_sync_create(n->be, &fresh), 0);
	assert_int_equal(nv_map(n, BASE, P(4), 1, 0), 0);
	s = save_state(n);
	/* a signal point on no syncobj: ENOENT; a wait with no fence yet: EINVAL */
	p = (struct gpuva_sync){ .handle = 999 };
	c.signal_count = 1;
	c.signals = &p;
	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(txn_map(t, n, BASE + P(8), P(8), 0, 0, 0), 0);
	assert_int_equal(gpuva_bind_commit(t, &c), -ENOENT);
	assert_reason(n, "signal 999:0: no such syncobj");
	assert_unchanged(n, &s);
	s = save_state(n);
	p = (struct gpuva_sync){ .handle = fresh };
	c = (struct gpuva_commit){ .flags = GPUVA_COMMIT_ASYNC, .wait_count = 1, .waits = &p };
	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(txn_map(t, n, BASE + P(8), P(8), 0, 0, 0), 0);
	assert_int_equal(gpuva_bind_commit(t, &c), -EINVAL);
	assert_reason(n, "no fence has been submitted for it yet");
	assert_unchanged(n, &s);
	/* the library's own refusal: no sync_file fences on nouveau */
	s = save_state(n);
	c = (struct gpuva_commit){ .flags = GPUVA_COMMIT_FENCE_FD_OUT };
	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	assert_int_equal(gpuva_bind_unmap(t, BASE, P(4)), 0);
	assert_int_equal(gpuva_bind_commit(t, &c), -EOPNOTSUPP);
	assert_reason(n, "sync_file");
	assert_unchanged(n, &s);
	assert_int_equal(gpuva_vm_wait_idle(n->vm, 0), 0);
	gpuva_backend_sync_destroy(n->be, fresh);
}

static void
without_timeline_syncobjs_a_sync_commit_is_a_sync_ioctl(void **state)
{
	struct nv n;
	uint32_t h;
	struct gpuva_sync p = { .point = 2 };
	struct gpuva_commit c = { .signal_count = 1, .signals = &p };
	struct gpuva_bind *t;
	struct backend_state s;

	(void)state;
	setenv("GPUVA_SHIM_NO_TIMELINE", "1", 1);
	nv_open(&n, NULL);
	assert_int_equal(gpuva_backend_sync_create(n.be, &h), 0);
	p.handle = h;
	assert_int_equal(nv_map(&n, BASE, P(4), 1, 0), 0);
	s = save_state(&n);
	/* a point on a timeline this kernel has not got */
	assert_int_equal(gpuva_bind_begin(n.vm, &t), 0);
	assert_int_equal(gpuva_bind_unmap(t, BASE, P(4)), 0);
	assert_int_equal(gpuva_bind_commit(t, &c), -EOPNOTSUPP);
	assert_unchanged(&n, &s);
	/* binary, but synchronous: nothing to wait for the job with */
	p.point = 0;
	s = save_state(&n);
	assert_int_equal(gpuva_bind_begin(n.vm, &t), 0);
	assert_int_equal(gpuva_bind_unmap(t, BASE, P(4)), 0);
	assert_int_equal(gpuva_bind_commit(t, &c), -EOPNOTSUPP);
	assert_reason(&n, "commit asynchronously");
	assert_unchanged(&n, &s);
	c.flags = GPUVA_COMMIT_ASYNC;
	assert_int_equal(gpuva_bind_begin(n.vm, &t), 0);
	assert_int_equal(gpuva_bind_unmap(t, BASE, P(2)), 0);
	assert_int_equal(gpuva_bind_commit(t, &c), 0);
	assert_int_equal(gpuva_backend_sync_wait(n.be, &p, 1, 0), 0);
	assert_int_equal(nv_map(&n, BASE + P(8), P(4), 0, 0), 0);
	assert_mirror_is_record(&n);
	gpuva_backend_sync_destroy(n.be, h);
	nv_close(&n);
}

/* ---- the device layer --------------------------------------------------------- */

static void
discovery_finds_the_nouveau_node_and_opens_it_with_its_backend(void **state)
{
	struct gpuva_drm_open_desc d = { .driver = "nouveau" };
	struct gpuva_drm_device *dev;
	struct gpuva_drm_node *nodes;
	struct gpuva_vm *vm;
	struct gpuva_vm_info info;
	size_t count;

	(void)state;
	assert_int_equal(gpuva_drm_list(&nodes, &count), 0);
	assert_int_equal(count, 1);
	assert_string_equal(nodes[0].driver, "nouveau");
	assert_true(nodes[0].vm_bind);
	assert_string_equal(nodes[0].why, "");
	assert_true(nodes[0].va_start == 0 && nodes[0].va_range == NV_END);
	assert_int_equal(nodes[0].page_size, sysconf(_SC_PAGESIZE));
	assert_string_equal(nodes[0].null_mode, "sparse regions");
	gpuva_drm_list_free(nodes);
	assert_int_equal(gpuva_drm_open(&d, &dev), 0);
	assert_string_equal(gpuva_backend_name(gpuva_drm_backend(dev)), "nouveau");
	assert_int_equal(gpuva_drm_vm_create(dev, NULL, &vm), 0);
	gpuva_vm_get_info(vm, &info);
	assert_true(info.range == NV_END && info.reserved_start == NV_WIN);
	gpuva_vm_destroy(vm);
	gpuva_drm_close(dev);
}

int
main(void)
{
	require_shim("nouveau");
	clear_shim_switches();

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_library_and_the_fake_kernel_declare_the_same_abi),
		cmocka_unit_test(creating_the_backend_sends_nothing_that_decides_the_fds_mode),
		cmocka_unit_test(a_backend_needs_a_nouveau_fd_and_no_flags),
		cmocka_unit_test(a_driver_before_1_4_has_no_vm_bind_and_says_which_it_is),
		T(a_vm_of_range_0_is_all_of_nouveaus_space_minus_nvks_kernel_window),
		cmocka_unit_test(a_vm_of_its_own_range_leaves_the_default_window_to_the_kernel),
		cmocka_unit_test(a_vms_reserved_range_becomes_the_kernel_window),
		cmocka_unit_test(vms_nouveau_cannot_have_are_refused_and_the_fd_stays_undecided),
		T(one_vm_per_fd_and_the_next_one_gets_the_same_window_emptied),
		cmocka_unit_test(a_fd_whose_first_bo_came_before_the_vm_cannot_have_one),
		T(a_vm_whose_teardown_failed_leaves_the_fd_to_no_other),
		cmocka_unit_test(bos_come_after_vm_init_in_vram_or_gart),
		T(maps_and_unmaps_reach_the_kernel_page_for_page),
		T(a_batch_is_one_ioctl),
		T(the_pte_kind_rides_in_a_maps_driver_flags),
		T(driver_flags_past_the_pte_kind_are_refused_before_the_ioctl),
		T(what_nouveau_refuses_is_refused_before_the_ioctl_with_its_errno),
		T(a_bo_the_kernel_cannot_map_fails_the_whole_commit_and_changes_nothing),
		T(a_null_map_touching_no_region_makes_one),
		T(a_null_map_over_bo_pages_unmaps_them_and_makes_a_region_in_one_commit),
		T(bo_maps_inside_a_region_are_backed_and_a_null_map_there_makes_them_sparse),
		T(an_unmap_of_whole_regions_destroys_them_with_their_bo_pages),
		T(maps_across_a_regions_edge_are_refused_and_say_what_to_do),
		T(a_region_made_and_filled_in_one_commit_is_one_ioctl),
		T(a_region_made_over_unchanged_bo_pages_keeps_them),
		T(a_region_made_and_unmapped_in_one_batch_never_reaches_the_kernel),
		T(a_region_unmapped_and_made_again_whole_in_one_batch_stays),
		T(a_region_unmapped_earlier_in_the_batch_cannot_be_reused_before_the_commit),
		T(a_request_sees_the_regions_the_accepted_ones_before_it_left),
		T(an_aborted_batch_leaves_no_region_behind),
		T(a_failed_commit_leaves_its_regions_out_and_nothing_to_wait_for),
		T(an_async_commit_signals_its_points_once_the_kernel_has_run_it),
		T(a_sync_commit_with_points_returns_when_its_batch_has_run),
		T(sync_points_the_kernel_refuses_fail_the_commit_and_change_nothing),
		cmocka_unit_test(without_timeline_syncobjs_a_sync_commit_is_a_sync_ioctl),
		cmocka_unit_test(discovery_finds_the_nouveau_node_and_opens_it_with_its_backend),
	};

	return cmocka_run_group_tests_name("backend-nouveau", tests, NULL, NULL);
}
