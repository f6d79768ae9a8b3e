/* SPDX-License-Identifier: MIT */
/*
 * A driver-shaped user of the installed library: what a Mesa driver would
 * compile against the public headers alone. It is built twice by the
 * 'consumer' suite, once through `pkg-config --cflags --libs libgpuva` of a
 * staged install and once as a meson subproject, and fails on any wrong
 * answer, so a broken .pc, a missing header or an unexported symbol shows
 * up as a failed test rather than as a driver's build error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpuva/gpuva.h>

struct drv_bo {
	struct gpuva_bo base;
	int id;
};

static int failures;

#define expect(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "consumer: %s:%d: expected %s\n", \
			__FILE__, __LINE__, #cond); \
		failures++; \
	} \
} while (0)

static int
bo_id(const struct gpuva *va)
{
	struct gpuva_bo *bo = gpuva_bo_of(va);

	return bo ? gpuva_container_of(bo, struct drv_bo, base)->id : 0;
}

/* Plan a map into @ops, check the op types, apply it. */
static void
map(struct gpuva_vm *vm, struct gpuva_ops *ops, uint64_t addr, uint64_t range,
    struct drv_bo *bo, uint64_t offset, const enum gpuva_op_type *types,
    size_t ntypes)
{
	struct gpuva_map_req req = {
		.addr = addr, .range = range,
		.bo = bo ? &bo->base : NULL, .offset = offset,
	};

	expect(gpuva_vm_sm_map_ops(vm, &req, ops) == 0);
	expect(ops->count == ntypes);
	for (size_t i = 0; i < ops->count && i < ntypes; i++)
		expect(ops->ops[i].type == types[i]);
	expect(gpuva_vm_apply_ops(vm, ops) == 0);
}

int
main(void)
{
	struct gpuva_vm_desc desc = {
		.start = 0,
		.range = 1ull << 32,
		.reserved_start = 0,
		.reserved_range = 0x10000,	/* the kernel's low 64 KiB */
		.page_size = 0x1000,
	};
	struct drv_bo bo1 = { .id = 1 }, bo2 = { .id = 2 };
	struct gpuva_ops ops = { 0 };
	struct gpuva_vm *vm = NULL;
	struct gpuva *va;
	static const enum gpuva_op_type just_map[] = { GPUVA_OP_MAP };
	static const enum gpuva_op_type split[] = { GPUVA_OP_REMAP, GPUVA_OP_MAP };
	static const struct { uint64_t addr, range, offset; int bo; } want[] = {
		{ 0x10000, 0x10000, 0x0, 1 },
		{ 0x20000, 0x10000, 0x0, 2 },
		{ 0x38000, 0x18000, 0x28000, 1 },
	};
	size_t n = 0;

	if (gpuva_vm_create(&desc, &vm)) {
		fprintf(stderr, "consumer: gpuva_vm_create failed\n");
		return 1;
	}
	gpuva_bo_init(&bo1.base, 0x100000);
	gpuva_bo_init(&bo2.base, 0x100000);

	/* one BO over [0x10000, 0x50000), then a second BO inside it */
	map(vm, &ops, 0x10000, 0x40000, &bo1, 0x0, just_map, 1);
	map(vm, &ops, 0x20000, 0x10000, &bo2, 0x0, split, 2);
	expect(ops.ops[0].remap.prev.addr == 0x10000);
	expect(ops.ops[0].remap.prev.range == 0x10000);
	expect(ops.ops[0].remap.next.addr == 0x30000);
	expect(ops.ops[0].remap.next.offset == 0x20000);

	/* unmap the head of the tail piece: one REMAP keeping a next piece */
	expect(gpuva_vm_sm_unmap_ops(vm, 0x30000, 0x8000, &ops) == 0);
	expect(ops.count == 1 && ops.ops[0].type == GPUVA_OP_REMAP);
	expect(gpuva_vm_apply_ops(vm, &ops) == 0);

	gpuva_vm_for_each_va(va, vm) {
		expect(n < 3);
		if (n < 3) {
			expect(va->addr == want[n].addr);
			expect(va->range == want[n].range);
			expect(va->offset == want[n].offset);
			expect(bo_id(va) == want[n].bo);
		}
		n++;
	}
	expect(n == 3);
	expect(gpuva_vm_count(vm) == 3);
	expect(gpuva_vm_find_at(vm, 0x24000) != NULL &&
	       bo_id(gpuva_vm_find_at(vm, 0x24000)) == 2);
	expect(gpuva_vm_find_at(vm, 0x30000) == NULL);
	expect(gpuva_vm_bo_find(vm, &bo1.base) != NULL &&
	       gpuva_vm_bo_find(vm, &bo1.base)->va_count == 2);

	/* bad requests are rejected with a reason and change nothing */
	{
		struct gpuva_map_req bad = { .addr = 0x8000, .range = 0x1000 };

		expect(gpuva_vm_sm_map_ops(vm, &bad, &ops) == -EINVAL);
		expect(strlen(gpuva_vm_last_error(vm)) > 0);
		expect(gpuva_vm_count(vm) == 3);
	}
	expect(gpuva_vm_check(vm) == 0);

	/* unmap everything; the BOs are then free to go */
	expect(gpuva_vm_sm_unmap_ops(vm, 0x10000, 0x40000, &ops) == 0);
	expect(ops.count == 3);
	expect(gpuva_vm_apply_ops(vm, &ops) == 0);
	expect(gpuva_vm_count(vm) == 0);
	expect(gpuva_vm_first(vm) == NULL);

	gpuva_ops_fini(&ops);
	gpuva_vm_destroy(vm);
	expect(gpuva_bo_fini(&bo1.base) == 0);
	expect(gpuva_bo_fini(&bo2.base) == 0);

	if (failures) {
		fprintf(stderr, "consumer: %d check(s) failed\n", failures);
		return 1;
	}
	printf("consumer: ok (libgpuva %d)\n", GPUVA_VERSION);
	return 0;
}
