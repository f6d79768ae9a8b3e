/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous binds chained through timeline points, and a VA range that
 * is reused only once its unmap has run.
 *
 * A driver does not wait for the GPU before it unbinds a buffer the GPU may
 * still be reading: it queues the unmap behind the GPU job (a wait on the
 * job's timeline point) and moves on. Until that unmap has run, the VA range
 * is still mapped in the kernel, so the driver must not hand it to another
 * buffer: gpuva_bind_free_addr() gives it back to the VM's heap only once
 * the batch has run. This example walks through that on one timeline:
 *
 *   point 1  texture A is mapped                  (bind, no wait)
 *   point 2  the GPU is done sampling texture A   (GPU work; here the CPU)
 *   point 3  texture A is unmapped                (bind waiting for 2)
 *   point 4  texture B is mapped                  (bind waiting for 3)
 *   point 5  texture C is mapped at A's old range  (bind waiting for 4)
 *
 * and checks at each step what the VM, the heap and the timeline say. On
 * sim, nothing runs on its own: a queued batch runs when the point it waits
 * for is signalled, which makes every step deterministic.
 *
 *   async-binds [--backend NAME] [--device PATH]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "common.h"

#define TEX_SIZE	UINT64_C(0x100000)	/* 1 MiB a texture */
#define TEX_ALIGN	UINT64_C(0x10000)
#define SECOND		1000000000ll	/* ns */

/*
 * One asynchronous batch of a single request: a map of @bo, or an unmap
 * (@bo NULL) that also frees the range for the heap once it has run. It
 * waits for @wait (0: nothing) and signals @signal on @timeline.
 */
static int
bind_async(struct ex *ex, uint32_t timeline, uint64_t addr,
	   struct gpuva_bo *bo, uint64_t wait, uint64_t signal)
{
	struct gpuva_sync w = { .handle = timeline, .point = wait };
	struct gpuva_sync s = { .handle = timeline, .point = signal };
	struct gpuva_commit commit = {
		.flags = GPUVA_COMMIT_ASYNC,	/* return once queued */
		.wait_count = wait ? 1 : 0, .waits = &w,
		.signal_count = 1, .signals = &s,
	};
	struct gpuva_map_req req = {
		.addr = addr, .range = TEX_SIZE, .bo = bo,
	};
	struct gpuva_bind *txn;
	int ret;

	ret = gpuva_bind_begin(ex->vm, &txn);
	if (ret)
		return ret;
	gpuva_bind_set_op_fn(txn, ex_print_op, ex);
	ex_echo("begin");
	if (bo) {
		ex_echo_map(ex, &req);
		ret = gpuva_bind_map(txn, &req);
	} else {
		ex_echo_unmap(addr, TEX_SIZE);
		ret = gpuva_bind_unmap(txn, addr, TEX_SIZE);
		/* the range goes back to the heap after this batch has run */
		if (!ret)
			ret = gpuva_bind_free_addr(txn, addr, TEX_SIZE);
	}
	if (ret) {
		gpuva_bind_abort(txn);
		return ret;
	}
	if (wait)
		printf("> commit async, waiting for point %" PRIu64
		       ", signalling point %" PRIu64 "\n", wait, signal);
	else
		printf("> commit async, signalling point %" PRIu64 "\n", signal);
	return gpuva_bind_commit(txn, &commit);
}

/* Has @point of @timeline been signalled (without waiting)? */
static bool
signalled(struct ex *ex, uint32_t timeline, uint64_t point)
{
	struct gpuva_sync p = { .handle = timeline, .point = point };

	return gpuva_backend_sync_wait(ex->be, &p, 1, 0) == 0;
}

static uint64_t
alloc_texture(struct ex *ex, const char *name)
{
	uint64_t addr = 0;

	ex_expect(ex, gpuva_vm_alloc_addr(ex->vm, TEX_SIZE, TEX_ALIGN,
					  GPUVA_HEAP_NO_FLAGS, &addr) == 0,
		  "the heap has room for a texture");
	printf("texture %s: 0x%" PRIx64 " bytes at 0x%" PRIx64 "\n", name,
	       TEX_SIZE, addr);
	return addr;
}

int
main(int argc, char **argv)
{
	struct gpuva_bo *bo_a, *bo_b, *bo_c;
	struct gpuva_heap *heap;
	uint64_t tex_a, tex_b, tex_c;
	uint32_t timeline = 0;
	struct ex ex = { 0 };
	int ret;

	ret = ex_open(&ex, argc, argv);
	if (ret)
		return ret;
	bo_a = ex_bo(&ex, TEX_SIZE);
	bo_b = ex_bo(&ex, TEX_SIZE);
	bo_c = ex_bo(&ex, TEX_SIZE);
	if (!bo_a || !bo_b || !bo_c ||
	    !ex_expect(&ex, gpuva_backend_sync_create(ex.be, &timeline) == 0,
		       "the backend makes a timeline"))
		return ex_close(&ex) | 1;

	/* point 1: texture A mapped, without waiting for anything */
	tex_a = alloc_texture(&ex, "A");
	ex_expect(&ex, bind_async(&ex, timeline, tex_a, bo_a, 0, 1) == 0,
		  "the map of A is queued");
	{
		struct gpuva_sync p1 = { .handle = timeline, .point = 1 };

		ex_expect(&ex, gpuva_backend_sync_wait(ex.be, &p1, 1, SECOND) == 0,
			  "the map of A has run");
	}
	printf("point 1 signalled: A is mapped\n");

	/* point 3: A unmapped once the GPU is done with it (point 2) */
	printf("the GPU samples A until it signals point 2\n");
	ex_expect(&ex, bind_async(&ex, timeline, tex_a, NULL, 2, 3) == 0,
		  "the unmap of A is queued");
	/* the mirror already shows the batch; the kernel has not run it */
	ex_expect(&ex, gpuva_vm_find_at(ex.vm, tex_a) == NULL,
		  "the mirror shows A unmapped at once");
	ex_expect(&ex, !signalled(&ex, timeline, 3), "point 3 waits for point 2");
	ex_expect(&ex, gpuva_vm_wait_idle(ex.vm, 0) == -ETIME,
		  "the VM has a batch that has not run");
	if (gpuva_backend_is_sim(ex.be))
		ex_expect(&ex, gpuva_sim_queued(ex.be, ex.vm) == 1 &&
			  gpuva_sim_compare(ex.be, ex.vm) == -EBUSY,
			  "the sim's page table still maps A");
	printf("point 3 not signalled: A's range is still mapped\n");

	/* so the heap does not hand A's range out: B gets another one */
	ex_expect(&ex, gpuva_vm_get_heap(ex.vm, &heap) == 0 &&
		  gpuva_heap_alloc_fixed(heap, tex_a, TEX_SIZE) == -ENOSPC,
		  "A's range is not free yet");
	tex_b = alloc_texture(&ex, "B");
	ex_expect(&ex, tex_b + TEX_SIZE <= tex_a || tex_b >= tex_a + TEX_SIZE,
		  "B does not get A's range");

	/* point 4: B mapped after A's unmap, chained on point 3 */
	ex_expect(&ex, bind_async(&ex, timeline, tex_b, bo_b, 3, 4) == 0,
		  "the map of B is queued");
	ex_expect(&ex, !signalled(&ex, timeline, 4), "point 4 waits for point 3");
	if (gpuva_backend_is_sim(ex.be))
		ex_expect(&ex, gpuva_sim_queued(ex.be, ex.vm) == 2,
			  "two batches are queued on the sim");

	/* the GPU is done with A: the two batches run, in order */
	{
		struct gpuva_sync p2 = { .handle = timeline, .point = 2 };
		struct gpuva_sync p4 = { .handle = timeline, .point = 4 };

		printf("the GPU signals point 2\n");
		ex_expect(&ex, gpuva_backend_sync_signal(ex.be, &p2, 1) == 0,
			  "point 2 is signalled");
		ex_expect(&ex, gpuva_backend_sync_wait(ex.be, &p4, 1, SECOND) == 0,
			  "the unmap of A and the map of B have run");
	}
	printf("point 4 signalled: A is unmapped, B is mapped\n");

	/* every batch has run: A's range is back in the heap, and is reused */
	ex_expect(&ex, gpuva_vm_wait_idle(ex.vm, SECOND) == 0,
		  "every batch has run");
	tex_c = alloc_texture(&ex, "C");
	ex_expect(&ex, tex_c == tex_a, "the next texture gets A's range back");

	/* point 5: C mapped there, after point 4 */
	ex_expect(&ex, bind_async(&ex, timeline, tex_c, bo_c, 4, 5) == 0,
		  "the map of C is queued");
	{
		struct gpuva_sync p5 = { .handle = timeline, .point = 5 };

		ex_expect(&ex, gpuva_backend_sync_wait(ex.be, &p5, 1, SECOND) == 0,
			  "the map of C has run");
	}
	printf("point 5 signalled: C is mapped\n");
	ex_dump(&ex);
	ex_check_vm(&ex);

	gpuva_backend_sync_destroy(ex.be, timeline);
	return ex_close(&ex);
}
