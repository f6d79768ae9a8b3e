/* SPDX-License-Identifier: MIT */
/*
 * One BO mapped several times and partially, then evicted and rebound.
 *
 * A driver that suballocates one big BO (vertices, indices, uniforms) binds
 * a window of it per use, sometimes the same bytes at two addresses, and
 * later replaces part of a window with another BO. When the BO has to go
 * from the VM for a while (evicted to make room, or before it migrates), every
 * mapping of it must be unmapped, however the windows were cut since, and
 * put back afterwards. The VM knows them all: gpuva_vm_bo_unmap_ops() lists
 * them (link order), one UNMAP each. The example unmaps them in one
 * transaction, rebinds them in another, and checks that the VM ends as it
 * was, page for page on sim.
 *
 * Output is `gpuva replay`'s (examples/traces/bo-evict.trace is the same
 * run as a trace; a test keeps the two identical).
 *
 *   bo-evict [--backend NAME] [--device PATH]
 */
#include <stdio.h>

#include "common.h"

#define KiB		UINT64_C(1024)
#define MiB		(1024 * KiB)
#define MAX_VAS		16

/* A mapping as the driver must restore it. */
struct saved_va {
	uint64_t addr, range, offset;
	uint32_t flags, driver_flags;
};

static int
map(struct ex *ex, struct gpuva_bind *txn, uint64_t addr, uint64_t range,
    struct gpuva_bo *bo, uint64_t offset)
{
	struct gpuva_map_req req = {
		.addr = addr, .range = range, .bo = bo, .offset = offset,
	};

	ex_echo_map(ex, &req);
	return gpuva_bind_map(txn, &req);
}

static int
commit(struct gpuva_bind *txn, int ret)
{
	if (ret) {		/* a request was refused: send nothing */
		gpuva_bind_abort(txn);
		return ret;
	}
	ex_echo("commit");
	return gpuva_bind_commit(txn, NULL);
}

/* Every mapping of the VM, to compare before and after. */
static size_t
snapshot(const struct ex *ex, struct gpuva_va_info *out)
{
	struct gpuva *va;
	size_t n = 0;

	gpuva_vm_for_each_va(va, ex->vm) {
		if (n == MAX_VAS)
			break;
		out[n++] = (struct gpuva_va_info) {
			.addr = va->addr, .range = va->range,
			.offset = va->offset, .bo = gpuva_bo_of(va),
			.flags = gpuva_flags(va),
			.driver_flags = gpuva_driver_flags(va),
		};
	}
	return n;
}

static bool
same_vas(const struct gpuva_va_info *a, size_t na,
	 const struct gpuva_va_info *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].addr != b[i].addr || a[i].range != b[i].range ||
		    a[i].offset != b[i].offset || a[i].bo != b[i].bo ||
		    a[i].flags != b[i].flags ||
		    a[i].driver_flags != b[i].driver_flags)
			return false;
	return true;
}

/*
 * Evict @bo from the VM: one transaction unmapping each of its mappings,
 * whose extents are saved in @saved to rebind them later.
 */
static int
evict(struct ex *ex, struct gpuva_bo *bo, struct saved_va *saved,
      size_t *count)
{
	struct gpuva_vm_bo *vm_bo = gpuva_vm_bo_find(ex->vm, bo);
	struct gpuva_ops ops = { 0 };
	struct gpuva_bind *txn;
	int ret;

	*count = 0;
	if (!vm_bo)
		return 0;	/* not mapped in this VM: nothing to do */
	/* one UNMAP op per mapping of the BO: a plan, not applied */
	ret = gpuva_vm_bo_unmap_ops(vm_bo, &ops);
	for (size_t i = 0; !ret && i < ops.count && i < MAX_VAS; i++) {
		const struct gpuva *va = ops.ops[i].unmap.va;

		saved[(*count)++] = (struct saved_va) {
			.addr = va->addr, .range = va->range,
			.offset = va->offset, .flags = gpuva_flags(va),
			.driver_flags = gpuva_driver_flags(va),
		};
	}
	gpuva_ops_fini(&ops);	/* dropped before the VM changes */
	if (!ret)
		ret = ex_begin(ex, &txn);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < *count; i++) {
		ex_echo_unmap(saved[i].addr, saved[i].range);
		ret = gpuva_bind_unmap(txn, saved[i].addr, saved[i].range);
	}
	return commit(txn, ret);
}

/* Put back what evict() took, with the flags each mapping had. */
static int
rebind(struct ex *ex, struct gpuva_bo *bo, const struct saved_va *saved,
       size_t count)
{
	struct gpuva_bind *txn;
	int ret = ex_begin(ex, &txn);

	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < count; i++) {
		struct gpuva_map_req req = {
			.addr = saved[i].addr, .range = saved[i].range,
			.bo = bo, .offset = saved[i].offset,
			.flags = saved[i].flags,
			.driver_flags = saved[i].driver_flags,
		};

		ex_echo_map(ex, &req);
		ret = gpuva_bind_map(txn, &req);
	}
	return commit(txn, ret);
}

int
main(int argc, char **argv)
{
	struct gpuva_va_info before[MAX_VAS], after[MAX_VAS];
	struct saved_va saved[MAX_VAS];
	size_t nbefore, nafter, nsaved;
	struct gpuva_bo *big, *stream;
	uint64_t vtx, idx, ubo, ubo2;
	struct gpuva_bind *txn;
	struct ex ex = { 0 };
	int ret;

	ret = ex_open(&ex, argc, argv);
	if (ret)
		return ret;
	big = ex_bo(&ex, 1 * MiB);	/* bo 1: the suballocated BO */
	stream = ex_bo(&ex, 64 * KiB);	/* bo 2: streaming updates */
	if (!big || !stream)
		return ex_close(&ex) | 1;

	/* four windows, 2 MiB apart, from the VM's heap */
	ret = gpuva_vm_alloc_addr(ex.vm, 512 * KiB, 2 * MiB, 0, &vtx);
	ret = ret ? ret : gpuva_vm_alloc_addr(ex.vm, 256 * KiB, 2 * MiB, 0, &idx);
	ret = ret ? ret : gpuva_vm_alloc_addr(ex.vm, 256 * KiB, 2 * MiB, 0, &ubo);
	ret = ret ? ret : gpuva_vm_alloc_addr(ex.vm, 256 * KiB, 2 * MiB, 0, &ubo2);
	if (!ex_expect(&ex, ret == 0, "the windows get VA ranges"))
		return ex_close(&ex);

	/* vertices [0, 512K), indices [512K, 768K), uniforms [768K, 1M) of
	 * the BO, and the uniforms once more at a second address */
	ret = ex_begin(&ex, &txn);
	if (!ret) {
		ret = map(&ex, txn, vtx, 512 * KiB, big, 0);
		ret = ret ? ret : map(&ex, txn, idx, 256 * KiB, big, 512 * KiB);
		ret = ret ? ret : map(&ex, txn, ubo, 256 * KiB, big, 768 * KiB);
		ret = ret ? ret : map(&ex, txn, ubo2, 256 * KiB, big, 768 * KiB);
		ret = commit(txn, ret);
	}
	ex_expect(&ex, ret == 0, "the windows are bound");

	/* a streaming update: 64 KiB in the middle of the vertex window now
	 * come from bo 2, and the index window shrinks by its last 128 KiB:
	 * bo 1's windows are cut into pieces */
	ret = ex_begin(&ex, &txn);
	if (!ret) {
		ret = map(&ex, txn, vtx + 128 * KiB, 64 * KiB, stream, 0);
		if (!ret) {
			ex_echo_unmap(idx + 128 * KiB, 128 * KiB);
			ret = gpuva_bind_unmap(txn, idx + 128 * KiB, 128 * KiB);
		}
		ret = commit(txn, ret);
	}
	ex_expect(&ex, ret == 0, "the update is bound");
	ex_dump(&ex);
	ex_check_vm(&ex);
	nbefore = snapshot(&ex, before);

	/* evict bo 1: every piece of every window goes, bo 2 stays */
	ret = evict(&ex, big, saved, &nsaved);
	ex_expect(&ex, ret == 0, "the eviction is committed");
	ex_expect(&ex, nsaved == 5, "bo 1 had five mappings");
	ex_expect(&ex, gpuva_vm_bo_find(ex.vm, big) == NULL,
		  "bo 1 is mapped nowhere");
	ex_expect(&ex, gpuva_vm_count(ex.vm) == 1 &&
		  gpuva_bo_of(gpuva_vm_first(ex.vm)) == stream,
		  "only bo 2's mapping is left");
	ex_dump(&ex);
	ex_check_vm(&ex);

	/* the BO is back: rebind every mapping it had */
	ret = rebind(&ex, big, saved, nsaved);
	ex_expect(&ex, ret == 0, "the rebind is committed");
	ex_dump(&ex);
	ex_check_vm(&ex);
	nafter = snapshot(&ex, after);
	ex_expect(&ex, same_vas(before, nbefore, after, nafter),
		  "the VM is as before the eviction");
	return ex_close(&ex);
}
