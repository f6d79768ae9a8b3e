/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Bind transactions: a batch of map and unmap requests, sent to the kernel
 * in one backend call, mirrored exactly, and rolled back exactly on failure.
 *
 * A VM created with a backend (struct gpuva_vm_desc::backend) is changed
 * only through transactions:
 *
 *     gpuva_bind_begin(vm, &txn);
 *     gpuva_bind_map(txn, &req);            ops generated now, as one by one
 *     gpuva_bind_unmap(txn, addr, range);
 *     gpuva_bind_commit(txn, &commit);      one backend call, then mirrored
 *
 * Requests see the earlier requests of the same transaction: the ops a
 * batch generates are exactly those the same requests generate one at a
 * time (ops.h), in the same order, and an op callback set with
 * gpuva_bind_set_op_fn() sees each as it is generated. The mirror itself
 * (what vm.h's lookups and iterators show) does not change until the
 * commit: the transaction keeps its changes aside, so that rollback is
 * exact by construction.
 *
 * On commit the backend gets the whole batch in one call: the requests,
 * the generated ops, and the batch's net effect (struct gpuva_bind_op, in
 * backend.h): the shortest list of page-range changes that takes the
 * kernel from the state before the batch to the state after it. It is
 * address-sorted and non-overlapping; ranges the batch leaves as they were
 * are dropped (a page bound and unbound in one batch costs nothing), and
 * neighbouring ranges of one BO with contiguous offsets and equal driver
 * flags are merged (also across pages between them that already hold what
 * the merged entry maps: re-sending those costs the kernel nothing, an
 * extra op would). It has at most one entry per run of pages that one
 * request covers last: at most r entries for r requests when no request
 * lies inside another, 2r - 1 in general (a map of [0, 10) and then one of
 * [4, 6) of another BO need three).
 *
 * Outcome of a commit, exactly one of:
 * - success (0): the mirror shows the batch; mappings the batch removed are
 *   given back to the VM's allocator now, and VA ranges queued with
 *   gpuva_bind_free_addr() go back to the VM's heap once the batch has run.
 * - failure (negative errno): the VM is what it was before
 *   gpuva_bind_begin(): the same mappings, vm_bo links, link order and
 *   counts, and the same gpuva_vm_get_info(), memory figure included;
 *   gpuva_vm_last_error() names what failed.
 * - partial success (negative errno, struct gpuva_commit::applied set):
 *   the backend applied the first k entries of the list it sent (requests,
 *   or net-effect entries, as panthor's synchronous bind reports) and the
 *   mirror now equals the state before the batch with exactly those
 *   applied. The kernel and the mirror agree again.
 * - VM lost (-EPIPE): the kernel poisoned the VM (msm after a failed
 *   asynchronous job, panthor's UNUSABLE state). Sticky: every later call
 *   that can fail returns -EPIPE with a reason; destroy the VM (and, for
 *   msm, reopen the device) to go on.
 *
 * Memory: everything a commit can need after the backend call (index
 * nodes, mappings) is taken before it, so rollback and the commit itself
 * cannot fail. An allocation failure before the backend call is -ENOMEM
 * and changes nothing. A request that fails (-EINVAL, -ENOMEM) changes
 * nothing either, and the transaction stays usable.
 *
 * Locking: one transaction per VM at a time. Under GPUVA_VM_THREADSAFE,
 * gpuva_bind_begin() takes the VM's lock and gpuva_bind_commit() or
 * gpuva_bind_abort() releases it, so transactions from several threads
 * queue up; without it, the caller serialises every call on the VM.
 * Lookups from another thread go through gpuva_vm_lookup() or between
 * gpuva_vm_lock() and gpuva_vm_unlock().
 */
#ifndef GPUVA_BIND_H
#define GPUVA_BIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpuva/ops.h"
#include "gpuva/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gpuva_bind;

/**
 * A mapping of a VM that has a backend: struct gpuva plus the driver-flags
 * word its backend was given. The library allocates these (in its slab, or
 * through va_alloc, which must then return memory for a whole struct
 * gpuva_bound) for every mapping of such a VM, so that the net effect of a
 * later batch can tell a remap with new driver flags from an unchanged one.
 */
struct gpuva_bound {
	struct gpuva va;		/**< the mapping */
	uint32_t driver_flags;		/**< as in the request that made it */
	uint32_t priv;			/**< private to the bind layer */
};

/** The driver flags of a mapping of a VM with a backend. */
static inline uint32_t
gpuva_driver_flags(const struct gpuva *va)
{
	return gpuva_container_of(va, const struct gpuva_bound, va)->driver_flags;
}

/**
 * A sync point: a syncobj (a kernel DRM syncobj handle, or one of the sim
 * backend's fake timelines) and a timeline point, 0 for a binary syncobj.
 */
struct gpuva_sync {
	uint32_t handle;	/**< syncobj handle */
	uint32_t pad;		/**< must be 0 */
	uint64_t point;		/**< timeline point; 0: binary syncobj */
};

/** Commit flags. Unknown bits: -EINVAL. */
enum gpuva_commit_flags {
	GPUVA_COMMIT_NO_FLAGS	= 0,
	/**
	 * return once the batch is queued; it runs when its waits are
	 * signalled, and signals its signal points when it has run. Without
	 * it the commit returns when the batch has run (waits honoured first,
	 * signals after). A kernel backend, like every DRM syncobj wait,
	 * refuses a wait point nothing has been submitted for yet (-EINVAL,
	 * the reason names the point): submit the work that signals it
	 * first. The sim backend queues behind any point.
	 */
	GPUVA_COMMIT_ASYNC	= 1u << 0,
	/** wait for the sync_file in fence_fd_in as well (msm) */
	GPUVA_COMMIT_FENCE_FD_IN = 1u << 1,
	/** return a sync_file for the batch in fence_fd_out (msm) */
	GPUVA_COMMIT_FENCE_FD_OUT = 1u << 2,
};

/** What the backend applied of a failed batch (struct gpuva_commit). */
enum gpuva_bind_unit {
	GPUVA_BIND_NOTHING = 0,	/**< nothing: the VM is as before begin */
	GPUVA_BIND_REQUESTS,	/**< the first @c applied requests */
	/**
	 * the first @c applied net-effect entries, and the first
	 * @c applied_bytes bytes of the next one
	 */
	GPUVA_BIND_NET,
};

/**
 * How to commit, and what came of it. Zero-initialise: a synchronous
 * commit with no sync points. Backends that cannot do something asked here
 * refuse the commit with -EOPNOTSUPP and a reason (nothing changed).
 */
struct gpuva_commit {
	uint32_t flags;			/**< enum gpuva_commit_flags */
	uint32_t wait_count;		/**< entries in @c waits */
	const struct gpuva_sync *waits;	/**< run after these are signalled */
	uint32_t signal_count;		/**< entries in @c signals */
	const struct gpuva_sync *signals; /**< signalled once the batch ran */
	int fence_fd_in;		/**< with GPUVA_COMMIT_FENCE_FD_IN */
	/** out: with GPUVA_COMMIT_FENCE_FD_OUT, a sync_file the caller owns */
	int fence_fd_out;
	/** out: after a failed commit, what the mirror kept */
	uint32_t applied_unit;		/**< enum gpuva_bind_unit */
	size_t applied;			/**< out: entries kept */
	uint64_t applied_bytes;		/**< out: GPUVA_BIND_NET only */
	/** out: net-effect entries the backend was given */
	size_t net_count;
};

/**
 * Called with every op a transaction's request generates, before the
 * transaction applies it (so @p op->unmap.va is still the mapping being
 * removed). @p op is valid during the call only. Must not call into the VM.
 */
typedef void (*gpuva_bind_op_fn)(void *priv, const struct gpuva_op *op);

/**
 * Start a transaction on a VM that has a backend.
 *
 * @retval -EINVAL  the VM has no backend
 * @retval -EBUSY   a transaction is already open on the VM (from this
 *                  thread, under GPUVA_VM_THREADSAFE; else from anyone)
 * @retval -EPIPE   the VM is lost
 * @retval -ENOMEM  out of memory (nothing changed)
 *
 * Ownership: the transaction is the library's; it ends with
 * gpuva_bind_commit() or gpuva_bind_abort(), which free it.
 * Locking: under GPUVA_VM_THREADSAFE, takes the VM's lock until the
 * transaction ends (another thread's gpuva_bind_begin() waits).
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_bind_begin(struct gpuva_vm *vm, struct gpuva_bind **out);

/**
 * Hand every op the transaction generates from now on to @p fn (NULL:
 * stop). Cannot fail.
 * @since 0.1
 */
GPUVA_EXPORT void
gpuva_bind_set_op_fn(struct gpuva_bind *txn, gpuva_bind_op_fn fn, void *priv);

/**
 * Add a map request: [addr, addr + range) to @p req->bo at @p req->offset,
 * or a NULL mapping (reads as zero on every backend) when @p req->bo is
 * NULL. @p req->driver_flags goes to the backend untouched (msm DUMP,
 * panthor READONLY/NOEXEC/UNCACHED, nouveau's PTE kind) and is kept with
 * the mapping (gpuva_driver_flags()).
 *
 * @retval -EINVAL  what gpuva_vm_sm_map() rejects, or what the backend
 *                  refuses before any ioctl (its rules; reason says which)
 * @retval -ENOMEM  out of memory
 * @retval -EPIPE   the VM is lost
 * On any error the request is not part of the transaction and nothing
 * changed; the transaction stays usable.
 * Complexity: O(log n + k), k = mappings the request cuts.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_bind_map(struct gpuva_bind *txn, const struct gpuva_map_req *req);

/**
 * Add an unmap request of [addr, addr + range). Unmapping a hole is fine.
 * Errors and complexity as gpuva_bind_map().
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_bind_unmap(struct gpuva_bind *txn, uint64_t addr, uint64_t range);

/**
 * Give [addr, addr + size), an allocation of the VM's heap
 * (gpuva_vm_alloc_addr()), back to the heap once this transaction's batch
 * has run: the range cannot be handed out again while the kernel may still
 * map it. Dropped if the transaction fails or is aborted.
 *
 * @retval -EINVAL  not an allocation of the VM's heap (nothing changed)
 * @retval -ENOMEM  out of memory (nothing changed)
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_bind_free_addr(struct gpuva_bind *txn, uint64_t addr, uint64_t size);

/**
 * Commit: one backend call carrying the whole batch, then the mirror.
 *
 * @param txn     the transaction; ended and freed, whatever the result
 * @param commit  flags and sync points, and what came of a failure; NULL
 *                for a synchronous commit without sync points
 * @return 0, or a negative errno (see the file comment for what the VM
 *         then holds: nothing, a partial batch, or lost)
 * @retval -EINVAL      bad commit arguments (nothing changed)
 * @retval -EOPNOTSUPP  the backend cannot do what @p commit asks
 * @retval -ENOMEM      out of memory before the backend call (nothing
 *                      changed)
 * @retval -EPIPE       the VM is (now) lost
 * @retval other        the backend's (the kernel's) errno
 *
 * Locking: releases the VM's lock taken by gpuva_bind_begin().
 * Complexity: O(r log n) for r requests, plus the backend's work.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_bind_commit(struct gpuva_bind *txn, struct gpuva_commit *commit);

/**
 * End a transaction without committing: nothing reaches the backend and
 * the VM is as before gpuva_bind_begin(). Accepts NULL. Cannot fail.
 * Locking: releases the VM's lock taken by gpuva_bind_begin().
 * @since 0.1
 */
GPUVA_EXPORT void
gpuva_bind_abort(struct gpuva_bind *txn);

/** Number of requests added so far. @since 0.1 */
GPUVA_EXPORT size_t
gpuva_bind_count(const struct gpuva_bind *txn);

/**
 * Wait until every batch committed on the VM has run, or @p timeout_ns
 * (relative, nanoseconds; 0: just poll) has passed, then give back the VA
 * ranges that were waiting for them (gpuva_bind_free_addr()).
 *
 * @retval -ETIME   not all have run yet
 * @retval -EPIPE   the VM is lost
 * Locking: takes the VM's lock under GPUVA_VM_THREADSAFE, also while it
 * waits (a backend's calls on one VM never overlap): other threads' binds
 * on the VM wait meanwhile.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_wait_idle(struct gpuva_vm *vm, int64_t timeout_ns);

/** Has the VM been lost (see the file comment)? Cannot fail. @since 0.1 */
GPUVA_EXPORT bool
gpuva_vm_is_lost(const struct gpuva_vm *vm);

/** What a lookup copies out of a mapping (gpuva_vm_lookup()). */
struct gpuva_va_info {
	uint64_t addr;			/**< the mapping's first byte */
	uint64_t range;			/**< its size */
	uint64_t offset;		/**< BO offset of addr */
	struct gpuva_bo *bo;		/**< NULL for a NULL mapping */
	uint32_t flags;			/**< enum gpuva_flags */
	uint32_t driver_flags;		/**< 0 on a VM without a backend */
};

/**
 * Copy out the mapping containing @p addr: the thread-safe lookup.
 * @return true and @p out filled, or false when nothing is mapped there.
 * Locking: takes the VM's lock under GPUVA_VM_THREADSAFE.
 * Complexity: O(log n).
 * @since 0.1
 */
GPUVA_EXPORT bool
gpuva_vm_lookup(struct gpuva_vm *vm, uint64_t addr, struct gpuva_va_info *out);

/**
 * Hold the VM's lock (GPUVA_VM_THREADSAFE; a no-op without it) around
 * lookups and iteration (vm.h) from threads that also bind. Recursive:
 * the holder may begin and commit transactions. Cannot fail.
 * @since 0.1
 */
GPUVA_EXPORT void
gpuva_vm_lock(struct gpuva_vm *vm);

/** Release gpuva_vm_lock(). @since 0.1 */
GPUVA_EXPORT void
gpuva_vm_unlock(struct gpuva_vm *vm);

#ifdef __cplusplus
}
#endif

#endif /* GPUVA_BIND_H */
