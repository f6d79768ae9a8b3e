/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The VM: a mirror of one GPU virtual address space, and the mappings in it.
 *
 * A struct gpuva_vm manages [start, start + range), optionally minus a
 * kernel-reserved range that no request may touch. It holds struct gpuva
 * mappings in address order; mappings never overlap and are never merged.
 * Each mapping is backed by a BO (struct gpuva_bo, at a byte offset) or by
 * nothing (a NULL/sparse mapping).
 *
 * Intrusive, like the kernel's drm_gpuvm: the driver embeds struct gpuva in
 * its own mapping struct and struct gpuva_bo in its own BO struct, and gets
 * back with gpuva_container_of(). The library allocates only the VM itself
 * and one small struct gpuva_vm_bo per (VM, BO) pair that has mappings.
 *
 * Memory: a struct gpuva is 48 bytes (BO links and flags included), and
 * the VM's index of mappings, a B+tree whose leaves point at them, adds
 * about 15 a mapping; bench.md puts drm_gpuvm at about 128.
 *
 * Errors: negative errno (see common.h); a rejected call changes nothing and
 * leaves a reason for gpuva_vm_last_error().
 *
 * Locking: none inside. Every call on a VM, and on the mappings and vm_bos
 * of that VM, must be serialised by the caller (one lock per VM, as drivers
 * already hold around VM_BIND), lookups included: a lookup moves the VM's
 * cursor (the place the next lookup starts from), so two lookups on one VM
 * at once race even though they take a const VM. A BO mapped in several
 * VMs is touched by calls on each of them: serialise those too, or keep a
 * BO to one VM.
 */
#ifndef GPUVA_VM_H
#define GPUVA_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "gpuva/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gpuva_vm;
struct gpuva_vm_bo;
struct gpuva_backend;

/** Mapping flags (struct gpuva, struct gpuva_map_req). Unknown bits: -EINVAL. */
enum gpuva_flags {
	GPUVA_NO_FLAGS		= 0,
	GPUVA_SPARSE		= 1u << 0, /**< driver marks a sparse mapping */
	GPUVA_INVALIDATED	= 1u << 1, /**< backing moved; needs a rebind */
	GPUVA_USER0		= 1u << 2, /**< first of four driver-defined bits */
	GPUVA_USER1		= 1u << 3,
	GPUVA_USER2		= 1u << 4,
	GPUVA_USER3		= 1u << 5,
	GPUVA_FLAGS_MASK	= 0x3f,	   /**< every valid bit */
};

/**
 * A buffer object as the VM sees it; embed it in the driver's BO.
 *
 * Lifetime: gpuva_bo_init() before first use; gpuva_bo_fini() once no VM
 * maps it any more. The library never frees it.
 */
struct gpuva_bo {
	/** bytes; a map with offset + range > size is -EINVAL. 0: unchecked */
	uint64_t size;
	/**
	 * the GEM handle a kernel backend puts in its MAP ops (the driver's,
	 * or gpuva_backend_bo_create()'s); not used without a backend
	 */
	uint32_t handle;
	uint32_t pad;			/**< private */
	struct gpuva_vm_bo *vm_bos;	/**< private: per-VM links */
};

/**
 * One mapping: [addr, addr + range) -> BO at offset, or a NULL mapping.
 *
 * Embed it in the driver's mapping struct. addr, range, offset and vm_bo are
 * read-only to the driver while the mapping is in a VM; use gpuva_bo_of()
 * and gpuva_flags() for the rest. It carries no tree links: the VM's index
 * points at it (so a mapping in a VM must not move in memory), and
 * neighbours are found through the VM (gpuva_vm_next()).
 */
struct gpuva {
	/** first byte; the index's key, so it stays the first member */
	GPUVA_ALIGN8 uint64_t addr;
	uint64_t range;			/**< bytes, > 0 */
	uint64_t offset;		/**< BO offset of addr (carried for NULL too) */
	/** the (VM, BO) link this mapping hangs on; NULL for a NULL mapping */
	struct gpuva_vm_bo *vm_bo;
	/**
	 * private: next/prev mapping of the same vm_bo, in link order. The low
	 * three bits of each hold the flags (gpuva_flags()), which is how a
	 * mapping stays at 64 bytes.
	 */
	uintptr_t bo_link[2];
};

/**
 * The link between one VM and one BO mapped in it (drm_gpuvm's vm_bo).
 *
 * Created by the library on the first mapping of a BO in a VM, freed when
 * its last mapping goes and nobody holds it (gpuva_vm_bo_obtain()/_put()).
 * Fields are read-only to the driver.
 */
struct gpuva_vm_bo {
	struct gpuva_vm *vm;		/**< the VM */
	struct gpuva_bo *bo;		/**< the BO */
	struct gpuva *first;		/**< first mapping in link order */
	struct gpuva *last;		/**< last mapping in link order */
	size_t va_count;		/**< mappings linked here */
	unsigned refs;			/**< private: holders besides mappings */
	bool evicted;			/**< free for the driver: BO needs rebinding */
	struct gpuva_vm_bo *bo_next;	/**< private: next vm_bo of the same BO */
	struct gpuva_vm_bo *vm_next;	/**< private: next vm_bo of the same VM */
	struct gpuva_vm_bo *vm_prev;	/**< private: previous one */
};

/** VM creation flags. Unknown bits: -EINVAL. */
enum gpuva_vm_flags {
	GPUVA_VM_NO_FLAGS	= 0,
	/** check every invariant after each change (O(n): tests, debugging) */
	GPUVA_VM_CHECK		= 1u << 0,
	/**
	 * an internal (recursive) mutex: transactions, gpuva_vm_lookup(),
	 * the VM's heap and gpuva_vm_wait_idle() take it, so that several
	 * threads (a driver's sparse queue and its device thread) can bind
	 * into one VM (bind.h says what it covers). Costs nothing without it.
	 */
	GPUVA_VM_THREADSAFE	= 1u << 1,
};

/**
 * Allocation callbacks. Any may be NULL for the default: mappings come from
 * a per-VM slab (48 bytes each, no per-mapping malloc header), vm_bos from
 * malloc. A driver that embeds struct gpuva in a bigger struct sets va_alloc
 * and va_free to hand out its own objects. The index's own nodes always
 * come from the library (aligned_alloc, in chunks of up to 64 KiB).
 */
struct gpuva_vm_alloc {
	/**
	 * return a mapping to fill, or NULL (-ENOMEM). It need not be
	 * zeroed: gpuva_map() and gpuva_remap() fill every field; for
	 * gpuva_insert() the caller fills addr, range, offset and the flags
	 */
	struct gpuva *(*va_alloc)(void *priv);
	/** give back a mapping that is in no tree and no vm_bo */
	void (*va_free)(void *priv, struct gpuva *va);
	/** return zeroed memory for a vm_bo, or NULL (-ENOMEM) */
	struct gpuva_vm_bo *(*vm_bo_alloc)(void *priv);
	/** free a vm_bo */
	void (*vm_bo_free)(void *priv, struct gpuva_vm_bo *vm_bo);
	void *priv;	/**< handed to each callback */
};

/** What gpuva_vm_create() needs. Zero-initialise, then fill. */
struct gpuva_vm_desc {
	uint64_t start;			/**< first managed byte */
	uint64_t range;			/**< bytes managed, > 0, start + range <= 2^64 */
	uint64_t reserved_start;	/**< kernel-reserved range, if reserved_range */
	uint64_t reserved_range;	/**< 0: none */
	/**
	 * 0, or a power of two: a request's addr and range, and a BO-backed
	 * map's offset, must be multiples (a NULL map's offset is not used)
	 */
	uint64_t page_size;
	uint32_t flags;			/**< enum gpuva_vm_flags */
	struct gpuva_vm_alloc alloc;	/**< allocation callbacks, may be zero */
	/**
	 * NULL: the VM is a mirror only, changed through ops.h. Else the
	 * backend (backend.h) the VM is created on: its vm_init() sets up the
	 * kernel VM and may fill in range (0: the kernel's whole window) and
	 * page_size (0: the kernel's); the VM is then changed through
	 * transactions only (bind.h), and its mappings are struct
	 * gpuva_bound (va_alloc must return that much). The backend must
	 * outlive the VM.
	 */
	struct gpuva_backend *backend;
};


/**
 * Create a VM.
 *
 * @param desc  what to manage; copied
 * @param out   receives the VM
 * @return 0, or a negative errno; *out is untouched on error
 * @retval -EINVAL  zero range, start + range past 2^64, reserved range
 *                  overflowing, page_size not a power of
 *                  two or start/range/reserved range not multiples of it,
 *                  unknown flags, only one of va_alloc/va_free or of
 *                  vm_bo_alloc/vm_bo_free set
 * @retval -ENOMEM  out of memory
 * @retval other    with a backend: what its vm_init() returned (the
 *                  kernel's errno, -EBUSY when the device holds no more
 *                  VMs); the reason is in gpuva_backend_last_error()
 *
 * Ownership: the caller owns the VM; free it with gpuva_vm_destroy().
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_create(const struct gpuva_vm_desc *desc, struct gpuva_vm **out);

/**
 * Destroy a VM and everything still mapped in it.
 *
 * Remaining mappings are unlinked, removed and given to va_free (or the
 * slab); remaining vm_bos are freed even if obtained and not yet put, so
 * reset or finish every op list planned on this VM first (struct
 * gpuva_ops). With a backend, the kernel VM goes too (everything in it is
 * unmapped). An open transaction must be ended first. Accepts NULL.
 * Cannot fail.
 * @since 0.1
 */
GPUVA_EXPORT void
gpuva_vm_destroy(struct gpuva_vm *vm);

/**
 * The reason for the last rejected call on this VM: the request (its verb,
 * address and range, as in a trace), a colon, the broken rule with its
 * numbers. "" if none yet.
 * Valid until the next call on the VM. Under GPUVA_VM_THREADSAFE, when
 * the calling thread's last rejected call (on any VM) was on this one, its
 * own reason, which other threads cannot overwrite, valid until that
 * thread's next rejected call; otherwise the VM's latest. Cannot fail.
 * @since 0.1
 */
GPUVA_EXPORT const char *
gpuva_vm_last_error(const struct gpuva_vm *vm);

/**
 * Send every rejection reason to @p fn as well (NULL: stop). Nothing is
 * printed by default: the driver owns its output. Cannot fail.
 * @since 0.1
 */
GPUVA_EXPORT void
gpuva_vm_set_log_fn(struct gpuva_vm *vm, gpuva_log_fn fn, void *priv);

/** VM geometry and counters, as returned by gpuva_vm_get_info(). */
struct gpuva_vm_info {
	uint64_t start, range;			/**< managed space */
	uint64_t reserved_start, reserved_range; /**< 0 range: none */
	uint64_t page_size;			/**< 0: no alignment rule */
	uint32_t flags;				/**< creation flags */
	size_t va_count;			/**< mappings in the VM */
	size_t vm_bo_count;			/**< live vm_bos */
	bool lost;				/**< see gpuva_vm_is_lost() */
	/**
	 * library memory: VM, slab pages, index nodes (spare ones too),
	 * vm_bos; not driver-allocated VAs
	 */
	size_t bytes;
};

/** Fill @p info. Cannot fail. O(1). @since 0.1 */
GPUVA_EXPORT void
gpuva_vm_get_info(const struct gpuva_vm *vm, struct gpuva_vm_info *info);

/**
 * Check every invariant: index order, separators and node fill, no overlap,
 * everything inside the VM and off the reserved range, non-zero ranges, BO
 * links and counts consistent.
 *
 * @return 0, or -EINVAL with the broken rule in gpuva_vm_last_error()
 * Complexity: O(n). Runs after every change under GPUVA_VM_CHECK.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_check(struct gpuva_vm *vm);

/**
 * Is [addr, addr + range) a valid request range for this VM?
 *
 * True when range > 0, addr + range does not overflow, it lies inside the
 * VM, does not overlap the reserved range (touching is fine) and, with a
 * page size, addr and range are multiples of it. Cannot fail. O(1).
 * @since 0.1
 */
GPUVA_EXPORT bool
gpuva_vm_range_valid(const struct gpuva_vm *vm, uint64_t addr, uint64_t range);

/** @name Mappings: allocation, flags, BO */
/**@{*/

/**
 * Get a mapping from the VM's allocator (va_alloc or the slab).
 * @return a mapping, or NULL when out of memory. O(1) amortised.
 * @since 0.1
 */
GPUVA_EXPORT struct gpuva *
gpuva_vm_va_alloc(struct gpuva_vm *vm);

/**
 * Give back a mapping that is in no tree and linked to no vm_bo (removed,
 * or never inserted; accepts NULL), to va_free or the slab. @since 0.1
 */
GPUVA_EXPORT void
gpuva_vm_va_free(struct gpuva_vm *vm, struct gpuva *va);

/** The mapping's flags (enum gpuva_flags). Cannot fail. */
static inline uint32_t
gpuva_flags(const struct gpuva *va)
{
	return (uint32_t)((va->bo_link[0] & 7) | ((va->bo_link[1] & 7) << 3));
}

/**
 * Set the mapping's flags; bits outside GPUVA_FLAGS_MASK are ignored. Safe
 * on a mapping in a VM: the flags live in the low bits of the BO links and
 * only those bits change. Serialise it like any call on that VM.
 */
static inline void
gpuva_set_flags(struct gpuva *va, uint32_t flags)
{
	va->bo_link[0] = (va->bo_link[0] & ~(uintptr_t)7) | (flags & 7);
	va->bo_link[1] = (va->bo_link[1] & ~(uintptr_t)7) | ((flags >> 3) & 7);
}

/** The BO behind the mapping, or NULL for a NULL mapping. */
static inline struct gpuva_bo *
gpuva_bo_of(const struct gpuva *va)
{
	return va->vm_bo ? va->vm_bo->bo : (struct gpuva_bo *)0;
}

/** One past the mapping's last byte. */
static inline uint64_t
gpuva_end(const struct gpuva *va)
{
	return va->addr + va->range;
}

/**@}*/

/** @name Primitives: insert and remove one mapping */
/**@{*/

/**
 * Insert a filled-in mapping (addr, range, offset; vm_bo NULL) and link it
 * to @p bo (NULL for a NULL mapping). Flags set before are kept.
 *
 * @retval -EINVAL  invalid range (gpuva_vm_range_valid()), BO bounds, or
 *                  a BO offset not a multiple of the page size
 * @retval -EEXIST  overlaps a mapping
 * @retval -ENOMEM  the vm_bo for a new (VM, BO) pair, or index nodes, could
 *                  not be allocated
 * Complexity: O(log n).
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_insert(struct gpuva_vm *vm, struct gpuva *va, struct gpuva_bo *bo);

/**
 * Remove a mapping from its VM and unlink it from its BO. The memory stays
 * the caller's. Cannot fail. O(log n).
 * @since 0.1
 */
GPUVA_EXPORT void
gpuva_remove(struct gpuva_vm *vm, struct gpuva *va);

/**@}*/

/** @name Lookups (find* return NULL, never an error) */
/**@{*/

/** The mapping at exactly [addr, addr + range), or NULL. O(log n). */
GPUVA_EXPORT struct gpuva *
gpuva_vm_find(const struct gpuva_vm *vm, uint64_t addr, uint64_t range);

/** The lowest mapping overlapping [addr, addr + range), or NULL. O(log n). */
GPUVA_EXPORT struct gpuva *
gpuva_vm_find_first(const struct gpuva_vm *vm, uint64_t addr, uint64_t range);

/** The mapping containing @p addr, or NULL. O(log n). */
GPUVA_EXPORT struct gpuva *
gpuva_vm_find_at(const struct gpuva_vm *vm, uint64_t addr);

/** The lowest-addressed mapping, or NULL. O(log n). */
GPUVA_EXPORT struct gpuva *
gpuva_vm_first(const struct gpuva_vm *vm);

/** The highest-addressed mapping, or NULL. O(log n). */
GPUVA_EXPORT struct gpuva *
gpuva_vm_last(const struct gpuva_vm *vm);

/**
 * The next mapping in address order after @p va (which must be in @p vm),
 * or NULL. O(1) when @p va is near the VM's cursor, which the last lookup,
 * step or change left there (iterating, or walking a request's mappings,
 * always is); O(log n) otherwise.
 * @since 0.1
 */
GPUVA_EXPORT struct gpuva *
gpuva_vm_next(const struct gpuva_vm *vm, const struct gpuva *va);

/** The previous mapping in address order, or NULL; as gpuva_vm_next(). */
GPUVA_EXPORT struct gpuva *
gpuva_vm_prev(const struct gpuva_vm *vm, const struct gpuva *va);

/** Number of mappings in the VM. O(1). */
GPUVA_EXPORT size_t
gpuva_vm_count(const struct gpuva_vm *vm);

/**
 * Load into the cache what the lookups of coming requests will read.
 *
 * In a big VM much of a request's time is cache misses: the index leaf its
 * address falls in, and the mappings of that leaf. A driver that knows its
 * next requests (the ops of one VM_BIND array, a sparse bind batch) passes
 * their start addresses here before running them: the leaves of all of
 * them are found first and their lines requested together, so the misses
 * are in flight at once. How much it pays depends on the caches: on the
 * development machine (480 MiB L3, which holds every node) a 1,000,000-
 * mapping populate gains 13 to 15% and a 500,000-mapping random workload 3 to 20%
 * (README.md, Performance). On a machine whose caches hold less it may
 * pay more (the AVL tree it first served gained half there); not measured
 * with the B+tree.
 * Batches of 8 to 32 addresses; pointless for one request at a time. While
 * requests walk the VM in address order (sparse binding page by page) the
 * lookups start from the last one's leaf anyway; then this returns at once.
 *
 * A pure hint: it changes nothing (the VM's cursor included), reads nothing
 * outside the VM, cannot fail, and any address is allowed (inside the VM or
 * not). Results of later calls never depend on it. O(count log n).
 * Locking: as a lookup.
 *
 * @param vm     the VM
 * @param addrs  start addresses of the coming requests, in any order; may
 *               be NULL when @p count is 0
 * @param count  number of addresses
 * @since 0.1
 */
GPUVA_EXPORT void
gpuva_vm_warm(const struct gpuva_vm *vm, const uint64_t *addrs, size_t count);

/**@}*/

/** @name BO links */
/**@{*/

/** Prepare an embedded BO of @p size bytes (0: unchecked). Cannot fail. */
GPUVA_EXPORT void
gpuva_bo_init(struct gpuva_bo *bo, uint64_t size);

/**
 * Finish a BO. @retval -EBUSY a VM still maps it, or someone holds a vm_bo
 * of it from gpuva_vm_bo_obtain() (nothing changed).
 * Accepts NULL or a zeroed BO.
 */
GPUVA_EXPORT int
gpuva_bo_fini(struct gpuva_bo *bo);

/**
 * The vm_bo of (@p vm, @p bo), created if needed, with one reference for the
 * caller: drop it with gpuva_vm_bo_put(). Drivers obtain it before a bind so
 * that linking at commit time cannot fail.
 * @retval -ENOMEM  allocation failed (nothing changed)
 * Complexity: O(number of VMs the BO is in).
 */
GPUVA_EXPORT int
gpuva_vm_bo_obtain(struct gpuva_vm *vm, struct gpuva_bo *bo,
		   struct gpuva_vm_bo **out);

/** The vm_bo of (@p vm, @p bo) if it exists, without a reference. */
GPUVA_EXPORT struct gpuva_vm_bo *
gpuva_vm_bo_find(const struct gpuva_vm *vm, const struct gpuva_bo *bo);

/**
 * Drop a reference from gpuva_vm_bo_obtain(); frees the vm_bo once it has
 * neither references nor mappings. Accepts NULL. Each put must match one
 * obtain: an extra put is a caller bug (the count underflows). @since 0.1
 */
GPUVA_EXPORT void
gpuva_vm_bo_put(struct gpuva_vm_bo *vm_bo);

/** Next mapping of the same vm_bo in link order, or NULL. O(1). */
static inline struct gpuva *
gpuva_bo_next(const struct gpuva *va)
{
	return (struct gpuva *)(va->bo_link[0] & ~(uintptr_t)7);
}

/**@}*/

/** @name Iteration */
/**@{*/

/** Every mapping in address order. The body must not remove @p va. */
#define gpuva_vm_for_each_va(va, vm) \
	for ((va) = gpuva_vm_first(vm); (va); (va) = gpuva_vm_next((vm), (va)))

/** Same, surviving gpuva_remove() of @p va; @p tmp is a cursor. */
#define gpuva_vm_for_each_va_safe(va, tmp, vm) \
	for ((va) = gpuva_vm_first(vm), \
	     (tmp) = (va) ? gpuva_vm_next((vm), (va)) : NULL; \
	     (va); (va) = (tmp), (tmp) = (va) ? gpuva_vm_next((vm), (va)) : NULL)

/**
 * Mappings overlapping [start, end) in address order. The body must not
 * remove @p va.
 */
#define gpuva_vm_for_each_va_range(va, vm, start, end) \
	for ((va) = gpuva_vm_find_first((vm), (start), (end) - (start)); \
	     (va) && (va)->addr < (end); (va) = gpuva_vm_next((vm), (va)))

/** Same, surviving gpuva_remove() of @p va; @p tmp is a cursor. */
#define gpuva_vm_for_each_va_range_safe(va, tmp, vm, start, end) \
	for ((va) = gpuva_vm_find_first((vm), (start), (end) - (start)), \
	     (tmp) = (va) ? gpuva_vm_next((vm), (va)) : NULL; \
	     (va) && (va)->addr < (end); \
	     (va) = (tmp), (tmp) = (va) ? gpuva_vm_next((vm), (va)) : NULL)

/** Mappings of one vm_bo in link order. The body must not unlink @p va. */
#define gpuva_vm_bo_for_each_va(va, vm_bo) \
	for ((va) = (vm_bo)->first; (va); (va) = gpuva_bo_next(va))

/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* GPUVA_VM_H */
