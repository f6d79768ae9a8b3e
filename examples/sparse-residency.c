/* SPDX-License-Identifier: MIT */
/*
 * Sparse texture residency, as a Vulkan driver implements a sparse image
 * (sparseResidencyImage2D) on a VM_BIND kernel.
 *
 * At creation the image gets a VA range backed by one NULL mapping: every
 * tile reads as zero and none faults, on every kernel (msm's PRR, a
 * blackhole BO on panthor, sparse regions on nouveau). Each
 * vkQueueBindSparse batch then becomes one transaction: its tile binds
 * (a 64 KiB piece of a memory pool BO) and unbinds (NULL again) go in
 * together and reach the kernel as one VM_BIND call; if the call fails,
 * the VM is exactly as before the batch and the app's view stays right.
 *
 * It prints its requests and the ops they generate as `gpuva replay` does:
 * examples/traces/sparse-residency.trace is the same run as a trace (a
 * test keeps the two identical), which `gpuva map` draws. It checks the
 * residency of every tile after every batch and exits 1 if anything is
 * not what the app asked for.
 *
 *   sparse-residency [--backend NAME] [--device PATH]
 */
#include <stdio.h>

#include "common.h"

#define TILE		UINT64_C(0x10000)	/* 64 KiB: the standard sparse block */
#define TILES_X		4
#define TILES		16		/* a 4 x 4 grid of tiles */
#define POOL_PAGES	4		/* each pool BO holds four tiles */

/* One VkSparseImageMemoryBind, reduced to what the VM sees. */
struct tile_bind {
	unsigned tile;		/* row * TILES_X + column */
	unsigned pool;		/* pool BO number (1, 2), or 0: unbind */
	unsigned page;		/* which 64 KiB page of the pool */
};

/* The app's three frames: which tiles it needs resident. */
static const struct tile_bind frame1[] = {	/* the top-left corner */
	{ 0, 1, 0 }, { 1, 1, 1 }, { 4, 1, 2 }, { 5, 1, 3 },
};
static const struct tile_bind frame2[] = {	/* the view pans right */
	{ 2, 2, 0 }, { 3, 2, 1 }, { 6, 2, 2 }, { 7, 2, 3 },
	{ 0, 0, 0 }, { 4, 0, 0 },		/* column 0 leaves: NULL again */
};
static const struct tile_bind frame3[] = {	/* and down: reuse pool 1 */
	{ 10, 1, 0 }, { 11, 1, 2 },		/* the pages column 0 gave up */
};

/* What the app believes is bound at each tile: the VM must agree. */
struct tile_state {
	struct gpuva_bo *bo;	/* NULL: not resident */
	uint64_t offset;
};

/*
 * One vkQueueBindSparse batch: one transaction, one backend call. The ops
 * of each request are printed as the library generates them.
 */
static int
commit_batch(struct ex *ex, const struct gpuva_map_req *reqs, size_t count)
{
	struct gpuva_bind *txn;
	int ret;

	ret = ex_begin(ex, &txn);	/* gpuva_bind_begin(), ops printed */
	if (ret)
		return ret;
	for (size_t i = 0; i < count; i++) {
		ex_echo_map(ex, &reqs[i]);
		ret = gpuva_bind_map(txn, &reqs[i]);
		if (ret) {
			/* refused before anything reached the kernel */
			gpuva_bind_abort(txn);
			return ret;
		}
	}
	ex_echo("commit");
	/* one VM_BIND; ends txn whatever comes of it */
	return gpuva_bind_commit(txn, NULL);
}

/* Does the VM map every tile as the app believes? */
static void
check_tiles(struct ex *ex, uint64_t image, const struct tile_state *tiles)
{
	for (unsigned t = 0; t < TILES; t++) {
		uint64_t addr = image + t * TILE;
		struct gpuva_va_info info;
		bool ok = gpuva_vm_lookup(ex->vm, addr, &info) &&
			  info.addr + info.range >= addr + TILE &&
			  info.bo == tiles[t].bo &&
			  (!info.bo ||
			   info.offset + (addr - info.addr) == tiles[t].offset);

		if (!ok)
			fprintf(stderr, "%s: tile %u is not what was bound\n",
				ex->prog, t);
		ex_expect(ex, ok, "every tile maps what the app bound");
	}
	ex_check_vm(ex);
}

int
main(int argc, char **argv)
{
	static const struct {
		const struct tile_bind *binds;
		size_t count;
	} frames[] = {
		{ frame1, sizeof(frame1) / sizeof(frame1[0]) },
		{ frame2, sizeof(frame2) / sizeof(frame2[0]) },
		{ frame3, sizeof(frame3) / sizeof(frame3[0]) },
	};
	struct tile_state tiles[TILES] = { { 0 } };
	struct gpuva_map_req reqs[TILES];
	struct ex ex = { 0 };
	uint64_t image;
	int ret;

	ret = ex_open(&ex, argc, argv);
	if (ret)
		return ret;
	/* two memory pools the app binds tiles from */
	if (!ex_bo(&ex, POOL_PAGES * TILE) || !ex_bo(&ex, POOL_PAGES * TILE))
		return ex_close(&ex) | 1;

	/* vkCreateImage: a VA range for the whole image, from the VM's heap, */
	ret = gpuva_vm_alloc_addr(ex.vm, TILES * TILE, TILE, GPUVA_HEAP_NO_FLAGS,
				  &image);
	if (!ex_expect(&ex, ret == 0, "the image gets a VA range"))
		return ex_close(&ex);
	/* backed by NULL: all of it reads as zero, nothing is resident */
	reqs[0] = (struct gpuva_map_req) {
		.addr = image, .range = TILES * TILE, .bo = NULL,
	};
	ret = commit_batch(&ex, reqs, 1);
	ex_expect(&ex, ret == 0, "the image is bound to NULL");
	check_tiles(&ex, image, tiles);

	/* a vkQueueBindSparse per frame */
	for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
		const struct tile_bind *b = frames[f].binds;
		size_t n = frames[f].count;

		for (size_t i = 0; i < n; i++)
			reqs[i] = (struct gpuva_map_req) {
				.addr = image + b[i].tile * TILE,
				.range = TILE,
				/* pool 0: unbind, i.e. back to NULL */
				.bo = b[i].pool ? ex.bos[b[i].pool] : NULL,
				.offset = b[i].pool ? b[i].page * TILE : 0,
			};
		ret = commit_batch(&ex, reqs, n);
		if (ret)
			printf("error %d\n", ret);	/* the VM is as before */
		if (!ex_expect(&ex, ret == 0, "the batch is committed"))
			break;
		for (size_t i = 0; i < n; i++)	/* the app's view follows */
			tiles[b[i].tile] = (struct tile_state) {
				reqs[i].bo, reqs[i].offset,
			};
		check_tiles(&ex, image, tiles);
	}
	ex_dump(&ex);

	/*
	 * vkDestroyImage would unmap [image, +1 MiB) in one request and give
	 * the range back with gpuva_bind_free_addr(); here the VM goes, with
	 * everything in it.
	 */
	return ex_close(&ex);
}
