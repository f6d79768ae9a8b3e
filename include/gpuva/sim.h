/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The sim backend: a software GPU page table, the embedded default.
 *
 * What the demo, the examples and the tests run on when there is no GPU.
 * It applies each batch's net effect to its own page table, page by page in
 * meaning (it stores runs of pages, so a 1-byte page size and terabyte
 * ranges both work), and refuses with a clear error what a page table
 * cannot do: a range not aligned to its page size, a BO range beyond the
 * BO. Reading it back (gpuva_sim_translate(), gpuva_sim_compare()) checks
 * that the library's mirror is what a kernel would hold.
 *
 * Sync objects are fake timelines: an asynchronous batch whose waits are
 * not signalled yet queues (in order, per VM) and runs when they are
 * (gpuva_backend_sync_signal()); its signal points are reached when it has
 * run. Nothing runs on its own, so a wait never blocks: it answers at once.
 *
 * Failure injection (gpuva_sim_inject()) makes the K-th bind call fail,
 * apply only some of its requests, or lose the VM, for rollback tests.
 *
 * Locking: one mutex per sim backend around all of its state; a VM's
 * calls are serialised by the VM's own rules (bind.h).
 */
#ifndef GPUVA_SIM_H
#define GPUVA_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "gpuva/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Flags of struct gpuva_backend_desc for the sim backend. */
enum gpuva_sim_flags {
	GPUVA_SIM_NO_FLAGS	= 0,
	/**
	 * bookkeeping only: no page table, binds check nothing beyond the
	 * library's own rules and cost next to nothing (benchmarks)
	 */
	GPUVA_SIM_BOOKKEEPING	= 1u << 0,
};

/**
 * Create a sim backend. @p desc may be NULL (4 KiB pages, a page table).
 * @retval -EINVAL  page_size not a power of two, unknown flags
 * @retval -ENOMEM  out of memory
 * Same as gpuva_backend_create("sim", desc, out). @since 0.1
 */
GPUVA_EXPORT int
gpuva_sim_create(const struct gpuva_backend_desc *desc,
		 struct gpuva_backend **out);

/** Is @p be a sim backend? @since 0.1 */
GPUVA_EXPORT bool
gpuva_backend_is_sim(const struct gpuva_backend *be);

/** Kinds of failure to inject. */
enum gpuva_sim_fail_kind {
	GPUVA_SIM_FAIL_NONE = 0,	/**< clear the injection */
	/** the call fails with @c err, nothing applied */
	GPUVA_SIM_FAIL_ERRNO,
	/**
	 * the call applies only its first @c applied requests and fails
	 * with @c err (what panthor's synchronous bind does); @c applied is
	 * capped at the batch's request count
	 */
	GPUVA_SIM_FAIL_PARTIAL,
	/** the call loses the VM (-EPIPE), as an msm or panthor VM is lost */
	GPUVA_SIM_FAIL_LOSE,
};

/** A failure to inject (gpuva_sim_inject()). */
struct gpuva_sim_fail {
	uint64_t call;		/**< the K-th bind call from now, 1-based */
	uint32_t kind;		/**< enum gpuva_sim_fail_kind */
	int err;		/**< negative errno (ERRNO, PARTIAL) */
	size_t applied;		/**< PARTIAL: requests applied */
};

/**
 * Arm one failure: the @c call-th bind call of this backend from now on
 * (counting every VM's calls) fails as told. Replaces an armed one.
 * @retval -EINVAL bad kind, call 0, or a non-negative err
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_sim_inject(struct gpuva_backend *be, const struct gpuva_sim_fail *fail);

/** Bind calls this backend received so far (all VMs). @since 0.1 */
GPUVA_EXPORT uint64_t
gpuva_sim_bind_calls(const struct gpuva_backend *be);

/** What one address of a VM's page table holds. */
enum gpuva_sim_page_kind {
	GPUVA_SIM_UNMAPPED = 0,	/**< a fault */
	GPUVA_SIM_BO,		/**< a BO page */
	GPUVA_SIM_NULL,		/**< reads zero, writes dropped */
};

/** A translation (gpuva_sim_translate()). */
struct gpuva_sim_page {
	uint32_t kind;		/**< enum gpuva_sim_page_kind */
	uint32_t driver_flags;	/**< the flags the page was mapped with */
	struct gpuva_bo *bo;	/**< GPUVA_SIM_BO */
	uint64_t offset;	/**< byte of the BO at the address */
};

/**
 * Translate one address of a VM on this backend, as the GPU would.
 * @retval -EINVAL     @p vm is not on this backend
 * @retval -EOPNOTSUPP bookkeeping mode (no page table)
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_sim_translate(struct gpuva_backend *be, const struct gpuva_vm *vm,
		    uint64_t addr, struct gpuva_sim_page *out);

/**
 * Does the page table equal the VM's mirror, page by page (BO, offset,
 * driver flags, NULL, unmapped)? Batches still queued make them differ.
 * @retval 0           equal
 * @retval -EINVAL     different (the first difference is the VM's last
 *                     error) or @p vm is not on this backend
 * @retval -EBUSY      batches are queued (waiting for sync points)
 * @retval -EOPNOTSUPP bookkeeping mode
 * Complexity: O(n + m) for n mappings and m page-table runs.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_sim_compare(struct gpuva_backend *be, struct gpuva_vm *vm);

/**
 * Print the VM's page table as runs, one per line, in address order:
 * "0x<addr> 0x<size> bo <handle> 0x<offset> flags 0x<f>" or
 * "0x<addr> 0x<size> null flags 0x<f>".
 * @retval -EINVAL, -EOPNOTSUPP as gpuva_sim_translate()
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_sim_dump(struct gpuva_backend *be, const struct gpuva_vm *vm, FILE *f);

/** Batches of the VM queued, waiting for sync points. @since 0.1 */
GPUVA_EXPORT size_t
gpuva_sim_queued(struct gpuva_backend *be, const struct gpuva_vm *vm);

#ifdef __cplusplus
}
#endif

#endif /* GPUVA_SIM_H */
