/* SPDX-License-Identifier: MIT */
/*
 * Internal state of the fake render node, shared by its .c files.
 *
 * One global mutex (shim_lock) guards everything: the fake is for tests, so
 * simplicity beats concurrency. Every entry point that touches state takes
 * it; syncobj waits sleep on shim_cond with it released.
 */
#ifndef GPUVA_SHIM_PRIVATE_H
#define GPUVA_SHIM_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shim.h"
#include "uapi.h"

struct shim_file;
struct shim_vm;

#define SHIM_EXPORT __attribute__((visibility("default")))
#define SHIM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum shim_driver {
	SHIM_DRIVER_MSM,
	SHIM_DRIVER_PANTHOR,
	SHIM_DRIVER_NOUVEAU,
};

extern pthread_mutex_t shim_lock;
extern pthread_cond_t shim_cond;

enum shim_driver shim_driver(void);

/* ---- user memory: faults become EFAULT instead of crashing the test ---- */
int shim_copy_in(void *dst, uint64_t uptr, size_t n);
int shim_copy_out(uint64_t uptr, const void *src, size_t n);

/* ---- fences, syncobjs, jobs (syncobj.c) ---- */

struct shim_fence {
	int refs;
	bool signalled;
	int error;		/* panthor: the failed job's status */
};

struct shim_point {
	uint64_t point;		/* 0 for a binary payload */
	struct shim_fence *fence;
};

/* A binary syncobj holds at most one point (0); a timeline a rising list. */
struct shim_syncobj {
	int refs;
	struct shim_point *pts;
	size_t n, cap;
};

struct shim_fence *shim_fence_new(bool signalled);
struct shim_fence *shim_fence_ref(struct shim_fence *f);
void shim_fence_unref(struct shim_fence *f);
void shim_fence_signal(struct shim_fence *f, int error);

struct shim_syncobj *shim_syncobj_get(struct shim_file *file, uint32_t handle);
/*
 * The fence a wait on (handle, point) depends on, with a new reference.
 * Returns -ENOENT for an unknown handle, -EINVAL when no fence is there yet.
 */
int shim_syncobj_find_fence(struct shim_file *file, uint32_t handle, uint64_t point,
			    struct shim_fence **out);
/* point 0 replaces the payload; otherwise the point is added. */
void shim_syncobj_install(struct shim_syncobj *obj, uint64_t point, struct shim_fence *f);
void shim_syncobj_reset(struct shim_syncobj *obj);
void shim_syncobj_unref(struct shim_syncobj *obj);
/* A syncobj fd (HANDLE_TO_FD) sharing @obj; returns the fd or -errno. */
int shim_syncobj_fd_create(struct shim_syncobj *obj);
struct shim_syncobj *shim_syncobj_from_fd(int fd);
void shim_file_syncobjs_fini(struct shim_file *file);

struct shim_job;
typedef void (*shim_job_run_fn)(struct shim_job *job);

struct shim_job {
	struct shim_job *next;
	struct shim_file *file;
	struct shim_vm *vm;
	struct shim_fence **waits;
	size_t nwaits;
	struct shim_fence *done;	/* signalled when the job has run */
	shim_job_run_fn run;
	void *ops;			/* driver-specific, freed with the job */
	size_t nops;
	int fail;			/* injected failure, 0 if none */
};

/* Allocates the job and its (unsignalled) done fence; NULL on ENOMEM. */
struct shim_job *shim_job_new(struct shim_file *file, struct shim_vm *vm, shim_job_run_fn run);
int shim_job_add_wait(struct shim_job *job, struct shim_fence *f);
/* Frees a job that was never submitted (its fence signals -ECANCELED). */
void shim_job_abort(struct shim_job *job);
/* Queues the job and runs whatever is ready (jobs of one file run in order). */
void shim_job_submit(struct shim_job *job);
void shim_jobs_run(void);
/* Runs or drops every queued job of a file/VM, signalling their fences. */
void shim_jobs_flush_file(struct shim_file *file);
void shim_jobs_flush_vm(struct shim_vm *vm);

/* Creates a sync_file-like fd holding @f. Returns the fd or -errno. */
int shim_sync_file_create(struct shim_fence *f);
/*
 * get_unused_fd_flags(): takes an fd number (EMFILE when the table is full)
 * that shim_sync_file_install() later turns into a sync_file, or that
 * shim_fd_unreserve() gives back. Returns the fd or -errno.
 */
int shim_fd_reserve(void);
int shim_sync_file_install(int fd, struct shim_fence *f);
void shim_fd_unreserve(int fd);
/* The fence of a sync_file fd (new reference), or NULL if @fd is not one. */
struct shim_fence *shim_sync_file_fence(int fd);

/* ---- the page record (pages.c) ---- */

struct shim_slot {
	uint64_t key;		/* page index + 1; 0 marks an empty slot */
	struct gpuva_shim_page page;
};

struct shim_pagemap {
	struct shim_slot *slots;
	size_t cap;		/* power of two, or 0 */
	size_t count;
};

struct shim_region {
	uint64_t addr, range;
	bool dying;		/* nouveau: destroyed by an op of the running ioctl */
};

struct shim_vm {
	uint32_t id;
	uint64_t start, end;	/* userspace-owned VA, [start, end) */
	struct shim_pagemap pages;
	bool unusable;
	/* nouveau: kernel-managed hole and sparse regions */
	uint64_t kernel_addr, kernel_size;
	struct shim_region *regions;
	size_t nregions, capregions;
};

struct shim_vm *shim_vm_new(uint32_t id, uint64_t start, uint64_t end);
void shim_vm_free(struct shim_vm *vm);
/* Replaces every page of [addr, addr + size) by @tmpl, advancing bo_offset. */
int shim_pages_map(struct shim_vm *vm, uint64_t addr, uint64_t size,
		   const struct gpuva_shim_page *tmpl);
void shim_pages_unmap(struct shim_vm *vm, uint64_t addr, uint64_t size);
bool shim_pages_any(const struct shim_vm *vm, uint64_t addr, uint64_t size);

/* ---- files and BOs ---- */

struct shim_bo {
	struct shim_bo *next;
	uint32_t handle;
	bool closed;		/* GEM_CLOSE'd: gone from the handle table */
	uint64_t size;
	uint32_t flags;
	uint32_t domain;	/* nouveau */
	uint32_t exclusive_vm;	/* panthor */
	uint64_t mmap_offset;
};

struct shim_handle {
	uint32_t handle;
	struct shim_syncobj *obj;
};

#define SHIM_PANTHOR_MAX_VMS 32
#define SHIM_MSM_MAX_QUEUES 64

enum shim_nouveau_state {
	SHIM_NOUVEAU_UNDECIDED,
	SHIM_NOUVEAU_DISABLED,	/* GEM_NEW came first: VM_BIND refused for good */
	SHIM_NOUVEAU_VM_BIND,
};

struct shim_msm_queue {
	uint32_t id;
	bool vm_bind;
	bool open;
};

struct shim_file {
	int refs;		/* fds sharing this open file description */
	bool hold;		/* see gpuva_shim_hold() */
	struct shim_bo *bos;
	uint32_t next_handle;
	struct shim_handle *syncobjs;
	size_t nsyncobjs, capsyncobjs;
	uint32_t next_syncobj;
	/* msm and nouveau: the single VM; panthor: vms[id] */
	struct shim_vm *vm;
	struct shim_vm *vms[SHIM_PANTHOR_MAX_VMS + 1];
	/* msm */
	bool msm_vm_bind_mode;
	bool msm_vm_created;
	bool msm_vm_global;	/* the GPU-global VM: no per-process page tables */
	struct shim_msm_queue queues[SHIM_MSM_MAX_QUEUES];
	uint32_t next_queue_id;
	/* nouveau */
	enum shim_nouveau_state nv_state;
};

struct shim_bo *shim_bo_new(struct shim_file *file, uint64_t size);
struct shim_bo *shim_bo_get(struct shim_file *file, uint32_t handle);
struct shim_vm *shim_file_vm(struct shim_file *file, uint32_t vm_id);
/* The file behind a fake render node fd, or NULL. Caller holds shim_lock. */
struct shim_file *shim_file_from_fd(int fd);

/* ---- ioctl dispatch (ioctl.c) ---- */

struct shim_ioctl_desc {
	unsigned nr;
	unsigned size;		/* the kernel's struct size */
	unsigned dir;		/* the kernel's direction bits */
	int (*fn)(struct shim_file *file, void *data, unsigned user_size);
};

#define SHIM_IOCTL_DEF(n, type, d, f) { .nr = (n), .size = sizeof(type), .dir = (d), .fn = (f) }

int shim_ioctl(struct shim_file *file, unsigned long request, void *arg);

/* One driver's ioctls, or the syncobj ones; shim_ioctl() looks them up by number. */
struct shim_ioctl_table {
	const struct shim_ioctl_desc *desc;
	size_t n;
};

extern const struct shim_ioctl_table shim_msm_ioctls;
extern const struct shim_ioctl_table shim_panthor_ioctls;
extern const struct shim_ioctl_table shim_nouveau_ioctls;
extern const struct shim_ioctl_table shim_syncobj_ioctls;

void shim_msm_file_init(struct shim_file *file);

/* ---- switches and fault injection (ioctl.c) ---- */

/* An environment switch: set, non-empty and not "0". Read at every use. */
bool shim_env_flag(const char *name);

/* A multiple of the page size (every driver's rule for addresses). */
static inline bool
shim_page_aligned(uint64_t v)
{
	return (v & (SHIM_PAGE_SIZE - 1)) == 0;
}
/* DRIVER_SYNCOBJ_TIMELINE: false under GPUVA_SHIM_NO_TIMELINE=1. */
bool shim_has_timeline(void);

/*
 * Counts a VM_BIND ioctl against GPUVA_SHIM_FAIL_BIND. Returns the errno to
 * fail it with (0: do not fail) and, through @op, the op index to fail at.
 */
int shim_inject_bind(uint32_t *op);
/* Counts an async bind job against GPUVA_SHIM_FAIL_JOB, same contract. */
int shim_inject_job(void);
/*
 * Counts a VM_BIND ioctl that reaches an interruptible sleep against
 * GPUVA_SHIM_EINTR_BIND=N; returns EINTR for the N-th, else 0.
 */
int shim_inject_eintr(void);

#endif /* GPUVA_SHIM_PRIVATE_H */
