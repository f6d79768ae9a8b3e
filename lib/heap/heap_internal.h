/* SPDX-License-Identifier: MIT */
/*
 * Internal view of the heap, for heap.c, vm_heap.c and the white-box tests.
 */
#ifndef GPUVA_LIB_HEAP_INTERNAL_H
#define GPUVA_LIB_HEAP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "gpuva/heap.h"
#include "tree/tree.h"

#define HEAP_ERROR_MAX 256

/* Nodes per slab page: 256 * 40 bytes, about 10 KiB. */
#define HEAP_SLAB_NODES 256

/* Buckets of the record table when it first needs any; a power of two. */
#define HEAP_HASH_MIN 16

/*
 * Up to HEAP_FLAT_MAX holes the heap keeps them in a sorted array (flat
 * mode) and scans it; past it, in the augmented tree. A heap goes flat
 * again once its tree has HEAP_FLAT_LOW holes or fewer (hysteresis: each
 * switch costs O(HEAP_FLAT_MAX log HEAP_FLAT_MAX) and is paid for by the
 * holes made or merged since the last one). Flat mode keeps at least
 * HEAP_FLAT_MAX spare nodes, so a free that adds the hole which overflows
 * the array can build the tree without memory. 256, not 64: `gpuva bench
 * heap-churn --n 100` took 101 ns/op with 64, 75 with 128, 51 with 256
 * (the tree alone: 123); see README.md.
 */
#define HEAP_FLAT_MAX 256
#define HEAP_FLAT_LOW 128

/* What a used record is; holes live in the hole tree. */
enum heap_kind {
	HEAP_KIND_ALLOC = 1,	/* gpuva_heap_alloc*() */
	HEAP_KIND_RESERVED,	/* gpuva_heap_reserve() */
	HEAP_KIND_KERNEL,	/* the VM's kernel range: never unreserved */
};

/*
 * One hole, allocation or reservation: [node.key, node.key + size). For a
 * hole, max is the largest hole size in its subtree (the augment); for a
 * used range (a record), kind says which. Records are in no tree: they
 * chain through node.link[0] in their bucket of the record table. Spare
 * nodes chain through node.link[0] too.
 */
struct heap_node {
	struct gpuva_tree_node node;
	uint64_t size;
	union {
		uint64_t max;
		enum heap_kind kind;
	};
};

/* A flat-mode hole: start and size side by side, so one shift moves both. */
struct heap_flat {
	uint64_t addr;
	uint64_t size;
};

struct heap_slab {
	struct heap_slab *next;
	struct heap_node nodes[HEAP_SLAB_NODES];
};

struct gpuva_heap {
	/*
	 * Holes: in flat mode flat_hole[0, flat_n), sorted by address, and
	 * the tree is empty; else the tree, and flat_n is 0.
	 */
	bool flat;
	size_t flat_n;
	struct gpuva_tree holes;	/* free ranges, augmented with max */
	/*
	 * Allocations and reservations, hashed by start address into
	 * hash_size buckets (0 or a power of two >= HEAP_HASH_MIN), at most
	 * one record per bucket on average (grown before an insert would
	 * pass that). Address order comes from the hole tree instead: the
	 * records tile the gaps between holes.
	 */
	struct heap_node **buckets;
	size_t hash_size;
	unsigned hash_shift;		/* 64 - log2(hash_size) */
	uint64_t start, last;		/* managed: [start, last] inclusive */
	uint64_t free_bytes;
	uint64_t allocated_bytes;
	uint64_t reserved_bytes;	/* includes the kernel range */
	size_t allocations;
	size_t reservations;		/* includes the kernel range */

	struct heap_node *spare;	/* free nodes */
	size_t spare_count;
	struct heap_slab *slabs;
	size_t slab_count;

	/* tests: make the next slab refill or table growth fail, as malloc would */
	bool fail_refill;

	gpuva_log_fn log_fn;
	void *log_priv;
	char last_error[HEAP_ERROR_MAX];

	/* flat mode's holes */
	struct heap_flat flat_hole[HEAP_FLAT_MAX];
};

static inline struct heap_node *
heap_node_of(const struct gpuva_tree_node *n)
{
	return n ? gpuva_container_of(n, struct heap_node, node) : NULL;
}

/* Record a rejection reason, tell the log callback, return @err. */
int heap_reject(struct gpuva_heap *heap, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reserve [addr, addr + size) as @kind; the checks of gpuva_heap_reserve(). */
int heap_take(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
	      enum heap_kind kind, const char *what);

#endif /* GPUVA_LIB_HEAP_INTERNAL_H */
