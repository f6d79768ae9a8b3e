/* SPDX-License-Identifier: MIT */
/*
 * What the nouveau backend tests share: a backend and a VM on the fake
 * kernel (tests/shim, LD_PRELOAD with GPUVA_SHIM_DRIVER=nouveau), BOs made
 * on it, and the check a test ends with: the library's mirror equals the
 * fake's page record, page for page, a NULL mapping showing as SPARSE
 * pages (a sparse region's unbacked pages) and a BO page with the PTE kind
 * (the mapping's driver flags) in the low 8 bits of its op flags.
 *
 * The shim's own API, raw ioctls and syncobj helpers come from
 * tests/shim/test-common.h.
 */
#ifndef GPUVA_TESTS_NOUVEAU_FIXTURE_H
#define GPUVA_TESTS_NOUVEAU_FIXTURE_H

#include "test-common.h"	/* cmocka, the shim's API, raw ioctls */
#include "backend-state.h"	/* "nothing changed" */

#include <inttypes.h>

#include <gpuva/gpuva.h>

#define NV_END		(1ull << 47)	/* nouveau's VA space */
#define NV_WIN		(1ull << 39)	/* the default kernel window [2^39, 2^40) */
#define NBO		3
#define P(n)		((uint64_t)(n) * (uint64_t)PAGE)	/* n pages, in bytes */

struct nv {
	int fd;
	struct gpuva_backend *be;
	struct gpuva_vm *vm;
	struct gpuva_bo *bo[NBO + 1];	/* bo[1..NBO]; bo[0] NULL: a NULL map */
	char log[512];			/* the backend's last reason */
};

static inline void
nv_log(void *priv, const char *reason)
{
	struct nv *n = priv;

	snprintf(n->log, sizeof(n->log), "%s", reason);
}

/* A nouveau backend on a fresh fd of the fake device; no VM yet. */
static inline void
nv_open_backend(struct nv *n)
{
	struct gpuva_backend_desc d = { .log_fn = nv_log, .log_priv = n };

	memset(n, 0, sizeof(*n));
	d.fd = n->fd = open_node();
	assert_int_equal(gpuva_backend_create("nouveau", &d, &n->be), 0);
}

/* ... and a VM of @desc (NULL: all of nouveau's VA space), and NBO BOs of 64 pages. */
static inline void
nv_open(struct nv *n, const struct gpuva_vm_desc *desc)
{
	struct gpuva_vm_desc d = { .flags = GPUVA_VM_CHECK };

	nv_open_backend(n);
	if (desc)
		d = *desc;
	d.backend = n->be;
	assert_int_equal(gpuva_vm_create(&d, &n->vm), 0);
	for (int i = 1; i <= NBO; i++)
		assert_int_equal(gpuva_backend_bo_create(n->be, NULL, 64 * PAGE, 0,
							 &n->bo[i]), 0);
}

static inline void
nv_close(struct nv *n)
{
	if (n->vm)
		assert_int_equal(gpuva_vm_check(n->vm), 0);
	gpuva_vm_destroy(n->vm);
	for (int i = 1; i <= NBO; i++)
		assert_int_equal(gpuva_backend_bo_destroy(n->be, n->bo[i]), 0);
	gpuva_backend_destroy(n->be);
	close(n->fd);
	clear_shim_switches();
	memset(n, 0, sizeof(*n));
}

/* Add a map request: BO @bo (0: a NULL map) at @off, with driver flags @df. */
static inline int
txn_map(struct gpuva_bind *t, struct nv *n, uint64_t addr, uint64_t range,
	int bo, uint64_t off, uint32_t df)
{
	struct gpuva_map_req r = {
		.addr = addr, .range = range, .bo = n->bo[bo], .offset = off,
		.driver_flags = df,
	};

	return gpuva_bind_map(t, &r);
}

/* One map request, committed on its own: 0 or the first error. */
static inline int
nv_map(struct nv *n, uint64_t addr, uint64_t range, int bo, uint64_t off)
{
	struct gpuva_bind *t;
	int ret;

	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	ret = txn_map(t, n, addr, range, bo, off, 0);
	if (ret) {
		gpuva_bind_abort(t);
		return ret;
	}
	return gpuva_bind_commit(t, NULL);
}

static inline int
nv_unmap(struct nv *n, uint64_t addr, uint64_t range)
{
	struct gpuva_bind *t;
	int ret;

	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	ret = gpuva_bind_unmap(t, addr, range);
	if (ret) {
		gpuva_bind_abort(t);
		return ret;
	}
	return gpuva_bind_commit(t, NULL);
}

/*
 * The mirror equals the record: every page of every mapping holds what the
 * mapping says (a BO page with its handle, offset and PTE kind; SPARSE for
 * a NULL mapping), and the record holds no other page.
 */
static inline void
assert_mirror_is_record(struct nv *n)
{
	const struct gpuva *va;
	int64_t pages = 0;

	gpuva_vm_for_each_va(va, n->vm) {
		struct gpuva_bo *bo = gpuva_bo_of(va);
		uint32_t df = gpuva_driver_flags(va);

		for (uint64_t x = va->addr; x < gpuva_end(va); x += PAGE) {
			struct gpuva_shim_page p = page_at(n->fd, 0, x);
			uint64_t off = va->offset + (x - va->addr);
			bool ok = bo ? p.kind == GPUVA_SHIM_PAGE_BO &&
				       p.handle == bo->handle &&
				       p.bo_offset == off && p.flags == df
				     : p.kind == GPUVA_SHIM_PAGE_SPARSE;

			if (!ok)
				fail_msg("at 0x%" PRIx64 ": mirror %s %" PRIu32
					 " 0x%" PRIx64 " kind 0x%" PRIx32
					 ", record kind %" PRIu32 " handle %" PRIu32
					 " 0x%" PRIx64 " flags 0x%" PRIx32, x,
					 bo ? "bo" : "null", bo ? bo->handle : 0,
					 bo ? off : 0, df, p.kind, p.handle,
					 p.bo_offset, p.flags);
		}
		pages += (int64_t)(va->range / PAGE);
	}
	assert_int_equal(shim.page_count(n->fd, 0), pages);
}

/* The record's sparse regions, as the shim dumps them ("0x.. 0x.. sparse region\n"...). */
static inline char *
record_regions(struct nv *n)
{
	char *buf = NULL, *line, *out = NULL, *save = NULL;
	size_t len = 0, olen = 0;
	FILE *f = open_memstream(&buf, &len), *o = open_memstream(&out, &olen);

	assert_non_null(f);
	assert_non_null(o);
	assert_int_equal(shim.dump(n->fd, 0, f), 0);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "sparse region"))
			fprintf(o, "%s\n", line);
	fclose(o);
	free(buf);
	return out;
}

static inline void
assert_regions(struct nv *n, const char *expected)
{
	char *r = record_regions(n);

	assert_string_equal(r, expected);
	free(r);
}

/* What "nothing changed" compares (backend-state.h), on this VM. */
static inline struct backend_state
save_state(struct nv *n)
{
	return backend_state_save(n->vm, n->fd, 0);
}

static inline void
assert_unchanged(struct nv *n, struct backend_state *s)
{
	backend_state_assert_unchanged(n->vm, n->fd, 0, s);
}

/* The VM's last reason contains @what. */
static inline void
assert_reason(struct nv *n, const char *what)
{
	const char *r = gpuva_vm_last_error(n->vm);

	if (!strstr(r, what))
		fail_msg("reason \"%s\" does not say \"%s\"", r, what);
}

#endif /* GPUVA_TESTS_NOUVEAU_FIXTURE_H */
