/* SPDX-License-Identifier: MIT */
/*
 * The panthor backend on the fake kernel: VM set-up, one VM_BIND per commit in
 * both modes, the rules of docs/kernels.md 4.4 refused before any ioctl,
 * partial synchronous failures, lost VMs, NULL mappings through the blackhole
 * BO, and the device layer. After every commit the mirror must equal the fake
 * kernel's page record.
 *
 * Run with LD_PRELOAD=libgpuva-shim.so GPUVA_SHIM_DRIVER=panthor (meson
 * does); skipped (77) otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>

#include "backend/panthor_abi.h"
#include "panthor-fixture.h"
#include "uapi.h"		/* the fake kernel's own declarations */

#define BO_SIZE		0x40000ull	/* the fixture's BOs: 64 pages */
#define USER_LIMIT	(1ull << 47)	/* the fake's default user range */
#define MAX_USER	((1ull << 48) - 256 * MiB)

struct fx {
	struct pdev d;
	struct gpuva_vm *vm;		/* VM 1: the default window */
	struct gpuva_bo *bo[3];		/* shared BOs */
};

static int
fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct gpuva_vm_desc desc = { .flags = GPUVA_VM_CHECK };

	pdev_open(&fx->d);
	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, &desc, &fx->vm), 0);
	for (int i = 0; i < 3; i++)
		fx->bo[i] = pdev_bo(&fx->d, NULL, BO_SIZE);
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;

	clear_shim_switches();
	if (fx->vm && !gpuva_vm_is_lost(fx->vm))
		assert_int_equal(gpuva_vm_check(fx->vm), 0);
	gpuva_vm_destroy(fx->vm);
	for (int i = 0; i < 3; i++)
		assert_int_equal(gpuva_backend_bo_destroy(fx->d.be, fx->bo[i]), 0);
	pdev_close(&fx->d);
	free(fx);
	return 0;
}

/* ---- requests ------------------------------------------------------------------ */

enum { MAP, NUL, UNMAP };

/* One request: kind, range, fixture BO index (MAP), offset, driver flags. */
struct req {
	int kind;
	uint64_t addr, range;
	int bo;
	uint64_t off;
	uint32_t df;
};

static int
add_req(struct gpuva_bind *txn, struct gpuva_bo *const *bos, const struct req *r)
{
	struct gpuva_map_req m = {
		.addr = r->addr, .range = r->range,
		.bo = r->kind == MAP ? bos[r->bo] : NULL,
		.offset = r->off, .driver_flags = r->df,
	};

	if (r->kind == UNMAP)
		return gpuva_bind_unmap(txn, r->addr, r->range);
	return gpuva_bind_map(txn, &m);
}

/* One transaction of @n requests on @vm, committed as @c says. */
static int
commit_reqs(struct gpuva_vm *vm, struct gpuva_bo *const *bos,
	    const struct req *r, size_t n, struct gpuva_commit *c)
{
	struct gpuva_bind *txn;
	int ret = gpuva_bind_begin(vm, &txn);

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		ret = add_req(txn, bos, &r[i]);
		if (ret) {
			gpuva_bind_abort(txn);
			return ret;
		}
	}
	return gpuva_bind_commit(txn, c);
}

#define COMMIT(fx, c, ...) \
	commit_reqs((fx)->vm, (fx)->bo, (const struct req[]){ __VA_ARGS__ }, \
		    sizeof((const struct req[]){ __VA_ARGS__ }) / sizeof(struct req), (c))

/* Add one request to a new transaction, then abort it: the request's errno. */
static int
try_req(struct gpuva_vm *vm, struct gpuva_bo *const *bos, struct req r)
{
	struct gpuva_bind *txn;
	int ret;

	assert_int_equal(gpuva_bind_begin(vm, &txn), 0);
	ret = add_req(txn, bos, &r);
	gpuva_bind_abort(txn);
	return ret;
}

/* A synchronous VM_BIND of one op, sent straight to the kernel: its errno. */
static int
raw_bind(const struct pdev *d, uint32_t vm_id, uint32_t flags, uint32_t handle,
	 uint64_t off, uint64_t va, uint64_t size)
{
	struct panthor_vm_bind_op op = {
		.flags = flags, .bo_handle = handle, .bo_offset = off,
		.va = va, .size = size,
	};
	struct panthor_vm_bind b = {
		.vm_id = vm_id,
		.ops = { .stride = sizeof(op), .count = 1, .array = (uintptr_t)&op },
	};

	return xioctl(d->fd, PANTHOR_IOCTL_VM_BIND, &b);
}

/* A test-owned syncobj, signalled or not. */
static uint32_t
syncobj(struct pdev *d)
{
	uint32_t h;

	assert_int_equal(gpuva_backend_sync_create(d->be, &h), 0);
	return h;
}

static int
sync_poll(struct pdev *d, uint32_t h, uint64_t point)
{
	struct gpuva_sync s = { .handle = h, .point = point };

	return gpuva_backend_sync_wait(d->be, &s, 1, 0);
}

static void
sync_signal(struct pdev *d, uint32_t h, uint64_t point)
{
	struct gpuva_sync s = { .handle = h, .point = point };

	assert_int_equal(gpuva_backend_sync_signal(d->be, &s, 1), 0);
}

/* ---- the device layer ------------------------------------------------------------ */

static void
the_probe_reports_the_default_window_4k_pages_and_the_blackhole(void **state)
{
	struct gpuva_drm_node n;

	(void)state;
	assert_int_equal(gpuva_drm_probe(RENDER_NODE, &n), 0);
	assert_string_equal(n.driver, "panthor");
	assert_true(n.vm_bind);
	assert_string_equal(n.why, "");
	assert_int_equal(n.va_start, 0);
	assert_int_equal(n.va_range, USER_LIMIT);
	assert_int_equal(n.page_size, PAGE);
	assert_string_equal(n.null_mode, "blackhole BO");
}

static void
discovery_opens_the_panthor_node_with_the_panthor_backend(void **state)
{
	struct fx *fx = *state;
	const struct gpuva_drm_node *n = gpuva_drm_device_node(fx->d.dev);

	assert_string_equal(gpuva_backend_name(fx->d.be), "panthor");
	assert_string_equal(n->path, RENDER_NODE);
	assert_int_equal(n->va_range, USER_LIMIT);
}

static void
log_reason(void *priv, const char *reason)
{
	snprintf(priv, 256, "%s", reason);
}

static void
a_backend_needs_a_panthor_fd_and_no_sim_options(void **state)
{
	char why[256] = "";
	struct gpuva_backend_desc d = { .fd = -1, .log_fn = log_reason, .log_priv = why };
	struct gpuva_backend *be;
	int fd;

	(void)state;
	assert_int_equal(gpuva_backend_create("panthor", &d, &be), -EINVAL);
	assert_non_null(strstr(why, "render node"));
	d.fd = open("/dev/null", O_RDWR);
	assert_true(d.fd >= 0);
	assert_int_equal(gpuva_backend_create("panthor", &d, &be), -ENODEV);
	assert_non_null(strstr(why, "not panthor"));
	close(d.fd);
	fd = open(RENDER_NODE, O_RDWR);
	d.fd = fd;
	d.page_size = 0x10000;
	assert_int_equal(gpuva_backend_create("panthor", &d, &be), -EINVAL);
	assert_non_null(strstr(why, "page_size"));
	d.page_size = 0;
	d.flags = 1;
	assert_int_equal(gpuva_backend_create("panthor", &d, &be), -EINVAL);
	assert_non_null(strstr(why, "flags"));
	d.flags = 0;
	assert_int_equal(gpuva_backend_create("panthor", &d, &be), 0);
	gpuva_backend_destroy(be);
	close(fd);
}

/* ---- VM set-up ------------------------------------------------------------------- */

static void
a_default_vm_ends_where_the_kernel_s_part_begins(void **state)
{
	struct fx *fx = *state;
	struct gpuva_vm_info info;

	gpuva_vm_get_info(fx->vm, &info);
	assert_int_equal(info.start, 0);
	assert_int_equal(info.range, USER_LIMIT);
	assert_int_equal(info.reserved_range, 0);
	assert_int_equal(info.page_size, PAGE);
	/* the last user page binds; the first kernel page is the VM's end */
	assert_int_equal(COMMIT(fx, NULL, { MAP, USER_LIMIT - PAGE, PAGE, 0, 0, 0 }), 0);
	assert_int_equal(try_req(fx->vm, fx->bo,
				 (struct req){ MAP, USER_LIMIT, PAGE, 0, 0, 0 }), -EINVAL);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
}

static void
a_vm_asked_for_a_range_covers_exactly_that_range(void **state)
{
	struct fx *fx = *state;
	struct gpuva_vm_desc desc = { .start = 1ull << 32, .range = 1ull << 32 };
	struct gpuva_vm *vm;
	struct gpuva_vm_info info;

	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, &desc, &vm), 0);
	gpuva_vm_get_info(vm, &info);
	assert_int_equal(info.start, 1ull << 32);
	assert_int_equal(info.range, 1ull << 32);
	assert_int_equal(try_req(vm, fx->bo,
				 (struct req){ MAP, (1ull << 32) - PAGE, PAGE, 0, 0, 0 }),
			 -EINVAL);
	gpuva_vm_destroy(vm);
}

static void
a_vm_asked_for_the_largest_user_range_gets_it_up_to_the_kernel_s_256_mib(void **state)
{
	struct fx *fx = *state;
	struct gpuva_vm_desc desc = { .range = MAX_USER };
	struct gpuva_bo *bos[1] = { fx->bo[0] };
	struct gpuva_vm *vm;
	struct gpuva_vm_info info;

	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, &desc, &vm), 0);
	gpuva_vm_get_info(vm, &info);
	assert_int_equal(info.range, MAX_USER);
	/* the kernel agrees: its user part reaches that far (VM 2) */
	assert_int_equal(commit_reqs(vm, bos, &(struct req){ MAP, MAX_USER - PAGE,
							     PAGE, 0, 0, 0 }, 1, NULL), 0);
	assert_mirror_is_record(&fx->d, vm, 2);
	gpuva_vm_destroy(vm);
}

static void
a_vm_reaching_into_the_kernel_s_part_is_refused_with_the_window(void **state)
{
	struct fx *fx = *state;
	struct gpuva_vm_desc desc = { .range = MAX_USER + PAGE };
	struct gpuva_vm *vm = NULL;

	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, &desc, &vm), -EINVAL);
	assert_null(vm);
	assert_non_null(strstr(gpuva_backend_last_error(fx->d.be),
			       "user VA window [0x0, 0xfffff0000000)"));
	desc = (struct gpuva_vm_desc){ .start = MAX_USER, .range = PAGE };
	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, &desc, &vm), -EINVAL);
	desc = (struct gpuva_vm_desc){ .start = UINT64_MAX - 0xfff, .range = PAGE };
	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, &desc, &vm), -EINVAL);
	/* refused before VM_CREATE: no kernel VM was made (VM 2 is free) */
	assert_int_equal(shim.page_count(fx->d.fd, 2), -ENOENT);
}

static void
page_sizes_below_4k_above_2m_or_not_dividing_the_range_are_refused(void **state)
{
	struct fx *fx = *state;
	struct gpuva_vm_desc desc = { .page_size = 0x800 };
	struct gpuva_vm_info info;
	struct gpuva_vm *vm = NULL;

	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, &desc, &vm), -EINVAL);
	assert_non_null(strstr(gpuva_backend_last_error(fx->d.be), "page size 0x800"));
	desc.page_size = 4 * MiB;
	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, &desc, &vm), -EINVAL);
	assert_non_null(strstr(gpuva_backend_last_error(fx->d.be), "blackhole"));
	desc = (struct gpuva_vm_desc){ .start = PAGE, .range = 0x10000, .page_size = 0x10000 };
	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, &desc, &vm), -EINVAL);
	assert_null(vm);
	assert_int_equal(shim.page_count(fx->d.fd, 2), -ENOENT);
	desc = (struct gpuva_vm_desc){ .page_size = 0x10000 };
	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, &desc, &vm), 0);
	gpuva_vm_get_info(vm, &info);
	assert_int_equal(info.page_size, 0x10000);
	assert_int_equal(try_req(vm, fx->bo, (struct req){ MAP, 0x10000, PAGE, 0, 0, 0 }),
			 -EINVAL);
	gpuva_vm_destroy(vm);
}

static void
the_33rd_vm_of_a_device_is_ebusy_until_one_goes(void **state)
{
	struct fx *fx = *state;
	struct gpuva_vm *vms[32] = { fx->vm };
	struct gpuva_vm *vm = NULL;

	for (int i = 1; i < 32; i++)
		assert_int_equal(gpuva_drm_vm_create(fx->d.dev, NULL, &vms[i]), 0);
	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, NULL, &vm), -EBUSY);
	assert_null(vm);
	assert_non_null(strstr(gpuva_backend_last_error(fx->d.be), "32 VMs"));
	gpuva_vm_destroy(vms[31]);
	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, NULL, &vms[31]), 0);
	for (int i = 1; i < 32; i++)
		gpuva_vm_destroy(vms[i]);
}

static void
destroying_a_vm_destroys_the_kernel_vm_and_what_it_mapped(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(COMMIT(fx, NULL, { MAP, 0x100000, BO_SIZE, 0, 0, 0 }), 0);
	assert_int_equal(shim.page_count(fx->d.fd, 1), BO_SIZE / PAGE);
	gpuva_vm_destroy(fx->vm);
	fx->vm = NULL;
	assert_int_equal(shim.page_count(fx->d.fd, 1), -ENOENT);
}

/* ---- synchronous commits ------------------------------------------------------------ */

static void
a_commit_of_several_requests_is_one_vm_bind(void **state)
{
	struct fx *fx = *state;

	/* the second VM_BIND from now fails: the first commit must be one */
	setenv("GPUVA_SHIM_FAIL_BIND", "2:EIO", 1);
	assert_int_equal(COMMIT(fx, NULL,
				{ MAP, 0x100000, 0x10000, 0, 0, 0 },
				{ MAP, 0x200000, 0x10000, 1, 0, 0 },
				{ NUL, 0x300000, 0x10000, 0, 0, 0 },
				{ UNMAP, 0x108000, 0x1000, 0, 0, 0 }), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	assert_int_equal(COMMIT(fx, NULL, { UNMAP, 0x100000, 0x1000, 0, 0, 0 }), -EIO);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
}

static void
maps_unmaps_and_splits_reach_the_kernel_page_for_page(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(COMMIT(fx, NULL, { MAP, 0x100000, 0x30000, 0, 0, 0 }), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	assert_int_equal(COMMIT(fx, NULL, { MAP, 0x110000, 0x10000, 1, 0x8000, 0 }), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	assert_int_equal(COMMIT(fx, NULL, { UNMAP, 0x118000, 0x10000, 0, 0, 0 },
				{ MAP, 0x200000, BO_SIZE, 2, 0, 0 }), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	assert_int_equal(COMMIT(fx, NULL, { UNMAP, 0, 1ull << 30, 0, 0, 0 }), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	assert_int_equal(shim.page_count(fx->d.fd, 1), 0);
}

static void
driver_flags_readonly_noexec_uncached_reach_the_page_tables(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(COMMIT(fx, NULL,
				{ MAP, 0x100000, 0x4000, 0, 0, 0x1 },
				{ MAP, 0x104000, 0x4000, 0, 0x4000, 0x2 },
				{ MAP, 0x108000, 0x4000, 0, 0x8000, 0x4 },
				{ MAP, 0x10c000, 0x4000, 0, 0xc000, 0x7 }), 0);
	assert_int_equal(page_at(fx->d.fd, 1, 0x100000).flags, 0x1);
	assert_int_equal(page_at(fx->d.fd, 1, 0x104000).flags, 0x2);
	assert_int_equal(page_at(fx->d.fd, 1, 0x108000).flags, 0x4);
	assert_int_equal(page_at(fx->d.fd, 1, 0x10c000).flags, 0x7);
	/* the same BO range with new flags is a change the kernel must see */
	assert_int_equal(COMMIT(fx, NULL, { MAP, 0x101000, 0x1000, 0, 0x1000, 0x2 }), 0);
	assert_int_equal(page_at(fx->d.fd, 1, 0x101000).flags, 0x2);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
}

static void
a_batch_whose_net_effect_is_empty_sends_no_vm_bind(void **state)
{
	struct fx *fx = *state;
	struct gpuva_commit c = { 0 };

	setenv("GPUVA_SHIM_FAIL_BIND", "1:EIO", 1);
	assert_int_equal(COMMIT(fx, &c, { MAP, 0x100000, 0x10000, 0, 0, 0 },
				{ UNMAP, 0x100000, 0x10000, 0, 0, 0 }), 0);
	assert_int_equal(c.net_count, 0);
	/* the first VM_BIND is still to come */
	assert_int_equal(COMMIT(fx, NULL, { MAP, 0x100000, 0x10000, 0, 0, 0 }), -EIO);
	assert_int_equal(shim.page_count(fx->d.fd, 1), 0);
}

/* ---- docs/kernels.md 4.4: refused before the ioctl, as the kernel refuses ---------- */

/*
 * @r is refused when added (so before any ioctl) with -EINVAL, the reason
 * names @why, nothing changed; and the kernel, sent the op raw, says EINVAL
 * too.
 */
static void
assert_refused_like_the_kernel(struct fx *fx, struct gpuva_vm *vm, uint32_t vm_id,
			       struct gpuva_bo *const *bos, struct req r,
			       const char *why, uint32_t raw_flags, uint32_t raw_handle)
{
	struct backend_state before = backend_state_save(vm, fx->d.fd, vm_id);

	assert_int_equal(try_req(vm, bos, r), -EINVAL);
	assert_non_null(strstr(gpuva_vm_last_error(vm), why));
	backend_state_assert_unchanged(vm, fx->d.fd, vm_id, &before);
	before = backend_state_save(vm, fx->d.fd, vm_id);
	assert_int_equal(raw_bind(&fx->d, vm_id, raw_flags, raw_handle, r.off,
				  r.addr, r.range), EINVAL);
	backend_state_assert_unchanged(vm, fx->d.fd, vm_id, &before);
}

static void
unaligned_va_size_or_bo_offset_is_refused_like_the_kernel_does(void **state)
{
	struct fx *fx = *state;
	uint32_t h = fx->bo[0]->handle;

	assert_int_equal(COMMIT(fx, NULL, { MAP, 0x100000, 0x10000, 1, 0, 0 }), 0);
	assert_refused_like_the_kernel(fx, fx->vm, 1, fx->bo,
				       (struct req){ MAP, 0x100800, 0x1000, 0, 0, 0 },
				       "page size", 0, h);
	assert_refused_like_the_kernel(fx, fx->vm, 1, fx->bo,
				       (struct req){ MAP, 0x100000, 0x1800, 0, 0, 0 },
				       "page size", 0, h);
	assert_refused_like_the_kernel(fx, fx->vm, 1, fx->bo,
				       (struct req){ MAP, 0x100000, 0x1000, 0, 0x10, 0 },
				       "page size", 0, h);
	assert_refused_like_the_kernel(fx, fx->vm, 1, fx->bo,
				       (struct req){ UNMAP, 0x100200, 0x1000, 0, 0, 0 },
				       "page size", PANTHOR_VM_BIND_OP_TYPE_UNMAP, 0);
}

static void
driver_flags_panthor_does_not_know_are_refused_like_the_kernel_does(void **state)
{
	struct fx *fx = *state;
	uint32_t h = fx->bo[0]->handle;

	assert_refused_like_the_kernel(fx, fx->vm, 1, fx->bo,
				       (struct req){ MAP, 0x100000, 0x1000, 0, 0, 0x8 },
				       "driver flags 0x8", 0x8, h);
	/* type bits are the backend's to set, never the caller's */
	assert_int_equal(try_req(fx->vm, fx->bo,
				 (struct req){ MAP, 0x100000, 0x1000, 0, 0, 0x10000000 }),
			 -EINVAL);
	assert_int_equal(try_req(fx->vm, fx->bo,
				 (struct req){ NUL, 0x100000, 0x1000, 0, 0, 0x8 }), -EINVAL);
	assert_int_equal(shim.page_count(fx->d.fd, 1), 0);
}

static void
gem_handle_0_is_refused_like_the_kernel_does(void **state)
{
	struct fx *fx = *state;
	struct gpuva_bo own = { 0 };
	struct gpuva_bo *bos[1] = { &own };

	gpuva_bo_init(&own, BO_SIZE);	/* a driver's BO; handle 0 */
	assert_refused_like_the_kernel(fx, fx->vm, 1, bos,
				       (struct req){ MAP, 0x100000, 0x1000, 0, 0, 0 },
				       "GEM handle 0", 0, 0);
	gpuva_bo_fini(&own);
}

static void
a_bo_range_beyond_the_bo_is_refused_like_the_kernel_does(void **state)
{
	struct fx *fx = *state;
	uint32_t h = fx->bo[0]->handle;

	assert_int_equal(fx->bo[0]->size, BO_SIZE);	/* the kernel's size */
	assert_refused_like_the_kernel(fx, fx->vm, 1, fx->bo,
				       (struct req){ MAP, 0x100000, BO_SIZE + PAGE, 0, 0, 0 },
				       "", 0, h);
	assert_refused_like_the_kernel(fx, fx->vm, 1, fx->bo,
				       (struct req){ MAP, 0x100000, 0x2000, 0, BO_SIZE - PAGE, 0 },
				       "", 0, h);
}

static void
a_range_beyond_the_user_window_is_refused_like_the_kernel_does(void **state)
{
	struct fx *fx = *state;
	uint32_t h = fx->bo[0]->handle;

	assert_refused_like_the_kernel(fx, fx->vm, 1, fx->bo,
				       (struct req){ MAP, USER_LIMIT - PAGE, 0x2000, 0, 0, 0 },
				       "", 0, h);
	assert_refused_like_the_kernel(fx, fx->vm, 1, fx->bo,
				       (struct req){ UNMAP, USER_LIMIT, 0x1000, 0, 0, 0 },
				       "", PANTHOR_VM_BIND_OP_TYPE_UNMAP, 0);
}

static void
a_bo_exclusive_to_another_vm_is_refused_like_the_kernel_does(void **state)
{
	struct fx *fx = *state;
	struct gpuva_vm *vm2;
	struct gpuva_bo *mine[1];

	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, NULL, &vm2), 0);
	mine[0] = pdev_bo(&fx->d, vm2, BO_SIZE);	/* exclusive to VM 2 */
	assert_int_equal(commit_reqs(vm2, mine, &(struct req){ MAP, 0x100000, PAGE,
							       0, 0, 0 }, 1, NULL), 0);
	assert_mirror_is_record(&fx->d, vm2, 2);
	assert_refused_like_the_kernel(fx, fx->vm, 1, mine,
				       (struct req){ MAP, 0x100000, PAGE, 0, 0, 0 },
				       "exclusive to another VM", 0, mine[0]->handle);
	assert_int_equal(commit_reqs(vm2, mine, &(struct req){ UNMAP, 0, 1ull << 30,
							       0, 0, 0 }, 1, NULL), 0);
	gpuva_vm_destroy(vm2);
	/* once its VM is gone, the kernel lets no VM map it */
	assert_refused_like_the_kernel(fx, fx->vm, 1, mine,
				       (struct req){ MAP, 0x100000, PAGE, 0, 0, 0 },
				       "destroyed VM", 0, mine[0]->handle);
	assert_int_equal(gpuva_backend_bo_destroy(fx->d.be, mine[0]), 0);
}

static void
a_private_bo_needs_a_vm_of_its_backend(void **state)
{
	struct fx *fx = *state;
	struct gpuva_bo *bo = NULL;

	assert_int_equal(gpuva_backend_bo_create(fx->d.be, NULL, BO_SIZE,
						 GPUVA_BACKEND_BO_PRIVATE, &bo), -EINVAL);
	assert_null(bo);
}

/*
 * A driver's own BO is not the backend's: whether its handle resolves
 * only the kernel knows. It refuses the op; the ops before it stay
 * applied, and the mirror keeps exactly those.
 */
static void
a_driver_bo_with_an_unknown_handle_is_refused_by_the_kernel_at_its_op(void **state)
{
	struct fx *fx = *state;
	struct gpuva_bo own = { 0 };
	struct gpuva_bo *bos[2] = { fx->bo[0], &own };
	struct gpuva_commit c = { 0 };
	struct req r[] = {
		{ MAP, 0x100000, 0x10000, 0, 0, 0 },
		{ MAP, 0x200000, 0x10000, 1, 0, 0 },
		{ MAP, 0x300000, 0x10000, 0, 0, 0 },
	};

	gpuva_bo_init(&own, BO_SIZE);
	own.handle = 0x7777;
	assert_int_equal(commit_reqs(fx->vm, bos, r, 3, &c), -EINVAL);
	assert_int_equal(c.applied_unit, GPUVA_BIND_NET);
	assert_int_equal(c.applied, 1);
	assert_int_equal(c.applied_bytes, 0);
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "op 1 of 3"));
	assert_false(gpuva_vm_is_lost(fx->vm));
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	assert_int_equal(shim.page_count(fx->d.fd, 1), 0x10);
	assert_int_equal(gpuva_bo_fini(&own), 0);
}

/* ---- synchronous failures: exactly the ops before the failing one ---------------- */

/*
 * The batch below is 8 kernel ops: MAP (1), a NULL mapping crossing four
 * 2 MiB lines (5 blackhole chunks), UNMAP (1), MAP (1). Failing at op k
 * keeps ops 0..k-1: whole net entries, plus the chunks of the NULL entry.
 */
static void
a_sync_bind_failing_at_any_op_keeps_exactly_the_ops_before_it(void **state)
{
	struct fx *fx = *state;
	static const struct {
		uint32_t unit;
		size_t applied;
		uint64_t bytes;
	} expect[] = {
		{ GPUVA_BIND_NOTHING, 0, 0 },
		{ GPUVA_BIND_NET, 1, 0 },
		{ GPUVA_BIND_NET, 1, 0x1000 },		/* up to the first line */
		{ GPUVA_BIND_NET, 1, 0x201000 },
		{ GPUVA_BIND_NET, 1, 0x401000 },
		{ GPUVA_BIND_NET, 1, 0x601000 },
		{ GPUVA_BIND_NET, 2, 0 },
		{ GPUVA_BIND_NET, 3, 0 },
	};
	const struct req setup = { MAP, 0x1000000, 0x10000, 2, 0, 0 };
	const struct req batch[] = {
		{ MAP, 0x100000, 0x10000, 0, 0, 0x2 },
		{ NUL, 0x1ff000, 0x602000, 0, 0, 0x2 },
		{ UNMAP, 0x1000000, 0x8000, 0, 0, 0 },
		{ MAP, 0x2000000, 0x20000, 1, 0x10000, 0 },
	};

	for (uint32_t k = 0; k < sizeof(expect) / sizeof(expect[0]); k++) {
		struct gpuva_commit c = { 0 };
		struct gpuva_vm *vm;
		char sw[32];

		assert_int_equal(gpuva_drm_vm_create(fx->d.dev, NULL, &vm), 0);
		assert_int_equal(commit_reqs(vm, fx->bo, &setup, 1, NULL), 0);
		snprintf(sw, sizeof(sw), "1:ENOSPC:%" PRIu32, k);
		setenv("GPUVA_SHIM_FAIL_BIND", sw, 1);
		assert_int_equal(commit_reqs(vm, fx->bo, batch, 4, &c), -ENOSPC);
		unsetenv("GPUVA_SHIM_FAIL_BIND");
		assert_int_equal(c.net_count, 4);
		assert_int_equal(c.applied_unit, expect[k].unit);
		assert_int_equal(c.applied, expect[k].applied);
		assert_int_equal(c.applied_bytes, expect[k].bytes);
		assert_false(gpuva_vm_is_lost(vm));
		assert_int_equal(gpuva_vm_check(vm), 0);
		assert_mirror_is_record(&fx->d, vm, 2);
		/* and the VM goes on: the whole batch again, then all of it gone */
		assert_int_equal(commit_reqs(vm, fx->bo, batch, 4, NULL), 0);
		assert_mirror_is_record(&fx->d, vm, 2);
		assert_int_equal(commit_reqs(vm, fx->bo, &(struct req){ UNMAP, 0,
								       1ull << 30, 0, 0, 0 },
					     1, NULL), 0);
		assert_int_equal(shim.page_count(fx->d.fd, 2), 0);
		gpuva_vm_destroy(vm);
	}
}

static void
a_sync_bind_failing_before_its_first_op_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct gpuva_commit c = { 0 };
	struct backend_state before;

	assert_int_equal(COMMIT(fx, NULL, { MAP, 0x100000, 0x10000, 0, 0, 0 }), 0);
	before = backend_state_save(fx->vm, fx->d.fd, 1);
	setenv("GPUVA_SHIM_FAIL_BIND", "1:ENOMEM", 1);
	assert_int_equal(COMMIT(fx, &c, { MAP, 0x108000, 0x10000, 1, 0, 0 },
				{ UNMAP, 0x100000, 0x1000, 0, 0, 0 }), -ENOMEM);
	assert_int_equal(c.applied_unit, GPUVA_BIND_NOTHING);
	backend_state_assert_unchanged(fx->vm, fx->d.fd, 1, &before);
	/* a commit that handed the kernel nothing holds up no wait */
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
}

/* ---- sync points ------------------------------------------------------------------ */

struct later {
	struct pdev *d;
	uint32_t handle;
	uint64_t point;
};

static void *
signal_later(void *p)
{
	struct later *l = p;
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	sync_signal(l->d, l->handle, l->point);
	return NULL;
}

static void
a_sync_commit_waits_for_its_waits_on_the_cpu_then_signals(void **state)
{
	struct fx *fx = *state;
	uint32_t w = syncobj(&fx->d), s = syncobj(&fx->d);
	struct gpuva_sync wait = { .handle = w }, sig = { .handle = s };
	struct gpuva_commit c = { .wait_count = 1, .waits = &wait,
				  .signal_count = 1, .signals = &sig };
	struct later l = { &fx->d, w, 0 };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, signal_later, &l), 0);
	assert_int_equal(COMMIT(fx, &c, { MAP, 0x100000, 0x10000, 0, 0, 0 }), 0);
	pthread_join(t, NULL);
	assert_int_equal(sync_poll(&fx->d, w, 0), 0);
	assert_int_equal(sync_poll(&fx->d, s, 0), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	gpuva_backend_sync_destroy(fx->d.be, w);
	gpuva_backend_sync_destroy(fx->d.be, s);
}

static void
a_commit_naming_an_unknown_syncobj_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct gpuva_sync bad = { .handle = 0x999 };
	struct gpuva_commit c = { .signal_count = 1, .signals = &bad };
	struct backend_state before = backend_state_save(fx->vm, fx->d.fd, 1);

	assert_int_equal(COMMIT(fx, &c, { MAP, 0x100000, 0x10000, 0, 0, 0 }), -ENOENT);
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "no such syncobj"));
	backend_state_assert_unchanged(fx->vm, fx->d.fd, 1, &before);
	c = (struct gpuva_commit){ .wait_count = 1, .waits = &bad };
	before = backend_state_save(fx->vm, fx->d.fd, 1);
	assert_int_equal(COMMIT(fx, &c, { MAP, 0x100000, 0x10000, 0, 0, 0 }), -ENOENT);
	backend_state_assert_unchanged(fx->vm, fx->d.fd, 1, &before);
	/* asynchronous: the kernel itself refuses the signal (EINVAL) */
	c = (struct gpuva_commit){ .flags = GPUVA_COMMIT_ASYNC, .signal_count = 1,
				   .signals = &bad };
	before = backend_state_save(fx->vm, fx->d.fd, 1);
	assert_int_equal(COMMIT(fx, &c, { MAP, 0x100000, 0x10000, 0, 0, 0 }), -EINVAL);
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "no such syncobj"));
	assert_false(gpuva_vm_is_lost(fx->vm));
	backend_state_assert_unchanged(fx->vm, fx->d.fd, 1, &before);
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
}

static void
sync_file_fences_are_not_panthor_s(void **state)
{
	struct fx *fx = *state;
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_FENCE_FD_OUT };
	struct backend_state before = backend_state_save(fx->vm, fx->d.fd, 1);

	assert_int_equal(COMMIT(fx, &c, { MAP, 0x100000, 0x10000, 0, 0, 0 }),
			 -EOPNOTSUPP);
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "sync_file"));
	backend_state_assert_unchanged(fx->vm, fx->d.fd, 1, &before);
}

static void
without_timeline_syncobjs_a_timeline_point_is_refused(void **state)
{
	struct pdev d;
	struct gpuva_vm *vm;
	struct gpuva_bo *bo[1];
	uint32_t h;
	struct gpuva_sync p;
	struct gpuva_commit c;

	(void)state;
	setenv("GPUVA_SHIM_NO_TIMELINE", "1", 1);
	pdev_open(&d);
	assert_int_equal(gpuva_drm_vm_create(d.dev, NULL, &vm), 0);
	bo[0] = pdev_bo(&d, NULL, BO_SIZE);
	h = syncobj(&d);
	p = (struct gpuva_sync){ .handle = h, .point = 3 };
	for (int async = 0; async < 2; async++) {
		struct backend_state before = backend_state_save(vm, d.fd, 1);

		c = (struct gpuva_commit){ .flags = async ? GPUVA_COMMIT_ASYNC : 0,
					   .signal_count = 1, .signals = &p };
		assert_int_equal(commit_reqs(vm, bo, &(struct req){ MAP, 0x100000,
								    0x1000, 0, 0, 0 },
					     1, &c), -EOPNOTSUPP);
		assert_non_null(strstr(gpuva_vm_last_error(vm), "timeline"));
		backend_state_assert_unchanged(vm, d.fd, 1, &before);
	}
	/* binary syncobjs work, and asynchronous jobs count as run at once */
	p.point = 0;
	c = (struct gpuva_commit){ .flags = GPUVA_COMMIT_ASYNC, .signal_count = 1,
				   .signals = &p };
	assert_int_equal(commit_reqs(vm, bo, &(struct req){ MAP, 0x100000, 0x1000,
							    0, 0, 0 }, 1, &c), 0);
	assert_int_equal(sync_poll(&d, h, 0), 0);
	assert_int_equal(gpuva_vm_wait_idle(vm, 0), 0);
	assert_mirror_is_record(&d, vm, 1);
	gpuva_backend_sync_destroy(d.be, h);
	gpuva_vm_destroy(vm);
	assert_int_equal(gpuva_backend_bo_destroy(d.be, bo[0]), 0);
	pdev_close(&d);
	unsetenv("GPUVA_SHIM_NO_TIMELINE");
}

/* ---- asynchronous commits ----------------------------------------------------------- */

/*
 * A sync point of the fixture's device whose fence exists but has not
 * signalled, as a GPU job's would (panthor refuses an asynchronous wait on
 * a syncobj without a fence): the signal of a job held on a second device
 * (gpuva_shim_hold()), imported through a syncobj fd. gate_release() lets
 * that job run.
 */
struct gate {
	struct pdev d;
	struct gpuva_vm *vm;
	uint32_t there, here;
};

static void
gate_open(struct fx *fx, struct gate *g, uint64_t point)
{
	struct gpuva_sync s;
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC, .signal_count = 1,
				  .signals = &s };
	struct gpuva_bind *txn;
	int sfd;

	pdev_open(&g->d);
	assert_int_equal(gpuva_drm_vm_create(g->d.dev, NULL, &g->vm), 0);
	g->there = syncobj(&g->d);
	s = (struct gpuva_sync){ .handle = g->there, .point = point };
	assert_int_equal(shim.hold(g->d.fd, true), 0);
	assert_int_equal(gpuva_bind_begin(g->vm, &txn), 0);
	assert_int_equal(gpuva_bind_commit(txn, &c), 0);
	assert_int_equal(drmSyncobjHandleToFD(g->d.fd, g->there, &sfd), 0);
	assert_int_equal(drmSyncobjFDToHandle(fx->d.fd, sfd, &g->here), 0);
	close(sfd);
}

static void
gate_release(struct gate *g)
{
	assert_int_equal(shim.hold(g->d.fd, false), 0);
}

static void
gate_close(struct fx *fx, struct gate *g)
{
	assert_int_equal(gpuva_vm_wait_idle(g->vm, 0), 0);
	gpuva_vm_destroy(g->vm);
	gpuva_backend_sync_destroy(g->d.be, g->there);
	gpuva_backend_sync_destroy(fx->d.be, g->here);
	pdev_close(&g->d);
}

static void
an_async_commit_runs_after_its_waits_and_signals_once_it_has_run(void **state)
{
	struct fx *fx = *state;
	struct gate g;
	uint32_t s = syncobj(&fx->d);
	struct gpuva_sync wait, sig = { .handle = s, .point = 5 };
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC, .wait_count = 1,
				  .waits = &wait, .signal_count = 1, .signals = &sig };
	uint64_t empty = shim.digest(fx->d.fd, 1);

	gate_open(fx, &g, 1);
	wait = (struct gpuva_sync){ .handle = g.here, .point = 1 };
	/* six ops: a MAP, four blackhole chunks, a MAP */
	assert_int_equal(COMMIT(fx, &c, { MAP, 0x100000, 0x10000, 0, 0, 0 },
				{ NUL, 0x1ff000, 0x400000, 0, 0, 0 },
				{ MAP, 0x800000, 0x10000, 1, 0, 0x1 }), 0);
	/* queued behind the wait: nothing ran, nothing signalled */
	assert_true(shim.digest(fx->d.fd, 1) == empty);
	assert_int_equal(sync_poll(&fx->d, s, 5), -ETIME);
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), -ETIME);
	assert_false(gpuva_vm_is_lost(fx->vm));
	gate_release(&g);
	assert_int_equal(sync_poll(&fx->d, s, 5), 0);
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	gate_close(fx, &g);
	gpuva_backend_sync_destroy(fx->d.be, s);
}

static void
an_async_batch_without_ops_still_waits_and_signals(void **state)
{
	struct fx *fx = *state;
	struct gate g;
	uint32_t s = syncobj(&fx->d);
	struct gpuva_sync wait, sig = { .handle = s };
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC, .wait_count = 1,
				  .waits = &wait, .signal_count = 1, .signals = &sig };

	gate_open(fx, &g, 0);
	wait = (struct gpuva_sync){ .handle = g.here };
	assert_int_equal(COMMIT(fx, &c, { MAP, 0x100000, 0x10000, 0, 0, 0 },
				{ UNMAP, 0x100000, 0x10000, 0, 0, 0 }), 0);
	assert_int_equal(c.net_count, 0);
	assert_int_equal(sync_poll(&fx->d, s, 0), -ETIME);
	gate_release(&g);
	assert_int_equal(sync_poll(&fx->d, s, 0), 0);
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
	/* and one with no sync points at all has nothing to send */
	c = (struct gpuva_commit){ .flags = GPUVA_COMMIT_ASYNC };
	setenv("GPUVA_SHIM_FAIL_BIND", "1:EIO", 1);
	assert_int_equal(COMMIT(fx, &c, { MAP, 0x100000, 0x10000, 0, 0, 0 },
				{ UNMAP, 0x100000, 0x10000, 0, 0, 0 }), 0);
	assert_int_equal(shim.page_count(fx->d.fd, 1), 0);
	gate_close(fx, &g);
	gpuva_backend_sync_destroy(fx->d.be, s);
}

static void *
release_later(void *p)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	gate_release(p);
	return NULL;
}

static void
a_sync_commit_runs_after_the_vm_s_queued_jobs(void **state)
{
	struct fx *fx = *state;
	struct gate g;
	struct gpuva_sync wait;
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC, .wait_count = 1,
				  .waits = &wait };
	pthread_t t;

	gate_open(fx, &g, 0);
	wait = (struct gpuva_sync){ .handle = g.here };
	assert_int_equal(COMMIT(fx, &c, { MAP, 0x100000, 0x20000, 0, 0, 0 }), 0);
	assert_int_equal(shim.page_count(fx->d.fd, 1), 0);
	/* the unmap must land after the queued map, not before it */
	assert_int_equal(pthread_create(&t, NULL, release_later, &g), 0);
	assert_int_equal(COMMIT(fx, NULL, { UNMAP, 0x108000, 0x8000, 0, 0, 0 }), 0);
	pthread_join(t, NULL);
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	assert_int_equal(shim.page_count(fx->d.fd, 1), 0x18);
	gate_close(fx, &g);
}

static void
a_failed_async_job_loses_the_vm_and_a_new_vm_works(void **state)
{
	struct fx *fx = *state;
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC };
	struct gpuva_bind *txn;

	assert_int_equal(COMMIT(fx, &c, { MAP, 0x100000, 0x10000, 0, 0, 0 }), 0);
	setenv("GPUVA_SHIM_FAIL_JOB", "1:EIO", 1);
	/* queued fine; the job fails when it runs */
	assert_int_equal(COMMIT(fx, &c, { MAP, 0x200000, 0x10000, 1, 0, 0 }), 0);
	unsetenv("GPUVA_SHIM_FAIL_JOB");
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), -EPIPE);
	assert_true(gpuva_vm_is_lost(fx->vm));
	assert_int_equal(gpuva_bind_begin(fx->vm, &txn), -EPIPE);
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "lost"));
	gpuva_vm_destroy(fx->vm);
	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, NULL, &fx->vm), 0);
	assert_int_equal(COMMIT(fx, &c, { MAP, 0x200000, 0x10000, 1, 0, 0 }), 0);
	assert_int_equal(gpuva_vm_wait_idle(fx->vm, 0), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
}

static void
the_next_commit_after_a_failed_async_job_finds_the_vm_lost(void **state)
{
	struct fx *fx = *state;
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC };

	for (int async = 0; async < 2; async++) {
		struct gpuva_vm *vm;

		assert_int_equal(gpuva_drm_vm_create(fx->d.dev, NULL, &vm), 0);
		setenv("GPUVA_SHIM_FAIL_JOB", async ? "2:EIO" : "2:ENOMEM", 1);
		/* the second of three jobs fails */
		assert_int_equal(commit_reqs(vm, fx->bo, (const struct req[]){
				{ MAP, 0x100000, 0x1000, 0, 0, 0 },
				{ MAP, 0x200000, 0x1000, 0, 0, 0 },
				{ MAP, 0x300000, 0x1000, 0, 0, 0 } }, 3, &c), 0);
		unsetenv("GPUVA_SHIM_FAIL_JOB");
		c.flags = async ? GPUVA_COMMIT_ASYNC : 0;
		assert_int_equal(commit_reqs(vm, fx->bo, &(struct req){ MAP, 0x400000,
								       0x1000, 0, 0, 0 },
					     1, &c), -EPIPE);
		assert_true(gpuva_vm_is_lost(vm));
		assert_non_null(strstr(gpuva_vm_last_error(vm), "create a new VM"));
		c.flags = GPUVA_COMMIT_ASYNC;
		gpuva_vm_destroy(vm);
	}
}

/* ---- NULL mappings: the blackhole BO ------------------------------------------------- */

static void
a_null_mapping_maps_the_blackhole_chunk_by_chunk_at_2mib_lines(void **state)
{
	struct fx *fx = *state;
	const struct gpuva *va;

	assert_int_equal(COMMIT(fx, NULL, { NUL, 0x1ff000, 0x402000, 0, 0, 0x2 }), 0);
	va = gpuva_vm_first(fx->vm);
	assert_non_null(va);
	assert_null(gpuva_bo_of(va));
	assert_null(gpuva_vm_next(fx->vm, va));	/* one NULL mapping */
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	assert_int_not_equal(fx->d.blackhole, 0);
	/* the offset restarts at each 2 MiB line, so huge pages fit */
	assert_int_equal(page_at(fx->d.fd, 1, 0x1ff000).bo_offset, 0x1ff000);
	assert_int_equal(page_at(fx->d.fd, 1, 0x200000).bo_offset, 0);
	assert_int_equal(page_at(fx->d.fd, 1, 0x3ff000).bo_offset, 0x1ff000);
	assert_int_equal(page_at(fx->d.fd, 1, 0x600000).bo_offset, 0);
	assert_int_equal(page_at(fx->d.fd, 1, 0x600000).flags, 0x2);
	assert_int_equal(page_at(fx->d.fd, 1, 0x601000).kind, GPUVA_SHIM_PAGE_NONE);
}

static void
binding_into_a_null_mapping_replaces_only_what_it_covers(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(COMMIT(fx, NULL, { NUL, 0x100000, 0x400000, 0, 0, 0 }), 0);
	assert_int_equal(COMMIT(fx, NULL, { MAP, 0x1f0000, 0x20000, 0, 0, 0 }), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	/* evicted: back to NULL, through the blackhole again */
	assert_int_equal(COMMIT(fx, NULL, { NUL, 0x1f8000, 0x10000, 0, 0, 0 }), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	assert_int_equal(COMMIT(fx, NULL, { UNMAP, 0x180000, 0x100000, 0, 0, 0 }), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
}

static void
every_vm_of_a_device_shares_one_blackhole(void **state)
{
	struct fx *fx = *state;
	struct gpuva_vm *vm2;

	assert_int_equal(gpuva_drm_vm_create(fx->d.dev, NULL, &vm2), 0);
	assert_int_equal(COMMIT(fx, NULL, { NUL, 0x100000, 0x1000, 0, 0, 0 }), 0);
	assert_int_equal(commit_reqs(vm2, fx->bo, &(struct req){ NUL, 0x300000, 0x1000,
							       0, 0, 0 }, 1, NULL), 0);
	assert_mirror_is_record(&fx->d, fx->vm, 1);
	assert_mirror_is_record(&fx->d, vm2, 2);	/* the same handle */
	assert_int_equal(page_at(fx->d.fd, 2, 0x300000).handle, fx->d.blackhole);
	gpuva_vm_destroy(vm2);
}

/* ---- the ABI ----------------------------------------------------------------------- */

/*
 * The backend's declaration of panthor's uAPI (lib/backend/panthor_abi.h,
 * checked against docs/kernels.md at compile time) and the fake kernel's own
 * (tests/shim/uapi.h, written apart from it) agree on every request
 * number and size.
 */
#define SAME_LAYOUT(ours, theirs, field) \
	assert_int_equal(offsetof(struct ours, field), offsetof(struct theirs, field))

static void
the_backend_s_abi_matches_the_fake_kernel_s(void **state)
{
	(void)state;
	assert_int_equal(PANTHOR_IOCTL_DEV_QUERY, SHIM_IOCTL_PANTHOR_DEV_QUERY);
	assert_int_equal(PANTHOR_IOCTL_VM_CREATE, SHIM_IOCTL_PANTHOR_VM_CREATE);
	assert_int_equal(PANTHOR_IOCTL_VM_DESTROY, SHIM_IOCTL_PANTHOR_VM_DESTROY);
	assert_int_equal(PANTHOR_IOCTL_VM_BIND, SHIM_IOCTL_PANTHOR_VM_BIND);
	assert_int_equal(PANTHOR_IOCTL_VM_GET_STATE, SHIM_IOCTL_PANTHOR_VM_GET_STATE);
	assert_int_equal(PANTHOR_IOCTL_BO_CREATE, SHIM_IOCTL_PANTHOR_BO_CREATE);
	assert_int_equal(sizeof(struct panthor_gpu_info),
			 sizeof(struct shim_panthor_gpu_info));
	SAME_LAYOUT(panthor_gpu_info, shim_panthor_gpu_info, mmu_features);
	SAME_LAYOUT(panthor_gpu_info, shim_panthor_gpu_info, shader_present);
	assert_int_equal(PANTHOR_GPU_INFO_MIN_SIZE, SHIM_PANTHOR_GPU_INFO_MIN_SIZE);
	SAME_LAYOUT(panthor_vm_create, shim_panthor_vm_create, user_va_range);
	SAME_LAYOUT(panthor_bo_create, shim_panthor_bo_create, exclusive_vm_id);
	SAME_LAYOUT(panthor_bo_create, shim_panthor_bo_create, handle);
	SAME_LAYOUT(panthor_vm_get_state, shim_panthor_vm_get_state, state);
	SAME_LAYOUT(panthor_vm_bind_op, shim_panthor_vm_bind_op, bo_offset);
	SAME_LAYOUT(panthor_vm_bind_op, shim_panthor_vm_bind_op, va);
	SAME_LAYOUT(panthor_vm_bind_op, shim_panthor_vm_bind_op, size);
	SAME_LAYOUT(panthor_vm_bind_op, shim_panthor_vm_bind_op, syncs);
	SAME_LAYOUT(panthor_vm_bind, shim_panthor_vm_bind, ops);
	SAME_LAYOUT(panthor_sync_op, shim_panthor_sync_op, timeline_value);
	assert_int_equal(PANTHOR_VM_BIND_OP_TYPE_MASK, SHIM_PANTHOR_VM_BIND_OP_TYPE_MASK);
	assert_int_equal(PANTHOR_VM_BIND_OP_TYPE_UNMAP, SHIM_PANTHOR_VM_BIND_OP_TYPE_UNMAP);
	assert_int_equal(PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY,
			 SHIM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY);
	assert_int_equal(PANTHOR_VM_BIND_OP_MAP_FLAGS,
			 SHIM_PANTHOR_VM_BIND_OP_MAP_READONLY |
			 SHIM_PANTHOR_VM_BIND_OP_MAP_NOEXEC |
			 SHIM_PANTHOR_VM_BIND_OP_MAP_UNCACHED);
	assert_int_equal(PANTHOR_SYNC_OP_SIGNAL, SHIM_PANTHOR_SYNC_OP_SIGNAL);
	assert_int_equal(PANTHOR_SYNC_OP_TIMELINE_SYNCOBJ,
			 SHIM_PANTHOR_SYNC_OP_TIMELINE_SYNCOBJ);
	assert_int_equal(PANTHOR_VM_BIND_ASYNC, SHIM_PANTHOR_VM_BIND_ASYNC);
	assert_int_equal(PANTHOR_BO_NO_MMAP, SHIM_PANTHOR_BO_NO_MMAP);
	assert_int_equal(PANTHOR_VM_STATE_UNUSABLE, SHIM_PANTHOR_VM_STATE_UNUSABLE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
		cmocka_unit_test(the_probe_reports_the_default_window_4k_pages_and_the_blackhole),
		T(discovery_opens_the_panthor_node_with_the_panthor_backend),
		cmocka_unit_test(a_backend_needs_a_panthor_fd_and_no_sim_options),
		T(a_default_vm_ends_where_the_kernel_s_part_begins),
		T(a_vm_asked_for_a_range_covers_exactly_that_range),
		T(a_vm_asked_for_the_largest_user_range_gets_it_up_to_the_kernel_s_256_mib),
		T(a_vm_reaching_into_the_kernel_s_part_is_refused_with_the_window),
		T(page_sizes_below_4k_above_2m_or_not_dividing_the_range_are_refused),
		T(the_33rd_vm_of_a_device_is_ebusy_until_one_goes),
		T(destroying_a_vm_destroys_the_kernel_vm_and_what_it_mapped),
		T(a_commit_of_several_requests_is_one_vm_bind),
		T(maps_unmaps_and_splits_reach_the_kernel_page_for_page),
		T(driver_flags_readonly_noexec_uncached_reach_the_page_tables),
		T(a_batch_whose_net_effect_is_empty_sends_no_vm_bind),
		T(unaligned_va_size_or_bo_offset_is_refused_like_the_kernel_does),
		T(driver_flags_panthor_does_not_know_are_refused_like_the_kernel_does),
		T(gem_handle_0_is_refused_like_the_kernel_does),
		T(a_bo_range_beyond_the_bo_is_refused_like_the_kernel_does),
		T(a_range_beyond_the_user_window_is_refused_like_the_kernel_does),
		T(a_bo_exclusive_to_another_vm_is_refused_like_the_kernel_does),
		T(a_private_bo_needs_a_vm_of_its_backend),
		T(a_driver_bo_with_an_unknown_handle_is_refused_by_the_kernel_at_its_op),
		T(a_sync_bind_failing_at_any_op_keeps_exactly_the_ops_before_it),
		T(a_sync_bind_failing_before_its_first_op_changes_nothing),
		T(a_sync_commit_waits_for_its_waits_on_the_cpu_then_signals),
		T(a_commit_naming_an_unknown_syncobj_changes_nothing),
		T(sync_file_fences_are_not_panthor_s),
		cmocka_unit_test(without_timeline_syncobjs_a_timeline_point_is_refused),
		T(an_async_commit_runs_after_its_waits_and_signals_once_it_has_run),
		T(an_async_batch_without_ops_still_waits_and_signals),
		T(a_sync_commit_runs_after_the_vm_s_queued_jobs),
		T(a_failed_async_job_loses_the_vm_and_a_new_vm_works),
		T(the_next_commit_after_a_failed_async_job_finds_the_vm_lost),
		T(a_null_mapping_maps_the_blackhole_chunk_by_chunk_at_2mib_lines),
		T(binding_into_a_null_mapping_replaces_only_what_it_covers),
		T(every_vm_of_a_device_shares_one_blackhole),
		cmocka_unit_test(the_backend_s_abi_matches_the_fake_kernel_s),
#undef T
	};

	require_shim("panthor");
	return cmocka_run_group_tests_name("backend-panthor", tests, NULL, NULL);
}
