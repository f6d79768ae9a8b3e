/* SPDX-License-Identifier: MIT */
/*
 * Random map/unmap batches through the chosen driver's VM_BIND, checked
 * page by page against a naive array after every batch. Seeded and
 * reproducible: GPUVA_SHIM_SEED and GPUVA_SHIM_STEPS (or argv[1], argv[2])
 * override the defaults, and a failure prints the seed and the step.
 */
#include "test-common.h"
#include "trace.h"	/* the project's one seeded generator */

#include <inttypes.h>
#include <limits.h>

#define WINDOW 256	/* pages */
#define NBOS 3
#define BO_PAGES 64
#define MAX_BATCH 4

struct model_page {
	uint32_t handle;	/* 0: unmapped */
	uint64_t bo_offset;
};

struct rop {
	bool map;
	uint32_t bo;		/* index into bos */
	uint64_t page, npages, bo_page;
};

struct rnd {
	int fd;
	enum { MSM, PANTHOR, NOUVEAU } drv;
	uint32_t vm, queue, bos[NBOS];
	uint64_t base;
	struct trace_rng rng;	/* the project's one seeded generator */
	struct model_page model[WINDOW];
};

static uint64_t seed = 1;
static unsigned long steps = 2000;

static uint64_t
next(struct rnd *r)
{
	return trace_rng_next(&r->rng);
}

static uint64_t
below(struct rnd *r, uint64_t n)
{
	return trace_rng_below(&r->rng, n);
}

static void
setup_msm(struct rnd *r)
{
	struct shim_msm_param p = { .pipe = SHIM_MSM_PIPE_3D0, .param = SHIM_MSM_PARAM_EN_VM_BIND, .value = 1 };
	struct shim_msm_submitqueue q = { .flags = SHIM_MSM_SUBMITQUEUE_VM_BIND };

	assert_int_equal(xioctl(r->fd, SHIM_IOCTL_MSM_SET_PARAM, &p), 0);
	p.param = SHIM_MSM_PARAM_VA_START;
	assert_int_equal(xioctl(r->fd, SHIM_IOCTL_MSM_GET_PARAM, &p), 0);
	r->base = p.value;
	assert_int_equal(xioctl(r->fd, SHIM_IOCTL_MSM_SUBMITQUEUE_NEW, &q), 0);
	r->queue = q.id;
	for (int i = 0; i < NBOS; i++) {
		struct shim_msm_gem_new g = { .size = BO_PAGES * PAGE, .flags = SHIM_MSM_BO_WC };

		assert_int_equal(xioctl(r->fd, SHIM_IOCTL_MSM_GEM_NEW, &g), 0);
		r->bos[i] = g.handle;
	}
}

static void
setup_panthor(struct rnd *r)
{
	struct shim_panthor_vm_create c = { 0 };

	assert_int_equal(xioctl(r->fd, SHIM_IOCTL_PANTHOR_VM_CREATE, &c), 0);
	r->vm = c.id;
	r->base = 0x10000000;
	for (int i = 0; i < NBOS; i++) {
		struct shim_panthor_bo_create b = { .size = BO_PAGES * PAGE };

		assert_int_equal(xioctl(r->fd, SHIM_IOCTL_PANTHOR_BO_CREATE, &b), 0);
		r->bos[i] = b.handle;
	}
}

static void
setup_nouveau(struct rnd *r)
{
	struct shim_nouveau_vm_init v = { 1ull << 39, 1ull << 39 };

	assert_int_equal(xioctl(r->fd, SHIM_IOCTL_NOUVEAU_VM_INIT, &v), 0);
	r->base = 0x100000;
	for (int i = 0; i < NBOS; i++) {
		struct shim_nouveau_gem_new g = { .info = { .size = BO_PAGES * PAGE,
							    .domain = SHIM_NOUVEAU_GEM_DOMAIN_VRAM } };

		assert_int_equal(xioctl(r->fd, SHIM_IOCTL_NOUVEAU_GEM_NEW, &g), 0);
		r->bos[i] = g.info.handle;
	}
}

static int
submit(struct rnd *r, const struct rop *ops, size_t n)
{
	if (r->drv == MSM) {
		struct shim_msm_vm_bind_op o[MAX_BATCH];
		struct shim_msm_vm_bind b = { .nr_ops = (uint32_t)n, .queue_id = r->queue,
					      .op_stride = sizeof(o[0]) };

		for (size_t i = 0; i < n; i++) {
			o[i] = (struct shim_msm_vm_bind_op){
				.op = ops[i].map ? SHIM_MSM_VM_BIND_OP_MAP : SHIM_MSM_VM_BIND_OP_UNMAP,
				.handle = ops[i].map ? r->bos[ops[i].bo] : 0,
				.obj_offset = ops[i].map ? ops[i].bo_page * PAGE : 0,
				.iova = r->base + ops[i].page * PAGE,
				.range = ops[i].npages * PAGE,
			};
		}
		if (n == 1) {
			b.op = o[0];
		} else {
			b.ops = (uintptr_t)o;
		}
		return xioctl(r->fd, SHIM_IOCTL_MSM_VM_BIND, &b);
	}
	if (r->drv == PANTHOR) {
		struct shim_panthor_vm_bind_op o[MAX_BATCH];
		struct shim_panthor_vm_bind b = { .vm_id = r->vm,
						  .ops = { sizeof(o[0]), (uint32_t)n, (uintptr_t)o } };

		for (size_t i = 0; i < n; i++) {
			o[i] = (struct shim_panthor_vm_bind_op){
				.flags = ops[i].map ? SHIM_PANTHOR_VM_BIND_OP_TYPE_MAP : SHIM_PANTHOR_VM_BIND_OP_TYPE_UNMAP,
				.bo_handle = ops[i].map ? r->bos[ops[i].bo] : 0,
				.bo_offset = ops[i].map ? ops[i].bo_page * PAGE : 0,
				.va = r->base + ops[i].page * PAGE,
				.size = ops[i].npages * PAGE,
			};
		}
		/* alternate modes: both must produce the same page table */
		b.flags = next(r) & 1 ? SHIM_PANTHOR_VM_BIND_ASYNC : 0;
		return xioctl(r->fd, SHIM_IOCTL_PANTHOR_VM_BIND, &b);
	}
	struct shim_nouveau_vm_bind_op o[MAX_BATCH];
	struct shim_nouveau_vm_bind b = { .op_count = (uint32_t)n, .op_ptr = (uintptr_t)o };

	for (size_t i = 0; i < n; i++) {
		o[i] = (struct shim_nouveau_vm_bind_op){
			.op = ops[i].map ? SHIM_NOUVEAU_VM_BIND_OP_MAP : SHIM_NOUVEAU_VM_BIND_OP_UNMAP,
			.handle = ops[i].map ? r->bos[ops[i].bo] : 0,
			.bo_offset = ops[i].map ? ops[i].bo_page * PAGE : 0,
			.addr = r->base + ops[i].page * PAGE,
			.range = ops[i].npages * PAGE,
		};
	}
	b.flags = next(r) & 1 ? SHIM_NOUVEAU_VM_BIND_RUN_ASYNC : 0;
	return xioctl(r->fd, SHIM_IOCTL_NOUVEAU_VM_BIND, &b);
}

static void
model_apply(struct rnd *r, const struct rop *op)
{
	for (uint64_t i = 0; i < op->npages; i++) {
		struct model_page *p = &r->model[op->page + i];

		if (op->map) {
			p->handle = r->bos[op->bo];
			p->bo_offset = (op->bo_page + i) * PAGE;
		} else {
			p->handle = 0;
		}
	}
}

static void
random_map_unmap_matches_a_naive_page_array(void **state)
{
	struct rnd *r = calloc(1, sizeof(*r));
	const char *drv = shim_driver_name();

	(void)state;
	r->fd = open_node();
	r->rng.s = seed;
	if (strcmp(drv, "panthor") == 0) {
		r->drv = PANTHOR;
		setup_panthor(r);
	} else if (strcmp(drv, "nouveau") == 0) {
		r->drv = NOUVEAU;
		setup_nouveau(r);
	} else {
		r->drv = MSM;
		setup_msm(r);
	}
	for (unsigned long step = 0; step < steps; step++) {
		struct rop ops[MAX_BATCH];
		size_t n = 1 + below(r, MAX_BATCH);

		for (size_t i = 0; i < n; i++) {
			struct rop *o = &ops[i];

			o->map = below(r, 3) != 0;
			o->page = below(r, WINDOW);
			o->npages = 1 + below(r, o->map ? 16 : 48);
			if (o->page + o->npages > WINDOW) {
				o->npages = WINDOW - o->page;
			}
			o->bo = (uint32_t)below(r, NBOS);
			o->bo_page = o->map ? below(r, BO_PAGES - o->npages + 1) : 0;
		}
		int ret = submit(r, ops, n);

		if (ret) {
			fail_msg("seed 0x%" PRIx64 " step %lu: VM_BIND failed with errno %d", seed, step, ret);
		}
		for (size_t i = 0; i < n; i++) {
			model_apply(r, &ops[i]);
		}
		for (uint64_t p = 0; p < WINDOW; p++) {
			struct gpuva_shim_page got = page_at(r->fd, r->vm, r->base + p * PAGE);
			const struct model_page *want = &r->model[p];
			bool same = want->handle ? got.kind == GPUVA_SHIM_PAGE_BO && got.handle == want->handle &&
							   got.bo_offset == want->bo_offset
						 : got.kind == GPUVA_SHIM_PAGE_NONE;

			if (!same) {
				shim.dump(r->fd, r->vm, stderr);
				fail_msg("seed 0x%" PRIx64 " step %lu: page %" PRIu64 " is kind %u handle %u off 0x%" PRIx64
					 ", model says handle %u off 0x%" PRIx64,
					 seed, step, p, got.kind, got.handle, got.bo_offset, want->handle,
					 want->bo_offset);
			}
		}
	}
	/* nothing may leak outside the window */
	int64_t inside = 0;

	for (uint64_t p = 0; p < WINDOW; p++) {
		inside += r->model[p].handle != 0;
	}
	assert_int_equal(shim.page_count(r->fd, r->vm), inside);
	close(r->fd);
	free(r);
}

int
main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : getenv("GPUVA_SHIM_SEED");
	const char *n = argc > 2 ? argv[2] : getenv("GPUVA_SHIM_STEPS");

	uint64_t v;

	require_shim(NULL);
	if (s && !trace_parse_u64(s, &seed)) {
		fprintf(stderr, "bad seed '%s'\n", s);
		return 2;
	}
	if (n) {
		if (!trace_parse_u64(n, &v) || !v || v > ULONG_MAX) {
			fprintf(stderr, "bad step count '%s'\n", n);
			return 2;
		}
		steps = (unsigned long)v;
	}

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_map_unmap_matches_a_naive_page_array),
	};

	return cmocka_run_group_tests_name("random", tests, NULL, NULL);
}
