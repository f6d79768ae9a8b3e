/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Split/merge op generation: what a map or unmap request does to a VM.
 *
 * A request is turned into a sequence of ops, exactly as the kernel's
 * drm_gpuvm generates them (so a driver's mirror and the kernel's tree
 * agree, and kernel driver code ports over):
 *
 * - GPUVA_OP_UNMAP: a whole existing mapping goes away.
 * - GPUVA_OP_REMAP: an existing mapping is cut by the request; the parts
 *   outside it stay as "prev" (the head) and/or "next" (the tail). A REMAP
 *   exists, rather than UNMAP + MAP, so a page-table backend can leave the
 *   kept parts alone and only touch the hole.
 * - GPUVA_OP_MAP: the new mapping; always exactly one, always last, for a
 *   map request (even an identical re-map: it is never a no-op).
 * - GPUVA_OP_PREFETCH: from gpuva_vm_prefetch_ops() only.
 *
 * Ops come in address order. Mappings that only touch the request are never
 * visited, and adjacent mappings are never merged. "keep" on an unmap says
 * the part of the old mapping inside the request maps the same BO at the
 * same offset as the request will: the driver may keep those PTEs. It is
 * always false for NULL mappings and for unmap requests, and compares only
 * the BO and offset (not flags).
 *
 * Two ways to consume ops:
 *
 * - Step callbacks (gpuva_vm_sm_map(), gpuva_vm_sm_unmap()): each op is
 *   handed to a callback while the walk runs; the callback usually applies
 *   it at once (gpuva_map(), gpuva_remap(), gpuva_unmap()). Nothing is
 *   allocated per op: before the first step the walk makes sure the VM's
 *   index holds the spare nodes applying the request's ops may take (a
 *   compare, once the VM has them), so applying cannot fail. A non-zero
 *   callback result stops the walk and is returned; ops already delivered
 *   stay applied (the bind layer owns rollback).
 * - Op lists (gpuva_vm_sm_map_ops() ...): the ops are computed against the
 *   current tree into a caller-owned struct gpuva_ops, which does not change
 *   the tree. Apply (or drop) the list before planning again on that VM.
 *   A list reuses its storage: no allocation per op, none at all once it
 *   has grown to its working size, and freeing it is one free(). Planning
 *   reserves the index nodes applying the list may take, as a walk does.
 *
 * Validation happens before anything is generated. A rejected request
 * returns -EINVAL, calls nothing, changes nothing, and leaves a reason in
 * gpuva_vm_last_error(): zero range, addr + range overflowing, outside the
 * VM, touching the reserved range, misaligned for the VM's page size,
 * offset + range beyond the BO's size, unknown flags.
 *
 * Locking: as for the VM (vm.h): the caller serialises.
 */
#ifndef GPUVA_OPS_H
#define GPUVA_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "gpuva/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Op types. */
enum gpuva_op_type {
	GPUVA_OP_MAP = 0,	/**< insert a new mapping */
	GPUVA_OP_REMAP,		/**< cut an existing mapping, keep prev/next */
	GPUVA_OP_UNMAP,		/**< remove an existing mapping */
	GPUVA_OP_PREFETCH,	/**< touch an existing mapping */
};

/** A mapping to create: the MAP op, and the prev/next pieces of a REMAP. */
struct gpuva_op_map {
	uint64_t addr;		/**< first byte */
	uint64_t range;		/**< bytes; 0 in a REMAP means "no such piece" */
	uint64_t offset;	/**< BO offset of addr */
	struct gpuva_bo *bo;	/**< BO, or NULL for a NULL mapping */
	/** the vm_bo the new mapping will link to (NULL with bo NULL) */
	struct gpuva_vm_bo *vm_bo;
	uint32_t flags;		/**< flags of the new mapping (enum gpuva_flags) */
};

/** An existing mapping to remove. */
struct gpuva_op_unmap {
	struct gpuva *va;	/**< the mapping, still in the tree */
	bool keep;		/**< its part inside the request is unchanged */
};

/** An existing mapping to cut. prev/next carry the old mapping's flags. */
struct gpuva_op_remap {
	struct gpuva_op_unmap unmap;	/**< the whole old mapping */
	struct gpuva_op_map prev;	/**< head that stays, if prev.range */
	struct gpuva_op_map next;	/**< tail that stays, if next.range */
};

/** An existing mapping to prefetch. */
struct gpuva_op_prefetch {
	struct gpuva *va;	/**< the mapping */
};

/** One op. */
struct gpuva_op {
	enum gpuva_op_type type;	/**< which member is valid */
	union {
		struct gpuva_op_map map;		/**< GPUVA_OP_MAP */
		struct gpuva_op_remap remap;		/**< GPUVA_OP_REMAP */
		struct gpuva_op_unmap unmap;		/**< GPUVA_OP_UNMAP */
		struct gpuva_op_prefetch prefetch;	/**< GPUVA_OP_PREFETCH */
	};
};

/** A map request. */
struct gpuva_map_req {
	uint64_t addr;		/**< first byte */
	uint64_t range;		/**< bytes, > 0 */
	struct gpuva_bo *bo;	/**< BO, or NULL for a NULL (sparse) mapping */
	uint64_t offset;	/**< BO offset of addr */
	uint32_t flags;		/**< flags of the new mapping (enum gpuva_flags) */
	/**
	 * for a VM with a backend (bind.h): handed to the backend untouched
	 * and kept with the mapping; ignored by this header's functions
	 */
	uint32_t driver_flags;
};

/**
 * Step callbacks; all three must be set (gpuva_vm_sm_unmap() calls only
 * remap and unmap). @p op is valid only during the call. Return 0 to go on,
 * anything else to stop the walk with that value.
 */
struct gpuva_sm_steps {
	/** a GPUVA_OP_MAP: commit it with gpuva_map() on a new mapping */
	int (*map)(void *priv, const struct gpuva_op *op);
	/** a GPUVA_OP_REMAP: commit it with gpuva_remap() */
	int (*remap)(void *priv, const struct gpuva_op *op);
	/** a GPUVA_OP_UNMAP: commit it with gpuva_unmap() */
	int (*unmap)(void *priv, const struct gpuva_op *op);
};

/**
 * A list of ops, caller-owned. Zero-initialise (or gpuva_ops_init()), fill
 * with a gpuva_vm_*_ops() call, read ops[0..count), free with
 * gpuva_ops_fini(). Filling again reuses the storage.
 *
 * Lifetime: a list planned on a VM holds a reference on the map's vm_bo
 * until it is reset, refilled or finished; do that before
 * gpuva_vm_destroy() of that VM (which frees every vm_bo), or the reset
 * touches freed memory.
 */
struct gpuva_ops {
	struct gpuva_op *ops;		/**< the ops, in emission order */
	size_t count;			/**< valid ops */
	size_t cap;			/**< private: allocated ops */
	/** private: reference held on the map op's vm_bo */
	struct gpuva_vm_bo *hold;
};

/** @name Step callbacks */
/**@{*/

/**
 * Generate the ops of a map request and hand each to @p steps.
 *
 * Callbacks may change the tree as they go (remove the old mapping, insert
 * prev/next) but must not insert the new mapping before the map step.
 * The map op's vm_bo is held by the walk until it returns, so linking the
 * new mapping in the map step cannot fail.
 *
 * @retval 0        every op delivered
 * @retval -EINVAL  invalid request (nothing called, nothing changed) or a
 *                  missing callback
 * @retval -ENOMEM  the vm_bo of a new (VM, BO) pair, or the index nodes
 *                  that applying the ops may need, could not be allocated
 *                  (nothing called, nothing changed)
 * @retval other    the first non-zero callback result (ops before it stay)
 * Complexity: O(log n + k), k = mappings overlapping the request.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_sm_map(struct gpuva_vm *vm, const struct gpuva_map_req *req,
		const struct gpuva_sm_steps *steps, void *priv);

/**
 * Generate the ops of an unmap of [addr, addr + range) (REMAP and UNMAP
 * only, keep always false) and hand each to @p steps. Unmapping a hole is a
 * success with no ops. Errors and complexity as gpuva_vm_sm_map().
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_sm_unmap(struct gpuva_vm *vm, uint64_t addr, uint64_t range,
		  const struct gpuva_sm_steps *steps, void *priv);

/**@}*/

/** @name Op lists */
/**@{*/

/** Prepare an empty list. Cannot fail. */
GPUVA_EXPORT void
gpuva_ops_init(struct gpuva_ops *ops);

/** Drop the ops (and the vm_bo reference), keep the storage. Cannot fail. */
GPUVA_EXPORT void
gpuva_ops_reset(struct gpuva_ops *ops);

/** Drop the ops and free the storage; accepts a zeroed list. */
GPUVA_EXPORT void
gpuva_ops_fini(struct gpuva_ops *ops);

/**
 * Plan a map request into @p ops (replacing what it held). The tree is not
 * changed. Errors as gpuva_vm_sm_map(), plus -ENOMEM when the list cannot
 * grow; on any error @p ops is left empty and nothing else changed.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_sm_map_ops(struct gpuva_vm *vm, const struct gpuva_map_req *req,
		    struct gpuva_ops *ops);

/** Plan an unmap request into @p ops; as gpuva_vm_sm_map_ops(). */
GPUVA_EXPORT int
gpuva_vm_sm_unmap_ops(struct gpuva_vm *vm, uint64_t addr, uint64_t range,
		      struct gpuva_ops *ops);

/**
 * One PREFETCH op per mapping overlapping [addr, addr + range), whole
 * mappings, address order. Unlike maps, the range need not lie inside the
 * VM (as in drm_gpuvm); zero range or overflow is -EINVAL.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_prefetch_ops(struct gpuva_vm *vm, uint64_t addr, uint64_t range,
		      struct gpuva_ops *ops);

/**
 * One UNMAP op (keep false) per mapping of @p vm_bo, in link order: what
 * evicting or destroying a BO has to undo in one VM.
 * @retval -ENOMEM the list cannot grow
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_bo_unmap_ops(struct gpuva_vm_bo *vm_bo, struct gpuva_ops *ops);

/**@}*/

/** @name Applying ops to the tree */
/**@{*/

/**
 * Apply a MAP op: fill @p va from it (addr, range, offset, flags), insert it
 * and link it to the op's vm_bo.
 *
 * With a plan made against the current tree this cannot fail: planning (a
 * step walk, or filling an op list) reserved the index nodes it needs.
 * @retval -EEXIST  under GPUVA_VM_CHECK, a stale plan (nothing changed)
 * @retval -ENOMEM  only for an op that no planning call produced, when the
 *                  index nodes could not be allocated (nothing changed)
 * Complexity: O(log n).
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_map(struct gpuva_vm *vm, struct gpuva *va, const struct gpuva_op_map *op);

/**
 * Apply a REMAP op: the old mapping leaves the tree and its vm_bo; @p prev
 * and @p next (each needed only if the op has that piece; else may be NULL)
 * are filled from the op's pieces (with the flags they carry: the old
 * mapping's flags when the op was generated), inserted and linked to the
 * old mapping's vm_bo. The old mapping's memory stays the caller's.
 *
 * With a plan made against the current tree this cannot fail (0).
 * @retval -ENOMEM  only for an op that no planning call produced, keeping
 *                  both pieces, when the index node for the second could not
 *                  be allocated (nothing changed)
 * Complexity: O(log n), O(1) for a piece near the VM's cursor.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_remap(struct gpuva_vm *vm, struct gpuva *prev, struct gpuva *next,
	    const struct gpuva_op_remap *op);

/**
 * Apply an UNMAP op: the mapping leaves the tree and its vm_bo; its memory
 * stays the caller's. Cannot fail, never allocates. Complexity: O(log n).
 * @since 0.1
 */
GPUVA_EXPORT void
gpuva_unmap(struct gpuva_vm *vm, const struct gpuva_op_unmap *op);

/**
 * Apply a whole list in order, taking new mappings from the VM's allocator
 * and freeing removed ones to it. All mappings needed are allocated first,
 * so on -ENOMEM nothing was changed. Only for lists of MAP/REMAP/UNMAP.
 *
 * @retval -ENOMEM  the allocator failed, for mappings or index nodes
 *                  (nothing changed)
 * @retval -EINVAL  a PREFETCH op in the list (nothing changed)
 * @retval -EEXIST  under GPUVA_VM_CHECK: the plan is stale, i.e. a mapping
 *                  it removes is gone or a new one would overlap a mapping
 *                  it does not remove (nothing changed)
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_apply_ops(struct gpuva_vm *vm, const struct gpuva_ops *ops);

/** Does a REMAP keep a head piece? */
static inline bool
gpuva_op_remap_has_prev(const struct gpuva_op_remap *r)
{
	return r->prev.range != 0;
}

/** Does a REMAP keep a tail piece? */
static inline bool
gpuva_op_remap_has_next(const struct gpuva_op_remap *r)
{
	return r->next.range != 0;
}

/**
 * The hole a REMAP leaves: [*addr, *addr + *range) is what has to be
 * unmapped in the page tables. Cannot fail.
 */
static inline void
gpuva_op_remap_hole(const struct gpuva_op_remap *r, uint64_t *addr,
		    uint64_t *range)
{
	uint64_t s = r->prev.range ? r->prev.addr + r->prev.range
				   : r->unmap.va->addr;
	uint64_t e = r->next.range ? r->next.addr : gpuva_end(r->unmap.va);

	*addr = s;
	*range = e - s;
}

/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* GPUVA_OPS_H */
