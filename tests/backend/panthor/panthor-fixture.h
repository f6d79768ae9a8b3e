/* SPDX-License-Identifier: MIT */
/*
 * What the panthor backend tests share: a device opened through the
 * library's device layer on the fake kernel (tests/shim, LD_PRELOAD with
 * GPUVA_SHIM_DRIVER=panthor), the fake kernel's page record read through
 * its dlsym'ed API, and the check every test ends with: the library's
 * mirror equals the record, page for page.
 *
 * A NULL mapping shows in the record as pages of the blackhole BO: a GEM
 * handle that is none of the test's BOs, at the offset the page has within
 * 2 MiB, with the mapping's driver flags. The fixture learns that handle
 * from the first NULL page it sees and holds every later one to it.
 *
 * VM ids: the kernel hands out the lowest free id from 1, so the first VM
 * created on a fresh device fd is VM 1, the next VM 2.
 *
 * It builds on the fake kernel's own test helpers (tests/shim/test-common.h:
 * the dlsym'ed API in `shim`, require_shim(), clear_shim_switches(),
 * page_at()), which include <cmocka.h>.
 */
#ifndef GPUVA_TESTS_PANTHOR_FIXTURE_H
#define GPUVA_TESTS_PANTHOR_FIXTURE_H

#include <inttypes.h>

#include <gpuva/gpuva.h>

/* the fake kernel's test helpers: shim, require_shim(), page_at(), ... */
#include "test-common.h"
/* "nothing changed": backend_state_save(), backend_state_assert_unchanged() */
#include "backend-state.h"

#define MiB		(1ull << 20)
#define BLACKHOLE	(2 * MiB)	/* the blackhole BO's size */

/* A panthor device, and the BOs the test created on it. */
struct pdev {
	struct gpuva_drm_device *dev;
	struct gpuva_backend *be;
	int fd;
	uint32_t blackhole;		/* learnt from the record; 0: not yet */
	uint32_t handles[64];		/* the test's BOs */
	unsigned nhandles;
};

static inline void
pdev_open(struct pdev *d)
{
	struct gpuva_drm_open_desc desc = { .driver = "panthor" };

	memset(d, 0, sizeof(*d));
	assert_int_equal(gpuva_drm_open(&desc, &d->dev), 0);
	d->be = gpuva_drm_backend(d->dev);
	d->fd = gpuva_drm_fd(d->dev);
}

static inline void
pdev_close(struct pdev *d)
{
	gpuva_drm_close(d->dev);
	d->dev = NULL;
}

/* A BO of @size bytes on the device (private to @vm when it is given). */
static inline struct gpuva_bo *
pdev_bo(struct pdev *d, struct gpuva_vm *vm, uint64_t size)
{
	struct gpuva_bo *bo;

	assert_int_equal(gpuva_backend_bo_create(d->be, vm, size,
						 vm ? GPUVA_BACKEND_BO_PRIVATE : 0,
						 &bo), 0);
	assert_true(d->nhandles < sizeof(d->handles) / sizeof(d->handles[0]));
	d->handles[d->nhandles++] = bo->handle;
	return bo;
}

static inline bool
pdev_is_test_bo(const struct pdev *d, uint32_t handle)
{
	for (unsigned i = 0; i < d->nhandles; i++)
		if (d->handles[i] == handle)
			return true;
	return false;
}

/*
 * Is the record's page @p what a NULL mapping with @driver_flags shows at
 * @addr: the blackhole BO at @addr's offset within 2 MiB?
 */
static inline bool
is_blackhole_page(struct pdev *d, const struct gpuva_shim_page *p,
		  uint64_t addr, uint32_t driver_flags)
{
	if (p->kind != GPUVA_SHIM_PAGE_BO || pdev_is_test_bo(d, p->handle) ||
	    p->bo_offset != addr % BLACKHOLE || p->flags != driver_flags)
		return false;
	if (!d->blackhole)
		d->blackhole = p->handle;
	return p->handle == d->blackhole;
}

/*
 * The mirror equals the record of VM @id: every page of every mapping
 * holds what the mapping says (BO, offset, driver flags; the blackhole
 * for a NULL mapping), and the record holds no page beyond them.
 */
static inline void
assert_mirror_is_record(struct pdev *d, struct gpuva_vm *vm, uint32_t id)
{
	const struct gpuva *va;
	int64_t pages = 0;

	gpuva_vm_for_each_va(va, vm) {
		struct gpuva_bo *bo = gpuva_bo_of(va);
		uint32_t df = gpuva_driver_flags(va);

		for (uint64_t x = va->addr; x < gpuva_end(va); x += PAGE) {
			struct gpuva_shim_page p = page_at(d->fd, id, x);
			bool ok = bo ? p.kind == GPUVA_SHIM_PAGE_BO &&
				       p.handle == bo->handle &&
				       p.bo_offset == va->offset + (x - va->addr) &&
				       p.flags == df
				     : is_blackhole_page(d, &p, x, df);

			if (!ok)
				fail_msg("at 0x%" PRIx64 ": mirror %s %" PRIu32
					 " 0x%" PRIx64 " flags 0x%" PRIx32
					 ", record kind %" PRIu32 " handle %"
					 PRIu32 " 0x%" PRIx64 " flags 0x%" PRIx32,
					 x, bo ? "bo" : "null", bo ? bo->handle : 0,
					 bo ? va->offset + (x - va->addr) :
					      x % (uint64_t)BLACKHOLE,
					 df, p.kind, p.handle, p.bo_offset, p.flags);
		}
		pages += (int64_t)(va->range / PAGE);
	}
	assert_int_equal(shim.page_count(d->fd, id), pages);
}

#endif /* GPUVA_TESTS_PANTHOR_FIXTURE_H */
