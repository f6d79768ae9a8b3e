/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The heap: a GPU virtual address allocator in O(log n).
 *
 * With VM_BIND the driver picks every GPU address itself (msm even refuses
 * the kernel-allocated iova calls once VM_BIND is on). Mesa's util_vma_heap
 * does that with a list of holes walked linearly; struct gpuva_heap offers
 * the same features (alignment, lowest- or highest-first placement, address
 * windows, fixed addresses, a "no span" rule) with the heap kept in a
 * balanced tree that knows the largest hole beneath each node, so a fit is
 * found without walking the list.
 *
 * A heap manages [start, start + range). Every byte of it is, at any time,
 * in exactly one of three states:
 * - a hole (free),
 * - allocated (gpuva_heap_alloc(), gpuva_heap_alloc_in_range(),
 *   gpuva_heap_alloc_fixed(); given back with gpuva_heap_free()),
 * - reserved (gpuva_heap_reserve(); given back with gpuva_heap_unreserve()).
 * Adjacent holes are always merged, so the hole count is exact.
 *
 * Placement: allocation returns the lowest (GPUVA_HEAP_HIGH: highest)
 * address that fits, with one bounded exception, made so that the search
 * stays O(log n): when more than GPUVA_HEAP_SEARCH_BUDGET holes on the way
 * are big enough for the size but fail only because of the alignment or the
 * no-span rule, the search takes instead the lowest (highest) hole that fits
 * whatever its alignment offset. With exactly GPUVA_HEAP_SEARCH_BUDGET such
 * holes the exact search goes on. Allocation never fails with -ENOSPC while
 * some position fits.
 *
 * Complexity: n is the number of holes plus allocations and reservations.
 * Allocation is O(log n) with at most GPUVA_HEAP_SEARCH_BUDGET near-miss
 * holes examined; only when no hole is large enough to fit at any alignment
 * offset, and more near-misses than that exist, does it fall back to a full
 * search of the near-misses, O(k log n) for k of them. Free, fixed
 * allocation, reservation and unreservation are O(log n), and so are the
 * rejections, whose reasons name the allocation or reservation around an
 * address. Statistics are O(1). In the flat mode, whose n is bounded (a
 * few hundred), an allocation scans the holes, a free is one table lookup
 * and a count of the holes (n / 16 + 16 compares), and the largest hole in
 * the statistics and the owner named by a rejection are found by a scan.
 * A switch between the modes is O(n) for the n of a small heap: growth
 * and shrinkage switch at most once per n / 2 calls, and a request off
 * the flat mode's units (below) at most once itself and once at its free.
 *
 * Memory and the two representations: the heap is a sequence of tiles
 * (holes, allocations, reservations) with no gap between them. A small
 * heap, up to a few hundred tiles, is "flat": a sorted array of its holes
 * and a hash table of its allocations and reservations, 8 bytes each, so
 * that an allocation is a short scan and a free one lookup (about 20 bytes
 * per live allocation). A larger heap keeps each tile as only a start and
 * a kind in a B+tree of 280-byte blocks that hold up to 62 starts each
 * (about 5 to 8 bytes per tile). The heap moves between the two by itself
 * as it grows and shrinks, or when a tile cannot be written in the flat
 * mode's units (below); the switch changes no address, error or reason.
 * A heap with nothing allocated takes under 1 KiB. A call that adds tiles
 * takes the memory it needs from malloc before it changes anything, so
 * -ENOMEM leaves the heap unchanged; calls that remove tiles never fail
 * for lack of memory and give memory back, so it follows the number of
 * tiles down as well as up (gpuva_heap_get_stats().bytes).
 *
 * The flat mode counts in units of a byte when the heap's range is below
 * 4 GiB, else of 4 KiB from the heap's start, up to 2^32 - 2 units: a
 * heap of pages (sizes, alignments and fixed addresses in whole pages
 * from a page-aligned start) allocated low first stays flat while small;
 * a request that makes a tile edge off the units (a 2 KiB buffer in a
 * 2^47-byte heap) or past 16 TiB from the start, or an allocation or
 * reservation of 2^31 units or more, sends it to the tree,
 * which costs nothing in correctness, only the flat mode's speed.
 *
 * Standalone or per VM: a heap is usable on its own, like util_vma_heap
 * (gpuva_heap_create()), or owned by a VM over its range minus the
 * kernel-reserved range (gpuva_vm_alloc_addr(), gpuva_vm_get_heap()). The
 * heap does not mirror mappings: it only hands out addresses.
 *
 * Errors: a negative errno (see common.h); a rejected call changes nothing
 * and leaves a reason for gpuva_heap_last_error().
 *
 * Locking: none inside. The caller serialises every call on one heap.
 */
#ifndef GPUVA_HEAP_H
#define GPUVA_HEAP_H

#include <stdbool.h>
#include <stdint.h>

#include "gpuva/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gpuva_heap;
struct gpuva_vm;

/**
 * Near-miss holes one allocation examines and still goes on with the exact
 * search: on meeting one more, it settles for the lowest (highest) hole that
 * fits at any alignment offset. See the file overview.
 * @since 0.1
 */
#define GPUVA_HEAP_SEARCH_BUDGET 32

/**
 * Allocation flags for gpuva_heap_alloc() and gpuva_heap_alloc_in_range().
 * Unknown bits: -EINVAL.
 * @since 0.1
 */
enum gpuva_heap_flags {
	GPUVA_HEAP_NO_FLAGS	= 0,
	/** place at the highest fitting address instead of the lowest */
	GPUVA_HEAP_HIGH		= 1u << 0,
	/**
	 * Bits 8-13: the no-span shift k, set with GPUVA_HEAP_NO_SPAN(k). With
	 * k > 0 the allocation never crosses a multiple of 2^k (for example
	 * k = 32: GPUs whose address units cannot cross 4 GiB). 0: no rule.
	 */
	GPUVA_HEAP_NO_SPAN_MASK	= 0x3fu << 8,
};

/**
 * Flag bits asking that an allocation not cross a 2^k boundary (1 <= k <= 63).
 * A size above 2^k can never satisfy it: -EINVAL.
 * @since 0.1
 */
#define GPUVA_HEAP_NO_SPAN(k) ((uint32_t)((k) & 0x3f) << 8)

/** What a range of the heap is, in gpuva_heap_for_each_range(). @since 0.1 */
enum gpuva_heap_state {
	GPUVA_HEAP_HOLE		= 0,	/**< free */
	GPUVA_HEAP_ALLOCATED	= 1,	/**< handed out by an alloc call */
	GPUVA_HEAP_RESERVED	= 2,	/**< taken by gpuva_heap_reserve() or the VM */
};

/** One range of the heap, as iteration reports it. @since 0.1 */
struct gpuva_heap_range {
	uint64_t addr;			/**< first byte */
	uint64_t range;			/**< bytes, > 0 */
	enum gpuva_heap_state state;	/**< hole, allocated or reserved */
};

/** Counters, as returned by gpuva_heap_get_stats(). @since 0.1 */
struct gpuva_heap_stats {
	uint64_t start;			/**< first managed byte */
	uint64_t range;			/**< bytes managed */
	uint64_t free_bytes;		/**< bytes in holes */
	uint64_t largest_hole;		/**< bytes in the largest hole; 0: full */
	size_t holes;			/**< number of holes */
	size_t allocations;		/**< live allocations */
	uint64_t allocated_bytes;	/**< bytes in live allocations */
	size_t reservations;		/**< live reservations */
	uint64_t reserved_bytes;	/**< bytes in reservations */
	/**
	 * library memory: the heap and its arrays (flat mode) or the blocks
	 * of its tree, at the sizes asked of malloc (which adds its own
	 * header to each)
	 */
	size_t bytes;
};


/** @name Lifecycle */
/**@{*/

/**
 * Create a heap whose whole range [start, start + range) is one hole.
 *
 * @param start  first managed byte
 * @param range  bytes, > 0; start + range may equal but not pass 2^64
 * @param out    receives the heap
 * @return 0 or a negative errno; *out is untouched on error
 * @retval -EINVAL  zero range, start + range past 2^64, NULL @p out
 * @retval -ENOMEM  out of memory
 *
 * Ownership: the caller owns the heap; free it with gpuva_heap_destroy().
 * Complexity: O(1).
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_heap_create(uint64_t start, uint64_t range, struct gpuva_heap **out);

/**
 * Destroy a heap with everything still allocated or reserved in it.
 * Accepts NULL. Cannot fail.
 *
 * Complexity: O(number of blocks), about n / 40; O(1) in the flat mode.
 * @since 0.1
 */
GPUVA_EXPORT void
gpuva_heap_destroy(struct gpuva_heap *heap);

/**
 * The reason for the last rejected call on this heap: the request, a
 * colon, the broken rule with its numbers ("free 0x2000 0x1000: not
 * allocated"). "" if none yet. Cannot fail. O(1).
 *
 * The heap keeps the reason as its numbers (72 bytes, where the text would
 * take 256 in every heap) and writes the text when asked, into a buffer
 * of the calling thread, as dlerror() does: the string is valid until the
 * next call on the heap or the next gpuva_heap_last_error() in the same
 * thread, whichever comes first. Copy it to keep it longer. Each heap's
 * reason stays its own: rejections on other heaps do not change it.
 * @since 0.1
 */
GPUVA_EXPORT const char *
gpuva_heap_last_error(const struct gpuva_heap *heap);

/**
 * Send every rejection reason to @p fn as well (NULL: stop). Nothing is
 * printed by default. Cannot fail. O(1).
 * @since 0.1
 */
GPUVA_EXPORT void
gpuva_heap_set_log_fn(struct gpuva_heap *heap, gpuva_log_fn fn,
		      void *priv);

/**@}*/

/** @name Allocation */
/**@{*/

/**
 * Allocate @p size bytes at a multiple of @p align anywhere in the heap.
 *
 * Same as gpuva_heap_alloc_in_range() over the whole heap.
 *
 * @param heap   the heap
 * @param size   bytes, > 0
 * @param align  a power of two (1: any address)
 * @param flags  enum gpuva_heap_flags: GPUVA_HEAP_HIGH, GPUVA_HEAP_NO_SPAN(k)
 * @param addr   receives the first byte; untouched on error
 * @return 0 or a negative errno
 * @retval -EINVAL  zero size, align not a power of two, unknown flags, size
 *                  above the no-span block 2^k
 * @retval -ENOSPC  no hole fits
 * @retval -ENOMEM  memory for the heap's arrays or tree could not be
 *                  allocated (heap unchanged)
 *
 * Complexity: O(log n). See the file overview for the bounded near-miss
 * search and its fallback.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_heap_alloc(struct gpuva_heap *heap, uint64_t size, uint64_t align,
		 uint32_t flags, uint64_t *addr);

/**
 * Allocate @p size bytes at a multiple of @p align inside the window
 * [win_addr, win_addr + win_range).
 *
 * The window is clipped to the heap; a window that misses the heap entirely
 * is an error, so that a wrong constant does not pass silently as -ENOSPC.
 *
 * @param heap       the heap
 * @param size       bytes, > 0
 * @param align      a power of two (1: any address)
 * @param flags      enum gpuva_heap_flags
 * @param win_addr   first byte the allocation may use
 * @param win_range  bytes in the window, > 0; the end may be 2^64
 * @param addr       receives the first byte; untouched on error
 * @return 0 or a negative errno
 * @retval -EINVAL  as gpuva_heap_alloc(), plus: zero window, window end past
 *                  2^64, window outside the heap
 * @retval -ENOSPC  no hole fits inside the window
 * @retval -ENOMEM  memory for the heap's arrays or tree could not be
 *                  allocated (heap unchanged)
 *
 * Complexity: O(log n), as gpuva_heap_alloc().
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_heap_alloc_in_range(struct gpuva_heap *heap, uint64_t size,
			  uint64_t align, uint32_t flags, uint64_t win_addr,
			  uint64_t win_range, uint64_t *addr);

/**
 * Allocate exactly [addr, addr + size), for a driver that must place a
 * buffer at a known address (replayed captures, shader heaps at a base).
 * Free it with gpuva_heap_free() like any allocation.
 *
 * @retval -EINVAL  zero size, addr + size past 2^64, outside the heap
 * @retval -ENOSPC  some byte of the range is allocated or reserved
 * @retval -ENOMEM  memory for the heap's arrays or tree could not be
 *                  allocated (heap unchanged)
 *
 * Complexity: O(log n), -ENOSPC included (its reason names the owner of
 * the taken byte).
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_heap_alloc_fixed(struct gpuva_heap *heap, uint64_t addr, uint64_t size);

/**
 * Give back an allocation. @p addr and @p size must be exactly those of one
 * live allocation; the freed range merges with the holes next to it.
 *
 * @retval -EINVAL  zero size; @p addr is not the start of a live allocation
 *                  (never allocated, already freed, inside one); a
 *                  reservation (use gpuva_heap_unreserve()); size mismatch
 *
 * Never needs memory, so never fails for a live allocation; memory it
 * empties goes back to malloc. Complexity: O(log n), rejections included
 * (in the flat mode, see the file overview).
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_heap_free(struct gpuva_heap *heap, uint64_t addr, uint64_t size);

/**
 * Take [addr, addr + size) out of the heap: no allocation will use it until
 * gpuva_heap_unreserve(). For ranges the driver or the kernel owns (a
 * kernel-reserved range, a carve-out for a firmware ring).
 *
 * @retval -EINVAL  zero size, addr + size past 2^64, outside the heap
 * @retval -ENOSPC  some byte of the range is allocated or reserved
 * @retval -ENOMEM  memory for the heap's arrays or tree could not be
 *                  allocated (heap unchanged)
 *
 * Complexity: O(log n), as gpuva_heap_alloc_fixed().
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_heap_reserve(struct gpuva_heap *heap, uint64_t addr, uint64_t size);

/**
 * Undo one gpuva_heap_reserve() of exactly [addr, addr + size).
 *
 * @retval -EINVAL  no such reservation (an allocation, a hole, a different
 *                  size), or the range a VM reserved for the kernel
 *
 * Complexity: O(log n), as gpuva_heap_free().
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_heap_unreserve(struct gpuva_heap *heap, uint64_t addr, uint64_t size);

/**@}*/

/** @name Queries and iteration */
/**@{*/

/**
 * Fill @p stats. Cannot fail. O(1).
 * @since 0.1
 */
GPUVA_EXPORT void
gpuva_heap_get_stats(const struct gpuva_heap *heap,
		     struct gpuva_heap_stats *stats);

/**
 * Is [addr, addr + size) entirely free? False for size 0, overflow or any
 * byte outside the heap. Cannot fail. O(log n).
 * @since 0.1
 */
GPUVA_EXPORT bool
gpuva_heap_is_free(const struct gpuva_heap *heap, uint64_t addr,
		   uint64_t size);

/** Iteration callback; a non-zero return stops the walk and is returned. */
typedef int (*gpuva_heap_range_fn)(void *priv,
				   const struct gpuva_heap_range *range);

/**
 * Call @p fn for every hole, in address order.
 *
 * @return 0, or the first non-zero value @p fn returned
 *
 * The callback must not change the heap. Complexity: O(n).
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_heap_for_each_hole(const struct gpuva_heap *heap, gpuva_heap_range_fn fn,
			 void *priv);

/**
 * Call @p fn for every hole, allocation and reservation, in address order:
 * together they tile [start, start + range) exactly. For heap dumps.
 *
 * @return 0, or the first non-zero value @p fn returned
 *
 * The callback must not change the heap. Complexity: O(n).
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_heap_for_each_range(const struct gpuva_heap *heap,
			  gpuva_heap_range_fn fn, void *priv);

/**
 * Check every invariant: in the tree, ordered and balanced (every leaf at
 * one depth, nodes within their capacities), each node's first start its
 * parent's, the cached largest-hole values and their per-leaf counts and
 * bounds right, leaf encodings valid, the block count right; in the flat
 * mode, the holes in order and in range, the table's control bytes, tags,
 * counts and load, every record found by its lookup, room for the holes a
 * free may add; in both, holes non-empty and never adjacent, holes,
 * allocations and reservations tiling the heap, the counters right.
 *
 * @return 0, or -EINVAL with the broken rule in gpuva_heap_last_error()
 * Complexity: O(n); for tests and debugging.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_heap_check(struct gpuva_heap *heap);

/**@}*/

/** @name The VM's own heap */
/**@{*/

/**
 * The heap of @p vm, created on first use over the VM's range minus its
 * kernel-reserved range (which is reserved for good: gpuva_heap_unreserve()
 * refuses it). The VM owns it and destroys it with itself.
 *
 * Use it for what gpuva_vm_alloc_addr() does not cover (fixed addresses,
 * reservations, statistics, windows).
 *
 * @retval -ENOMEM  the heap could not be created (nothing changed)
 * @retval -EPIPE   the VM is lost (bind.h): destroy it and create a new one
 *
 * Ownership: the VM's; do not destroy it. Locking: this call, and
 * gpuva_vm_alloc_addr() and gpuva_vm_free_addr(), take the VM's lock under
 * GPUVA_VM_THREADSAFE; calls on the returned heap itself do not, so the
 * caller serialises those with them.
 * Complexity: O(1), O(log n) on first use.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_get_heap(struct gpuva_vm *vm, struct gpuva_heap **out);

/**
 * Allocate GPU addresses from the VM's heap (created on first use).
 *
 * @p align is raised to the VM's page size, and @p size must be a multiple
 * of it, so that the result is a valid gpuva_insert() range.
 *
 * @retval -EINVAL  size 0 or not a multiple of the page size, align not a
 *                  power of two, unknown flags, size above the no-span block
 * @retval -ENOSPC  no hole fits
 * @retval -ENOMEM  out of memory (nothing changed)
 * @retval -EPIPE   the VM is lost (bind.h); the heap is unchanged
 *
 * On a VM with a backend it first takes back the ranges given with
 * gpuva_bind_free_addr() whose unmap has run. The reason is left in
 * gpuva_vm_last_error(). Locking: the VM's (gpuva_vm_get_heap()).
 * Complexity: as gpuva_heap_alloc().
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_alloc_addr(struct gpuva_vm *vm, uint64_t size, uint64_t align,
		    uint32_t flags, uint64_t *addr);

/**
 * Give back addresses from gpuva_vm_alloc_addr().
 *
 * @retval -EINVAL  not a live allocation of that size (see gpuva_heap_free())
 * @retval -EPIPE   the VM is lost (bind.h); the heap is unchanged
 *
 * The reason is left in gpuva_vm_last_error(). Locking: the VM's
 * (gpuva_vm_get_heap()). Complexity: as gpuva_heap_free().
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_free_addr(struct gpuva_vm *vm, uint64_t addr, uint64_t size);

/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* GPUVA_HEAP_H */
