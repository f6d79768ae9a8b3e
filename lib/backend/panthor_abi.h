/* SPDX-License-Identifier: MIT */
/*
 * The panthor (Arm Mali CSF) uAPI, as libgpuva declares it for itself.
 *
 * Debian 12's libdrm-dev ships no panthor_drm.h, and the kernel's header
 * cannot be relied on at build time, so the structs and request numbers
 * panthor.c uses are declared here, under names of our own (no drm_ prefix:
 * a system header may declare the kernel's), and each size, offset and
 * request number is checked against the upstream panthor_drm.h's layouts at
 * compile time. Every struct is fixed-width with explicit padding,
 * so the layout is the same on LP64 and ILP32 (u64 aligned to 4 on i386).
 *
 * Only what the backend sends is declared: DEV_QUERY (GPU_INFO), VM_CREATE,
 * VM_DESTROY, VM_BIND, VM_GET_STATE and BO_CREATE.
 */
#ifndef GPUVA_LIB_BACKEND_PANTHOR_ABI_H
#define GPUVA_LIB_BACKEND_PANTHOR_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <xf86drm.h>	/* drm.h: DRM_IOWR, DRM_COMMAND_BASE */

/* A user array: @count elements of @stride bytes at @array. */
struct panthor_obj_array {
	uint32_t stride;
	uint32_t count;
	uint64_t array;		/* user pointer */
};

/* One wait or signal of a VM_BIND op. */
struct panthor_sync_op {
	uint32_t flags;		/* handle type | PANTHOR_SYNC_OP_SIGNAL */
	uint32_t handle;	/* DRM syncobj */
	uint64_t timeline_value; /* 0 for a binary syncobj */
};

#define PANTHOR_SYNC_OP_SYNCOBJ		 0x0u	/* binary syncobj */
#define PANTHOR_SYNC_OP_TIMELINE_SYNCOBJ 0x1u
#define PANTHOR_SYNC_OP_WAIT		 0x0u
#define PANTHOR_SYNC_OP_SIGNAL		 0x80000000u

struct panthor_dev_query {
	uint32_t type;		/* PANTHOR_DEV_QUERY_* */
	uint32_t size;		/* in: bytes at pointer; out (pointer 0): needed */
	uint64_t pointer;	/* user pointer, or 0 to ask the size */
};

#define PANTHOR_DEV_QUERY_GPU_INFO	0u
/* The kernel refuses a GPU_INFO buffer below this (EINVAL). */
#define PANTHOR_GPU_INFO_MIN_SIZE	96u

/* DEV_QUERY GPU_INFO (driver 1.5: 104 bytes; later kernels may add). */
struct panthor_gpu_info {
	uint32_t id_words[6];	/* gpu_id .. mem_features: not used here */
	uint32_t mmu_features;	/* bits 0-7: GPU VA bits */
	uint32_t feature_words[9]; /* thread, coherency, texture: not used */
	uint32_t as_present;
	uint32_t pad0;
	uint64_t shader_present;
	uint64_t l2_present;
	uint64_t tiler_present;
	uint32_t core_features;
	uint32_t pad;
};

#define PANTHOR_MMU_VA_BITS(mmu_features) ((mmu_features) & 0xffu)

struct panthor_vm_create {
	uint32_t flags;		/* must be 0 */
	uint32_t id;		/* out: 1..32 */
	/* in: the user part asked for (0: default); out: where the kernel's
	 * part starts, which is where the user part really ends */
	uint64_t user_va_range;
};

#define PANTHOR_MAX_VMS_PER_FD	32u

struct panthor_vm_destroy {
	uint32_t id;
	uint32_t pad;		/* must be 0 */
};

struct panthor_vm_get_state {
	uint32_t vm_id;
	uint32_t state;		/* out: PANTHOR_VM_STATE_* */
};

#define PANTHOR_VM_STATE_USABLE		0u
#define PANTHOR_VM_STATE_UNUSABLE	1u

struct panthor_bo_create {
	uint64_t size;		/* in; out: rounded up to the page size */
	uint32_t flags;		/* PANTHOR_BO_NO_MMAP */
	uint32_t exclusive_vm_id; /* 0, or the only VM that may map it */
	uint32_t handle;	/* out: GEM handle */
	uint32_t pad;		/* must be 0 */
};

#define PANTHOR_BO_NO_MMAP	0x1u

struct panthor_vm_bind_op {
	uint32_t flags;		/* type (bits 28-31) | MAP-only bits */
	uint32_t bo_handle;	/* MAP; 0 otherwise */
	uint64_t bo_offset;	/* MAP; 0 otherwise */
	uint64_t va;		/* 0 for SYNC_ONLY */
	uint64_t size;		/* 0 for SYNC_ONLY (sync mode: 0 = skipped) */
	struct panthor_obj_array syncs;	/* struct panthor_sync_op */
};

#define PANTHOR_VM_BIND_OP_MAP_READONLY		0x1u
#define PANTHOR_VM_BIND_OP_MAP_NOEXEC		0x2u
#define PANTHOR_VM_BIND_OP_MAP_UNCACHED		0x4u
#define PANTHOR_VM_BIND_OP_MAP_FLAGS		0x7u
#define PANTHOR_VM_BIND_OP_TYPE_MASK		0xf0000000u
#define PANTHOR_VM_BIND_OP_TYPE_MAP		0x00000000u
#define PANTHOR_VM_BIND_OP_TYPE_UNMAP		0x10000000u
#define PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY	0x20000000u

struct panthor_vm_bind {
	uint32_t vm_id;
	uint32_t flags;		/* PANTHOR_VM_BIND_ASYNC */
	/* struct panthor_vm_bind_op; a synchronous bind that fails at op k
	 * writes k back into ops.count */
	struct panthor_obj_array ops;
};

#define PANTHOR_VM_BIND_ASYNC	0x1u

/* Driver ioctl indices (request nr = DRM_COMMAND_BASE + index). */
#define PANTHOR_DEV_QUERY	0x00
#define PANTHOR_VM_CREATE	0x01
#define PANTHOR_VM_DESTROY	0x02
#define PANTHOR_VM_BIND		0x03
#define PANTHOR_VM_GET_STATE	0x04
#define PANTHOR_BO_CREATE	0x05

#define PANTHOR_IOCTL(idx, type) DRM_IOWR(DRM_COMMAND_BASE + (idx), type)
#define PANTHOR_IOCTL_DEV_QUERY \
	PANTHOR_IOCTL(PANTHOR_DEV_QUERY, struct panthor_dev_query)
#define PANTHOR_IOCTL_VM_CREATE \
	PANTHOR_IOCTL(PANTHOR_VM_CREATE, struct panthor_vm_create)
#define PANTHOR_IOCTL_VM_DESTROY \
	PANTHOR_IOCTL(PANTHOR_VM_DESTROY, struct panthor_vm_destroy)
#define PANTHOR_IOCTL_VM_BIND \
	PANTHOR_IOCTL(PANTHOR_VM_BIND, struct panthor_vm_bind)
#define PANTHOR_IOCTL_VM_GET_STATE \
	PANTHOR_IOCTL(PANTHOR_VM_GET_STATE, struct panthor_vm_get_state)
#define PANTHOR_IOCTL_BO_CREATE \
	PANTHOR_IOCTL(PANTHOR_BO_CREATE, struct panthor_bo_create)

/* ---- checked against docs/kernels.md 4.2 ---------------------------------- */

#define PANTHOR_ABI_AT(type, field, off) \
	_Static_assert(offsetof(struct type, field) == (off), \
		       #type "." #field " at " #off)

_Static_assert(sizeof(struct panthor_obj_array) == 16, "obj_array is 16 bytes");
PANTHOR_ABI_AT(panthor_obj_array, stride, 0);
PANTHOR_ABI_AT(panthor_obj_array, count, 4);
PANTHOR_ABI_AT(panthor_obj_array, array, 8);

_Static_assert(sizeof(struct panthor_sync_op) == 16, "sync_op is 16 bytes");
PANTHOR_ABI_AT(panthor_sync_op, flags, 0);
PANTHOR_ABI_AT(panthor_sync_op, handle, 4);
PANTHOR_ABI_AT(panthor_sync_op, timeline_value, 8);

_Static_assert(sizeof(struct panthor_dev_query) == 16, "dev_query is 16 bytes");
PANTHOR_ABI_AT(panthor_dev_query, type, 0);
PANTHOR_ABI_AT(panthor_dev_query, size, 4);
PANTHOR_ABI_AT(panthor_dev_query, pointer, 8);

_Static_assert(sizeof(struct panthor_gpu_info) == 104, "gpu_info is 104 bytes");
PANTHOR_ABI_AT(panthor_gpu_info, mmu_features, 24);
PANTHOR_ABI_AT(panthor_gpu_info, as_present, 64);
PANTHOR_ABI_AT(panthor_gpu_info, pad0, 68);
PANTHOR_ABI_AT(panthor_gpu_info, shader_present, 72);
PANTHOR_ABI_AT(panthor_gpu_info, l2_present, 80);
PANTHOR_ABI_AT(panthor_gpu_info, tiler_present, 88);
PANTHOR_ABI_AT(panthor_gpu_info, core_features, 96);
PANTHOR_ABI_AT(panthor_gpu_info, pad, 100);
_Static_assert(PANTHOR_GPU_INFO_MIN_SIZE <= sizeof(struct panthor_gpu_info),
	       "our GPU_INFO buffer is at least the kernel's minimum");

_Static_assert(sizeof(struct panthor_vm_create) == 16, "vm_create is 16 bytes");
PANTHOR_ABI_AT(panthor_vm_create, flags, 0);
PANTHOR_ABI_AT(panthor_vm_create, id, 4);
PANTHOR_ABI_AT(panthor_vm_create, user_va_range, 8);

_Static_assert(sizeof(struct panthor_vm_destroy) == 8, "vm_destroy is 8 bytes");
PANTHOR_ABI_AT(panthor_vm_destroy, id, 0);
PANTHOR_ABI_AT(panthor_vm_destroy, pad, 4);

_Static_assert(sizeof(struct panthor_vm_get_state) == 8, "vm_get_state is 8 bytes");
PANTHOR_ABI_AT(panthor_vm_get_state, vm_id, 0);
PANTHOR_ABI_AT(panthor_vm_get_state, state, 4);

_Static_assert(sizeof(struct panthor_bo_create) == 24, "bo_create is 24 bytes");
PANTHOR_ABI_AT(panthor_bo_create, size, 0);
PANTHOR_ABI_AT(panthor_bo_create, flags, 8);
PANTHOR_ABI_AT(panthor_bo_create, exclusive_vm_id, 12);
PANTHOR_ABI_AT(panthor_bo_create, handle, 16);
PANTHOR_ABI_AT(panthor_bo_create, pad, 20);

_Static_assert(sizeof(struct panthor_vm_bind_op) == 48, "vm_bind_op is 48 bytes");
PANTHOR_ABI_AT(panthor_vm_bind_op, flags, 0);
PANTHOR_ABI_AT(panthor_vm_bind_op, bo_handle, 4);
PANTHOR_ABI_AT(panthor_vm_bind_op, bo_offset, 8);
PANTHOR_ABI_AT(panthor_vm_bind_op, va, 16);
PANTHOR_ABI_AT(panthor_vm_bind_op, size, 24);
PANTHOR_ABI_AT(panthor_vm_bind_op, syncs, 32);

_Static_assert(sizeof(struct panthor_vm_bind) == 24, "vm_bind is 24 bytes");
PANTHOR_ABI_AT(panthor_vm_bind, vm_id, 0);
PANTHOR_ABI_AT(panthor_vm_bind, flags, 4);
PANTHOR_ABI_AT(panthor_vm_bind, ops, 8);

_Static_assert(PANTHOR_IOCTL_DEV_QUERY == 0xC0106440u, "DEV_QUERY request");
_Static_assert(PANTHOR_IOCTL_VM_CREATE == 0xC0106441u, "VM_CREATE request");
_Static_assert(PANTHOR_IOCTL_VM_DESTROY == 0xC0086442u, "VM_DESTROY request");
_Static_assert(PANTHOR_IOCTL_VM_BIND == 0xC0186443u, "VM_BIND request");
_Static_assert(PANTHOR_IOCTL_VM_GET_STATE == 0xC0086444u, "VM_GET_STATE request");
_Static_assert(PANTHOR_IOCTL_BO_CREATE == 0xC0186445u, "BO_CREATE request");

#endif /* GPUVA_LIB_BACKEND_PANTHOR_ABI_H */
