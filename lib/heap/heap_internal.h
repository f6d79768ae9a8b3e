/* SPDX-License-Identifier: MIT */
/*
 * Internal view of the heap, for heap.c, vm_heap.c and the white-box tests.
 */
#ifndef GPUVA_LIB_HEAP_INTERNAL_H
#define GPUVA_LIB_HEAP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "gpuva/heap.h"

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

/*
 * The flat mode of a small heap. Below a few hundred tiles a tree's descent
 * and its in-leaf moves cost more than the whole work of a flat array, so a
 * heap starts flat and goes to the tree only when it grows past
 * heap->flat_max tiles (or when a tile cannot be written in units, below);
 * it comes back when it shrinks to half that.
 *
 * Positions are in units of 2^shift bytes from the heap's start: bytes when
 * the range fits in 32 bits, else 4 KiB pages. Every tile boundary but the
 * heap's end must be a whole unit below 2^32 - 1 units; a request that
 * would make one that is not sends the heap to the tree first.
 *
 * Holes: a sorted array of (start, length) pairs, never adjacent; a length
 * of FLAT_TO_END means "to the heap's end". Its capacity is kept above the
 * used tiles, since holes never outnumber them by more than one, so that
 * a free, which may add a hole, never needs memory.
 *
 * Used tiles (allocations and reservations): 8-byte records, start << 32 |
 * FLAT_RSV if a reservation | length (FLAT_REC_END: to the heap's end), in
 * a hash table keyed by the start: groups of 16 slots, each with a control
 * byte (FLAT_EMPTY, FLAT_DEAD, else 7 bits of the key's hash), so that a
 * lookup compares a whole group at once and rarely looks past one group.
 * One malloc'd block holds the slots, then the control bytes.
 */
#define FLAT_TO_END UINT32_MAX
#define FLAT_RSV (UINT32_C(1) << 31)
#define FLAT_REC_END (FLAT_RSV - 1)
#define FLAT_GROUP 16
#define FLAT_EMPTY 0x80
#define FLAT_DEAD 0xfe
/*
 * Tiles a heap holds in the flat mode at most, by default. heap-churn at
 * 100 live allocations reaches about 340 tiles, which 256 sent to the tree
 * part of the time; at 300 live heap-frag's scan of 150 holes is slower
 * than the tree. A build may set it (-DHEAP_FLAT_MAX=N) to measure others.
 */
#ifndef HEAP_FLAT_MAX
#define HEAP_FLAT_MAX 384
#endif

/* Arguments a rejection reason keeps: integers and static strings. */
#define HEAP_ERR_ARGS 8
/* Bytes of a reason's text, when it is written out. */
#define HEAP_ERR_TEXT 384

struct flat_hole {
	uint32_t s, len;	/* units from the heap's start */
};

struct heap_flat {
	struct flat_hole *hole;	/* nh of them, room for cap */
	uint64_t *slot;		/* ng * FLAT_GROUP records, then the control bytes */
	uint32_t nh, cap;
	uint32_t ng, used, dead;	/* groups, records, deleted slots */
	uint8_t shift;
};

struct gpuva_heap {
	void *root;			/* the tree's root, a leaf at depth 0; NULL: flat */
	uint64_t start, last;		/* managed: [start, last] inclusive */
	uint64_t free_bytes;
	uint64_t allocated_bytes;
	uint64_t reserved_bytes;	/* includes the kernel range */
	size_t holes;
	size_t allocations;
	size_t reservations;		/* includes the kernel range */
	uint64_t kernel_addr;		/* the kernel range's start, if has_kernel */
	/*
	 * Tiles above which the heap leaves the flat mode (HEAP_FLAT_MAX; 0:
	 * never flat, for the tests of the tree), and calls to wait before a
	 * failed return to it is tried again.
	 */
	uint32_t flat_max;
	uint32_t flat_wait;
	/*
	 * Capacities, HEAP_LEAF_NARROW, HEAP_LEAF_WIDE, HEAP_INNER_MAX and
	 * UINT32_MAX unless a test lowers them to build deep trees and wide
	 * leaves out of a few hundred tiles.
	 */
	uint32_t narrow_max;
	uint8_t leaf_cap, wide_cap, inner_cap;
	bool has_kernel;
	/* tests: make the next allocation of memory fail, as malloc would */
	bool fail_alloc;

	/* one representation at a time: the tree's fields or the flat mode's */
	union {
		struct {
			unsigned depth;		/* inner levels */
			uint64_t largest;	/* the largest hole */
			size_t blocks;		/* leaves and inner nodes */
			/* blocks taken, before it changes anything, by the call in progress */
			void *pool;
		};
		struct heap_flat flat;
	};

	gpuva_log_fn log_fn;
	void *log_priv;
	/*
	 * The last rejection, kept as its format and arguments and written
	 * out only when asked for: 72 bytes where the text took 256, which
	 * matters to a small heap's bytes per allocation.
	 */
	const char *err_fmt;
	uint64_t err_arg[HEAP_ERR_ARGS];
};

/* Last byte of [addr, addr + size); size > 0 and no overflow assumed. */
static inline uint64_t
last_of(uint64_t addr, uint64_t size)
{
	return addr + (size - 1);
}

static inline uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* One tile, as found by tile_at(). */
struct tile {
	uint64_t addr, last;
	int kind;		/* 0: hole, else enum heap_kind */
};

/* [x, x + size) of @kind became used (@sign 1) or free again (-1). */
static inline void
count_used(struct gpuva_heap *heap, uint64_t size, enum heap_kind kind, int sign)
{
	if (sign > 0) {
		heap->free_bytes -= size;
		if (kind == HEAP_KIND_ALLOC) {
			heap->allocations++;
			heap->allocated_bytes += size;
		} else {
			heap->reservations++;
			heap->reserved_bytes += size;
		}
	} else {
		heap->free_bytes += size;
		if (kind == HEAP_KIND_ALLOC) {
			heap->allocations--;
			heap->allocated_bytes -= size;
		} else {
			heap->reservations--;
			heap->reserved_bytes -= size;
		}
	}
}

static inline bool
heap_is_flat(const struct gpuva_heap *heap)
{
	return !heap->root;
}

static inline size_t
heap_tiles(const struct gpuva_heap *heap)
{
	return heap->holes + heap->allocations + heap->reservations;
}

/* Record a rejection reason, tell the log callback, return @err. */
int heap_reject(struct gpuva_heap *heap, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reserve [addr, addr + size) as @kind; the checks of gpuva_heap_reserve(). */
int heap_take(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
	      enum heap_kind kind, const char *what);

/* The kind of a used tile that starts at @addr and is (@rsv) a reservation. */
static inline int
used_kind(const struct gpuva_heap *heap, uint64_t addr, bool rsv)
{
	if (!rsv)
		return HEAP_KIND_ALLOC;
	return heap->has_kernel && addr == heap->kernel_addr ?
	       HEAP_KIND_KERNEL : HEAP_KIND_RESERVED;
}

/* ---- the tree (heap.c), for the flat mode's switches ---- */

/* Make @heap, flat or not, a tree of one hole over its range: -ENOMEM. */
int heap_tree_init(struct gpuva_heap *heap);
/* Free the tree's blocks; the heap is left with no representation. */
void heap_tree_fini(struct gpuva_heap *heap);
/* Every tile of the tree, in order (gpuva_heap_for_each_range()'s walk). */
int heap_tree_walk(const struct gpuva_heap *heap, bool holes_only,
		   gpuva_heap_range_fn fn, void *priv);

/* ---- the flat mode (flat.c) ---- */

/* What flat_carve() returns when the result cannot be kept flat. */
#define FLAT_CANNOT 1

/* Make @heap flat with one hole over its range: 0 or -ENOMEM. */
int flat_init(struct gpuva_heap *heap);
void flat_fini(struct gpuva_heap *heap);
/* Bytes of the flat arrays. */
size_t flat_bytes(const struct gpuva_heap *heap);
/* The largest hole: a scan of the holes. */
uint64_t flat_largest(const struct gpuva_heap *heap);
/*
 * Make [x, x + size) of hole @i (bytes [s, e]) a tile of @kind: 0,
 * -ENOMEM (nothing changed), or FLAT_CANNOT (nothing changed) when the
 * tiles would not fit the flat mode: units, limits, flat_max.
 */
int flat_carve(struct gpuva_heap *heap, unsigned i, uint64_t s, uint64_t e,
	       uint64_t x, uint64_t size, enum heap_kind kind);
/*
 * gpuva_heap_alloc() of the usual kind (low first, no span rule) with
 * everything at hand: 1, with *addr set, or 0 (nothing changed) for the
 * general path.
 */
int flat_alloc_plain(struct gpuva_heap *heap, uint64_t size, uint64_t align,
		     uint64_t *addr);
/* Is @addr in a hole? Then its index and bytes [*s, *e]. */
bool flat_hole_at(const struct gpuva_heap *heap, uint64_t addr, unsigned *i,
		  uint64_t *s, uint64_t *e);
/* The tile containing @addr, which is in the heap. */
void flat_tile_at(const struct gpuva_heap *heap, uint64_t addr, struct tile *t);
/*
 * Give back the used tile of @kind that is exactly [addr, addr + size):
 * true, or false (nothing changed) when there is none.
 */
bool flat_give_back(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
		    enum heap_kind kind);
int flat_walk(const struct gpuva_heap *heap, bool holes_only,
	      gpuva_heap_range_fn fn, void *priv);
/* The flat mode's own rules; NULL or the broken one. Tiles: flat_walk(). */
const char *flat_check(const struct gpuva_heap *heap);
/* Go to the tree: 0 or -ENOMEM (nothing changed). */
int heap_to_tree(struct gpuva_heap *heap);
/* Try to go back to the flat mode; stays a tree when it cannot. */
void heap_to_flat(struct gpuva_heap *heap);

#endif /* GPUVA_LIB_HEAP_INTERNAL_H */
