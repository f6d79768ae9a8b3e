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
 *   point 5  texture C is mapped at A's old range (bind waiting for 4)
 *
 * and checks at each step what the VM, the heap and the timeline say. On
 * sim, nothing runs on its own: a queued batch runs when the point it waits
 * for is signalled, which makes every step deterministic and lets the
 * example check the states in between (the unmap queued, its range held
 * back). On a kernel the binds run as soon as they may, and the example
 * prints the same lines.
 *
 *   async-binds [--backend NAME] [--device PATH]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "common.h"

#define TEX_SIZE	UINT64_C(0x100000)	/* 1 MiB a texture */
#define TEX_ALIGN	UINT64_C(0x10000)
#define SECOND		INT64_C(1000000000)	/* ns */

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

	ret = ex_begin(ex, &txn);	/* gpuva_bind_begin(), ops printed */
	if (ret)
		return ret;
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

/* Wait (at most a second) for @point of @timeline; 0 or -ETIME. */
static int
wait_point(struct ex *ex, uint32_t timeline, uint64_t point, int64_t timeout)
{
	struct gpuva_sync p = { .handle = timeline, .point = point };

	return gpuva_backend_sync_wait(ex->be, &p, 1, timeout);
}

/* Signal @point from the CPU, standing in for the GPU job that would. */
static int
signal_point(struct ex *ex, uint32_t timeline, uint64_t point)
{
	struct gpuva_sync p = { .handle = timeline, .point = point };

	return gpuva_backend_sync_signal(ex->be, &p, 1);
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
	bool gpu_busy;
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
	ex_expect(&ex, wait_point(&ex, timeline, 1, SECOND) == 0,
		  "the map of A has run");
	printf("point 1 signalled: A is mapped\n");
	tex_b = alloc_texture(&ex, "B");

	/*
	 * Point 2 is the GPU job sampling A. A driver submits that job, with
	 * point 2 as its out-fence, before it queues A's unmap behind it.
	 * There is no GPU work to submit here, so the CPU signals the point.
	 * A kernel refuses a bind that waits for a point nothing has been
	 * submitted for (EINVAL), so there the CPU signals it now, as if the
	 * job had finished already. The sim accepts the wait: there the point
	 * is signalled later, and the unmap stays queued meanwhile.
	 */
	gpu_busy = gpuva_backend_is_sim(ex.be);
	printf("the GPU samples A until it signals point 2\n");
	if (!gpu_busy)
		ex_expect(&ex, signal_point(&ex, timeline, 2) == 0,
			  "point 2 is signalled");

	/* point 3: A unmapped after point 2, its range freed after that */
	ex_expect(&ex, bind_async(&ex, timeline, tex_a, NULL, 2, 3) == 0,
		  "the unmap of A is queued");
	ex_expect(&ex, gpuva_vm_find_at(ex.vm, tex_a) == NULL,
		  "the mirror shows A unmapped at once");
	printf("A's range goes back to the heap once its unmap has run\n");
	if (gpu_busy) {
		/* the unmap has not run: the GPU may still read A there */
		ex_expect(&ex, wait_point(&ex, timeline, 3, 0) == -ETIME,
			  "point 3 waits for point 2");
		ex_expect(&ex, gpuva_vm_wait_idle(ex.vm, 0) == -ETIME,
			  "the VM has a batch that has not run");
		ex_expect(&ex, gpuva_sim_queued(ex.be, ex.vm) == 1 &&
			  gpuva_sim_compare(ex.be, ex.vm) == -EBUSY,
			  "the sim's page table still maps A");
		/* so the heap does not hand A's range out */
		ex_expect(&ex, gpuva_vm_get_heap(ex.vm, &heap) == 0 &&
			  gpuva_heap_alloc_fixed(heap, tex_a, TEX_SIZE) == -ENOSPC,
			  "A's range is not free while its unmap waits");
	}

	/* point 4: B mapped after A's unmap, chained on point 3 */
	ex_expect(&ex, bind_async(&ex, timeline, tex_b, bo_b, 3, 4) == 0,
		  "the map of B is queued");
	if (gpu_busy) {
		ex_expect(&ex, wait_point(&ex, timeline, 4, 0) == -ETIME &&
			  gpuva_sim_queued(ex.be, ex.vm) == 2,
			  "the map of B is queued behind the unmap of A");
		/* the GPU is done with A: the two batches run, in order */
		ex_expect(&ex, signal_point(&ex, timeline, 2) == 0,
			  "point 2 is signalled");
	}
	ex_expect(&ex, wait_point(&ex, timeline, 4, SECOND) == 0,
		  "the unmap of A and the map of B have run");
	printf("point 4 signalled: A is unmapped, B is mapped\n");

	/* every batch has run: A's range is back in the heap, and is reused */
	ex_expect(&ex, gpuva_vm_wait_idle(ex.vm, SECOND) == 0,
		  "every batch has run");
	tex_c = alloc_texture(&ex, "C");
	ex_expect(&ex, tex_c == tex_a, "the next texture gets A's range back");

	/* point 5: C mapped there, after point 4 */
	ex_expect(&ex, bind_async(&ex, timeline, tex_c, bo_c, 4, 5) == 0,
		  "the map of C is queued");
	ex_expect(&ex, wait_point(&ex, timeline, 5, SECOND) == 0,
		  "the map of C has run");
	printf("point 5 signalled: C is mapped\n");
	ex_dump(&ex);
	ex_check_vm(&ex);

	gpuva_backend_sync_destroy(ex.be, timeline);
	return ex_close(&ex);
}
