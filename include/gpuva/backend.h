/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Backends: what carries a VM's binds to a kernel (or to a simulation).
 *
 * A backend is one object per device connection: the `sim` backend (a
 * software GPU page table, always built; sim.h), or a kernel backend on an
 * open render node: `msm`, `panthor`, `nouveau` (built as chosen by the
 * meson option `backends`; drm.h opens devices and picks one). VMs are
 * created on a backend (struct gpuva_vm_desc::backend) and changed through
 * transactions (bind.h); every commit is one call of the backend's bind.
 *
 * This header has two audiences:
 * - users: find and create backends by name, create BOs and sync objects
 *   on them (tools, tests, examples; a driver has its own BOs);
 * - implementers: struct gpuva_backend_ops, the contract below, and the
 *   job a bind call receives. One .c file per backend fills a static
 *   const table of ops and embeds struct gpuva_backend in its own struct.
 *
 * ## The contract
 *
 * The library guarantees a backend's bind():
 * - one call per commit, with the VM's lock held (GPUVA_VM_THREADSAFE) or
 *   the caller's serialisation; calls of one VM never overlap;
 * - a batch valid against the mirror: every request and net-effect entry
 *   lies inside the VM, off its reserved range, aligned to its page size
 *   (addr, range, and a BO-backed entry's offset), inside its BO when the
 *   BO's size is known, and passed the backend's own check() when it was
 *   added;
 * - net-effect entries sorted by address, non-overlapping, never empty,
 *   at most one per run of pages one request covers last (2r - 1 for r
 *   requests; size what you send by net_count, never by req_count);
 *   merged where they can be (bind.h);
 * - the mirror still shows the state before the batch while bind() runs,
 *   and the job's ops point at live mappings; bind() must not change the
 *   VM (it may read it);
 * - sequence numbers (job->seq) that start at 1 and grow by one per call
 *   on a VM.
 *
 * A backend guarantees the library, when bind() returns:
 * - 0: the whole batch is applied (synchronous) or queued in order
 *   (GPUVA_COMMIT_ASYNC) and will run once its waits are signalled;
 * - a negative errno with @c res->unit GPUVA_BIND_NOTHING: its own state
 *   and the kernel's are unchanged, and the reason is set on the VM
 *   (gpuva_vm_reject());
 * - a negative errno with another unit: exactly the first @c res->applied
 *   entries of that list (requests or net-effect entries, plus
 *   @c res->applied_bytes of the next net-effect entry) are applied, and
 *   nothing else; GPUVA_BIND_NET needs GPUVA_BACKEND_PARTIAL_NET;
 * - -EPIPE: the VM is lost (the kernel poisoned it); the library marks it
 *   lost for good. Whatever the kernel holds no longer matters.
 *
 * Errors a kernel would give for a batch the library cannot know to be
 * bad (an unknown GEM handle, a BO exclusive to another VM) should be
 * found by the backend before its ioctl, in check() or bind(), with the
 * kernel's errno, so that a refused batch never reaches the kernel.
 *
 * Locking: a backend shared by VMs used from several threads protects its
 * own shared state (sync objects, counters) itself.
 */
#ifndef GPUVA_BACKEND_H
#define GPUVA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpuva/bind.h"
#include "gpuva/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gpuva_backend;

/** @name Users: finding, creating and using backends */
/**@{*/

/**
 * The names of the backends compiled in, "sim" first, as a NULL-terminated
 * array of static strings. Cannot fail.
 * @since 0.1
 */
GPUVA_EXPORT const char *const *
gpuva_backend_names(void);

/** Is a backend of this name compiled in? @since 0.1 */
GPUVA_EXPORT bool
gpuva_backend_exists(const char *name);

/** What gpuva_backend_create() needs. Zero-initialise, then fill. */
struct gpuva_backend_desc {
	/**
	 * kernel backends: an open render node of that driver, which the
	 * backend uses but does not own (close it after the backend); sim:
	 * ignored
	 */
	int fd;
	/** sim: its page size, a power of two (0: 4096); kernel: 0 */
	uint64_t page_size;
	uint32_t flags;		/**< backend-specific (sim.h); unknown: -EINVAL */
	/**
	 * receives the reason of every rejection on the backend, creation
	 * included (gpuva_backend_last_error() keeps the last one); may be
	 * NULL
	 */
	gpuva_log_fn log_fn;
	void *log_priv;		/**< handed to @c log_fn */
};

/**
 * Create a backend by name ("sim", "msm", "panthor", "nouveau").
 *
 * For a kernel backend this sets the device up as that kernel demands
 * (msm: EN_VM_BIND before anything else on the fd), so call it right
 * after opening the fd; drm.h does all of it in one call.
 *
 * @retval -ENOENT      no backend of that name is compiled in
 * @retval -EINVAL      bad @p desc
 * @retval -ENODEV      the fd is not a device of that driver, or the
 *                      driver cannot do VM_BIND
 * @retval -ENOMEM      out of memory
 * @retval other        the kernel's errno from the device set-up
 * On failure the reason goes to @p desc->log_fn, if set, and *out is
 * untouched.
 * Ownership: the caller owns the backend; destroy it after its VMs.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_backend_create(const char *name, const struct gpuva_backend_desc *desc,
		     struct gpuva_backend **out);

/**
 * Destroy a backend. Every VM created on it must have been destroyed
 * first (an open VM is a caller bug: the backend is then leaked and
 * nothing is freed). Accepts NULL. Cannot fail.
 * @since 0.1
 */
GPUVA_EXPORT void
gpuva_backend_destroy(struct gpuva_backend *be);

/** The backend's name ("sim", "msm", ...). @since 0.1 */
GPUVA_EXPORT const char *
gpuva_backend_name(const struct gpuva_backend *be);

/**
 * The reason for the last rejected call on the backend itself (BO and sync
 * object calls, VM creation); "" if none. Valid until the next call.
 * @since 0.1
 */
GPUVA_EXPORT const char *
gpuva_backend_last_error(const struct gpuva_backend *be);

/** BO creation flags. Unknown bits: -EINVAL. */
enum gpuva_backend_bo_flags {
	GPUVA_BACKEND_BO_NO_FLAGS = 0,
	/**
	 * the BO may only be mapped in @p vm (panthor's exclusive VM, msm's
	 * NO_SHARE); backends without the notion ignore it
	 */
	GPUVA_BACKEND_BO_PRIVATE = 1u << 0,
};

/**
 * Create a BO of at least @p size bytes on the backend's device, for
 * tools, tests and examples (a driver creates its own BOs and fills
 * struct gpuva_bo::handle). The BO's size is set (rounded up to the page
 * size) and its handle is the kernel's GEM handle (sim: a number of its
 * own).
 *
 * @param vm     the VM a GPUVA_BACKEND_BO_PRIVATE BO is private to; else NULL
 * @retval -EOPNOTSUPP  the backend creates no BOs
 * @retval -EINVAL      size 0 or bad flags
 * @retval other        the kernel's errno
 * Ownership: the backend's; free with gpuva_backend_bo_destroy() once no
 * VM maps it.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_backend_bo_create(struct gpuva_backend *be, struct gpuva_vm *vm,
			uint64_t size, uint32_t flags, struct gpuva_bo **out);

/**
 * Destroy a BO from gpuva_backend_bo_create() (GEM_CLOSE). -EBUSY while a
 * VM maps it (nothing changed). Accepts NULL.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_backend_bo_destroy(struct gpuva_backend *be, struct gpuva_bo *bo);

/**
 * Create a sync object (a DRM syncobj, or a sim fake timeline), unsignalled,
 * usable both as a binary syncobj (point 0) and as a timeline.
 * @retval -EOPNOTSUPP the backend has none
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_backend_sync_create(struct gpuva_backend *be, uint32_t *handle);

/** Destroy a sync object. Accepts 0. @since 0.1 */
GPUVA_EXPORT void
gpuva_backend_sync_destroy(struct gpuva_backend *be, uint32_t handle);

/**
 * Signal sync points from the CPU, as GPU work or another queue would.
 * On the sim backend this runs the batches that were waiting for them.
 * @retval -ENOENT unknown handle (nothing signalled)
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_backend_sync_signal(struct gpuva_backend *be,
			  const struct gpuva_sync *points, uint32_t count);

/**
 * Wait until every point is signalled, at most @p timeout_ns (relative;
 * 0: just test).
 * @retval -ETIME   not all signalled in time (the sim backend never blocks:
 *                  nothing else would signal them)
 * @retval -ENOENT  unknown handle
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_backend_sync_wait(struct gpuva_backend *be,
			const struct gpuva_sync *points, uint32_t count,
			int64_t timeout_ns);

/**@}*/

/** @name Implementers: the interface a backend fills */
/**@{*/

/** Kinds of struct gpuva_bind_op. */
enum gpuva_bind_kind {
	GPUVA_BIND_MAP = 0,	/**< map a BO range */
	GPUVA_BIND_MAP_NULL,	/**< a NULL mapping: reads as zero */
	GPUVA_BIND_UNMAP,	/**< unmap; holes included */
};

/**
 * One request of a batch, or one entry of its net effect: the same shape.
 * For MAP, [addr, addr + range) maps @c bo at @c offset; MAP_NULL and
 * UNMAP have no BO (@c bo NULL, @c offset 0 for UNMAP; a MAP_NULL keeps
 * the offset the mirror carries, which no kernel uses).
 */
struct gpuva_bind_op {
	uint32_t kind;		/**< enum gpuva_bind_kind */
	uint32_t driver_flags;	/**< the request's, untouched */
	uint64_t addr;		/**< first byte */
	uint64_t range;		/**< bytes, > 0 */
	struct gpuva_bo *bo;	/**< MAP only */
	uint64_t offset;	/**< BO offset of addr (MAP) */
	uint32_t flags;		/**< the request's enum gpuva_flags */
	uint32_t pad;		/**< 0 */
};

/** One commit, as a backend's bind() receives it. All read-only. */
struct gpuva_bind_job {
	struct gpuva_vm *vm;		/**< the VM (do not change it) */
	void *vm_priv;			/**< what vm_init() returned */
	uint64_t seq;			/**< 1, 2, ... per VM */
	const struct gpuva_bind_op *reqs; /**< the requests, in order */
	size_t req_count;
	const struct gpuva_op *ops;	/**< the ops they generated, in order */
	size_t op_count;
	const struct gpuva_bind_op *net; /**< the net effect */
	size_t net_count;
	/**
	 * flags, sync points and fence fds (fence_fd_out is the backend's to
	 * write); the out fields after fence_fd_out are the library's
	 */
	struct gpuva_commit *commit;
};

/** What a failed bind() applied anyway (see the contract). */
struct gpuva_bind_result {
	uint32_t unit;			/**< enum gpuva_bind_unit */
	size_t applied;			/**< entries applied */
	uint64_t applied_bytes;		/**< GPUVA_BIND_NET: of the next one */
};

/** Capabilities (struct gpuva_backend_ops::caps). */
enum gpuva_backend_caps {
	/** bind() may report GPUVA_BIND_NET partial success */
	GPUVA_BACKEND_PARTIAL_NET = 1u << 0,
	/** sync objects (sync_* ops) */
	GPUVA_BACKEND_SYNCS = 1u << 1,
};

/**
 * A backend's operations. Optional ones may be NULL. Each receives the
 * backend it was registered with; per-VM state travels as @p vm_priv.
 */
struct gpuva_backend_ops {
	const char *name;	/**< "sim", "msm", ... */
	uint32_t caps;		/**< enum gpuva_backend_caps */

	/**
	 * Set up a kernel VM for a new library VM. @p desc is the caller's,
	 * copied: fill in what the caller left 0 (range: the kernel's whole
	 * window; page_size: the kernel's), check the rest against the
	 * device (-EINVAL with a reason in the backend's last error, or
	 * -EBUSY when the device has no room for another VM), add the
	 * kernel's reserved range. The library then creates its VM on the
	 * result, and calls vm_fini() if that fails. Required.
	 */
	int (*vm_init)(struct gpuva_backend *be, struct gpuva_vm_desc *desc,
		       void **vm_priv);
	/** Tear the kernel VM down (everything still mapped goes). Required. */
	void (*vm_fini)(struct gpuva_backend *be, void *vm_priv);
	/**
	 * Refuse a request the kernel would refuse, when it is added to a
	 * transaction: @p index is its position (0: a new transaction).
	 * 0 or a negative errno with a reason (gpuva_vm_reject()). Optional.
	 */
	int (*check)(struct gpuva_backend *be, void *vm_priv,
		     struct gpuva_vm *vm, const struct gpuva_bind_op *req,
		     size_t index);
	/** Carry out one commit (the contract above). Required. */
	int (*bind)(struct gpuva_backend *be, const struct gpuva_bind_job *job,
		    struct gpuva_bind_result *res);
	/**
	 * The highest job seq of the VM known to have run (page tables
	 * updated). Optional: without it, a batch has run when bind()
	 * returns. Must not block.
	 */
	uint64_t (*completed)(struct gpuva_backend *be, void *vm_priv);
	/**
	 * Wait until job @p seq of the VM has run, at most @p timeout_ns.
	 * 0, -ETIME or -EPIPE. Optional (with completed()).
	 */
	int (*wait)(struct gpuva_backend *be, void *vm_priv, uint64_t seq,
		    int64_t timeout_ns);

	/** Sync objects (GPUVA_BACKEND_SYNCS); as gpuva_backend_sync_*(). */
	int (*sync_create)(struct gpuva_backend *be, uint32_t *handle);
	void (*sync_destroy)(struct gpuva_backend *be, uint32_t handle);
	int (*sync_signal)(struct gpuva_backend *be,
			   const struct gpuva_sync *points, uint32_t count);
	int (*sync_wait)(struct gpuva_backend *be,
			 const struct gpuva_sync *points, uint32_t count,
			 int64_t timeout_ns);

	/** BOs for tools and tests; as gpuva_backend_bo_create(). Optional. */
	int (*bo_create)(struct gpuva_backend *be, void *vm_priv, uint64_t size,
			 uint32_t flags, struct gpuva_bo **out);
	/** Free a BO from bo_create() (no VM maps it). */
	void (*bo_destroy)(struct gpuva_backend *be, struct gpuva_bo *bo);

	/** Free the backend (no VM left on it). Required. */
	void (*destroy)(struct gpuva_backend *be);
};

#define GPUVA_BACKEND_ERROR_MAX 256

/**
 * The base every backend embeds (first member or not; the library only
 * uses this part). Fields are the library's once gpuva_backend_init() ran.
 */
struct gpuva_backend {
	const struct gpuva_backend_ops *ops;	/**< the implementation */
	unsigned vm_count;			/**< private: VMs on it */
	gpuva_log_fn log_fn;			/**< private */
	void *log_priv;				/**< private */
	char last_error[GPUVA_BACKEND_ERROR_MAX]; /**< private */
};

/**
 * Initialise the embedded base of a new backend (log callback from
 * @p desc, which may be NULL). Cannot fail. @since 0.1
 */
GPUVA_EXPORT void
gpuva_backend_init(struct gpuva_backend *be,
		   const struct gpuva_backend_ops *ops,
		   const struct gpuva_backend_desc *desc);

/**
 * Record a rejection reason on the backend (printf-style) and return
 * @p err: for failures outside a VM (vm_init, BOs, sync objects).
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_backend_reject(struct gpuva_backend *be, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Record a rejection reason on a VM (what gpuva_vm_last_error() returns
 * and the log callback receives) and return @p err: for check() and
 * bind(). A reason reads: what was asked, a colon, the rule broken.
 * @since 0.1
 */
GPUVA_EXPORT int
gpuva_vm_reject(struct gpuva_vm *vm, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** The backend a VM was created on, or NULL. @since 0.1 */
GPUVA_EXPORT struct gpuva_backend *
gpuva_vm_backend(const struct gpuva_vm *vm);

/** What the backend's vm_init() returned for this VM. @since 0.1 */
GPUVA_EXPORT void *
gpuva_vm_backend_priv(const struct gpuva_vm *vm);

/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* GPUVA_BACKEND_H */
