/* SPDX-License-Identifier: MIT */
/*
 * Internal view of the heap, for heap.c, vm_heap.c and the white-box tests.
 */
#ifndef GPUVA_LIB_HEAP_INTERNAL_H
#define GPUVA_LIB_HEAP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "gpuva/heap.h"

#define HEAP_ERROR_MAX 256

/*
 * The heap is a sequence of tiles: holes, allocations and reservations
 * that follow each other without a gap, so a tile is only its start (its
 * end is where the next one starts) and its kind. The starts live in a
 * B+tree of fixed-size blocks. A leaf holds up to HEAP_LEAF_NARROW starts
 * as 32-bit offsets from its base in units of 2^shift, or, when its starts
 * are too far apart or too finely aligned for that, up to HEAP_LEAF_WIDE
 * full 64-bit starts. Inner nodes keep, per child, its first start and its
 * largest hole, so that the search skips any child without a hole big
 * enough. Blocks are HEAP_BLOCK_BYTES: 280 requested bytes are a 288-byte
 * chunk in glibc's malloc, nothing lost to rounding.
 */
#define HEAP_BLOCK_BYTES 280
#define HEAP_LEAF_HEAD 32
#define HEAP_LEAF_NARROW ((HEAP_BLOCK_BYTES - HEAP_LEAF_HEAD) / 4)	/* 62 */
#define HEAP_LEAF_WIDE ((HEAP_BLOCK_BYTES - HEAP_LEAF_HEAD) / 8)	/* 31 */
#define HEAP_INNER_MAX ((HEAP_BLOCK_BYTES - 8) / 24)			/* 11 */

/* A leaf's shift when it holds 64-bit starts. */
#define HEAP_WIDE 0xff

/*
 * The largest shift a narrow leaf takes: 2^12, a page, so that a leaf of
 * page-aligned starts can span 2^44 bytes, and a start that is only page
 * aligned rarely forces a leaf to re-encode (it may take a smaller shift
 * whenever it must).
 */
#define HEAP_SHIFT_MAX 12

/*
 * Inner levels at most. An inner node other than the root has at least
 * two children (HEAP_INNER_MAX / 3 with the default capacities), so 64
 * levels hold more tiles than a 64-bit space can.
 */
#define HEAP_MAX_DEPTH 64

/* What a used tile is. */
enum heap_kind {
	HEAP_KIND_ALLOC = 1,	/* gpuva_heap_alloc*() */
	HEAP_KIND_RESERVED,	/* gpuva_heap_reserve() */
	HEAP_KIND_KERNEL,	/* the VM's kernel range: never unreserved */
};

/*
 * Up to n tiles, in address order. Tile i starts at base + (off[i] <<
 * shift), or at key[i] when shift is HEAP_WIDE, and ends where tile i + 1
 * starts (the last one where the next leaf starts, or at the heap's end).
 * base <= the first start; a narrow leaf's offsets are at most the heap's
 * narrow_max. Bit i of hole: tile i is a hole; else bit i of rsv: it is a
 * reservation (the kernel range if it starts at the heap's kernel_addr);
 * else an allocation. Bits from n up are 0. nmax counts the holes of the
 * leaf's largest size (its parent's max for it), and every other hole is
 * smaller than 2^below bytes (a bound, not always tight), so that a hole
 * of the largest size that shrinks needs a scan of the leaf only when it
 * was the last one and what is left of it may be below another hole.
 * imax is where the search looks first for a request that only a hole of
 * the largest size can take; it is checked before use, never trusted.
 */
struct heap_leaf {
	uint8_t n;
	uint8_t shift;
	uint8_t nmax;		/* holes as big as the leaf's largest */
	uint8_t below;		/* the other holes are below 2^below bytes */
	uint8_t imax;		/* a hint: where a hole of the largest size is */
	uint8_t pad[3];
	uint64_t hole;
	uint64_t rsv;
	uint64_t base;
	union {
		uint32_t off[HEAP_LEAF_NARROW];
		uint64_t key[HEAP_LEAF_WIDE];
	};
};

/*
 * Children 0 .. n - 1: child i holds the tiles that start in [key[i],
 * key[i + 1]) (the last child: up to the node's own end), key[i] being
 * exactly the first start in it, and max[i] its largest hole.
 */
struct heap_inner {
	uint8_t n;
	uint8_t pad[7];
	uint64_t key[HEAP_INNER_MAX];
	uint64_t max[HEAP_INNER_MAX];
	void *child[HEAP_INNER_MAX];
};

_Static_assert(sizeof(struct heap_leaf) == HEAP_BLOCK_BYTES, "leaf is a block");
_Static_assert(sizeof(struct heap_inner) <= HEAP_BLOCK_BYTES, "inner fits a block");
_Static_assert(HEAP_LEAF_NARROW <= 64, "tile masks are 64 bits");

struct gpuva_heap {
	void *root;			/* a leaf when depth is 0 */
	unsigned depth;			/* inner levels */
	uint64_t largest;		/* the largest hole */
	uint64_t start, last;		/* managed: [start, last] inclusive */
	uint64_t free_bytes;
	uint64_t allocated_bytes;
	uint64_t reserved_bytes;	/* includes the kernel range */
	size_t holes;
	size_t allocations;
	size_t reservations;		/* includes the kernel range */
	size_t blocks;			/* leaves and inner nodes */
	uint64_t kernel_addr;		/* the kernel range's start, if has_kernel */
	bool has_kernel;

	/*
	 * Capacities, HEAP_LEAF_NARROW, HEAP_LEAF_WIDE, HEAP_INNER_MAX and
	 * UINT32_MAX unless a test lowers them to build deep trees and wide
	 * leaves out of a few hundred tiles.
	 */
	uint8_t leaf_cap, wide_cap, inner_cap;
	uint32_t narrow_max;
	/* tests: make the next block allocation fail, as malloc would */
	bool fail_alloc;

	/* blocks taken, before it changes anything, by the call in progress */
	void *pool;

	gpuva_log_fn log_fn;
	void *log_priv;
	char last_error[HEAP_ERROR_MAX];
};

/* Record a rejection reason, tell the log callback, return @err. */
int heap_reject(struct gpuva_heap *heap, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reserve [addr, addr + size) as @kind; the checks of gpuva_heap_reserve(). */
int heap_take(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
	      enum heap_kind kind, const char *what);

#endif /* GPUVA_LIB_HEAP_INTERNAL_H */
