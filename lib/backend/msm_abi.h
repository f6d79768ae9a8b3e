/* SPDX-License-Identifier: MIT */
/*
 * The msm kernel ABI the msm backend speaks (Linux 6.17, driver 1.13.0),
 * declared here from the kernel's documented layouts
 * (docs/kernels.md section 3) because Debian 12's libdrm ships a msm_drm.h
 * from before VM_BIND: no VA_START/VA_SIZE, a 16-byte drm_msm_param, no
 * VM_BIND at all. Never include libdrm's msm_drm.h next to this header.
 *
 * Every struct's size and every field's offset is asserted below, so a
 * typo cannot change the ABI unnoticed; the fixed-width layouts are the
 * same on 32- and 64-bit builds. The request numbers are built from the
 * sizes as the kernel builds them (_IOC), and tests/backend/msm compares
 * them with the table in docs/kernels.md.
 *
 * Names drop the kernel's "drm_" and "DRM_IOCTL_" prefixes (msm_vm_bind,
 * MSM_IOCTL_VM_BIND) so that they cannot clash with libdrm's headers.
 */
#ifndef GPUVA_LIB_BACKEND_MSM_ABI_H
#define GPUVA_LIB_BACKEND_MSM_ABI_H

#include <stddef.h>
#include <stdint.h>

/* ---- request encoding (docs/kernels.md 1.1) -------------------------------- */

#define MSM_IOC_WRITE		1u	/* userspace to kernel */
#define MSM_IOC_READ		2u	/* kernel to userspace */
#define MSM_IOC_TYPE_DRM	0x64u	/* 'd' */
#define MSM_COMMAND_BASE	0x40u	/* driver ioctls start here */

#define MSM_IOC(dir, index, size) \
	((unsigned long)(((uint32_t)(dir) << 30) | ((uint32_t)(size) << 16) | \
			 (MSM_IOC_TYPE_DRM << 8) | (MSM_COMMAND_BASE + (index))))
#define MSM_IOWR(index, type) \
	MSM_IOC(MSM_IOC_READ | MSM_IOC_WRITE, index, sizeof(type))
#define MSM_IOW(index, type)	MSM_IOC(MSM_IOC_WRITE, index, sizeof(type))

#define msm_abi_assert_size(type, size) \
	_Static_assert(sizeof(struct type) == (size), "sizeof(struct " #type ")")
#define msm_abi_assert_field(type, field, off) \
	_Static_assert(offsetof(struct type, field) == (off), \
		       "offsetof(struct " #type ", " #field ")")

/* ---- parameters (3.1, 3.2) ------------------------------------------------- */

#define MSM_PIPE_3D0		0x10u	/* the only pipe GET/SET_PARAM take */
#define MSM_PARAM_VA_START	0x0eu	/* GET: first byte of the user VA window */
#define MSM_PARAM_VA_SIZE	0x0fu	/* GET: its size */
#define MSM_PARAM_HAS_PRR	0x15u	/* GET: MAP_NULL works */
#define MSM_PARAM_EN_VM_BIND	0x16u	/* SET 1 right after open; GET: the mode */

/* GET_PARAM / SET_PARAM */
struct msm_param {
	uint32_t pipe;		/* MSM_PIPE_3D0 */
	uint32_t param;		/* MSM_PARAM_* */
	uint64_t value;		/* out for GET, in for SET */
	uint32_t len;		/* 0 (string params only) */
	uint32_t pad;		/* MBZ */
};
msm_abi_assert_size(msm_param, 24);
msm_abi_assert_field(msm_param, pipe, 0);
msm_abi_assert_field(msm_param, param, 4);
msm_abi_assert_field(msm_param, value, 8);
msm_abi_assert_field(msm_param, len, 16);
msm_abi_assert_field(msm_param, pad, 20);

/* ---- BOs (3.2) ----------------------------------------------------------- */

#define MSM_BO_SCANOUT		0x00000001u
#define MSM_BO_GPU_READONLY	0x00000002u
#define MSM_BO_NO_SHARE		0x00000004u	/* private to the fd's VM */
#define MSM_BO_CACHED		0x00010000u
#define MSM_BO_WC		0x00020000u	/* exactly one cache mode */
#define MSM_BO_CACHED_COHERENT	0x00080000u

struct msm_gem_new {
	uint64_t size;		/* rounded up to PAGE_SIZE, not written back */
	uint32_t flags;		/* MSM_BO_* */
	uint32_t handle;	/* out */
};
msm_abi_assert_size(msm_gem_new, 16);
msm_abi_assert_field(msm_gem_new, size, 0);
msm_abi_assert_field(msm_gem_new, flags, 8);
msm_abi_assert_field(msm_gem_new, handle, 12);

#define MSM_INFO_GET_OFFSET	0u	/* the BO's mmap offset */

struct msm_gem_info {
	uint32_t handle;
	uint32_t info;		/* MSM_INFO_* */
	uint64_t value;		/* out */
	uint32_t len;		/* 0 */
	uint32_t pad;		/* MBZ */
};
msm_abi_assert_size(msm_gem_info, 24);
msm_abi_assert_field(msm_gem_info, handle, 0);
msm_abi_assert_field(msm_gem_info, info, 4);
msm_abi_assert_field(msm_gem_info, value, 8);
msm_abi_assert_field(msm_gem_info, len, 16);
msm_abi_assert_field(msm_gem_info, pad, 20);

/* ---- submit queues (3.1) --------------------------------------------------- */

#define MSM_SUBMITQUEUE_VM_BIND	0x2u	/* a queue that only runs VM_BINDs */

struct msm_submitqueue {
	uint32_t flags;		/* MSM_SUBMITQUEUE_* */
	uint32_t prio;		/* 0 for a VM_BIND queue */
	uint32_t id;		/* out */
};
msm_abi_assert_size(msm_submitqueue, 12);
msm_abi_assert_field(msm_submitqueue, flags, 0);
msm_abi_assert_field(msm_submitqueue, prio, 4);
msm_abi_assert_field(msm_submitqueue, id, 8);

/* ---- VM_BIND (3.2) -------------------------------------------------------- */

#define MSM_VM_BIND_OP_UNMAP	0u
#define MSM_VM_BIND_OP_MAP	1u
#define MSM_VM_BIND_OP_MAP_NULL	2u	/* PRR-backed: reads 0, writes dropped */

#define MSM_VM_BIND_OP_DUMP	0x1u	/* the op's only flag: in crash dumps */

struct msm_vm_bind_op {
	uint32_t op;		/* MSM_VM_BIND_OP_* */
	uint32_t handle;	/* GEM handle for MAP; 0 otherwise */
	uint64_t obj_offset;	/* BO offset (MAP); 0 otherwise */
	uint64_t iova;
	uint64_t range;
	uint32_t flags;		/* MSM_VM_BIND_OP_DUMP */
	uint32_t pad;		/* MBZ */
};
msm_abi_assert_size(msm_vm_bind_op, 40);
msm_abi_assert_field(msm_vm_bind_op, op, 0);
msm_abi_assert_field(msm_vm_bind_op, handle, 4);
msm_abi_assert_field(msm_vm_bind_op, obj_offset, 8);
msm_abi_assert_field(msm_vm_bind_op, iova, 16);
msm_abi_assert_field(msm_vm_bind_op, range, 24);
msm_abi_assert_field(msm_vm_bind_op, flags, 32);
msm_abi_assert_field(msm_vm_bind_op, pad, 36);

#define MSM_SYNCOBJ_RESET	0x1u	/* in-syncobjs only */

struct msm_syncobj {
	uint32_t handle;
	uint32_t flags;		/* MSM_SYNCOBJ_RESET (in), 0 (out) */
	uint64_t point;		/* timeline point; 0: binary. In: < 2^32 */
};
msm_abi_assert_size(msm_syncobj, 16);
msm_abi_assert_field(msm_syncobj, handle, 0);
msm_abi_assert_field(msm_syncobj, flags, 4);
msm_abi_assert_field(msm_syncobj, point, 8);

#define MSM_VM_BIND_FENCE_FD_IN		0x1u
#define MSM_VM_BIND_FENCE_FD_OUT	0x2u

struct msm_vm_bind {
	uint32_t flags;		/* MSM_VM_BIND_FENCE_FD_* */
	uint32_t nr_ops;	/* 0: a pure sync point */
	int32_t fence_fd;	/* in (FD_IN), out (FD_OUT) */
	uint32_t queue_id;	/* a MSM_SUBMITQUEUE_VM_BIND queue */
	uint64_t in_syncobjs;	/* struct msm_syncobj[], used when non-zero */
	uint64_t out_syncobjs;
	uint32_t nr_in_syncobjs;
	uint32_t nr_out_syncobjs;
	uint32_t syncobj_stride; /* sizeof(struct msm_syncobj) */
	uint32_t op_stride;	/* sizeof(struct msm_vm_bind_op); ignored */
	union {
		struct msm_vm_bind_op op; /* nr_ops == 1: the op itself */
		uint64_t ops;	/* else struct msm_vm_bind_op[nr_ops] */
	};
};
msm_abi_assert_size(msm_vm_bind, 88);
msm_abi_assert_field(msm_vm_bind, flags, 0);
msm_abi_assert_field(msm_vm_bind, nr_ops, 4);
msm_abi_assert_field(msm_vm_bind, fence_fd, 8);
msm_abi_assert_field(msm_vm_bind, queue_id, 12);
msm_abi_assert_field(msm_vm_bind, in_syncobjs, 16);
msm_abi_assert_field(msm_vm_bind, out_syncobjs, 24);
msm_abi_assert_field(msm_vm_bind, nr_in_syncobjs, 32);
msm_abi_assert_field(msm_vm_bind, nr_out_syncobjs, 36);
msm_abi_assert_field(msm_vm_bind, syncobj_stride, 40);
msm_abi_assert_field(msm_vm_bind, op_stride, 44);
msm_abi_assert_field(msm_vm_bind, op, 48);
msm_abi_assert_field(msm_vm_bind, ops, 48);

/* ---- requests (3.2) ------------------------------------------------------- */

/* driver ioctl indices (nr - MSM_COMMAND_BASE) */
#define MSM_INDEX_GET_PARAM		0x00u
#define MSM_INDEX_SET_PARAM		0x01u
#define MSM_INDEX_GEM_NEW		0x02u
#define MSM_INDEX_GEM_INFO		0x03u
#define MSM_INDEX_SUBMITQUEUE_NEW	0x0au
#define MSM_INDEX_SUBMITQUEUE_CLOSE	0x0bu
#define MSM_INDEX_VM_BIND		0x0du

#define MSM_IOCTL_GET_PARAM	MSM_IOWR(MSM_INDEX_GET_PARAM, struct msm_param)
#define MSM_IOCTL_SET_PARAM	MSM_IOW(MSM_INDEX_SET_PARAM, struct msm_param)
#define MSM_IOCTL_GEM_NEW	MSM_IOWR(MSM_INDEX_GEM_NEW, struct msm_gem_new)
#define MSM_IOCTL_GEM_INFO	MSM_IOWR(MSM_INDEX_GEM_INFO, struct msm_gem_info)
#define MSM_IOCTL_SUBMITQUEUE_NEW \
	MSM_IOWR(MSM_INDEX_SUBMITQUEUE_NEW, struct msm_submitqueue)
#define MSM_IOCTL_SUBMITQUEUE_CLOSE \
	MSM_IOW(MSM_INDEX_SUBMITQUEUE_CLOSE, uint32_t)
#define MSM_IOCTL_VM_BIND	MSM_IOWR(MSM_INDEX_VM_BIND, struct msm_vm_bind)

/* The first driver version with VM_BIND (Linux 6.17). */
#define MSM_VM_BIND_MAJOR	1
#define MSM_VM_BIND_MINOR	13

#endif /* GPUVA_LIB_BACKEND_MSM_ABI_H */
